//! `GET /sessions` and `POST /sessions/sign-out`: the person signs out *at the provider*, and
//! the client hears of it through Back-Channel Logout 1.0: a logout token POSTed to the
//! client's back-channel logout URI (for the broker, `{broker_issuer}/backchannel-logout`),
//! which then ends its own sessions of this sign-in.
//!
//! This is a test provider: the page lists every live session of every (fictional) person, as a
//! conformance suite's test provider would, so that a person or a test can end any of them.
//! Delivery is attempted once, with a short timeout; a failure is logged and shown, never fatal:
//! the session here has ended whatever the client says.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::session::ProviderSession;
use super::{LOGOUT_TOKEN_TTL_SECS, Provider};
use crate::html::{self, FormAction, Lang, Page, escape};
use crate::util::{parse_params, random_token};

/// The event a logout token announces (Back-Channel Logout 1.0 2.4).
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What became of a back-channel logout token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Delivery {
    /// The client answered 2xx.
    Delivered,
    /// The client has no back-channel logout URI here.
    NoEndpoint,
    /// The client refused it or could not be reached; the detail is for the log and the page.
    Failed(String),
}

/// The claims of a logout token for `session` (Back-Channel Logout 1.0 2.4): never a `nonce`.
pub(super) fn logout_token_claims(
    provider: &Provider,
    session: &ProviderSession,
    now: i64,
) -> Map<String, Value> {
    let claims = json!({
        "iss": provider.stated_issuer(),
        "aud": session.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL_SECS,
        "jti": random_token(),
        "sid": session.sid,
        "sub": session.sub,
        "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
    });
    match claims {
        Value::Object(claims) => claims,
        _ => Map::new(),
    }
}

/// Sends the logout token of `session` to its client's back-channel logout URI.
pub(super) async fn notify(provider: &Provider, session: &ProviderSession, now: i64) -> Delivery {
    let Some(uri) = provider
        .client(&session.client_id)
        .and_then(super::ClientConfig::backchannel_logout_uri)
    else {
        return Delivery::NoEndpoint;
    };
    let token = match provider
        .keys
        .sign_logout_token(&logout_token_claims(provider, session, now))
    {
        Ok(token) => token,
        Err(e) => return Delivery::Failed(format!("cannot sign the logout token: {e}")),
    };
    let answer = provider
        .http
        .post(&uri)
        .form(&[("logout_token", token.as_str())])
        .send()
        .await;
    let delivery = match answer {
        Ok(response) if response.status().is_success() => Delivery::Delivered,
        Ok(response) => Delivery::Failed(format!("{uri} answered {}", response.status())),
        Err(e) => Delivery::Failed(format!("{uri} cannot be reached: {e}")),
    };
    match &delivery {
        Delivery::Failed(detail) => tracing::warn!(
            issuer = %provider.config.issuer,
            client_id = %session.client_id,
            %detail,
            "demo provider: back-channel logout not delivered"
        ),
        _ => tracing::info!(
            issuer = %provider.config.issuer,
            client_id = %session.client_id,
            "demo provider: back-channel logout delivered"
        ),
    }
    delivery
}

fn render(
    provider: &Provider,
    lang: Lang,
    status: StatusCode,
    title: &str,
    body: String,
) -> Response {
    html::render(
        status,
        Page {
            lang,
            site: provider.name(lang),
            title,
            body,
            switch_href: html::href("/sessions", &[], lang.other()),
            form_action: FormAction::SelfOnly,
        },
    )
}

