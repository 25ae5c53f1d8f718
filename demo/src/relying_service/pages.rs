//! The relying service's pages: the list of services, the result of a sign-in, and errors.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use super::callback::{SignedIn, cookie};
use super::error::RpError;
use super::logout;
use super::{RelyingService, SESSION_COOKIE, ServiceClient};
use crate::html::{self, FormAction, Lang, Page, escape};
use crate::util::parse_params;

const SITE: (&str, &str) = (
    "Government services (demo)",
    "Services gouvernementaux (démo)",
);

pub(super) fn page(lang: Lang, title: &str, body: String, form_action: FormAction) -> Page<'_> {
    Page {
        lang,
        site: lang.pick(SITE.0, SITE.1),
        title,
        body,
        switch_href: html::href("/", &[], lang.other()),
        form_action,
    }
}

pub(super) fn back_link(lang: Lang) -> String {
    format!(
        "<p><a href=\"{}\">{}</a></p>",
        escape(&html::href("/", &[], lang)),
        lang.pick("Back to the services", "Retour aux services")
    )
}

/// `GET /`: the services, each with a sign-in form.
pub(super) async fn index(
    State(service): State<Arc<RelyingService>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_params(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    let levels = [
        ("1", "little confidence", "faible confiance"),
        ("2", "some confidence", "confiance modérée"),
        ("3", "high confidence", "confiance élevée"),
        ("4", "very high confidence", "très haute confiance"),
    ];
    let options: String = levels
        .iter()
        .map(|(n, en, fr)| {
            format!(
                "<option value=\"urn:pctf:loa:{n}\">{} {n} – {}</option>",
                lang.pick("Level", "Niveau"),
                lang.pick(en, fr)
            )
        })
        .collect();
    let cards: String = service
        .config
        .clients
        .iter()
        .enumerate()
        .map(|(i, client)| {
            format!(
                "<li><h2>{name}</h2><p class=\"muted\">client_id <code>{id}</code></p>\
<form method=\"get\" action=\"/login/{path}\">\
<input type=\"hidden\" name=\"lang\" value=\"{lang_code}\">\
<label for=\"acr-{i}\">{level}</label>\
<select id=\"acr-{i}\" name=\"acr_values\"><option value=\"\">{any}</option>{options}</select>\
<label for=\"idp-{i}\">{idp}</label>\
<input id=\"idp-{i}\" name=\"idp_hint\" type=\"text\" autocomplete=\"off\" aria-describedby=\"idp-help-{i}\">\
<p id=\"idp-help-{i}\" class=\"muted\">{idp_help}</p>\
<label for=\"hint-{i}\">{hint}</label>\
<input id=\"hint-{i}\" name=\"login_hint\" type=\"text\" autocomplete=\"off\" aria-describedby=\"hint-help-{i}\">\
<p id=\"hint-help-{i}\" class=\"muted\">{hint_help}</p>\
<button type=\"submit\">{sign_in}</button></form></li>",
                name = escape(client.name(lang)),
                id = escape(&client.client_id),
                path = escape(&urlencoding::encode(&client.client_id)),
                lang_code = lang.code(),
                level = lang.pick("Level of assurance", "Niveau d'assurance"),
                any = lang.pick("As the agreement requires", "Selon l'entente"),
                idp = lang.pick("Identity provider (optional)", "Fournisseur d'identité (facultatif)"),
                idp_help = lang.pick(
                    "A jurisdiction code such as CA-AB, or a provider id (idp_hint).",
                    "Un code de juridiction comme CA-AB, ou l'identifiant d'un fournisseur (idp_hint)."
                ),
                hint = lang.pick("Test person (optional)", "Personne de test (facultatif)"),
                hint_help = lang.pick(
                    "A test person's identifier such as ab-amelie-tremblay (login_hint).",
                    "L'identifiant d'une personne de test comme ab-amelie-tremblay (login_hint)."
                ),
                sign_in = lang.pick("Sign in", "Se connecter"),
            )
        })
        .collect();
    let body = format!(
        "<p>{}</p>\n<ul class=\"cards\">{cards}</ul>",
        lang.pick(
            "Each service below confirms who you are through the pan-Canadian identity broker.",
            "Chaque service ci-dessous confirme votre identité par le courtier d'identité pancanadien."
        )
    );
    html::render(
        StatusCode::OK,
        page(
            lang,
            lang.pick("Sign in to a service", "Se connecter à un service"),
            body,
            FormAction::RedirectChain,
        ),
    )
}

/// A failed sign-in.
pub(super) fn error_page(lang: Lang, error: &RpError) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p>\n<p class=\"muted\">{} {}</p>\n{}",
        escape(error.message(lang)),
        lang.pick("Detail:", "Détail\u{a0}:"),
        escape(&error.to_string()),
        back_link(lang)
    );
    html::render(
        error.status(),
        page(
            lang,
            lang.pick("Sign-in failed", "Échec de la connexion"),
            body,
            FormAction::SelfOnly,
        ),
    )
}

