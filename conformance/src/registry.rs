//! The trust framework's static rules on a registry file. Works on the file as written, so
//! that each rule is reported on its own even when the file does not validate.

use std::collections::{BTreeMap, HashSet};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use trust_framework::provider::ROUTING_COMPONENTS;
use trust_framework::{AssuranceLevel, Component, Jurisdiction, Registry, RegistryFile};

use crate::catalogue::*;
use crate::check::{Outcome, Report, Subject, Text};

/// Validation problems reported by a dedicated check rather than by REG-VALID.
fn dedicated(place: &str) -> bool {
    place.starts_with("agreements[")
        && [
            ".purpose",
            ".retention_days",
            ".relying_party",
            ".providers[",
        ]
        .iter()
        .any(|p| place.contains(p))
}

fn time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Runs the registry checks on the text of a registry file.
pub fn check_registry(file_name: &str, text: &str, now: OffsetDateTime) -> Report {
    let mut report = Report::new(
        Subject::Registry {
            file: file_name.to_owned(),
        },
        now,
    );
    let file: RegistryFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            report.record(
                &REG_PARSE,
                Outcome::fail(format!("{e}"), format!("fichier illisible : {e}")),
                Vec::new(),
            );
            for def in [
                &REG_VALID,
                &REG_PROVIDER_CERTIFIED,
                &REG_AGREEMENT_PURPOSE,
                &REG_AGREEMENT_RETENTION,
                &REG_AGREEMENT_WINDOW,
                &REG_REFERENCES,
            ] {
                report.record(
                    def,
                    Outcome::skipped("the file cannot be read", "le fichier ne peut être lu"),
                    Vec::new(),
                );
            }
            return report;
        }
    };
    report.record(&REG_PARSE, Outcome::Pass, Vec::new());

    let problems: Vec<Text> = match Registry::from_file(file.clone()) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .problems()
            .into_iter()
            .filter(|p| !dedicated(&p.place))
            .map(|p| {
                Text::new(
                    p.to_string(),
                    format!("(message du validateur, en anglais) {p}"),
                )
            })
            .collect(),
    };
    report.record(&REG_VALID, Outcome::from_problems(problems), Vec::new());
    report.record(&REG_PROVIDER_CERTIFIED, certified(&file, now), Vec::new());

    let mut purpose = Vec::new();
    let mut retention = Vec::new();
    let mut window = Vec::new();
    let mut references = Vec::new();
    let client_ids: HashSet<&str> = file
        .relying_parties
        .iter()
        .map(|r| r.client_id.as_str())
        .collect();
    let provider_ids: HashSet<&str> = file.providers.iter().map(|p| p.id.as_str()).collect();
    for (i, a) in file.agreements.iter().enumerate() {
        let place = format!("agreements[{i}] ({})", a.id);
        for lang in a.purpose.missing() {
            let (en, fr) = match lang {
                trust_framework::Lang::En => ("English", "anglais"),
                trust_framework::Lang::Fr => ("French", "français"),
            };
            purpose.push(Text::new(
                format!("{place}: no purpose in {en}"),
                format!("{place} : aucune finalité en {fr}"),
            ));
        }
        if a.retention_days == 0 {
            retention.push(Text::new(
                format!("{place}: no retention period"),
                format!("{place} : aucune durée de conservation"),
            ));
        }
        if a.status == "active" {
            match (time(&a.not_before), time(&a.not_after)) {
                (Some(nb), Some(na)) if nb < na && na > now => {}
                (Some(nb), Some(na)) if nb < na => window.push(Text::new(
                    format!("{place}: expired on {}", a.not_after),
                    format!("{place} : expirée le {}", a.not_after),
                )),
                _ => window.push(Text::new(
                    format!(
                        "{place}: no valid window ({} to {})",
                        a.not_before, a.not_after
                    ),
                    format!(
                        "{place} : aucune période valide ({} à {})",
                        a.not_before, a.not_after
                    ),
                )),
            }
        }
        if !client_ids.contains(a.relying_party.as_str()) {
            references.push(Text::new(
                format!(
                    "{place}: relying party {:?} is not in the registry",
                    a.relying_party
                ),
                format!(
                    "{place} : la partie utilisatrice {:?} n'est pas dans le registre",
                    a.relying_party
                ),
            ));
        }
        for p in &a.providers {
            if !provider_ids.contains(p.as_str()) && p.parse::<Jurisdiction>().is_err() {
                references.push(Text::new(
                    format!("{place}: {p:?} is neither a provider nor a jurisdiction"),
                    format!("{place} : {p:?} n'est ni un fournisseur ni une juridiction"),
                ));
            }
        }
    }
    report.record(
        &REG_AGREEMENT_PURPOSE,
        Outcome::from_problems(purpose),
        Vec::new(),
    );
    report.record(
        &REG_AGREEMENT_RETENTION,
        Outcome::from_problems(retention),
        Vec::new(),
    );
    report.record(
        &REG_AGREEMENT_WINDOW,
        Outcome::from_problems(window),
        Vec::new(),
    );
    report.record(
        &REG_REFERENCES,
        Outcome::from_problems(references),
        Vec::new(),
    );
    report
}

/// Every active provider: privacy current, and verified-person and authentication current at
/// every level its acr values are mapped to (the levels it is routed for).
fn certified(file: &RegistryFile, now: OffsetDateTime) -> Outcome {
    let mut problems = Vec::new();
    for (i, p) in file.providers.iter().enumerate() {
        if p.status != "active" {
            continue;
        }
        let place = format!("providers[{i}] ({})", p.id);
        let mut current: BTreeMap<Component, AssuranceLevel> = BTreeMap::new();
        for c in &p.certifications {
            let (Ok(component), Some(level), Some(nb), Some(na)) = (
                c.component.parse::<Component>(),
                AssuranceLevel::from_number(c.level),
                time(&c.not_before),
                time(&c.not_after),
            ) else {
                continue;
            };
            if nb <= now && now < na {
                let e = current.entry(component).or_insert(level);
                *e = (*e).max(level);
            }
        }
        let routed = p
            .acr_map
            .values()
            .filter_map(|n| AssuranceLevel::from_number(*n))
            .max();
        let Some(routed) = routed else {
            problems.push(Text::new(
                format!("{place}: no acr value mapped to a level"),
                format!("{place} : aucune valeur acr associée à un niveau"),
            ));
            continue;
        };
        if !current.contains_key(&Component::Privacy) {
            problems.push(Text::new(
                format!("{place}: no current privacy certification"),
                format!("{place} : aucune certification de protection de la vie privée en vigueur"),
            ));
        }
        for component in ROUTING_COMPONENTS {
            match current.get(&component) {
                Some(level) if *level >= routed => {}
                Some(level) => problems.push(Text::new(
                    format!("{place}: {} certified at level {level}, routed up to level {routed}", component.name()),
                    format!("{place} : {} certifié au niveau {level}, sollicité jusqu'au niveau {routed}", component.name()),
                )),
                None => problems.push(Text::new(
                    format!("{place}: no current {} certification", component.name()),
                    format!("{place} : aucune certification {} en vigueur", component.name()),
                )),
            }
        }
    }
    Outcome::from_problems(problems)
}
