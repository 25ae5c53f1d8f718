//! The broker's sessions and logout, probed from outside as the OpenID Foundation's suite
//! probes an OpenID Provider: `prompt=none` without a session and combined with another
//! value, a session reused in the browser it started in (`prompt=none` answered with a code
//! whose ID token has the session's `sid` and `auth_time`), `max_age` and `prompt=login`
//! that a session must not answer, a code redeemed twice, and logout (its metadata, and a
//! hint signed by someone else).
//!
//! A browser is one HTTP client with its cookie jar, kept for a whole scenario: the session
//! checks run in the browser of their first login; the others each in a fresh one.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{BrokerTarget, no_token};
use crate::TestClient;
use crate::catalogue::*;
use crate::check::{CheckDef, Outcome, Report, Text};
use crate::evidence::Exchange;
use crate::flow::{self, Ask, AuthRequest, ClientAuth, Consent, Hop, Redemption};
use crate::http::{Answer, Http};
use crate::jose;
use crate::provider::{LiveContext, Tokens, id_token_of, is_loopback};

/// How long after the first sign-in the `max_age=1` requests are sent: the session's sign-in
/// is then at least two whole seconds old, older than `max_age` whatever the rounding.
const MAX_AGE_WAIT: Duration = Duration::from_millis(2200);

/// The scope of the session scenario's logins: `openid` alone, so that the consent it asks the
/// broker to remember (which covers exactly one set of attributes) leaves the consent pages of
/// the other checks (asked with the run's scope), and of later runs, in place.
const SESSION_SCOPE: &str = "openid";

/// The session checks that need a session-capable broker and a first login.
const SESSION_CHECKS: [&CheckDef; 3] = [
    &BR_SESSION_REUSE,
    &BR_SESSION_MAX_AGE,
    &BR_SESSION_PROMPT_LOGIN,
];

fn skip_all(report: &mut Report, defs: &[&CheckDef], outcome: &Outcome) {
    for def in defs {
        report.record(def, outcome.clone(), Vec::new());
    }
}

/// What every probe of a run shares.
struct Probe<'a> {
    target: &'a BrokerTarget,
    ctx: &'a LiveContext,
    client: &'a TestClient,
}

impl Probe<'_> {
    fn issuer(&self) -> &str {
        self.ctx.metadata.issuer()
    }

    fn authorization_endpoint(&self) -> &str {
        self.ctx
            .metadata
            .str("authorization_endpoint")
            .unwrap_or_default()
    }

    /// A fresh request as a service asks the broker, with the run's extra parameters
    /// (`idp_hint`) and these.
    fn request(&self, scope: &str, extra: &[(&str, &str)]) -> AuthRequest {
        let ask = Ask {
            scopes: scope.split_whitespace().map(str::to_owned).collect(),
            login_hint: self.target.provider.login_hint.clone(),
            ..Ask::default()
        };
        let mut request = AuthRequest::new(self.client, &ask);
        request
            .extra
            .extend(self.target.provider.extra_params.iter().cloned());
        request.extra.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        request
    }

    /// Follows `request` without submitting any form; with `leave`, stops at the first
    /// redirect away from the broker's origin.
    async fn follow(
        &self,
        http: &Http,
        request: &AuthRequest,
        leave: bool,
        evidence: &mut Vec<Exchange>,
    ) -> Hop {
        let url = match request.url(self.authorization_endpoint()) {
            Ok(url) => url,
            Err(reason) => return Hop::Stopped { reason },
        };
        let home = leave.then(|| self.authorization_endpoint());
        flow::follow(http, &url, request.redirect_uri(), home, evidence).await
    }

    fn client_auth(&self) -> ClientAuth {
        ClientAuth::from_metadata(
            self.ctx
                .metadata
                .doc
                .get("token_endpoint_auth_methods_supported"),
        )
    }

    async fn redeem(
        &self,
        http: &Http,
        code: &str,
        request: &AuthRequest,
        evidence: &mut Vec<Exchange>,
    ) -> Result<Tokens, String> {
        id_token_of(
            http,
            &self.ctx.metadata,
            self.client,
            self.client_auth(),
            code,
            request.verifier(),
            evidence,
        )
        .await
    }

    /// A whole login in `http` (a person at the provider and the consent page): its request
    /// and tokens.
    async fn login(
        &self,
        http: &Http,
        scope: &str,
        consent: Consent,
        evidence: &mut Vec<Exchange>,
    ) -> Result<(AuthRequest, Tokens), String> {
        let request = self.request(scope, &[]);
        let walk = flow::walk(
            http,
            self.authorization_endpoint(),
            &request,
            consent,
            evidence,
        )
        .await;
        let code = walk.code().ok_or_else(|| walk.describe())?.to_owned();
        let tokens = self.redeem(http, &code, &request, evidence).await?;
        Ok((request, tokens))
    }
}

