//! The service's authorization request, parsed and checked: what `/authorize` starts a login
//! with and what `/par` accepts to push.
//!
//! Until the client and its redirect URI are validated, every error is a page; after that,
//! errors go back to the redirect URI with `state` and `iss` (never an open redirect, RFC 9700
//! section 4.11).

use std::collections::BTreeSet;

use serde_json::Value;
use trust_framework::{AssuranceLevel, Attribute, Lang, Registry};

use super::ending::Failure;
use super::state::{Prompt, ReturnTo, ServiceRequest};
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::params::{Params, is_s256_challenge};

/// A request whose client and redirect URI are known good and whose every parameter was
/// checked: what `/authorize` acts on and what `/par` accepts.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub service: ServiceRequest,
    /// The provider or jurisdiction the service hinted (`idp_hint`, or a prefixed
    /// `login_hint`).
    pub hint: Option<String>,
    /// `prompt=select_account`: the person chooses again, whatever they chose to remember.
    pub select_account: bool,
}

/// How recent the person's sign-in at the provider must be, in seconds: `max_age`, or 0 for
/// `prompt=login` (OpenID Connect Core 3.1.2.1, where `max_age=0` means the same).
fn fresh_within(max_age: Option<&str>, login: bool) -> Result<Option<u64>, &'static str> {
    let max_age = match max_age {
        None => None,
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<u64>().ok()
        }
        Some(_) => return Err("max_age must be a whole number of seconds"),
    };
    Ok(if login { Some(0) } else { max_age })
}

/// Where the request came from: the browser's own query or form, or a pushed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Browser,
    Pushed,
}

