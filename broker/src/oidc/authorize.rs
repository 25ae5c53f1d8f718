//! `/authorize` (GET and POST): the relying party's authorization request.
//!
//! Until the client and its redirect URI are validated, every error is a page; after that,
//! errors go back to the redirect URI with `state` and `iss`.

use std::collections::BTreeSet;

use axum::extract::{RawForm, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::Uri;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use trust_framework::{
    AssuranceLevel, Attribute, Lang, Registry, RelyingParty, RequestContext, decide,
};

use super::params::{Params, is_s256_challenge};
use crate::app::Broker;
use crate::audit;
use crate::http::browser;
use crate::http::lang;
use crate::http::pages;
use crate::login::abandoned::{Stage, Watch};
use crate::login::ending::{self, Failure};
use crate::login::state::PendingLogin;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::store::Kind;

pub async fn get(
    State(broker): State<Broker>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let pairs = url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let here = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    authorize(broker, pairs, headers, here).await
}

pub async fn post(
    State(broker): State<Broker>,
    headers: HeaderMap,
    RawForm(body): RawForm,
) -> Response {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    // A POSTed request cannot be repeated by a link; the language switch restarts as a GET.
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    authorize(broker, pairs, headers, format!("/authorize?{query}")).await
}

async fn authorize(
    broker: Broker,
    pairs: Vec<(String, String)>,
    headers: HeaderMap,
    here: String,
) -> Response {
    let explicit_lang = pairs
        .iter()
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.clone());
    let ui_locales = pairs
        .iter()
        .find(|(k, _)| k == "ui_locales")
        .map(|(_, v)| v.clone());
    let lang = lang::negotiate(explicit_lang.as_deref(), ui_locales.as_deref(), &headers);
    let switch = ending::same_page_other_lang(&here, lang);
    let page = |e: OAuthError| Failure::page(lang, e).into_response(&broker, switch.clone());
    let params = match Params::from_pairs(pairs) {
        Ok(p) => p,
        Err(e) => return page(OAuthError::invalid_request(e)),
    };
    let (params, origin) = if params.has("request_uri") {
        match pushed(&broker, &params).await {
            Ok(p) => (p, Origin::Pushed),
            Err(e) => return page(e),
        }
    } else {
        (params, Origin::Browser)
    };
    match begin(&broker, params, origin, &headers, lang).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(&broker, switch),
    }
}

/// The pushed request a `request_uri` stands for, taken once: a second use, an expired one or
/// one pushed by another client finds nothing (RFC 9126 sections 2.2 and 4).
async fn pushed(broker: &Broker, params: &Params) -> Result<Params, OAuthError> {
    let invalid = |d: &str| OAuthError::new(ErrorCode::InvalidRequestUri, d);
    let client_id = params
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?;
    let handle = params
        .get("request_uri")
        .and_then(|u| u.strip_prefix(super::par::REQUEST_URI_PREFIX))
        .ok_or_else(|| invalid("request_uri was not issued by this broker's /par"))?;
    let stored: super::par::Pushed = broker
        .store
        .take(Kind::PushedRequest, handle)
        .await
        .map_err(|e| OAuthError::from_store(&e))?
        .ok_or_else(|| invalid("the request_uri is unknown, expired or already used"))?;
    if stored.client_id != client_id {
        return Err(invalid("the request_uri was pushed by another client"));
    }
    let mut pairs = stored.pairs;
    // The only parameter the browser may add: the page language it asked for.
    if let Some(l) = params.get("lang") {
        pairs.retain(|(k, _)| k != "lang");
        pairs.push(("lang".into(), l.to_owned()));
    }
    Params::from_pairs(pairs).map_err(OAuthError::invalid_request)
}

/// A request whose client and redirect URI are known good and whose every parameter was
/// checked: what `/authorize` acts on and what `/par` accepts.
pub(crate) struct Checked<'r> {
    pub rp: &'r RelyingParty,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: String,
    pub challenge: String,
    pub attributes: BTreeSet<Attribute>,
    pub level: Option<AssuranceLevel>,
    pub max_age: Option<u64>,
}

/// How recent the person's sign-in at the provider must be, in seconds: `max_age`, or 0 for
/// `prompt=login` (OpenID Connect Core 3.1.2.1, where `max_age=0` means the same).
fn fresh_within(max_age: Option<&str>, prompt: Option<&str>) -> Result<Option<u64>, &'static str> {
    let max_age = match max_age {
        None => None,
        Some(v) if !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<u64>().ok()
        }
        Some(_) => return Err("max_age must be a whole number of seconds"),
    };
    let login = prompt.is_some_and(|p| p.split(' ').any(|p| p == "login"));
    Ok(if login { Some(0) } else { max_age })
}

/// Where the request came from: the browser's own query or form, or a pushed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Browser,
    Pushed,
}