/// The broker answered with an OAuth error (the person refused, no provider was eligible...).
pub(super) fn refused_page(
    lang: Lang,
    client: Option<&ServiceClient>,
    error: &str,
    description: Option<&str>,
) -> Response {
    let service = client.map(|c| c.name(lang)).unwrap_or_default();
    let explanation = if error == "access_denied" {
        lang.pick(
            "Nothing was shared with the service. You can try again, or prove your identity another way: in person at a service centre, or by mail.",
            "Rien n'a été communiqué au service. Vous pouvez réessayer, ou prouver votre identité autrement\u{a0}: en personne dans un centre de service, ou par la poste.",
        )
    } else {
        lang.pick(
            "Nothing was shared with the service. Try again in a few minutes; if it keeps happening, prove your identity another way: in person at a service centre, or by mail.",
            "Rien n'a été communiqué au service. Réessayez dans quelques minutes; si le problème persiste, prouvez votre identité autrement\u{a0}: en personne dans un centre de service, ou par la poste.",
        )
    };
    let mut body = format!(
        "<p class=\"error\" role=\"alert\">{} <strong>{}</strong>.</p>\n<p>{}</p>\n\
<details><summary>{}</summary><table>\
<tr><th scope=\"row\">error</th><td><code>{}</code></td></tr>",
        lang.pick(
            "The sign-in was not completed for",
            "La connexion n'a pas été terminée pour le service"
        ),
        escape(service),
        explanation,
        lang.pick(
            "Protocol details (for developers)",
            "Détails du protocole (pour les développeurs)"
        ),
        escape(error)
    );
    if let Some(description) = description {
        body.push_str(&format!(
            "<tr><th scope=\"row\">error_description</th><td>{}</td></tr>",
            escape(description)
        ));
    }
    body.push_str("</table></details>\n");
    body.push_str(&back_link(lang));
    html::render(
        StatusCode::OK,
        page(
            lang,
            lang.pick("Sign-in not completed", "Connexion non terminée"),
            body,
            FormAction::SelfOnly,
        ),
    )
}

/// Claims that describe the sign-in rather than the person.
const PROTOCOL_CLAIMS: [&str; 17] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "txn",
    "verified_claims",
];

/// The attributes shown first, in this order, with their labels.
const ATTRIBUTES: [(&str, &str, &str); 11] = [
    ("given_name", "Given name", "Prénom"),
    ("middle_name", "Middle name", "Second prénom"),
    ("family_name", "Family name", "Nom de famille"),
    ("birthdate", "Date of birth", "Date de naissance"),
    ("gender", "Gender", "Genre"),
    ("place_of_birth", "Place of birth", "Lieu de naissance"),
    ("address", "Address", "Adresse"),
    ("email", "Email", "Courriel"),
    ("email_verified", "Email verified", "Courriel vérifié"),
    ("phone_number", "Telephone", "Téléphone"),
    ("locale", "Language", "Langue"),
];

