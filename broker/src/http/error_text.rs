//! An error's description in the person's language: on the French error page, and in the
//! `error_description` sent back to a service that asked for French in `ui_locales`.
//!
//! The broker writes its descriptions in English where it detects the error; this module
//! holds their French. A description made from a fixed sentence is translated whole; one with
//! a varying tail (an identifier, a provider's own words) by its fixed beginning, without the
//! tail; anything else falls back to a French sentence for its error code, so that no English
//! reaches a French page. `every_description_in_the_source_has_its_french` keeps the table
//! complete.

use std::borrow::Cow;

use trust_framework::Lang;

use crate::oidc::error::{ErrorCode, OAuthError};

/// Descriptions written whole, and their French.
const WHOLE: &[(&str, &str)] = &[
    (
        "prompt=none cannot be combined with another prompt value",
        "La valeur prompt=none ne peut pas être combinée à une autre valeur de prompt.",
    ),
    (
        "the person must sign in: there is no session that meets this request",
        "La personne doit se connecter\u{a0}: aucune session ouverte ne répond à cette demande.",
    ),
    (
        "the person must consent before their information is shared with this service",
        "La personne doit donner son consentement avant que ses renseignements soient communiqués à ce service.",
    ),
    (
        "the person must be shown a notice before their information is shared with this service",
        "Un avis doit être présenté à la personne avant que ses renseignements soient communiqués à ce service.",
    ),
    (
        "id_token_hint is not an ID token of this broker",
        "Le paramètre id_token_hint n'est pas un jeton d'identité émis par ce courtier.",
    ),
    (
        "client_id is not an audience of the id_token_hint",
        "Le service nommé (client_id) n'est pas un destinataire du jeton id_token_hint.",
    ),
    (
        "post_logout_redirect_uri needs client_id or an id_token_hint naming the client",
        "L'adresse de retour après la déconnexion (post_logout_redirect_uri) exige client_id ou un jeton id_token_hint qui nomme le service.",
    ),
    (
        "post_logout_redirect_uri is not registered for this client",
        "L'adresse de retour après la déconnexion (post_logout_redirect_uri) n'est pas inscrite pour ce service.",
    ),
    ("client_id is missing", "Le paramètre client_id est absent."),
    (
        "the client is not registered",
        "Ce service n'est pas inscrit auprès du courtier.",
    ),
    (
        "redirect_uri is missing",
        "Le paramètre redirect_uri est absent.",
    ),
    (
        "redirect_uri does not exactly match a URI registered for this client",
        "L'adresse de retour (redirect_uri) ne correspond exactement à aucune adresse inscrite pour ce service.",
    ),
    (
        "this service must push its authorization requests (RFC 9126): POST them to /par first",
        "Ce service doit d'abord transmettre ses demandes d'autorisation à /par (RFC 9126).",
    ),
    (
        "request objects are not supported",
        "Les objets de demande (request) ne sont pas pris en charge.",
    ),
    (
        "request_uri is only accepted from /par, alone with client_id",
        "Le paramètre request_uri n'est accepté que s'il vient de /par, seul avec client_id.",
    ),
    (
        "response_type is missing",
        "Le paramètre response_type est absent.",
    ),
    (
        "only response_type=code is supported",
        "Seul response_type=code est pris en charge.",
    ),
    (
        "only response_mode=query is supported",
        "Seul response_mode=query est pris en charge.",
    ),
    (
        "the scope must include openid",
        "La portée (scope) doit comprendre openid.",
    ),
    ("nonce is required", "Le paramètre nonce est obligatoire."),
    (
        "PKCE is required: code_challenge is missing",
        "PKCE est obligatoire\u{a0}: le paramètre code_challenge est absent.",
    ),
    (
        "code_challenge_method must be S256",
        "Le paramètre code_challenge_method doit valoir S256.",
    ),
    (
        "code_challenge is not an S256 challenge",
        "Le paramètre code_challenge n'est pas un défi S256.",
    ),
    (
        "prompt=none cannot be honoured: every login needs the person",
        "prompt=none ne peut être respecté\u{a0}: chaque connexion demande la présence de la personne.",
    ),
    (
        "claims is not a JSON object",
        "Le paramètre claims n'est pas un objet JSON.",
    ),
    (
        "this sign-in has expired or was already completed; start again from the service",
        "Cette connexion a expiré ou est déjà terminée; recommencez à partir du service.",
    ),
    (
        "this sign-in was started in another browser",
        "Cette connexion a été commencée dans un autre navigateur.",
    ),
    (
        "the form was not issued by this broker (CSRF check failed)",
        "Le formulaire ne vient pas de ce courtier (la vérification contre la falsification de requête a échoué).",
    ),
    (
        "the chosen provider was not offered for this request",
        "Le fournisseur choisi n'était pas offert pour cette demande.",
    ),
    (
        "the provider is no longer registered",
        "Le fournisseur n'est plus inscrit.",
    ),
    (
        "the identity provider is no longer registered",
        "Le fournisseur d'identité n'est plus inscrit.",
    ),
    (
        "the identity provider returned no code",
        "Le fournisseur d'identité n'a renvoyé aucun code.",
    ),
    (
        "the broker's credentials for this provider are unavailable",
        "Les justificatifs du courtier pour ce fournisseur ne sont pas disponibles.",
    ),
    (
        "the person chose not to share their information",
        "La personne a choisi de ne pas communiquer ses renseignements.",
    ),
    (
        "the decision must be share or deny",
        "La décision doit être de communiquer ou de refuser.",
    ),
    (
        "the request body could not be read",
        "Le corps de la demande n'a pas pu être lu.",
    ),
    (
        "the broker's state store is unavailable; try again shortly",
        "Le stockage temporaire du courtier est indisponible; réessayez sous peu.",
    ),
    (
        "the broker cannot record this sign-in right now, so nothing was shared; try again shortly",
        "Le courtier ne peut pas consigner cette connexion pour le moment; rien n'a donc été communiqué. Réessayez sous peu.",
    ),
    (
        "the broker cannot check its rate limits; try again shortly",
        "Le courtier ne peut pas vérifier ses limites de débit; réessayez sous peu.",
    ),
    (
        "the broker is busy with other sign-ins; try again in a few seconds",
        "Le courtier traite d'autres connexions; réessayez dans quelques secondes.",
    ),
    (
        "the registered redirect URI is not a URL",
        "L'adresse de retour inscrite n'est pas une adresse Web valide.",
    ),
];

