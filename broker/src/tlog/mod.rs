//! The tamper-evident log's public side and its signing (docs/audit-log.md).
//!
//! The records are the log's leaves (`crate::records::log`); here the tree's growth is signed
//! as C2SP checkpoints by a log key of its own ([`checkpointer`]), and served without
//! authentication as the checkpoint and C2SP tlog-tiles, hashes only ([`public`]). Witnesses
//! co-sign checkpoints and send their cosignatures back; the broker keeps those of the
//! witnesses it is configured to know. Auditors get proofs and the records themselves through
//! the admin API (`crate::admin::log`).

pub mod checkpointer;
pub mod public;

use std::path::{Path, PathBuf};

use transparency::note::{Signer, Verifier};

use crate::config::LogConfig;

/// The log could not be set up: it stops the start.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("the log key {path} cannot be used: {reason}")]
    Key { path: String, reason: String },
    #[error("the witness key {key:?} cannot be used: {reason}")]
    Witness { key: String, reason: String },
    #[error(
        "the log's origin {0:?} is not usable: it must be a non-empty line without spaces or '+'"
    )]
    Origin(String),
}

/// Who signs the checkpoints, under which origin, and which witnesses' cosignatures are kept.
#[derive(Debug)]
pub struct LogSigning {
    origin: String,
    keys: Keys,
    witnesses: Vec<Verifier>,
}

#[derive(Debug)]
enum Keys {
    /// The key file, with its next key beside it (`log.next.pem`), read at each signing so that
    /// a rotation by `broker keys rotate` is followed without a restart.
    File(PathBuf),
    /// Keys made for this process (the demo): their PKCS#8 documents.
    Memory(Vec<zeroize::Zeroizing<Vec<u8>>>),
}

/// The origin a log takes when none is configured: the issuer without its scheme, then `/log`.
pub fn default_origin(issuer: &str) -> String {
    let bare = issuer
        .split_once("://")
        .map_or(issuer, |(_, rest)| rest)
        .trim_end_matches('/');
    format!("{bare}/log")
}

impl LogSigning {
    /// From the configuration: the key must load now (and its next key, if there is one), and
    /// every witness key must parse as a cosignature key.
    pub fn from_config(config: &LogConfig, issuer: &str) -> Result<Self, LogError> {
        let origin = config
            .origin
            .clone()
            .unwrap_or_else(|| default_origin(issuer));
        let signing = Self {
            keys: Keys::File(config.key.clone()),
            witnesses: witnesses(&config.witnesses)?,
            origin,
        };
        signing.check_origin()?;
        signing.signers()?;
        Ok(signing)
    }

    /// With keys made now, for this process only (the demo).
    pub fn in_memory(issuer: &str, witness_keys: &[String]) -> Result<Self, LogError> {
        let origin = default_origin(issuer);
        let generated = |which: &str| {
            crate::keys::generate_ed25519_pkcs8().map_err(|reason| LogError::Key {
                path: format!("({which}, in memory)"),
                reason,
            })
        };
        let keys = vec![generated("signing")?, generated("next")?];
        let signing = Self {
            keys: Keys::Memory(keys),
            witnesses: witnesses(witness_keys)?,
            origin,
        };
        signing.check_origin()?;
        Ok(signing)
    }

    fn check_origin(&self) -> Result<(), LogError> {
        let ok = !self.origin.is_empty()
            && !self
                .origin
                .chars()
                .any(|c| c.is_whitespace() || c == '+' || c.is_control());
        if ok {
            Ok(())
        } else {
            Err(LogError::Origin(self.origin.clone()))
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn witnesses(&self) -> &[Verifier] {
        &self.witnesses
    }

    /// The keys that sign a checkpoint: the signing key, and the next key when there is one,
    /// so that a verifier who already trusts the next key is not left behind by a rotation.
    pub fn signers(&self) -> Result<Vec<Signer>, LogError> {
        match &self.keys {
            Keys::Memory(keys) => keys
                .iter()
                .map(|der| {
                    Signer::from_pkcs8(&self.origin, der).map_err(|e| LogError::Key {
                        path: "(in memory)".into(),
                        reason: e.to_string(),
                    })
                })
                .collect(),
            Keys::File(path) => {
                let mut signers = vec![load(&self.origin, path)?];
                let next = crate::keys::rotation::next_path(path);
                if next.exists() {
                    signers.push(load(&self.origin, &next)?);
                }
                Ok(signers)
            }
        }
    }

    /// The verifier keys (C2SP vkeys) of [`LogSigning::signers`], for auditors and witnesses.
    pub fn vkeys(&self) -> Result<Vec<String>, LogError> {
        Ok(self.signers()?.iter().map(Signer::vkey).collect())
    }
}

fn witnesses(keys: &[String]) -> Result<Vec<Verifier>, LogError> {
    keys.iter()
        .map(|key| {
            let verifier = Verifier::parse(key).map_err(|e| LogError::Witness {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            if !verifier.is_cosignature_key() {
                return Err(LogError::Witness {
                    key: key.clone(),
                    reason: "not an Ed25519 cosignature key (type 0x04)".into(),
                });
            }
            Ok(verifier)
        })
        .collect()
}

/// An Ed25519 private key in a PKCS#8 PEM file, as `broker generate-keys` writes it.
fn load(origin: &str, path: &Path) -> Result<Signer, LogError> {
    let failed = |reason: String| LogError::Key {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| failed(e.to_string()))?;
    let der = crate::keys::ed25519_pkcs8(&pem).map_err(failed)?;
    Signer::from_pkcs8(origin, &der).map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::default_origin;

    #[test]
    fn the_default_origin_is_the_issuer_without_its_scheme() {
        assert_eq!(
            default_origin("https://broker.example.gc.ca"),
            "broker.example.gc.ca/log"
        );
        assert_eq!(
            default_origin("http://127.0.0.1:8400/"),
            "127.0.0.1:8400/log"
        );
    }
}
