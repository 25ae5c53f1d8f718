//! `/register`: OAuth 2.0 Dynamic Client Registration (RFC 7591) with a software statement.
//!
//! A jurisdiction vouches for its service by signing a software statement with a key the
//! registry trusts for that jurisdiction. The statement's claims are the metadata that count
//! (RFC 7591 section 2.3); the broker issues a client secret once and keeps only its SHA-256,
//! or, for `private_key_jwt`, takes the statement's `jwks` or `jwks_uri` (so a jurisdiction
//! vouches for the client's keys too), and registers the client as `pending` until an approver
//! activates it. A statement registers one
//! client once (`jti`), and only while it is valid (`exp`, at most a day).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::Jwk;
use serde_json::{Map, Value, json};
use trust_framework::registry::RelyingPartyEntry;
use trust_framework::{Bilingual, SecretRef};

use crate::admin::auth::AdminError;
use crate::app::Broker;
use crate::audit::Event;
use crate::http::browser::random_token;
use crate::store::Kind;

/// The longest a software statement may be valid for.
const MAX_STATEMENT_LIFETIME: i64 = 24 * 3600;

pub(crate) struct RegistrationError {
    code: &'static str,
    pub(crate) description: String,
    status: StatusCode,
}

fn error(code: &'static str, description: impl Into<String>) -> RegistrationError {
    RegistrationError {
        code,
        description: description.into(),
        status: StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for RegistrationError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({ "error": self.code, "error_description": self.description })),
        )
            .into_response();
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

/// The payload of a compact JWS as a JSON object.
fn statement_claims(jws: &str) -> Result<Map<String, Value>, &'static str> {
    use base64::Engine as _;
    let payload = jws.split('.').nth(1).ok_or("missing")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| "not base64url")?;
    serde_json::from_slice(&bytes).map_err(|_| "not a JSON object")
}

/// Verifies the statement against the registry's keys and returns its claims and jurisdiction.
pub(crate) fn verify_statement(
    registry: &trust_framework::Registry,
    jws: &str,
) -> Result<(Map<String, Value>, String), RegistrationError> {
    let bad = |d: String| error("invalid_software_statement", d);
    let accepted = "(ES256, PS256, RS256, EdDSA)";
    let header = crate::jose::header(jws).map_err(|e| match e {
        crate::jose::HeaderError::UnknownAlg(alg) => {
            bad(format!("algorithm {alg:?} is not accepted {accepted}"))
        }
        crate::jose::HeaderError::Malformed => bad(format!("not a JWS: {e}")),
    })?;
    let alg = match header.alg {
        Algorithm::ES256 | Algorithm::PS256 | Algorithm::RS256 | Algorithm::EdDSA => header.alg,
        other => {
            let other = crate::jose::name(other);
            return Err(bad(format!(
                "algorithm {other:?} is not accepted {accepted}"
            )));
        }
    };
    let kid = header.kid.unwrap_or_default();
    let key = registry
        .source()
        .statement_keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| {
            error(
                "unapproved_software_statement",
                format!("no trusted key has kid {kid:?}"),
            )
        })?;
    let jwk: Jwk = serde_json::from_value(key.jwk.clone())
        .map_err(|e| bad(format!("the trusted key is not a JWK: {e}")))?;
    if !crate::jose::key_fits(&jwk, alg) {
        return Err(bad(format!(
            "the trusted key {kid:?} is not a key for {}",
            crate::jose::name(alg)
        )));
    }
    if !crate::jose::verifies_with(jws, &jwk, alg) {
        return Err(bad("signature: the signature does not verify".into()));
    }
    let claims = statement_claims(jws).map_err(|e| bad(format!("the payload is {e}")))?;
    if claims.get("iss").and_then(Value::as_str) != Some(key.jurisdiction.as_str()) {
        return Err(error(
            "unapproved_software_statement",
            format!(
                "the statement must be issued by {} (the key's jurisdiction)",
                key.jurisdiction
            ),
        ));
    }
    Ok((claims, key.jurisdiction.clone()))
}

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// What a verified statement registers: a pending client, and the `jti` and `exp` that guard
/// against the statement's replay.
pub(crate) struct Registration {
    pub(crate) entry: RelyingPartyEntry,
    pub(crate) jti: String,
    pub(crate) exp: i64,
    /// The secret to hand the client once, in the registration response; `None` for a
    /// `private_key_jwt` client, which never gets one.
    pub(crate) secret: Option<String>,
}

