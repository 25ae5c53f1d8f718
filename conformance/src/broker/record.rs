//! The person's record (`/my-record`), probed from a fresh browser: closed without a sign-in,
//! and its forms refusing a post without their token. The record's contents need a person's
//! sign-in at their provider, which the broker's own tests walk; what an auditor can check
//! from outside is that nothing leaks to a browser that has not signed in, and that a page on
//! another site cannot act through the person's browser.

use crate::catalogue::{BR_RECORD_CLOSED, BR_RECORD_FORGED_POST};
use crate::check::{Outcome, Report};
use crate::http::{Answer, Http};

use super::BrokerTarget;

pub(super) async fn run(report: &mut Report, target: &BrokerTarget) {
    let http = match Http::new(target.provider.ca_bundle.as_ref()) {
        Ok(h) => h,
        Err(e) => {
            let skip = Outcome::skipped(
                format!("no HTTP client: {e}"),
                format!("aucun client HTTP : {e}"),
            );
            report.record(&BR_RECORD_CLOSED, skip.clone(), Vec::new());
            report.record(&BR_RECORD_FORGED_POST, skip, Vec::new());
            return;
        }
    };
    let base = target.provider.issuer.trim_end_matches('/').to_owned();

    let mut evidence = Vec::new();
    let answer = http.get(&format!("{base}/my-record"), &mut evidence).await;
    report.record(&BR_RECORD_CLOSED, judge_closed(&answer), evidence);

    let mut evidence = Vec::new();
    let mut outcomes = Vec::new();
    for (path, form) in [
        (
            "/my-record/sign-in",
            vec![("provider", "any"), ("lang", "en")],
        ),
        (
            "/my-record/withdraw",
            vec![("consent", "client agreement 1"), ("reason", "other")],
        ),
        ("/my-record/report", vec![("reference", "a-login")]),
    ] {
        let request = http.client().post(format!("{base}{path}")).form(&form);
        let answer = http.send(request, &mut evidence).await;
        outcomes.push(judge_forged(path, &answer));
    }
    let problems = outcomes
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Fail(t) => Some(t),
            _ => None,
        })
        .collect();
    report.record(
        &BR_RECORD_FORGED_POST,
        Outcome::from_problems(problems),
        evidence,
    );
}

fn judge_closed(answer: &Result<Answer, String>) -> Outcome {
    let a = match answer {
        Ok(a) => a,
        Err(e) => {
            return Outcome::fail(
                format!("/my-record did not answer: {e}"),
                format!("/my-record n'a pas répondu : {e}"),
            );
        }
    };
    let mut missing: Vec<(&str, &str)> = Vec::new();
    if a.status != 200 {
        return Outcome::fail(
            format!(
                "/my-record answered HTTP {}, not its sign-in page",
                a.status
            ),
            format!(
                "/my-record a répondu HTTP {}, pas sa page de connexion",
                a.status
            ),
        );
    }
    if !a
        .header("cache-control")
        .is_some_and(|v| v.contains("no-store"))
    {
        missing.push(("Cache-Control: no-store", "Cache-Control: no-store"));
    }
    let framed_by_none = a
        .header("content-security-policy")
        .is_some_and(|v| v.contains("frame-ancestors 'none'"))
        || a.header("x-frame-options")
            .is_some_and(|v| v.eq_ignore_ascii_case("deny"));
    if !framed_by_none {
        missing.push((
            "frame-ancestors 'none' (or X-Frame-Options: DENY)",
            "frame-ancestors 'none' (ou X-Frame-Options: DENY)",
        ));
    }
    if !a.body.contains("action=\"/my-record/sign-in\"") || !a.body.contains("name=\"csrf\"") {
        missing.push((
            "a sign-in form with its token",
            "un formulaire de connexion avec son jeton",
        ));
    }
    if a.body.contains("name=\"reference\"") {
        missing.push((
            "nothing of a record (a disclosure is listed)",
            "rien d'un dossier (une communication est affichée)",
        ));
    }
    if missing.is_empty() {
        return Outcome::Pass;
    }
    let (en, fr): (Vec<&str>, Vec<&str>) = missing.into_iter().unzip();
    Outcome::fail(
        format!("/my-record without a sign-in lacks: {}", en.join("; ")),
        format!("/my-record sans connexion n'a pas : {}", fr.join("; ")),
    )
}

fn judge_forged(path: &str, answer: &Result<Answer, String>) -> Outcome {
    match answer {
        Ok(a) if a.status == 401 || a.status == 403 => Outcome::Pass,
        Ok(a) => Outcome::fail(
            format!(
                "POST {path} without its form token answered HTTP {}{}, not a refusal (401 or 403)",
                a.status,
                a.header("location")
                    .map(|l| format!(" to {l:?}"))
                    .unwrap_or_default()
            ),
            format!(
                "POST {path} sans le jeton de son formulaire a répondu HTTP {}{}, pas un refus (401 ou 403)",
                a.status,
                a.header("location")
                    .map(|l| format!(" vers {l:?}"))
                    .unwrap_or_default()
            ),
        ),
        Err(e) => Outcome::fail(
            format!("POST {path} did not answer: {e}"),
            format!("POST {path} n'a pas répondu : {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn answer(
        status: u16,
        headers: &[(&'static str, &'static str)],
        body: &str,
    ) -> Result<Answer, String> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        Ok(Answer {
            status,
            headers: map,
            body: body.to_owned(),
        })
    }

    const FORM: &str = r#"<form method="post" action="/my-record/sign-in"><input type="hidden" name="csrf" value="x">"#;

    #[test]
    fn a_closed_record_is_a_sign_in_form_not_stored_nor_framed() {
        let good = answer(
            200,
            &[
                ("cache-control", "no-store"),
                (
                    "content-security-policy",
                    "default-src 'none'; frame-ancestors 'none'",
                ),
            ],
            FORM,
        );
        assert_eq!(judge_closed(&good), Outcome::Pass);
        let cached = answer(200, &[("x-frame-options", "DENY")], FORM);
        assert!(matches!(judge_closed(&cached), Outcome::Fail(_)));
        let leaking = answer(
            200,
            &[("cache-control", "no-store"), ("x-frame-options", "DENY")],
            &format!("{FORM}<input name=\"reference\" value=\"t\">"),
        );
        assert!(matches!(judge_closed(&leaking), Outcome::Fail(_)));
        assert!(matches!(
            judge_closed(&answer(404, &[], "")),
            Outcome::Fail(_)
        ));
    }

    #[test]
    fn a_forged_post_must_be_refused_not_followed() {
        assert_eq!(judge_forged("/p", &answer(403, &[], "")), Outcome::Pass);
        assert_eq!(judge_forged("/p", &answer(401, &[], "")), Outcome::Pass);
        assert!(matches!(
            judge_forged(
                "/p",
                &answer(303, &[("location", "https://idp.example/authorize")], "")
            ),
            Outcome::Fail(_)
        ));
        assert!(matches!(
            judge_forged("/p", &answer(200, &[], "")),
            Outcome::Fail(_)
        ));
    }
}