/// Checks an authorization request. Until the client and its redirect URI are valid, errors
/// are pages; after that they go back to the relying party.
pub(crate) fn check<'r>(
    registry: &'r Registry,
    params: &Params,
    lang: Lang,
    origin: Origin,
) -> Result<Checked<'r>, Failure> {
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
        return Err(page(OAuthError::invalid_request(
            "redirect_uri does not exactly match a URI registered for this client",
        )));
    }

    // 2. From here on the relying party is told.
    let state = params.get("state").map(str::to_owned);
    let to_rp = |code: ErrorCode, description: &str| Failure::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error: OAuthError::new(code, description),
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
    if params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|p| p == "none"))
    {
        return Err(to_rp(
            ErrorCode::LoginRequired,
            "prompt=none cannot be honoured: every login needs the person",
        ));
    }
    let max_age = fresh_within(params.get("max_age"), params.get("prompt"))
        .map_err(|e| to_rp(ErrorCode::InvalidRequest, e))?;
    let claims = match params.get("claims") {
        None => None,
        Some(raw) => Some(
            serde_json::from_str::<Value>(raw)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| to_rp(ErrorCode::InvalidRequest, "claims is not a JSON object"))?,
        ),
    };
    let attributes = requested_attributes(scope, claims.as_ref());
    let level = requested_level(params.get("acr_values"), claims.as_ref())
        .map_err(|e| to_rp(ErrorCode::InvalidRequest, &e))?;
    Ok(Checked {
        rp,
        redirect_uri: redirect_uri.to_owned(),
        state,
        nonce: nonce.to_owned(),
        challenge: challenge.to_owned(),
        attributes,
        level,
        max_age,
    })
}

async fn begin(
    broker: &Broker,
    params: Params,
    origin: Origin,
    headers: &HeaderMap,
    lang: Lang,
) -> Result<Response, Failure> {
    let registry = broker.fresh_registry().await;
    let Checked {
        rp,
        redirect_uri,
        state,
        nonce,
        challenge,
        attributes,
        level,
        max_age,
    } = check(&registry, &params, lang, origin)?;
    let redirect_uri = redirect_uri.as_str();
    crate::http::limits::client(broker, &rp.client_id)
        .await
        .map_err(|r| Failure::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            state: state.clone(),
            error: r.to_oauth("from this service"),
        })?;
    let nonce = nonce.as_str();
    let challenge = challenge.as_str();

    // 3. The trust framework decides.
    let (hint, login_hint) = hints(&registry, params.get("idp_hint"), params.get("login_hint"));
    let context = RequestContext {
        client_id: rp.client_id.clone(),
        attributes: attributes.clone(),
        level,
        hint: hint.clone(),
    };
    let now = time::OffsetDateTime::now_utc();
    let decision = decide(&registry, &context, now).map_err(|refusal| {
        tracing::info!(target: "audit", event = "policy.refused", client = %rp.client_id, code = refusal.error_code(), %refusal);
        crate::metrics::policy_refused(&refusal);
        Failure::Redirect {
            redirect_uri: redirect_uri.to_owned(),
            state: state.clone(),
            error: OAuthError::from_refusal(&refusal),
        }
    })?;
    // 4. Remember the request, bound to this browser.
    let existing = browser::cookie(headers);
    let cookie = existing.clone().unwrap_or_else(browser::random_token);
    let txn = browser::random_token();
    tracing::info!(
        target: "audit",
        event = "policy.decided",
        txn = %txn,
        client = %rp.client_id,
        eligible = %audit::list(decision.candidates.iter().map(|c| c.provider_id.as_str())),
        level_required = decision.required_level().map(|l| l.acr()),
        attributes_requested = %audit::list(attributes.iter().map(|a| a.name())),
        attributes_refused = %audit::list(decision.candidates.first().into_iter().flat_map(|c| c.refused.iter().map(|a| a.name()))),
    );
    let pending = PendingLogin {
        client_id: rp.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
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
        lang,
        decision: decision.clone(),
        browser: browser::hash(&cookie),
        csrf: browser::random_token(),
        upstream: None,
    };

    // A remembered choice (opt-in, on the picker) skips it, unless the service asks for the
    // choice to be made again (`prompt=select_account`) or hinted another provider.
    let select_again = params
        .get("prompt")
        .is_some_and(|p| p.split(' ').any(|p| p == "select_account"));
    let remembered = (hint.is_none() && !select_again)
        .then(|| browser::remembered_provider(headers))
        .flatten()
        .and_then(|id| decision.candidate(&id));
    let mut response = if let [only] = decision.candidates.as_slice() {
        ending::start_upstream(broker, &registry, &txn, pending, only).await?
    } else if let Some(chosen) = remembered {
        tracing::info!(target: "audit", event = "provider.remembered", txn = %txn, provider = %chosen.provider_id);
        ending::start_upstream(broker, &registry, &txn, pending, chosen).await?
    } else {
        let watch = Watch::new(&txn, Stage::ChoosingProvider, &pending.client_id, None);
        crate::login::abandoned::keep(broker, Kind::Pending, &txn, &pending, &watch)
            .await
            .map_err(|e| Failure::page(lang, ending::store_failed(&txn, &e)))?;
        pages::picker(lang, &registry, &decision, &txn, &pending.csrf, None)
    };
    if existing.is_none()
        && let Some(v) = browser::set_cookie(&cookie, broker.secure_cookies)
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response.into_response())
}

/// The provider hint and the login hint to pass upstream. `idp_hint` names a provider or a
/// jurisdiction; a `login_hint` of the form `<provider or jurisdiction>:<hint>` does too (for
/// services that only know `login_hint`), and only the part after the colon goes upstream.
pub(crate) fn hints(
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
pub(crate) fn requested_attributes(scope: &str, claims: Option<&Value>) -> BTreeSet<Attribute> {
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
pub(crate) fn requested_level(
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
