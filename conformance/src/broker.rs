//! The broker profile: the provider profile, then what the broker adds for relying parties:
//! pairwise subjects, `verified_claims`, agreed attributes, consent, and sessions and logout
//! (`session`).

mod record;
mod session;

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use trust_framework::{Attribute, Registry};

use crate::catalogue::*;
use crate::check::{Outcome, Report, Subject};
use crate::flow::{Ask, AuthRequest, ClientAuth, Consent, End};
use crate::http::Http;
use crate::provider::{self, Asking, LiveContext, ProviderTarget, id_token_of, main_flow_walk};
use crate::{Error, TestClient};

/// Asked of the broker to see whether it releases more than agreed.
const BROAD_SCOPE: &str = "openid profile email address phone";

#[derive(Debug, Clone)]
pub struct BrokerTarget {
    /// The broker as an OpenID provider, with the first test client.
    pub provider: ProviderTarget,
    /// A client of another sector, for pairwise subjects.
    pub second_client: Option<TestClient>,
    /// The broker's registry: the first client's agreements.
    pub registry: Option<Registry>,
}

pub async fn check_broker(target: &BrokerTarget, now: OffsetDateTime) -> Result<Report, Error> {
    let mut report = Report::new(
        Subject::Broker {
            issuer: target.provider.issuer.clone(),
        },
        now,
    );
    // The broker is asked as a relying service asks it, not as it asks its providers.
    let mut as_service = target.provider.clone();
    as_service.asking = Asking::AsAService;
    let ctx = provider::run(&mut report, &as_service, now).await?;
    let http = Http::new(target.provider.ca_bundle.as_ref())?;
    verified_claims(&mut report, ctx.as_ref());
    pairwise(&mut report, &http, target, ctx.as_ref()).await;
    agreed_attributes(&mut report, target, ctx.as_ref()).await;
    consent_refusal(&mut report, target, ctx.as_ref()).await;
    // Last: its first login asks the broker to remember a consent.
    session::run(&mut report, target, ctx.as_ref()).await;
    record::run(&mut report, target).await;
    Ok(report)
}

fn no_token() -> Outcome {
    Outcome::skipped(
        "the main flow gave no ID token",
        "le flux principal n'a donné aucun jeton d'identité",
    )
}

fn verified_claims(report: &mut Report, ctx: Option<&LiveContext>) {
    let Some(claims) = ctx.and_then(|c| c.claims.as_ref()) else {
        report.record(&BR_VERIFIED_CLAIMS, no_token(), Vec::new());
        return;
    };
    let verification = claims
        .get("verified_claims")
        .and_then(|v| v.get("verification"));
    let outcome = match verification
        .and_then(|v| v.get("trust_framework"))
        .and_then(Value::as_str)
    {
        Some("ca_pctf") => Outcome::Pass,
        Some(other) => Outcome::fail(
            format!("trust_framework is {other:?}, not ca_pctf"),
            format!("trust_framework vaut {other:?}, pas ca_pctf"),
        ),
        None => Outcome::fail(
            "no verified_claims.verification.trust_framework in the ID token",
            "aucun verified_claims.verification.trust_framework dans le jeton d'identité",
        ),
    };
    report.record(&BR_VERIFIED_CLAIMS, outcome, Vec::new());
}

/// What a relying service asks the broker: scopes and the person's hint.
fn service_ask(target: &ProviderTarget, scope: &str) -> Ask {
    Ask {
        scopes: scope.split_whitespace().map(str::to_owned).collect(),
        login_hint: target.login_hint.clone(),
        ..Ask::default()
    }
}

/// One full login for `client`: the ID token's claims, or why none came.
async fn login(
    target: &ProviderTarget,
    ctx: &LiveContext,
    client: &TestClient,
    scope: &str,
    evidence: &mut Vec<crate::Exchange>,
) -> Result<Map<String, Value>, String> {
    let http = Http::new(target.ca_bundle.as_ref()).map_err(|e| e.to_string())?;
    let request = AuthRequest::new(client, &service_ask(target, scope));
    let walk = main_flow_walk(
        &http,
        &ctx.metadata,
        target,
        &request,
        Consent::Approve,
        evidence,
    )
    .await;
    let code = walk.code().ok_or_else(|| walk.describe())?;
    let auth = ClientAuth::from_metadata(
        ctx.metadata
            .doc
            .get("token_endpoint_auth_methods_supported"),
    );
    let tokens = id_token_of(
        &http,
        &ctx.metadata,
        client,
        auth,
        code,
        request.verifier(),
        evidence,
    )
    .await?;
    Ok(tokens.id_token.claims)
}

