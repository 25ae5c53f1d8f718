//! The person's own record (`/my-record`) over real HTTP, with the demo providers: a person
//! signs in at their provider and sees every disclosure about them and nothing of anyone else
//! (two persons at one provider, one person's accounts at two providers), withdraws a
//! remembered consent after a fresh sign-in (the service receives the signed event and the
//! next login asks again), reports a disclosure, exports and proves it; forged posts and a
//! failing store change nothing.

use std::sync::Arc;

use broker::records::{ConsentDecision, ConsentKey};
use serde_json::Value;

use broker::admin::auth::{Principal, Role};
use transparency::note::Signer;

use crate::common::audit::AuditLog;
use crate::common::failing_store::FailingStore;
use crate::common::*;
use crate::consent_events::{EVENT, Receiver};

const LIBRARY: &str = "vpl-library-card";
const LIBRARY_REDIRECT: &str = "http://127.0.0.1:8490/callback/vpl-library-card";
const EI_AGREEMENT: &str = "isa-esdc-ei-2025";
const OPERATOR: &str = "olive-operator-token";

/// A person in a browser of their own: the provider they sign in at and who they are there.
struct Person {
    http: reqwest::Client,
    provider: &'static str,
    hint: String,
}

impl Person {
    fn first(bed: &TestBed, provider: &'static str) -> Self {
        Self {
            http: browser(),
            provider,
            hint: bed.persons[provider].clone(),
        }
    }

    fn second_at_alberta() -> Self {
        Self {
            http: browser(),
            provider: "ab-account",
            hint: demo::provider::test_persons("CA-AB")[1].id.clone(),
        }
    }

    /// Signs in to `client`, agreeing and asking that the consent be remembered.
    async fn sign_in_to(&self, bed: &TestBed, client: &str, redirect: &str) {
        let walk = e2e::rp::Walk {
            provider: self.provider.into(),
            login_hint: Some(self.hint.clone()),
            remember: true,
            ..e2e::rp::Walk::default()
        };
        let req = AuthRequest::new(client, redirect).with("idp_hint", self.provider);
        let outcome = e2e::rp::browse(&self.http, &bed.broker_url, &req, &walk)
            .await
            .unwrap();
        assert!(outcome.params.contains_key("code"), "{:?}", outcome.params);
    }

    /// Follows the provider's sign-in from `upstream` (the broker sent the browser there) back
    /// through the broker's `/callback`; the broker's answer to the callback.
    async fn through_provider(&self, bed: &TestBed, upstream: &str) -> reqwest::Response {
        let mut upstream = url::Url::parse(upstream).unwrap();
        upstream
            .query_pairs_mut()
            .append_pair("login_hint", &self.hint);
        let r = self.http.get(upstream).send().await.unwrap();
        assert_eq!(r.status(), 303);
        let callback = location(&r);
        assert!(
            callback.starts_with(&format!("{}/callback", bed.broker_url)),
            "{callback}"
        );
        self.http.get(callback).send().await.unwrap()
    }

    /// Opens the record at `path` (`/my-record` or `/mon-dossier`): the sign-in page, the
    /// provider, and the record page's HTML.
    async fn open_record(&self, bed: &TestBed, path: &str) -> String {
        let page = self.get(bed, path).await;
        let csrf = e2e::rp::hidden(&page, "csrf").unwrap();
        let lang = e2e::rp::hidden(&page, "lang").unwrap();
        let r = self
            .http
            .post(format!("{}/my-record/sign-in", bed.broker_url))
            .form(&[
                ("csrf", csrf.as_str()),
                ("lang", &lang),
                ("provider", self.provider),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
        let upstream = location(&r);
        assert!(!upstream.contains("prompt=login"), "{upstream}");
        let r = self.through_provider(bed, &upstream).await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), path);
        self.get(bed, path).await
    }

    /// Signs in to Employment Insurance (remembered), opens the record and asks to withdraw
    /// that consent: its key on the record, and where the broker sends the person to sign in
    /// again.
    async fn asks_to_withdraw_employment_insurance(&self, bed: &TestBed) -> (String, String) {
        self.sign_in_to(bed, RP, RP_REDIRECT).await;
        self.open_record(bed, "/my-record").await;
        let key = format!("{RP} {EI_AGREEMENT} 1");
        let page = self
            .get(
                bed,
                &format!("/my-record/withdraw?consent={}", key.replace(' ', "%20")),
            )
            .await;
        let csrf = e2e::rp::hidden(&page, "csrf").unwrap();
        let r = self
            .post(
                bed,
                "/my-record/withdraw",
                &[("csrf", &csrf), ("consent", &key), ("reason", "other")],
            )
            .await;
        assert_eq!(r.status(), 303);
        (key, location(&r))
    }

