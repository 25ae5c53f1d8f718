//! The fourteen Canadian jurisdictions that can be authoritative for a person's identity:
//! provinces and territories (persons born in Canada) and the federal government (persons born abroad).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::Lang;

/// An ISO 3166-2:CA subdivision, or `CA` for the federal government.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Jurisdiction {
    Ab,
    Bc,
    Mb,
    Nb,
    Nl,
    Ns,
    Nt,
    Nu,
    On,
    Pe,
    Qc,
    Sk,
    Yt,
    /// Last in order: the federal provider serves persons born abroad, after the provinces.
    Federal,
}

impl Jurisdiction {
    pub const ALL: [Jurisdiction; 14] = [
        Self::Ab,
        Self::Bc,
        Self::Mb,
        Self::Nb,
        Self::Nl,
        Self::Ns,
        Self::Nt,
        Self::Nu,
        Self::On,
        Self::Pe,
        Self::Qc,
        Self::Sk,
        Self::Yt,
        Self::Federal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Federal => "CA",
            Self::Ab => "CA-AB",
            Self::Bc => "CA-BC",
            Self::Mb => "CA-MB",
            Self::Nb => "CA-NB",
            Self::Nl => "CA-NL",
            Self::Ns => "CA-NS",
            Self::Nt => "CA-NT",
            Self::Nu => "CA-NU",
            Self::On => "CA-ON",
            Self::Pe => "CA-PE",
            Self::Qc => "CA-QC",
            Self::Sk => "CA-SK",
            Self::Yt => "CA-YT",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        let (en, fr) = match self {
            Self::Federal => ("Government of Canada", "Gouvernement du Canada"),
            Self::Ab => ("Alberta", "Alberta"),
            Self::Bc => ("British Columbia", "Colombie-Britannique"),
            Self::Mb => ("Manitoba", "Manitoba"),
            Self::Nb => ("New Brunswick", "Nouveau-Brunswick"),
            Self::Nl => ("Newfoundland and Labrador", "Terre-Neuve-et-Labrador"),
            Self::Ns => ("Nova Scotia", "Nouvelle-Écosse"),
            Self::Nt => ("Northwest Territories", "Territoires du Nord-Ouest"),
            Self::Nu => ("Nunavut", "Nunavut"),
            Self::On => ("Ontario", "Ontario"),
            Self::Pe => ("Prince Edward Island", "Île-du-Prince-Édouard"),
            Self::Qc => ("Quebec", "Québec"),
            Self::Sk => ("Saskatchewan", "Saskatchewan"),
            Self::Yt => ("Yukon", "Yukon"),
        };
        match lang {
            Lang::En => en,
            Lang::Fr => fr,
        }
    }

    pub fn is_federal(self) -> bool {
        self == Self::Federal
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a Canadian jurisdiction code (CA or CA-XX from ISO 3166-2:CA)")]
pub struct UnknownJurisdiction(pub String);

impl FromStr for Jurisdiction {
    type Err = UnknownJurisdiction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|j| j.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownJurisdiction(s.to_owned()))
    }
}

impl Serialize for Jurisdiction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Jurisdiction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_fourteen_round_trip() {
        assert_eq!(Jurisdiction::ALL.len(), 14);
        for j in Jurisdiction::ALL {
            assert_eq!(j.code().parse(), Ok(j));
            assert!(!j.name(Lang::En).is_empty());
            assert!(!j.name(Lang::Fr).is_empty());
        }
        assert_eq!("ca-qc".parse(), Ok(Jurisdiction::Qc));
        assert!("CA-XX".parse::<Jurisdiction>().is_err());
        assert!("US-NY".parse::<Jurisdiction>().is_err());
        assert_eq!(Jurisdiction::Bc.name(Lang::Fr), "Colombie-Britannique");
    }
}
