//! A relying service's entry: its redirect URIs, client authentication (a secret, or its
//! public keys for `private_key_jwt`), signing algorithm and sector.

use std::collections::HashSet;

use super::super::file::RelyingPartyEntry;
use super::{Checker, NO_TOML_FORM, without_toml_form};
use crate::relying_party::{ClientAuth, ClientKeys, RelyingParty, SigningAlg};

pub(super) fn relying_party(
    c: &mut Checker,
    place: &str,
    r: &RelyingPartyEntry,
) -> Option<RelyingParty> {
    c.nonempty(&format!("{place}.client_id"), &r.client_id, "the client id");
    c.nonempty(
        &format!("{place}.sector_identifier"),
        &r.sector_identifier,
        "the sector identifier",
    );
    c.bilingual(&format!("{place}.name"), &r.name);
    let jurisdiction = c.jurisdiction(&format!("{place}.jurisdiction"), &r.jurisdiction);
    if r.redirect_uris.is_empty() {
        c.problem(
            format!("{place}.redirect_uris"),
            "at least one redirect URI is required",
        );
    }
    let mut seen = HashSet::new();
    let redirect_uris: Vec<Option<String>> = r
        .redirect_uris
        .iter()
        .enumerate()
        .map(|(i, u)| {
            c.unique(
                &mut seen,
                format!("{place}.redirect_uris[{i}]"),
                u,
                "redirect URI",
            );
            c.url(&format!("{place}.redirect_uris[{i}]"), u, false)
                .map(|_| u.clone())
        })
        .collect();
    let mut seen_logout = HashSet::new();
    let post_logout_redirect_uris: Vec<Option<String>> = r
        .post_logout_redirect_uris
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let place = format!("{place}.post_logout_redirect_uris[{i}]");
            c.unique(
                &mut seen_logout,
                place.clone(),
                u,
                "post-logout redirect URI",
            );
            c.url(&place, u, false).map(|_| u.clone())
        })
        .collect();
    // Back-Channel Logout 1.0 section 2.2 and RFC 8935 section 2: endpoints the broker calls,
    // under the same rules as any URL of the registry (no fragment among them).
    let backchannel_logout_uri = optional_url(
        c,
        place,
        "backchannel_logout_uri",
        r.backchannel_logout_uri.as_deref(),
    );
    let security_events_uri = optional_url(
        c,
        place,
        "security_events_uri",
        r.security_events_uri.as_deref(),
    );
    let auth_place = format!("{place}.token_endpoint_auth_method");
    if let Some(crate::secret::SecretRef::Sha256(hex)) = &r.client_secret
        && (hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        c.problem(
            format!("{place}.client_secret.sha256"),
            "must be 64 hexadecimal digits (a SHA-256)",
        );
    }
    let secret = |c: &mut Checker| {
        if r.jwks.is_some() || r.jwks_uri.is_some() {
            c.problem(
                place.to_owned(),
                format!(
                    "{} does not use jwks or jwks_uri",
                    r.token_endpoint_auth_method
                ),
            );
        }
        let s = r.client_secret.clone();
        if s.is_none() {
            c.problem(
                format!("{place}.client_secret"),
                format!(
                    "{} needs a client_secret reference",
                    r.token_endpoint_auth_method
                ),
            );
        }
        s
    };
    let auth = match r.token_endpoint_auth_method.as_str() {
        "client_secret_basic" => secret(c).map(|secret| ClientAuth::ClientSecretBasic { secret }),
        "client_secret_post" => secret(c).map(|secret| ClientAuth::ClientSecretPost { secret }),
        "private_key_jwt" => {
            if r.client_secret.is_some() {
                c.problem(
                    format!("{place}.client_secret"),
                    "private_key_jwt does not use a client secret",
                );
            }
            match (&r.jwks, &r.jwks_uri) {
                (Some(jwks), None) => {
                    if jwks
                        .get("keys")
                        .and_then(|k| k.as_array())
                        .is_none_or(|k| k.is_empty())
                    {
                        c.problem(
                            format!("{place}.jwks"),
                            "a JWKS must have a non-empty \"keys\" array",
                        );
                        None
                    } else if let Some(i) = private_key_index(jwks) {
                        c.problem(
                            format!("{place}.jwks.keys[{i}]"),
                            "holds private key material: register the public key only",
                        );
                        None
                    } else if let Some(path) = without_toml_form(jwks) {
                        c.problem(format!("{place}.jwks{path}"), NO_TOML_FORM);
                        None
                    } else {
                        Some(ClientAuth::PrivateKeyJwt {
                            keys: ClientKeys::Jwks(jwks.clone()),
                        })
                    }
                }
                (None, Some(uri)) => c.url(&format!("{place}.jwks_uri"), uri, false).map(|u| {
                    ClientAuth::PrivateKeyJwt {
                        keys: ClientKeys::JwksUri(u),
                    }
                }),
                _ => {
                    c.problem(
                        place.to_owned(),
                        "private_key_jwt needs exactly one of jwks or jwks_uri",
                    );
                    None
                }
            }
        }
        other => {
            c.problem(
                auth_place,
                format!("{other:?} is not a supported client authentication method (client_secret_basic, client_secret_post, private_key_jwt)"),
            );
            None
        }
    };
    let alg = r
        .id_token_signed_response_alg
        .parse::<SigningAlg>()
        .map_err(|e| c.problem(format!("{place}.id_token_signed_response_alg"), e))
        .ok();
    let status = c.status(&format!("{place}.status"), &r.status, &r.status_reason);
    Some(RelyingParty {
        client_id: r.client_id.clone(),
        name: r.name.clone(),
        jurisdiction: jurisdiction?,
        redirect_uris: redirect_uris.into_iter().collect::<Option<_>>()?,
        auth: auth?,
        sector_identifier: r.sector_identifier.clone(),
        id_token_alg: alg?,
        require_par: r.require_pushed_authorization_requests,
        post_logout_redirect_uris: post_logout_redirect_uris
            .into_iter()
            .collect::<Option<_>>()?,
        backchannel_logout_uri: backchannel_logout_uri?,
        security_events_uri: security_events_uri?,
        status: status?,
    })
}

/// An optional URL of the entry: `Some(None)` when absent, `None` when it is there and wrong
/// (the problem is noted).
fn optional_url(
    c: &mut Checker,
    place: &str,
    field: &str,
    raw: Option<&str>,
) -> Option<Option<url::Url>> {
    match raw {
        None => Some(None),
        Some(u) => c.url(&format!("{place}.{field}"), u, false).map(Some),
    }
}

/// The first key of a JWKS that carries a private member: a client's private key must never
/// be handed to the broker, and one that was is compromised.
fn private_key_index(jwks: &serde_json::Value) -> Option<usize> {
    const PRIVATE: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    jwks.get("keys")?
        .as_array()?
        .iter()
        .position(|k| PRIVATE.iter().any(|m| k.get(m).is_some()))
}
