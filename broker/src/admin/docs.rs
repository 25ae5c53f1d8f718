//! The admin API's OpenAPI document and the bilingual admin page.
//!
//! - `GET /admin/openapi.json`: the OpenAPI 3.1 description of every admin route, served
//!   without authentication: it describes the API and reveals no data.
//! - `GET /admin`: a server-rendered page (English and French, no script) listing the
//!   providers, relying services and agreements in force, for people with the Auditor,
//!   Registrar or Approver role.

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;
use trust_framework::{Jurisdiction, Lang};

use super::auth::{Admin, AdminError};
use crate::app::Broker;
use crate::http::pages::{Frame, pick};

/// The OpenAPI document, kept as a file so that a change to the API shows up in review.
pub const OPENAPI: &str = include_str!("openapi.json");

pub fn router() -> Router<Broker> {
    Router::new()
        .route("/admin/openapi.json", get(openapi))
        .route("/admin", get(page))
}

async fn openapi() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        OPENAPI,
    )
        .into_response()
}

/// The admin page in the other language.
fn admin_switch(lang: Lang) -> String {
    format!("/admin?lang={}", lang.other().code())
}

struct ProviderRow {
    id: String,
    name: String,
    jurisdiction: String,
    issuer: String,
    status: String,
    registered_by: String,
    conformance: String,
}

struct ServiceRow {
    client_id: String,
    name: String,
    status: String,
    redirect_uris: Vec<String>,
    auth_method: String,
    sector: String,
}

struct AgreementRow {
    id: String,
    version: u32,
    relying_party: String,
    providers: String,
    status: String,
    window: String,
    legal_basis: String,
}

struct Labels {
    intro: String,
    providers_caption: &'static str,
    services_caption: &'static str,
    agreements_caption: &'static str,
    id: &'static str,
    name: &'static str,
    jurisdiction: &'static str,
    issuer: &'static str,
    status: &'static str,
    registered_by: &'static str,
    conformance: &'static str,
    client_id: &'static str,
    redirect_uris: &'static str,
    auth_method: &'static str,
    sector: &'static str,
    version: &'static str,
    relying_party: &'static str,
    providers: &'static str,
    window: &'static str,
    legal_basis: &'static str,
    none: &'static str,
    api_text: &'static str,
    log_caption: &'static str,
    witness: &'static str,
    cosigned: &'static str,
}

/// One witness of the log and the newest checkpoint it co-signed.
struct WitnessRow {
    name: String,
    cosigned: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    frame: Frame,
    labels: Labels,
    providers: Vec<ProviderRow>,
    services: Vec<ServiceRow>,
    agreements: Vec<AgreementRow>,
    /// The newest checkpoint, in a sentence.
    checkpoint: String,
    witnesses: Vec<WitnessRow>,
}

/// The log's newest checkpoint, in a sentence, and each configured witness's newest
/// cosignature: what an auditor looks at first.
async fn log_view(broker: &Broker, lang: Lang) -> (String, Vec<WitnessRow>) {
    let checkpoint = match (&broker.log, broker.records.checkpoint(None).await) {
        (None, _) => pick(
            lang,
            "No checkpoint is signed: the configuration has no [log] key.",
            "Aucun point de contrôle n'est signé\u{a0}: la configuration n'a pas de clé [log].",
        )
        .to_owned(),
        (Some(_), Ok(None)) => pick(
            lang,
            "No checkpoint has been signed yet.",
            "Aucun point de contrôle n'a encore été signé.",
        )
        .to_owned(),
        (Some(log), Ok(Some(c))) => {
            let at = super::rfc3339(c.at).unwrap_or_default();
            let root = c.root.to_string();
            match lang {
                Lang::En => format!(
                    "Newest checkpoint of {}: {} records, root hash {root}, signed {at}.",
                    log.origin(),
                    c.size
                ),
                Lang::Fr => format!(
                    "Dernier point de contrôle de {} : {} enregistrements, hachage racine {root}, signé le {at}.",
                    log.origin(),
                    c.size
                ),
            }
        }
        (Some(_), Err(e)) => {
            tracing::warn!(error = %e, "the log's checkpoint is unreadable");
            pick(
                lang,
                "The log cannot be read right now.",
                "Le journal ne peut pas être lu pour le moment.",
            )
            .to_owned()
        }
    };
    let cosigned = broker.records.cosignatures(None).await.unwrap_or_default();
    let witnesses = broker
        .log
        .iter()
        .flat_map(|log| log.witnesses())
        .map(|w| WitnessRow {
            name: w.name().to_owned(),
            cosigned: match cosigned.iter().find(|c| c.witness == w.name()) {
                Some(c) => {
                    let at = super::rfc3339(c.at).unwrap_or_default();
                    match lang {
                        Lang::En => format!("{} records, on {at}", c.size),
                        Lang::Fr => format!("{} enregistrements, le {at}", c.size),
                    }
                }
                None => pick(lang, "not yet", "pas encore").to_owned(),
            },
        })
        .collect();
    (checkpoint, witnesses)
}