async fn pairwise(
    report: &mut Report,
    _http: &Http,
    target: &BrokerTarget,
    ctx: Option<&LiveContext>,
) {
    let (Some(ctx), Some(first)) = (ctx, ctx.and_then(|c| c.claims.as_ref())) else {
        report.record(&BR_SUB_PAIRWISE, no_token(), Vec::new());
        return;
    };
    let Some(second) = &target.second_client else {
        report.record(
            &BR_SUB_PAIRWISE,
            Outcome::skipped(
                "no second client of another sector given (--second-client-id ...)",
                "aucun second client d'un autre secteur fourni (--second-client-id ...)",
            ),
            Vec::new(),
        );
        return;
    };
    let mut evidence = Vec::new();
    let outcome = match login(
        &target.provider,
        ctx,
        second,
        &target.provider.scope,
        &mut evidence,
    )
    .await
    {
        Err(e) => Outcome::fail(
            format!("the second client's login failed: {e}"),
            format!("la connexion du second client a échoué : {e}"),
        ),
        Ok(claims) => {
            let sub =
                |c: &Map<String, Value>| c.get("sub").and_then(Value::as_str).map(str::to_owned);
            match (sub(first), sub(&claims)) {
                (Some(a), Some(b)) if a != b => Outcome::Pass,
                (Some(_), Some(_)) => Outcome::fail(
                    "both clients received the same sub",
                    "les deux clients ont reçu le même sub",
                ),
                _ => Outcome::fail(
                    "an ID token has no sub",
                    "un jeton d'identité n'a pas de sub",
                ),
            }
        }
    };
    report.record(&BR_SUB_PAIRWISE, outcome, evidence);
}

/// The canonical attributes present in an ID token (top level or in `verified_claims`).
fn released(claims: &Map<String, Value>) -> BTreeSet<Attribute> {
    let nested = claims
        .get("verified_claims")
        .and_then(|v| v.get("claims"))
        .and_then(Value::as_object);
    Attribute::ALL
        .into_iter()
        .filter(|a| {
            claims.contains_key(a.claim()) || nested.is_some_and(|n| n.contains_key(a.claim()))
        })
        .collect()
}

async fn agreed_attributes(report: &mut Report, target: &BrokerTarget, ctx: Option<&LiveContext>) {
    let (Some(ctx), Some(client)) = (ctx, target.provider.client.as_ref()) else {
        report.record(&BR_AGREED_ATTRIBUTES, no_token(), Vec::new());
        return;
    };
    let Some(registry) = &target.registry else {
        report.record(
            &BR_AGREED_ATTRIBUTES,
            Outcome::skipped(
                "no registry given (--registry FILE): the agreements are unknown",
                "aucun registre fourni (--registry FICHIER) : les ententes sont inconnues",
            ),
            Vec::new(),
        );
        return;
    };
    let agreed: BTreeSet<Attribute> = registry
        .agreements_of(&client.client_id)
        .flat_map(|a| a.attributes.iter().copied())
        .collect();
    let mut evidence = Vec::new();
    let outcome = match login(&target.provider, ctx, client, BROAD_SCOPE, &mut evidence).await {
        Err(e) if e.contains("error=") => Outcome::Pass,
        Err(e) => Outcome::fail(
            format!("the login asking for every attribute failed: {e}"),
            format!("la connexion demandant tous les attributs a échoué : {e}"),
        ),
        Ok(claims) => {
            let extra: Vec<&str> = released(&claims)
                .difference(&agreed)
                .map(|a| a.name())
                .collect();
            if extra.is_empty() {
                Outcome::Pass
            } else {
                Outcome::fail(
                    format!("released without agreement: {extra:?}"),
                    format!("communiqués sans entente : {extra:?}"),
                )
            }
        }
    };
    report.record(&BR_AGREED_ATTRIBUTES, outcome, evidence);
}

async fn consent_refusal(report: &mut Report, target: &BrokerTarget, ctx: Option<&LiveContext>) {
    let (Some(ctx), Some(client)) = (ctx, target.provider.client.as_ref()) else {
        report.record(&BR_CONSENT_REFUSAL, no_token(), Vec::new());
        return;
    };
    let Ok(http) = Http::new(target.provider.ca_bundle.as_ref()) else {
        return;
    };
    let mut evidence = Vec::new();
    let request = AuthRequest::new(
        client,
        &service_ask(&target.provider, &target.provider.scope),
    );
    let walk = main_flow_walk(
        &http,
        &ctx.metadata,
        &target.provider,
        &request,
        Consent::Deny,
        &mut evidence,
    )
    .await;
    let outcome = if !walk.saw_consent {
        Outcome::skipped(
            "the broker showed no consent page (no form with a decision button): nothing to refuse",
            "le courtier n'a montré aucune page de consentement (aucun formulaire avec un bouton decision) : rien à refuser",
        )
    } else {
        match &walk.end {
            End::Back { params }
                if params.get("error").map(String::as_str) == Some("access_denied")
                    && !params.contains_key("code") =>
            {
                Outcome::Pass
            }
            _ => Outcome::fail(
                format!("after refusing: {}", walk.describe()),
                format!("après le refus : {}", walk.describe()),
            ),
        }
    };
    report.record(&BR_CONSENT_REFUSAL, outcome, evidence);
}