/// A claim's value as escaped HTML.
fn format_value(name: &str, value: &Value, lang: Lang) -> String {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    match (name, value) {
        // A language by its name, not its code.
        ("locale" | "preferred_language", Value::String(s)) => {
            match s.split(['-', '_']).next().unwrap_or_default() {
                "en" => lang.pick("English", "anglais").to_owned(),
                "fr" => lang.pick("French", "français").to_owned(),
                _ => escape(s),
            }
        }
        (_, Value::Bool(b)) => lang
            .pick(
                if *b { "Yes" } else { "No" },
                if *b { "Oui" } else { "Non" },
            )
            .to_owned(),
        (_, Value::String(s)) => escape(s),
        ("address", Value::Object(a)) => {
            let lines = match a.get("formatted").and_then(Value::as_str) {
                Some(formatted) => formatted.lines().map(str::to_owned).collect::<Vec<_>>(),
                None => vec![
                    text(a.get("street_address")),
                    format!(
                        "{} {}  {}",
                        text(a.get("locality")),
                        text(a.get("region")),
                        text(a.get("postal_code"))
                    ),
                    text(a.get("country")),
                ],
            };
            lines
                .iter()
                .map(|l| escape(l.trim()))
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("<br>")
        }
        ("place_of_birth", Value::Object(p)) => escape(
            &["locality", "region", "country"]
                .iter()
                .map(|k| text(p.get(*k)))
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (_, other) => format!("<code>{}</code>", escape(&other.to_string())),
    }
}

fn pretty(value: &Map<String, Value>) -> String {
    escape(&serde_json::to_string_pretty(value).unwrap_or_default())
}

fn row(label: &str, value_html: &str) -> String {
    format!(
        "<tr><th scope=\"row\">{}</th><td>{value_html}</td></tr>",
        escape(label)
    )
}

/// A finished sign-in: the verified attributes, the level, the subject and the ID token.
pub(super) fn result_page(lang: Lang, client: &ServiceClient, signed_in: &SignedIn) -> Response {
    let mut claims = signed_in.id_token_claims.clone();
    if let Some(userinfo) = &signed_in.userinfo {
        for (name, value) in userinfo {
            claims.insert(name.clone(), value.clone());
        }
    }
    let mut rows: String = ATTRIBUTES
        .iter()
        .filter_map(|(name, en, fr)| {
            claims
                .get(*name)
                .map(|v| row(lang.pick(en, fr), &format_value(name, v, lang)))
        })
        .collect();
    for (name, value) in &claims {
        let known = ATTRIBUTES.iter().any(|(n, _, _)| n == name);
        if !known && !PROTOCOL_CLAIMS.contains(&name.as_str()) {
            rows.push_str(&row(name, &format_value(name, value, lang)));
        }
    }
    let attributes = if rows.is_empty() {
        format!(
            "<p>{}</p>",
            lang.pick(
                "No attribute was released.",
                "Aucun attribut n'a été communiqué."
            )
        )
    } else {
        format!(
            "<table><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr>{rows}</table>",
            lang.pick("Attribute", "Attribut"),
            lang.pick("Value", "Valeur")
        )
    };
    let verified_claims = match claims.get("verified_claims") {
        Some(v) => format!(
            "<h3>verified_claims</h3><pre>{}</pre>",
            escape(&serde_json::to_string_pretty(v).unwrap_or_default())
        ),
        None => String::new(),
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or("—");
    let level = text("acr")
        .strip_prefix("urn:pctf:loa:")
        .and_then(|l| l.parse::<u8>().ok());
    let level_words = match (level, lang) {
        (Some(1), Lang::En) => "1 (little confidence)",
        (Some(1), Lang::Fr) => "1 (faible confiance)",
        (Some(2), Lang::En) => "2 (some confidence)",
        (Some(2), Lang::Fr) => "2 (une certaine confiance)",
        (Some(3), Lang::En) => "3 (high confidence)",
        (Some(3), Lang::Fr) => "3 (grande confiance)",
        (Some(4), Lang::En) => "4 (very high confidence)",
        (Some(4), Lang::Fr) => "4 (très grande confiance)",
        _ => "—",
    };
    let mut sign_in = row(
        lang.pick("Level of assurance (acr)", "Niveau d'assurance (acr)"),
        &format!("<code>{}</code>", escape(text("acr"))),
    );
    sign_in.push_str(&row(
        lang.pick("Subject (sub)", "Sujet (sub)"),
        &format!("<code>{}</code>", escape(text("sub"))),
    ));
    if let Some(txn) = claims.get("txn").and_then(Value::as_str) {
        sign_in.push_str(&row(
            lang.pick("Transaction (txn)", "Transaction (txn)"),
            &format!("<code>{}</code>", escape(txn)),
        ));
    }
    // The person's result first; what a developer checks, folded below.
    let body = format!(
        "<p>{intro} <strong>{service}</strong>.</p>\n\
<h2>{verified}</h2>\n{attributes}\n\
<p>{level_label} {level_words}</p>\n\
<details><summary>{details}</summary>\n\
<h3>{sign_in_title}</h3>\n<table>{sign_in}</table>\n{verified_claims}\n\
<h3>{header_title}</h3>\n<pre>{header}</pre>\n\
<h3>{payload_title}</h3>\n<pre>{payload}</pre>\n</details>\n{sign_out}\n{back}",
        intro = lang.pick(
            "Your identity was confirmed through the broker for",
            "Votre identité a été confirmée par le courtier pour le service"
        ),
        service = escape(client.name(lang)),
        verified = lang.pick("What the service received", "Ce que le service a reçu"),
        level_label = lang.pick("Level of assurance:", "Niveau d'assurance\u{a0}:"),
        details = lang.pick(
            "Protocol details (for developers)",
            "Détails du protocole (pour les développeurs)"
        ),
        sign_in_title = lang.pick("Sign-in", "Connexion"),
        header_title = lang.pick("ID token header", "En-tête du jeton d'identité"),
        header = pretty(&signed_in.id_token_header),
        payload_title = lang.pick("ID token payload", "Contenu du jeton d'identité"),
        payload = pretty(&signed_in.id_token_claims),
        sign_out = logout::sign_out_section(lang, client),
        back = back_link(lang),
    );
    // The sign-out form starts a redirect chain through the broker and the provider.
    let mut page = page(
        lang,
        lang.pick("You are signed in", "Connexion réussie"),
        body,
        FormAction::RedirectChain,
    );
    page.switch_href = html::href("/result", &[], lang.other());
    html::render(StatusCode::OK, page)
}

/// `GET /result`: the result of the sign-in this browser finished.
pub(super) async fn result(
    State(service): State<Arc<RelyingService>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = parse_params(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    let signed_in = cookie(&headers, SESSION_COOKIE).and_then(|s| service.sessions.get(&s));
    let client = signed_in
        .as_ref()
        .and_then(|s| service.client(&s.client_id));
    match (signed_in, client) {
        (Some(signed_in), Some(client)) => match logout::ended_by_broker(&service, &signed_in) {
            Some(ended) => logout::ended_page(lang, client, &ended),
            None => result_page(lang, client, &signed_in),
        },
        _ => error_page(lang, &RpError::UnknownState),
    }
}
