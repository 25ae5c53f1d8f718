//! The records a login leaves: the story of one consent, record by record, as the PCTF's
//! notice-and-consent criteria tell it (CORG.01: who, when, how, which notice in which
//! language, which attributes, which decision, which expiry; CORG.02: each record unique and
//! immutable, a change a new record), and a disclosure record for every release.

use std::time::Duration;

use broker::clock::Clock;
use broker::records::{ConsentBasis, ConsentDecision, ConsentKey};

use crate::common::*;
use crate::trust_flow::{decide, to_page_after_provider};

const AGREEMENT: &str = "isa-esdc-ei-2025";
const DAY: Duration = Duration::from_secs(86_400);

/// A login to Employment Insurance through Alberta that ends at the consent page.
async fn to_consent_page(bed: &TestBed) -> (AuthRequest, String) {
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let (status, page, _) = to_page_after_provider(bed, &req, "ab-account").await;
    assert_eq!(status, 200, "expected the consent page: {page}");
    assert!(page.contains("Share your information"), "{page}");
    (req, page)
}

/// The service redeems `code`: the pairwise subject it received.
async fn subject(bed: &TestBed, req: &AuthRequest, code: &str) -> String {
    let (status, tokens) = bed.redeem(req, code, RP_SECRET).await;
    assert_eq!(status, 200, "{tokens}");
    let (claims, _) = bed
        .verify_id_token(tokens["id_token"].as_str().unwrap())
        .await;
    claims["sub"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_consent_given_reused_withdrawn_given_again_and_expired_is_a_story_of_records() {
    let bed = start(Options::default()).await;
    let records = &bed.broker.records;
    let at = |bed: &TestBed| bed.clock.now().unix_timestamp() * 1000;

    // Given, and remembered.
    let (req, page) = to_consent_page(&bed).await;
    let given_at = at(&bed);
    let r = decide(&bed, &page, "share", true, None).await;
    let code = query(&location(&r))["code"].clone();
    let sub = subject(&bed, &req, &code).await;
    let key = ConsentKey {
        subject: &sub,
        client_id: RP,
        agreement_id: AGREEMENT,
        agreement_version: 1,
    };

    // Reused a week later: no page, no new consent record.
    bed.clock.advance(7 * DAY);
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let (status, to, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(status, 303, "expected the remembered consent: {to}");
    assert_eq!(subject(&bed, &req, &query(&to)["code"]).await, sub);
    assert_eq!(records.consent_history(key).await.unwrap().len(), 1);

    // Withdrawn by the person a month later: the next login asks again.
    bed.clock.advance(30 * DAY);
    let withdrawn_at = at(&bed);
    records
        .withdraw_consent(key, bed.clock.now(), Some("I no longer receive benefits"))
        .await
        .unwrap()
        .unwrap();
    let (req, page) = to_consent_page(&bed).await;
    let regiven_at = at(&bed);
    let r = decide(&bed, &page, "share", true, None).await;
    assert_eq!(
        subject(&bed, &req, &query(&location(&r))["code"]).await,
        sub
    );

    // 400 days on, past its thirteen months: asked again; this time shared just once.
    bed.clock.advance(400 * DAY);
    let expired_at = at(&bed);
    let (req, page) = to_consent_page(&bed).await;
    let r = decide(&bed, &page, "share", false, None).await;
    assert_eq!(
        subject(&bed, &req, &query(&location(&r))["code"]).await,
        sub
    );

    let story = records.consent_history(key).await.unwrap();
    let told: Vec<(&str, &str, i64, bool)> = story
        .iter()
        .map(|r| (r.decision.as_str(), r.how.as_str(), r.at, r.remember))
        .collect();
    assert_eq!(
        told,
        [
            ("given", "consent_page", given_at, true),
            ("withdrawn", "by_the_person", withdrawn_at, false),
            ("given", "consent_page", regiven_at, true),
            ("expired", "expiry", expired_at, false),
            ("given", "consent_page", expired_at, false),
        ]
    );
    let thirteen_months = 395 * 86_400 * 1000;
    assert_eq!(story[0].expires_at, Some(given_at + thirteen_months));
    assert_eq!(story[2].expires_at, Some(regiven_at + thirteen_months));
    assert_eq!(story[4].expires_at, None);
    assert_eq!(
        story[1].reason.as_deref(),
        Some("I no longer receive benefits")
    );
    let expected: std::collections::BTreeSet<_> = [
        "address",
        "birthdate",
        "family_name",
        "given_name",
        "preferred_language",
    ]
    .iter()
    .map(|n| n.parse().unwrap())
    .collect();
    for record in &story {
        // Who, to which notice in which language, about which attributes.
        assert_eq!(record.subject, sub);
        assert_eq!(record.person_key, story[0].person_key);
        assert_eq!(
            (record.client_id.as_str(), record.agreement_version),
            (RP, 1)
        );
        assert_eq!(record.lang.code(), "en");
        assert_eq!(record.attributes, expected);
    }

    // One disclosure per release, each on the consent it rests on, each naming the login whose
    // consent record it goes with.
    let txns = records.disclosed_txns().await.unwrap();
    assert_eq!(txns.len(), 4, "{txns:?}");
    let mut bases = Vec::new();
    for txn in &txns {
        let d = records.disclosure(txn).await.unwrap().unwrap();
        assert_eq!(
            (d.subject.as_str(), d.client_id.as_str()),
            (sub.as_str(), RP)
        );
        assert_eq!(d.person_key, story[0].person_key);
        assert_eq!(
            (d.agreement_id.as_str(), d.provider_id.as_str()),
            (AGREEMENT, "ab-account")
        );
        assert_eq!(d.released, expected);
        bases.push(d.consent);
    }
    use ConsentBasis::{Given, Remembered};
    assert_eq!(bases, [Given, Remembered, Given, Given]);
    let consented: Vec<Option<&str>> = story.iter().map(|r| r.txn.as_deref()).collect();
    assert_eq!(
        consented,
        [
            Some(txns[0].as_str()),
            None,
            Some(txns[2].as_str()),
            None,
            Some(txns[3].as_str())
        ]
    );
    assert!(story.iter().all(|r| r.decision != ConsentDecision::Refused));
}
