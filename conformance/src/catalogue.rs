//! Every check, with its stable id, bilingual title and the rule it comes from. Ids never
//! change meaning: CI pipelines and auditors refer to them.

use crate::check::CheckDef;

const fn def(
    id: &'static str,
    title_en: &'static str,
    title_fr: &'static str,
    rule: &'static str,
    required: bool,
) -> CheckDef {
    CheckDef {
        id,
        title_en,
        title_fr,
        rule,
        required,
    }
}

// ------------------------------------------------------------------ discovery and keys

pub const OP_DISC_FETCH: CheckDef = def(
    "OP-DISC-FETCH",
    "The discovery document is served as JSON",
    "Le document de découverte est servi en JSON",
    "OpenID Connect Discovery 1.0 section 4",
    true,
);
pub const OP_DISC_ISSUER_MATCH: CheckDef = def(
    "OP-DISC-ISSUER-MATCH",
    "The discovery issuer is exactly the URL it was fetched from",
    "L'émetteur déclaré est exactement l'URL interrogée",
    "OpenID Connect Discovery 1.0 section 4.3",
    true,
);
pub const OP_DISC_ISSUER_HTTPS: CheckDef = def(
    "OP-DISC-ISSUER-HTTPS",
    "The issuer uses https, without query or fragment",
    "L'émetteur utilise https, sans requête ni fragment",
    "OpenID Connect Discovery 1.0 section 3 (issuer); RFC 9700 section 2.6",
    true,
);
pub const OP_DISC_ENDPOINTS_HTTPS: CheckDef = def(
    "OP-DISC-ENDPOINTS-HTTPS",
    "Every endpoint the discovery document publishes uses https, as the issuer does",
    "Chaque point de terminaison publié par le document de découverte utilise https, comme l'émetteur",
    "OpenID Connect Core 1.0 sections 3.1.2, 3.1.3 and 5.3; RFC 6749 sections 3.1 and 3.2",
    true,
);
pub const OP_DISC_REQUIRED_METADATA: CheckDef = def(
    "OP-DISC-REQUIRED-METADATA",
    "The required provider metadata is present",
    "Les métadonnées obligatoires du fournisseur sont présentes",
    "OpenID Connect Discovery 1.0 section 3",
    true,
);
pub const OP_DISC_PKCE_S256: CheckDef = def(
    "OP-DISC-PKCE-S256",
    "PKCE with S256 is supported",
    "PKCE avec S256 est pris en charge",
    "RFC 7636 section 4.2; RFC 8414 section 2; RFC 9700 section 2.1.1",
    true,
);
pub const OP_DISC_RESPONSE_TYPES: CheckDef = def(
    "OP-DISC-RESPONSE-TYPES",
    "The code response type is supported and no implicit response type",
    "Le type de réponse code est pris en charge, sans type implicite",
    "OpenID Connect Core 1.0 section 3.1; RFC 9700 section 2.1.2",
    true,
);
pub const OP_DISC_SIGNING_ALGS: CheckDef = def(
    "OP-DISC-SIGNING-ALGS",
    "ID token algorithms: never none, at least one of PS256, ES256, RS256",
    "Algorithmes du jeton d'identité : jamais none, au moins un de PS256, ES256, RS256",
    "OpenID Connect Core 1.0 section 15.1; PCTF Authentication (credential assurance)",
    true,
);
pub const OP_DISC_ACR_VALUES: CheckDef = def(
    "OP-DISC-ACR-VALUES",
    "Authentication context (acr) values are published",
    "Les valeurs de contexte d'authentification (acr) sont publiées",
    "OpenID Connect Discovery 1.0 section 3 (acr_values_supported); PCTF Authentication",
    true,
);
pub const OP_DISC_ACR_MAPPED: CheckDef = def(
    "OP-DISC-ACR-MAPPED",
    "The published acr values map to PCTF levels of assurance",
    "Les valeurs acr publiées correspondent aux niveaux d'assurance du CCP",
    "PCTF Verified Person and Authentication (levels of assurance)",
    true,
);
pub const OP_DISC_CLAIMS_COVER: CheckDef = def(
    "OP-DISC-CLAIMS-COVER",
    "The supported claims cover the attributes the provider attests",
    "Les revendications prises en charge couvrent les attributs que le fournisseur atteste",
    "OpenID Connect Discovery 1.0 section 3 (claims_supported); PCTF Verified Person",
    true,
);
pub const OP_DISC_ISS_PARAMETER: CheckDef = def(
    "OP-DISC-ISS-PARAMETER",
    "The iss authorization response parameter is advertised",
    "Le paramètre iss de la réponse d'autorisation est annoncé",
    "RFC 9207 section 3",
    false,
);
pub const OP_JWKS_FETCH: CheckDef = def(
    "OP-JWKS-FETCH",
    "The JWKS is served with at least one signing key",
    "Le JWKS est servi avec au moins une clé de signature",
    "OpenID Connect Discovery 1.0 section 3 (jwks_uri); RFC 7517 section 5",
    true,
);
pub const OP_JWKS_KEY_STRENGTH: CheckDef = def(
    "OP-JWKS-KEY-STRENGTH",
    "Keys are strong: RSA of 2048 bits or more, EC P-256 or better",
    "Les clés sont robustes : RSA d'au moins 2048 bits, EC P-256 ou mieux",
    "PCTF Infrastructure (cryptography); NIST SP 800-57 Part 1; RFC 7518 section 3.3",
    true,
);
pub const OP_JWKS_NO_PRIVATE: CheckDef = def(
    "OP-JWKS-NO-PRIVATE",
    "The JWKS publishes no private key material",
    "Le JWKS ne publie aucune partie de clé privée",
    "RFC 7517 section 9.3; RFC 7518 section 6",
    true,
);
pub const OP_JWKS_UNIQUE_KID: CheckDef = def(
    "OP-JWKS-UNIQUE-KID",
    "Every key has a kid and kids are unique",
    "Chaque clé a un kid et les kid sont uniques",
    "OpenID Connect Core 1.0 section 10.1; RFC 7517 section 4.5",
    true,
);

