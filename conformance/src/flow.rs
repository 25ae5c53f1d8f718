//! The browser side of an authorization request, and code redemption. The suite never
//! listens on the redirect URI: it follows redirects itself and stops at the one back to the
//! client.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use trust_framework::upstream::AuthorizationRequest;

use crate::TestClient;
use crate::evidence::Exchange;
use crate::html_form;
use crate::http::{Answer, Http};

/// At most this many hops between the authorization request and the redirect back.
const MAX_HOPS: usize = 12;

pub(crate) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // AWS-LC aborts the process itself when the system's entropy cannot be read.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// What to do on a consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Consent {
    Approve,
    /// Approve with the form's "remember my decision" box ticked (a checkbox whose name says
    /// `remember`), so that later logins of the service may be answered without the page.
    ApproveRemembering,
    Deny,
}

/// What the suite asks in every authorization request of a run, apart from what makes each
/// request unique (state, nonce, PKCE verifier).
#[derive(Debug, Clone, Default)]
pub(crate) struct Ask {
    pub scopes: Vec<String>,
    pub acr_values: Vec<String>,
    pub claims: Option<serde_json::Value>,
    pub login_hint: Option<String>,
    pub ui_locales: Vec<String>,
}

/// One authorization request: built by `trust_framework::upstream`, the code that builds the
/// broker's own requests to providers.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    /// Empty: the request names no client (`client_id` is left out).
    pub client_id: String,
    pub upstream: AuthorizationRequest,
    /// `false`: the PKCE challenge is left out of the request.
    pub pkce: bool,
    pub extra: Vec<(String, String)>,
}

impl AuthRequest {
    pub fn new(client: &TestClient, ask: &Ask) -> Self {
        Self {
            client_id: client.client_id.clone(),
            upstream: AuthorizationRequest {
                redirect_uri: client.redirect_uri.clone(),
                state: random_token(),
                nonce: random_token(),
                pkce_verifier: random_token(),
                scopes: ask.scopes.clone(),
                acr_values: ask.acr_values.clone(),
                claims: ask.claims.clone(),
                login_hint: ask.login_hint.clone(),
                ui_locales: ask.ui_locales.clone(),
                max_age: None,
            },
            pkce: true,
            extra: Vec::new(),
        }
    }

    pub fn state(&self) -> &str {
        &self.upstream.state
    }

    pub fn nonce(&self) -> &str {
        &self.upstream.nonce
    }

    pub fn redirect_uri(&self) -> &str {
        &self.upstream.redirect_uri
    }

    pub fn login_hint(&self) -> Option<&str> {
        self.upstream.login_hint.as_deref()
    }

    /// The verifier to redeem the code with; `None` when no challenge was sent.
    pub fn verifier(&self) -> Option<&str> {
        self.pkce.then_some(self.upstream.pkce_verifier.as_str())
    }

