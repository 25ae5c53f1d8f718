//! Live checks: a full code + PKCE flow asked as the broker asks, what came back (the token
//! response, the ID token, userinfo), and what the provider must refuse.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::ask::{Plan, plan};
use super::{Asking, Metadata, ProviderTarget, id_token, refusals, tokens};
use crate::TestClient;
use crate::catalogue::*;
use crate::check::{CheckDef, Outcome, Report, Text};
use crate::evidence::Exchange;
use crate::flow::{self, AuthRequest, ClientAuth, Consent, End, Redemption, Walk};
use crate::http::{Answer, Http};
use crate::jose;

/// Every live check, in report order.
const LIVE_CHECKS: [&CheckDef; 24] = [
    &OP_FLOW_CODE_PKCE,
    &OP_FLOW_ISS_RESPONSE,
    &OP_TOKEN_JSON,
    &OP_TOKEN_NO_STORE,
    &OP_IDT_SIGNATURE,
    &OP_IDT_ISS,
    &OP_IDT_SUB,
    &OP_IDT_AUD,
    &OP_IDT_EXP,
    &OP_IDT_NONCE,
    &OP_IDT_ACR,
    &OP_IDT_AT_HASH,
    &OP_USERINFO_SUB,
    &OP_FLOW_MAX_AGE,
    &OP_IDT_SUB_STABLE,
    &OP_NEG_REDIRECT_URI,
    &OP_NEG_UNKNOWN_CLIENT,
    &OP_NEG_CODE_REPLAY,
    &OP_NEG_PKCE_VERIFIER,
    &OP_NEG_PKCE_REQUIRED,
    &OP_FLOW_ISS_ERROR,
    &OP_NEG_CLIENT_AUTH,
    &OP_NEG_REDEEM_REDIRECT_URI,
    &OP_TOKEN_ERROR,
];

/// What the broker profile builds on after the provider checks.
#[derive(Debug, Clone)]
pub(crate) struct LiveContext {
    pub metadata: Metadata,
    /// The claims of the main flow's ID token, if one came.
    pub claims: Option<Map<String, Value>>,
}

/// A successful code redemption: the answer as it came, its JSON, and the ID token.
#[derive(Debug, Clone)]
pub(crate) struct Tokens {
    pub answer: Answer,
    pub body: Map<String, Value>,
    pub id_token: jose::UnverifiedJwt,
}

impl Tokens {
    pub fn access_token(&self) -> Option<&str> {
        self.body.get("access_token").and_then(Value::as_str)
    }
}

/// Everything a live check may need from the run.
pub(super) struct Live<'a> {
    pub http: &'a Http,
    pub metadata: &'a Metadata,
    pub target: &'a ProviderTarget,
    pub client: &'a TestClient,
    pub plan: &'a Plan,
}

impl Live<'_> {
    /// A fresh request of the run.
    pub fn request(&self) -> AuthRequest {
        AuthRequest::new(self.client, &self.plan.ask)
    }

    /// A request walked to the redirect back by a fresh browser: no session of earlier
    /// logins helps or hinders it.
    pub async fn walk(
        &self,
        request: &AuthRequest,
        evidence: &mut Vec<Exchange>,
    ) -> Result<Walk, String> {
        let http = Http::new(self.target.ca_bundle.as_ref()).map_err(|e| e.to_string())?;
        Ok(main_flow_walk(
            &http,
            self.metadata,
            self.target,
            request,
            Consent::Approve,
            evidence,
        )
        .await)
    }

    /// How the client authenticates at the token endpoint: as the broker does,
    /// `client_secret_basic` (its one method, which RFC 6749 2.3.1 makes every provider
    /// support); as a service, what the broker advertises.
    pub fn client_auth(&self) -> ClientAuth {
        match self.target.asking {
            Asking::AsTheBroker => ClientAuth::Basic,
            Asking::AsAService => ClientAuth::from_metadata(
                self.metadata
                    .doc
                    .get("token_endpoint_auth_methods_supported"),
            ),
        }
    }

    /// Redeems a code as the client, with these particulars.
    pub async fn redeem(
        &self,
        client: &TestClient,
        redemption: Redemption<'_>,
        evidence: &mut Vec<Exchange>,
    ) -> Result<Answer, String> {
        let token_endpoint = self.metadata.str("token_endpoint").unwrap_or_default();
        let auth = self.client_auth();
        flow::redeem(
            self.http,
            token_endpoint,
            client,
            auth,
            redemption,
            evidence,
        )
        .await
    }
}