impl AuthorizeRequest {
    /// Checks an authorization request. Until the client and its redirect URI are valid, errors
    /// are pages; after that they go back to the relying party.
    pub fn parse(
        registry: &Registry,
        params: &Params,
        lang: Lang,
        origin: Origin,
    ) -> Result<Self, Failure> {
        let page = |e: OAuthError| Failure::page(lang, e);
        // 1. The client and the redirect URI, or an error page: never an open redirect.
        let client_id = params
            .get("client_id")
            .ok_or_else(|| page(OAuthError::invalid_request("client_id is missing")))?;
        let rp = registry.relying_party(client_id).ok_or_else(|| {
            page(OAuthError::new(
                ErrorCode::InvalidClient,
                "the client is not registered",
            ))
        })?;
        let redirect_uri = params
            .get("redirect_uri")
            .ok_or_else(|| page(OAuthError::invalid_request("redirect_uri is missing")))?;
        if !rp.allows_redirect(redirect_uri) {
            let failure = page(OAuthError::invalid_request(
                "redirect_uri does not exactly match a URI registered for this client",
            ));
            return Err(match rp.redirect_uris.first() {
                Some(registered) => failure.with_back(registered),
                None => failure,
            });
        }

        // 2. From here on the relying party is told.
        let return_to = ReturnTo {
            redirect_uri: redirect_uri.to_owned(),
            state: params.get("state").map(str::to_owned),
            lang,
            service_langs: params
                .get("ui_locales")
                .map(|u| {
                    u.split(' ')
                        .filter_map(|tag| Lang::negotiate([tag]))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let to_rp = |code: ErrorCode, description: &str| {
            Failure::to_service(&return_to, OAuthError::new(code, description))
        };
        if rp.require_par && origin == Origin::Browser {
            return Err(to_rp(
                ErrorCode::InvalidRequest,
                "this service must push its authorization requests (RFC 9126): POST them to /par first",
            ));
        }
        if params.has("request") {
            return Err(to_rp(
                ErrorCode::RequestNotSupported,
                "request objects are not supported",
            ));
        }
        if params.has("request_uri") {
            return Err(to_rp(
                ErrorCode::InvalidRequest,
                "request_uri is only accepted from /par, alone with client_id",
            ));
        }
        match params.get("response_type") {
            Some("code") => {}
            None => return Err(to_rp(ErrorCode::InvalidRequest, "response_type is missing")),
            Some(_) => {
                return Err(to_rp(
                    ErrorCode::UnsupportedResponseType,
                    "only response_type=code is supported",
                ));
            }
        }
        if params.get("response_mode").is_some_and(|m| m != "query") {
            return Err(to_rp(
                ErrorCode::InvalidRequest,
                "only response_mode=query is supported",
            ));
        }
        let scope = params.get("scope").unwrap_or("");
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(to_rp(
                ErrorCode::InvalidScope,
                "the scope must include openid",
            ));
        }
        let nonce = params
            .get("nonce")
            .ok_or_else(|| to_rp(ErrorCode::InvalidRequest, "nonce is required"))?;
        let challenge = params.get("code_challenge").ok_or_else(|| {
            to_rp(
                ErrorCode::InvalidRequest,
                "PKCE is required: code_challenge is missing",
            )
        })?;
        if params.get("code_challenge_method") != Some("S256") {
            return Err(to_rp(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            ));
        }
        if !is_s256_challenge(challenge) {
            return Err(to_rp(
                ErrorCode::InvalidRequest,
                "code_challenge is not an S256 challenge",
            ));
        }
        let prompts: Vec<&str> = params
            .get("prompt")
            .map(|p| p.split(' ').filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        // OpenID Connect Core 3.1.2.1: none with any other value is an error.
        if prompts.contains(&"none") && prompts.len() > 1 {
            return Err(to_rp(
                ErrorCode::InvalidRequest,
                "prompt=none cannot be combined with another prompt value",
            ));
        }
        let max_age = fresh_within(params.get("max_age"), prompts.contains(&"login"))
            .map_err(|e| to_rp(ErrorCode::InvalidRequest, e))?;
        let claims = match params.get("claims") {
            None => None,
            Some(raw) => Some(
                serde_json::from_str::<Value>(raw)
                    .ok()
                    .filter(Value::is_object)
                    .ok_or_else(|| {
                        to_rp(ErrorCode::InvalidRequest, "claims is not a JSON object")
                    })?,
            ),
        };
        let attributes = requested_attributes(scope, claims.as_ref());
        let level = requested_level(params.get("acr_values"), claims.as_ref())
            .map_err(|e| to_rp(ErrorCode::InvalidRequest, &e))?;
        let (hint, login_hint) = hints(registry, params.get("idp_hint"), params.get("login_hint"));
        let prompts = |p: &str| prompts.contains(&p);
        Ok(Self {
            service: ServiceRequest {
                client_id: rp.client_id.clone(),
                return_to,
                nonce: nonce.to_owned(),
                code_challenge: challenge.to_owned(),
                attributes,
                level,
                max_age,
                login_hint,
                ui_locales: params
                    .get("ui_locales")
                    .map(|u| {
                        u.split(' ')
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                prompt: Prompt {
                    none: prompts("none"),
                    login: prompts("login"),
                    consent: prompts("consent"),
                },
            },
            hint,
            select_account: prompts("select_account"),
        })
    }
}

/// The provider hint and the login hint to pass upstream. `idp_hint` names a provider or a
/// jurisdiction; a `login_hint` of the form `<provider or jurisdiction>:<hint>` does too (for
/// services that only know `login_hint`), and only the part after the colon goes upstream.
fn hints(
    registry: &trust_framework::Registry,
    idp_hint: Option<&str>,
    login_hint: Option<&str>,
) -> (Option<String>, Option<String>) {
    let names_provider = |p: &str| {
        registry.provider(p).is_some() || p.parse::<trust_framework::Jurisdiction>().is_ok()
    };
    match (idp_hint, login_hint.and_then(|l| l.split_once(':'))) {
        (None, Some((prefix, rest))) if names_provider(prefix) => (
            Some(prefix.to_owned()),
            (!rest.is_empty()).then(|| rest.to_owned()),
        ),
        (idp, _) => (idp.map(str::to_owned), login_hint.map(str::to_owned)),
    }
}

/// Attributes asked by scope (OpenID Connect Core 5.4) and by the `claims` parameter (5.5).
pub fn requested_attributes(scope: &str, claims: Option<&Value>) -> BTreeSet<Attribute> {
    let mut attributes: BTreeSet<Attribute> = scope
        .split(' ')
        .flat_map(Attribute::for_scope)
        .copied()
        .collect();
    if let Some(claims) = claims {
        for member in ["id_token", "userinfo"] {
            if let Some(Value::Object(requested)) = claims.get(member) {
                attributes.extend(requested.keys().filter_map(|k| Attribute::from_claim(k)));
            }
        }
    }
    attributes
}

/// The level asked by `acr_values` and by an essential `acr` claim: any listed value is
/// acceptable to the relying party, so the weakest listed is the requirement.
pub fn requested_level(
    acr_values: Option<&str>,
    claims: Option<&Value>,
) -> Result<Option<AssuranceLevel>, String> {
    let mut levels = Vec::new();
    if let Some(values) = acr_values {
        let parsed: Vec<AssuranceLevel> = values
            .split(' ')
            .filter_map(AssuranceLevel::from_acr)
            .collect();
        if parsed.is_empty() {
            return Err(format!(
                "acr_values names no PCTF level (expected urn:pctf:loa:1 to urn:pctf:loa:4), got {values:?}"
            ));
        }
        levels.push(parsed.into_iter().min());
    }
    if let Some(acr) = claims
        .and_then(|c| c.get("id_token"))
        .and_then(|t| t.get("acr"))
    {
        let essential = acr
            .get("essential")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut values: Vec<&str> = acr
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(v) = acr.get("value").and_then(Value::as_str) {
            values.push(v);
        }
        let parsed: Vec<AssuranceLevel> = values
            .iter()
            .filter_map(|v| AssuranceLevel::from_acr(v))
            .collect();
        if essential && parsed.is_empty() && !values.is_empty() {
            return Err("the essential acr claim names no PCTF level".into());
        }
        levels.push(parsed.into_iter().min());
    }
    Ok(levels.into_iter().flatten().max())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn login_hint_may_name_the_provider() {
        let registry = trust_framework::Registry::from_toml(include_str!(
            "../../../examples/registry/pan-canada.toml"
        ))
        .unwrap();
        assert_eq!(
            hints(&registry, None, Some("CA-QC:marie")),
            (Some("CA-QC".into()), Some("marie".into()))
        );
        assert_eq!(
            hints(&registry, None, Some("ab-account:")),
            (Some("ab-account".into()), None)
        );
        // An explicit idp_hint wins, and the login hint is passed on whole.
        assert_eq!(
            hints(&registry, Some("CA"), Some("CA-QC:marie")),
            (Some("CA".into()), Some("CA-QC:marie".into()))
        );
        // A colon that names no provider is just part of the hint.
        assert_eq!(
            hints(&registry, None, Some("urn:x:y")),
            (None, Some("urn:x:y".into()))
        );
        assert_eq!(hints(&registry, None, None), (None, None));
    }

    #[test]
    fn scopes_and_claims_request_attributes() {
        let a = requested_attributes(
            "openid email",
            Some(
                &json!({"id_token": {"birthdate": null}, "userinfo": {"address": {"essential": true}, "sin": null}}),
            ),
        );
        assert_eq!(
            a,
            BTreeSet::from([Attribute::Email, Attribute::Birthdate, Attribute::Address])
        );
        assert!(requested_attributes("openid", None).is_empty());
    }

    #[test]
    fn levels_from_acr_values_and_claims() {
        assert_eq!(
            requested_level(Some("urn:pctf:loa:3 urn:pctf:loa:2"), None),
            Ok(Some(AssuranceLevel::Two))
        );
        assert!(requested_level(Some("urn:other:gold"), None).is_err());
        let claims =
            json!({"id_token": {"acr": {"essential": true, "values": ["urn:pctf:loa:3"]}}});
        assert_eq!(
            requested_level(None, Some(&claims)),
            Ok(Some(AssuranceLevel::Three))
        );
        assert_eq!(
            requested_level(Some("urn:pctf:loa:2"), Some(&claims)),
            Ok(Some(AssuranceLevel::Three))
        );
        let bad = json!({"id_token": {"acr": {"essential": true, "values": ["gold"]}}});
        assert!(requested_level(None, Some(&bad)).is_err());
        assert_eq!(requested_level(None, None), Ok(None));
    }
}