// ------------------------------------------------------------------ live flow

pub const OP_FLOW_CODE_PKCE: CheckDef = def(
    "OP-FLOW-CODE-PKCE",
    "A full authorization code flow with PKCE S256 succeeds",
    "Un flux complet code d'autorisation avec PKCE S256 réussit",
    "OpenID Connect Core 1.0 section 3.1; RFC 7636",
    true,
);
pub const OP_FLOW_ISS_RESPONSE: CheckDef = def(
    "OP-FLOW-ISS-RESPONSE",
    "The authorization response carries the issuer (iss)",
    "La réponse d'autorisation porte l'émetteur (iss)",
    "RFC 9207 section 2",
    true,
);
pub const OP_FLOW_MAX_AGE: CheckDef = def(
    "OP-FLOW-MAX-AGE",
    "A sign-in asked with prompt=login and max_age=0 carries an auth_time from after the request",
    "Une connexion demandée avec prompt=login et max_age=0 porte un auth_time postérieur à la demande",
    "OpenID Connect Core 1.0 sections 2 (auth_time) and 3.1.2.1 (prompt, max_age)",
    true,
);
pub const OP_FLOW_ISS_ERROR: CheckDef = def(
    "OP-FLOW-ISS-ERROR",
    "An error response to the client carries the issuer (iss) too",
    "Une réponse d'erreur au client porte aussi l'émetteur (iss)",
    "RFC 9207 section 2",
    true,
);
pub const OP_TOKEN_JSON: CheckDef = def(
    "OP-TOKEN-JSON",
    "The token response is application/json",
    "La réponse du point de jeton est en application/json",
    "RFC 6749 section 5.1; OpenID Connect Core 1.0 section 3.1.3.3",
    true,
);
pub const OP_TOKEN_NO_STORE: CheckDef = def(
    "OP-TOKEN-NO-STORE",
    "The token response forbids caching (Cache-Control: no-store)",
    "La réponse du point de jeton interdit la mise en cache (Cache-Control: no-store)",
    "RFC 6749 section 5.1; OpenID Connect Core 1.0 section 3.1.3.3",
    true,
);
pub const OP_TOKEN_ERROR: CheckDef = def(
    "OP-TOKEN-ERROR",
    "Refusals at the token endpoint are OAuth errors: HTTP 400 (401 for the client), JSON, the right error code",
    "Les refus du point de jeton sont des erreurs OAuth : HTTP 400 (401 pour le client), JSON, le bon code d'erreur",
    "RFC 6749 section 5.2; RFC 7636 section 4.6",
    true,
);
pub const OP_IDT_SIGNATURE: CheckDef = def(
    "OP-IDT-SIGNATURE",
    "The ID token is signed with a published asymmetric key and an advertised algorithm the broker accepts",
    "Le jeton d'identité est signé par une clé asymétrique publiée, selon un algorithme annoncé que le courtier accepte",
    "OpenID Connect Core 1.0 sections 3.1.3.7 (6-8) and 10.1",
    true,
);
pub const OP_IDT_ISS: CheckDef = def(
    "OP-IDT-ISS",
    "The ID token's iss is the provider's issuer",
    "L'iss du jeton d'identité est l'émetteur du fournisseur",
    "OpenID Connect Core 1.0 section 3.1.3.7 (2)",
    true,
);
pub const OP_IDT_SUB: CheckDef = def(
    "OP-IDT-SUB",
    "The ID token names its subject: sub, at most 255 ASCII characters",
    "Le jeton d'identité nomme son sujet : sub, au plus 255 caractères ASCII",
    "OpenID Connect Core 1.0 section 2 (sub)",
    true,
);
pub const OP_IDT_AUD: CheckDef = def(
    "OP-IDT-AUD",
    "The ID token's aud is the client alone, and azp, when present, the client",
    "L'aud du jeton d'identité est le client seul, et azp, s'il est présent, le client",
    "OpenID Connect Core 1.0 section 3.1.3.7 (3-5); PCTF profile of this broker (one audience)",
    true,
);
pub const OP_IDT_EXP: CheckDef = def(
    "OP-IDT-EXP",
    "The ID token is current (exp in the future, iat neither in the future nor over 10 minutes old)",
    "Le jeton d'identité est valide maintenant (exp futur, iat ni futur ni vieux de plus de 10 minutes)",
    "OpenID Connect Core 1.0 section 3.1.3.7 (9-10)",
    true,
);
pub const OP_IDT_NONCE: CheckDef = def(
    "OP-IDT-NONCE",
    "The ID token's nonce is the request's",
    "Le nonce du jeton d'identité est celui de la demande",
    "OpenID Connect Core 1.0 section 3.1.3.7 (11)",
    true,
);
pub const OP_IDT_ACR: CheckDef = def(
    "OP-IDT-ACR",
    "Asked for acr values, the ID token's acr is an advertised value that maps to a PCTF level at or above the one asked",
    "Sur demande de valeurs acr, l'acr du jeton d'identité est une valeur annoncée correspondant à un niveau du CCP au moins égal à celui demandé",
    "OpenID Connect Core 1.0 sections 2 (acr), 3.1.2.1 (acr_values) and 3.1.3.7 (12); PCTF Authentication",
    true,
);
pub const OP_IDT_AT_HASH: CheckDef = def(
    "OP-IDT-AT-HASH",
    "An at_hash in the ID token is the hash of the access token",
    "Un at_hash dans le jeton d'identité est le hachage du jeton d'accès",
    "OpenID Connect Core 1.0 sections 3.1.3.6, 3.1.3.8 and 3.2.2.9",
    true,
);
pub const OP_IDT_SUB_STABLE: CheckDef = def(
    "OP-IDT-SUB-STABLE",
    "The same person gets the same sub at every sign-in",
    "La même personne reçoit le même sub à chaque connexion",
    "OpenID Connect Core 1.0 section 2 (sub: never reassigned); PCTF Privacy (pairwise subjects)",
    true,
);
pub const OP_USERINFO_SUB: CheckDef = def(
    "OP-USERINFO-SUB",
    "UserInfo answers the access token with a JSON object whose sub is the ID token's",
    "UserInfo répond au jeton d'accès par un objet JSON dont le sub est celui du jeton d'identité",
    "OpenID Connect Core 1.0 sections 5.3.1 and 5.3.2",
    true,
);
pub const OP_NEG_REDIRECT_URI: CheckDef = def(
    "OP-NEG-REDIRECT-URI",
    "An unregistered redirect URI is refused without redirecting",
    "Une adresse de retour non enregistrée est refusée sans redirection",
    "RFC 6749 sections 3.1.2.4 and 4.1.2.1; RFC 9700 section 4.1",
    true,
);
pub const OP_NEG_UNKNOWN_CLIENT: CheckDef = def(
    "OP-NEG-UNKNOWN-CLIENT",
    "A request from an unknown client, or naming none, is refused without redirecting",
    "Une demande d'un client inconnu, ou qui n'en nomme aucun, est refusée sans redirection",
    "RFC 6749 section 4.1.2.1; RFC 9700 section 4.11 (open redirection)",
    true,
);
pub const OP_NEG_CODE_REPLAY: CheckDef = def(
    "OP-NEG-CODE-REPLAY",
    "An authorization code cannot be redeemed twice",
    "Un code d'autorisation ne peut pas être échangé deux fois",
    "RFC 6749 sections 4.1.2 and 10.5; OpenID Connect Core 1.0 section 3.1.3.2",
    true,
);
pub const OP_NEG_PKCE_VERIFIER: CheckDef = def(
    "OP-NEG-PKCE-VERIFIER",
    "A wrong or missing PKCE code verifier is refused",
    "Un vérificateur PKCE erroné ou absent est refusé",
    "RFC 7636 section 4.6",
    true,
);
pub const OP_NEG_PKCE_REQUIRED: CheckDef = def(
    "OP-NEG-PKCE-REQUIRED",
    "An authorization request without a PKCE challenge is refused",
    "Une demande d'autorisation sans défi PKCE est refusée",
    "RFC 9700 section 2.1.1; PCTF profile of this broker (PKCE S256 required)",
    true,
);
pub const OP_NEG_CLIENT_AUTH: CheckDef = def(
    "OP-NEG-CLIENT-AUTH",
    "A code redeemed with a wrong client secret is refused",
    "Un code échangé avec un secret client erroné est refusé",
    "RFC 6749 sections 3.2.1 and 4.1.3; OpenID Connect Core 1.0 section 3.1.3.2",
    true,
);
pub const OP_NEG_REDEEM_REDIRECT_URI: CheckDef = def(
    "OP-NEG-REDEEM-REDIRECT-URI",
    "A code redeemed with another redirect URI than its request's is refused",
    "Un code échangé avec une autre adresse de retour que celle de sa demande est refusé",
    "RFC 6749 section 4.1.3; OpenID Connect Core 1.0 section 3.1.3.2",
    true,
);