/// Runs the session and logout checks, in catalogue order.
pub(super) async fn run(report: &mut Report, target: &BrokerTarget, ctx: Option<&LiveContext>) {
    let all = [
        &BR_SESSION_PROMPT_NONE_NO_SESSION,
        &BR_SESSION_PROMPT_NONE_COMBINED,
        &BR_SESSION_REUSE,
        &BR_SESSION_MAX_AGE,
        &BR_SESSION_PROMPT_LOGIN,
        &BR_LOGOUT_DISCOVERY,
        &BR_LOGOUT_FOREIGN_HINT,
        &BR_LOGOUT_SESSION_KEPT,
        &BR_CODE_REPLAY_REVOKES,
    ];
    let Some(ctx) = ctx else {
        let skip = Outcome::skipped(
            "the discovery document is not available",
            "le document de découverte n'est pas disponible",
        );
        skip_all(report, &all, &skip);
        return;
    };
    let (Some(client), Some(_)) = (
        target.provider.client.as_ref(),
        ctx.metadata.str("authorization_endpoint"),
    ) else {
        let skip = Outcome::skipped(
            "no test client given, or no authorization endpoint published",
            "aucun client de test fourni, ou aucun point d'autorisation publié",
        );
        skip_all(report, &all[..5], &skip);
        logout_discovery(report, ctx, target);
        skip_all(report, &all[6..], &skip);
        return;
    };
    let probe = Probe {
        target,
        ctx,
        client,
    };
    prompt_none_without_session(report, &probe).await;
    prompt_none_combined(report, &probe).await;
    let session = session_scenario(report, &probe).await;
    logout_discovery(report, ctx, target);
    foreign_hint(report, &probe, session.as_ref()).await;
    code_replay_revokes(report, &probe).await;
}

fn fresh_browser(probe: &Probe<'_>) -> Result<Http, Outcome> {
    Http::new(probe.target.provider.ca_bundle.as_ref()).map_err(|e| {
        Outcome::skipped(
            format!("no HTTP client: {e}"),
            format!("aucun client HTTP : {e}"),
        )
    })
}

fn error_of(hop: &Hop) -> Option<&str> {
    match hop {
        Hop::Back { params } => params.get("error").map(String::as_str),
        _ => None,
    }
}

fn code_of(hop: &Hop) -> Option<&str> {
    match hop {
        Hop::Back { params } => params.get("code").map(String::as_str),
        _ => None,
    }
}

/// The problems of an error response's `state` and `iss` (RFC 6749 4.1.2.1, RFC 9207 2).
fn state_and_iss(hop: &Hop, state: &str, issuer: &str) -> Vec<Text> {
    let Hop::Back { params } = hop else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    if params.get("state").map(String::as_str) != Some(state) {
        problems.push(Text::new(
            "the answer's state is not the request's",
            "le state de la réponse n'est pas celui de la demande",
        ));
    }
    match params.get("iss") {
        Some(iss) if iss == issuer => {}
        Some(iss) => problems.push(Text::new(
            format!("iss is {iss:?}, the issuer is {issuer:?}"),
            format!("iss vaut {iss:?}, l'émetteur est {issuer:?}"),
        )),
        None => problems.push(Text::new(
            "the answer has no iss",
            "la réponse n'a pas d'iss",
        )),
    }
    problems
}

fn unexpected(what_en: &str, what_fr: &str, hop: &Hop) -> Text {
    let how = hop.describe();
    Text::new(
        format!("{what_en}: the request {how}"),
        format!("{what_fr} : la demande a abouti ainsi : {how}"),
    )
}

/// Check 1: no session, `prompt=none`: an error to the service, at once.
fn judge_no_session(hop: &Hop, state: &str, issuer: &str) -> Outcome {
    match error_of(hop) {
        Some("login_required" | "interaction_required") => {
            Outcome::from_problems(state_and_iss(hop, state, issuer))
        }
        _ if code_of(hop).is_some() => Outcome::fail(
            "prompt=none in a browser without a session was answered with a code",
            "prompt=none dans un navigateur sans session a reçu un code",
        ),
        _ => Outcome::Fail(unexpected(
            "prompt=none without a session must come back with login_required",
            "prompt=none sans session doit revenir avec login_required",
            hop,
        )),
    }
}

async fn prompt_none_without_session(report: &mut Report, probe: &Probe<'_>) {
    let http = match fresh_browser(probe) {
        Ok(h) => h,
        Err(skip) => return report.record(&BR_SESSION_PROMPT_NONE_NO_SESSION, skip, Vec::new()),
    };
    let mut evidence = Vec::new();
    let request = probe.request(&probe.target.provider.scope, &[("prompt", "none")]);
    let hop = probe.follow(&http, &request, false, &mut evidence).await;
    let outcome = judge_no_session(&hop, request.state(), probe.issuer());
    report.record(&BR_SESSION_PROMPT_NONE_NO_SESSION, outcome, evidence);
}

/// Check 2: `prompt=none login`: `invalid_request` to the service.
fn judge_combined(hop: &Hop, state: &str, issuer: &str) -> Outcome {
    match error_of(hop) {
        Some("invalid_request") => Outcome::from_problems(state_and_iss(hop, state, issuer)),
        _ => Outcome::Fail(unexpected(
            "prompt=\"none login\" must come back with invalid_request",
            "prompt=\"none login\" doit revenir avec invalid_request",
            hop,
        )),
    }
}