#[derive(Template)]
#[template(path = "admin_denied.html")]
struct DeniedPage {
    frame: Frame,
    /// The explanation in the page's language, then in the other official language.
    message: &'static str,
    other_lang: &'static str,
    other_message: &'static str,
}

fn status_word(status: &str, lang: Lang) -> String {
    let word = match (status, lang) {
        ("active", Lang::Fr) => "actif",
        ("pending", Lang::Fr) => "en attente",
        ("suspended", Lang::Fr) => "suspendu",
        ("revoked", Lang::Fr) => "révoqué",
        ("terminated", Lang::Fr) => "résilié",
        (other, _) => other,
    };
    word.to_owned()
}

fn status_text(status: &str, reason: Option<&str>, lang: Lang) -> String {
    let word = status_word(status, lang);
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("{word} ({r})"),
        None => word,
    }
}

fn jurisdiction_name(code: &str, lang: Lang) -> String {
    code.parse::<Jurisdiction>()
        .map(|j| format!("{} ({code})", j.name(lang)))
        .unwrap_or_else(|_| code.to_owned())
}

/// The summary of a stored conformance report (`{passed, failed, report}` or `{passed, error}`).
fn conformance_summary(report: Option<&str>, lang: Lang) -> String {
    let Some(value) = report.and_then(|r| serde_json::from_str::<Value>(r).ok()) else {
        return pick(lang, "no report", "aucun rapport").to_owned();
    };
    if let Some(error) = value["error"].as_str() {
        return format!("{} {error}", pick(lang, "not run:", "non exécuté\u{a0}:"));
    }
    let failed: Vec<&str> = value["failed"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if value["passed"] == true {
        pick(lang, "passed", "réussi").to_owned()
    } else if failed.is_empty() {
        pick(lang, "failed", "échoué").to_owned()
    } else {
        format!(
            "{} {}",
            pick(lang, "failed:", "échoué\u{a0}:"),
            failed.join(", ")
        )
    }
}

fn render(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "admin page rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error / Erreur interne",
            )
                .into_response()
        }
    }
}

/// An HTML refusal for people (the JSON API answers its own callers in JSON).
fn denied(lang: Lang, error: &AdminError) -> Response {
    let (status, en, fr) = match error {
        AdminError::Unauthenticated(_) => (
            StatusCode::UNAUTHORIZED,
            "This page is for the broker's administrators. Sign in through your organization's access proxy, which sends your administrator credential (a bearer token) with each request.",
            "Cette page est réservée aux administrateurs du courtier. Connectez-vous par le mandataire d'accès de votre organisation, qui transmet votre justificatif d'administrateur (un jeton porteur) avec chaque requête.",
        ),
        _ => (
            StatusCode::FORBIDDEN,
            "Your administrator credential does not have the Auditor, Registrar or Approver role needed to read the registry.",
            "Votre justificatif d'administrateur n'a pas le rôle d'auditeur, de registraire ou d'approbateur requis pour consulter le registre.",
        ),
    };
    let (message, other_message) = match lang {
        Lang::En => (en, fr),
        Lang::Fr => (fr, en),
    };
    let page = DeniedPage {
        frame: Frame::new(
            lang,
            pick(lang, "Administrators only", "Réservé aux administrateurs"),
            admin_switch(lang),
        ),
        message,
        other_lang: lang.other().code(),
        other_message,
    };
    let mut response = render(status, page.render());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"broker-admin\""),
        );
    }
    response
}

