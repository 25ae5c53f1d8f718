//! `GET /authorize`, and the login page (`GET /login`, `POST /login`).
//!
//! An unknown client or a redirect URI that is not registered exactly is shown as a page, never
//! redirected (RFC 6749 4.1.2.1). Every other refusal goes back to the client's redirect URI
//! with `error`, `state` and `iss`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use super::session::ProviderSession;
use super::{AuthRequest, Fault, Grant, Person, Provider, claims, token};
use crate::html::{self, FormAction, Lang, Page, escape};
use crate::util::{parse_params, random_token};

/// Why a request is refused back to the client (RFC 6749 4.1.2.1).
struct Refusal {
    error: &'static str,
    description: &'static str,
}

const fn refuse(error: &'static str, description: &'static str) -> Refusal {
    Refusal { error, description }
}

pub(super) fn page_lang(params: &HashMap<String, String>) -> Lang {
    match params.get("lang") {
        Some(lang) => Lang::from_param(Some(lang)),
        None => {
            Lang::from_ui_locales(params.get("ui_locales").map(String::as_str)).unwrap_or_default()
        }
    }
}

pub(super) fn error_page(
    provider: &Provider,
    lang: Lang,
    status: StatusCode,
    message: (&str, &str),
) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p>\n<p>{}</p>",
        escape(lang.pick(message.0, message.1)),
        lang.pick(
            "Return to the service you came from and start again.",
            "Retournez au service d'où vous venez et recommencez."
        )
    );
    html::render(
        status,
        Page {
            lang,
            site: provider.name(lang),
            title: lang.pick("Request refused", "Demande refusée"),
            body,
            switch_href: html::href("/login", &[], lang.other()),
            form_action: FormAction::SelfOnly,
        },
    )
}

/// Redirects to the client with the given parameters plus `iss` (RFC 9207).
fn redirect_back(provider: &Provider, redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(
            provider,
            Lang::En,
            StatusCode::BAD_REQUEST,
            (
                "The redirect URI is not valid.",
                "L'adresse de retour n'est pas valide.",
            ),
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        let is_error = params.iter().any(|(name, _)| *name == "error");
        let omitted = if is_error {
            provider.fault(&Fault::NoIssOnError)
        } else {
            provider.fault(&Fault::NoIssInResponse)
        };
        if !omitted {
            query.append_pair("iss", &provider.stated_issuer());
        }
    }
    Redirect::to(url.as_str()).into_response()
}

fn refusal_redirect(
    provider: &Provider,
    redirect_uri: &str,
    state: Option<&str>,
    refusal: &Refusal,
) -> Response {
    let mut params = vec![
        ("error", refusal.error),
        ("error_description", refusal.description),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_back(provider, redirect_uri, &params)
}

/// Checks the parameters once client and redirect URI are known good.
fn validate(
    provider: &Provider,
    client_id: &str,
    redirect_uri: &str,
    params: &HashMap<String, String>,
) -> Result<AuthRequest, Refusal> {
    let get = |name: &str| params.get(name).map(String::as_str);
    if get("response_type") != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let scopes: Vec<String> = get("scope")
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Err(refuse("invalid_scope", "scope must contain openid"));
    }
    if get("request").is_some() {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(refuse(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    let Some(state) = get("state") else {
        return Err(refuse("invalid_request", "state is required"));
    };
    let Some(nonce) = get("nonce") else {
        return Err(refuse("invalid_request", "nonce is required"));
    };
    let challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (Some(challenge), Some("S256")) => challenge,
        (None, None) if provider.fault(&Fault::PkceNotEnforced) => "",
        _ => {
            return Err(refuse(
                "invalid_request",
                "PKCE is required: code_challenge with code_challenge_method S256",
            ));
        }
    };
    let well_formed = (challenge.is_empty() && provider.fault(&Fault::PkceNotEnforced))
        || challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(refuse(
            "invalid_request",
            "code_challenge must be a base64url SHA-256 digest",
        ));
    }
    let claims = match get("claims") {
        None => None,
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(value @ Value::Object(_)) => Some(value),
            _ => {
                return Err(refuse("invalid_request", "claims must be a JSON object"));
            }
        },
    };
    if provider.config.fault == Some(Fault::ErrorResponse) {
        return Err(refuse(
            "access_denied",
            "the person did not allow the sign-in",
        ));
    }
    let acr = claims::choose_acr(
        &provider.config.acr_values,
        get("acr_values"),
        claims.as_ref(),
    );
    Ok(AuthRequest {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        nonce: nonce.to_owned(),
        code_challenge: challenge.to_owned(),
        scopes,
        claims,
        acr,
        login_hint: get("login_hint").map(str::to_owned),
    })
}