async fn prompt_none_combined(report: &mut Report, probe: &Probe<'_>) {
    let http = match fresh_browser(probe) {
        Ok(h) => h,
        Err(skip) => return report.record(&BR_SESSION_PROMPT_NONE_COMBINED, skip, Vec::new()),
    };
    let mut evidence = Vec::new();
    let request = probe.request(&probe.target.provider.scope, &[("prompt", "none login")]);
    let hop = probe.follow(&http, &request, false, &mut evidence).await;
    let outcome = judge_combined(&hop, request.state(), probe.issuer());
    report.record(&BR_SESSION_PROMPT_NONE_COMBINED, outcome, evidence);
}

/// Whether the broker answered a `prompt=none` request from a session: a code, or a session
/// it recognised that still needs the person's consent.
fn answered_from_session(hop: &Hop) -> bool {
    code_of(hop).is_some()
        || matches!(
            error_of(hop),
            Some("consent_required" | "interaction_required")
        )
}

/// Check 3: `prompt=none` after a sign-in in the same browser. `second` is the redemption of
/// the code, when one came.
fn judge_reuse(
    first: &Map<String, Value>,
    hop: &Hop,
    second: Option<&Result<Map<String, Value>, String>>,
    state: &str,
    issuer: &str,
) -> Outcome {
    if error_of(hop) == Some("login_required") {
        return Outcome::fail(
            "prompt=none after a sign-in in the same browser got login_required: the session was not used (right only if the operator requires a fresh sign-in at the level asked: [sessions] fresh_sign_in_from)",
            "prompt=none après une connexion dans le même navigateur a reçu login_required : la session n'a pas servi (correct seulement si l'exploitant exige une nouvelle connexion au niveau demandé : [sessions] fresh_sign_in_from)",
        );
    }
    if !answered_from_session(hop) {
        return Outcome::Fail(unexpected(
            "prompt=none after a sign-in must be answered from the session without a page",
            "prompt=none après une connexion doit être servi par la session sans page",
            hop,
        ));
    }
    let mut problems = state_and_iss(hop, state, issuer);
    if code_of(hop).is_none() {
        return Outcome::from_problems(problems);
    }
    let claims = match second {
        None => {
            return Outcome::fail("the code was not redeemed", "le code n'a pas été échangé");
        }
        Some(Err(e)) => {
            return Outcome::fail(
                format!("the session's code was not redeemed: {e}"),
                format!("le code de la session n'a pas été échangé : {e}"),
            );
        }
        Some(Ok(claims)) => claims,
    };
    match (first.get("sid"), claims.get("sid")) {
        (None, _) => problems.push(Text::new(
            "the first sign-in's ID token has no sid",
            "le jeton d'identité de la première connexion n'a pas de sid",
        )),
        (Some(a), Some(b)) if a == b => {}
        (Some(a), b) => problems.push(Text::new(
            format!("the session's ID token has sid {b:?}, the first's {a}"),
            format!("le jeton d'identité de la session a le sid {b:?}, le premier {a}"),
        )),
    }
    let (a, b) = (first.get("auth_time"), claims.get("auth_time"));
    if a != b {
        problems.push(Text::new(
            format!("the session's ID token has auth_time {b:?}, the first's {a:?}: the sign-in is the same"),
            format!("le jeton d'identité de la session a l'auth_time {b:?}, le premier {a:?} : la connexion est la même"),
        ));
    }
    Outcome::from_problems(problems)
}

/// Where a request that must not be answered from the session went: to a provider (or the
/// picker that leads to one) is right; a code, or a consent page with no sign-in before it,
/// came from the session.
fn not_from_session(hop: &Hop, what_en: &str, what_fr: &str) -> Option<Text> {
    match hop {
        Hop::Left { .. } => None,
        Hop::Page {
            status: 200,
            consent: false,
        } => None,
        Hop::Page { consent: true, .. } => Some(Text::new(
            format!(
                "{what_en}: a consent page with no sign-in before it: answered from the session"
            ),
            format!(
                "{what_fr} : une page de consentement sans connexion préalable : servi par la session"
            ),
        )),
        _ if code_of(hop).is_some() => Some(Text::new(
            format!("{what_en}: a code came back from the session"),
            format!("{what_fr} : un code est revenu de la session"),
        )),
        _ => Some(unexpected(
            &format!("{what_en}: the person must be sent to a provider"),
            &format!("{what_fr} : la personne doit être envoyée chez un fournisseur"),
            hop,
        )),
    }
}

/// Check 4: a session older than `max_age`, asked with `prompt=none` and without.
fn judge_max_age(with_none: &Hop, without: &Hop) -> Outcome {
    let mut problems = Vec::new();
    if error_of(with_none) != Some("login_required") {
        problems.push(unexpected(
            "prompt=none with max_age=1 after a sign-in over a second old must come back with login_required",
            "prompt=none avec max_age=1 après une connexion vieille de plus d'une seconde doit revenir avec login_required",
            with_none,
        ));
    }
    problems.extend(not_from_session(
        without,
        "max_age=1 after a sign-in over a second old",
        "max_age=1 après une connexion vieille de plus d'une seconde",
    ));
    Outcome::from_problems(problems)
}

