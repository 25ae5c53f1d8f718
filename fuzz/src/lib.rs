//! What the fuzz targets share: a fixed clock, the development registry, and fixed signing
//! keys so that a target can sign what the fuzzer wrote and reach the checks behind a
//! signature.
//!
//! Input formats are plain text so that seeds can be read and written by hand:
//! - `split_line` cuts an input at its first newline (a header, a token) from the rest;
//! - an input starting with [`SIGN`] asks the target to sign the rest as a JWS payload with
//!   its fixed key, instead of taking a token as it is.

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use trust_framework::Registry;

/// The fuzzing clock: 2026-11-24T00:00:00Z.
pub const NOW: i64 = 1_795_478_400;

/// Prefix of an input whose rest is a JWS payload to sign with the target's key.
pub const SIGN: &[u8] = b"sign:";

/// Fixed P-256 keys, for fuzzing only (published here, trusted nowhere else).
pub const UPSTREAM_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"dxeFm-ajOJK3Qc4x6_PEopLhBT1NjEZBn_g1_RkVJK8","y":"i2ncim7Gzq0fTRXoRX9AdEsJqM_avOuqp3wUbp9kvPE","d":"yZEw9OHrRanK8nQJpCMWfIB-psjx6wN36qjzrlpeVhw"}"#;
pub const STATEMENT_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"gpDgXeLkqYhNo4T2oM2LA7ai_3_4ibUtM30wKlf8T00","y":"aZCtiCMDQSjZFp6Hg0FvKMQ9iV-X5S0Fxz9QmlBYPcs","d":"H6FdT4Zl_WQtdGFtlx5pg4AmkXo9_icN1J-IXkKHBxU"}"#;
pub const ASSERTION_KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"XbVkduivEXhJDoVJ9ZAK5BAZ7l_QosWuiZZa-XDMx9I","y":"ITjis-PRltWLCEpHlEGrG_Xd9xEbt7SGcyxi_0jaFwM","d":"80TQdzO6Z6kIW6r0QZm9v-5xPC5jv4A67WaWeu7MEfs"}"#;

pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(NOW).expect("a valid timestamp")
}

/// `examples/registry/pan-canada.toml`, validated once.
pub fn example_registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::from_toml(include_str!("../../examples/registry/pan-canada.toml"))
            .expect("the example registry validates")
    })
}

/// The input before its first newline, and the rest (empty when there is no newline).
pub fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

/// A fixed key: its public JWK with `kid`, and a signer.
pub struct FixedKey {
    pub public: Value,
    signer: EcdsaKeyPair,
    kid: &'static str,
}

impl FixedKey {
    pub fn new(private_jwk: &str, kid: &'static str) -> Self {
        let jwk: Map<String, Value> = serde_json::from_str(private_jwk).expect("a JWK");
        let member = |m: &str| {
            let text = jwk[m].as_str().expect("a JWK member");
            URL_SAFE_NO_PAD.decode(text).expect("base64url")
        };
        let point = [vec![4u8], member("x"), member("y")].concat();
        let signer = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &member("d"),
            &point,
        )
        .expect("an ES256 key");
        let mut public = Map::new();
        for m in ["kty", "crv", "x", "y"] {
            public.insert(m.into(), jwk[m].clone());
        }
        public.insert("kid".into(), kid.into());
        public.insert("use".into(), "sig".into());
        public.insert("alg".into(), "ES256".into());
        Self {
            public: Value::Object(public),
            signer,
            kid,
        }
    }

    /// `{"keys": [public]}`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public] })
    }

    /// A compact ES256 JWS of `payload` (any bytes) with this key's `kid`.
    pub fn sign(&self, payload: &[u8]) -> String {
        let header = json!({ "typ": "JWT", "alg": "ES256", "kid": self.kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self
            .signer
            .sign(&SystemRandom::new(), input.as_bytes())
            .expect("signed");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The base64url of SHA-256 shape: 43 characters of the URL-safe alphabet.
pub fn is_s256_shape(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Prints what a target made of its input when `FUZZ_DEBUG` is set: to see whether seeds reach
/// the checks they were written for, and what a crashing input did
/// (`FUZZ_DEBUG=1 cargo +nightly fuzz run <target> <file>`).
pub fn debug(what: &dyn std::fmt::Debug) {
    static ON: OnceLock<bool> = OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("FUZZ_DEBUG").is_some()) {
        eprintln!("{what:#?}");
    }
}
