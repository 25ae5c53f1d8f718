use std::collections::BTreeSet;

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::testing::{NOW, edited, example};
use crate::{AssuranceLevel, Attribute, Jurisdiction};

fn request(client_id: &str, attributes: &[Attribute]) -> RequestContext {
    RequestContext {
        client_id: client_id.to_owned(),
        attributes: attributes.iter().copied().collect(),
        level: None,
        hint: None,
    }
}

fn ids(d: &Decision) -> Vec<&str> {
    d.candidates
        .iter()
        .map(|c| c.provider_id.as_str())
        .collect()
}

#[test]
fn eligible_providers_in_jurisdiction_order_federal_last() {
    let d = decide(
        &example(),
        &request("esdc-employment-insurance", &[Attribute::GivenName]),
        NOW,
    )
    .unwrap();
    assert_eq!(
        ids(&d),
        [
            "ab-account",
            "bc-services-card",
            "qc-sqin",
            "ircc-newcomers"
        ]
    );
    assert_eq!(
        d.candidates.last().unwrap().jurisdiction,
        Jurisdiction::Federal
    );
    assert_eq!(d.required_level(), Some(AssuranceLevel::Two));
}

#[test]
fn the_agreement_minimum_is_a_floor_under_the_requested_level() {
    let mut req = request("esdc-employment-insurance", &[]);
    req.level = Some(AssuranceLevel::One);
    let d = decide(&example(), &req, NOW).unwrap();
    assert!(
        d.candidates
            .iter()
            .all(|c| c.required_level == AssuranceLevel::Two)
    );
    let ab = d.candidate("ab-account").unwrap();
    assert_eq!(
        ab.acr_values,
        ["urn:ab:aca:verified", "urn:ab:aca:verified-mfa"]
    );
}

#[test]
fn a_higher_requested_level_narrows_the_providers() {
    let mut req = request("esdc-employment-insurance", &[]);
    req.level = Some(AssuranceLevel::Three);
    let d = decide(&example(), &req, NOW).unwrap();
    assert_eq!(ids(&d), ["ab-account", "qc-sqin", "ircc-newcomers"]);
    assert_eq!(
        d.candidate("qc-sqin").unwrap().acr_values,
        ["qc:sqin:eleve"]
    );
}

#[test]
fn an_unattainable_level_is_refused() {
    let mut req = request("esdc-employment-insurance", &[]);
    req.level = Some(AssuranceLevel::Four);
    let err = decide(&example(), &req, NOW).unwrap_err();
    assert_eq!(
        err,
        Refusal::LevelNotAttainable {
            required: AssuranceLevel::Four,
            best_available: Some(AssuranceLevel::Three)
        }
    );
    assert_eq!(err.error_code(), "unmet_authentication_requirements");
}

#[test]
fn attributes_outside_the_agreement_are_not_asked() {
    let d = decide(
        &example(),
        &request(
            "vpl-library-card",
            &[
                Attribute::GivenName,
                Attribute::Birthdate,
                Attribute::Address,
            ],
        ),
        NOW,
    )
    .unwrap();
    let bc = d.candidate("bc-services-card").unwrap();
    assert_eq!(
        bc.attributes,
        BTreeSet::from([Attribute::GivenName, Attribute::Address])
    );
    assert_eq!(bc.refused, BTreeSet::from([Attribute::Birthdate]));
}

#[test]
fn attributes_a_provider_cannot_attest_are_not_asked_of_it() {
    let d = decide(
        &example(),
        &request("esdc-employment-insurance", &[Attribute::Address]),
        NOW,
    )
    .unwrap();
    assert!(d.candidate("ircc-newcomers").unwrap().attributes.is_empty());
    assert_eq!(
        d.candidate("ab-account").unwrap().attributes,
        BTreeSet::from([Attribute::Address])
    );
}

#[test]
fn unknown_and_inactive_clients_are_refused() {
    let err = decide(&example(), &request("nobody", &[]), NOW).unwrap_err();
    assert_eq!(err.error_code(), "invalid_client");
    let r = edited(|f| {
        f.relying_parties[0].status = "suspended".into();
        f.relying_parties[0].status_reason = Some("security review".into());
    });
    let err = decide(&r, &request("esdc-employment-insurance", &[]), NOW).unwrap_err();
    assert!(matches!(err, Refusal::ClientNotActive { .. }));
    assert_eq!(err.error_code(), "unauthorized_client");
}