// ------------------------------------------------------------------ broker profile

pub const BR_SUB_PAIRWISE: CheckDef = def(
    "BR-SUB-PAIRWISE",
    "Two services see different subjects for the same person",
    "Deux services voient des identifiants différents pour la même personne",
    "OpenID Connect Core 1.0 section 8.1; PCTF Privacy (no correlation across services)",
    true,
);
pub const BR_VERIFIED_CLAIMS: CheckDef = def(
    "BR-VERIFIED-CLAIMS",
    "The ID token carries verified_claims under the ca_pctf trust framework",
    "Le jeton d'identité porte verified_claims selon le cadre de confiance ca_pctf",
    "OpenID Connect for Identity Assurance 1.0 section 5; PCTF Verified Person",
    true,
);
pub const BR_AGREED_ATTRIBUTES: CheckDef = def(
    "BR-AGREED-ATTRIBUTES",
    "Only the attributes of the service's agreement are released",
    "Seuls les attributs prévus par l'entente du service sont communiqués",
    "PCTF Privacy and Notice and Consent (information sharing agreement)",
    true,
);
pub const BR_CONSENT_REFUSAL: CheckDef = def(
    "BR-CONSENT-REFUSAL",
    "Refusing consent returns access_denied and releases nothing",
    "Le refus du consentement renvoie access_denied et ne communique rien",
    "PCTF Notice and Consent; OpenID Connect Core 1.0 section 3.1.2.6",
    true,
);

