//! Client authentication at the back-channel endpoints (`/token`, `/par`): the method a
//! relying party registered and no other (RFC 6749 section 2.3, RFC 7523, FAPI 2.0 5.3.2).

pub mod assertion;
mod jwks;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use trust_framework::{ClientAuth, RelyingParty};

pub use self::jwks::ClientKeyCache;
use crate::app::Broker;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::params::Params;
use crate::store::Kind;

/// RFC 7523 section 2.2.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The methods `/token` and `/par` accept, for discovery.
pub const METHODS: [&str; 3] = [
    "private_key_jwt",
    "client_secret_basic",
    "client_secret_post",
];

/// What the client presented, before anything is checked against the registry.
enum Presented {
    Secret {
        client_id: String,
        secret: crate::secrets::Secret,
        method: &'static str,
    },
    Assertion {
        assertion: String,
    },
}

/// The relying party that authenticated this request, active, with the method it registered.
pub async fn authenticate<'r>(
    broker: &Broker,
    registry: &'r trust_framework::Registry,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'r RelyingParty, OAuthError> {
    let rp =
        match presented(headers, params)? {
            Presented::Secret {
                client_id,
                secret,
                method,
            } => {
                let rp = registry
                    .relying_party(&client_id)
                    .ok_or_else(|| invalid("client authentication failed"))?;
                let stored = match &rp.auth {
                    ClientAuth::ClientSecretBasic { secret }
                    | ClientAuth::ClientSecretPost { secret }
                        if rp.auth.method() == method =>
                    {
                        secret
                    }
                    _ => return Err(wrong_method()),
                };
                let verified = broker.secrets.verify(stored, secret.expose()).map_err(|e| {
                tracing::error!(client = %client_id, error = %e, "client secret unavailable");
                OAuthError::server_error("the client's credentials are unavailable")
            })?;
                if !verified {
                    return Err(invalid("client authentication failed"));
                }
                rp
            }
            Presented::Assertion { assertion } => {
                let client_id = assertion::unverified_client_id(&assertion).map_err(refused)?;
                if params.get("client_id").is_some_and(|c| c != client_id) {
                    return Err(invalid("client_id differs from the assertion's subject"));
                }
                let rp = registry
                    .relying_party(&client_id)
                    .ok_or_else(|| invalid("client authentication failed"))?;
                let ClientAuth::PrivateKeyJwt { keys } = &rp.auth else {
                    return Err(wrong_method());
                };
                let now = broker.now().unix_timestamp();
                let verified = broker
                    .client_keys
                    .verify(&client_id, keys, &assertion)
                    .await
                    .map_err(refused)?;
                let accepted = assertion::check_claims(&verified, &client_id, &broker.issuer, now)
                    .map_err(refused)?;
                // One use per jti, claimed atomically, kept until the assertion has expired.
                let first_use = broker
                    .store
                    .put_new(
                        Kind::AssertionJti,
                        &format!("{client_id}:{}", accepted.jti),
                        &accepted.exp,
                        accepted.remaining,
                    )
                    .await
                    .map_err(|e| OAuthError::from_store(&e))?;
                if !first_use {
                    return Err(invalid(
                        "the client assertion was already used (jti replay)",
                    ));
                }
                rp
            }
        };
    if !rp.status.is_active() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("the client is {}", rp.status.name()),
        ));
    }
    Ok(rp)
}

fn invalid(description: &str) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidClient, description)
}

fn wrong_method() -> OAuthError {
    invalid("the client must authenticate with the method it registered")
}

fn refused(e: assertion::AssertionError) -> OAuthError {
    invalid(&format!("client assertion refused: {e}"))
}

fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, OAuthError> {
    let basic = basic_credentials(headers)?;
    let assertion = match (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    ) {
        (None, None) => None,
        (Some(ASSERTION_TYPE), Some(a)) => Some(a.to_owned()),
        (Some(ASSERTION_TYPE), None) => {
            return Err(OAuthError::invalid_request("client_assertion is missing"));
        }
        (Some(_), _) => {
            return Err(invalid(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "client_assertion_type is missing",
            ));
        }
    };
    let methods = usize::from(basic.is_some())
        + usize::from(params.has("client_secret"))
        + usize::from(assertion.is_some());
    if methods > 1 {
        return Err(OAuthError::invalid_request(
            "use one client authentication method, not several",
        ));
    }
    if let Some(assertion) = assertion {
        return Ok(Presented::Assertion { assertion });
    }
    if let Some((id, secret)) = basic {
        if params.get("client_id").is_some_and(|c| c != id) {
            return Err(invalid("client_id differs from the authenticated client"));
        }
        return Ok(Presented::Secret {
            client_id: id,
            secret: crate::secrets::Secret::new(secret),
            method: "client_secret_basic",
        });
    }
    if let Some(secret) = params.get("client_secret") {
        let id = params
            .get("client_id")
            .ok_or_else(|| invalid("client_id is missing"))?;
        return Ok(Presented::Secret {
            client_id: id.to_owned(),
            secret: crate::secrets::Secret::new(secret),
            method: "client_secret_post",
        });
    }
    Err(invalid("client authentication is required"))
}

/// RFC 6749 section 2.3.1: id and secret are form-urlencoded, then joined by a colon.
pub fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let invalid = || OAuthError::new(ErrorCode::InvalidClient, "malformed Basic credentials");
    let value = value.to_str().map_err(|_| invalid())?;
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return Err(invalid());
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(invalid)?;
    let unescape = |s: &str| {
        urlencoding::decode(&s.replace('+', " "))
            .map(|c| c.into_owned())
            .map_err(|_| invalid())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}
