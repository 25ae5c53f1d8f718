//! Levels of assurance, as in the PCTF and the Treasury Board Standard on Identity and
//! Credential Assurance. The `Ord` derive is load-bearing: "at least level 3" is `>=`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 1 little confidence, 2 some, 3 high, 4 very high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssuranceLevel {
    One = 1,
    Two = 2,
    Three = 3,
    Four = 4,
}

/// The prefix of this project's acr identifiers; providers' own acr values are mapped to them.
pub const ACR_PREFIX: &str = "urn:pctf:loa:";

impl AssuranceLevel {
    pub const ALL: [AssuranceLevel; 4] = [Self::One, Self::Two, Self::Three, Self::Four];

    pub fn from_number(n: i64) -> Option<Self> {
        match n {
            1 => Some(Self::One),
            2 => Some(Self::Two),
            3 => Some(Self::Three),
            4 => Some(Self::Four),
            _ => None,
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn acr(self) -> &'static str {
        match self {
            Self::One => "urn:pctf:loa:1",
            Self::Two => "urn:pctf:loa:2",
            Self::Three => "urn:pctf:loa:3",
            Self::Four => "urn:pctf:loa:4",
        }
    }

    /// Parses one of this project's acr URIs; anything else (including a provider's own
    /// values) is `None` so that it can never be mistaken for a PCTF level.
    pub fn from_acr(acr: &str) -> Option<Self> {
        let n = acr.strip_prefix(ACR_PREFIX)?;
        if n.len() != 1 {
            return None;
        }
        Self::from_number(n.parse().ok()?)
    }
}

impl fmt::Display for AssuranceLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a level of assurance (1 to 4)")]
pub struct InvalidLevel(pub String);

impl FromStr for AssuranceLevel {
    type Err = InvalidLevel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse::<i64>()
            .ok()
            .and_then(Self::from_number)
            .or_else(|| Self::from_acr(s))
            .ok_or_else(|| InvalidLevel(s.to_owned()))
    }
}

impl Serialize for AssuranceLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

impl<'de> Deserialize<'de> for AssuranceLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        Self::from_number(n).ok_or_else(|| {
            serde::de::Error::custom(format!("{n} is not a level of assurance (1 to 4)"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered() {
        assert!(AssuranceLevel::One < AssuranceLevel::Two);
        assert!(AssuranceLevel::Three < AssuranceLevel::Four);
        assert_eq!(
            AssuranceLevel::ALL.iter().max(),
            Some(&AssuranceLevel::Four)
        );
    }

    #[test]
    fn acr_round_trips() {
        for level in AssuranceLevel::ALL {
            assert_eq!(AssuranceLevel::from_acr(level.acr()), Some(level));
        }
        assert_eq!(AssuranceLevel::from_acr("urn:pctf:loa:5"), None);
        assert_eq!(AssuranceLevel::from_acr("urn:pctf:loa:22"), None);
        assert_eq!(AssuranceLevel::from_acr("urn:ab:loa:2"), None);
        assert_eq!("urn:pctf:loa:3".parse(), Ok(AssuranceLevel::Three));
        assert_eq!("2".parse(), Ok(AssuranceLevel::Two));
        assert!("0".parse::<AssuranceLevel>().is_err());
    }
}