// ------------------------------------------------------------------ broker sessions and logout

pub const BR_SESSION_PROMPT_NONE_NO_SESSION: CheckDef = def(
    "BR-SESSION-PROMPT-NONE-NO-SESSION",
    "Without a session, prompt=none comes back to the service with login_required (or interaction_required), its state and iss, never a page or a code",
    "Sans session, prompt=none revient au service avec login_required (ou interaction_required), son state et iss, jamais une page ni un code",
    "OpenID Connect Core 1.0 sections 3.1.2.1 (prompt=none) and 3.1.2.6; RFC 9207 section 2; OIDF oidcc-prompt-none-not-logged-in",
    true,
);
pub const BR_SESSION_PROMPT_NONE_COMBINED: CheckDef = def(
    "BR-SESSION-PROMPT-NONE-COMBINED",
    "prompt=none combined with another value is refused to the service with invalid_request",
    "prompt=none combiné à une autre valeur est refusé au service par invalid_request",
    "OpenID Connect Core 1.0 section 3.1.2.1 (prompt: none with any other value is an error)",
    true,
);
pub const BR_SESSION_REUSE: CheckDef = def(
    "BR-SESSION-REUSE",
    "After a sign-in, prompt=none in the same browser is answered from the session: a code whose ID token has the first's sid and auth_time (or consent_required), never login_required",
    "Après une connexion, prompt=none dans le même navigateur est servi par la session : un code dont le jeton d'identité a le sid et l'auth_time du premier (ou consent_required), jamais login_required",
    "OpenID Connect Core 1.0 sections 2 (auth_time), 3.1.2.1 (prompt=none) and 3.1.2.6; Back-Channel Logout 1.0 section 2.1 (sid); OIDF oidcc-prompt-none-logged-in; PCTF profile of this broker (sessions, unless the operator requires a fresh sign-in at the level asked)",
    false,
);
pub const BR_SESSION_MAX_AGE: CheckDef = def(
    "BR-SESSION-MAX-AGE",
    "A session whose sign-in is older than max_age is not used: prompt=none gets login_required, and without prompt=none the browser goes to a provider",
    "Une session dont la connexion est plus ancienne que max_age n'est pas utilisée : prompt=none reçoit login_required, et sans prompt=none le navigateur va chez un fournisseur",
    "OpenID Connect Core 1.0 section 3.1.2.1 (max_age: the server MUST actively re-authenticate); OIDF oidcc-max-age-1",
    true,
);
pub const BR_SESSION_PROMPT_LOGIN: CheckDef = def(
    "BR-SESSION-PROMPT-LOGIN",
    "prompt=login in a browser with a session sends the person to a provider, never answers from the session",
    "prompt=login dans un navigateur avec session envoie la personne chez un fournisseur, sans jamais répondre par la session",
    "OpenID Connect Core 1.0 section 3.1.2.1 (prompt=login); OIDF oidcc-prompt-login",
    true,
);
pub const BR_CODE_REPLAY_REVOKES: CheckDef = def(
    "BR-CODE-REPLAY-REVOKES",
    "A code redeemed twice is refused with invalid_grant, and the access token of its first redemption stops working",
    "Un code échangé deux fois est refusé par invalid_grant, et le jeton d'accès de son premier échange cesse de fonctionner",
    "RFC 6749 sections 4.1.2 and 10.5; RFC 9700 section 4.5; OIDF oidcc-codereuse",
    true,
);
pub const BR_RECORD_CLOSED: CheckDef = def(
    "BR-RECORD-CLOSED",
    "The person's record shows nothing without a sign-in: /my-record answers a sign-in form, not to be stored or framed",
    "Le dossier de la personne ne montre rien sans connexion : /my-record répond par un formulaire de connexion, à ne pas conserver ni encadrer",
    "PCTF Privacy and Notice and Consent (CORE.01: the person reviews their own consents and disclosures); RFC 9700 4.7 and 4.16; profile",
    true,
);
pub const BR_RECORD_FORGED_POST: CheckDef = def(
    "BR-RECORD-FORGED-POST",
    "The record's forms refuse a post without their token: no sign-in starts, nothing is withdrawn or reported",
    "Les formulaires du dossier refusent un envoi sans leur jeton : aucune connexion ne commence, rien n'est retiré ni signalé",
    "RFC 9700 4.7 (CSRF); PCTF Notice and Consent CORV.02 (a withdrawal confirmed by a fresh verification); profile",
    true,
);
pub const BR_LOGOUT_DISCOVERY: CheckDef = def(
    "BR-LOGOUT-DISCOVERY",
    "Discovery publishes end_session_endpoint, backchannel_logout_supported and backchannel_logout_session_supported",
    "La découverte publie end_session_endpoint, backchannel_logout_supported et backchannel_logout_session_supported",
    "OpenID Connect RP-Initiated Logout 1.0 section 2.1; Back-Channel Logout 1.0 section 2.1",
    true,
);
pub const BR_LOGOUT_FOREIGN_HINT: CheckDef = def(
    "BR-LOGOUT-FOREIGN-HINT",
    "An id_token_hint signed by someone else is refused at the end-session endpoint with a page, never a redirect",
    "Un id_token_hint signé par un tiers est refusé au point de fin de session par une page, jamais une redirection",
    "OpenID Connect RP-Initiated Logout 1.0 sections 2 (id_token_hint) and 4; PCTF profile of this broker (no logout by an unverified hint)",
    true,
);
pub const BR_LOGOUT_SESSION_KEPT: CheckDef = def(
    "BR-LOGOUT-SESSION-KEPT",
    "A refused logout request ends nothing: after it, the browser's session still answers prompt=none",
    "Une demande de déconnexion refusée ne met fin à rien : après elle, la session du navigateur répond encore à prompt=none",
    "OpenID Connect RP-Initiated Logout 1.0 sections 2 and 6 (a request without a valid id_token_hint is confirmed before it is acted upon); PCTF profile of this broker (no silent logout by an unverified hint)",
    true,
);

