//! References to secrets. The registry names where a secret lives, never the secret itself,
//! so a registry file can be published, reviewed and audited without leaking credentials.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretRef {
    /// The name of an environment variable holding the secret.
    Env(String),
    /// A file holding the secret (trailing whitespace is trimmed by the reader).
    File(PathBuf),
    /// Only the SHA-256 (hex) of a high-entropy secret the broker generated and handed out once
    /// (dynamic registration): the broker can check it but never reveal it.
    Sha256(String),
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "env:{name}"),
            Self::File(path) => write!(f, "file:{}", path.display()),
            Self::Sha256(_) => f.write_str("sha256:***"),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