/// Signs `person_id` in: a one-time code, and back to the client.
fn complete(provider: &Provider, request: AuthRequest, person_id: &str) -> Response {
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let now = provider.config.clock.now().unix_timestamp();
    let grant = Grant {
        request,
        person_id: person_id.to_owned(),
        auth_time: now,
        sid: random_token(),
    };
    let session = ProviderSession {
        sid: grant.sid.clone(),
        sub: token::subject(provider, &grant),
        person_id: person_id.to_owned(),
        client_id: grant.request.client_id.clone(),
        auth_time: now,
    };
    let started = provider.sessions.start(session, now);
    match started.and_then(|()| provider.codes.insert(grant)) {
        Ok(code) => redirect_back(
            provider,
            &redirect_uri,
            &[("code", &code), ("state", &state)],
        ),
        Err(_) => refusal_redirect(
            provider,
            &redirect_uri,
            Some(&state),
            &refuse("temporarily_unavailable", "too many sign-ins in progress"),
        ),
    }
}

pub(super) async fn authorize(
    State(provider): State<Arc<Provider>>,
    RawQuery(query): RawQuery,
) -> Response {
    let Ok(params) = parse_params(query.as_deref().unwrap_or_default()) else {
        return error_page(
            &provider,
            Lang::En,
            StatusCode::BAD_REQUEST,
            ("A parameter is repeated.", "Un paramètre est répété."),
        );
    };
    let lang = page_lang(&params);
    let client_id = params
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(client) = provider.client(client_id) else {
        if provider.fault(&Fault::UnknownClientRedirected)
            && let Some(redirect_uri) = params.get("redirect_uri")
        {
            return refusal_redirect(
                &provider,
                redirect_uri,
                params.get("state").map(String::as_str),
                &refuse("unauthorized_client", "the client is not known"),
            );
        }
        return error_page(
            &provider,
            lang,
            StatusCode::BAD_REQUEST,
            (
                "This service is not known to this provider (unknown client_id).",
                "Ce service n'est pas connu de ce fournisseur (client_id inconnu).",
            ),
        );
    };
    let redirect_uri = params
        .get("redirect_uri")
        .map(String::as_str)
        .unwrap_or_default();
    let registered = if provider.fault(&Fault::RedirectUriPrefixMatch) {
        client
            .redirect_uris
            .iter()
            .any(|u| redirect_uri.starts_with(u.as_str()))
    } else {
        client.redirect_uris.iter().any(|u| u == redirect_uri)
    };
    if !registered {
        return error_page(
            &provider,
            lang,
            StatusCode::BAD_REQUEST,
            (
                "The redirect URI is not registered for this service.",
                "L'adresse de retour n'est pas enregistrée pour ce service.",
            ),
        );
    }
    let request = match validate(&provider, client_id, redirect_uri, &params) {
        Ok(request) => request,
        Err(refusal) => {
            let state = params.get("state").map(String::as_str);
            return refusal_redirect(&provider, redirect_uri, state, &refusal);
        }
    };
    let hinted = request
        .login_hint
        .as_deref()
        .and_then(|hint| provider.person(hint))
        .map(|p| p.id.clone());
    if let Some(person_id) = hinted {
        return complete(&provider, request, &person_id);
    }
    if params
        .get("prompt")
        .is_some_and(|p| p.split_ascii_whitespace().any(|v| v == "none"))
    {
        return refusal_redirect(
            &provider,
            redirect_uri,
            Some(&request.state),
            &refuse(
                "login_required",
                "prompt=none and no test person named in login_hint",
            ),
        );
    }
    match provider.pending.insert(request.clone()) {
        Ok(pending) => login_page_for(&provider, &request, &pending, lang),
        Err(_) => refusal_redirect(
            &provider,
            redirect_uri,
            Some(&request.state),
            &refuse("temporarily_unavailable", "too many sign-ins in progress"),
        ),
    }
}

