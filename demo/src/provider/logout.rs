//! `GET|POST /logout`: RP-Initiated Logout 1.0, as the OpenID Provider. The broker sends the
//! person here, with the ID token it received from this provider as `id_token_hint`, to end the
//! provider's session when the person signs out of a service.
//!
//! The request is honoured only when every part of it checks out: the hint is a token this
//! provider signed (it may have expired: a person signs out long after signing in), `client_id`
//! (if given) is one of its audiences, and `post_logout_redirect_uri` (if given) is registered
//! for that client byte for byte. Anything else is a bilingual error page, never a redirect: a
//! logout endpoint that redirected to any URI it was given would be an open redirector, and one
//! that ended a session on an unverified hint would let anyone sign anyone out.
//!
//! A demo provider keeps no browser cookie, so the hint is required: it is the only way to know
//! which session to end.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use serde_json::{Map, Value};

use super::authorize::{error_page, page_lang};
use super::{ClientConfig, Provider};
use crate::html::{self, FormAction, Lang, Page, escape};
use crate::util::parse_params;

/// Why a logout request is refused. Each is shown to the person in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum LogoutError {
    #[error("a parameter is repeated")]
    RepeatedParameter,
    #[error("id_token_hint is required")]
    MissingHint,
    #[error("id_token_hint is not an ID token of this provider")]
    ForeignHint,
    #[error("client_id is not an audience of id_token_hint")]
    ClientMismatch,
    #[error("the client is not known")]
    UnknownClient,
    #[error("post_logout_redirect_uri is not registered for this client")]
    UnregisteredRedirect,
}

impl LogoutError {
    fn message(self) -> (&'static str, &'static str) {
        match self {
            Self::RepeatedParameter => ("A parameter is repeated.", "Un paramètre est répété."),
            Self::MissingHint => (
                "This sign-out request does not say which sign-in it ends (no id_token_hint).",
                "Cette demande de déconnexion n'indique pas quelle connexion elle termine (aucun id_token_hint).",
            ),
            Self::ForeignHint => (
                "This sign-out request names a sign-in that this provider did not issue.",
                "Cette demande de déconnexion désigne une connexion que ce fournisseur n'a pas émise.",
            ),
            Self::ClientMismatch => (
                "This sign-out request comes from a service other than the one the sign-in was for.",
                "Cette demande de déconnexion provient d'un autre service que celui de la connexion.",
            ),
            Self::UnknownClient => (
                "This service is not known to this provider (unknown client_id).",
                "Ce service n'est pas connu de ce fournisseur (client_id inconnu).",
            ),
            Self::UnregisteredRedirect => (
                "The address to return to after signing out is not registered for this service.",
                "L'adresse de retour après la déconnexion n'est pas enregistrée pour ce service.",
            ),
        }
    }
}

/// A request that checked out: the session to end and where to send the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Checked {
    /// The hint's `sid`, if it has one.
    pub sid: Option<String>,
    pub client_id: String,
    /// `post_logout_redirect_uri` with `state` added, if one was given.
    pub redirect: Option<String>,
}

/// The hint's audiences (`aud` as a string or an array).
fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Checks a logout request against what this provider signed and registered.
pub(super) fn check(
    provider: &Provider,
    params: &HashMap<String, String>,
) -> Result<Checked, LogoutError> {
    let get = |name: &str| params.get(name).map(String::as_str);
    let hint = get("id_token_hint").ok_or(LogoutError::MissingHint)?;
    let claims = provider
        .keys
        .verify_own(hint)
        .ok_or(LogoutError::ForeignHint)?;
    let iss = claims.get("iss").and_then(Value::as_str);
    if iss != Some(provider.stated_issuer().as_str()) {
        return Err(LogoutError::ForeignHint);
    }
    let audiences = audiences(&claims);
    let client_id = match get("client_id") {
        Some(client_id) if audiences.contains(&client_id) => client_id,
        Some(_) => return Err(LogoutError::ClientMismatch),
        None => match audiences[..] {
            [only] => only,
            _ => claims
                .get("azp")
                .and_then(Value::as_str)
                .filter(|azp| audiences.contains(azp))
                .ok_or(LogoutError::ClientMismatch)?,
        },
    };
    let client: &ClientConfig = provider
        .client(client_id)
        .ok_or(LogoutError::UnknownClient)?;
    let redirect = match get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => {
            if !client.post_logout_redirect_uris().iter().any(|u| u == uri) {
                return Err(LogoutError::UnregisteredRedirect);
            }
            let mut url = url::Url::parse(uri).map_err(|_| LogoutError::UnregisteredRedirect)?;
            if let Some(state) = get("state") {
                url.query_pairs_mut().append_pair("state", state);
            }
            Some(url.to_string())
        }
    };
    Ok(Checked {
        sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
        client_id: client.client_id.clone(),
        redirect,
    })
}

fn signed_out_page(provider: &Provider, lang: Lang) -> Response {
    let body = format!(
        "<p>{}</p>",
        escape(lang.pick(
            "You are signed out at this provider. You may close this window.",
            "Votre session chez ce fournisseur est fermée. Vous pouvez fermer cette fenêtre."
        ))
    );
    html::render(
        StatusCode::OK,
        Page {
            lang,
            site: provider.name(lang),
            title: lang.pick("Signed out", "Déconnexion réussie"),
            body,
            switch_href: html::href("/sessions", &[], lang.other()),
            form_action: FormAction::SelfOnly,
        },
    )
}

fn respond(provider: &Provider, query: &str) -> Response {
    let params = match parse_params(query) {
        Ok(params) => params,
        Err(_) => return refused(provider, Lang::En, LogoutError::RepeatedParameter),
    };
    let lang = page_lang(&params);
    match check(provider, &params) {
        Ok(checked) => {
            let now = provider.config.clock.now().unix_timestamp();
            let ended = checked
                .sid
                .as_deref()
                .and_then(|sid| provider.sessions.end(sid, now));
            tracing::info!(
                issuer = %provider.config.issuer,
                client_id = %checked.client_id,
                ended = ended.is_some(),
                "demo provider: RP-initiated logout"
            );
            match checked.redirect {
                Some(url) => Redirect::to(&url).into_response(),
                None => signed_out_page(provider, lang),
            }
        }
        Err(error) => {
            tracing::warn!(issuer = %provider.config.issuer, %error, "demo provider: logout refused");
            refused(provider, lang, error)
        }
    }
}

fn refused(provider: &Provider, lang: Lang, error: LogoutError) -> Response {
    error_page(provider, lang, StatusCode::BAD_REQUEST, error.message())
}

pub(super) async fn logout_get(
    State(provider): State<Arc<Provider>>,
    RawQuery(query): RawQuery,
) -> Response {
    respond(&provider, query.as_deref().unwrap_or_default())
}

pub(super) async fn logout_post(State(provider): State<Arc<Provider>>, body: String) -> Response {
    respond(&provider, &body)
}
