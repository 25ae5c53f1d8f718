//! A self-contained HTML page (inline style, no script, no external resource): summary, then
//! each check with its rule, result, reason and evidence, in English and French side by side.

use super::{escape, exchange_text};
use crate::check::{Outcome, Report};

fn result_label(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Pass => ("Pass", "Réussi"),
        Outcome::Fail(_) => ("Fail", "Échec"),
        Outcome::Warning(_) => ("Warning", "Avertissement"),
        Outcome::Skipped(_) => ("Skipped", "Non exécuté"),
    }
}

fn profile_label(profile: &str) -> (&'static str, &'static str) {
    match profile {
        "provider" => ("identity provider", "fournisseur d'identité"),
        "broker" => ("broker", "courtier"),
        _ => ("registry", "registre"),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1b1b}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:left}\
.pass{background:#e6f4ea}.fail{background:#fce8e6}.warning{background:#fef7e0}.skipped{background:#f1f3f4}\
.fr{color:#444;font-style:italic}pre{white-space:pre-wrap;word-break:break-all;font-size:.8rem;background:#f8f8f8;padding:.5rem}\
.verdict{font-size:1.3rem;font-weight:bold}";

pub fn html(report: &Report) -> String {
    let s = report.summary();
    let (p_en, p_fr) = profile_label(report.subject.profile());
    let time = report
        .time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let (v_en, v_fr, v_class) = if report.passed() {
        (
            "Conformant: no required check failed",
            "Conforme : aucune vérification obligatoire n'a échoué",
            "pass",
        )
    } else {
        (
            "Not conformant: a required check failed",
            "Non conforme : une vérification obligatoire a échoué",
            "fail",
        )
    };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Conformance report / Rapport de conformité</title><style>{STYLE}</style></head><body>\n\
<h1>Conformance report <span class=\"fr\" lang=\"fr\">/ Rapport de conformité</span></h1>\n\
<p>Profile: {p_en} <span class=\"fr\" lang=\"fr\">/ Profil : {p_fr}</span><br>\
Subject <span class=\"fr\" lang=\"fr\">/ Objet</span>: <code>{subject}</code><br>\
Time <span class=\"fr\" lang=\"fr\">/ Date</span>: {time}</p>\n\
<p class=\"verdict {v_class}\">{v_en} <span class=\"fr\" lang=\"fr\">/ {v_fr}</span></p>\n\
<h2>Summary <span class=\"fr\" lang=\"fr\">/ Sommaire</span></h2>\n<table><tr>\
<th>Pass <span class=\"fr\" lang=\"fr\">/ Réussi</span></th>\
<th>Fail <span class=\"fr\" lang=\"fr\">/ Échec</span></th>\
<th>of which required <span class=\"fr\" lang=\"fr\">/ dont obligatoires</span></th>\
<th>Warning <span class=\"fr\" lang=\"fr\">/ Avertissement</span></th>\
<th>Skipped <span class=\"fr\" lang=\"fr\">/ Non exécuté</span></th></tr>\
<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>\n\
<h2>Checks <span class=\"fr\" lang=\"fr\">/ Vérifications</span></h2>\n<table>\
<tr><th>Id</th><th>Check <span class=\"fr\" lang=\"fr\">/ Vérification</span></th>\
<th>Rule <span class=\"fr\" lang=\"fr\">/ Règle</span></th>\
<th>Result <span class=\"fr\" lang=\"fr\">/ Résultat</span></th></tr>\n",
        s.pass,
        s.fail,
        s.required_fail,
        s.warning,
        s.skipped,
        subject = escape(report.subject.name()),
    );
    for c in &report.checks {
        let (r_en, r_fr) = result_label(&c.outcome);
        let required = if c.required {
            ""
        } else {
            " (recommended <span class=\"fr\" lang=\"fr\">/ recommandé</span>)"
        };
        let reason = c
            .outcome
            .reason()
            .map(|r| {
                format!(
                    "<br>{} <br><span class=\"fr\" lang=\"fr\">{}</span>",
                    escape(&r.en),
                    escape(&r.fr)
                )
            })
            .unwrap_or_default();
        let evidence = if c.evidence.is_empty() {
            String::new()
        } else {
            let text: String = c
                .evidence
                .iter()
                .map(exchange_text)
                .collect::<Vec<_>>()
                .join("\n----\n");
            format!(
                "<details><summary>Evidence ({n} HTTP exchanges) <span class=\"fr\" lang=\"fr\">/ Preuves ({n} échanges HTTP)</span></summary><pre>{}</pre></details>",
                escape(&text),
                n = c.evidence.len()
            )
        };
        out.push_str(&format!(
            "<tr class=\"{class}\" id=\"{id}\"><td><code>{id}</code></td><td>{t_en}<br><span class=\"fr\" lang=\"fr\">{t_fr}</span>{required}{evidence}</td>\
<td>{rule}</td><td><strong>{r_en}</strong> <span class=\"fr\" lang=\"fr\">/ {r_fr}</span>{reason}</td></tr>\n",
            class = c.outcome.name(),
            id = escape(c.id),
            t_en = escape(&c.title.en),
            t_fr = escape(&c.title.fr),
            rule = escape(c.rule),
        ));
    }
    out.push_str("</table>\n<p>Secrets (client secrets, codes, tokens, code verifiers, Authorization and cookie values) are replaced by [redacted]; bodies are cut at 4 KB. \
<span class=\"fr\" lang=\"fr\">Les secrets (secrets de client, codes, jetons, vérificateurs de code, valeurs Authorization et témoins) sont remplacés par [redacted]; les corps sont coupés à 4 Ko.</span></p>\n</body></html>\n");
    out
}
