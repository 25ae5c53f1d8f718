//! Turning a registry file into domain values, collecting every problem on the way.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::{Host, Url};

use super::Problem;
use super::file::{
    AgreementEntry, CertificationEntry, FORMAT_VERSION, ProviderEntry, RegistryFile,
};
use crate::agreement::{Agreement, AgreementStatus, LegalBasis, ProviderSelector};
use crate::attribute::Attribute;
use crate::jurisdiction::Jurisdiction;
use crate::level::AssuranceLevel;
use crate::provider::{Certification, Component, IdentityProvider, Status};
use crate::relying_party::RelyingParty;
use crate::text::{Bilingual, Lang};
use crate::window::Window;

mod relying_party;
use relying_party::relying_party;

type Validated = (Vec<IdentityProvider>, Vec<RelyingParty>, Vec<Agreement>);

/// Collects problems; each check returns `None` after recording what was wrong.
pub(super) struct Checker {
    development: bool,
    problems: Vec<Problem>,
}

impl Checker {
    fn problem(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            place: place.into(),
            message: message.into(),
        });
    }

    fn nonempty(&mut self, place: &str, value: &str, what: &str) {
        if value.trim().is_empty() {
            self.problem(place, format!("{what} must not be empty"));
        }
    }

    fn bilingual(&mut self, place: &str, text: &Bilingual) {
        for lang in text.missing() {
            let which = match lang {
                Lang::En => "English",
                Lang::Fr => "French",
            };
            self.problem(
                format!("{place}.{}", lang.code()),
                format!("the {which} text is missing"),
            );
        }
    }

    fn jurisdiction(&mut self, place: &str, code: &str) -> Option<Jurisdiction> {
        code.parse()
            .map_err(|e| self.problem(place, format!("{e}")))
            .ok()
    }

    fn level(&mut self, place: &str, n: i64) -> Option<AssuranceLevel> {
        let level = AssuranceLevel::from_number(n);
        if level.is_none() {
            self.problem(place, format!("{n} is not a level of assurance (1 to 4)"));
        }
        level
    }

    fn attributes(&mut self, place: &str, names: &[String]) -> BTreeSet<Attribute> {
        let mut set = BTreeSet::new();
        if names.is_empty() {
            self.problem(place, "at least one attribute is required");
        }
        for (i, name) in names.iter().enumerate() {
            match name.parse::<Attribute>() {
                Ok(a) if !set.insert(a) => {
                    self.problem(format!("{place}[{i}]"), format!("{name:?} is listed twice"))
                }
                Ok(_) => {}
                Err(e) => self.problem(format!("{place}[{i}]"), e.to_string()),
            }
        }
        set
    }

    /// https, or http on a loopback address in a development registry; no fragment, and for
    /// an issuer no query either (OpenID Connect Discovery section 3).
    fn url(&mut self, place: &str, raw: &str, is_issuer: bool) -> Option<Url> {
        let url = match Url::parse(raw) {
            Ok(url) => url,
            Err(e) => {
                self.problem(place, format!("{raw:?} is not a valid URL: {e}"));
                return None;
            }
        };
        let loopback = match url.host() {
            Some(Host::Domain(d)) => d == "localhost",
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => false,
        };
        let mut ok = true;
        match url.scheme() {
            "https" => {}
            "http" if loopback && self.development => {}
            "http" if loopback => {
                self.problem(place, format!("{raw:?} uses http: allowed only on loopback in a development registry (set registry.development = true)"));
                ok = false;
            }
            _ => {
                self.problem(place, format!("{raw:?} must use https"));
                ok = false;
            }
        }
        if url.host().is_none() {
            self.problem(place, format!("{raw:?} has no host"));
            ok = false;
        }
        if url.fragment().is_some() {
            self.problem(place, format!("{raw:?} must not have a fragment"));
            ok = false;
        }
        if is_issuer && url.query().is_some() {
            self.problem(place, format!("{raw:?}: an issuer must not have a query"));
            ok = false;
        }
        if !url.username().is_empty() || url.password().is_some() {
            self.problem(place, format!("{raw:?} must not carry credentials"));
            ok = false;
        }
        ok.then_some(url)
    }

    fn window(&mut self, place: &str, not_before: &str, not_after: &str) -> Option<Window> {
        let parse = |c: &mut Self, field: &str, value: &str| {
            OffsetDateTime::parse(value, &Rfc3339)
                .map_err(|e| {
                    c.problem(
                        format!("{place}.{field}"),
                        format!("{value:?} is not an RFC 3339 date-time: {e}"),
                    )
                })
                .ok()
        };
        let nb = parse(self, "not_before", not_before);
        let na = parse(self, "not_after", not_after);
        let (not_before, not_after) = (nb?, na?);
        if not_before >= not_after {
            self.problem(place, format!("the validity window is inverted or empty: not_before {not_before} is not before not_after {not_after}"));
            return None;
        }
        Some(Window {
            not_before,
            not_after,
        })
    }

    fn status(&mut self, place: &str, status: &str, reason: &Option<String>) -> Option<Status> {
        let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let need_reason = |c: &mut Self| match reason {
            Some(r) => Some(r.to_owned()),
            None => {
                c.problem(
                    format!("{place}_reason"),
                    format!("a {status} entry must give a reason"),
                );
                None
            }
        };
        match status {
            "pending" => Some(Status::Pending),
            "active" => Some(Status::Active),
            "suspended" => need_reason(self).map(|reason| Status::Suspended { reason }),
            "revoked" => need_reason(self).map(|reason| Status::Revoked { reason }),
            other => {
                self.problem(
                    place,
                    format!("{other:?} is not a status (pending, active, suspended, revoked)"),
                );
                None
            }
        }
    }

    fn unique<'a>(&mut self, seen: &mut HashSet<&'a str>, place: String, id: &'a str, what: &str) {
        if !id.is_empty() && !seen.insert(id) {
            self.problem(place, format!("duplicate {what} {id:?}"));
        }
    }
}