    async fn get(&self, bed: &TestBed, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", bed.broker_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["cache-control"], "no-store");
        r.text().await.unwrap()
    }

    async fn post(&self, bed: &TestBed, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", bed.broker_url))
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

/// The references (disclosures' txns) a record page shows.
fn references(page: &str) -> Vec<String> {
    page.split("name=\"reference\" value=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// Every disclosure `page` shows is one of `person_key`'s, and there are `n`.
async fn shows_only(bed: &TestBed, page: &str, n: usize) -> String {
    let shown = references(page);
    assert_eq!(shown.len(), n, "{page}");
    let mut keys = std::collections::BTreeSet::new();
    for txn in &shown {
        let d = bed.broker.records.disclosure(txn).await.unwrap().unwrap();
        keys.insert(d.person_key);
    }
    assert_eq!(keys.len(), 1, "one person's records only");
    keys.into_iter().next().unwrap()
}

/// Nothing of the person's attribute values is on `page`.
fn no_values(page: &str, provider_jurisdiction: &str, hint: &str) {
    let persons = demo::provider::test_persons(provider_jurisdiction);
    let person = persons.iter().find(|p| p.id == hint).unwrap();
    for claim in ["given_name", "family_name", "birthdate", "email"] {
        if let Some(v) = person.claims.get(claim).and_then(Value::as_str) {
            assert!(!page.contains(v), "{claim} value {v:?} on the page");
        }
    }
}

#[tokio::test]
async fn a_person_sees_every_disclosure_of_their_own_and_nothing_of_anyone_else() {
    let bed = start(Options::default()).await;
    let amelie = Person::first(&bed, "ab-account");
    let neighbour = Person::second_at_alberta();
    // The same person's other account, at the federal provider: nothing links the two.
    let abroad = Person::first(&bed, "ircc-newcomers");
    amelie.sign_in_to(&bed, RP, RP_REDIRECT).await;
    amelie.sign_in_to(&bed, LIBRARY, LIBRARY_REDIRECT).await;
    neighbour.sign_in_to(&bed, RP, RP_REDIRECT).await;
    abroad.sign_in_to(&bed, RP, RP_REDIRECT).await;

    let page = amelie.open_record(&bed, "/my-record").await;
    assert!(page.contains("Employment Insurance"), "{page}");
    assert!(page.contains("Vancouver Public Library"), "{page}");
    assert!(page.contains("Given name, Family name"), "{page}");
    assert!(page.contains("Your consent"));
    assert!(
        page.contains("Level 2") || page.contains("Level 3"),
        "{page}"
    );
    let amelie_key = shows_only(&bed, &page, 2).await;
    no_values(&page, "CA-AB", &amelie.hint);
    // Newest first: the library, then Employment Insurance.
    assert!(
        page.find("Vancouver Public Library").unwrap() < page.find("Employment Insurance").unwrap()
    );

    let page = neighbour.open_record(&bed, "/my-record").await;
    let neighbour_key = shows_only(&bed, &page, 1).await;
    assert!(!page.contains("Vancouver Public Library"));
    no_values(&page, "CA-AB", &neighbour.hint);

    let page = abroad.open_record(&bed, "/mon-dossier").await;
    assert!(page.contains("<html lang=\"fr\">"), "{page}");
    assert!(page.contains("Qui a reçu votre identité"));
    let abroad_key = shows_only(&bed, &page, 1).await;
    assert!(
        !page.contains("Alberta"),
        "the other account's provider: {page}"
    );

    assert_ne!(amelie_key, neighbour_key);
    assert_ne!(amelie_key, abroad_key);

    // The export is what the page shows, in both forms.
    let json: Value =
        serde_json::from_str(&amelie.get(&bed, "/my-record/export.json?lang=en").await).unwrap();
    let rows = json.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["service"], "Vancouver Public Library card (demo)");
    assert_eq!(rows[1]["service"], "Employment Insurance (demo)");
    assert!(
        rows[1]["information"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "Given name")
    );
    assert_eq!(
        rows[0]["reference"],
        references(&amelie.get(&bed, "/my-record").await)[0].as_str()
    );
    let csv = amelie.get(&bed, "/my-record/export.csv?lang=fr").await;
    assert!(csv.starts_with("\"Référence\""), "{csv}");
    assert_eq!(csv.lines().count(), 3);
    no_values(&csv, "CA-AB", &amelie.hint);
    // Filtered by service: only the library's.
    let page = amelie
        .get(&bed, &format!("/my-record?service={LIBRARY}"))
        .await;
    assert_eq!(references(&page).len(), 1);
    let json: Value = serde_json::from_str(
        &amelie
            .get(&bed, &format!("/my-record/export.json?service={LIBRARY}"))
            .await,
    )
    .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    // A period before everything: nothing; a date that is not one: said, not guessed.
    let page = amelie
        .get(&bed, "/my-record?from=2020-01-01&to=2020-12-31")
        .await;
    assert!(references(&page).is_empty());
    let page = amelie.get(&bed, "/my-record?from=yesterday").await;
    assert!(page.contains("year-month-day"), "{page}");

    // A proof of another person's disclosure, or a report of it, is refused as not theirs.
    let theirs = references(&neighbour.get(&bed, "/my-record").await)[0].clone();
    let r = amelie
        .http
        .get(format!("{}/my-record/proof/{theirs}", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let page = amelie.get(&bed, "/my-record").await;
    let csrf = e2e::rp::hidden(&page, "csrf").unwrap();
    let r = amelie
        .post(
            &bed,
            "/my-record/report",
            &[("csrf", &csrf), ("reference", &theirs)],
        )
        .await;
    assert_eq!(r.status(), 404);
    assert!(
        bed.broker
            .records
            .disclosure_reports(10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn withdrawing_asks_a_fresh_sign_in_tells_the_service_and_the_next_login_asks_again() {
    let audit = AuditLog::capture();
    let receiver = Receiver::default();
    let bed = crate::consent_events::bed_with_receiver(&receiver).await;
    let amelie = Person::first(&bed, "ab-account");
    amelie.sign_in_to(&bed, RP, RP_REDIRECT).await;
    amelie.sign_in_to(&bed, LIBRARY, LIBRARY_REDIRECT).await;

    let page = amelie.open_record(&bed, "/my-record").await;
    let key = format!("{RP} {EI_AGREEMENT} 1");
    assert!(page.contains(&key.replace(' ', "%20")), "{page}");
    let page = amelie
        .get(
            &bed,
            &format!("/my-record/withdraw?consent={}", key.replace(' ', "%20")),
        )
        .await;
    assert!(
        page.contains("sign in again"),
        "the record's sign-in was not fresh: {page}"
    );
    let csrf = e2e::rp::hidden(&page, "csrf").unwrap();

    // A forged post (no token, or another form's) and a reason not on the list change nothing.
    let r = amelie
        .post(
            &bed,
            "/my-record/withdraw",
            &[("consent", &key), ("reason", "changed_mind")],
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = amelie
        .post(
            &bed,
            "/my-record/withdraw",
            &[("csrf", &csrf), ("consent", &key), ("reason", "free text")],
        )
        .await;
    assert_eq!(r.status(), 400);
    // Another browser, with this page's token, has no record open.
    let r = browser()
        .post(format!("{}/my-record/withdraw", bed.broker_url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("consent", &key),
            ("reason", "changed_mind"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(audit.all("consent.withdrawn").len(), 0);

    // The real one: to the provider with prompt=login, then withdrawn on the way back.
    let r = amelie
        .post(
            &bed,
            "/my-record/withdraw",
            &[
                ("csrf", &csrf),
                ("consent", &key),
                ("reason", "changed_mind"),
                ("lang", "en"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let upstream = location(&r);
    assert!(
        upstream.contains("prompt=login") && upstream.contains("max_age=0"),
        "{upstream}"
    );
    let r = amelie.through_provider(&bed, &upstream).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(location(&r), "/my-record?done=withdrawn#consents");
    let page = amelie.get(&bed, "/my-record?done=withdrawn").await;
    assert!(page.contains("Your consent was withdrawn"), "{page}");
    assert!(
        !page.contains(&key.replace(' ', "%20")),
        "no longer listed: {page}"
    );
    assert!(
        page.contains(&format!("{LIBRARY}%20")),
        "the other consent stays: {page}"
    );

    // The withdrawal record: date, reason, who (the fresh sign-in).
    let withdrawn = audit.one("consent.withdrawn");
    assert_eq!(withdrawn["client"], RP);
    assert_eq!(withdrawn["reason"], "changed_mind");
    assert_eq!(withdrawn["notified"], true);
    let signed_in = audit.all("record.signed_in");
    assert_eq!(signed_in.len(), 2);
    assert_eq!(signed_in[1]["fresh"], true);
    let d = bed
        .broker
        .records
        .disclosures_of(
            &bed.broker
                .records
                .disclosure(&references(&page)[0])
                .await
                .unwrap()
                .unwrap()
                .person_key,
            &Default::default(),
            10,
        )
        .await
        .unwrap();
    let ei = d.iter().find(|(_, d)| d.client_id == RP).unwrap();
    let history = bed
        .broker
        .records
        .consent_history(ConsentKey {
            subject: &ei.1.subject,
            client_id: RP,
            agreement_id: EI_AGREEMENT,
            agreement_version: 1,
        })
        .await
        .unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.decision, ConsentDecision::Withdrawn);
    assert_eq!(last.how, "by_the_person");
    assert_eq!(last.reason.as_deref(), Some("changed_mind"));
    assert_eq!(last.txn.as_deref(), withdrawn["sign_in"].as_str());

    // The service receives the signed event and verifies it with the broker's keys.
    let posts = receiver.wait_for(1).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].0, RP);
    let (claims, header) = bed.verify_id_token(&posts[0].3).await;
    assert_eq!(header["typ"], "secevent+jwt");
    assert_eq!(claims["sub_id"]["sub"], ei.1.subject.as_str());
    assert_eq!(claims["events"][EVENT]["reason"], "changed_mind");

    // The next login to the service asks again.
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let (status, page, _) =
        crate::trust_flow::to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(status, 200, "expected the consent page again: {page}");
    assert!(page.contains("Share your information"), "{page}");
}

#[tokio::test]
async fn a_store_failure_withdraws_nothing_and_says_so() {
    let store = Arc::new(FailingStore::default());
    let bed = start(Options {
        store: Some(store.clone()),
        ..Options::default()
    })
    .await;
    let amelie = Person::first(&bed, "ab-account");
    let (key, upstream) = amelie.asks_to_withdraw_employment_insurance(&bed).await;
    // The event cannot be queued: nothing is written, and the person is told to try again.
    store.fail_writes_of(broker::store::Kind::ConsentEvent);
    let r = amelie.through_provider(&bed, &upstream).await;
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    assert!(text.contains("Nothing was changed"), "{text}");
    let page = amelie.get(&bed, "/my-record").await;
    assert!(
        page.contains(&key.replace(' ', "%20")),
        "still remembered: {page}"
    );
}

#[tokio::test]
async fn this_wasnt_me_is_kept_for_the_operator_and_each_disclosure_has_a_proof() {
    let audit = AuditLog::capture();
    let witness = Signer::generate_witness("witness.example").unwrap();
    let bed = start(Options {
        admins: vec![Principal::new("olive", OPERATOR, [Role::Auditor])],
        witnesses: vec![witness.vkey()],
        ..Options::default()
    })
    .await;
    let amelie = Person::first(&bed, "ab-account");
    amelie.sign_in_to(&bed, RP, RP_REDIRECT).await;
    let page = amelie.open_record(&bed, "/my-record").await;
    let txn = references(&page)[0].clone();
    let csrf = e2e::rp::hidden(&page, "csrf").unwrap();

    // A forged report (no token) is refused.
    let r = amelie
        .post(&bed, "/my-record/report", &[("reference", &txn)])
        .await;
    assert_eq!(r.status(), 403);
    let r = amelie
        .post(
            &bed,
            "/my-record/report",
            &[("csrf", &csrf), ("reference", &txn), ("lang", "fr")],
        )
        .await;
    assert_eq!(r.status(), 200);
    let thanks = r.text().await.unwrap();
    assert!(thanks.contains("Merci de votre signalement"), "{thanks}");
    let reports = bed.broker.records.disclosure_reports(10).await.unwrap();
    assert_eq!(reports.len(), 1);
    assert!(thanks.contains(&reports[0].reference));
    assert_eq!(reports[0].txn, txn);
    assert_eq!(reports[0].client_id, RP);
    assert_eq!(
        audit.one("disclosure.reported")["reference"],
        reports[0].reference.as_str()
    );
    // Twice is one report, under one reference.
    amelie
        .post(
            &bed,
            "/my-record/report",
            &[("csrf", &csrf), ("reference", &txn)],
        )
        .await;
    assert_eq!(
        bed.broker
            .records
            .disclosure_reports(10)
            .await
            .unwrap()
            .len(),
        1
    );
    // The operator's list (admin API): the report, without the person's key.
    let listed: Value = http()
        .get(format!("{}/admin/reports", bed.broker_url))
        .bearer_auth(OPERATOR)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["reports"].as_array().unwrap().len(), 1);
    assert_eq!(
        listed["reports"][0]["reference"],
        reports[0].reference.as_str()
    );
    assert_eq!(listed["reports"][0]["txn"], txn.as_str());
    assert_eq!(listed["reports"][0]["provider_id"], "ab-account");
    assert!(listed["reports"][0].get("person_key").is_none());
    let r = http()
        .get(format!("{}/admin/reports", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let metrics = bed.page(format!("{}/metrics", bed.broker_url)).await;
    assert!(
        metrics.contains("broker_disclosure_reports_total"),
        "{metrics}"
    );

    // The proof: before a checkpoint holds the record, "try again"; then the bundle.
    bed.broker.records.flush_events().await.unwrap();
    broker::tlog::checkpointer::pass(&bed.broker).await.unwrap();
    let r = amelie
        .http
        .get(format!("{}/my-record/proof/{txn}", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let text = r.text().await.unwrap();
    let bundle: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bundle["format"], "pan-canadian-broker/inclusion-proof/v1");
    assert_eq!(bundle["record"]["table"], "disclosures");
    assert_eq!(bundle["record"]["txn"], txn.as_str());
    assert_eq!(bundle["witnessed"], false);
    // Checked offline as an auditor would, with the log's published key only.
    let keys: Vec<transparency::note::Verifier> = bed
        .broker
        .log
        .as_ref()
        .unwrap()
        .vkeys()
        .unwrap()
        .iter()
        .map(|k| transparency::note::Verifier::parse(k).unwrap())
        .collect();
    let bundle = transparency::proof::InclusionBundle::from_json(&text).unwrap();
    transparency::proof::verify_bundle(&bundle, &keys, &[]).unwrap();
    // Once a witness has cosigned a checkpoint that holds it, the proof is against that one.
    let note = bed.page(format!("{}/log/checkpoint", bed.broker_url)).await;
    let (cp, _) = transparency::checkpoint::open(&note, &keys).unwrap();
    let line = transparency::cosignature::cosign(&cp, &witness, 1_800_000_000).unwrap();
    let r = http()
        .post(format!("{}/log/cosignature", bed.broker_url))
        .body(format!("{note}{line}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let witnessed = amelie
        .http
        .get(format!("{}/my-record/proof/{txn}", bed.broker_url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let witnessed = transparency::proof::InclusionBundle::from_json(&witnessed).unwrap();
    assert!(witnessed.witnessed);
    let verified =
        transparency::proof::verify_bundle(&witnessed, &keys, &[witness.verifier()]).unwrap();
    assert_eq!(
        verified.witnessing,
        transparency::proof::Witnessing::Witnessed
    );
    assert_eq!(verified.witnessed_by[0].name, "witness.example");

    // Altered, it fails.
    let forged = text.replace(
        &format!("\"client_id\": \"{RP}\""),
        "\"client_id\": \"someone-else\"",
    );
    assert_ne!(forged, text);
    let forged = transparency::proof::InclusionBundle::from_json(&forged).unwrap();
    assert!(transparency::proof::verify_bundle(&forged, &keys, &[]).is_err());
    let page = amelie.get(&bed, "/my-record/proofs?lang=fr").await;
    assert!(page.contains("conformance log verify --proof"), "{page}");

    // Closing the record ends it: the next post has no record.
    let r = amelie
        .post(&bed, "/my-record/sign-out", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status(), 200);
    let r = amelie
        .post(
            &bed,
            "/my-record/report",
            &[("csrf", &csrf), ("reference", &txn)],
        )
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn postgresql_down_withdraws_nothing_and_the_consent_stays_until_it_returns() {
    let pg = e2e::postgres::PgServer::start().await.unwrap();
    let records = broker::records::Records::open(&pg.url(), 4, std::time::Duration::from_secs(2))
        .await
        .unwrap();
    let receiver = Receiver::default();
    let base = receiver.serve().await;
    let bed = start(Options {
        records: Some(records),
        edit_registry: Some(Box::new(move |text: String| {
            text.replace(
                "http://127.0.0.1:8490/security-events/",
                &format!("{base}/events/"),
            )
        })),
        ..Options::default()
    })
    .await;
    let amelie = Person::first(&bed, "ab-account");
    let (key, upstream) = amelie.asks_to_withdraw_employment_insurance(&bed).await;

    // The records stop while the person signs in again: nothing is withdrawn, nothing is sent,
    // and the person is told to try again.
    pg.stop().await.unwrap();
    let r = amelie.through_provider(&bed, &upstream).await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("Nothing was changed"));

    // Back: the consent is still remembered, and no service was told anything.
    pg.launch().await.unwrap();
    let mut page = String::new();
    for _ in 0..50 {
        let r = amelie
            .http
            .get(format!("{}/my-record", bed.broker_url))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            page = r.text().await.unwrap();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        page.contains(&key.replace(' ', "%20")),
        "still remembered: {page}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(receiver.posts().is_empty());
}