fn when(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

fn row(provider: &Provider, session: &ProviderSession, lang: Lang) -> String {
    let person = provider
        .person(&session.person_id)
        .map_or(session.person_id.clone(), super::authorize::display_name);
    format!(
        "<tr><td>{person}<br><span class=\"muted\"><code>{sub}</code></span></td>\
<td><code>{client}</code></td><td>{at}</td><td><code>{sid}</code></td>\
<td><form method=\"post\" action=\"/sessions/sign-out\">\
<input type=\"hidden\" name=\"sid\" value=\"{sid}\">\
<input type=\"hidden\" name=\"lang\" value=\"{lang_code}\">\
<button type=\"submit\">{sign_out}</button></form></td></tr>",
        person = escape(&person),
        sub = escape(&session.sub),
        client = escape(&session.client_id),
        at = escape(&when(session.auth_time)),
        sid = escape(&session.sid),
        lang_code = lang.code(),
        sign_out = lang.pick("Sign out", "Se déconnecter"),
    )
}

/// `GET /sessions`: the live sessions, each with a "Sign out" button.
pub(super) async fn list(
    State(provider): State<Arc<Provider>>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = parse_params(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    let now = provider.config.clock.now().unix_timestamp();
    let sessions = provider.sessions.list(now);
    let intro = lang.pick(
        "The sign-ins still open at this test provider. Signing out here ends the sign-in and tells the service (the identity broker), which then signs the person out of its services.",
        "Les connexions encore ouvertes chez ce fournisseur de test. Se déconnecter ici termine la connexion et en avise le service (le courtier d'identité), qui déconnecte alors la personne de ses services.",
    );
    let table = if sessions.is_empty() {
        format!(
            "<p>{}</p>",
            lang.pick("No one is signed in.", "Aucune session n'est ouverte.")
        )
    } else {
        let rows: String = sessions.iter().map(|s| row(&provider, s, lang)).collect();
        format!(
            "<table><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
<th scope=\"col\">sid</th><th scope=\"col\"></th></tr>{rows}</table>",
            lang.pick("Person", "Personne"),
            lang.pick("Service (client_id)", "Service (identifiant client_id)"),
            lang.pick("Signed in at (UTC)", "Heure de connexion (UTC)"),
        )
    };
    render(
        &provider,
        lang,
        StatusCode::OK,
        lang.pick("Open sign-ins", "Connexions ouvertes"),
        format!("<p>{}</p>\n{table}", escape(intro)),
    )
}

/// `POST /sessions/sign-out`: ends one session and tells its client.
pub(super) async fn sign_out(State(provider): State<Arc<Provider>>, body: String) -> Response {
    let params = parse_params(&body).unwrap_or_default();
    let lang = Lang::from_param(params.get("lang").map(String::as_str));
    let now = provider.config.clock.now().unix_timestamp();
    let back = format!(
        "<p><a href=\"{}\">{}</a></p>",
        escape(&html::href("/sessions", &[], lang)),
        lang.pick(
            "Back to the open sign-ins",
            "Retour aux connexions ouvertes"
        )
    );
    let session = params
        .get("sid")
        .and_then(|sid| provider.sessions.end(sid, now));
    let Some(session) = session else {
        let body = format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n{back}",
            escape(lang.pick(
                "This sign-in has already ended or is unknown.",
                "Cette connexion est déjà terminée ou est inconnue."
            ))
        );
        let title = lang.pick("Nothing to sign out", "Rien à déconnecter");
        return render(&provider, lang, StatusCode::BAD_REQUEST, title, body);
    };
    let told = match notify(&provider, &session, now).await {
        Delivery::Delivered => escape(lang.pick(
            "The service was told and has ended its own sessions of this sign-in.",
            "Le service en a été avisé et a terminé ses propres sessions de cette connexion.",
        )),
        Delivery::NoEndpoint => escape(lang.pick(
            "This service has no back-channel logout address here; it was not told.",
            "Ce service n'a pas d'adresse de déconnexion par canal arrière ici; il n'a pas été avisé.",
        )),
        Delivery::Failed(detail) => format!(
            "{}<br><span class=\"muted\">{}</span>",
            escape(lang.pick(
                "The service could not be told (the failure is logged).",
                "Le service n'a pas pu être avisé (l'échec est journalisé).",
            )),
            escape(&detail)
        ),
    };
    let body = format!(
        "<p>{}</p>\n<p>{told}</p>\n{back}",
        escape(lang.pick(
            "The sign-in has ended at this provider.",
            "La connexion est terminée chez ce fournisseur."
        ))
    );
    render(
        &provider,
        lang,
        StatusCode::OK,
        lang.pick("Signed out", "Déconnexion réussie"),
        body,
    )
}