#[test]
fn expired_terminated_and_future_agreements_are_refused() {
    let later = datetime!(2030-01-01 0:00 UTC);
    let err = decide(
        &example(),
        &request("esdc-employment-insurance", &[]),
        later,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Refusal::AgreementExpired {
            agreement_id: "isa-esdc-ei-2025".into()
        }
    );
    let earlier = datetime!(2025-12-31 0:00 UTC);
    let err = decide(&example(), &request("vpl-library-card", &[]), earlier).unwrap_err();
    assert_eq!(
        err,
        Refusal::AgreementNotYetInForce {
            agreement_id: "isa-vpl-library-2026".into()
        }
    );
    let r = edited(|f| {
        f.agreements[0].status = "terminated".into();
        f.agreements[0].status_reason = Some("program ended".into());
    });
    let err = decide(&r, &request("esdc-employment-insurance", &[]), NOW).unwrap_err();
    assert_eq!(
        err,
        Refusal::AgreementTerminated {
            agreement_id: "isa-esdc-ei-2025".into()
        }
    );
    assert_eq!(err.error_code(), "access_denied");
}

#[test]
fn no_agreement_no_release() {
    let r = edited(|f| f.agreements.retain(|a| a.relying_party != "cra-my-account"));
    let err = decide(&r, &request("cra-my-account", &[]), NOW).unwrap_err();
    assert_eq!(
        err,
        Refusal::NoAgreement {
            client_id: "cra-my-account".into()
        }
    );
}

#[test]
fn hints_select_a_provider_or_a_jurisdiction() {
    let mut req = request("esdc-employment-insurance", &[]);
    req.hint = Some("CA-QC".into());
    assert_eq!(ids(&decide(&example(), &req, NOW).unwrap()), ["qc-sqin"]);
    req.hint = Some("ircc-newcomers".into());
    assert_eq!(
        ids(&decide(&example(), &req, NOW).unwrap()),
        ["ircc-newcomers"]
    );
    req.hint = Some("CA-XX".into());
    assert_eq!(
        decide(&example(), &req, NOW).unwrap_err().error_code(),
        "invalid_request"
    );
    // A real jurisdiction with no provider under this agreement.
    req.hint = Some("CA-NU".into());
    assert!(matches!(
        decide(&example(), &req, NOW),
        Err(Refusal::UnknownHint { .. })
    ));
    // Ontario's provider exists but is pending.
    req.hint = Some("on-digital-id".into());
    assert!(matches!(
        decide(&example(), &req, NOW),
        Err(Refusal::HintNotEligible { .. } | Refusal::ProviderNotActive { .. })
    ));
}

#[test]
fn a_suspended_provider_named_by_the_hint_is_refused_as_such() {
    let r = edited(|f| {
        f.providers[2].status = "suspended".into();
        f.providers[2].status_reason = Some("incident 2026-11".into());
    });
    let mut req = request("esdc-employment-insurance", &[]);
    req.hint = Some("qc-sqin".into());
    let err = decide(&r, &req, NOW).unwrap_err();
    assert!(
        matches!(err, Refusal::ProviderNotActive { ref provider_id, .. } if provider_id == "qc-sqin"),
        "{err:?}"
    );
    req.hint = None;
    assert!(
        decide(&r, &req, NOW)
            .unwrap()
            .candidate("qc-sqin")
            .is_none()
    );
}

#[test]
fn a_provider_whose_certification_lapsed_is_not_eligible() {
    let at = datetime!(2028-01-20 0:00 UTC); // BC's certification ended on 2028-01-15
    let d = decide(&example(), &request("vpl-library-card", &[]), at).unwrap();
    assert!(d.candidate("bc-services-card").is_none());
    assert!(d.candidate("ab-account").is_some());
    // With every certification lapsed there is no certified provider at all.
    let at = datetime!(2028-07-01 0:00 UTC);
    assert_eq!(
        decide(&example(), &request("vpl-library-card", &[]), at).unwrap_err(),
        Refusal::NoCertifiedProvider
    );
}

#[test]
fn the_agreement_releasing_more_wins() {
    let r = edited(|f| {
        let mut wider = f.agreements[2].clone();
        wider.id = "isa-vpl-wider".into();
        wider.attributes.push("birthdate".into());
        wider.minimum_level = 2;
        f.agreements.push(wider);
    });
    let d = decide(
        &r,
        &request(
            "vpl-library-card",
            &[Attribute::Birthdate, Attribute::GivenName],
        ),
        NOW,
    )
    .unwrap();
    let ab = d.candidate("ab-account").unwrap();
    assert_eq!(ab.agreement_id, "isa-vpl-wider");
    assert_eq!(ab.required_level, AssuranceLevel::Two);
}

fn candidate(client: &str, provider: &str, attributes: &[Attribute]) -> Candidate {
    decide(&example(), &request(client, attributes), NOW)
        .unwrap()
        .candidate(provider)
        .unwrap()
        .clone()
}

