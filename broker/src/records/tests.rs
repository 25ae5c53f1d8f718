//! The records on SQLite in memory: the same queries PostgreSQL runs (the end-to-end tests run
//! them there).

use std::collections::BTreeSet;

use serde_json::json;
use time::macros::datetime;
use trust_framework::{Attribute, Lang, LegalBasis};

use super::consent::ConsentKey;
use super::*;

const NOW: time::OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

fn example() -> trust_framework::RegistryFile {
    toml::from_str(include_str!("../../../tests/fixtures/pan-canada-2026.toml")).unwrap()
}

#[tokio::test]
async fn a_registry_change_is_a_new_version_and_never_a_lost_update() {
    let records = Records::in_memory().await.unwrap();
    assert_eq!(records.registry_version().await.unwrap(), 0);
    assert!(records.registry().await.unwrap().is_none());
    let file = example();
    let loaded = RegistryChange {
        action: "loaded",
        reason: Some("from pan-canada.toml"),
        ..RegistryChange::default()
    };
    assert_eq!(
        records
            .append_registry(0, &file, &loaded, NOW)
            .await
            .unwrap(),
        1
    );
    let mut suspended = file.clone();
    suspended.providers[0].status = "suspended".into();
    let change = RegistryChange {
        action: "provider.suspended",
        target: Some("ab-account"),
        proposed_by: Some("bob"),
        approved_by: Some("bob"),
        reason: Some("key compromise reported"),
        before: Some(json!({"status": "active"})),
        after: Some(json!({"status": "suspended"})),
    };
    assert_eq!(
        records
            .append_registry(1, &suspended, &change, NOW)
            .await
            .unwrap(),
        2
    );
    // A second administrator who read version 1 cannot overwrite version 2.
    assert!(matches!(
        records.append_registry(1, &file, &loaded, NOW).await,
        Err(RecordsError::Conflict(1))
    ));
    let (version, stored) = records.registry().await.unwrap().unwrap();
    assert_eq!(version, 2);
    assert_eq!(stored.providers[0].status, "suspended");
    let history = records
        .registry_history(Some("ab-account"), 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].reason.as_deref(),
        Some("key compromise reported")
    );
    assert_eq!(history[0].after, Some(json!({"status": "suspended"})));
    assert_eq!(records.registry_history(None, 10).await.unwrap().len(), 2);
}

fn consent(decision: ConsentDecision, at: time::OffsetDateTime, remember: bool) -> ConsentRow {
    ConsentRow {
        at: millis(at),
        decision,
        how: How::ConsentPage.as_str().into(),
        subject: "pairwise-sub".into(),
        person_key: "person".into(),
        client_id: "esdc-employment-insurance".into(),
        agreement_id: "isa-esdc-ei-2025".into(),
        agreement_version: 1,
        lang: Lang::Fr,
        attributes: BTreeSet::from([Attribute::GivenName, Attribute::Birthdate]),
        remember,
        expires_at: remember.then(|| millis(at + time::Duration::days(395))),
        txn: Some("txn-1".into()),
        reason: None,
    }
}

const KEY: ConsentKey<'static> = ConsentKey {
    subject: "pairwise-sub",
    client_id: "esdc-employment-insurance",
    agreement_id: "isa-esdc-ei-2025",
    agreement_version: 1,
};

#[tokio::test]
async fn a_remembered_consent_is_found_until_it_ends_and_its_end_is_a_record() {
    let records = Records::in_memory().await.unwrap();
    assert!(
        records
            .remembered_consent(KEY, NOW)
            .await
            .unwrap()
            .is_none()
    );
    let given = consent(ConsentDecision::Given, NOW, true);
    records.append_consent(&given).await.unwrap();
    let found = records.remembered_consent(KEY, NOW).await.unwrap().unwrap();
    assert_eq!(found, given);
    // Another version of the agreement is another consent.
    let amended = ConsentKey {
        agreement_version: 2,
        ..KEY
    };
    assert!(
        records
            .remembered_consent(amended, NOW)
            .await
            .unwrap()
            .is_none()
    );
    // Past its end: not reused, and the expiry is recorded once.
    let later = NOW + time::Duration::days(400);
    assert!(
        records
            .remembered_consent(KEY, later)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        records
            .remembered_consent(KEY, later)
            .await
            .unwrap()
            .is_none()
    );
    let story: Vec<&str> = records
        .consent_history(KEY)
        .await
        .unwrap()
        .iter()
        .map(|r| r.decision.as_str())
        .collect();
    assert_eq!(story, ["given", "expired"]);
}