/// Check 5: `prompt=login` in a browser with a session.
fn judge_prompt_login(hop: &Hop) -> Outcome {
    Outcome::from_problems(
        not_from_session(hop, "prompt=login", "prompt=login")
            .into_iter()
            .collect(),
    )
}

/// What the session scenario leaves for the logout checks: its browser and the session's sid.
struct Session {
    http: Http,
    sid: Option<String>,
}

/// Checks 3 to 5 in one browser: a whole login (consent remembered), then `prompt=none`,
/// `max_age=1` and `prompt=login`. Returns the browser when a session was seen.
async fn session_scenario(report: &mut Report, probe: &Probe<'_>) -> Option<Session> {
    if probe.ctx.claims.is_none() {
        skip_all(report, &SESSION_CHECKS, &no_token());
        return None;
    }
    let doc = &probe.ctx.metadata.doc;
    if !doc.contains_key("end_session_endpoint")
        && doc.get("backchannel_logout_session_supported") != Some(&Value::Bool(true))
    {
        let skip = Outcome::skipped(
            "the broker advertises no sessions (neither end_session_endpoint nor backchannel_logout_session_supported in its discovery document)",
            "le courtier n'annonce pas de sessions (ni end_session_endpoint ni backchannel_logout_session_supported dans son document de découverte)",
        );
        skip_all(report, &SESSION_CHECKS, &skip);
        return None;
    }
    let http = match fresh_browser(probe) {
        Ok(h) => h,
        Err(skip) => {
            skip_all(report, &SESSION_CHECKS, &skip);
            return None;
        }
    };
    let scope = SESSION_SCOPE;

    // The sign-in that starts the session.
    let mut evidence = Vec::new();
    let first = match probe
        .login(&http, scope, Consent::ApproveRemembering, &mut evidence)
        .await
    {
        Ok((_, tokens)) => tokens.id_token.claims,
        Err(e) => {
            report.record(
                &BR_SESSION_REUSE,
                Outcome::fail(
                    format!("the sign-in that starts the session failed: {e}"),
                    format!("la connexion qui ouvre la session a échoué : {e}"),
                ),
                evidence,
            );
            let skip = Outcome::skipped(
                "no session: the sign-in that starts it failed (BR-SESSION-REUSE)",
                "aucune session : la connexion qui l'ouvre a échoué (BR-SESSION-REUSE)",
            );
            skip_all(report, &SESSION_CHECKS[1..], &skip);
            return None;
        }
    };
    let signed_in = Instant::now();

    // prompt=none in the same browser.
    let request = probe.request(scope, &[("prompt", "none")]);
    let hop = probe.follow(&http, &request, false, &mut evidence).await;
    let second = match code_of(&hop) {
        Some(code) => Some(
            probe
                .redeem(&http, code, &request, &mut evidence)
                .await
                .map(|t| t.id_token.claims),
        ),
        None => None,
    };
    let outcome = judge_reuse(
        &first,
        &hop,
        second.as_ref(),
        request.state(),
        probe.issuer(),
    );
    report.record(&BR_SESSION_REUSE, outcome, evidence);
    if !answered_from_session(&hop) {
        let skip = Outcome::skipped(
            "the session was not used for prompt=none (BR-SESSION-REUSE): that it is not used here would prove nothing",
            "la session n'a pas servi pour prompt=none (BR-SESSION-REUSE) : qu'elle ne serve pas ici ne prouverait rien",
        );
        skip_all(report, &SESSION_CHECKS[1..], &skip);
        return None;
    }

    // max_age=1, once the sign-in is older than that.
    if let Some(left) = MAX_AGE_WAIT.checked_sub(signed_in.elapsed()) {
        tokio::time::sleep(left).await;
    }
    let mut evidence = Vec::new();
    let request = probe.request(scope, &[("prompt", "none"), ("max_age", "1")]);
    let with_none = probe.follow(&http, &request, false, &mut evidence).await;
    let request = probe.request(scope, &[("max_age", "1")]);
    let without = probe.follow(&http, &request, true, &mut evidence).await;
    report.record(
        &BR_SESSION_MAX_AGE,
        judge_max_age(&with_none, &without),
        evidence,
    );

    // prompt=login.
    let mut evidence = Vec::new();
    let request = probe.request(scope, &[("prompt", "login")]);
    let hop = probe.follow(&http, &request, true, &mut evidence).await;
    report.record(&BR_SESSION_PROMPT_LOGIN, judge_prompt_login(&hop), evidence);

    let sid = first.get("sid").and_then(Value::as_str).map(str::to_owned);
    Some(Session { http, sid })
}