pub(super) fn validate(file: &RegistryFile) -> Result<Validated, Vec<Problem>> {
    let mut c = Checker {
        development: file.registry.development,
        problems: Vec::new(),
    };
    if file.registry.version != FORMAT_VERSION {
        c.problem(
            "registry.version",
            format!(
                "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                file.registry.version
            ),
        );
    }

    let mut ids = HashSet::new();
    let mut issuers = HashSet::new();
    let providers: Vec<Option<IdentityProvider>> = file
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let place = format!("providers[{i}]");
            c.unique(&mut ids, format!("{place}.id"), &p.id, "provider id");
            c.unique(&mut issuers, format!("{place}.issuer"), &p.issuer, "issuer");
            provider(&mut c, &place, p)
        })
        .collect();

    let mut client_ids = HashSet::new();
    let relying_parties: Vec<Option<RelyingParty>> = file
        .relying_parties
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let place = format!("relying_parties[{i}]");
            c.unique(
                &mut client_ids,
                format!("{place}.client_id"),
                &r.client_id,
                "client id",
            );
            relying_party(&mut c, &place, r)
        })
        .collect();

    let provider_ids: HashSet<&str> = file.providers.iter().map(|p| p.id.as_str()).collect();
    let mut agreement_ids = HashSet::new();
    let agreements: Vec<Option<Agreement>> = file
        .agreements
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let place = format!("agreements[{i}]");
            c.unique(
                &mut agreement_ids,
                format!("{place}.id"),
                &a.id,
                "agreement id",
            );
            if !a.relying_party.is_empty() && !client_ids.contains(a.relying_party.as_str()) {
                c.problem(
                    format!("{place}.relying_party"),
                    format!(
                        "{:?} is not a relying party in this registry",
                        a.relying_party
                    ),
                );
            }
            agreement(&mut c, &place, a, &provider_ids)
        })
        .collect();

    let mut kids = HashSet::new();
    for (i, key) in file.statement_keys.iter().enumerate() {
        let place = format!("statement_keys[{i}]");
        c.jurisdiction(&format!("{place}.jurisdiction"), &key.jurisdiction);
        c.nonempty(&format!("{place}.kid"), &key.kid, "the key id");
        c.unique(&mut kids, format!("{place}.kid"), &key.kid, "key id");
        match key.jwk.as_object() {
            Some(jwk) => {
                if !matches!(
                    jwk.get("kty").and_then(|k| k.as_str()),
                    Some("EC" | "RSA" | "OKP")
                ) {
                    c.problem(
                        format!("{place}.jwk.kty"),
                        "the key type must be EC, RSA or OKP",
                    );
                }
                for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
                    if jwk.contains_key(private) {
                        c.problem(
                            format!("{place}.jwk.{private}"),
                            "a trusted key must be public: private members are not allowed",
                        );
                    }
                }
            }
            None => c.problem(format!("{place}.jwk"), "the key must be a JWK object"),
        }
        if let Some(path) = without_toml_form(&key.jwk) {
            c.problem(format!("{place}.jwk{path}"), NO_TOML_FORM);
        }
    }

    if c.problems.is_empty() {
        // Every entry validated, so every Option is Some.
        Ok((
            providers.into_iter().flatten().collect(),
            relying_parties.into_iter().flatten().collect(),
            agreements.into_iter().flatten().collect(),
        ))
    } else {
        Err(c.problems)
    }
}