#[tokio::test]
async fn a_consent_not_remembered_or_withdrawn_is_not_reused() {
    let records = Records::in_memory().await.unwrap();
    records
        .append_consent(&consent(ConsentDecision::Given, NOW, false))
        .await
        .unwrap();
    assert!(
        records
            .remembered_consent(KEY, NOW)
            .await
            .unwrap()
            .is_none()
    );
    records
        .append_consent(&consent(ConsentDecision::Given, NOW, true))
        .await
        .unwrap();
    assert!(
        records
            .remembered_consent(KEY, NOW)
            .await
            .unwrap()
            .is_some()
    );
    let later = NOW + time::Duration::days(1);
    let withdrawn = records
        .withdraw_consent(KEY, later, Some("changed my mind"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(withdrawn.decision, ConsentDecision::Withdrawn);
    assert_eq!(withdrawn.how, "by_the_person");
    assert_eq!(withdrawn.at, millis(later));
    assert_eq!(
        withdrawn.attributes,
        consent(ConsentDecision::Given, NOW, true).attributes
    );
    assert!(
        records
            .remembered_consent(KEY, later)
            .await
            .unwrap()
            .is_none()
    );
    // Nothing left to withdraw: no second record.
    assert!(
        records
            .withdraw_consent(KEY, later, None)
            .await
            .unwrap()
            .is_none()
    );
    let story: Vec<&str> = records
        .consent_history(KEY)
        .await
        .unwrap()
        .iter()
        .map(|r| r.decision.as_str())
        .collect();
    assert_eq!(story, ["given", "given", "withdrawn"]);
}

fn disclosure(txn: &str) -> DisclosureRow {
    DisclosureRow {
        at: millis(NOW),
        txn: txn.into(),
        client_id: "esdc-employment-insurance".into(),
        agreement_id: "isa-esdc-ei-2025".into(),
        agreement_version: 1,
        legal_basis: LegalBasis::Consent,
        consent: ConsentBasis::Given,
        provider_id: "ab-account".into(),
        level: "urn:pctf:loa:2".into(),
        released: BTreeSet::from([Attribute::GivenName, Attribute::Birthdate]),
        withheld: BTreeSet::from([Attribute::Address]),
        subject: "pairwise-sub".into(),
        person_key: "person".into(),
    }
}

fn event(name: &'static str) -> AuditRow {
    AuditRow {
        at: millis(NOW),
        level: "INFO",
        event: name,
        fields: json!({"event": name, "txn": "t1"}).to_string(),
    }
}

#[tokio::test]
async fn a_release_commits_its_disclosure_its_consent_and_the_waiting_events_together() {
    let records = Records::in_memory().await.unwrap();
    records.queue_event(event("policy.decided"));
    records.queue_event(event("release.granted"));
    let given = consent(ConsentDecision::Given, NOW, true);
    records
        .commit_release(&disclosure("t1"), Some(&given), 0)
        .await
        .unwrap();
    assert_eq!(
        records.disclosure("t1").await.unwrap(),
        Some(disclosure("t1"))
    );
    assert_eq!(records.consent_history(KEY).await.unwrap(), [given]);
    let events = records.audit_events(0, 10).await.unwrap();
    let names: Vec<&str> = events.iter().map(|(_, e, _)| e.as_str()).collect();
    assert_eq!(names, ["policy.decided", "release.granted"]);
    // One disclosure per login: the same txn again is refused, and its events stay waiting.
    records.queue_event(event("token.issued"));
    assert!(
        records
            .commit_release(&disclosure("t1"), None, 0)
            .await
            .is_err()
    );
    assert_eq!(records.disclosed_txns().await.unwrap(), ["t1"]);
    assert_eq!(records.flush_events().await.unwrap(), 1);
    assert_eq!(records.flush_events().await.unwrap(), 0);
    assert_eq!(records.audit_events(0, 10).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_release_judged_by_a_replaced_registry_is_not_recorded() {
    let records = Records::in_memory().await.unwrap();
    let loaded = RegistryChange {
        action: "loaded",
        ..RegistryChange::default()
    };
    let v1 = records
        .append_registry(0, &example(), &loaded, NOW)
        .await
        .unwrap();
    records.queue_event(event("release.granted"));
    records
        .commit_release(&disclosure("t1"), None, v1)
        .await
        .unwrap();
    // Another replica suspends a provider: a release judged by version 1 is refused, its
    // consent and events are not written, and the events wait for the next write.
    let suspension = RegistryChange {
        action: "provider.suspended",
        ..RegistryChange::default()
    };
    let v2 = records
        .append_registry(v1, &example(), &suspension, NOW)
        .await
        .unwrap();
    records.queue_event(event("consent.given"));
    let given = consent(ConsentDecision::Given, NOW, true);
    let refused = records
        .commit_release(&disclosure("t2"), Some(&given), v1)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, RecordsError::RegistryChanged),
        "{refused}"
    );
    assert_eq!(records.disclosed_txns().await.unwrap(), ["t1"]);
    assert!(records.consent_history(KEY).await.unwrap().is_empty());
    records
        .commit_release(&disclosure("t2"), Some(&given), v2)
        .await
        .unwrap();
    assert_eq!(records.disclosed_txns().await.unwrap(), ["t1", "t2"]);
    let names: Vec<String> = records
        .audit_events(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e, _)| e)
        .collect();
    assert_eq!(names, ["release.granted", "consent.given"]);
}

#[tokio::test]
async fn many_events_are_written_in_order_across_statements() {
    let records = Records::in_memory().await.unwrap();
    let names = ["a", "b", "c"];
    for i in 0..12_000 {
        records.queue_event(event(names[i % 3]));
    }
    assert_eq!(records.flush_events().await.unwrap(), 12_000);
    let written = records.audit_events(0, 20_000).await.unwrap();
    assert_eq!(written.len(), 12_000);
    assert!(written.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(
        written
            .iter()
            .enumerate()
            .all(|(i, (_, e, _))| e == names[i % 3])
    );
}

#[tokio::test]
async fn reports_are_kept_newest_last() {
    let records = Records::in_memory().await.unwrap();
    assert_eq!(records.report("ab-account").await.unwrap(), None);
    records
        .save_report("ab-account", false, "{\"passed\":false}", NOW)
        .await
        .unwrap();
    records
        .save_report("ab-account", true, "{\"passed\":true}", NOW)
        .await
        .unwrap();
    assert_eq!(
        records.report("ab-account").await.unwrap().as_deref(),
        Some("{\"passed\":true}")
    );
}

#[tokio::test]
async fn a_url_that_names_no_database_is_refused() {
    assert!(matches!(
        Records::open("mysql://localhost/x", 1, std::time::Duration::from_secs(1)).await,
        Err(RecordsError::Configuration(_))
    ));
}

#[tokio::test]
async fn a_schema_newer_than_the_broker_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.db");
    let timeout = std::time::Duration::from_secs(5);
    let records = Records::sqlite_file(&path, timeout).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99, 'from a newer broker', 1, X'00', 0)",
    )
    .execute(records.pool())
    .await
    .unwrap();
    drop(records);
    let refused = Records::sqlite_file(&path, timeout).await.unwrap_err();
    let said = refused.to_string();
    assert!(matches!(refused, RecordsError::Schema(_)), "{said}");
    assert!(said.contains("newer than this broker"), "{said}");
    assert!(said.contains("migration 99"), "{said}");
}

