//! The broker's one cryptography library, aws-lc-rs: TLS (as rustls' provider), JOSE (through
//! jsonwebtoken and `crate::keys`), hashing, HMAC, random bytes and key generation.

use aws_lc_rs::digest;

/// No cryptography provider could be installed for TLS and JOSE.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no cryptography provider is installed for TLS and JOSE")]
pub struct ProviderError;

/// Installs aws-lc-rs as rustls' process-wide provider, which reqwest (built without a
/// provider of its own) takes its TLS from, and checks that jsonwebtoken has its provider
/// (aws-lc-rs, chosen by its crate feature). Idempotent. No other provider is linked in, so
/// the one installed is aws-lc-rs. The broker's clients call it before they are built, and
/// every binary at start, so that a missing provider stops a process at once.
pub fn install_provider() -> Result<(), ProviderError> {
    // Err only when a provider is installed already.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    if rustls::crypto::CryptoProvider::get_default().is_none()
        || jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none()
    {
        return Err(ProviderError);
    }
    Ok(())
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> digest::Digest {
    digest::digest(&digest::SHA256, data)
}

/// SHA-256 of `data`, as the 32 bytes themselves.
pub fn sha256_bytes(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // A SHA-256 digest is 32 bytes: the lengths always match.
    out.copy_from_slice(sha256(data).as_ref());
    out
}

/// `N` random bytes from aws-lc-rs' generator. AWS-LC aborts the process itself when the
/// operating system's entropy cannot be read, so the error branch is not expected to be
/// reached; a broker that reached it could make no safe code, token or nonce, and stops.
#[allow(clippy::panic)]
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        panic!("the system random number generator failed");
    }
    bytes
}