/// The verified statement's claims as client metadata (RFC 7591 section 2.3), checked at `now`
/// for lifetime and shape. A client that authenticates with a secret is issued a fresh one,
/// kept only as its SHA-256; a `private_key_jwt` client registers its public keys instead.
pub(crate) fn registration(
    claims: &Map<String, Value>,
    jurisdiction: &str,
    now: i64,
) -> Result<Registration, RegistrationError> {
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_i64),
        claims.get("exp").and_then(Value::as_i64),
    ) else {
        return Err(error(
            "invalid_software_statement",
            "iat and exp are required",
        ));
    };
    if exp <= now || iat > now + 60 || exp - iat > MAX_STATEMENT_LIFETIME {
        return Err(error(
            "invalid_software_statement",
            "the statement is expired, not yet valid, or valid for more than a day",
        ));
    }
    let jti = text(claims, "jti")
        .ok_or_else(|| error("invalid_software_statement", "jti is required"))?;
    let client_id = text(claims, "software_id").ok_or_else(|| {
        error(
            "invalid_client_metadata",
            "software_id (the client id) is required",
        )
    })?;
    let redirect_uris: Vec<String> = claims
        .get("redirect_uris")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let method =
        text(claims, "token_endpoint_auth_method").unwrap_or_else(|| "client_secret_basic".into());
    let uses_secret = match method.as_str() {
        "client_secret_basic" | "client_secret_post" => true,
        "private_key_jwt" => false,
        _ => {
            return Err(error(
                "invalid_client_metadata",
                "token_endpoint_auth_method must be client_secret_basic, client_secret_post or \
                 private_key_jwt",
            ));
        }
    };
    let secret = uses_secret.then(random_token);
    let entry = RelyingPartyEntry {
        client_id,
        name: Bilingual::new(
            text(claims, "client_name").unwrap_or_default(),
            text(claims, "client_name#fr").unwrap_or_default(),
        ),
        jurisdiction: jurisdiction.to_owned(),
        redirect_uris,
        token_endpoint_auth_method: method,
        client_secret: secret
            .as_deref()
            .map(|s| SecretRef::Sha256(crate::secrets::sha256_hex(s))),
        // With private_key_jwt, the client's public keys (RFC 7591 `jwks` or `jwks_uri`);
        // registry validation refuses both or neither, private key material, a secret beside
        // them, and a `jwks_uri` that is not https.
        jwks: claims.get("jwks").cloned(),
        jwks_uri: text(claims, "jwks_uri"),
        sector_identifier: text(claims, "sector_identifier").unwrap_or_default(),
        id_token_signed_response_alg: text(claims, "id_token_signed_response_alg")
            .unwrap_or_else(|| "ES256".into()),
        require_pushed_authorization_requests: claims
            .get("require_pushed_authorization_requests")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        post_logout_redirect_uris: claims
            .get("post_logout_redirect_uris")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        backchannel_logout_uri: text(claims, "backchannel_logout_uri"),
        security_events_uri: text(claims, "security_events_uri"),
        status: "pending".into(),
        status_reason: None,
        registered_by: Some(format!("software statement {jurisdiction}")),
    };
    Ok(Registration {
        entry,
        jti,
        exp,
        secret,
    })
}

pub async fn register(State(broker): State<Broker>, Json(body): Json<Value>) -> Response {
    match handle(&broker, body).await {
        Ok(r) => r,
        Err(e) => {
            broker.audit(Event::RegistrationRefused {
                code: e.code,
                reason: &e.description,
            });
            e.into_response()
        }
    }
}