/// Every kind of record, written the ways the broker writes them: a registry version, a
/// release with its consent and events, a flush, a consent alone. Returns how many.
async fn every_kind_of_record(records: &Records) -> u64 {
    let loaded = RegistryChange {
        action: "loaded",
        ..RegistryChange::default()
    };
    records
        .append_registry(0, &example(), &loaded, NOW)
        .await
        .unwrap();
    records.queue_event(event("policy.decided"));
    records.queue_event(event("release.granted"));
    let given = consent(ConsentDecision::Given, NOW, true);
    records
        .commit_release(&disclosure("t1"), Some(&given), 1)
        .await
        .unwrap();
    records.queue_event(event("token.issued"));
    records.flush_events().await.unwrap();
    records
        .append_consent(&consent(ConsentDecision::Withdrawn, NOW, false))
        .await
        .unwrap();
    records
        .commit_release(&disclosure("t2"), None, 1)
        .await
        .unwrap();
    8
}

fn leaf_hashes(rows: &[LogRecord]) -> Vec<transparency::Hash> {
    rows.iter()
        .map(|r| transparency::leaf::leaf_hash(&r.record).unwrap())
        .collect()
}

#[tokio::test]
async fn every_record_is_a_leaf_numbered_in_commit_order_and_the_tree_holds_them() {
    let records = Records::in_memory().await.unwrap();
    let n = every_kind_of_record(&records).await;
    assert_eq!(records.log_size().await.unwrap(), n);
    let rows = records.log_records(0, n).await.unwrap();
    let leaves: Vec<u64> = rows.iter().map(|r| r.leaf).collect();
    assert_eq!(leaves, (0..n).collect::<Vec<_>>());
    let tables: Vec<&str> = rows
        .iter()
        .map(|r| r.record["table"].as_str().unwrap())
        .collect();
    assert_eq!(
        tables,
        [
            "registry_versions",
            "audit_events",
            "audit_events",
            "consent_records",
            "disclosures",
            "audit_events",
            "consent_records",
            "disclosures",
        ]
    );
    // A release judged by a registry replaced since takes no leaf.
    assert!(matches!(
        records.commit_release(&disclosure("t3"), None, 0).await,
        Err(RecordsError::RegistryChanged)
    ));
    assert_eq!(records.log_size().await.unwrap(), n);

    // Grown in two steps, the tree is the RFC 6962 tree of the records' leaves.
    assert_eq!(records.integrate(3).await.unwrap(), Some((0, 3)));
    assert_eq!(records.integrate(100).await.unwrap(), Some((3, n)));
    assert_eq!(records.integrate(100).await.unwrap(), None);
    let hashes = leaf_hashes(&rows);
    let root = records.tree_root(n).await.unwrap();
    assert_eq!(root, transparency::tree::root_from_leaves(&hashes));
    assert_eq!(records.node_hashes(0, 0, n).await.unwrap(), hashes);
    for leaf in 0..n {
        let proof = records.inclusion_proof(leaf, n).await.unwrap();
        transparency::check_record(&proof, n, root, leaf, hashes[leaf as usize]).unwrap();
    }
    let old = records.tree_root(3).await.unwrap();
    let proof = records.consistency_proof(3, n).await.unwrap();
    transparency::check_tree(&proof, n, root, 3, old).unwrap();
    assert!(transparency::check_tree(&proof, n, root, 3, hashes[0]).is_err());
}

