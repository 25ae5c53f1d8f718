//! What the broker asks of an identity provider: the authorization request it sends upstream
//! (OpenID Connect Core 3.1.2.1, with PKCE S256 per RFC 7636 4.3).
//!
//! It lives here, not in the broker, because two parties must build it identically: the
//! broker when it sends a person to a provider, and the conformance suite when it checks that
//! provider. A suite that asked differently would judge a provider on requests the broker
//! never makes. Only the PKCE challenge is left to the caller: it is a SHA-256 digest, and this
//! crate holds no cryptography.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::attribute::Attribute;
use crate::provider::IdentityProvider;

/// The scopes that can carry attributes, in the order they are asked.
const ATTRIBUTE_SCOPES: [&str; 4] = ["profile", "email", "address", "phone"];

/// One authorization request to a provider. `state`, `nonce` and the PKCE verifier make it
/// unique; the rest says what is asked.
#[derive(Clone, Default)]
pub struct AuthorizationRequest {
    pub redirect_uri: String,
    pub state: String,
    pub nonce: String,
    /// Kept for the redemption; the request carries its S256 challenge.
    pub pkce_verifier: String,
    pub scopes: Vec<String>,
    /// The provider's own acr values that satisfy the level, weakest first.
    pub acr_values: Vec<String>,
    /// The `claims` request parameter (OpenID Connect Core 5.5), naming the provider's own
    /// claim names.
    pub claims: Option<Value>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
    /// The service's `max_age`: sent as `max_age`, with `prompt=login` when 0 (`prompt=login`
    /// at the service becomes 0).
    pub max_age: Option<u64>,
}

impl fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("acr_values", &self.acr_values)
            .field("claims", &self.claims)
            .field("login_hint", &self.login_hint)
            .field("ui_locales", &self.ui_locales)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl AuthorizationRequest {
    /// The query parameters, in the order they are sent, for the client `client_id` and the
    /// S256 `code_challenge` of [`AuthorizationRequest::pkce_verifier`]. Optional parameters
    /// that are empty are left out.
    pub fn parameters(&self, client_id: &str, code_challenge: &str) -> Vec<(&'static str, String)> {
        let mut params = vec![
            ("response_type", "code".to_owned()),
            ("client_id", client_id.to_owned()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("scope", scope(&self.scopes)),
            ("state", self.state.clone()),
            ("nonce", self.nonce.clone()),
            ("code_challenge", code_challenge.to_owned()),
            ("code_challenge_method", "S256".to_owned()),
        ];
        if !self.acr_values.is_empty() {
            params.push(("acr_values", self.acr_values.join(" ")));
        }
        if !self.ui_locales.is_empty() {
            params.push(("ui_locales", self.ui_locales.join(" ")));
        }
        if let Some(hint) = &self.login_hint {
            params.push(("login_hint", hint.clone()));
        }
        if let Some(claims) = &self.claims {
            params.push(("claims", claims.to_string()));
        }
        // max_age makes auth_time a required claim (OpenID Connect Core 2), which the broker's
        // freshness check needs; prompt=login as well for 0, for providers that key a new
        // sign-in on it.
        if let Some(seconds) = self.max_age {
            if seconds == 0 {
                params.push(("prompt", "login".to_owned()));
            }
            params.push(("max_age", seconds.to_string()));
        }
        params
    }
}

/// `openid` first, then the other scopes once each.
fn scope(scopes: &[String]) -> String {
    let mut scope = String::from("openid");
    for s in scopes {
        if s != "openid" && !scope.split(' ').any(|have| have == s) {
            scope.push(' ');
            scope.push_str(s);
        }
    }
    scope
}

/// `openid`, and each scope of `offered` that carries one of `attributes`.
pub fn scopes_for(offered: &[String], attributes: &BTreeSet<Attribute>) -> Vec<String> {
    let mut scopes = vec!["openid".to_owned()];
    for scope in ATTRIBUTE_SCOPES {
        let needed = Attribute::for_scope(scope)
            .iter()
            .any(|a| attributes.contains(a));
        if needed && offered.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

/// The `claims` request for exactly these claim names, in the ID token and at userinfo (a
/// provider may deliver them either way); `None` for none.
pub fn claims_request<'a>(claims: impl IntoIterator<Item = &'a str>) -> Option<Value> {
    let members: Map<String, Value> = claims
        .into_iter()
        .map(|c| (c.to_owned(), Value::Null))
        .collect();
    if members.is_empty() {
        return None;
    }
    Some(serde_json::json!({ "id_token": members, "userinfo": members }))
}

impl IdentityProvider {
    /// The scopes to ask this provider for `attributes`: those it registered that carry them.
    pub fn upstream_scopes(&self, attributes: &BTreeSet<Attribute>) -> Vec<String> {
        scopes_for(&self.scopes, attributes)
    }

    /// The `claims` request for exactly `attributes`, under this provider's claim names.
    pub fn upstream_claims(&self, attributes: &BTreeSet<Attribute>) -> Option<Value> {
        claims_request(attributes.iter().map(|a| self.claim_of_attribute(*a)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_says_everything_once_and_leaves_out_what_is_empty() {
        let request = AuthorizationRequest {
            redirect_uri: "https://broker.example/callback".into(),
            state: "st".into(),
            nonce: "no".into(),
            pkce_verifier: "v".into(),
            scopes: vec!["profile".into(), "openid".into(), "profile".into()],
            acr_values: vec!["urn:a".into(), "urn:b".into()],
            claims: claims_request(["given_name"]),
            login_hint: Some("amélie".into()),
            ui_locales: vec!["fr-CA".into(), "en-CA".into()],
            max_age: Some(0),
        };
        let params = request.parameters("broker", "challenge");
        let names: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "acr_values",
                "ui_locales",
                "login_hint",
                "claims",
                "prompt",
                "max_age"
            ]
        );
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("scope"), Some("openid profile"));
        assert_eq!(get("acr_values"), Some("urn:a urn:b"));
        assert_eq!(
            get("claims"),
            Some(r#"{"id_token":{"given_name":null},"userinfo":{"given_name":null}}"#)
        );

        let plain = AuthorizationRequest {
            max_age: Some(300),
            ..AuthorizationRequest::default()
        };
        let params = plain.parameters("c", "x");
        let names: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
        for absent in ["acr_values", "ui_locales", "login_hint", "claims", "prompt"] {
            assert!(!names.contains(&absent), "{absent} in {names:?}");
        }
        assert!(params.contains(&("max_age", "300".into())));
        // Debug shows neither the verifier nor the state nor the nonce.
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("\"st\"") && !shown.contains("\"no\""),
            "{shown}"
        );
    }

    #[test]
    fn scopes_carry_the_attributes_the_provider_offers() {
        let offered: Vec<String> = ["openid", "profile", "address"].map(String::from).into();
        let wanted = BTreeSet::from([Attribute::Birthdate, Attribute::Address, Attribute::Email]);
        assert_eq!(
            scopes_for(&offered, &wanted),
            ["openid", "profile", "address"]
        );
        assert_eq!(scopes_for(&offered, &BTreeSet::new()), ["openid"]);
        assert_eq!(claims_request([]), None);
    }
}