/// The admin page. It takes the same bearer credential as the JSON API (the `Admin`
/// extractor, which also audits the call); browsers do not send bearer tokens by themselves,
/// so operators put this page behind their single sign-on proxy, which authenticates the
/// person and adds the `Authorization: Bearer` header. Without a valid credential it answers
/// 401 with a short bilingual explanation in HTML; without a reading role, 403.
async fn page(
    State(broker): State<Broker>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    admin: Result<Admin, AdminError>,
) -> Response {
    let explicit = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .map(|(_, v)| v.into_owned())
    });
    let lang = crate::http::lang::negotiate(explicit.as_deref(), None, &headers);
    let admin = match admin.and_then(|a| super::reader(&a).map(|()| a)) {
        Ok(a) => a,
        Err(e) => return denied(lang, &e),
    };
    let registry = broker.fresh_registry().await;
    let source = registry.source();

    let mut providers = Vec::with_capacity(source.providers.len());
    for p in &source.providers {
        let report = match broker.records.report(&p.id).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, provider = %p.id, "conformance report unreadable");
                None
            }
        };
        providers.push(ProviderRow {
            id: p.id.clone(),
            name: p.name.get(lang).to_owned(),
            jurisdiction: jurisdiction_name(&p.jurisdiction, lang),
            issuer: p.issuer.clone(),
            status: status_text(&p.status, p.status_reason.as_deref(), lang),
            registered_by: p
                .registered_by
                .clone()
                .unwrap_or_else(|| pick(lang, "registry file", "fichier du registre").to_owned()),
            conformance: conformance_summary(report.as_deref(), lang),
        });
    }
    let services = source
        .relying_parties
        .iter()
        .map(|r| ServiceRow {
            client_id: r.client_id.clone(),
            name: r.name.get(lang).to_owned(),
            status: status_text(&r.status, r.status_reason.as_deref(), lang),
            redirect_uris: r.redirect_uris.clone(),
            auth_method: r.token_endpoint_auth_method.clone(),
            sector: r.sector_identifier.clone(),
        })
        .collect();
    let agreements = source
        .agreements
        .iter()
        .map(|a| AgreementRow {
            id: a.id.clone(),
            version: a.version,
            relying_party: a.relying_party.clone(),
            providers: a.providers.join(", "),
            status: status_text(&a.status, a.status_reason.as_deref(), lang),
            window: format!("{} – {}", a.not_before, a.not_after),
            legal_basis: match (a.legal_basis.as_str(), lang) {
                ("consent", Lang::Fr) => "consentement".to_owned(),
                ("notice", Lang::Fr) => "avis".to_owned(),
                (other, _) => other.to_owned(),
            },
        })
        .collect();

    let roles: Vec<String> = admin
        .roles
        .iter()
        .map(|r| format!("{r:?}").to_lowercase())
        .collect();
    let intro = match lang {
        Lang::En => format!(
            "Registry “{}”, version {}. Signed in as {} ({}). This page only reads; changes go through the admin API.",
            registry.name(),
            broker.registry_version(),
            admin.name,
            roles.join(", ")
        ),
        Lang::Fr => format!(
            "Registre « {} », version {}. Connecté en tant que {} ({}). Cette page ne fait que consulter; les changements passent par l’API d’administration.",
            registry.name(),
            broker.registry_version(),
            admin.name,
            roles.join(", ")
        ),
    };
    let labels = Labels {
        intro,
        providers_caption: pick(lang, "Identity providers", "Fournisseurs d'identité"),
        services_caption: pick(lang, "Relying services", "Services utilisateurs"),
        agreements_caption: pick(
            lang,
            "Information sharing agreements",
            "Ententes de communication de renseignements",
        ),
        id: pick(lang, "Identifier", "Identifiant"),
        name: pick(lang, "Name", "Nom"),
        jurisdiction: pick(lang, "Jurisdiction", "Administration"),
        issuer: pick(lang, "Issuer", "Émetteur"),
        status: pick(lang, "Status", "Statut"),
        registered_by: pick(lang, "Registered by", "Inscrit par"),
        conformance: pick(
            lang,
            "Latest conformance report",
            "Dernier rapport de conformité",
        ),
        client_id: pick(lang, "Client identifier", "Identifiant client"),
        redirect_uris: pick(lang, "Redirect URIs", "URI de redirection"),
        auth_method: pick(lang, "Client authentication", "Authentification du client"),
        sector: pick(lang, "Sector", "Secteur"),
        version: pick(lang, "Version", "Version"),
        relying_party: pick(lang, "Relying service", "Service utilisateur"),
        providers: pick(lang, "Providers", "Fournisseurs"),
        window: pick(lang, "In force", "En vigueur"),
        legal_basis: pick(lang, "Legal basis", "Fondement juridique"),
        none: pick(lang, "None.", "Aucun."),
        api_text: pick(
            lang,
            "The admin API is described by its OpenAPI document:",
            "L'API d'administration est décrite par son document OpenAPI\u{a0}:",
        ),
        log_caption: pick(
            lang,
            "The audit log and its witnesses",
            "Le journal d'audit et ses témoins",
        ),
        witness: pick(lang, "Witness", "Témoin"),
        cosigned: pick(
            lang,
            "Newest checkpoint co-signed",
            "Dernier point de contrôle cosigné",
        ),
    };
    let (checkpoint, witnesses) = log_view(&broker, lang).await;
    let page = AdminPage {
        frame: Frame::new(
            lang,
            pick(
                lang,
                "Registry administration",
                "Administration du registre",
            ),
            admin_switch(lang),
        ),
        labels,
        providers,
        services,
        agreements,
        checkpoint,
        witnesses,
    };
    render(StatusCode::OK, page.render())
}