/// What an auditor finds comparing the records' export with the tree's `leaves`.
async fn disagreement(
    records: &Records,
    n: u64,
    leaves: &[transparency::Hash],
) -> transparency::compare::Discrepancy {
    let export: Vec<_> = records
        .log_records(0, n)
        .await
        .unwrap()
        .into_iter()
        .map(|r| transparency::compare::ExportedRecord {
            leaf: r.leaf,
            record: r.record,
        })
        .collect();
    transparency::compare::compare(&export, leaves).unwrap_err()
}

#[tokio::test]
async fn an_edited_or_removed_record_no_longer_matches_the_tree() {
    let records = Records::in_memory().await.unwrap();
    let n = every_kind_of_record(&records).await;
    records.integrate(100).await.unwrap();
    let leaves = records.node_hashes(0, 0, n).await.unwrap();
    sqlx::query("UPDATE disclosures SET client_id = 'someone-else' WHERE txn = 't1'")
        .execute(records.pool())
        .await
        .unwrap();
    let found = disagreement(&records, n, &leaves).await;
    assert!(
        matches!(
            found,
            transparency::compare::Discrepancy::Edited { position: 4, .. }
        ),
        "{found}"
    );

    // A record removed after it was written: the export no longer holds what the tree does.
    sqlx::query("UPDATE disclosures SET client_id = 'esdc-employment-insurance' WHERE txn = 't1'")
        .execute(records.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events WHERE leaf = 5")
        .execute(records.pool())
        .await
        .unwrap();
    let found = disagreement(&records, n, &leaves).await;
    assert!(
        matches!(
            found,
            transparency::compare::Discrepancy::Removed { position: 5 }
        ),
        "{found}"
    );
}

#[tokio::test]
async fn a_record_from_before_the_log_is_hashed_from_its_row() {
    let records = Records::in_memory().await.unwrap();
    let n = every_kind_of_record(&records).await;
    // As the migration leaves a record written before the log: numbered, with no leaf hash.
    sqlx::query(
        "INSERT INTO audit_events (at, level, event, fields, leaf) VALUES (1, 'INFO', 'old', '{}', $1)",
    )
    .bind(i64::try_from(n).unwrap())
    .execute(records.pool())
    .await
    .unwrap();
    sqlx::query("UPDATE log_head SET size = size + 1")
        .execute(records.pool())
        .await
        .unwrap();
    assert_eq!(records.integrate(100).await.unwrap(), Some((0, n + 1)));
    let rows = records.log_records(0, n + 1).await.unwrap();
    let leaves = records.node_hashes(0, 0, n + 1).await.unwrap();
    assert_eq!(leaves, leaf_hashes(&rows));
    assert_eq!(
        records.tree_root(n + 1).await.unwrap(),
        transparency::tree::root_from_leaves(&leaves)
    );
}
