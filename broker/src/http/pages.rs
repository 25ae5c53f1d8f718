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

/// The frame common to every page: language, title, the switch to the other language, and who
/// runs the service (`crate::http::operator`) in the header and footer.
pub(crate) struct Frame {
    pub(crate) lang: &'static str,
    pub(crate) other_lang: &'static str,
    pub(crate) title: &'static str,
    pub(crate) broker_name: &'static str,
    pub(crate) skip_text: &'static str,
    pub(crate) language_label: &'static str,
    pub(crate) switch_text: &'static str,
    pub(crate) switch_href: String,
    pub(crate) operator_name: String,
    pub(crate) logo: bool,
    pub(crate) about_heading: &'static str,
    pub(crate) links: Vec<(&'static str, String)>,
    pub(crate) operated_by: String,
}

impl Frame {
    pub(crate) fn new(lang: Lang, title: &'static str, switch_href: String) -> Self {
        let operator = crate::http::operator::current();
        let operator_name = operator.name.get(lang).to_owned();
        Self {
            lang: lang.code(),
            other_lang: lang.other().code(),
            title,
            broker_name: pick(lang, BROKER_NAME.0, BROKER_NAME.1),
            skip_text: pick(lang, "Skip to main content", "Passer au contenu principal"),
            language_label: pick(lang, "Language", "Langue"),
            switch_text: pick(lang, "Français", "English"),
            switch_href,
            logo: operator.logo.is_some(),
            about_heading: pick(lang, "About this service", "À propos de ce service"),
            links: operator.links(lang),
            operated_by: match lang {
                Lang::En => format!("Operated by: {operator_name}"),
                Lang::Fr => format!("Exploité par\u{a0}: {operator_name}"),
            },
            operator_name,
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
    next_heading: &'static str,
    /// What to do, unless the advice already says it.
    next: Option<&'static str>,
    back: Option<(&'static str, String)>,
    details_summary: &'static str,
    code_label: &'static str,
    code: &'static str,
    detail_label: &'static str,
    detail: std::borrow::Cow<'a, str>,
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
    error_page(lang, status, error, advice, detail, None, switch_href)
}

/// The error page: what happened, what to do, a way back to the service when one is known
/// (`back`, an address of the service's own site), and the technical details folded away. The
/// detail is the error's description: in French, its translation
/// (`crate::http::error_text`), never the English.
pub fn error_page(
    lang: Lang,
    status: StatusCode,
    error: &OAuthError,
    advice: Option<Advice>,
    detail: &str,
    back: Option<String>,
    switch_href: String,
) -> Response {
    let f = Frame::new(
        lang,
        pick(lang, "Sign-in stopped", "Connexion interrompue"),
        switch_href,
    );
    let detail = if detail.is_empty() {
        std::borrow::Cow::Borrowed("")
    } else if detail == error.description {
        crate::http::error_text::description(error, lang)
    } else {
        match lang {
            Lang::En => std::borrow::Cow::Borrowed(detail),
            Lang::Fr => std::borrow::Cow::Owned(
                crate::http::error_text::description(&OAuthError::new(error.code, detail), lang)
                    .into_owned(),
            ),
        }
    };
    let page = ErrorPage {
        frame: f,
        message: advice.map_or_else(|| error.person_message(lang), |(en, fr)| pick(lang, en, fr)),
        next_heading: pick(lang, "What you can do", "Ce que vous pouvez faire"),
        next: advice
            .is_none()
            .then(|| crate::http::error_text::what_to_do(error.code, lang)),
        back: back.map(|url| {
            (
                pick(lang, "Return to the service", "Retourner au service"),
                url,
            )
        }),
        details_summary: pick(lang, "Technical details", "Détails techniques"),
        code_label: pick(lang, "Error code:", "Code d'erreur\u{a0}:"),
        code: error.code.as_str(),
        detail_label: pick(lang, "Description:", "Description\u{a0}:"),
        detail,
    };
    render(status, page.render())
}

struct ProviderChoice {
    id: String,
    name: String,
    hint_id: String,
    confirms: String,
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
    remember_hint: &'static str,
    intro: &'static str,
    help: &'static str,
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

/// "Can confirm: given name, family name" for a provider's choice on the picker.
fn confirms(
    lang: Lang,
    attributes: &std::collections::BTreeSet<trust_framework::Attribute>,
) -> String {
    if attributes.is_empty() {
        return pick(
            lang,
            "Confirms that you signed in; shares nothing else with the service.",
            "Confirme votre connexion; ne communique rien d'autre au service.",
        )
        .to_owned();
    }
    let names: Vec<String> = attributes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let label = a.label(lang);
            if i == 0 {
                label.to_owned()
            } else {
                label.to_lowercase()
            }
        })
        .collect();
    match lang {
        Lang::En => format!("Can confirm: {}.", names.join(", ")),
        Lang::Fr => format!("Peut confirmer\u{a0}: {}.", names.join(", ")),
    }
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
        let choice = ProviderChoice {
            id: c.provider_id.clone(),
            name,
            hint_id: format!("confirms-{}", c.provider_id),
            confirms: confirms(lang, &c.attributes),
        };
        match groups.last_mut() {
            Some(g) if g.jurisdiction == jurisdiction => g.providers.push(choice),
            _ => groups.push(Group {
                jurisdiction,
                providers: vec![choice],
            }),
        }
    }
    let page = PickerPage {
        frame: f,
        notice,
        remember_label: pick(
            lang,
            "Remember my choice on this device",
            "Mémoriser mon choix sur cet appareil",
        ),
        remember_hint: pick(
            lang,
            "Next time, you will go straight to the same provider. To forget the choice, clear this site's cookies in your browser.",
            "La prochaine fois, vous irez directement au même fournisseur. Pour oublier ce choix, effacez les témoins de ce site dans votre navigateur.",
        ),
        intro: pick(
            lang,
            "Choose the identity provider where you already have an account, usually the one of the province or territory where you live. If you have no account, choose the Government of Canada.",
            "Choisissez le fournisseur d'identité auprès duquel vous avez déjà un compte, habituellement celui de la province ou du territoire où vous habitez. Si vous n'avez aucun compte, choisissez le gouvernement du Canada.",
        ),
        help: pick(
            lang,
            "The provider confirms who you are. Before anything is shared with the service, you will see what it receives.",
            "Le fournisseur confirme votre identité. Avant toute communication au service, vous verrez ce qu'il recevra.",
        ),
        txn: txn.to_owned(),
        csrf: csrf.to_owned(),
        groups,
    };
    let mut response = render(StatusCode::OK, page.render());
    // Browsers apply form-action to the redirect that follows a form post, so the providers
    // the person may be sent to are named; nothing else is.
    let origins = provider_origins(
        registry,
        decision.candidates.iter().map(|c| c.provider_id.as_str()),
    );
    allow_form_targets(&mut response, &origins);
    response
}

/// The origins of these providers' issuers: where a form's answer may redirect the person to
/// sign in, which the page's `form-action` must name.
pub(crate) fn provider_origins<'a>(
    registry: &Registry,
    providers: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    providers
        .filter_map(|id| registry.provider(id))
        .filter_map(|p| url::Url::parse(&p.issuer).ok())
        .map(|u| u.origin().ascii_serialization())
        .collect()
}

/// The pages' Content-Security-Policy, with the origins a form's answer may be redirected to
/// (browsers apply `form-action` to the redirects that follow a post): `'self'` and those.
pub(crate) fn allow_form_targets(response: &mut Response, origins: &[String]) {
    let csp = format!(
        "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self'; form-action 'self' {}; frame-ancestors 'none'; base-uri 'none'",
        origins.join(" ")
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    frame: Frame,
    heading: String,
    intro: &'static str,
    authority: Option<(String, String)>,
    authority_text: (&'static str, &'static str),
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
    rows: Vec<(&'static str, Vec<String>)>,
    nothing_text: &'static str,
    asks: bool,
    refuse_heading: &'static str,
    refuse_text: String,
    later_text: &'static str,
    record_href: &'static str,
    record_text: &'static str,
    contact: Option<(&'static str, String)>,
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
    let operator = crate::http::operator::current();
    let page = ConsentPage {
        frame: Frame::new(lang, title, switch_href),
        heading: match lang {
            Lang::En if asks => format!("Share your information with {service}?"),
            Lang::Fr if asks => format!("Communiquer vos renseignements au service {service}?"),
            Lang::En => format!("Information that will be shared with {service}"),
            Lang::Fr => format!("Renseignements qui seront communiqués au service {service}"),
        },
        intro: if asks {
            pick(
                lang,
                "Your identity was confirmed. Nothing has been shared yet: you decide whether the service receives the information below.",
                "Votre identité a été confirmée. Rien n'a encore été communiqué\u{a0}: vous décidez si le service reçoit les renseignements ci-dessous.",
            )
        } else {
            pick(
                lang,
                "Your identity was confirmed. The law below authorizes the service to collect this information without asking you; this notice tells you what is shared.",
                "Votre identité a été confirmée. La loi ci-dessous autorise le service à recueillir ces renseignements sans vous le demander; cet avis vous indique ce qui est communiqué.",
            )
        },
        authority: agreement
            .and_then(|a| a.legal_authority.as_ref())
            .map(|l| (l.name.get(lang).to_owned(), l.url.get(lang).to_owned())),
        authority_text: (
            pick(lang, "Authorized by:", "Autorisé par\u{a0}:"),
            pick(
                lang,
                "The law that authorizes this collection is named in the service's agreement.",
                "La loi qui autorise cette collecte est nommée dans l'entente du service.",
            ),
        ),
        service_label: pick(lang, "Service", "Service"),
        service: service.clone(),
        purpose_label: pick(lang, "Why the service needs it", "Raison de la collecte"),
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
            "How long the service keeps it",
            "Durée de conservation par le service",
        ),
        retention: agreement
            .map(|a| crate::http::values::retention(a.retention_days, lang))
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
            .map(|(a, v)| (a.label(lang), crate::http::values::attribute(*a, v, lang)))
            .collect(),
        nothing_text: pick(
            lang,
            "Only a confirmation that you signed in, with an identifier for this service, will be shared.",
            "Seule une confirmation de votre connexion, avec un identifiant propre à ce service, sera communiquée.",
        ),
        asks,
        refuse_heading: pick(lang, "If you do not share", "Si vous ne communiquez pas"),
        refuse_text: match lang {
            Lang::En => format!(
                "You go back to {service} without your information. The service will explain other ways to prove your identity, for example in person or by mail."
            ),
            Lang::Fr => format!(
                "Vous retournerez au service {service} sans vos renseignements. Le service vous expliquera d'autres façons de prouver votre identité, par exemple en personne ou par la poste."
            ),
        },
        later_text: if asks {
            pick(
                lang,
                "If you remember your decision, it is used for your next sign-ins to this service. You can review or withdraw it later, and see everything shared about you, at",
                "Si vous mémorisez votre décision, elle servira à vos prochaines connexions à ce service. Vous pourrez la revoir ou la retirer plus tard, et voir tout ce qui a été communiqué à votre sujet, à la page",
            )
        } else {
            pick(
                lang,
                "You can see later what was shared about you, and report a problem, at",
                "Vous pourrez voir plus tard ce qui a été communiqué à votre sujet, et signaler un problème, à la page",
            )
        },
        record_href: crate::record::path(lang),
        record_text: pick(lang, "Your record", "Votre dossier"),
        contact: operator.contact.as_ref().map(|c| {
            (
                pick(lang, "Contact us", "Contactez-nous"),
                c.get(lang).to_owned(),
            )
        }),
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
    allow_form_targets(&mut response, &[origin]);
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
