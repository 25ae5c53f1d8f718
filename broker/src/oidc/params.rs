//! Request parameters as OAuth requires them: each at most once (RFC 6749 section 3.1).

use std::collections::HashMap;

/// The most parameters one request may carry.
pub const MAX_PARAMS: usize = 48;
/// The longest parameter name.
pub const MAX_NAME: usize = 64;

/// The longest value of a parameter: short for values the broker keeps and echoes, longer
/// for the `claims` request and for JWTs.
pub fn max_value(name: &str) -> usize {
    match name {
        "state" | "nonce" => 512,
        "login_hint" | "idp_hint" | "ui_locales" | "acr_values" | "lang" => 256,
        "client_id" | "redirect_uri" | "scope" => 1024,
        "claims" | "client_assertion" | "request_uri" => 8 * 1024,
        _ => 2048,
    }
}

#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Builds from decoded pairs, refusing any repeated parameter and any request beyond the
    /// size limits below: no legitimate request comes near them, and each value may end up in
    /// the store, a log line or a page.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Result<Self, String> {
        if pairs.len() > MAX_PARAMS {
            return Err(format!("more than {MAX_PARAMS} parameters"));
        }
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if k.len() > MAX_NAME {
                return Err(format!("a parameter name is longer than {MAX_NAME} bytes"));
            }
            let max = max_value(&k);
            if v.len() > max {
                return Err(format!("the parameter {k} is longer than {max} bytes"));
            }
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

/// The S256 challenge of a verifier (RFC 7636 section 4.2): the base64url of its SHA-256.
pub fn s256_challenge(verifier: &str) -> String {
    crate::http::browser::hash(verifier)
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
    fn oversized_requests_are_refused() {
        let many: Vec<(String, String)> = (0..=MAX_PARAMS)
            .map(|i| (format!("p{i}"), "v".into()))
            .collect();
        assert!(Params::from_pairs(many).unwrap_err().contains("parameters"));
        let long_state = vec![("state".to_owned(), "s".repeat(513))];
        assert!(
            Params::from_pairs(long_state)
                .unwrap_err()
                .contains("state")
        );
        let ok_state = vec![("state".to_owned(), "s".repeat(512))];
        assert!(Params::from_pairs(ok_state).is_ok());
        let long_name = vec![("n".repeat(65), "v".to_owned())];
        assert!(Params::from_pairs(long_name).is_err());
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
