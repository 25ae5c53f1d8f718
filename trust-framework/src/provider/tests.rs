use time::macros::datetime;

use crate::testing::{NOW, edited, example};
use crate::{AssuranceLevel, Attribute, Status};

#[test]
fn certified_level_is_the_weakest_routing_component() {
    let r = example();
    assert_eq!(
        r.provider("ab-account").unwrap().certified_level(NOW),
        Some(AssuranceLevel::Three)
    );
    assert_eq!(
        r.provider("bc-services-card").unwrap().certified_level(NOW),
        Some(AssuranceLevel::Two)
    );
}

#[test]
fn certified_level_is_capped_by_the_acr_map() {
    let r = edited(|f| {
        f.providers[0].acr_map.retain(|_, l| *l <= 2);
    });
    assert_eq!(
        r.provider("ab-account").unwrap().certified_level(NOW),
        Some(AssuranceLevel::Two)
    );
}

#[test]
fn expired_or_missing_certification_is_not_routable() {
    let r = example();
    let ab = r.provider("ab-account").unwrap();
    assert_eq!(ab.certified_level(datetime!(2028-04-01 0:00 UTC)), None);
    assert_eq!(ab.certified_level(datetime!(2025-03-31 23:59 UTC)), None);
    // Without a current privacy certification no level is routable.
    let r = edited(|f| {
        f.providers[0]
            .certifications
            .retain(|c| c.component != "privacy")
    });
    assert_eq!(r.provider("ab-account").unwrap().certified_level(NOW), None);
    // Without authentication certified, identity proofing alone is not enough.
    let r = edited(|f| {
        f.providers[0]
            .certifications
            .retain(|c| c.component != "authentication")
    });
    assert_eq!(r.provider("ab-account").unwrap().certified_level(NOW), None);
}

#[test]
fn only_active_providers_are_routable() {
    let r = example();
    assert!(
        r.provider("ab-account")
            .unwrap()
            .is_routable_at(AssuranceLevel::Three, NOW)
    );
    assert!(
        !r.provider("ab-account")
            .unwrap()
            .is_routable_at(AssuranceLevel::Four, NOW)
    );
    let on = r.provider("on-digital-id").unwrap();
    assert_eq!(on.status, Status::Pending);
    assert!(!on.is_routable_at(AssuranceLevel::One, NOW));
}

#[test]
fn acr_values_satisfying_a_level_weakest_first() {
    let r = example();
    let ab = r.provider("ab-account").unwrap();
    assert_eq!(
        ab.acr_values_for(AssuranceLevel::Two),
        vec!["urn:ab:aca:verified", "urn:ab:aca:verified-mfa"]
    );
    assert_eq!(
        ab.acr_values_for(AssuranceLevel::Three),
        vec!["urn:ab:aca:verified-mfa"]
    );
    assert!(ab.acr_values_for(AssuranceLevel::Four).is_empty());
    assert_eq!(
        ab.level_of_acr("urn:ab:aca:basic"),
        Some(AssuranceLevel::One)
    );
    assert_eq!(ab.level_of_acr("urn:pctf:loa:4"), None);
}

#[test]
fn claims_map_to_attributes() {
    let r = example();
    let qc = r.provider("qc-sqin").unwrap();
    assert_eq!(qc.attribute_of_claim("prenom"), Some(Attribute::GivenName));
    // A remapped attribute is not also read from its standard claim name.
    assert_eq!(qc.attribute_of_claim("given_name"), None);
    assert_eq!(qc.attribute_of_claim("address"), Some(Attribute::Address));
    // A standard claim for an attribute the provider does not attest is ignored.
    assert_eq!(qc.attribute_of_claim("email"), None);
    assert_eq!(
        qc.claim_of_attribute(Attribute::Birthdate),
        "date_naissance"
    );
    assert_eq!(qc.claim_of_attribute(Attribute::Address), "address");
}