async fn handle(broker: &Broker, body: Value) -> Result<Response, RegistrationError> {
    let statement = body
        .get("software_statement")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            error(
                "invalid_software_statement",
                "a software_statement is required",
            )
        })?;
    let registry = broker.fresh_registry().await;
    let (claims, jurisdiction) = verify_statement(&registry, statement)?;
    let now = broker.now().unix_timestamp();
    let Registration {
        entry,
        jti,
        exp,
        secret,
    } = registration(&claims, &jurisdiction, now)?;
    let client_id = entry.client_id.clone();
    let redirect_uris = entry.redirect_uris.clone();
    let method = entry.token_endpoint_auth_method.clone();
    let ttl_key = format!("{jurisdiction}:{jti}");
    // Claimed atomically before anything is registered: two replicas given the same
    // statement at once cannot both register a client.
    let first_use = broker
        .store
        .put_new(Kind::StatementJti, &ttl_key, &exp, Kind::StatementJti.ttl())
        .await
        .map_err(|e| error("temporarily_unavailable", e.to_string()))?;
    if !first_use {
        return Err(error(
            "invalid_software_statement",
            "this software statement was already used (jti replay)",
        ));
    }
    let proposer = format!("software statement {jurisdiction}");
    let change = crate::admin::Change {
        action: "service.registered.dynamic",
        target: crate::admin::Target::Service(&client_id),
        proposed_by: Some(&proposer),
        approved_by: None,
        reason: None,
    };
    crate::admin::mutate(broker, change, |file| {
        crate::admin::changes::add_service(file, entry)
    })
    .await
    .map_err(|e| match e {
        AdminError::Problems(p) => {
            let code = if p.iter().any(|x| x.contains("redirect_uris")) {
                "invalid_redirect_uri"
            } else {
                "invalid_client_metadata"
            };
            error(code, p.join("; "))
        }
        other => error("invalid_client_metadata", other.to_string()),
    })?;
    broker.audit(Event::ServiceRegisteredDynamic {
        client: &client_id,
        jurisdiction: &jurisdiction,
        jti: &jti,
    });
    let mut registered = json!({
        "client_id": client_id,
        "client_id_issued_at": now,
        "redirect_uris": redirect_uris,
        "token_endpoint_auth_method": method,
        "status": "pending",
    });
    if let Some(secret) = secret {
        registered["client_secret"] = json!(secret);
        registered["client_secret_expires_at"] = json!(0);
    }
    let mut response = (StatusCode::CREATED, Json(registered)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(method: &str) -> Map<String, Value> {
        let now = 1_800_000_000;
        let mut claims = json!({
            "iat": now, "exp": now + 600, "jti": "j-1", "software_id": "ns-service",
            "redirect_uris": ["https://service.example/cb"],
            "token_endpoint_auth_method": method,
        });
        if method == "private_key_jwt" {
            claims["jwks"] = json!({ "keys": [] });
        }
        claims.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_secret_client_is_issued_a_fresh_secret_kept_only_as_its_hash() {
        let first = registration(&claims("client_secret_basic"), "ns", 1_800_000_100);
        let second = registration(&claims("client_secret_basic"), "ns", 1_800_000_100);
        let (Ok(first), Ok(second)) = (first, second) else {
            panic!("a valid statement was refused");
        };
        let secret = first.secret.clone().unwrap_or_default();
        assert_eq!(secret.len(), 43, "32 random bytes, base64url");
        assert_ne!(first.secret, second.secret);
        assert_eq!(
            first.entry.client_secret,
            Some(SecretRef::Sha256(crate::secrets::sha256_hex(&secret)))
        );
    }

    #[test]
    fn a_private_key_jwt_client_gets_no_secret_at_all() {
        let Ok(r) = registration(&claims("private_key_jwt"), "ns", 1_800_000_100) else {
            panic!("a valid statement was refused");
        };
        assert_eq!(r.secret, None);
        assert_eq!(r.entry.client_secret, None);
    }
}