fn assertion(provider: &str, acr: &str, claims: serde_json::Value) -> UpstreamAssertion {
    UpstreamAssertion {
        provider_id: provider.into(),
        subject: "person-1".into(),
        acr: Some(acr.into()),
        claims: claims.as_object().unwrap().clone(),
    }
}

#[test]
fn release_maps_claims_and_keeps_only_what_was_agreed() {
    let c = candidate(
        "esdc-employment-insurance",
        "qc-sqin",
        &[Attribute::GivenName, Attribute::Birthdate],
    );
    let a = assertion(
        "qc-sqin",
        "qc:sqin:modere",
        json!({"prenom": "Élise", "nom_famille": "Tremblay", "date_naissance": "1990-02-03", "lieu_naissance": "Québec", "sub": "x"}),
    );
    let rel = release(&example(), &c, &a, NOW).unwrap();
    assert_eq!(rel.level(), AssuranceLevel::Two);
    assert_eq!(
        rel.attributes().get(&Attribute::GivenName),
        Some(&json!("Élise"))
    );
    assert_eq!(
        rel.attributes().get(&Attribute::Birthdate),
        Some(&json!("1990-02-03"))
    );
    assert_eq!(rel.attributes().len(), 2);
    assert_eq!(
        rel.withheld(),
        &BTreeSet::from([Attribute::FamilyName, Attribute::PlaceOfBirth])
    );
    assert_eq!(rel.agreement_id(), "isa-esdc-ei-2025");
}

#[test]
fn release_reports_what_the_provider_did_not_supply() {
    let c = candidate(
        "esdc-employment-insurance",
        "ab-account",
        &[Attribute::GivenName, Attribute::Address],
    );
    let rel = release(
        &example(),
        &c,
        &assertion(
            "ab-account",
            "urn:ab:aca:verified",
            json!({"given_name": "A"}),
        ),
        NOW,
    )
    .unwrap();
    assert_eq!(rel.missing(), &BTreeSet::from([Attribute::Address]));
}

#[test]
fn release_refuses_a_level_below_the_required_one() {
    let c = candidate(
        "esdc-employment-insurance",
        "ab-account",
        &[Attribute::GivenName],
    );
    let err = release(
        &example(),
        &c,
        &assertion("ab-account", "urn:ab:aca:basic", json!({"given_name": "A"})),
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        err,
        Refusal::LevelNotMet {
            required: AssuranceLevel::Two,
            achieved: Some(AssuranceLevel::One)
        }
    );
    // No acr, or an acr the provider never registered, is no level at all.
    let mut a = assertion("ab-account", "urn:pctf:loa:4", json!({}));
    assert!(matches!(
        release(&example(), &c, &a, NOW),
        Err(Refusal::LevelNotMet { achieved: None, .. })
    ));
    a.acr = None;
    assert!(matches!(
        release(&example(), &c, &a, NOW),
        Err(Refusal::LevelNotMet { achieved: None, .. })
    ));
}

#[test]
fn release_caps_the_level_at_the_certification() {
    let r = edited(|f| {
        for cert in &mut f.providers[0].certifications {
            cert.level = 2;
        }
    });
    let d = decide(&r, &request("esdc-employment-insurance", &[]), NOW).unwrap();
    let c = d.candidate("ab-account").unwrap();
    let rel = release(
        &r,
        c,
        &assertion("ab-account", "urn:ab:aca:verified-mfa", json!({})),
        NOW,
    )
    .unwrap();
    assert_eq!(rel.level(), AssuranceLevel::Two);
}

#[test]
fn release_rechecks_the_registry_at_callback_time() {
    let c = candidate(
        "esdc-employment-insurance",
        "ab-account",
        &[Attribute::GivenName],
    );
    let a = assertion(
        "ab-account",
        "urn:ab:aca:verified",
        json!({"given_name": "A"}),
    );
    let suspended = edited(|f| {
        f.providers[0].status = "suspended".into();
        f.providers[0].status_reason = Some("incident".into());
    });
    assert!(matches!(
        release(&suspended, &c, &a, NOW),
        Err(Refusal::ProviderNotActive { .. })
    ));
    let terminated = edited(|f| {
        f.agreements[0].status = "terminated".into();
        f.agreements[0].status_reason = Some("ended".into());
    });
    assert!(matches!(
        release(&terminated, &c, &a, NOW),
        Err(Refusal::AgreementTerminated { .. })
    ));
    assert!(matches!(
        release(&example(), &c, &a, datetime!(2030-01-01 0:00 UTC)),
        Err(Refusal::AgreementExpired { .. } | Refusal::ProviderNotCertified { .. })
    ));
    let amended = edited(|f| f.agreements[0].version = 2);
    assert!(matches!(
        release(&amended, &c, &a, NOW),
        Err(Refusal::AgreementChanged { .. })
    ));
    let mut other = a.clone();
    other.provider_id = "qc-sqin".into();
    assert!(matches!(
        release(&example(), &c, &other, NOW),
        Err(Refusal::WrongProvider { .. })
    ));
}