fn provider(c: &mut Checker, place: &str, p: &ProviderEntry) -> Option<IdentityProvider> {
    c.nonempty(&format!("{place}.id"), &p.id, "the provider id");
    c.nonempty(&format!("{place}.client_id"), &p.client_id, "the client id");
    c.bilingual(&format!("{place}.name"), &p.name);
    let jurisdiction = c.jurisdiction(&format!("{place}.jurisdiction"), &p.jurisdiction);
    if matches!(p.client_secret, crate::secret::SecretRef::Sha256(_)) {
        c.problem(
            format!("{place}.client_secret"),
            "the broker must present this secret to the provider: a hash cannot be used",
        );
    }
    let issuer = c.url(&format!("{place}.issuer"), &p.issuer, true);
    if !p.scopes.iter().any(|s| s == "openid") {
        c.problem(
            format!("{place}.scopes"),
            "the scopes must include \"openid\"",
        );
    }
    if p.acr_map.is_empty() {
        c.problem(
            format!("{place}.acr_map"),
            "at least one acr value must be mapped to a level",
        );
    }
    let acr_map: BTreeMap<String, AssuranceLevel> = p
        .acr_map
        .iter()
        .filter_map(|(acr, n)| {
            Some((
                acr.clone(),
                c.level(&format!("{place}.acr_map.{acr:?}"), *n)?,
            ))
        })
        .collect();
    let claim_map: BTreeMap<String, Attribute> = p
        .claim_map
        .iter()
        .filter_map(|(claim, name)| match name.parse() {
            Ok(a) => Some((claim.clone(), a)),
            Err(e) => {
                c.problem(format!("{place}.claim_map.{claim:?}"), format!("{e}"));
                None
            }
        })
        .collect();
    let attributes = c.attributes(&format!("{place}.attributes"), &p.attributes);
    for (claim, a) in &claim_map {
        if !attributes.contains(a) {
            c.problem(
                format!("{place}.claim_map.{claim:?}"),
                format!("maps to {a}, which the provider does not list in its attributes"),
            );
        }
    }
    if p.certifications.is_empty() {
        c.problem(
            format!("{place}.certifications"),
            "a provider must have at least one certification",
        );
    }
    let certifications: Vec<Option<Certification>> = p
        .certifications
        .iter()
        .enumerate()
        .map(|(i, cert)| certification(c, &format!("{place}.certifications[{i}]"), cert))
        .collect();
    let status = c.status(&format!("{place}.status"), &p.status, &p.status_reason);
    Some(IdentityProvider {
        id: p.id.clone(),
        jurisdiction: jurisdiction?,
        name: p.name.clone(),
        issuer: issuer.map(|_| p.issuer.clone())?,
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.clone(),
        scopes: p.scopes.clone(),
        acr_map,
        claim_map,
        attributes,
        certifications: certifications.into_iter().collect::<Option<_>>()?,
        status: status?,
    })
}

fn certification(c: &mut Checker, place: &str, cert: &CertificationEntry) -> Option<Certification> {
    let component = cert
        .component
        .parse::<Component>()
        .map_err(|e| c.problem(format!("{place}.component"), e))
        .ok();
    let level = c.level(&format!("{place}.level"), cert.level);
    let window = c.window(place, &cert.not_before, &cert.not_after);
    Some(Certification {
        component: component?,
        level: level?,
        window: window?,
        assessor: cert.assessor.clone(),
    })
}

