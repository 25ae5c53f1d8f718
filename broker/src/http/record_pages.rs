//! The person's record's pages (`crate::record`): the sign-in, the record itself, the
//! withdrawal's question, and the pages that say what happened or explain a proof.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use trust_framework::{Lang, WithdrawalReason};

use super::pages::{Frame, allow_form_targets, pick, render};
use crate::record::view::{ConsentView, DisclosureView};

/// The record page's title, which is also the sign-in page's.
fn title(lang: Lang) -> &'static str {
    pick(lang, "Your record", "Votre dossier")
}

/// The record's address with the language switched.
fn switch(lang: Lang) -> String {
    crate::record::path(lang.other()).to_owned()
}

#[derive(Template)]
#[template(path = "record_sign_in.html")]
struct SignInPage {
    frame: Frame,
    intro: &'static str,
    how: &'static str,
    privacy: &'static str,
    none_text: &'static str,
    csrf: String,
    groups: Vec<(&'static str, Vec<(String, String)>)>,
    proofs_href: String,
    proofs_text: &'static str,
}

/// "Sign in to see your record": the providers the person may use, by jurisdiction, each a
/// button of one form; `form_origins` are theirs (the form's answer redirects there).
pub fn sign_in(
    lang: Lang,
    groups: Vec<(&'static str, Vec<(String, String)>)>,
    csrf: String,
    form_origins: &[String],
) -> Response {
    let page = SignInPage {
        frame: Frame::new(lang, title(lang), switch(lang)),
        intro: pick(
            lang,
            "See who received your identity through this service, when and why, and manage the consents you asked us to remember.",
            "Voyez qui a reçu votre identité par ce service, quand et pourquoi, et gérez les consentements que vous nous avez demandé de mémoriser.",
        ),
        how: pick(
            lang,
            "To see your record, sign in with the identity provider you use for government services. Your record is found from that account only: if you have accounts with two providers, each has its own record.",
            "Pour consulter votre dossier, connectez-vous avec le fournisseur d'identité que vous utilisez pour les services gouvernementaux. Votre dossier est retrouvé à partir de ce compte seulement\u{a0}: si vous avez un compte chez deux fournisseurs, chacun a son propre dossier.",
        ),
        privacy: pick(
            lang,
            "Your record lists the names of the information shared, never the information itself. For your privacy, it closes after a few minutes.",
            "Votre dossier indique le nom des renseignements communiqués, jamais les renseignements eux-mêmes. Pour protéger votre vie privée, il se ferme après quelques minutes.",
        ),
        none_text: pick(
            lang,
            "No identity provider can be used to see a record right now. Try again later.",
            "Aucun fournisseur d'identité ne peut servir à consulter un dossier pour le moment. Réessayez plus tard.",
        ),
        csrf,
        groups,
        proofs_href: proofs_href(lang),
        proofs_text: pick(
            lang,
            "How we prove that your record is complete",
            "Comment nous prouvons que votre dossier est complet",
        ),
    };
    let mut response = render(StatusCode::OK, page.render());
    allow_form_targets(&mut response, form_origins);
    response
}

/// The labels every entry of the record page uses.
pub struct Labels {
    pub information: &'static str,
    pub nothing: &'static str,
    pub purpose: &'static str,
    pub given: &'static str,
    pub until: &'static str,
    pub withdraw: &'static str,
    pub filter: &'static str,
    pub service: &'static str,
    pub all_services: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub show: &'static str,
    pub export: &'static str,
    pub json: &'static str,
    pub csv: &'static str,
    pub legal_basis: &'static str,
    pub provider: &'static str,
    pub level: &'static str,
    pub agreed: &'static str,
    pub reference: &'static str,
    pub proof: &'static str,
    pub proof_about: &'static str,
    pub not_me: &'static str,
    pub truncated: &'static str,
}

impl Labels {
    fn new(lang: Lang) -> Self {
        Self {
            information: pick(lang, "Information", "Renseignements"),
            nothing: pick(
                lang,
                "Only a confirmation that you signed in",
                "Seulement une confirmation de votre connexion",
            ),
            purpose: pick(lang, "Why", "Raison"),
            given: pick(lang, "Given on", "Donné le"),
            until: pick(lang, "Remembered until", "Mémorisé jusqu'au"),
            withdraw: pick(lang, "Withdraw this consent", "Retirer ce consentement"),
            filter: pick(lang, "Show only", "Afficher seulement"),
            service: pick(lang, "Service", "Service"),
            all_services: pick(lang, "All services", "Tous les services"),
            from: pick(lang, "From (year-month-day)", "Du (année-mois-jour)"),
            to: pick(lang, "To (year-month-day)", "Au (année-mois-jour)"),
            show: pick(lang, "Show", "Afficher"),
            export: pick(
                lang,
                "Download what is shown:",
                "Télécharger ce qui est affiché\u{a0}:",
            ),
            json: pick(lang, "JSON file", "fichier JSON"),
            csv: pick(lang, "CSV file (spreadsheet)", "fichier CSV (tableur)"),
            legal_basis: pick(lang, "Legal basis", "Fondement juridique"),
            provider: pick(lang, "Identity confirmed by", "Identité confirmée par"),
            level: pick(lang, "Level of assurance", "Niveau d'assurance"),
            agreed: pick(lang, "How you agreed", "Votre accord"),
            reference: pick(lang, "Reference", "Référence"),
            proof: pick(
                lang,
                "Download the proof that this is in the audit log",
                "Télécharger la preuve de son inscription au journal d'audit",
            ),
            proof_about: pick(lang, "What the proof shows", "Ce que la preuve démontre"),
            not_me: pick(lang, "This wasn't me", "Ce n'était pas moi"),
            truncated: pick(
                lang,
                "Only the most recent entries are shown. Choose a period to see older ones.",
                "Seules les inscriptions les plus récentes sont affichées. Choisissez une période pour voir les plus anciennes.",
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage<'a> {
    frame: Frame,
    notice: Option<&'a str>,
    problem: Option<&'static str>,
    intro: &'static str,
    signed_in: String,
    sign_out_text: &'static str,
    csrf: &'a str,
    consents_heading: &'static str,
    consents_intro: &'static str,
    no_consents: &'static str,
    consents: Vec<ConsentView>,
    disclosures_heading: &'static str,
    disclosures_intro: &'static str,
    no_disclosures: &'static str,
    disclosures: &'a [DisclosureView],
    services: Vec<(String, String)>,
    selected_service: &'a str,
    from: &'a str,
    to: &'a str,
    query: String,
    page_path: &'static str,
    proofs_href: String,
    truncated: bool,
    labels: Labels,
}

/// What the record page shows.
pub struct Record<'a> {
    pub provider: String,
    pub level: String,
    pub minutes_left: i64,
    pub csrf: &'a str,
    pub consents: Vec<ConsentView>,
    pub disclosures: &'a [DisclosureView],
    pub services: Vec<(String, String)>,
    pub selected_service: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    /// The filter as a query string, for the export links.
    pub query: String,
    pub truncated: bool,
    /// What was just done (a withdrawal), in the person's words.
    pub notice: Option<String>,
    /// What was wrong with the filter.
    pub problem: Option<&'static str>,
}

pub fn record(lang: Lang, r: Record<'_>) -> Response {
    let page = RecordPage {
        frame: Frame::new(lang, title(lang), switch(lang)),
        notice: r.notice.as_deref(),
        problem: r.problem,
        intro: pick(
            lang,
            "Each time your identity was shared with a government service through this service, it is listed here: when, with which service, what information and why. Only the names of the information are kept, never the information itself.",
            "Chaque communication de votre identité à un service gouvernemental par ce service est inscrite ici\u{a0}: quand, à quel service, quels renseignements et pourquoi. Seul le nom des renseignements est conservé, jamais les renseignements eux-mêmes.",
        ),
        signed_in: match lang {
            Lang::En => format!(
                "You signed in with {}, at {}. For your privacy, this page closes in {} minutes or when you close it.",
                r.provider, r.level, r.minutes_left
            ),
            Lang::Fr => format!(
                "Vous avez ouvert une session avec {}, au {}. Pour protéger votre vie privée, cette page se ferme dans {} minutes ou quand vous la fermez.",
                r.provider, r.level, r.minutes_left
            ),
        },
        sign_out_text: pick(lang, "Close my record", "Fermer mon dossier"),
        csrf: r.csrf,
        consents_heading: pick(lang, "Remembered consents", "Consentements mémorisés"),
        consents_intro: pick(
            lang,
            "When you ask us to remember a consent, the service receives your information at your next sign-ins without asking you again. You can withdraw it at any time: the service is told, and you will be asked again next time.",
            "Quand vous nous demandez de mémoriser un consentement, le service reçoit vos renseignements lors de vos prochaines connexions sans vous le redemander. Vous pouvez le retirer en tout temps\u{a0}: le service en est avisé, et on vous le redemandera la prochaine fois.",
        ),
        no_consents: pick(
            lang,
            "You have no remembered consent.",
            "Vous n'avez aucun consentement mémorisé.",
        ),
        consents: r.consents,
        disclosures_heading: pick(
            lang,
            "Who received your identity",
            "Qui a reçu votre identité",
        ),
        disclosures_intro: pick(
            lang,
            "Newest first, for as long as the records are kept.",
            "Les plus récentes d'abord, pour toute la durée de conservation des dossiers.",
        ),
        no_disclosures: pick(
            lang,
            "Nothing was shared about you with this account, or nothing matches what you chose to show.",
            "Rien n'a été communiqué à votre sujet avec ce compte, ou rien ne correspond à ce que vous avez choisi d'afficher.",
        ),
        disclosures: r.disclosures,
        services: r.services,
        selected_service: r.selected_service,
        from: r.from,
        to: r.to,
        query: r.query,
        page_path: crate::record::path(lang),
        proofs_href: proofs_href(lang),
        truncated: r.truncated,
        labels: Labels::new(lang),
    };
    render(StatusCode::OK, page.render())
}

#[derive(Template)]
#[template(path = "record_withdraw.html")]
struct WithdrawPage<'a> {
    frame: Frame,
    service_label: &'static str,
    service: &'a str,
    information_label: &'static str,
    information: String,
    purpose_label: &'static str,
    purpose: &'a str,
    what_happens: &'static str,
    fresh_note: Option<String>,
    csrf: &'a str,
    consent: &'a str,
    reason_legend: &'static str,
    reasons: Vec<(&'static str, &'static str)>,
    withdraw_text: &'static str,
    back_href: String,
    back_text: &'static str,
}

/// "Withdraw your consent?", with the reasons to choose from. `provider` is named when a fresh
/// sign-in there comes first; its origin is `form_origins`.
pub fn withdraw(
    lang: Lang,
    consent: &ConsentView,
    csrf: &str,
    provider: Option<&str>,
    form_origins: &[String],
) -> Response {
    let page = WithdrawPage {
        frame: Frame::new(
            lang,
            pick(lang, "Withdraw your consent?", "Retirer votre consentement?"),
            format!(
                "/my-record/withdraw?consent={}&lang={}",
                urlencoding::encode(&consent.key),
                lang.other().code()
            ),
        ),
        service_label: pick(lang, "Service", "Service"),
        service: &consent.service,
        information_label: pick(lang, "Information", "Renseignements"),
        information: if consent.information.is_empty() {
            pick(
                lang,
                "Only a confirmation that you signed in",
                "Seulement une confirmation de votre connexion",
            )
            .to_owned()
        } else {
            consent.information.join(", ")
        },
        purpose_label: pick(lang, "Why", "Raison"),
        purpose: &consent.purpose,
        what_happens: pick(
            lang,
            "The service will be told that you withdrew your consent, and the next time you sign in to it you will be asked again. Information it already received is not taken back by this: ask the service about it.",
            "Le service sera avisé du retrait de votre consentement, et on vous le redemandera à votre prochaine connexion. Les renseignements qu'il a déjà reçus ne lui sont pas retirés pour autant\u{a0}: renseignez-vous auprès du service.",
        ),
        fresh_note: provider.map(|p| match lang {
            Lang::En => format!(
                "To protect you, you will first be asked to sign in again with {p}. Your consent is withdrawn as soon as you have."
            ),
            Lang::Fr => format!(
                "Pour vous protéger, on vous demandera d'abord de vous connecter de nouveau avec {p}. Votre consentement sera retiré dès que ce sera fait."
            ),
        }),
        csrf,
        consent: &consent.key,
        reason_legend: pick(
            lang,
            "Why are you withdrawing it?",
            "Pourquoi le retirez-vous?",
        ),
        reasons: WithdrawalReason::ALL
            .iter()
            .map(|r| (r.code(), r.label(lang)))
            .collect(),
        withdraw_text: pick(lang, "Withdraw my consent", "Retirer mon consentement"),
        back_href: format!("{}#consents", crate::record::path(lang)),
        back_text: pick(
            lang,
            "Keep it and go back to my record",
            "Le garder et retourner à mon dossier",
        ),
    };
    let mut response = render(StatusCode::OK, page.render());
    allow_form_targets(&mut response, form_origins);
    response
}

/// A section of a message page.
pub struct Section {
    pub heading: &'static str,
    pub paragraphs: Vec<String>,
    pub items: Vec<String>,
    pub code: Option<String>,
}

#[derive(Template)]
#[template(path = "record_message.html")]
struct MessagePage {
    frame: Frame,
    lead: Vec<String>,
    sections: Vec<Section>,
    contact: Option<(&'static str, String)>,
    back_href: String,
    back_text: &'static str,
}

fn message(
    lang: Lang,
    title: &'static str,
    switch_href: String,
    lead: Vec<String>,
    sections: Vec<Section>,
) -> Response {
    let operator = crate::http::operator::current();
    let page = MessagePage {
        frame: Frame::new(lang, title, switch_href),
        lead,
        sections,
        contact: operator.contact.as_ref().map(|c| {
            (
                pick(lang, "Contact us", "Contactez-nous"),
                c.get(lang).to_owned(),
            )
        }),
        back_href: crate::record::path(lang).to_owned(),
        back_text: pick(lang, "Back to my record", "Retour à mon dossier"),
    };
    render(StatusCode::OK, page.render())
}

/// "Thank you for telling us": the report's reference and what happens next.
pub fn reported(lang: Lang, reference: &str, provider: &str) -> Response {
    let (lead, next) = match lang {
        Lang::En => (
            vec![
                "We recorded your report that this sharing of your identity was not your doing.".to_owned(),
                format!("Your reference is {reference}. Keep it: quote it if you contact us."),
            ],
            vec![
                "We review every report. We may ask the identity provider to check the sign-in, and the service to stop using what it received.".to_owned(),
                format!("Someone may be using your account. Change your password with {provider} now, or contact them if you cannot sign in."),
                "If you are asked for more information about you in a message you did not expect, do not answer it: contact us instead.".to_owned(),
            ],
        ),
        Lang::Fr => (
            vec![
                "Nous avons inscrit votre signalement indiquant que cette communication de votre identité ne venait pas de vous.".to_owned(),
                format!("Votre numéro de référence est {reference}. Conservez-le\u{a0}: indiquez-le si vous communiquez avec nous."),
            ],
            vec![
                "Nous examinons chaque signalement. Nous pourrions demander au fournisseur d'identité de vérifier la connexion, et au service de cesser d'utiliser ce qu'il a reçu.".to_owned(),
                format!("Quelqu'un utilise peut-être votre compte. Changez dès maintenant votre mot de passe auprès de {provider}, ou communiquez avec ce fournisseur si vous ne pouvez pas vous connecter."),
                "Si on vous demande d'autres renseignements à votre sujet dans un message inattendu, n'y répondez pas\u{a0}: communiquez plutôt avec nous.".to_owned(),
            ],
        ),
    };
    message(
        lang,
        pick(
            lang,
            "Thank you for telling us",
            "Merci de votre signalement",
        ),
        crate::record::path(lang.other()).to_owned(),
        lead,
        vec![Section {
            heading: pick(lang, "What happens next", "La suite"),
            paragraphs: Vec::new(),
            items: next,
            code: None,
        }],
    )
}

/// The address of the page that explains proofs.
pub fn proofs_href(lang: Lang) -> String {
    format!("/my-record/proofs?lang={}", lang.code())
}

/// What a proof shows, in plain words, and how anyone can check it; `log_key` is the log's
/// verifier key, when the broker signs its log.
pub fn proofs(lang: Lang, log_key: Option<&str>, issuer: &str) -> Response {
    let t = |en: &str, fr: &str| pick_owned(lang, en, fr);
    let check =
        log_key.map(|key| format!("conformance log verify --proof proof.json --log-key '{key}'"));
    let sections = vec![
        Section {
            heading: pick(
                lang,
                "What the proof file holds",
                "Ce que contient le fichier de preuve",
            ),
            paragraphs: Vec::new(),
            items: vec![
                t(
                    "The entry of your record exactly as it was written: when, which service, the names of the information, the agreement. Never the information itself.",
                    "L'inscription de votre dossier telle qu'elle a été écrite\u{a0}: quand, à quel service, le nom des renseignements, l'entente. Jamais les renseignements eux-mêmes.",
                ),
                t(
                    "Its place in the audit log, and the short chain of fingerprints that links it to the log's summary.",
                    "Sa place dans le journal d'audit, et la courte chaîne d'empreintes qui la relie au sommaire du journal.",
                ),
                t(
                    "That summary, signed by this service and, when they have seen it, by independent witnesses.",
                    "Ce sommaire, signé par ce service et, quand ils l'ont vu, par des témoins indépendants.",
                ),
            ],
            code: None,
        },
        Section {
            heading: pick(lang, "What it proves", "Ce qu'elle démontre"),
            paragraphs: vec![t(
                "That this entry is in the audit log that this service signed and that others hold copies of its summary. Every sharing of identity is written to that log before the service receives anything, and an entry cannot be changed or removed later without the signed summaries showing it. So the record you see cannot quietly leave something out.",
                "Que cette inscription figure dans le journal d'audit que ce service a signé et dont d'autres conservent le sommaire. Chaque communication d'identité est inscrite dans ce journal avant que le service ne reçoive quoi que ce soit, et une inscription ne peut être modifiée ou supprimée par la suite sans que les sommaires signés le révèlent. Le dossier que vous voyez ne peut donc rien omettre en douce.",
            )],
            items: Vec::new(),
            code: None,
        },
        Section {
            heading: pick(lang, "What it does not prove", "Ce qu'elle ne démontre pas"),
            paragraphs: vec![t(
                "It does not say what the service did with your information, and it holds none of it. If the file says it is not yet witnessed, only this service has signed it so far; a later proof of the same entry will be.",
                "Elle ne dit pas ce que le service a fait de vos renseignements, et n'en contient aucun. Si le fichier indique qu'il n'est pas encore attesté par un témoin, seul ce service l'a signé jusqu'ici; une preuve ultérieure de la même inscription le sera.",
            )],
            items: Vec::new(),
            code: None,
        },
        Section {
            heading: pick(lang, "How to check it", "Comment la vérifier"),
            paragraphs: vec![match lang {
                Lang::En => format!(
                    "Anyone can check a proof without asking us, with the free auditors' tool of this project, using the key that this service ({issuer}) publishes at /log/key:"
                ),
                Lang::Fr => format!(
                    "N'importe qui peut vérifier une preuve sans nous le demander, avec l'outil gratuit des vérificateurs de ce projet, au moyen de la clé que ce service ({issuer}) publie à l'adresse /log/key\u{a0}:"
                ),
            }],
            items: Vec::new(),
            code: check,
        },
    ];
    message(
        lang,
        pick(lang, "What a proof shows", "Ce que démontre une preuve"),
        proofs_href(lang.other()),
        vec![t(
            "Each entry of your record comes with a proof that it is in this service's audit log. You can download it and keep it.",
            "Chaque inscription de votre dossier est accompagnée d'une preuve qu'elle figure dans le journal d'audit de ce service. Vous pouvez la télécharger et la conserver.",
        )],
        sections,
    )
}

fn pick_owned(lang: Lang, en: &str, fr: &str) -> String {
    match lang {
        Lang::En => en.to_owned(),
        Lang::Fr => fr.to_owned(),
    }
}

/// A short message page after a withdrawal or a sign-out, or when something stopped.
pub fn notice(
    lang: Lang,
    title: (&'static str, &'static str),
    lines: (&'static str, &'static str),
) -> Response {
    message(
        lang,
        pick(lang, title.0, title.1),
        crate::record::path(lang.other()).to_owned(),
        vec![pick(lang, lines.0, lines.1).to_owned()],
        Vec::new(),
    )
}

/// An error page of the record: what happened, in the person's words, and the way back.
pub fn problem(lang: Lang, status: StatusCode, advice: (&'static str, &'static str)) -> Response {
    let mut response = notice(
        lang,
        (
            "Your record cannot be shown",
            "Votre dossier ne peut pas être affiché",
        ),
        advice,
    );
    *response.status_mut() = status;
    response
}