// ------------------------------------------------------------------ registry

pub const REG_PARSE: CheckDef = def(
    "REG-PARSE",
    "The registry file is readable TOML in the registry format",
    "Le fichier du registre est du TOML lisible au format du registre",
    "Registry format version 1 (trust-framework)",
    true,
);
pub const REG_VALID: CheckDef = def(
    "REG-VALID",
    "The registry entries are well formed",
    "Les entrées du registre sont bien formées",
    "Registry validation rules (trust-framework); PCTF Infrastructure",
    true,
);
pub const REG_PROVIDER_CERTIFIED: CheckDef = def(
    "REG-PROVIDER-CERTIFIED",
    "Every active provider is certified and current for the levels it is routed for",
    "Chaque fournisseur actif est certifié, à jour, pour les niveaux où il est sollicité",
    "PCTF Verified Person, Authentication and Privacy (certification)",
    true,
);
pub const REG_AGREEMENT_PURPOSE: CheckDef = def(
    "REG-AGREEMENT-PURPOSE",
    "Every agreement states its purpose in English and French",
    "Chaque entente énonce sa finalité en anglais et en français",
    "PCTF Notice and Consent (purpose); Official Languages Act",
    true,
);
pub const REG_AGREEMENT_RETENTION: CheckDef = def(
    "REG-AGREEMENT-RETENTION",
    "Every agreement sets a retention period",
    "Chaque entente fixe une durée de conservation",
    "PCTF Privacy (retention); Privacy Act section 6",
    true,
);
pub const REG_AGREEMENT_WINDOW: CheckDef = def(
    "REG-AGREEMENT-WINDOW",
    "Every active agreement is within an unexpired validity window",
    "Chaque entente active est dans une période de validité non expirée",
    "PCTF Notice and Consent (information sharing agreement, duration)",
    true,
);
pub const REG_REFERENCES: CheckDef = def(
    "REG-REFERENCES",
    "Every agreement's relying party and providers resolve",
    "La partie utilisatrice et les fournisseurs de chaque entente existent",
    "Registry validation rules (trust-framework)",
    true,
);

