//! Pages for people: bilingual, server-rendered, escaped by askama, no script at all.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use trust_framework::{Decision, Jurisdiction, Lang, Registry};

use crate::oidc::error::OAuthError;

pub const BROKER_NAME: (&str, &str) = (
    "Pan-Canadian identity broker",
    "Courtier d'identité pancanadien",
);

pub(crate) fn pick(lang: Lang, en: &'static str, fr: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

/// The frame common to every page: language, title, and the switch to the other language.
pub(crate) struct Frame {
    pub(crate) lang: &'static str,
    pub(crate) other_lang: &'static str,
    pub(crate) title: &'static str,
    pub(crate) broker_name: &'static str,
    pub(crate) skip_text: &'static str,
    pub(crate) language_label: &'static str,
    pub(crate) switch_text: &'static str,
    pub(crate) switch_href: String,
}

impl Frame {
    pub(crate) fn new(lang: Lang, title: &'static str, switch_href: String) -> Self {
        Self {
            lang: lang.code(),
            other_lang: lang.other().code(),
            title,
            broker_name: pick(lang, BROKER_NAME.0, BROKER_NAME.1),
            skip_text: pick(lang, "Skip to main content", "Passer au contenu principal"),
            language_label: pick(lang, "Language", "Langue"),
            switch_text: pick(lang, "Français", "English"),
            switch_href,
        }
    }
}

/// What a person can do about an error, in English and in French.
pub type Advice = (&'static str, &'static str);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    frame: Frame,
    message: &'a str,
    code_label: &'static str,
    code: &'static str,
    detail: &'a str,
}

/// A bilingual error page for a person. `switch_href` is the same page in the other language;
/// the detail is escaped like everything else, so input is never reflected raw.
pub fn error(
    lang: Lang,
    status: StatusCode,
    error: &OAuthError,
    detail: &str,
    switch_href: String,
) -> Response {
    error_advising(lang, status, error, None, detail, switch_href)
}

/// As [`error`], with `advice` (English, French) in place of the error code's general message
/// when the person can do something about the cause (clear cookies, check a connection).
pub fn error_advising(
    lang: Lang,
    status: StatusCode,
    error: &OAuthError,
    advice: Option<Advice>,
    detail: &str,
    switch_href: String,
) -> Response {
    let f = Frame::new(
        lang,
        pick(lang, "Sign-in stopped", "Connexion interrompue"),
        switch_href,
    );
    let page = ErrorPage {
        frame: f,
        message: advice.map_or_else(|| error.person_message(lang), |(en, fr)| pick(lang, en, fr)),
        code_label: pick(lang, "Error code", "Code d'erreur"),
        code: error.code.as_str(),
        detail,
    };
    render(status, page.render())
}

struct ProviderChoice {
    id: String,
    name: String,
}

struct Group {
    jurisdiction: &'static str,
    providers: Vec<ProviderChoice>,
}

#[derive(Template)]
#[template(path = "picker.html")]
struct PickerPage {
    frame: Frame,
    notice: Option<&'static str>,
    remember_label: &'static str,
    intro: &'static str,
    txn: String,
    csrf: String,
    groups: Vec<Group>,
}

/// The jurisdiction picker: eligible providers grouped by jurisdiction, in the decision's order.
/// Shown on the picker when the provider first chosen could not reach the required level.
pub fn step_up_notice(lang: Lang) -> &'static str {
    pick(
        lang,
        "The identity provider you chose could not confirm your identity at the level this service requires. You can choose another one below.",
        "Le fournisseur d'identité choisi n'a pas pu confirmer votre identité au niveau exigé par ce service. Vous pouvez en choisir un autre ci-dessous.",
    )
}

