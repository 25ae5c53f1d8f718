//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, which builds with `--cfg
//! fuzzing`; docs/benchmarks.md, "Fuzzing"). Each runs the very functions a handler runs on
//! untrusted input, in the handler's order, without HTTP, a store or a clock, and returns what
//! they made of it so that a target can check invariants. Compiled only for fuzzing and for
//! the regression tests below: not part of the service.

use axum::http::{HeaderMap, HeaderValue, header};
use serde_json::{Map, Value};
use trust_framework::registry::{AgreementEntry, ProviderEntry, RelyingPartyEntry};
use trust_framework::{IdentityProvider, Lang, Registry, RegistryFile};

use crate::admin::changes;
use crate::admin::lifecycle;
use crate::admin::providers::Reason;
use crate::login::{AuthorizeRequest, Failure, Origin};
use crate::oidc::params::{Params, is_pkce_verifier, s256_challenge};
use crate::oidc::register;
use crate::oidc::token::CodeRequest;
use crate::records::registry::{from_toml, to_toml};

/// What `/authorize` made of a query: the page language and its switch link, and the checked
/// request or the failure (a page, or an error redirected to the service).
#[derive(Debug)]
pub struct Authorize {
    pub lang: Lang,
    /// The same request in the other language (the pages' language switch).
    pub switch: String,
    pub request: Result<AuthorizeRequest, Failure>,
}

/// A raw query string through `/authorize`'s parsing, as its handler does it: form decoding,
/// the language and its switch, `Params` (repeated and oversized parameters), then
/// `AuthorizeRequest::parse` against `registry` (client, redirect URI, PKCE, `claims`, levels,
/// hints). A request the handler would have answered with a page before parsing is `Err`.
pub fn authorize_request(registry: &Registry, query: &[u8]) -> Result<Authorize, String> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query).into_owned().collect();
    let here = format!("/authorize?{}", String::from_utf8_lossy(query));
    let (lang, switch) = crate::oidc::authorize::language(&pairs, &HeaderMap::new(), &here);
    let params = Params::from_pairs(pairs)?;
    let request = AuthorizeRequest::parse(registry, &params, lang, Origin::Browser);
    Ok(Authorize {
        lang,
        switch,
        request,
    })
}

/// What `/token` made of a request, before any client or code is looked up.
#[derive(Debug)]
pub struct TokenRequest {
    /// The client id and secret of a Basic `Authorization` header.
    pub basic: Option<(String, String)>,
    /// `code_verifier`, whether it has PKCE's shape, and its S256 challenge.
    pub verifier: Option<(String, bool, String)>,
    /// The code grant's parameters as `/token` reads them, or its refusal.
    pub grant: Result<String, String>,
}

/// A form body and an `Authorization` header value through `/token`'s parsing: form decoding,
/// `Params`, Basic credentials, the code grant's parameters and the PKCE verifier's shape and
/// challenge. A header value HTTP cannot carry is refused as the server would refuse it.
pub fn token_request(body: &[u8], authorization: Option<&[u8]>) -> Result<TokenRequest, String> {
    let mut headers = HeaderMap::new();
    if let Some(value) = authorization {
        let value = HeaderValue::from_bytes(value).map_err(|e| e.to_string())?;
        headers.insert(header::AUTHORIZATION, value);
    }
    let pairs = url::form_urlencoded::parse(body).into_owned().collect();
    let params = Params::from_pairs(pairs)?;
    let basic = crate::oidc::client_auth::basic_credentials(&headers).map_err(|e| e.to_string())?;
    let grant = CodeRequest::read(&params)
        .map(|r| r.code.to_owned())
        .map_err(|e| e.to_string());
    let verifier = params
        .get("code_verifier")
        .map(|v| (v.to_owned(), is_pkce_verifier(v), s256_challenge(v)));
    Ok(TokenRequest {
        basic,
        verifier,
        grant,
    })
}

/// A provider's ID token after verification, as `UpstreamClient::finish` reads it.
#[derive(Debug)]
pub struct UpstreamLogin {
    pub subject: String,
    /// The verified token's payload, as the broker releases claims from it.
    pub claims: Map<String, Value>,
    pub acr: Option<String>,
    pub auth_time: Option<i64>,
}

/// A JWKS document and a compact JWT from a provider through the broker's verification
/// (the key set parsed as discovery parses it, then `upstream::validation::verify`), with the
/// provider's registered issuer and client id, the given nonce and a fixed `now`.
pub fn upstream_id_token(
    provider: &IdentityProvider,
    jwks: &[u8],
    jwt: &str,
    nonce: &str,
    now: time::OffsetDateTime,
) -> Result<UpstreamLogin, String> {
    let jwks =
        crate::upstream::signature::ProviderKeys::from_json(jwks).map_err(|e| e.to_string())?;
    let expected = crate::upstream::Expected {
        issuer: &provider.issuer,
        client_id: &provider.client_id,
        nonce,
        now,
    };
    let verified =
        crate::upstream::validation::verify(jwt, &jwks, &expected).map_err(|e| e.to_string())?;
    let claims = verified.claims;
    let acr = claims.get("acr").and_then(Value::as_str).map(str::to_owned);
    let auth_time = claims.get("auth_time").and_then(Value::as_i64);
    Ok(UpstreamLogin {
        subject: verified.subject,
        claims,
        acr,
        auth_time,
    })
}