pub(super) fn skip(report: &mut Report, defs: &[&CheckDef], reason: &Text) {
    for def in defs {
        report.record(def, Outcome::Skipped(reason.clone()), Vec::new());
    }
}

/// Starts an authorization request and walks it to the redirect back.
pub(crate) async fn main_flow_walk(
    http: &Http,
    metadata: &Metadata,
    target: &ProviderTarget,
    request: &AuthRequest,
    consent: Consent,
    evidence: &mut Vec<Exchange>,
) -> Walk {
    let endpoint = metadata.str("authorization_endpoint").unwrap_or_default();
    let mut request = request.clone();
    request.extra.extend(target.extra_params.iter().cloned());
    flow::walk(http, endpoint, &request, consent, evidence).await
}

/// Redeems a code and returns the token response with its (unverified) ID token.
pub(crate) async fn id_token_of(
    http: &Http,
    metadata: &Metadata,
    client: &TestClient,
    auth: ClientAuth,
    code: &str,
    verifier: Option<&str>,
    evidence: &mut Vec<Exchange>,
) -> Result<Tokens, String> {
    let token_endpoint = metadata.str("token_endpoint").unwrap_or_default();
    let redemption = Redemption {
        code,
        verifier,
        redirect_uri: &client.redirect_uri,
    };
    let answer = flow::redeem(http, token_endpoint, client, auth, redemption, evidence).await?;
    token_response(answer)
}