    pub fn url(&self, authorization_endpoint: &str) -> Result<String, String> {
        let mut url = url::Url::parse(authorization_endpoint)
            .map_err(|e| format!("authorization_endpoint is not a URL: {e}"))?;
        let challenge = pkce_challenge(&self.upstream.pkce_verifier);
        let mut params = self.upstream.parameters(&self.client_id, &challenge);
        if !self.pkce {
            params.retain(|(name, _)| !name.starts_with("code_challenge"));
        }
        if self.client_id.is_empty() {
            params.retain(|(name, _)| *name != "client_id");
        }
        url.query_pairs_mut()
            .extend_pairs(params)
            .extend_pairs(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        Ok(url.to_string())
    }
}

/// How a walk ended.
#[derive(Debug, Clone)]
pub(crate) enum End {
    /// Redirected back to the redirect URI with these parameters.
    Back { params: HashMap<String, String> },
    /// Stopped elsewhere: an error page, a page that needs a person, a transport error.
    Stopped { status: Option<u16>, reason: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Walk {
    pub end: End,
    /// A consent form was shown on the way.
    pub saw_consent: bool,
}

impl Walk {
    pub fn code(&self) -> Option<&str> {
        match &self.end {
            End::Back { params } => params.get("code").map(String::as_str),
            End::Stopped { .. } => None,
        }
    }

    pub fn describe(&self) -> String {
        match &self.end {
            End::Back { params } => match params.get("error") {
                Some(e) => format!("redirected back with error={e}"),
                None if params.contains_key("code") => "redirected back with a code".into(),
                None => "redirected back without code or error".into(),
            },
            End::Stopped { status, reason } => match status {
                Some(s) => format!("stopped at an HTTP {s} answer: {reason}"),
                None => format!("stopped: {reason}"),
            },
        }
    }
}

fn stopped(status: Option<u16>, reason: impl Into<String>) -> Walk {
    Walk {
        end: End::Stopped {
            status,
            reason: reason.into(),
        },
        saw_consent: false,
    }
}

fn resolve(base: &str, location: &str) -> Result<String, String> {
    url::Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .map_err(|e| format!("unusable Location {location:?}: {e}"))
}

/// Adds the login hint to a provider's authorization request that lacks one (the broker passes
/// the relying party's on; this covers one that does not).
fn with_login_hint(url: &str, hint: Option<&str>, first: &str) -> String {
    let Some(hint) = hint else {
        return url.to_owned();
    };
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let is_authorize = parsed.path().ends_with("/authorize") || parsed.path().ends_with("/auth");
    if url.starts_with(first)
        || !is_authorize
        || parsed.query_pairs().any(|(k, _)| k == "login_hint")
        || !parsed.query_pairs().any(|(k, _)| k == "client_id")
    {
        return url.to_owned();
    }
    parsed.query_pairs_mut().append_pair("login_hint", hint);
    parsed.to_string()
}

/// Walks from the authorization request to the redirect back to its redirect URI.
pub(crate) async fn walk(
    http: &Http,
    authorization_endpoint: &str,
    request: &AuthRequest,
    consent: Consent,
    evidence: &mut Vec<Exchange>,
) -> Walk {
    let first = match request.url(authorization_endpoint) {
        Ok(url) => url,
        Err(e) => return stopped(None, e),
    };
    let mut saw_consent = false;
    let mut current = first.clone();
    let mut answer = match http.get(&current, evidence).await {
        Ok(a) => a,
        Err(e) => return stopped(None, e),
    };
    for _ in 0..MAX_HOPS {
        if answer.is_redirect() {
            let Some(location) = answer.header("location") else {
                return stopped(Some(answer.status), "a redirect without Location");
            };
            let next = match resolve(&current, location) {
                Ok(n) => n,
                Err(e) => return stopped(Some(answer.status), e),
            };
            if next.starts_with(request.redirect_uri()) {
                let params = url::Url::parse(&next)
                    .map(|u| u.query_pairs().into_owned().collect())
                    .unwrap_or_default();
                return Walk {
                    end: End::Back { params },
                    saw_consent,
                };
            }
            current = with_login_hint(&next, request.login_hint(), authorization_endpoint);
            answer = match http.get(&current, evidence).await {
                Ok(a) => a,
                Err(e) => return stopped(None, e),
            };
            continue;
        }
        if answer.status == 200
            && let Some(form) = html_form::consent_form(&answer.body)
        {
            saw_consent = true;
            let decision = match consent {
                Consent::Deny => form.decisions.iter().find(|d| *d == "deny"),
                Consent::Approve | Consent::ApproveRemembering => {
                    form.decisions.iter().find(|d| *d != "deny")
                }
            };
            let Some(decision) = decision.cloned() else {
                return stopped(
                    Some(200),
                    "the consent form has no matching decision button",
                );
            };
            let action = match resolve(&current, &form.action) {
                Ok(a) => a,
                Err(e) => return stopped(Some(200), e),
            };
            let mut fields = form.hidden.clone();
            if consent == Consent::ApproveRemembering {
                fields.extend(
                    form.checkboxes
                        .iter()
                        .filter(|(name, _)| name.contains("remember"))
                        .cloned(),
                );
            }
            fields.push(("decision".into(), decision));
            let request_builder = http.client().post(&action).form(&fields);
            current = action;
            answer = match http.send(request_builder, evidence).await {
                Ok(a) => a,
                Err(e) => return stopped(None, e),
            };
            continue;
        }
        let mut end = stopped(
            Some(answer.status),
            "a page that is neither a redirect nor a consent form",
        );
        end.saw_consent = saw_consent;
        return end;
    }
    stopped(None, format!("more than {MAX_HOPS} redirects"))
}

/// Where a request led a browser that submits no form: what an authorization request with
/// `prompt=none` must come to without a person, or how far one that must not be answered from
/// a session gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hop {
    /// Redirected back to the redirect URI with these parameters.
    Back { params: HashMap<String, String> },
    /// Redirected away from the origin it started at (to a provider), to this URL.
    Left { to: String },
    /// A page that is not a redirect: its status, and whether it is a consent form.
    Page { status: u16, consent: bool },
    /// No answer, a redirect without a usable Location, or too many redirects.
    Stopped { reason: String },
}

impl Hop {
    pub fn describe(&self) -> String {
        match self {
            Self::Back { params } => match params.get("error") {
                Some(e) => format!("redirected back with error={e}"),
                None if params.contains_key("code") => "redirected back with a code".into(),
                None => "redirected back without code or error".into(),
            },
            Self::Left { to } => format!(
                "redirected away to {}",
                url::Url::parse(to)
                    .map(|u| u.origin().ascii_serialization())
                    .unwrap_or_else(|_| to.clone())
            ),
            Self::Page {
                status,
                consent: true,
            } => format!("showed a consent page (HTTP {status})"),
            Self::Page { status, .. } => format!("showed a page (HTTP {status})"),
            Self::Stopped { reason } => format!("stopped: {reason}"),
        }
    }
}

/// Whether two URLs share scheme, host and port.
pub(crate) fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Follows redirects from `url` without ever submitting a form: to the redirect back to
/// `redirect_uri`, to the first page, or, with `home`, to the first redirect that leaves
/// `home`'s origin.
pub(crate) async fn follow(
    http: &Http,
    url: &str,
    redirect_uri: &str,
    home: Option<&str>,
    evidence: &mut Vec<Exchange>,
) -> Hop {
    let stop = |reason: String| Hop::Stopped { reason };
    let mut current = url.to_owned();
    for _ in 0..MAX_HOPS {
        let answer = match http.get(&current, evidence).await {
            Ok(a) => a,
            Err(e) => return stop(e),
        };
        if !answer.is_redirect() {
            let consent = answer.status == 200 && html_form::consent_form(&answer.body).is_some();
            return Hop::Page {
                status: answer.status,
                consent,
            };
        }
        let Some(location) = answer.header("location") else {
            return stop(format!(
                "an HTTP {} redirect without Location",
                answer.status
            ));
        };
        let next = match resolve(&current, location) {
            Ok(n) => n,
            Err(e) => return stop(e),
        };
        if next.starts_with(redirect_uri) {
            let params = url::Url::parse(&next)
                .map(|u| u.query_pairs().into_owned().collect())
                .unwrap_or_default();
            return Hop::Back { params };
        }
        if home.is_some_and(|home| !same_origin(home, &next)) {
            return Hop::Left { to: next };
        }
        current = next;
    }
    stop(format!("more than {MAX_HOPS} redirects"))
}

/// How the suite authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    Basic,
    Post,
}

impl ClientAuth {
    /// `client_secret_basic` unless the provider advertises only `client_secret_post`.
    pub fn from_metadata(methods: Option<&serde_json::Value>) -> Self {
        let listed = |m: &str| {
            methods
                .and_then(serde_json::Value::as_array)
                .is_some_and(|a| a.iter().any(|v| v == m))
        };
        if methods.is_some() && !listed("client_secret_basic") && listed("client_secret_post") {
            Self::Post
        } else {
            Self::Basic
        }
    }
}

/// What a code redemption sends besides the client's credentials.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Redemption<'a> {
    pub code: &'a str,
    pub verifier: Option<&'a str>,
    pub redirect_uri: &'a str,
}