pub fn picker(
    lang: Lang,
    registry: &Registry,
    decision: &Decision,
    txn: &str,
    csrf: &str,
    notice: Option<&'static str>,
) -> Response {
    let switch_href = format!(
        "/authorize/select?txn={}&lang={}",
        urlencoding::encode(txn),
        lang.other().code()
    );
    let f = Frame::new(
        lang,
        pick(
            lang,
            "Choose where to sign in",
            "Choisissez où vous connecter",
        ),
        switch_href,
    );
    let mut groups: Vec<Group> = Vec::new();
    for c in &decision.candidates {
        let name = registry
            .provider(&c.provider_id)
            .map(|p| p.name.get(lang).to_owned())
            .unwrap_or_else(|| c.provider_id.clone());
        let jurisdiction = jurisdiction_label(c.jurisdiction, lang);
        match groups.last_mut() {
            Some(g) if g.jurisdiction == jurisdiction => g.providers.push(ProviderChoice {
                id: c.provider_id.clone(),
                name,
            }),
            _ => groups.push(Group {
                jurisdiction,
                providers: vec![ProviderChoice {
                    id: c.provider_id.clone(),
                    name,
                }],
            }),
        }
    }
    let page = PickerPage {
        frame: f,
        notice,
        remember_label: pick(
            lang,
            "Remember my choice on this device (the remembered choice is used for later sign-ins; clear this site's cookies to forget it)",
            "Mémoriser mon choix sur cet appareil (le choix mémorisé servira aux prochaines connexions; effacez les témoins de ce site pour l'oublier)",
        ),
        intro: pick(
            lang,
            "Sign in with the identity provider of the province or territory where you were born. If you were born outside Canada, choose the Government of Canada.",
            "Connectez-vous auprès du fournisseur d'identité de la province ou du territoire où vous êtes né. Si vous êtes né à l'extérieur du Canada, choisissez le gouvernement du Canada.",
        ),
        txn: txn.to_owned(),
        csrf: csrf.to_owned(),
        groups,
    };
    let mut response = render(StatusCode::OK, page.render());
    // Browsers apply form-action to the redirect that follows a form post, so the providers
    // the person may be sent to are named; nothing else is.
    let origins: Vec<String> = decision
        .candidates
        .iter()
        .filter_map(|c| registry.provider(&c.provider_id))
        .filter_map(|p| url::Url::parse(&p.issuer).ok())
        .map(|u| u.origin().ascii_serialization())
        .collect();
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {}; frame-ancestors 'none'; base-uri 'none'",
        origins.join(" ")
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    frame: Frame,
    heading: String,
    intro: &'static str,
    service_label: &'static str,
    service: String,
    purpose_label: &'static str,
    purpose: String,
    provider_label: &'static str,
    provider: String,
    retention_label: &'static str,
    retention: String,
    table_caption: &'static str,
    attribute_header: &'static str,
    value_header: &'static str,
    rows: Vec<(&'static str, String)>,
    nothing_text: &'static str,
    asks: bool,
    remember_label: &'static str,
    share_text: &'static str,
    deny_text: &'static str,
    txn: String,
    csrf: String,
}

/// The notice-and-consent page for a login awaiting the person's decision under `txn`; `csrf` is
/// its form token (`crate::login::form_tokens`).
pub fn consent(
    lang: Lang,
    registry: &Registry,
    awaiting: &crate::login::AwaitingConsent,
    txn: &str,
    csrf: &str,
) -> Response {
    let switch_href = format!(
        "/consent?txn={}&lang={}",
        urlencoding::encode(txn),
        lang.other().code()
    );
    let asks = awaiting.granted.legal_basis == trust_framework::LegalBasis::Consent;
    let title = if asks {
        pick(
            lang,
            "Share your information?",
            "Communiquer vos renseignements?",
        )
    } else {
        pick(
            lang,
            "Information to be shared",
            "Renseignements qui seront communiqués",
        )
    };
    let rp = registry.relying_party(&awaiting.client_id);
    let service = rp
        .map(|r| r.name.get(lang).to_owned())
        .unwrap_or_else(|| awaiting.client_id.clone());
    let agreement = registry.agreement(&awaiting.granted.agreement_id);
    let page = ConsentPage {
        frame: Frame::new(lang, title, switch_href),
        heading: match lang {
            Lang::En if asks => format!("Share your information with {service}?"),
            Lang::Fr if asks => format!("Communiquer vos renseignements à {service}?"),
            Lang::En => format!("Information that will be shared with {service}"),
            Lang::Fr => format!("Renseignements qui seront communiqués à {service}"),
        },
        intro: if asks {
            pick(
                lang,
                "Your identity was confirmed. Nothing has been shared yet: you decide whether the service receives the information below.",
                "Votre identité a été confirmée. Rien n'a encore été communiqué : vous décidez si le service reçoit les renseignements ci-dessous.",
            )
        } else {
            pick(
                lang,
                "Your identity was confirmed. The law that governs this program authorizes the service to collect the information below; this notice tells you what is shared.",
                "Votre identité a été confirmée. La loi qui régit ce programme autorise le service à recueillir les renseignements ci-dessous; cet avis vous indique ce qui est communiqué.",
            )
        },
        service_label: pick(lang, "Service", "Service"),
        service,
        purpose_label: pick(lang, "Purpose", "Fin"),
        purpose: agreement
            .map(|a| a.purpose.get(lang).to_owned())
            .unwrap_or_default(),
        provider_label: pick(lang, "Identity confirmed by", "Identité confirmée par"),
        provider: registry
            .provider(&awaiting.granted.provider_id)
            .map(|p| p.name.get(lang).to_owned())
            .unwrap_or_default(),
        retention_label: pick(
            lang,
            "Kept by the service for",
            "Conservé par le service pendant",
        ),
        retention: agreement
            .map(|a| match lang {
                Lang::En => format!("{} days", a.retention_days),
                Lang::Fr => format!("{} jours", a.retention_days),
            })
            .unwrap_or_default(),
        table_caption: pick(
            lang,
            "Information to be shared",
            "Renseignements à communiquer",
        ),
        attribute_header: pick(lang, "Information", "Renseignement"),
        value_header: pick(lang, "Value", "Valeur"),
        rows: awaiting
            .granted
            .attributes
            .iter()
            .map(|(a, v)| (a.label(lang), crate::login::display(v)))
            .collect(),
        nothing_text: pick(
            lang,
            "Only a confirmation that you signed in, with an identifier for this service, will be shared.",
            "Seule une confirmation de votre connexion, avec un identifiant propre à ce service, sera communiquée.",
        ),
        asks,
        remember_label: pick(
            lang,
            "Remember my decision for this service",
            "Mémoriser ma décision pour ce service",
        ),
        share_text: if asks {
            pick(lang, "Share", "Communiquer")
        } else {
            pick(lang, "Continue", "Continuer")
        },
        deny_text: if asks {
            pick(lang, "Do not share", "Ne pas communiquer")
        } else {
            pick(lang, "Cancel sign-in", "Annuler la connexion")
        },
        txn: txn.to_owned(),
        csrf: csrf.to_owned(),
    };
    let mut response = render(StatusCode::OK, page.render());
    // The decision is followed by a redirect to the service, which form-action must allow.
    let origin = url::Url::parse(&awaiting.return_to.redirect_uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' {origin}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

fn jurisdiction_label(j: Jurisdiction, lang: Lang) -> &'static str {
    j.name(lang)
}

pub(crate) fn render(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error / Erreur interne",
            )
                .into_response()
        }
    }
}

pub const STYLESHEET: &str = include_str!("../../static/broker.css");