/// What a client needs of a token response to go on (its form is judged by
/// `OP-TOKEN-JSON`, not here).
fn token_response(answer: Answer) -> Result<Tokens, String> {
    if answer.status != 200 {
        return Err(format!(
            "the token endpoint answered HTTP {}",
            answer.status
        ));
    }
    let Some(Value::Object(body)) = answer.json() else {
        return Err("the token response is not a JSON object".into());
    };
    let bearer = body
        .get("token_type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.eq_ignore_ascii_case("bearer"));
    if !bearer || !body.contains_key("access_token") {
        return Err("the token response lacks access_token or token_type Bearer".into());
    }
    let token = body
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or("the token response has no id_token")?;
    let id_token = jose::decode(token).map_err(|e| format!("the ID token is malformed: {e}"))?;
    Ok(Tokens {
        answer,
        body,
        id_token,
    })
}

pub(super) async fn run(
    report: &mut Report,
    target: &ProviderTarget,
    metadata: Option<&Metadata>,
    now: OffsetDateTime,
) -> Option<LiveContext> {
    let Some(metadata) = metadata else {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new(
                "the discovery document is not available",
                "le document de découverte n'est pas disponible",
            ),
        );
        return None;
    };
    let Some(client) = &target.client else {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new(
                "no test client given (--client-id, --client-secret-env, --redirect-uri)",
                "aucun client de test fourni (--client-id, --client-secret-env, --redirect-uri)",
            ),
        );
        return Some(LiveContext {
            metadata: metadata.clone(),
            claims: None,
        });
    };
    if metadata.str("authorization_endpoint").is_none() || metadata.str("token_endpoint").is_none()
    {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new(
                "the discovery document names no authorization or token endpoint",
                "le document de découverte ne nomme pas de point d'autorisation ou de jeton",
            ),
        );
        return None;
    }
    let Ok(http) = Http::new(target.ca_bundle.as_ref()) else {
        skip(
            report,
            &LIVE_CHECKS,
            &Text::new("no HTTP client", "aucun client HTTP"),
        );
        return None;
    };
    let plan = plan(target, metadata, now);
    let live = Live {
        http: &http,
        metadata,
        target,
        client,
        plan: &plan,
    };

    // The main flow.
    let mut walk_evidence = Vec::new();
    let request = live.request();
    let walk = main_flow_walk(
        &http,
        metadata,
        target,
        &request,
        Consent::Approve,
        &mut walk_evidence,
    )
    .await;
    let mut token_evidence = Vec::new();
    let mut tokens = None;
    let flow_outcome = match (&walk.end, walk.code()) {
        (End::Back { params }, Some(code))
            if params.get("state").map(String::as_str) == Some(request.state()) =>
        {
            match id_token_of(
                &http,
                metadata,
                client,
                live.client_auth(),
                code,
                request.verifier(),
                &mut token_evidence,
            )
            .await
            {
                Ok(t) => {
                    tokens = Some(t);
                    Outcome::Pass
                }
                Err(e) => Outcome::fail(
                    format!("the code was not redeemed: {e}"),
                    format!("le code n'a pas été échangé : {e}"),
                ),
            }
        }
        (End::Back { .. }, Some(_)) => Outcome::fail(
            "the state in the authorization response is not the request's",
            "le state de la réponse d'autorisation n'est pas celui de la demande",
        ),
        _ => Outcome::fail(
            format!("no code: the login {}", walk.describe()),
            format!(
                "aucun code : la connexion a abouti ainsi : {}",
                walk.describe()
            ),
        ),
    };
    let mut flow_evidence = walk_evidence.clone();
    flow_evidence.extend(token_evidence.iter().cloned());
    report.record(&OP_FLOW_CODE_PKCE, flow_outcome, flow_evidence);

    let outcome = match &walk.end {
        End::Back { params } => match params.get("iss") {
            Some(iss) if iss == metadata.issuer() => Outcome::Pass,
            Some(iss) => Outcome::fail(
                format!("iss is {iss:?}, the issuer is {:?}", metadata.issuer()),
                format!("iss vaut {iss:?}, l'émetteur est {:?}", metadata.issuer()),
            ),
            None => Outcome::fail(
                "the authorization response has no iss",
                "la réponse d'autorisation n'a pas d'iss",
            ),
        },
        End::Stopped { .. } => Outcome::skipped(
            "no authorization response came back",
            "aucune réponse d'autorisation n'est revenue",
        ),
    };
    report.record(&OP_FLOW_ISS_RESPONSE, outcome, walk_evidence);

    tokens::token_form(report, tokens.as_ref(), &token_evidence);
    id_token::checks(
        report,
        &live,
        &request,
        tokens.as_ref(),
        now,
        &token_evidence,
    );
    tokens::userinfo(report, &live, tokens.as_ref()).await;

    let fresh = refusals::fresh_sign_in(report, &live).await;
    id_token::sub_stable(report, tokens.as_ref(), fresh.as_ref());

    let mut refused = Vec::new();
    refusals::negative_redirect_uri(report, &live).await;
    refusals::unknown_client(report, &live).await;
    refusals::code_replay(
        report,
        &live,
        walk.code(),
        tokens.is_some(),
        &request,
        &mut refused,
    )
    .await;
    refusals::wrong_or_missing_verifier(report, &live, &mut refused).await;
    refusals::missing_challenge(report, &live).await;
    refusals::client_auth(report, &live, &mut refused).await;
    refusals::redeem_redirect_uri(report, &live, &mut refused).await;
    tokens::token_errors(report, &refused);

    Some(LiveContext {
        metadata: metadata.clone(),
        claims: tokens.map(|t| t.id_token.claims),
    })
}