#[test]
fn a_granted_release_stands_only_while_all_it_rests_on_does() {
    let basis = Basis {
        client_id: "esdc-employment-insurance",
        provider_id: "ab-account",
        agreement_id: "isa-esdc-ei-2025",
        agreement_version: 1,
        level: AssuranceLevel::Three,
    };
    assert_eq!(still_stands(&example(), &basis, NOW), Ok(()));
    let refused = |registry: &crate::Registry, at| still_stands(registry, &basis, at).unwrap_err();
    let service_suspended = edited(|f| {
        f.relying_parties[0].status = "suspended".into();
        f.relying_parties[0].status_reason = Some("incident".into());
    });
    assert!(matches!(
        refused(&service_suspended, NOW),
        Refusal::ClientNotActive { .. }
    ));
    let provider_suspended = edited(|f| {
        f.providers[0].status = "suspended".into();
        f.providers[0].status_reason = Some("key compromise reported".into());
    });
    assert!(matches!(
        refused(&provider_suspended, NOW),
        Refusal::ProviderNotActive { .. }
    ));
    // Certified below the level the release claims: its acr would overstate it.
    let lowered = edited(|f| {
        for c in &mut f.providers[0].certifications {
            c.level = 2;
        }
    });
    assert!(matches!(
        refused(&lowered, NOW),
        Refusal::ProviderNotCertified { .. }
    ));
    let amended = edited(|f| f.agreements[0].version = 2);
    assert!(matches!(
        refused(&amended, NOW),
        Refusal::AgreementChanged { .. }
    ));
    assert!(matches!(
        refused(&example(), datetime!(2031-01-01 0:00 UTC)),
        Refusal::AgreementExpired { .. } | Refusal::ProviderNotCertified { .. }
    ));
    let unknown = Basis {
        client_id: "nobody",
        ..basis
    };
    assert!(matches!(
        still_stands(&example(), &unknown, NOW),
        Err(Refusal::UnknownClient { .. })
    ));
}

#[test]
fn every_refusal_has_a_code_and_two_messages() {
    let refusals = [
        Refusal::UnknownClient {
            client_id: "x".into(),
        },
        Refusal::NoCertifiedProvider,
        Refusal::LevelNotMet {
            required: AssuranceLevel::Three,
            achieved: None,
        },
        Refusal::AgreementChanged {
            agreement_id: "a".into(),
        },
    ];
    for r in refusals {
        assert!(!r.error_code().is_empty());
        assert_ne!(r.message(crate::Lang::En), r.message(crate::Lang::Fr));
        assert!(!r.to_string().is_empty());
    }
}

/// Kinds are metric labels: distinct, snake_case, and free of what the request carried.
#[test]
fn refusal_kinds_are_distinct_and_carry_no_identifier() {
    let secretive = "client-7f3a";
    let refusals = [
        Refusal::UnknownClient {
            client_id: secretive.into(),
        },
        Refusal::ClientNotActive {
            client_id: secretive.into(),
            status: "suspended".into(),
        },
        Refusal::NoAgreement {
            client_id: secretive.into(),
        },
        Refusal::AgreementExpired {
            agreement_id: secretive.into(),
        },
        Refusal::AgreementNotYetInForce {
            agreement_id: secretive.into(),
        },
        Refusal::AgreementTerminated {
            agreement_id: secretive.into(),
        },
        Refusal::AgreementChanged {
            agreement_id: secretive.into(),
        },
        Refusal::LevelNotAttainable {
            required: AssuranceLevel::Three,
            best_available: None,
        },
        Refusal::NoCertifiedProvider,
        Refusal::ProviderNotActive {
            provider_id: secretive.into(),
            status: "revoked".into(),
        },
        Refusal::ProviderNotCertified {
            provider_id: secretive.into(),
            required: AssuranceLevel::Three,
        },
        Refusal::UnknownHint {
            hint: secretive.into(),
        },
        Refusal::HintNotEligible {
            hint: secretive.into(),
        },
        Refusal::LevelNotMet {
            required: AssuranceLevel::Three,
            achieved: None,
        },
        Refusal::WrongProvider {
            expected: secretive.into(),
            actual: "other".into(),
        },
    ];
    let kinds: std::collections::BTreeSet<&str> = refusals.iter().map(Refusal::kind).collect();
    assert_eq!(kinds.len(), refusals.len(), "{kinds:?}");
    for kind in kinds {
        assert!(
            kind.chars().all(|c| c.is_ascii_lowercase() || c == '_') && !kind.contains("7f3a"),
            "{kind}"
        );
    }
}