fn agreement(
    c: &mut Checker,
    place: &str,
    a: &AgreementEntry,
    provider_ids: &HashSet<&str>,
) -> Option<Agreement> {
    c.nonempty(&format!("{place}.id"), &a.id, "the agreement id");
    if a.version == 0 {
        c.problem(format!("{place}.version"), "versions start at 1");
    }
    c.bilingual(&format!("{place}.purpose"), &a.purpose);
    if a.providers.is_empty() {
        c.problem(
            format!("{place}.providers"),
            "an agreement must name at least one provider or jurisdiction",
        );
    }
    let providers: Vec<Option<ProviderSelector>> = a
        .providers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if provider_ids.contains(p.as_str()) {
                Some(ProviderSelector::Provider(p.clone()))
            } else if let Ok(j) = p.parse() {
                Some(ProviderSelector::Jurisdiction(j))
            } else {
                c.problem(
                    format!("{place}.providers[{i}]"),
                    format!("{p:?} is neither a provider in this registry nor a jurisdiction code"),
                );
                None
            }
        })
        .collect();
    let attributes = c.attributes(&format!("{place}.attributes"), &a.attributes);
    let minimum_level = c.level(&format!("{place}.minimum_level"), a.minimum_level);
    let legal_basis = match a.legal_basis.as_str() {
        "consent" => Some(LegalBasis::Consent),
        "notice" => Some(LegalBasis::Notice),
        other => {
            c.problem(
                format!("{place}.legal_basis"),
                format!("{other:?} is not a legal basis (consent, notice)"),
            );
            None
        }
    };
    match &a.legal_authority {
        Some(authority) => {
            c.bilingual(&format!("{place}.legal_authority.name"), &authority.name);
            c.bilingual(&format!("{place}.legal_authority.url"), &authority.url);
            for url in [&authority.url.en, &authority.url.fr] {
                if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
                    c.problem(
                        format!("{place}.legal_authority.url"),
                        format!("{url:?} is not a web address"),
                    );
                }
            }
        }
        None if legal_basis == Some(LegalBasis::Notice) => c.problem(
            format!("{place}.legal_authority"),
            "a notice agreement must name the law that authorizes the collection",
        ),
        None => {}
    }
    let window = c.window(place, &a.not_before, &a.not_after);
    if a.retention_days == 0 {
        c.problem(
            format!("{place}.retention_days"),
            "a retention period of at least one day is required",
        );
    }
    let status = match a.status.as_str() {
        "active" => Some(AgreementStatus::Active),
        "terminated" => match a
            .status_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        {
            Some(reason) => Some(AgreementStatus::Terminated {
                reason: reason.to_owned(),
            }),
            None => {
                c.problem(
                    format!("{place}.status_reason"),
                    "a terminated agreement must give a reason",
                );
                None
            }
        },
        other => {
            c.problem(
                format!("{place}.status"),
                format!("{other:?} is not an agreement status (active, terminated)"),
            );
            None
        }
    };
    Some(Agreement {
        id: a.id.clone(),
        version: a.version,
        relying_party: a.relying_party.clone(),
        providers: providers.into_iter().collect::<Option<_>>()?,
        purpose: a.purpose.clone(),
        attributes,
        minimum_level: minimum_level?,
        legal_basis: legal_basis?,
        window: window?,
        retention_days: a.retention_days,
        status: status?,
        legal_authority: a.legal_authority.clone(),
    })
}

pub(super) const NO_TOML_FORM: &str =
    "null, nan and integers beyond 64 bits have no TOML form: the registry could not be saved";

/// Where in `value` (as `.member` and `[index]`) is something the registry's TOML cannot hold:
/// a null (also what a TOML `nan` becomes in JSON) or an integer beyond `i64`. A registry that
/// validates must survive the registry store, which saves it as TOML and reads it back.
pub(super) fn without_toml_form(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::Null => Some(String::new()),
        Value::Number(n) if !n.is_i64() && !n.is_f64() => Some(String::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| without_toml_form(v).map(|path| format!("[{i}]{path}"))),
        Value::Object(members) => members
            .iter()
            .find_map(|(k, v)| without_toml_form(v).map(|path| format!(".{k}{path}"))),
        Value::Bool(_) | Value::Number(_) | Value::String(_) => None,
    }
}