/// Descriptions with a varying tail, by their fixed beginning, and the French of that
/// beginning's meaning; `{size}` stands for a tail that is a size or a duration (`64 KiB`,
/// `500 ms`), in French units.
const BEGINNING: &[(&str, &str)] = &[
    (
        "the request body is larger than ",
        "Le corps de la demande dépasse {size}.",
    ),
    (
        "the request body did not arrive within ",
        "Le corps de la demande n'est pas arrivé en {size}.",
    ),
    (
        "the request headers are larger than ",
        "Les en-têtes de la demande dépassent {size}.",
    ),
    (
        "the request has more than ",
        "La demande compte trop de lignes d'en-tête.",
    ),
    (
        "unknown client",
        "Ce service n'est pas inscrit auprès du courtier.",
    ),
    ("client ", "Ce service n'est pas actif auprès du courtier."),
    (
        "the client is ",
        "Ce service n'est pas actif auprès du courtier.",
    ),
    (
        "no information sharing agreement covers",
        "Aucune entente d'échange de renseignements ne couvre cette demande.",
    ),
    (
        "agreement ",
        "L'entente d'échange de renseignements de ce service n'est pas en vigueur.",
    ),
    (
        "level ",
        "Le niveau d'assurance exigé ne peut être atteint avec les fournisseurs offerts.",
    ),
    (
        "no provider covered by an agreement",
        "Aucun fournisseur couvert par une entente n'est certifié et actif.",
    ),
    (
        "provider ",
        "Le fournisseur d'identité n'est plus disponible au niveau exigé.",
    ),
    (
        "the sign-in reached level",
        "La connexion n'a pas atteint le niveau d'assurance exigé.",
    ),
    (
        "the assertion came from provider",
        "La confirmation d'identité ne vient pas du fournisseur choisi.",
    ),
    (
        "the identity provider cannot be reached",
        "Le fournisseur d'identité est injoignable.",
    ),
    (
        "the identity provider's metadata is not usable",
        "Les métadonnées du fournisseur d'identité sont inutilisables.",
    ),
    (
        "the identity provider refused",
        "Le fournisseur d'identité a refusé la connexion.",
    ),
    (
        "the identity provider answered",
        "Le fournisseur d'identité a refusé la connexion.",
    ),
    (
        "the identity provider's ID token failed validation",
        "Le jeton d'identité du fournisseur n'a pas passé les vérifications.",
    ),
    (
        "the identity provider's answer is too large",
        "La réponse du fournisseur d'identité est trop volumineuse.",
    ),
    (
        "the client toward identity providers cannot be configured",
        "Le courtier ne peut pas joindre les fournisseurs d'identité.",
    ),
    (
        "the authorization response came from",
        "La réponse d'autorisation ne vient pas du fournisseur attendu.",
    ),
    (
        "too many requests",
        "Trop de demandes; réessayez dans quelques instants.",
    ),
    (
        "the sign-in is older than",
        "La connexion auprès du fournisseur est plus ancienne que ce que le service accepte.",
    ),
];

/// `error`'s description in `lang`.
pub fn description(error: &OAuthError, lang: Lang) -> Cow<'_, str> {
    match lang {
        Lang::En => Cow::Borrowed(error.description.as_str()),
        Lang::Fr => french(&error.description).unwrap_or(Cow::Borrowed(by_code(error.code))),
    }
}

