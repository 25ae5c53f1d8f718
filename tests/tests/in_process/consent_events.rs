//! Consent withdrawn events over real HTTP: a withdrawal recorded is pushed to the service as
//! a Security Event Token (RFC 8417, RFC 8935) it verifies with the broker's published keys; a
//! dead service is tried again, a refusal is not, and an event whose withdrawal never reached
//! the records is never sent.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use broker::records::{ConsentDecision, ConsentKey, ConsentRow};
use broker::secevent::{self, ConsentWithdrawn};
use serde_json::{Value, json};
use trust_framework::{Attribute, Lang};

use crate::common::audit::AuditLog;
use crate::common::*;

pub(crate) const EVENT: &str = "urn:pctf:event:consent-withdrawn";
const AGREEMENT: &str = "esdc-ei-consent";

/// (client, content type, accept, body) of one post.
pub(crate) type Post = (String, String, String, String);
/// A status and a body to answer with.
type Answer = (u16, Value);

/// What a test service receives at its security events URI.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    posts: Arc<Mutex<Vec<Post>>>,
    /// The answers to give each client, in turn, before 202.
    answers: Arc<Mutex<HashMap<String, Vec<Answer>>>>,
}

async fn receive(
    State(r): State<Receiver>,
    Path(client): Path<String>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    r.posts.lock().unwrap().push((
        client.clone(),
        header("content-type"),
        header("accept"),
        body,
    ));
    let next = r
        .answers
        .lock()
        .unwrap()
        .get_mut(&client)
        .filter(|a| !a.is_empty())
        .map(|a| a.remove(0));
    match next {
        Some((status, body)) => {
            (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
        }
        None => StatusCode::ACCEPTED.into_response(),
    }
}

impl Receiver {
    pub(crate) async fn serve(&self) -> String {
        let app = axum::Router::new()
            .route("/events/{client}", axum::routing::post(receive))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    pub(crate) fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Post> {
        for _ in 0..100 {
            let got = self.posts();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{n} posts expected: {:?}", self.posts());
    }
}

pub(crate) async fn bed_with_receiver(receiver: &Receiver) -> TestBed {
    let base = receiver.serve().await;
    start(Options {
        edit_registry: Some(Box::new(move |text: String| {
            text.replace(
                "http://127.0.0.1:8490/security-events/",
                &format!("{base}/events/"),
            )
        })),
        ..Options::default()
    })
    .await
}

fn event(withdrawn_at_ms: i64) -> ConsentWithdrawn {
    ConsentWithdrawn {
        client_id: RP.into(),
        subject: "pairwise-subject".into(),
        agreement_id: AGREEMENT.into(),
        agreement_version: 1,
        attributes: BTreeSet::from([Attribute::GivenName, Attribute::FamilyName]),
        withdrawn_at_ms,
        reason: "no_longer_needed".into(),
    }
}

fn key(e: &ConsentWithdrawn) -> ConsentKey<'_> {
    ConsentKey {
        subject: &e.subject,
        client_id: &e.client_id,
        agreement_id: &e.agreement_id,
        agreement_version: e.agreement_version,
    }
}

/// Records a remembered consent, then its withdrawal, as the person's record page does; the
/// event of that withdrawal.
async fn withdraw(bed: &TestBed) -> ConsentWithdrawn {
    let now = bed.broker.now();
    let template = event(0);
    let given = ConsentRow {
        at: now.unix_timestamp() * 1000 - 60_000,
        decision: ConsentDecision::Given,
        how: "consent_page".into(),
        subject: template.subject.clone(),
        person_key: "person-key".into(),
        client_id: template.client_id.clone(),
        agreement_id: template.agreement_id.clone(),
        agreement_version: 1,
        lang: Lang::En,
        attributes: template.attributes.clone(),
        remember: true,
        expires_at: Some(now.unix_timestamp() * 1000 + 86_400_000),
        txn: None,
        reason: None,
    };
    bed.broker.records.append_consent(&given).await.unwrap();
    let row = bed
        .broker
        .records
        .withdraw_consent(key(&template), now, Some("no_longer_needed"))
        .await
        .unwrap()
        .expect("a consent in force");
    assert_eq!(row.decision, ConsentDecision::Withdrawn);
    event(row.at)
}

/// Queues the event a little ahead, as the record page does before its commit, and
/// releases it.
async fn queue_and_release(bed: &TestBed, e: &ConsentWithdrawn) -> String {
    let now = bed.broker.now();
    let id = secevent::queue(&bed.broker, e, now + Duration::from_secs(5))
        .await
        .unwrap()
        .expect("the service registered a security_events_uri");
    secevent::release_now(&bed.broker, &id, e, now)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_recorded_withdrawal_is_pushed_as_a_set_the_service_verifies() {
    let audit = AuditLog::capture();
    let receiver = Receiver::default();
    let bed = bed_with_receiver(&receiver).await;
    let e = withdraw(&bed).await;
    queue_and_release(&bed, &e).await;

    let posts = receiver.wait_for(1).await;
    let (client, content_type, accept, set) = &posts[0];
    assert_eq!(client, RP);
    assert_eq!(content_type, "application/secevent+jwt");
    assert_eq!(accept, "application/json");
    let (claims, header) = bed.verify_id_token(set).await;
    assert_eq!(header["typ"], "secevent+jwt");
    assert_eq!(claims["iss"], bed.broker_url);
    assert_eq!(claims["aud"], RP);
    assert!(claims["jti"].is_string());
    assert!(claims.get("sub").is_none(), "no top-level sub");
    assert!(claims.get("nonce").is_none());
    assert_eq!(
        claims["sub_id"],
        json!({"format": "iss_sub", "iss": bed.broker_url, "sub": "pairwise-subject"})
    );
    let event = &claims["events"][EVENT];
    assert_eq!(event["agreement_id"], AGREEMENT);
    assert_eq!(event["agreement_version"], 1);
    assert_eq!(event["reason"], "no_longer_needed");
    assert_eq!(event["withdrawn_at"], e.withdrawn_at_ms / 1000);
    assert_eq!(event["attributes"].as_array().unwrap().len(), 2);

    for _ in 0..100 {
        if !audit.all("consent_event.delivered").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = audit.one("consent_event.delivered");
    assert_eq!(delivered["client"], RP);
    assert_eq!(delivered["agreement"], AGREEMENT);
    assert_eq!(delivered["attempt"], 1);
    assert_eq!(
        audit.one("consent_event.queued")["reason"],
        "no_longer_needed"
    );
}

#[tokio::test]
async fn a_dead_service_is_tried_again_and_a_refusal_is_not() {
    let audit = AuditLog::capture();
    let receiver = Receiver::default();
    receiver.answers.lock().unwrap().insert(
        RP.into(),
        vec![
            (500, json!({})),
            (
                400,
                json!({"err": "invalid_key", "description": "unknown key"}),
            ),
        ],
    );
    let bed = bed_with_receiver(&receiver).await;
    let e = withdraw(&bed).await;
    queue_and_release(&bed, &e).await;

    // The first try failed (500); the retry is due five seconds later by the broker's clock.
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.posts().len(), 1);
    bed.clock.advance(Duration::from_secs(6));
    // The second is refused (400): never tried again.
    receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    bed.clock.advance(Duration::from_secs(600));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.posts().len(), 2);
    let refused = audit.one("consent_event.refused");
    assert_eq!(refused["err"], "invalid_key");
    assert_eq!(refused["attempt"], 2);
    assert!(audit.all("consent_event.delivered").is_empty());
}

#[tokio::test]
async fn an_event_whose_withdrawal_was_never_recorded_is_never_sent() {
    let audit = AuditLog::capture();
    let receiver = Receiver::default();
    let bed = bed_with_receiver(&receiver).await;
    // Queued and released, but the withdrawal's commit never happened (and its cancel failed).
    let e = event(bed.broker.now().unix_timestamp() * 1000);
    queue_and_release(&bed, &e).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        receiver.posts().is_empty(),
        "held back while a commit may be in flight"
    );
    bed.clock.advance(Duration::from_secs(61));
    for _ in 0..100 {
        if !audit.all("consent_event.not_recorded").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(audit.one("consent_event.not_recorded")["client"], RP);
    assert!(receiver.posts().is_empty());

    // One cancelled by its writer is never sent either.
    let id = secevent::queue(&bed.broker, &e, bed.broker.now() + Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    secevent::cancel(&bed.broker, &id, &e).await.unwrap();
    bed.clock.advance(Duration::from_secs(61));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(receiver.posts().is_empty());
    assert_eq!(audit.one("consent_event.cancelled")["id"], id.as_str());
    assert_eq!(audit.all("consent_event.not_recorded").len(), 1);
}

#[tokio::test]
async fn a_service_without_a_security_events_uri_is_not_told() {
    let audit = AuditLog::capture();
    let bed = start(Options {
        edit_registry: Some(Box::new(|text: String| {
            text.lines()
                .filter(|l| !l.starts_with("security_events_uri"))
                .collect::<Vec<_>>()
                .join("\n")
        })),
        ..Options::default()
    })
    .await;
    let e = event(0);
    let queued = secevent::queue(&bed.broker, &e, bed.broker.now())
        .await
        .unwrap();
    assert_eq!(queued, None);
    audit.one("consent_event.not_wanted");
}
