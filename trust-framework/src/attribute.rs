//! The canonical identity attributes a provider may attest. Upstream claim names vary by
//! provider and are mapped onto these; relying parties only ever see these names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::Lang;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Attribute {
    GivenName,
    FamilyName,
    MiddleName,
    Birthdate,
    Gender,
    PlaceOfBirth,
    Address,
    Email,
    PhoneNumber,
    PreferredLanguage,
}

impl Attribute {
    pub const ALL: [Attribute; 10] = [
        Self::GivenName,
        Self::FamilyName,
        Self::MiddleName,
        Self::Birthdate,
        Self::Gender,
        Self::PlaceOfBirth,
        Self::Address,
        Self::Email,
        Self::PhoneNumber,
        Self::PreferredLanguage,
    ];

    /// The OpenID Connect claim name (Core 5.1, and OIDC4IDA for `place_of_birth`).
    pub fn claim(self) -> &'static str {
        match self {
            Self::GivenName => "given_name",
            Self::FamilyName => "family_name",
            Self::MiddleName => "middle_name",
            Self::Birthdate => "birthdate",
            Self::Gender => "gender",
            Self::PlaceOfBirth => "place_of_birth",
            Self::Address => "address",
            Self::Email => "email",
            Self::PhoneNumber => "phone_number",
            Self::PreferredLanguage => "locale",
        }
    }

    /// The name used in registry files, agreements and audit events.
    pub fn name(self) -> &'static str {
        match self {
            Self::PreferredLanguage => "preferred_language",
            other => other.claim(),
        }
    }

    pub fn from_claim(claim: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.claim() == claim)
    }

    /// Label shown to the person on the consent page.
    pub fn label(self, lang: Lang) -> &'static str {
        let (en, fr) = match self {
            Self::GivenName => ("Given name", "Prénom"),
            Self::FamilyName => ("Family name", "Nom de famille"),
            Self::MiddleName => ("Middle name", "Second prénom"),
            Self::Birthdate => ("Date of birth", "Date de naissance"),
            Self::Gender => ("Gender", "Genre"),
            Self::PlaceOfBirth => ("Place of birth", "Lieu de naissance"),
            Self::Address => ("Address", "Adresse"),
            Self::Email => ("Email address", "Adresse courriel"),
            Self::PhoneNumber => ("Telephone number", "Numéro de téléphone"),
            Self::PreferredLanguage => ("Preferred language", "Langue de préférence"),
        };
        match lang {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }

    /// The attributes an OpenID Connect scope stands for (Core 5.4); `openid` stands for none.
    pub fn for_scope(scope: &str) -> &'static [Attribute] {
        match scope {
            "profile" => &[
                Self::GivenName,
                Self::FamilyName,
                Self::MiddleName,
                Self::Birthdate,
                Self::Gender,
                Self::PreferredLanguage,
            ],
            "address" => &[Self::Address],
            "email" => &[Self::Email],
            "phone" => &[Self::PhoneNumber],
            _ => &[],
        }
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a known attribute")]
pub struct UnknownAttribute(pub String);

impl FromStr for Attribute {
    type Err = UnknownAttribute;
    /// Accepts the registry name or the claim name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s || a.claim() == s)
            .ok_or_else(|| UnknownAttribute(s.to_owned()))
    }
}

impl Serialize for Attribute {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_claims_round_trip() {
        for a in Attribute::ALL {
            assert_eq!(a.name().parse(), Ok(a));
            assert_eq!(Attribute::from_claim(a.claim()), Some(a));
            assert_ne!(a.label(Lang::En), "");
            assert_ne!(a.label(Lang::Fr), "");
        }
        assert_eq!(Attribute::PreferredLanguage.claim(), "locale");
        assert_eq!(
            "sin".parse::<Attribute>(),
            Err(UnknownAttribute("sin".into()))
        );
    }

    #[test]
    fn scopes_expand() {
        assert!(Attribute::for_scope("profile").contains(&Attribute::Birthdate));
        assert_eq!(Attribute::for_scope("email"), &[Attribute::Email]);
        assert!(Attribute::for_scope("openid").is_empty());
    }
}