pub(super) fn display_name(person: &Person) -> String {
    let part = |name: &str| {
        person
            .claims
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let name = format!("{} {}", part("given_name"), part("family_name"));
    match name.trim() {
        "" => person.id.clone(),
        name => name.to_owned(),
    }
}

fn person_card(person: &Person, pending: &str, lang: Lang) -> String {
    let name = display_name(person);
    let birthdate = person.claims.get("birthdate").and_then(Value::as_str);
    let locality = person
        .claims
        .get("address")
        .and_then(|a| a.get("locality"))
        .and_then(Value::as_str);
    let mut details = vec![format!(
        "{} <code>{}</code>",
        lang.pick("Test identifier:", "Identifiant de test\u{a0}:"),
        escape(&person.id)
    )];
    if let Some(birthdate) = birthdate {
        details.push(format!(
            "{} {}",
            lang.pick("Born on", "Date de naissance\u{a0}:"),
            escape(birthdate)
        ));
    }
    if let Some(locality) = locality {
        details.push(format!(
            "{} {}",
            lang.pick("Lives in", "Habite à"),
            escape(locality)
        ));
    }
    format!(
        "<li><form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"pending\" value=\"{pending}\">\
<input type=\"hidden\" name=\"person\" value=\"{id}\">\
<input type=\"hidden\" name=\"lang\" value=\"{lang_code}\">\
<p><strong>{name}</strong><br><span class=\"muted\">{details}</span></p>\
<button type=\"submit\">{sign_in} {name}</button></form></li>",
        pending = escape(pending),
        id = escape(&person.id),
        lang_code = lang.code(),
        name = escape(&name),
        details = details.join(" · "),
        sign_in = lang.pick("Sign in as", "Se connecter en tant que"),
    )
}

fn login_page_for(
    provider: &Provider,
    request: &AuthRequest,
    pending: &str,
    lang: Lang,
) -> Response {
    let cards: String = provider
        .config
        .persons
        .iter()
        .map(|p| person_card(p, pending, lang))
        .collect();
    // The level's identifier means nothing to a person: folded away with the details.
    let level = match &request.acr {
        Some(acr) => format!(
            "<details><summary>{}</summary><p class=\"muted\">{} <code>{}</code></p></details>",
            lang.pick("Technical details", "Détails techniques"),
            lang.pick(
                "Level of assurance asked for:",
                "Niveau d'assurance demandé\u{a0}:"
            ),
            escape(acr)
        ),
        None => String::new(),
    };
    let body = format!(
        "<p>{intro}</p>\n<p>{explain}</p>\n\
<h2>{persons}</h2>\n<ul class=\"cards\">{cards}</ul>\n{level}\n\
<form method=\"post\" action=\"/login\">\
<input type=\"hidden\" name=\"pending\" value=\"{pending}\">\
<input type=\"hidden\" name=\"lang\" value=\"{lang_code}\">\
<input type=\"hidden\" name=\"cancel\" value=\"1\">\
<button type=\"submit\" class=\"secondary\">{cancel}</button></form>",
        intro = lang.pick(
            "Sign in to confirm your identity. Before anything is shared, you will see what the service you came from will receive.",
            "Connectez-vous pour confirmer votre identité. Avant toute communication de renseignements, vous verrez ce que recevra le service d'où vous venez."
        ),
        explain = lang.pick(
            "This is a test provider: choose one of its fictional persons. No password is needed.",
            "Ceci est un fournisseur de test\u{a0}: choisissez l'une de ses personnes fictives. Aucun mot de passe n'est requis."
        ),
        persons = lang.pick("Test persons", "Personnes de test"),
        pending = escape(pending),
        lang_code = lang.code(),
        cancel = lang.pick("Cancel and return", "Annuler et revenir"),
    );
    html::render(
        StatusCode::OK,
        Page {
            lang,
            site: provider.name(lang),
            title: lang.pick("Sign in", "Connexion"),
            body,
            switch_href: html::href("/login", &[("pending", pending)], lang.other()),
            form_action: FormAction::RedirectChain,
        },
    )
}

const EXPIRED: (&str, &str) = (
    "This sign-in request is unknown or has expired.",
    "Cette demande de connexion est inconnue ou a expiré.",
);

/// `GET /login?pending=...&lang=..`: the login page again (e.g. in the other language).
pub(super) async fn login_page(
    State(provider): State<Arc<Provider>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_params(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    let pending = params
        .get("pending")
        .map(String::as_str)
        .unwrap_or_default();
    match provider.pending.get(pending) {
        Some(request) => login_page_for(&provider, &request, pending, lang),
        None => error_page(&provider, lang, StatusCode::BAD_REQUEST, EXPIRED),
    }
}

/// `POST /login`: the person chose a test person (or cancelled).
pub(super) async fn login(State(provider): State<Arc<Provider>>, body: String) -> Response {
    let params = parse_params(&body).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    let pending = params
        .get("pending")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(request) = provider.pending.take(pending) else {
        return error_page(&provider, lang, StatusCode::BAD_REQUEST, EXPIRED);
    };
    if params.contains_key("cancel") {
        let redirect_uri = request.redirect_uri.clone();
        return refusal_redirect(
            &provider,
            &redirect_uri,
            Some(&request.state),
            &refuse("access_denied", "the person cancelled the sign-in"),
        );
    }
    let person = params
        .get("person")
        .and_then(|id| provider.person(id))
        .map(|p| p.id.clone());
    match person {
        Some(person_id) => complete(&provider, request, &person_id),
        None => error_page(
            &provider,
            lang,
            StatusCode::BAD_REQUEST,
            (
                "This test person is not known to this provider.",
                "Cette personne de test n'est pas connue de ce fournisseur.",
            ),
        ),
    }
}