/// The French of an English description, if the table has it.
fn french(description: &str) -> Option<Cow<'static, str>> {
    if let Some((_, fr)) = WHOLE.iter().find(|(en, _)| *en == description) {
        return Some(Cow::Borrowed(*fr));
    }
    let (en, fr) = BEGINNING
        .iter()
        .find(|(en, _)| description.starts_with(en))?;
    if !fr.contains("{size}") {
        return Some(Cow::Borrowed(*fr));
    }
    let tail = description[en.len()..].trim();
    let size = match tail.split_once(' ') {
        Some((n, "KiB")) if n.parse::<u64>().is_ok() => format!("{n}\u{a0}Kio"),
        Some((n, unit @ ("ms" | "s"))) if n.parse::<u64>().is_ok() => format!("{n}\u{a0}{unit}"),
        _ => "la limite permise".to_owned(),
    };
    Some(Cow::Owned(fr.replace("{size}", &size)))
}

fn by_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::AccessDenied => "L'accès a été refusé.",
        ErrorCode::TemporarilyUnavailable => "Le service est temporairement indisponible.",
        ErrorCode::ServerError => "Une erreur interne est survenue.",
        ErrorCode::UnmetAuthenticationRequirements => {
            "Les exigences de connexion du service ne peuvent être satisfaites."
        }
        ErrorCode::InvalidClient | ErrorCode::UnauthorizedClient => {
            "Ce service n'est pas autorisé à faire cette demande."
        }
        _ => "La demande n'est pas valide.",
    }
}

/// What a person can do next, for the error page.
pub fn what_to_do(code: ErrorCode, lang: Lang) -> &'static str {
    let (en, fr) = match code {
        ErrorCode::TemporarilyUnavailable | ErrorCode::ServerError => (
            "Wait a few minutes, then go back to the service and sign in again. If it keeps happening, contact us with the error code below.",
            "Attendez quelques minutes, puis retournez au service et connectez-vous de nouveau. Si le problème persiste, communiquez avec nous en indiquant le code d'erreur ci-dessous.",
        ),
        _ => (
            "Go back to the service you came from and start again from its sign-in button. If it keeps happening, contact the service and give them the error code below.",
            "Retournez au service d'où vous venez et recommencez à partir de son bouton de connexion. Si le problème persiste, communiquez avec le service en indiquant le code d'erreur ci-dessous.",
        ),
    };
    match lang {
        Lang::En => en,
        Lang::Fr => fr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every description the broker writes as a fixed string, found in its source, has its
    /// French: a new English description without one fails here.
    #[test]
    fn every_description_in_the_source_has_its_french() {
        // Where errors that reach a person are made: the login, the pages' own refusals and
        // `/authorize` (the token, userinfo and admin endpoints answer programs only).
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        let mut stack = vec![
            src.join("login"),
            src.join("http"),
            src.join("oidc/authorize.rs"),
            src.join("oidc/error.rs"),
            src.join("session/end_session.rs"),
        ];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                for entry in std::fs::read_dir(&path).unwrap() {
                    stack.push(entry.unwrap().path());
                }
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("error_text.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                found.extend(
                    descriptions_in(&text)
                        .into_iter()
                        .map(|d| (path.clone(), d)),
                );
            }
        }
        assert!(found.len() > 20, "the scan found too little: {found:?}");
        let missing: Vec<_> = found.iter().filter(|(_, d)| french(d).is_none()).collect();
        assert!(missing.is_empty(), "no French for: {missing:#?}");
    }

    /// The first string literal after each constructor of an error for a person.
    fn descriptions_in(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for start in [
            "OAuthError::invalid_request(",
            "OAuthError::unavailable(",
            "OAuthError::rate_limited(",
            "OAuthError::new(",
            "to_rp(",
            "Failure::page(",
            "without_interaction(",
        ] {
            for (at, _) in text.match_indices(start) {
                let rest = &text[at + start.len()..];
                let Some(open) = rest.find('"') else { continue };
                // Only a literal within the call's first lines: not one of a later statement.
                if rest[..open].contains(';') || rest[..open].matches('\n').count() > 3 {
                    continue;
                }
                let Some(len) = rest[open + 1..].find('"') else {
                    continue;
                };
                let literal = &rest[open + 1..open + 1 + len];
                if literal.contains('{') || literal.len() < 8 {
                    continue;
                }
                out.push(literal.to_owned());
            }
        }
        out
    }

    #[test]
    fn a_french_page_shows_no_english_description() {
        let e = OAuthError::invalid_request("the client is not registered");
        assert_eq!(description(&e, Lang::En), "the client is not registered");
        assert_eq!(
            description(&e, Lang::Fr),
            "Ce service n'est pas inscrit auprès du courtier."
        );
        let tail = OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the identity provider cannot be reached: connection refused",
        );
        assert_eq!(
            description(&tail, Lang::Fr),
            "Le fournisseur d'identité est injoignable."
        );
        let size = OAuthError::invalid_request("the request body is larger than 64 KiB");
        assert_eq!(
            description(&size, Lang::Fr),
            "Le corps de la demande dépasse 64\u{a0}Kio."
        );
        let unknown = OAuthError::new(ErrorCode::AccessDenied, "something new");
        assert_eq!(description(&unknown, Lang::Fr), "L'accès a été refusé.");
    }
}