/// A provider's answer to the code redemption (its status, `Content-Type` and body) through
/// the broker's reading of it (`upstream::token::read_answer`). Returns the token type and
/// whether an ID token came with it.
pub fn upstream_token_response(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(String, bool), String> {
    let status = reqwest::StatusCode::from_u16(status).map_err(|e| e.to_string())?;
    let tokens = crate::upstream::exchange::read_answer(status, content_type, body)
        .map_err(|e| e.to_string())?;
    Ok((tokens.token_type, tokens.id_token.is_some()))
}

/// A registry that validated, and whether it survives the records: saved as the records keep
/// it, then read back equal.
#[derive(Debug)]
pub struct Stored {
    pub registry: Registry,
    pub round_trip: Result<(), String>,
}

/// Validates `file` like `admin::mutate`, then saves and reads it back as the records do.
fn store(file: RegistryFile) -> Result<Stored, String> {
    let registry = Registry::from_file(file).map_err(|e| e.to_string())?;
    let round_trip = round_trip(registry.source());
    Ok(Stored {
        registry,
        round_trip,
    })
}

/// What the records write of a registry, read back and validated again.
fn round_trip(file: &RegistryFile) -> Result<(), String> {
    let text = to_toml(file).map_err(|e| e.to_string())?;
    let loaded = from_toml(&text).map_err(|e| e.to_string())?;
    if &loaded != file {
        return Err(format!(
            "the registry reads back different: {loaded:?}\n!=\n{file:?}"
        ));
    }
    Registry::from_file(loaded)
        .map(drop)
        .map_err(|e| format!("the saved registry no longer validates: {e}"))
}

/// Registry TOML text through `Registry::from_toml`, and what validates through the records'
/// round trip.
pub fn registry_file(text: &str) -> Result<Stored, String> {
    Registry::from_toml(text)
        .map_err(|e| e.to_string())
        .map(|registry| Stored {
            round_trip: round_trip(registry.source()),
            registry,
        })
}

/// What each admin request body made of the same JSON: not a body of that kind, refused (by
/// the change's rules or the registry's validation), or accepted and stored.
#[derive(Debug, Default)]
pub struct AdminPayload {
    pub outcomes: Vec<(&'static str, Result<Stored, String>)>,
}

/// JSON bytes as each admin request body (`POST /admin/providers`, `/admin/services`,
/// `/admin/agreements`, `/admin/agreements/{id}/amend`, and the reasons of suspend, revoke and
/// terminate), applied to `base` by the functions the handlers apply (`admin::changes`,
/// `admin::lifecycle`), then validated and stored as `admin::mutate` does.
pub fn admin_payload(base: &RegistryFile, json: &[u8]) -> AdminPayload {
    let mut out = AdminPayload::default();
    let mut apply = |kind, change: &dyn Fn(&mut RegistryFile) -> Result<(), String>| {
        let mut file = base.clone();
        let outcome = change(&mut file).and_then(|()| store(file));
        out.outcomes.push((kind, outcome));
    };
    let refused = |e: crate::admin::auth::AdminError| e.to_string();
    if let Ok(provider) = serde_json::from_slice::<ProviderEntry>(json) {
        apply("provider", &|file| {
            changes::register_provider(file, provider.clone(), "fuzz-registrar").map_err(refused)
        });
    }
    if let Ok(service) = serde_json::from_slice::<RelyingPartyEntry>(json) {
        apply("service", &|file| {
            changes::register_service(file, service.clone(), "fuzz-registrar").map_err(refused)
        });
    }
    if let Ok(agreement) = serde_json::from_slice::<AgreementEntry>(json) {
        apply("agreement", &|file| {
            changes::create_agreement(file, agreement.clone()).map_err(refused)
        });
        apply("amendment", &|file| {
            let id = file
                .agreements
                .first()
                .map(|a| a.id.clone())
                .unwrap_or_default();
            changes::amend_agreement(file, &id, agreement.clone())
                .map(drop)
                .map_err(refused)
        });
    }
    if let Ok(reason) = serde_json::from_slice::<Reason>(json) {
        apply("suspension", &|file| {
            let entries = &mut file.providers;
            let id = entries.first().map(|p| p.id.clone()).unwrap_or_default();
            lifecycle::set_status(
                lifecycle::find(entries, &id).map_err(refused)?,
                "suspended",
                &reason.reason,
            )
            .map_err(refused)
        });
        apply("termination", &|file| {
            let id = file
                .agreements
                .first()
                .map(|a| a.id.clone())
                .unwrap_or_default();
            changes::terminate_agreement(file, &id, &reason.reason).map_err(refused)
        });
    }
    out
}

/// A `/register` request body (RFC 7591 with a software statement) through the handler's
/// parsing: the JSON body, the statement's signature against `registry`'s statement keys, the
/// statement's claims as client metadata at `now`, and the new client validated into the
/// registry and stored.
pub fn software_statement(
    registry: &Registry,
    body: &[u8],
    now: i64,
) -> Result<(RelyingPartyEntry, Stored), String> {
    let body: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let statement = body
        .get("software_statement")
        .and_then(Value::as_str)
        .ok_or("a software_statement is required")?;
    let (claims, jurisdiction) =
        register::verify_statement(registry, statement).map_err(|e| e.description)?;
    let registration =
        register::registration(&claims, &jurisdiction, now).map_err(|e| e.description)?;
    let mut file = registry.source().clone();
    let entry = registration.entry;
    changes::add_service(&mut file, entry.clone()).map_err(|e| e.to_string())?;
    Ok((entry, store(file)?))
}

/// A client assertion that authenticated: who, its verified claims, and what blocks its replay.
#[derive(Debug)]
pub struct ClientAssertion {
    pub client_id: String,
    pub claims: Map<String, Value>,
    pub jti: String,
    pub exp: i64,
    pub remaining: std::time::Duration,
}

/// A `private_key_jwt` assertion (RFC 7523) through `client_auth::authenticate`'s checks:
/// the unverified client id that selects the keys, the signature against the client's
/// registered `jwks`, and the claims against the broker's issuer (the only audience) at `now`.
pub fn client_assertion(
    jwks: &Value,
    assertion: &str,
    issuer: &str,
    now: i64,
) -> Result<ClientAssertion, String> {
    use crate::oidc::client_auth::assertion;
    let client_id = assertion::unverified_client_id(assertion).map_err(|e| e.to_string())?;
    let claims = assertion::verify_signature(assertion, jwks).map_err(|e| e.to_string())?;
    let accepted =
        assertion::check_claims(&claims, &client_id, issuer, now).map_err(|e| e.to_string())?;
    Ok(ClientAssertion {
        client_id,
        claims,
        jti: accepted.jti,
        exp: accepted.exp,
        remaining: accepted.remaining,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Registry {
        Registry::from_toml(include_str!("../../examples/registry/pan-canada.toml")).unwrap()
    }

    /// The input of the `admin_payload` round-trip failure (README, "Fuzzing"): a client whose
    /// JWKS holds a null validated, then could not be saved by the registry store, so the
    /// handler answered 503. It is refused by validation now, at its place.
    #[test]
    fn fuzz_admin_payload_null_in_client_jwks_is_refused_not_stored() {
        let body = br#"{"client_id": "ns-fishing", "name": {"en": "Fishing", "fr": "P\u00eache"}, "jurisdiction": "CA-NS", "redirect_uris": ["https://fishing.novascotia.example/callback"], "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "XbVkduivEXhJDoVJ9ZAK5BAZ7l_QosWuiZZa-XDMx9I", "y": "ITjis-PRltWLCEpHlEGrG_Xd9xEbt7SGcyxi_0jaFwM", "ext": null}]}, "sector_identifier": "novascotia.ca", "id_token_signed_response_alg": "PS256"}"#;
        let payload = admin_payload(example().source(), body);
        let [("service", Err(refused))] = payload.outcomes.as_slice() else {
            panic!("{:?}", payload.outcomes);
        };
        assert!(refused.contains(".jwks.keys[0].ext: null"), "{refused}");
        // Without the null, the same client is accepted and survives the store.
        let body = String::from_utf8_lossy(body).replace(r#", "ext": null"#, "");
        let payload = admin_payload(example().source(), body.as_bytes());
        let [("service", Ok(stored))] = payload.outcomes.as_slice() else {
            panic!("{:?}", payload.outcomes);
        };
        assert_eq!(stored.round_trip, Ok(()));
    }

    /// The `registry_file` counterpart: a TOML `nan` in a statement key is a JSON null.
    #[test]
    fn fuzz_registry_file_nan_in_statement_key_is_refused() {
        let text = format!(
            "# registry-version = 3\n{}\n[[statement_keys]]\njurisdiction = \"CA-NS\"\nkid = \"ns-1\"\njwk = {{ kty = \"EC\", crv = \"P-256\", ext = nan, x = \"a\", y = \"b\" }}\n",
            include_str!("../../examples/registry/pan-canada.toml")
        );
        let parsed = registry_file(&text);
        let Err(refused) = parsed else {
            panic!("a registry the store cannot save validated");
        };
        assert!(
            refused.contains("statement_keys[0].jwk.ext: null, nan"),
            "{refused}"
        );
        let parsed = registry_file(&text.replace("ext = nan, ", ""));
        assert_eq!(parsed.map(|s| s.round_trip), Ok(Ok(())));
    }
}