/// Redeems a code at the token endpoint.
pub(crate) async fn redeem(
    http: &Http,
    token_endpoint: &str,
    client: &TestClient,
    auth: ClientAuth,
    redemption: Redemption<'_>,
    evidence: &mut Vec<Exchange>,
) -> Result<Answer, String> {
    let Redemption {
        code,
        verifier,
        redirect_uri,
    } = redemption;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let mut request = http.client().post(token_endpoint);
    match auth {
        ClientAuth::Basic => {
            // RFC 6749 2.3.1: form-urlencoded before base64.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            request = request.basic_auth(enc(&client.client_id), Some(enc(&client.client_secret)));
        }
        ClientAuth::Post => {
            form.push(("client_id", client.client_id.as_str()));
            form.push(("client_secret", client.client_secret.as_str()));
        }
    }
    http.send(request.form(&form), evidence).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_hint_is_added_to_upstream_requests_only() {
        let first = "https://broker.example/authorize";
        let up = "https://idp.example/authorize?client_id=b&state=s";
        assert!(with_login_hint(up, Some("amelie"), first).contains("login_hint=amelie"));
        let own = "https://broker.example/authorize?client_id=x";
        assert_eq!(with_login_hint(own, Some("amelie"), first), own);
        let hinted = "https://idp.example/authorize?client_id=b&login_hint=x";
        assert_eq!(with_login_hint(hinted, Some("amelie"), first), hinted);
    }

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