/// Every check, in report order.
pub const ALL: [&CheckDef; 62] = [
    &OP_DISC_FETCH,
    &OP_DISC_ISSUER_MATCH,
    &OP_DISC_ISSUER_HTTPS,
    &OP_DISC_ENDPOINTS_HTTPS,
    &OP_DISC_REQUIRED_METADATA,
    &OP_DISC_PKCE_S256,
    &OP_DISC_RESPONSE_TYPES,
    &OP_DISC_SIGNING_ALGS,
    &OP_DISC_ACR_VALUES,
    &OP_DISC_ACR_MAPPED,
    &OP_DISC_CLAIMS_COVER,
    &OP_DISC_ISS_PARAMETER,
    &OP_JWKS_FETCH,
    &OP_JWKS_KEY_STRENGTH,
    &OP_JWKS_NO_PRIVATE,
    &OP_JWKS_UNIQUE_KID,
    &OP_FLOW_CODE_PKCE,
    &OP_FLOW_ISS_RESPONSE,
    &OP_TOKEN_JSON,
    &OP_TOKEN_NO_STORE,
    &OP_IDT_SIGNATURE,
    &OP_IDT_ISS,
    &OP_IDT_SUB,
    &OP_IDT_AUD,
    &OP_IDT_EXP,
    &OP_IDT_NONCE,
    &OP_IDT_ACR,
    &OP_IDT_AT_HASH,
    &OP_USERINFO_SUB,
    &OP_FLOW_MAX_AGE,
    &OP_IDT_SUB_STABLE,
    &OP_NEG_REDIRECT_URI,
    &OP_NEG_UNKNOWN_CLIENT,
    &OP_NEG_CODE_REPLAY,
    &OP_NEG_PKCE_VERIFIER,
    &OP_NEG_PKCE_REQUIRED,
    &OP_FLOW_ISS_ERROR,
    &OP_NEG_CLIENT_AUTH,
    &OP_NEG_REDEEM_REDIRECT_URI,
    &OP_TOKEN_ERROR,
    &BR_SUB_PAIRWISE,
    &BR_VERIFIED_CLAIMS,
    &BR_AGREED_ATTRIBUTES,
    &BR_CONSENT_REFUSAL,
    &BR_SESSION_PROMPT_NONE_NO_SESSION,
    &BR_SESSION_PROMPT_NONE_COMBINED,
    &BR_SESSION_REUSE,
    &BR_SESSION_MAX_AGE,
    &BR_SESSION_PROMPT_LOGIN,
    &BR_LOGOUT_DISCOVERY,
    &BR_LOGOUT_FOREIGN_HINT,
    &BR_LOGOUT_SESSION_KEPT,
    &BR_CODE_REPLAY_REVOKES,
    &BR_RECORD_CLOSED,
    &BR_RECORD_FORGED_POST,
    &REG_PARSE,
    &REG_VALID,
    &REG_PROVIDER_CERTIFIED,
    &REG_AGREEMENT_PURPOSE,
    &REG_AGREEMENT_RETENTION,
    &REG_AGREEMENT_WINDOW,
    &REG_REFERENCES,
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules table of the documentation.
    const RULES: &str = include_str!("../../docs/conformance-rules.md");

    /// The check ids a table cell names.
    fn ids_in(cell: &str) -> Vec<&str> {
        cell.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-'))
            .filter(|w| ["OP-", "BR-", "REG-"].iter().any(|p| w.starts_with(p)))
            .map(|w| w.trim_end_matches('-'))
            .collect()
    }

    #[test]
    fn the_rules_table_names_every_check() {
        let mut named = Vec::new();
        for line in RULES.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let [_, rule, source, check, _] = cells.as_slice() else {
                panic!("a row of the rules table has not three columns: {line}");
            };
            if *rule == "rule" || rule.starts_with("---") {
                continue;
            }
            assert!(!source.is_empty(), "a rule without its source: {line}");
            let ids = ids_in(check);
            assert!(
                !ids.is_empty() || check.starts_with("none"),
                "a rule with neither a check nor why none: {line}"
            );
            named.extend(ids);
        }
        let known: Vec<&str> = ALL.iter().map(|d| d.id).collect();
        for id in &named {
            assert!(
                known.contains(id),
                "the rules table names {id}, which is no check"
            );
        }
        for id in known {
            assert!(
                named.contains(&id),
                "{id} is not in docs/conformance-rules.md"
            );
        }
    }

    #[test]
    fn ids_are_unique_and_titles_bilingual() {
        let all: Vec<&CheckDef> = ALL.to_vec();
        let mut ids: Vec<&str> = all.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len());
        for d in all {
            assert!(!d.title_en.is_empty() && !d.title_fr.is_empty() && !d.rule.is_empty());
        }
    }
}