/// Check 7a: the logout metadata. The end-session endpoint's scheme is judged as the other
/// endpoints' are (OP-DISC-ENDPOINTS-HTTPS): https, or http on a loopback host for a test
/// deployment.
fn judge_logout_discovery(doc: &Map<String, Value>, allow_loopback_http: bool) -> Outcome {
    let mut problems = Vec::new();
    match doc.get("end_session_endpoint").and_then(Value::as_str) {
        None => problems.push(Text::new(
            "no end_session_endpoint",
            "aucun end_session_endpoint",
        )),
        Some(e) => match url::Url::parse(e) {
            Ok(u) if u.scheme() == "https" => {}
            Ok(u) if u.scheme() == "http" && is_loopback(&u) && allow_loopback_http => {}
            _ => problems.push(Text::new(
                format!("end_session_endpoint {e:?} is not an https URL"),
                format!("end_session_endpoint {e:?} n'est pas une URL https"),
            )),
        },
    }
    for name in [
        "backchannel_logout_supported",
        "backchannel_logout_session_supported",
    ] {
        if doc.get(name) != Some(&Value::Bool(true)) {
            problems.push(Text::new(
                format!("{name} is not true"),
                format!("{name} ne vaut pas true"),
            ));
        }
    }
    Outcome::from_problems(problems)
}

fn logout_discovery(report: &mut Report, ctx: &LiveContext, target: &BrokerTarget) {
    let outcome = judge_logout_discovery(&ctx.metadata.doc, target.provider.allow_loopback_http);
    report.record(&BR_LOGOUT_DISCOVERY, outcome, Vec::new());
}

/// Check 7b: the end-session endpoint's answer to a hint the suite signed.
fn judge_foreign_hint(answer: &Result<Answer, String>) -> Outcome {
    match answer {
        Ok(a) if (400..500).contains(&a.status) => Outcome::Pass,
        Ok(a) if a.is_redirect() => Outcome::fail(
            format!(
                "the end-session endpoint redirected (HTTP {}, to {:?}) on a hint signed by someone else",
                a.status,
                a.header("location").unwrap_or_default()
            ),
            format!(
                "le point de fin de session a redirigé (HTTP {}, vers {:?}) sur un indice signé par un tiers",
                a.status,
                a.header("location").unwrap_or_default()
            ),
        ),
        Ok(a) => Outcome::fail(
            format!(
                "the end-session endpoint answered HTTP {} to a hint signed by someone else, not a refusal (4xx)",
                a.status
            ),
            format!(
                "le point de fin de session a répondu HTTP {} à un indice signé par un tiers, pas un refus (4xx)",
                a.status
            ),
        ),
        Err(e) => Outcome::fail(
            format!("the end-session endpoint did not answer: {e}"),
            format!("le point de fin de session n'a pas répondu : {e}"),
        ),
    }
}

/// Check 7c: `prompt=none` in the session's browser after the refused hint.
fn judge_session_kept(after: &Hop) -> Outcome {
    if answered_from_session(after) {
        return Outcome::Pass;
    }
    let mut text = unexpected(
        "after the refused logout request, prompt=none in the session's browser must still be answered from the session",
        "après la demande de déconnexion refusée, prompt=none dans le navigateur de la session doit encore être servi par la session",
        after,
    );
    text.en.push_str(
        " (the refusal ended the session, or cleared its cookie: a link on any site could sign the person out)",
    );
    text.fr.push_str(
        " (le refus a mis fin à la session, ou effacé son témoin : un lien sur n'importe quel site pourrait déconnecter la personne)",
    );
    Outcome::Fail(text)
}

async fn foreign_hint(report: &mut Report, probe: &Probe<'_>, session: Option<&Session>) {
    let Some(endpoint) = probe.ctx.metadata.str("end_session_endpoint") else {
        let skip = Outcome::skipped(
            "no end_session_endpoint is published (BR-LOGOUT-DISCOVERY)",
            "aucun end_session_endpoint n'est publié (BR-LOGOUT-DISCOVERY)",
        );
        return skip_all(
            report,
            &[&BR_LOGOUT_FOREIGN_HINT, &BR_LOGOUT_SESSION_KEPT],
            &skip,
        );
    };
    let fresh;
    let http = match session {
        Some(s) => &s.http,
        None => match fresh_browser(probe) {
            Ok(h) => {
                fresh = h;
                &fresh
            }
            Err(skip) => {
                return skip_all(
                    report,
                    &[&BR_LOGOUT_FOREIGN_HINT, &BR_LOGOUT_SESSION_KEPT],
                    &skip,
                );
            }
        },
    };
    // Everything a hint of the broker's would say, the session's sid among it, but signed
    // with the suite's own key.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sid = session
        .and_then(|s| s.sid.clone())
        .unwrap_or_else(flow::random_token);
    let mut claims = Map::new();
    claims.insert("iss".into(), probe.issuer().into());
    claims.insert("aud".into(), probe.client.client_id.clone().into());
    claims.insert("sub".into(), "pctf-conformance-forged".into());
    claims.insert("sid".into(), sid.into());
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), (now + 300).into());
    let hint = match jose::sign_with_own_key(&claims) {
        Ok(h) => h,
        Err(e) => {
            let skip = Outcome::skipped(e.clone(), e);
            return skip_all(
                report,
                &[&BR_LOGOUT_FOREIGN_HINT, &BR_LOGOUT_SESSION_KEPT],
                &skip,
            );
        }
    };
    let mut evidence = Vec::new();
    let request = http.client().get(endpoint).query(&[
        ("id_token_hint", hint.as_str()),
        ("client_id", probe.client.client_id.as_str()),
    ]);
    let answer = http.send(request, &mut evidence).await;
    report.record(
        &BR_LOGOUT_FOREIGN_HINT,
        judge_foreign_hint(&answer),
        evidence.clone(),
    );
    let Some(session) = session else {
        return report.record(
            &BR_LOGOUT_SESSION_KEPT,
            Outcome::skipped(
                "no session to keep: the session checks saw none (BR-SESSION-REUSE)",
                "aucune session à garder : les vérifications de session n'en ont vu aucune (BR-SESSION-REUSE)",
            ),
            Vec::new(),
        );
    };
    let request = probe.request(SESSION_SCOPE, &[("prompt", "none")]);
    let after = probe
        .follow(&session.http, &request, false, &mut evidence)
        .await;
    report.record(
        &BR_LOGOUT_SESSION_KEPT,
        judge_session_kept(&after),
        evidence,
    );
}

