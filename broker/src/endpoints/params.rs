//! Request parameters as OAuth requires them: each at most once (RFC 6749 section 3.1).

use std::collections::HashMap;

#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Builds from decoded pairs, refusing any repeated parameter.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, String> {
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.contains_key(&k) {
                return Err(format!("the parameter {k} is repeated"));
            }
            map.insert(k, v);
        }
        Ok(Self(map))
    }

    /// A present, non-empty value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// RFC 7636 section 4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn is_pkce_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// An S256 challenge is the base64url of a SHA-256: exactly 43 characters.
pub fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused() {
        let p = Params::from_pairs(vec![("a".into(), "1".into()), ("a".into(), "2".into())]);
        assert!(p.is_err());
        let p = Params::from_pairs(vec![("a".into(), "".into())]).unwrap();
        assert!(p.has("a") && p.get("a").is_none());
    }

    #[test]
    fn pkce_shapes() {
        assert!(is_pkce_verifier(&"a".repeat(43)));
        assert!(!is_pkce_verifier(&"a".repeat(42)));
        assert!(!is_pkce_verifier(&"a".repeat(129)));
        assert!(!is_pkce_verifier(&format!("{}+", "a".repeat(43))));
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge("plain-challenge"));
    }
}
