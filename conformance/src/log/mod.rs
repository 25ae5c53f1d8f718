//! The broker's tamper-evident log, checked from outside (docs/audit-log.md).
//!
//! - [`verify`]: the auditor's check. The checkpoint's signature by the log key; every hash tile
//!   the checkpoint covers, each of its length, the leaves hashing to the signed root and every
//!   upper tile entry to the 256 hashes below it; then, with an auditor's token, the records
//!   themselves (the admin API's export) against the leaves, which names the first record
//!   edited, removed, inserted or reordered.
//! - [`proof`]: one record's inclusion proof bundle, as a person downloads it, checked offline:
//!   the record hashes to its leaf, the path leads to the root, the checkpoint is signed by the
//!   log and cosigned by the witnesses given.
//! - [`witness`]: a witness's round. The new checkpoint must extend the last one this witness
//!   saw (a consistency proof it computes itself from the public tiles); only then is it
//!   cosigned, handed to the broker and remembered.
//!
//! Everything here is computed from what the log serves and the keys the caller trusts: the
//! tree math and the formats are the `transparency` crate's, the same the broker runs.

mod fetch;
pub mod proof;
mod tiles;
pub mod verify;
pub mod witness;

#[cfg(test)]
mod tests;

use transparency::note::{KeyType, Verifier};

pub use proof::{ProofArgs, verify_proof};
pub use verify::{VerifyArgs, verify};
pub use witness::{WitnessArgs, new_key, witness};

/// Why a log command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A check failed: the log is not what its checkpoint says, or not what this witness saw
    /// before. Exit code 1.
    #[error("{0}")]
    Failed(String),
    /// The command could not run: an argument, a file, the network, a refused token. Exit
    /// code 2.
    #[error("{0}")]
    CannotRun(String),
}

impl LogError {
    /// The process's exit code: 1 for a failed check, 2 when the check could not run.
    pub fn exit_code(&self) -> u8 {
        match self {
            LogError::Failed(_) => 1,
            LogError::CannotRun(_) => 2,
        }
    }
}

pub(crate) fn failed(text: impl Into<String>) -> LogError {
    LogError::Failed(text.into())
}

pub(crate) fn cannot_run(text: impl Into<String>) -> LogError {
    LogError::CannotRun(text.into())
}

/// The log's verifier keys as given on the command line: C2SP vkeys of plain Ed25519 (0x01)
/// keys, as `GET /log/key` lists them.
pub fn log_keys(vkeys: &[String]) -> Result<Vec<Verifier>, LogError> {
    if vkeys.is_empty() {
        return Err(cannot_run("at least one --log-key is needed"));
    }
    vkeys
        .iter()
        .map(|vkey| {
            let key = Verifier::parse(vkey.trim())
                .map_err(|e| cannot_run(format!("--log-key {vkey:?}: {e}")))?;
            if key.kind() != KeyType::Ed25519 {
                return Err(cannot_run(format!(
                    "--log-key {vkey:?} is a {} key; a log signs with a plain Ed25519 (0x01) key",
                    key.kind()
                )));
            }
            Ok(key)
        })
        .collect()
}