/// What the code replay saw: userinfo's status before the replay, the second redemption's
/// status and error, and userinfo's status after it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Replay {
    userinfo_before: Option<u16>,
    second_status: Option<u16>,
    second_error: Option<String>,
    userinfo_after: Option<u16>,
}

/// Check 6.
fn judge_replay(r: &Replay) -> Outcome {
    if r.userinfo_before != Some(200) {
        return Outcome::skipped(
            format!(
                "the access token did not work at userinfo before the replay ({:?}): nothing to see revoked (OP-USERINFO-SUB)",
                r.userinfo_before
            ),
            format!(
                "le jeton d'accès ne fonctionnait pas à userinfo avant la réutilisation ({:?}) : rien dont voir la révocation (OP-USERINFO-SUB)",
                r.userinfo_before
            ),
        );
    }
    let mut problems = Vec::new();
    match (r.second_status, r.second_error.as_deref()) {
        (Some(400), Some("invalid_grant")) => {}
        (Some(200), _) => problems.push(Text::new(
            "the code was redeemed a second time: tokens were issued again",
            "le code a été échangé une seconde fois : des jetons ont été délivrés de nouveau",
        )),
        (status, error) => problems.push(Text::new(
            format!("the second redemption answered HTTP {status:?} with error {error:?}, not 400 invalid_grant"),
            format!("le second échange a répondu HTTP {status:?} avec l'erreur {error:?}, pas 400 invalid_grant"),
        )),
    }
    match r.userinfo_after {
        Some(401) => {}
        Some(200) => problems.push(Text::new(
            "the access token of the first redemption still works at userinfo after the code was replayed",
            "le jeton d'accès du premier échange fonctionne encore à userinfo après la réutilisation du code",
        )),
        other => problems.push(Text::new(
            format!("userinfo answered {other:?} to the revoked access token, not HTTP 401"),
            format!("userinfo a répondu {other:?} au jeton d'accès révoqué, pas HTTP 401"),
        )),
    }
    Outcome::from_problems(problems)
}

async fn userinfo_status(
    http: &Http,
    endpoint: &str,
    access_token: &str,
    evidence: &mut Vec<Exchange>,
) -> Option<u16> {
    let request = http.client().get(endpoint).bearer_auth(access_token);
    http.send(request, evidence).await.ok().map(|a| a.status)
}

