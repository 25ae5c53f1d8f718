//! The sign-out pages: the question asked when a sign-out request cannot be tied to the
//! person's session (RP-Initiated Logout 1.0 section 6: never a silent sign-out on an
//! unverified request), and the page that says how it ended.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use trust_framework::Lang;

use super::pages::{Frame, allow_form_targets, pick, render};

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage<'a> {
    frame: Frame,
    intro: &'static str,
    services_intro: &'static str,
    services: Vec<String>,
    csrf: &'a str,
    client_id: Option<&'a str>,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
    sign_out_text: &'static str,
    stay_text: &'static str,
}

/// What the confirmation form carries back.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmForm<'a> {
    pub csrf: &'a str,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
}

/// "Do you want to sign out?", naming the services the session served. `form_origins` are the
/// origins the answer may be redirected to (the provider's end-session endpoint, the
/// service's return address), which the page's `form-action` must allow.
pub fn confirm(
    lang: Lang,
    services: Vec<String>,
    form: ConfirmForm<'_>,
    form_origins: &[String],
    switch_href: String,
) -> Response {
    let page = ConfirmPage {
        frame: Frame::new(
            lang,
            pick(lang, "Sign out?", "Fermer votre session?"),
            switch_href,
        ),
        intro: pick(
            lang,
            "A service asked to sign you out of the identity broker. Sign out only if you asked for it.",
            "Un service a demandé de vous déconnecter du courtier d'identité. Déconnectez-vous seulement si vous l'avez demandé.",
        ),
        services_intro: pick(
            lang,
            "You are signed in for these services. Each will be told that you signed out:",
            "Votre session est ouverte pour ces services. Chacun sera avisé de sa fermeture\u{a0}:",
        ),
        services,
        csrf: form.csrf,
        client_id: form.client_id,
        post_logout_redirect_uri: form.post_logout_redirect_uri,
        state: form.state,
        sign_out_text: pick(lang, "Sign out", "Fermer ma session"),
        stay_text: pick(lang, "Stay signed in", "Garder ma session ouverte"),
    };
    let mut response = render(StatusCode::OK, page.render());
    allow_form_targets(&mut response, form_origins);
    response
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOutPage {
    frame: Frame,
    message: &'static str,
    note: &'static str,
}

/// How a sign-out ended, when there is no service to return to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    SignedOut,
    /// The session was ended in this browser, but the store could not be told: the services
    /// may not hear of it.
    SignedOutHere,
    StayedSignedIn,
}

pub fn outcome(lang: Lang, outcome: Outcome, switch_href: String) -> Response {
    let (title, message, note) = match outcome {
        Outcome::SignedOut => (
            pick(lang, "You are signed out", "Votre session est fermée"),
            pick(
                lang,
                "You are signed out of the identity broker. To use a government service again, you will need to sign in.",
                "Votre session au courtier d'identité est fermée. Pour utiliser de nouveau un service gouvernemental, il faudra vous connecter.",
            ),
            pick(
                lang,
                "If you use a shared computer, close your browser.",
                "Si vous utilisez un ordinateur partagé, fermez votre navigateur.",
            ),
        ),
        Outcome::SignedOutHere => (
            pick(lang, "You are signed out", "Votre session est fermée"),
            pick(
                lang,
                "You are signed out of the identity broker in this browser.",
                "Votre session au courtier d'identité est fermée dans ce navigateur.",
            ),
            pick(
                lang,
                "A technical problem kept us from telling the services you used. Sign out of each of them too, or close your browser.",
                "Un problème technique nous a empêchés d'aviser les services que vous avez utilisés. Déconnectez-vous aussi de chacun d'eux, ou fermez votre navigateur.",
            ),
        ),
        Outcome::StayedSignedIn => (
            pick(
                lang,
                "You are still signed in",
                "Votre session reste ouverte",
            ),
            pick(
                lang,
                "Nothing was changed. You can close this page.",
                "Rien n'a été changé. Vous pouvez fermer cette page.",
            ),
            "",
        ),
    };
    let page = SignedOutPage {
        frame: Frame::new(lang, title, switch_href),
        message,
        note,
    };
    render(StatusCode::OK, page.render())
}
