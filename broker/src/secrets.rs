//! Reading secrets from where the registry says they are. A `Secret` never prints.

use std::collections::HashMap;
use std::fmt;

use subtle::ConstantTimeEq;
use trust_framework::SecretRef;

/// Wiped from memory when dropped (`zeroize`), so a secret does not outlive its use in freed
/// heap pages.
#[derive(Clone)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(zeroize::Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison, so the time taken reveals nothing about the secret.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0.as_bytes().ct_eq(candidate.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error("secret {0} is not set")]
    NotSet(String),
    #[error("secret {0} cannot be read: {1}")]
    Unreadable(String, std::io::Error),
    #[error("secret {0} is empty")]
    Empty(String),
    #[error("secret {0} is stored as a hash and cannot be read back")]
    Hashed(String),
}

/// Resolves secret references: the environment and files, with an in-process overlay that only
/// `demo` uses (it generates its secrets and must not put them into the environment).
#[derive(Clone, Default)]
pub struct SecretResolver {
    overlay: HashMap<String, Secret>,
}

impl fmt::Debug for SecretResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretResolver")
            .field("overlay", &self.overlay.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The form a hashed secret takes in the registry (`{ sha256 = "..." }`): the lowercase hex
/// SHA-256 of its bytes. Dynamic registration stores it; [`SecretResolver::verify`] compares
/// with it.
pub fn sha256_hex(secret: &str) -> String {
    crate::crypto::sha256(secret.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl SecretResolver {
    pub fn with_overlay(overlay: HashMap<String, Secret>) -> Self {
        Self { overlay }
    }

    /// Whether `candidate` is the secret, in constant time, whether the reference holds the
    /// secret itself or only its SHA-256.
    pub fn verify(&self, reference: &SecretRef, candidate: &str) -> Result<bool, SecretError> {
        match reference {
            SecretRef::Sha256(hex) => Ok(sha256_hex(candidate)
                .as_bytes()
                .ct_eq(hex.to_ascii_lowercase().as_bytes())
                .into()),
            other => Ok(self.resolve(other)?.matches(candidate)),
        }
    }

    pub fn resolve(&self, reference: &SecretRef) -> Result<Secret, SecretError> {
        let shown = reference.to_string();
        let value = match reference {
            SecretRef::Env(name) => match self.overlay.get(name) {
                Some(s) => return Ok(s.clone()),
                None => std::env::var(name).map_err(|_| SecretError::NotSet(shown.clone()))?,
            },
            SecretRef::Sha256(_) => return Err(SecretError::Hashed(shown)),
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|e| SecretError::Unreadable(shown.clone(), e))?,
        };
        let value = zeroize::Zeroizing::new(value);
        let trimmed = value.trim_end();
        if trimmed.is_empty() {
            return Err(SecretError::Empty(shown));
        }
        Ok(Secret::new(trimmed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let r = SecretResolver::with_overlay(HashMap::from([("X".into(), s)]));
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn resolves_overlay_and_files() {
        let r = SecretResolver::with_overlay(HashMap::from([("DEMO_X".into(), Secret::new("v"))]));
        assert!(
            r.resolve(&SecretRef::Env("DEMO_X".into()))
                .unwrap()
                .matches("v")
        );
        assert!(matches!(
            r.resolve(&SecretRef::Env("BROKER_SURELY_UNSET_42".into())),
            Err(SecretError::NotSet(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "s3cret\n").unwrap();
        assert!(
            r.resolve(&SecretRef::File(path.clone()))
                .unwrap()
                .matches("s3cret")
        );
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            r.resolve(&SecretRef::File(path)),
            Err(SecretError::Empty(_))
        ));
    }

    #[test]
    fn hashed_secrets_verify_but_never_resolve() {
        let r = SecretResolver::default();
        // sha256("s3cret")
        let h = SecretRef::Sha256(
            "6b8b5fda3a7e5d1a16d2d3c7c4d4aa5e0e6ab71c6c1b3c23d1b28f57f9b3d8de".into(),
        );
        assert!(matches!(r.resolve(&h), Err(SecretError::Hashed(_))));
        let h = SecretRef::Sha256(sha256_hex("s3cret"));
        assert!(r.verify(&h, "s3cret").unwrap());
        assert!(!r.verify(&h, "s3cret ").unwrap());
        assert_eq!(format!("{h:?}"), "sha256:***");
    }

    #[test]
    fn comparison_is_exact() {
        let s = Secret::new("abc");
        assert!(s.matches("abc"));
        assert!(!s.matches("abcd"));
        assert!(!s.matches("ab"));
        assert!(!s.matches(""));
    }
}