async fn code_replay_revokes(report: &mut Report, probe: &Probe<'_>) {
    if probe.ctx.claims.is_none() {
        return report.record(&BR_CODE_REPLAY_REVOKES, no_token(), Vec::new());
    }
    let Some(userinfo) = probe.ctx.metadata.str("userinfo_endpoint") else {
        return report.record(
            &BR_CODE_REPLAY_REVOKES,
            Outcome::skipped(
                "no userinfo_endpoint is published: an access token cannot be tried",
                "aucun userinfo_endpoint n'est publié : un jeton d'accès ne peut être essayé",
            ),
            Vec::new(),
        );
    };
    let http = match fresh_browser(probe) {
        Ok(h) => h,
        Err(skip) => return report.record(&BR_CODE_REPLAY_REVOKES, skip, Vec::new()),
    };
    let mut evidence = Vec::new();
    let request = probe.request(SESSION_SCOPE, &[]);
    let walk = flow::walk(
        &http,
        probe.authorization_endpoint(),
        &request,
        Consent::Approve,
        &mut evidence,
    )
    .await;
    let Some(code) = walk.code().map(str::to_owned) else {
        let how = walk.describe();
        return report.record(
            &BR_CODE_REPLAY_REVOKES,
            Outcome::fail(
                format!("no code to replay: the login {how}"),
                format!("aucun code à réutiliser : la connexion a abouti ainsi : {how}"),
            ),
            evidence,
        );
    };
    let tokens = match probe.redeem(&http, &code, &request, &mut evidence).await {
        Ok(t) => t,
        Err(e) => {
            return report.record(
                &BR_CODE_REPLAY_REVOKES,
                Outcome::fail(
                    format!("the code was not redeemed the first time: {e}"),
                    format!("le code n'a pas été échangé la première fois : {e}"),
                ),
                evidence,
            );
        }
    };
    let access_token = tokens.access_token().unwrap_or_default().to_owned();
    let mut replay = Replay {
        userinfo_before: userinfo_status(&http, userinfo, &access_token, &mut evidence).await,
        ..Replay::default()
    };
    let token_endpoint = probe.ctx.metadata.str("token_endpoint").unwrap_or_default();
    let redemption = Redemption {
        code: &code,
        verifier: request.verifier(),
        redirect_uri: request.redirect_uri(),
    };
    if let Ok(a) = flow::redeem(
        &http,
        token_endpoint,
        probe.client,
        probe.client_auth(),
        redemption,
        &mut evidence,
    )
    .await
    {
        replay.second_status = Some(a.status);
        replay.second_error = a
            .json()
            .and_then(|j| j.get("error").and_then(Value::as_str).map(str::to_owned));
    }
    replay.userinfo_after = userinfo_status(&http, userinfo, &access_token, &mut evidence).await;
    report.record(&BR_CODE_REPLAY_REVOKES, judge_replay(&replay), evidence);
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const ISSUER: &str = "https://broker.example";

    fn back(pairs: &[(&str, &str)]) -> Hop {
        Hop::Back {
            params: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        }
    }

    fn claims(pairs: serde_json::Value) -> Map<String, Value> {
        pairs.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn prompt_none_without_a_session_needs_an_error_with_state_and_iss() {
        let good = back(&[("error", "login_required"), ("state", "s"), ("iss", ISSUER)]);
        assert_eq!(judge_no_session(&good, "s", ISSUER), Outcome::Pass);
        let interaction = back(&[
            ("error", "interaction_required"),
            ("state", "s"),
            ("iss", ISSUER),
        ]);
        assert_eq!(judge_no_session(&interaction, "s", ISSUER), Outcome::Pass);
        for bad in [
            back(&[("code", "c"), ("state", "s"), ("iss", ISSUER)]),
            back(&[("error", "login_required"), ("state", "t"), ("iss", ISSUER)]),
            back(&[("error", "login_required"), ("state", "s")]),
            back(&[("error", "access_denied"), ("state", "s"), ("iss", ISSUER)]),
            Hop::Page {
                status: 200,
                consent: false,
            },
            Hop::Page {
                status: 400,
                consent: false,
            },
            Hop::Stopped { reason: "x".into() },
        ] {
            assert_eq!(
                judge_no_session(&bad, "s", ISSUER).name(),
                "fail",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn prompt_none_combined_needs_invalid_request_to_the_service() {
        let good = back(&[
            ("error", "invalid_request"),
            ("state", "s"),
            ("iss", ISSUER),
        ]);
        assert_eq!(judge_combined(&good, "s", ISSUER), Outcome::Pass);
        for bad in [
            back(&[("error", "login_required"), ("state", "s"), ("iss", ISSUER)]),
            back(&[("code", "c"), ("state", "s"), ("iss", ISSUER)]),
            Hop::Page {
                status: 400,
                consent: false,
            },
        ] {
            assert_eq!(judge_combined(&bad, "s", ISSUER).name(), "fail", "{bad:?}");
        }
    }

    #[test]
    fn reuse_needs_the_first_sign_ins_sid_and_auth_time() {
        let first = claims(serde_json::json!({"sid": "abc", "auth_time": 100}));
        let code = back(&[("code", "c"), ("state", "s"), ("iss", ISSUER)]);
        let same = Ok(claims(serde_json::json!({"sid": "abc", "auth_time": 100})));
        assert_eq!(
            judge_reuse(&first, &code, Some(&same), "s", ISSUER),
            Outcome::Pass
        );
        let other_sid = Ok(claims(serde_json::json!({"sid": "xyz", "auth_time": 100})));
        assert_eq!(
            judge_reuse(&first, &code, Some(&other_sid), "s", ISSUER).name(),
            "fail"
        );
        let new_time = Ok(claims(serde_json::json!({"sid": "abc", "auth_time": 105})));
        assert_eq!(
            judge_reuse(&first, &code, Some(&new_time), "s", ISSUER).name(),
            "fail"
        );
        let no_sid = claims(serde_json::json!({"auth_time": 100}));
        assert_eq!(
            judge_reuse(&no_sid, &code, Some(&same), "s", ISSUER).name(),
            "fail"
        );
        let unredeemed = Err("HTTP 400".to_owned());
        assert_eq!(
            judge_reuse(&first, &code, Some(&unredeemed), "s", ISSUER).name(),
            "fail"
        );

        let consent = back(&[
            ("error", "consent_required"),
            ("state", "s"),
            ("iss", ISSUER),
        ]);
        assert_eq!(
            judge_reuse(&first, &consent, None, "s", ISSUER),
            Outcome::Pass
        );
        assert!(answered_from_session(&consent));
        let login = back(&[("error", "login_required"), ("state", "s"), ("iss", ISSUER)]);
        assert_eq!(
            judge_reuse(&first, &login, None, "s", ISSUER).name(),
            "fail"
        );
        assert!(!answered_from_session(&login));
        let page = Hop::Page {
            status: 200,
            consent: true,
        };
        assert_eq!(judge_reuse(&first, &page, None, "s", ISSUER).name(), "fail");
    }

    #[test]
    fn a_session_too_old_or_a_prompt_login_goes_to_a_provider() {
        let required = back(&[("error", "login_required"), ("state", "s"), ("iss", ISSUER)]);
        let left = Hop::Left {
            to: "https://idp.example/authorize".into(),
        };
        let picker = Hop::Page {
            status: 200,
            consent: false,
        };
        let consent = Hop::Page {
            status: 200,
            consent: true,
        };
        let code = back(&[("code", "c"), ("state", "s"), ("iss", ISSUER)]);
        assert_eq!(judge_max_age(&required, &left), Outcome::Pass);
        assert_eq!(judge_max_age(&required, &picker), Outcome::Pass);
        assert_eq!(judge_max_age(&code, &left).name(), "fail");
        assert_eq!(judge_max_age(&required, &consent).name(), "fail");
        assert_eq!(judge_max_age(&required, &code).name(), "fail");
        assert_eq!(judge_prompt_login(&left), Outcome::Pass);
        assert_eq!(judge_prompt_login(&code).name(), "fail");
        assert_eq!(judge_prompt_login(&consent).name(), "fail");
        assert_eq!(judge_prompt_login(&required).name(), "fail");
        assert_eq!(
            judge_prompt_login(&Hop::Page {
                status: 500,
                consent: false
            })
            .name(),
            "fail"
        );
    }

    #[test]
    fn logout_metadata_needs_the_endpoint_and_both_flags() {
        let doc = |v: serde_json::Value| claims(v);
        let good = doc(serde_json::json!({
            "end_session_endpoint": "https://broker.example/logout",
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
        }));
        assert_eq!(judge_logout_discovery(&good, false), Outcome::Pass);
        let loopback = doc(serde_json::json!({
            "end_session_endpoint": "http://127.0.0.1:8400/logout",
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
        }));
        assert_eq!(judge_logout_discovery(&loopback, true), Outcome::Pass);
        assert_eq!(judge_logout_discovery(&loopback, false).name(), "fail");
        let no_session = doc(serde_json::json!({
            "end_session_endpoint": "https://broker.example/logout",
            "backchannel_logout_supported": true,
        }));
        assert_eq!(judge_logout_discovery(&no_session, false).name(), "fail");
        assert_eq!(judge_logout_discovery(&Map::new(), true).name(), "fail");
    }

    fn answer(status: u16, location: Option<&str>) -> Result<Answer, String> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(l) = location
            && let Ok(v) = l.parse()
        {
            headers.insert("location", v);
        }
        Ok(Answer {
            status,
            headers,
            body: String::new(),
        })
    }

    #[test]
    fn a_foreign_hint_is_refused_and_ends_nothing() {
        assert_eq!(judge_foreign_hint(&answer(400, None)), Outcome::Pass);
        let redirect = answer(303, Some("https://rp.example/signed-out"));
        assert_eq!(judge_foreign_hint(&redirect).name(), "fail");
        assert_eq!(judge_foreign_hint(&answer(200, None)).name(), "fail");
        assert_eq!(judge_foreign_hint(&Err("refused".into())).name(), "fail");

        let code = back(&[("code", "c"), ("state", "s"), ("iss", ISSUER)]);
        let login = back(&[("error", "login_required"), ("state", "s"), ("iss", ISSUER)]);
        assert_eq!(judge_session_kept(&code), Outcome::Pass);
        assert_eq!(judge_session_kept(&login).name(), "fail");
    }

    #[test]
    fn a_replayed_code_is_refused_and_revokes_its_token() {
        let good = Replay {
            userinfo_before: Some(200),
            second_status: Some(400),
            second_error: Some("invalid_grant".into()),
            userinfo_after: Some(401),
        };
        assert_eq!(judge_replay(&good), Outcome::Pass);
        let still_works = Replay {
            userinfo_after: Some(200),
            ..good.clone()
        };
        assert_eq!(judge_replay(&still_works).name(), "fail");
        let reissued = Replay {
            second_status: Some(200),
            second_error: None,
            ..good.clone()
        };
        assert_eq!(judge_replay(&reissued).name(), "fail");
        let other_error = Replay {
            second_error: Some("invalid_request".into()),
            ..good.clone()
        };
        assert_eq!(judge_replay(&other_error).name(), "fail");
        let never_worked = Replay {
            userinfo_before: Some(401),
            ..good
        };
        assert_eq!(judge_replay(&never_worked).name(), "skipped");
    }
}
