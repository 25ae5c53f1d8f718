use super::*;
use crate::testing::{EXAMPLE, example};

#[test]
fn the_example_registry_loads_clean() {
    let r = example();
    assert!(r.is_development());
    assert!(r.providers().len() >= 4);
    let provinces = r
        .providers()
        .iter()
        .filter(|p| !p.jurisdiction.is_federal())
        .count();
    assert!(provinces >= 3);
    assert!(r.providers().iter().any(|p| p.jurisdiction.is_federal()));
    assert!(r.relying_parties().len() >= 3);
    assert!(r.agreement("isa-esdc-ei-2025").is_some());
}

fn problems(toml: &str) -> Vec<String> {
    match Registry::from_toml(toml) {
        Ok(_) => vec![],
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

const MANY_MISTAKES: &str = r#"
[registry]
version = 1

[[providers]]
id = "dup"
jurisdiction = "CA-XX"
name = { en = "Provider" }
issuer = "http://idp.example"
client_id = ""
client_secret = { env = "S" }
scopes = ["profile"]
attributes = ["given_name", "sin", "given_name"]
status = "suspended"
[providers.acr_map]
"a" = 5
[providers.claim_map]
"nom" = "family_name"
[[providers.certifications]]
component = "magic"
level = 2
not_before = "2027-01-01T00:00:00Z"
not_after = "2026-01-01T00:00:00Z"

[[providers]]
id = "dup"
jurisdiction = "CA-AB"
name = { en = "Second", fr = "Deuxième" }
issuer = "http://127.0.0.1:9000"
client_id = "x"
client_secret = { file = "/run/secrets/x" }
attributes = ["given_name"]
acr_map = { "b" = 2 }
[[providers.certifications]]
component = "privacy"
level = 2
not_before = "yesterday"
not_after = "2026-01-01T00:00:00Z"

[[relying_parties]]
client_id = "rp"
name = { fr = "Service" }
jurisdiction = "CA"
redirect_uris = ["https://rp.example/cb#frag", "ftp://rp.example/cb", "https://rp.example/ok", "https://rp.example/ok"]
token_endpoint_auth_method = "client_secret_jwt"
sector_identifier = ""
id_token_signed_response_alg = "HS256"

[[relying_parties]]
client_id = "rp2"
name = { en = "Two", fr = "Deux" }
jurisdiction = "CA"
redirect_uris = []
token_endpoint_auth_method = "client_secret_basic"
sector_identifier = "two"

[[agreements]]
id = "a1"
version = 0
relying_party = "nobody"
providers = ["dup", "CA-ZZ"]
purpose = { en = "Purpose" }
attributes = ["given_name", "sin"]
minimum_level = 0
legal_basis = "vibes"
not_before = "2026-01-01T00:00:00Z"
not_after = "2026-01-01T00:00:00Z"
retention_days = 0
status = "terminated"
"#;

#[test]
fn every_mistake_is_reported_with_its_place() {
    let found = problems(MANY_MISTAKES);
    let expected = [
        "providers[0].jurisdiction: \"CA-XX\" is not a Canadian jurisdiction code",
        "providers[0].name.fr: the French text is missing",
        "providers[0].issuer: \"http://idp.example\" must use https",
        "providers[0].client_id: the client id must not be empty",
        "providers[0].scopes: the scopes must include \"openid\"",
        "providers[0].attributes[1]: \"sin\" is not a known attribute",
        "providers[0].attributes[2]: \"given_name\" is listed twice",
        "providers[0].acr_map.\"a\": 5 is not a level of assurance",
        "providers[0].claim_map.\"nom\": maps to family_name, which the provider does not list",
        "providers[0].certifications[0].component: \"magic\" is not a PCTF component",
        "providers[0].certifications[0]: the validity window is inverted",
        "providers[0].status_reason: a suspended entry must give a reason",
        "providers[1].id: duplicate provider id \"dup\"",
        "providers[1].issuer: \"http://127.0.0.1:9000\" uses http: allowed only on loopback in a development registry",
        "providers[1].certifications[0].not_before: \"yesterday\" is not an RFC 3339 date-time",
        "relying_parties[0].name.en: the English text is missing",
        "relying_parties[0].sector_identifier: the sector identifier must not be empty",
        "relying_parties[0].redirect_uris[0]: \"https://rp.example/cb#frag\" must not have a fragment",
        "relying_parties[0].redirect_uris[1]: \"ftp://rp.example/cb\" must use https",
        "relying_parties[0].redirect_uris[3]: duplicate redirect URI",
        "relying_parties[0].token_endpoint_auth_method: \"client_secret_jwt\" is not a supported client authentication method",
        "relying_parties[0].id_token_signed_response_alg: \"HS256\" is not a supported ID token signing algorithm",
        "relying_parties[1].redirect_uris: at least one redirect URI is required",
        "relying_parties[1].client_secret: client_secret_basic needs a client_secret reference",
        "agreements[0].relying_party: \"nobody\" is not a relying party in this registry",
        "agreements[0].version: versions start at 1",
        "agreements[0].purpose.fr: the French text is missing",
        "agreements[0].providers[1]: \"CA-ZZ\" is neither a provider in this registry nor a jurisdiction code",
        "agreements[0].attributes[1]: \"sin\" is not a known attribute",
        "agreements[0].minimum_level: 0 is not a level of assurance",
        "agreements[0].legal_basis: \"vibes\" is not a legal basis",
        "agreements[0]: the validity window is inverted or empty",
        "agreements[0].retention_days: a retention period of at least one day is required",
        "agreements[0].status_reason: a terminated agreement must give a reason",
    ];
    for e in expected {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "missing {e:?} in:\n{}",
            found.join("\n")
        );
    }
    assert_eq!(
        found.len(),
        expected.len(),
        "unexpected extra problems:\n{}",
        found.join("\n")
    );
}

#[test]
fn loopback_http_is_allowed_only_in_a_development_registry() {
    let production = EXAMPLE.replace("development = true", "development = false");
    let found = problems(&production);
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|p| p.contains("uses http: allowed only on loopback")),
        "{found:#?}"
    );
    // Non-loopback http is refused even in development.
    let found = problems(&EXAMPLE.replace("http://127.0.0.1:8411", "http://10.0.0.1:8411"));
    assert_eq!(
        found,
        vec!["providers[0].issuer: \"http://10.0.0.1:8411\" must use https"]
    );
}

