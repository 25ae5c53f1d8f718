//! The trust framework in the flow: consent, notice, levels, agreements and suspensions that
//! change mid-flow, minimisation, remembered choices, and the citizen pages' protections.

use std::collections::HashMap;

use crate::common::audit::AuditLog;
use crate::common::*;
use demo::provider::Fault;

/// Walks to the page the broker shows after the provider (consent, notice or picker).
pub(crate) async fn to_page_after_provider(
    bed: &TestBed,
    req: &AuthRequest,
    provider: &str,
) -> (u16, String, HashMap<String, String>) {
    let mut r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    if r.status() == 200 {
        let html = r.text().await.unwrap();
        r = choose(bed, &html, provider, false).await;
    }
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let mut upstream = url::Url::parse(&location(&r)).unwrap();
    let upstream_query: HashMap<String, String> = upstream.query_pairs().into_owned().collect();
    upstream
        .query_pairs_mut()
        .append_pair("login_hint", &bed.persons[provider]);
    let r = bed.http.get(upstream).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = bed.http.get(location(&r)).send().await.unwrap();
    let status = r.status().as_u16();
    let body = if status == 303 {
        location(&r)
    } else {
        r.text().await.unwrap()
    };
    (status, body, upstream_query)
}

async fn choose(bed: &TestBed, picker: &str, provider: &str, remember: bool) -> reqwest::Response {
    let mut form = vec![
        ("txn", e2e::rp::hidden(picker, "txn").unwrap()),
        ("csrf", e2e::rp::hidden(picker, "csrf").unwrap()),
        ("lang", "en".to_owned()),
        ("provider", provider.to_owned()),
    ];
    if remember {
        form.push(("remember", "1".into()));
    }
    bed.http
        .post(format!("{}/authorize/select", bed.broker_url))
        .form(&form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn decide(
    bed: &TestBed,
    consent: &str,
    decision: &str,
    remember: bool,
    csrf: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![
        ("txn", e2e::rp::hidden(consent, "txn").unwrap()),
        (
            "csrf",
            csrf.map(str::to_owned)
                .unwrap_or_else(|| e2e::rp::hidden(consent, "csrf").unwrap()),
        ),
        ("lang", "en".to_owned()),
        ("decision", decision.to_owned()),
    ];
    if remember {
        form.push(("remember", "1".into()));
    }
    bed.http
        .post(format!("{}/consent", bed.broker_url))
        .form(&form)
        .send()
        .await
        .unwrap()
}

fn ei() -> AuthRequest {
    AuthRequest::new(RP, RP_REDIRECT)
}

#[tokio::test]
async fn consent_refused_gives_access_denied_and_no_code() {
    let bed = start(Options::default()).await;
    let req = ei().with("idp_hint", "ab-account");
    let (status, consent, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(status, 200);
    assert!(
        consent.contains("Share your information with Employment Insurance (demo)?"),
        "{consent}"
    );
    let r = decide(&bed, &consent, "deny", false, None).await;
    assert_eq!(r.status(), 303);
    let q = query(&location(&r));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], req.state);
    assert!(!q.contains_key("code"));
    // The decision was one-time: replaying the form changes nothing.
    let again = decide(&bed, &consent, "share", false, None).await;
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn the_consent_page_speaks_french_and_names_service_purpose_provider_and_each_attribute() {
    let bed = start(Options::default()).await;
    let req = ei()
        .with("idp_hint", "ab-account")
        .with("ui_locales", "fr-CA");
    let (_, page, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    for expected in [
        "lang=\"fr\"",
        "Communiquer vos renseignements au service Assurance-emploi (démo)?",
        "Pour confirmer votre identité lorsque vous présentez une demande de prestations d&#39;assurance-emploi.",
        "Compte Alberta.ca (démo)",
        "Prénom",
        "Nom de famille",
        "Date de naissance",
        "Adresse",
        "Amélie",
        "Ne pas communiquer",
        "7 ans",
        "Raison de la collecte",
        "English",
    ] {
        assert!(page.contains(expected), "{expected:?} missing from {page}");
    }
    // Nothing outside the agreement is shown, because nothing outside it is released.
    assert!(
        !page.contains("Genre") && !page.contains("courriel"),
        "{page}"
    );
}

/// The language the person chooses on the picker is kept for the rest of the login: the
/// provider is asked for it, the consent page speaks it, and a refusal's `error_description`
/// is in it for a service whose `ui_locales` named it (in English for one that did not).
#[tokio::test]
async fn the_language_chosen_on_the_picker_is_kept_to_the_end() {
    // Two logins in one browser, each through the picker: the session may not stand in.
    let bed = start(Options {
        sessions: without_reuse(),
        ..Options::default()
    })
    .await;
    for (ui_locales, expected) in [
        ("en", "the person chose not to share their information"),
        (
            "en fr",
            "La personne a choisi de ne pas communiquer ses renseignements.",
        ),
    ] {
        let req = ei().with("ui_locales", ui_locales);
        let picker = bed.page(req.url(&bed.broker_url)).await;
        assert!(picker.contains("lang=\"en\""), "{picker}");
        let txn = e2e::rp::hidden(&picker, "txn").unwrap();
        let french = bed
            .page(format!(
                "{}/authorize/select?txn={txn}&lang=fr",
                bed.broker_url
            ))
            .await;
        assert!(french.contains("<html lang=\"fr\">"), "{french}");
        let r = bed
            .http
            .post(format!("{}/authorize/select", bed.broker_url))
            .form(&[
                ("txn", txn),
                ("csrf", e2e::rp::hidden(&french, "csrf").unwrap()),
                ("lang", "fr".to_owned()),
                ("provider", "ab-account".to_owned()),
            ])
            .send()
            .await
            .unwrap();
        let mut upstream = url::Url::parse(&location(&r)).unwrap();
        assert_eq!(query(upstream.as_str())["ui_locales"], "fr-CA fr");
        upstream
            .query_pairs_mut()
            .append_pair("login_hint", &bed.persons["ab-account"]);
        let r = bed.http.get(upstream).send().await.unwrap();
        let consent = bed.page(location(&r)).await;
        assert!(
            consent.contains("<html lang=\"fr\">") && consent.contains("Ne pas communiquer"),
            "{consent}"
        );
        let r = bed
            .http
            .post(format!("{}/consent", bed.broker_url))
            .form(&[
                ("txn", e2e::rp::hidden(&consent, "txn").unwrap()),
                ("csrf", e2e::rp::hidden(&consent, "csrf").unwrap()),
                ("lang", "fr".to_owned()),
                ("decision", "deny".to_owned()),
            ])
            .send()
            .await
            .unwrap();
        let q = query(&location(&r));
        assert_eq!(q["error"], "access_denied");
        assert_eq!(q["error_description"], expected, "{ui_locales}");
    }
}

#[tokio::test]
async fn a_notice_agreement_tells_and_does_not_ask() {
    let bed = start(Options::default()).await;
    let req = AuthRequest::new(
        "cra-my-account",
        "http://127.0.0.1:8490/callback/cra-my-account",
    )
    .with("idp_hint", "ab-account");
    let (status, page, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Information that will be shared with CRA My Account (demo)"),
        "{page}"
    );
    assert!(
        page.contains(">Continue<") && !page.contains("name=\"remember\""),
        "{page}"
    );
    // The law the notice relies on is named and linked.
    assert!(
        page.contains(
            "<a href=\"https://laws-lois.justice.gc.ca/eng/acts/I-3.3/\">Income Tax Act</a>"
        ),
        "{page}"
    );
    let r = decide(&bed, &page, "share", false, None).await;
    assert!(query(&location(&r)).contains_key("code"));
}

#[tokio::test]
async fn a_remembered_consent_is_reused_only_for_the_same_agreement_version() {
    let audit = AuditLog::capture();
    let bed = start(Options {
        sessions: without_reuse(),
        ..Options::default()
    })
    .await;
    let req = ei().with("idp_hint", "ab-account");
    let (_, page, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    let r = decide(&bed, &page, "share", true, None).await;
    assert!(query(&location(&r)).contains_key("code"));

    // Same person, service, agreement version and attributes: no page.
    let req = ei().with("idp_hint", "ab-account");
    let (status, to, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(
        status, 303,
        "expected the remembered consent to be used: {to}"
    );
    assert!(query(&to).contains_key("code"));
    // The audit trail tells the two apart: given (and remembered), then reused for the second
    // login, under that login's own txn, naming the agreement version it was given for.
    let given = audit.one("consent.given");
    assert_eq!(given["remembered"], true);
    let reused = audit.one("consent.reused");
    assert_eq!(reused["txn"], audit.all("policy.decided")[1]["txn"]);
    assert_ne!(reused["txn"], given["txn"]);
    assert_eq!(reused["client"], RP);
    assert_eq!(reused["agreement"], "isa-esdc-ei-2025");
    assert_eq!(reused["agreement_version"], 1);

    // Other attributes: asked again.
    let mut fewer = ei().with("idp_hint", "ab-account");
    fewer.scope = "openid address".into();
    let (status, _, _) = to_page_after_provider(&bed, &fewer, "ab-account").await;
    assert_eq!(status, 200);

    // The agreement is amended (version 2): asked again.
    bed.edit_registry(|t| {
        t.replacen(
            "id = \"isa-esdc-ei-2025\"\nversion = 1",
            "id = \"isa-esdc-ei-2025\"\nversion = 2",
            1,
        )
    });
    let req = ei().with("idp_hint", "ab-account");
    let (status, _, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(status, 200, "an amended agreement must ask again");
    audit.one("consent.reused");
}

#[tokio::test]
async fn a_forged_consent_post_or_one_from_another_browser_is_refused_and_changes_nothing() {
    let bed = start(Options::default()).await;
    let req = ei().with("idp_hint", "ab-account");
    let (_, page, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    let r = decide(&bed, &page, "share", false, Some("forged")).await;
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    // The page's own token, posted from another browser (no binding cookie, or another one),
    // is refused the same way: the token is bound to the browser that was shown the page.
    let form = [
        ("txn", e2e::rp::hidden(&page, "txn").unwrap()),
        ("csrf", e2e::rp::hidden(&page, "csrf").unwrap()),
        ("lang", "en".to_owned()),
        ("decision", "share".to_owned()),
    ];
    let url = format!("{}/consent", bed.broker_url);
    let other = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = format!("pcb_browser={}", "o".repeat(43));
    for request in [
        other.post(&url).form(&form),
        other.post(&url).header("cookie", cookie).form(&form),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        assert!(r.text().await.unwrap().contains("CSRF"));
    }
    // The real form still works afterwards.
    let r = decide(&bed, &page, "share", false, None).await;
    assert!(query(&location(&r)).contains_key("code"));
}

#[tokio::test]
async fn attributes_beyond_the_agreement_are_neither_asked_upstream_nor_released() {
    let bed = start(Options::default()).await;
    let mut req = ei()
        .with("idp_hint", "ab-account")
        .with("claims", r#"{"id_token":{"gender":null,"birthdate":null}}"#);
    req.scope = "openid email address".into();
    let (_, page, upstream) = to_page_after_provider(&bed, &req, "ab-account").await;
    let asked = &upstream["claims"];
    assert!(
        asked.contains("birthdate") && asked.contains("address"),
        "{asked}"
    );
    assert!(
        !asked.contains("email") && !asked.contains("gender"),
        "asked upstream beyond the agreement: {asked}"
    );
    assert!(
        !upstream["scope"].contains("email"),
        "{:?}",
        upstream["scope"]
    );
    let r = decide(&bed, &page, "share", false, None).await;
    let code = query(&location(&r))["code"].clone();
    let (_, body) = bed.redeem(&req, &code, RP_SECRET).await;
    let (claims, _) = bed
        .verify_id_token(body["id_token"].as_str().unwrap())
        .await;
    assert!(claims.contains_key("birthdate") && claims.contains_key("address"));
    assert!(
        !claims.contains_key("email") && !claims.contains_key("gender"),
        "{claims:?}"
    );
}

#[tokio::test]
async fn an_agreement_that_expires_mid_flow_stops_the_flow() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = ei().with("idp_hint", "ab-account");
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    assert_eq!(r.status(), 303);
    // While the person is at the provider, the agreement reaches its end.
    bed.edit_registry(|t| {
        t.replacen(
            "not_before = \"2025-01-01T00:00:00Z\"\nnot_after = \"2030-01-01T00:00:00Z\"\nretention_days = 2555\n\n# A student",
            "not_before = \"2025-01-01T00:00:00Z\"\nnot_after = \"2026-01-01T00:00:00Z\"\nretention_days = 2555\n\n# A student",
            1,
        )
    });
    let outcome = finish_at_provider(&bed, &req, r, "ab-account").await;
    assert_eq!(outcome["error"], "access_denied");
    assert!(
        outcome["error_description"].contains("expired"),
        "{outcome:?}"
    );
    refused_at_release(&audit, "expired");
}

#[tokio::test]
async fn a_terminated_agreement_mid_flow_stops_the_flow() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = ei().with("idp_hint", "ab-account");
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    bed.edit_registry(|t| {
        t.replacen(
            "retention_days = 2555\n",
            "retention_days = 2555\nstatus = \"terminated\"\nstatus_reason = \"program ended\"\n",
            1,
        )
    });
    let outcome = finish_at_provider(&bed, &req, r, "ab-account").await;
    assert_eq!(outcome["error"], "access_denied");
    assert!(
        outcome["error_description"].contains("terminated"),
        "{outcome:?}"
    );
    refused_at_release(&audit, "terminated");
}

#[tokio::test]
async fn a_provider_suspended_mid_flow_stops_the_flow() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = ei().with("idp_hint", "ab-account");
    let r = bed.http.get(req.url(&bed.broker_url)).send().await.unwrap();
    bed.edit_registry(|t| {
        t.replacen(
            "status = \"active\"",
            "status = \"suspended\"\nstatus_reason = \"security incident\"",
            1,
        )
    });
    let outcome = finish_at_provider(&bed, &req, r, "ab-account").await;
    assert_eq!(outcome["error"], "access_denied");
    assert!(
        outcome["error_description"].contains("suspended"),
        "{outcome:?}"
    );
    refused_at_release(&audit, "suspended");
    // And the next request does not route there at all.
    let r = bed
        .http
        .get(ei().with("idp_hint", "ab-account").url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(query(&location(&r))["error"], "access_denied");
}

#[tokio::test]
async fn a_provider_suspended_while_the_person_reads_the_consent_page_releases_nothing() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let req = ei().with("idp_hint", "ab-account");
    let (status, page, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(status, 200);
    // The person reads; meanwhile the provider is suspended.
    bed.edit_registry(|t| {
        t.replacen(
            "status = \"active\"",
            "status = \"suspended\"\nstatus_reason = \"key compromise reported\"",
            1,
        )
    });
    let r = decide(&bed, &page, "share", true, None).await;
    let q = query(&location(&r));
    assert_eq!(q["error"], "access_denied", "{q:?}");
    assert!(q["error_description"].contains("suspended"), "{q:?}");
    assert!(!q.contains_key("code"));
    let refused = audit.one("release.refused");
    assert!(refused["refusal"].as_str().unwrap().contains("suspended"));
    // No disclosure, no consent record: nothing went out.
    assert!(
        bed.broker
            .records
            .disclosed_txns()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_service_suspended_while_the_person_reads_the_consent_page_gets_nothing() {
    let bed = start(Options::default()).await;
    let req = ei().with("idp_hint", "ab-account");
    let (_, page, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    bed.edit_registry(|t| {
        t.replacen(
            "client_id = \"esdc-employment-insurance\"\n",
            "client_id = \"esdc-employment-insurance\"\nstatus = \"suspended\"\nstatus_reason = \"incident\"\n",
            1,
        )
    });
    let r = decide(&bed, &page, "share", false, None).await;
    let q = query(&location(&r));
    assert_eq!(q["error"], "unauthorized_client", "{q:?}");
    assert!(
        bed.broker
            .records
            .disclosed_txns()
            .await
            .unwrap()
            .is_empty()
    );
}

/// The login's audit trail ends at the release, refused for a reason that says `why`: the
/// registry changed while the person was at the provider.
fn refused_at_release(audit: &AuditLog, why: &str) {
    let events = audit.events();
    assert_eq!(
        audit.names()[..3],
        ["policy.decided", "upstream.sent", "release.refused"]
    );
    assert!(
        events[..3].iter().all(|e| e["txn"] == events[0]["txn"]),
        "{events:?}"
    );
    let refusal = events[2]["refusal"].as_str().unwrap();
    assert!(refusal.contains(why), "{refusal:?} should say {why:?}");
}

/// From the broker's redirect to the provider, to the relying party's redirect (no consent
/// page expected: these flows stop before it).
async fn finish_at_provider(
    bed: &TestBed,
    _req: &AuthRequest,
    r: reqwest::Response,
    provider: &str,
) -> HashMap<String, String> {
    let mut upstream = url::Url::parse(&location(&r)).unwrap();
    upstream
        .query_pairs_mut()
        .append_pair("login_hint", &bed.persons[provider]);
    let r = bed.http.get(upstream).send().await.unwrap();
    let r = bed.http.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    query(&location(&r))
}

#[tokio::test]
async fn a_login_below_the_level_offers_another_provider_that_can_meet_it() {
    let audit = AuditLog::capture();
    let bed = start(Options {
        faults: HashMap::from([("ab-account", Fault::AcrOverride("urn:ab:aca:basic".into()))]),
        ..Options::default()
    })
    .await;
    let req = ei();
    let (status, page, _) = to_page_after_provider(&bed, &req, "ab-account").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("could not confirm your identity at the level"),
        "{page}"
    );
    assert!(
        !page.contains("value=\"ab-account\""),
        "the provider that fell short is offered again: {page}"
    );
    assert!(page.contains("value=\"qc-sqin\""));
    let r = choose(&bed, &page, "qc-sqin", false).await;
    let mut upstream = url::Url::parse(&location(&r)).unwrap();
    upstream
        .query_pairs_mut()
        .append_pair("login_hint", &bed.persons["qc-sqin"]);
    let r = bed.http.get(upstream).send().await.unwrap();
    let r = bed.http.get(location(&r)).send().await.unwrap();
    let consent = r.text().await.unwrap();
    let r = decide(&bed, &consent, "share", false, None).await;
    let q = query(&location(&r));
    let (_, body) = bed.redeem(&req, &q["code"], RP_SECRET).await;
    let (claims, _) = bed
        .verify_id_token(body["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["acr"], "urn:pctf:loa:2");
    assert_eq!(
        claims["verified_claims"]["verification"]["attesting_provider"],
        "qc-sqin"
    );

    // The audit trail follows the person from the refused login to the one that succeeded:
    // the retry is a login of its own, and its step_up.offered names the refused one.
    let events = audit.events();
    assert_eq!(
        audit.names(),
        [
            "policy.decided",
            "provider.chosen",
            "upstream.sent",
            "release.refused",
            "step_up.offered",
            "provider.chosen",
            "upstream.sent",
            "release.granted",
            "session.started",
            "consent.given",
            "token.issued",
        ]
    );
    let (refused, retry) = (&events[0]["txn"], &events[4]["txn"]);
    assert_ne!(refused, retry);
    assert!(
        events[..4].iter().all(|e| &e["txn"] == refused),
        "{events:?}"
    );
    assert!(events[4..].iter().all(|e| &e["txn"] == retry), "{events:?}");
    assert_eq!(events[3]["provider"], "ab-account");
    assert!(
        events[3]["refusal"].as_str().unwrap().contains("level"),
        "{}",
        events[3]
    );
    assert_eq!(&events[4]["refused_txn"], refused);
    assert_eq!(events[4]["failed_provider"], "ab-account");
    let offered = events[4]["offered"].as_str().unwrap();
    assert!(offered.split(' ').any(|p| p == "qc-sqin"), "{offered}");
    assert!(!offered.split(' ').any(|p| p == "ab-account"), "{offered}");
    assert_eq!(events[5]["provider"], "qc-sqin");
    assert_eq!(events[7]["provider"], "qc-sqin");
    assert_eq!(events[7]["level_achieved"], "urn:pctf:loa:2");
}

#[tokio::test]
async fn a_remembered_choice_skips_the_picker_until_the_service_asks_again() {
    let audit = AuditLog::capture();
    let bed = start(Options::default()).await;
    let html = bed.page(ei().url(&bed.broker_url)).await;
    let r = choose(&bed, &html, "bc-services-card", true).await;
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("pcb_idp=bc-services-card"))
    );
    let r = bed
        .http
        .get(ei().url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        303,
        "the remembered choice should skip the picker"
    );
    assert!(location(&r).starts_with(&bed.providers["bc-services-card"]));
    // Chosen by the person (to be remembered), then used for them: both in the audit trail.
    let chosen = audit.one("provider.chosen");
    assert_eq!(chosen["provider"], "bc-services-card");
    assert_eq!(chosen["remembered"], true);
    let remembered = audit.one("provider.remembered");
    assert_eq!(remembered["provider"], "bc-services-card");
    assert_eq!(remembered["txn"], audit.all("policy.decided")[1]["txn"]);
    let r = bed
        .http
        .get(ei().with("prompt", "select_account").url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "prompt=select_account shows the picker again"
    );
    // A remembered provider that is not eligible (level 3) is ignored.
    let r = bed
        .http
        .get(
            ei().with("acr_values", "urn:pctf:loa:3")
                .url(&bed.broker_url),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_login_hint_naming_a_jurisdiction_skips_the_picker() {
    let bed = start(Options::default()).await;
    let r = bed
        .http
        .get(
            ei().with("login_hint", "CA-QC:qc-marie-eve-gagnon")
                .url(&bed.broker_url),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = location(&r);
    assert!(to.starts_with(&bed.providers["qc-sqin"]), "{to}");
    assert_eq!(
        query(&to)["login_hint"],
        "qc-marie-eve-gagnon",
        "only the part after the prefix goes upstream"
    );
}

#[tokio::test]
async fn citizen_pages_are_protected() {
    let bed = start(Options::default()).await;
    let picker = bed
        .http
        .get(ei().url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    let error = bed
        .http
        .get(format!("{}/authorize?client_id=nobody", bed.broker_url))
        .send()
        .await
        .unwrap();
    for r in [&picker, &error] {
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{csp}"
        );
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["cache-control"], "no-store");
    }
    // The picker form is CSRF-protected too.
    let html = picker.text().await.unwrap();
    let r = bed
        .http
        .post(format!("{}/authorize/select", bed.broker_url))
        .form(&[
            ("txn", e2e::rp::hidden(&html, "txn").unwrap()),
            ("csrf", "forged".into()),
            ("provider", "ab-account".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
    assert!(!html.contains("<script"), "pages carry no script");
}