#[test]
fn issuers_must_be_unique_and_without_query() {
    let found = problems(&EXAMPLE.replace("http://127.0.0.1:8412", "http://127.0.0.1:8411"));
    assert_eq!(
        found,
        vec!["providers[1].issuer: duplicate issuer \"http://127.0.0.1:8411\""]
    );
    let found = problems(&EXAMPLE.replace(
        "https://id.ontario.example",
        "https://id.ontario.example/?tenant=1",
    ));
    assert_eq!(found.len(), 1);
    assert!(found[0].contains("an issuer must not have a query"));
}

#[test]
fn syntax_and_unknown_fields_are_errors() {
    assert!(matches!(
        Registry::from_toml("not toml ["),
        Err(RegistryError::Syntax(_))
    ));
    let unknown = EXAMPLE.replacen("development = true", "development = true\nlegacy = 1", 1);
    let err = Registry::from_toml(&unknown).unwrap_err();
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn unsupported_format_version() {
    let found = problems(&EXAMPLE.replacen("version = 1", "version = 2", 1));
    assert_eq!(
        found,
        vec!["registry.version: format version 2 is not supported (this build reads version 1)"]
    );
}

#[test]
fn private_key_jwt_needs_exactly_one_key_source() {
    let rp = |extra: &str| {
        format!(
            "[registry]\nversion = 1\n[[relying_parties]]\nclient_id = \"k\"\nname = {{ en = \"K\", fr = \"K\" }}\njurisdiction = \"CA\"\nredirect_uris = [\"https://k.example/cb\"]\ntoken_endpoint_auth_method = \"private_key_jwt\"\nsector_identifier = \"k\"\n{extra}"
        )
    };
    assert_eq!(
        problems(&rp("")),
        vec!["relying_parties[0]: private_key_jwt needs exactly one of jwks or jwks_uri"]
    );
    assert_eq!(
        problems(&rp("jwks_uri = \"https://k.example/jwks\"")),
        Vec::<String>::new()
    );
    assert_eq!(
        problems(&rp("jwks = { keys = [] }")),
        vec!["relying_parties[0].jwks: a JWKS must have a non-empty \"keys\" array"]
    );
    assert_eq!(
        problems(&rp(
            "jwks = { keys = [{ kty = \"EC\", crv = \"P-256\", x = \"a\", y = \"b\" }, { kty = \"EC\", crv = \"P-256\", x = \"a\", y = \"b\", d = \"c\" }] }"
        )),
        vec![
            "relying_parties[0].jwks.keys[1]: holds private key material: register the public key only"
        ]
    );
}

#[test]
fn pushed_requests_can_be_required_per_service() {
    let text = EXAMPLE.replacen(
        "[[relying_parties]]\n",
        "[[relying_parties]]\nrequire_pushed_authorization_requests = true\n",
        1,
    );
    let registry = crate::Registry::from_toml(&text).unwrap();
    assert_eq!(
        registry
            .relying_parties()
            .iter()
            .filter(|rp| rp.require_par)
            .count(),
        1
    );
    let plain = crate::Registry::from_toml(EXAMPLE).unwrap();
    assert!(plain.relying_parties().iter().all(|rp| !rp.require_par));
}

#[test]
fn statement_keys_must_be_public_and_named() {
    let with_key = |jwk: &str| {
        format!(
            "{EXAMPLE}\n[[statement_keys]]\njurisdiction = \"CA-NS\"\nkid = \"ns-1\"\njwk = {jwk}\n"
        )
    };
    assert_eq!(
        problems(&with_key(
            "{ kty = \"EC\", crv = \"P-256\", x = \"a\", y = \"b\" }"
        )),
        Vec::<String>::new()
    );
    let found = problems(&with_key(
        "{ kty = \"EC\", crv = \"P-256\", x = \"a\", y = \"b\", d = \"secret\" }",
    ));
    assert_eq!(
        found,
        vec![
            "statement_keys[0].jwk.d: a trusted key must be public: private members are not allowed"
        ]
    );
    let found = problems(&with_key("{ kty = \"oct\", k = \"x\" }"));
    assert_eq!(found.len(), 2, "{found:?}");
}

/// Found by the round-trip check of the `registry_file` and `admin_payload` fuzz targets: JSON
/// held in a registry (a statement key, a client's JWKS) that TOML cannot hold validated, so the
/// registry loaded but the registry store could not save it, and every admin change failed as
/// "unavailable". A TOML `nan` or `inf` becomes a JSON null.
#[test]
fn fuzz_registry_file_nan_in_a_statement_key_is_refused() {
    for value in ["nan", "inf", "-inf"] {
        let toml = format!(
            "{EXAMPLE}\n[[statement_keys]]\njurisdiction = \"CA-NS\"\nkid = \"ns-1\"\njwk = {{ kty = \"EC\", crv = \"P-256\", x = \"a\", y = \"b\", ext = {value} }}\n"
        );
        assert_eq!(
            problems(&toml),
            vec![
                "statement_keys[0].jwk.ext: null, nan and integers beyond 64 bits have no TOML form: the registry could not be saved"
            ],
            "{value}"
        );
    }
}

#[test]
fn fuzz_admin_payload_null_in_a_client_jwks_is_refused() {
    let with_jwks = |jwks: serde_json::Value| {
        let entry: RelyingPartyEntry = serde_json::from_value(serde_json::json!({
            "client_id": "ns-fishing",
            "name": { "en": "Fishing", "fr": "Pêche" },
            "jurisdiction": "CA-NS",
            "redirect_uris": ["https://fishing.novascotia.example/callback"],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
            "sector_identifier": "novascotia.ca",
        }))
        .unwrap();
        let mut file: RegistryFile = toml::from_str(EXAMPLE).unwrap();
        file.relying_parties.push(entry);
        file
    };
    // The new client comes after the example's own.
    let index = with_jwks(serde_json::Value::Null).relying_parties.len() - 1;
    let key = serde_json::json!({ "kty": "EC", "crv": "P-256", "x": "a", "y": "b" });
    let mut with_null = key.clone();
    with_null["ext"] = serde_json::Value::Null;
    let mut too_big = key.clone();
    too_big["n"] = serde_json::json!(u64::MAX);
    for (bad, place) in [
        (with_null, "keys[1].ext"),
        (serde_json::json!([1, { "n": u64::MAX }]), "keys[1][1].n"),
        (too_big, "keys[1].n"),
    ] {
        let file = with_jwks(serde_json::json!({ "keys": [key, bad] }));
        let found: Vec<String> = match Registry::from_file(file) {
            Ok(_) => vec![],
            Err(e) => e.problems().iter().map(ToString::to_string).collect(),
        };
        assert_eq!(
            found,
            vec![format!(
                "relying_parties[{index}].jwks.{place}: null, nan and integers beyond 64 bits have no TOML form: the registry could not be saved"
            )]
        );
    }
    // What validates is what the registry store can save and read back.
    let file = with_jwks(serde_json::json!({ "keys": [key] }));
    let registry = Registry::from_file(file.clone()).unwrap();
    let saved = toml::to_string(registry.source()).unwrap();
    assert_eq!(toml::from_str::<RegistryFile>(&saved).unwrap(), file);
}

/// A notice agreement names the law it relies on, in both languages, with an address.
#[test]
fn a_notice_agreement_names_its_legal_authority() {
    let with = |authority: &str| {
        let line = EXAMPLE
            .lines()
            .find(|l| l.starts_with("legal_authority = "))
            .unwrap();
        EXAMPLE.replace(line, authority)
    };
    let cra = example();
    let authority = cra
        .agreement("isa-cra-my-account-2025")
        .and_then(|a| a.legal_authority.clone())
        .unwrap();
    assert_eq!(authority.name.fr, "Loi de l'impôt sur le revenu");
    let none = problems(&with(""));
    assert!(
        none.iter()
            .any(|p| p.contains(".legal_authority") && p.contains("notice agreement")),
        "{none:?}"
    );
    let half = problems(&with(
        r#"legal_authority = { name = { en = "Income Tax Act" }, url = { en = "https://x.ca/a", fr = "ftp://x.ca/b" } }"#,
    ));
    assert!(
        half.iter().any(|p| p.contains(".legal_authority.name")),
        "{half:?}"
    );
    assert!(
        half.iter()
            .any(|p| p.contains(".legal_authority.url") && p.contains("not a web address")),
        "{half:?}"
    );
}
