//! Witness cosignatures ([c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature),
//! the Ed25519 type): a witness that has checked a checkpoint is consistent with what it saw
//! before adds a signature line to the checkpoint note. A reader who sees the same checkpoint
//! cosigned by witnesses it trusts knows the log did not show it a private view.
//!
//! The line is an ordinary note signature line whose key ID uses type byte 0x04 and whose payload
//! is a big-endian u64 timestamp followed by an Ed25519 signature of
//! `cosignature/v1\ntime <timestamp>\n` and the checkpoint body. The timestamp is an argument:
//! this crate reads no clock.

use crate::checkpoint::Checkpoint;
use crate::note::{KeyType, NoteError, Signature, Signer, Verifier};

/// Why a cosignature was not made or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CosignatureError {
    /// The line is not a signature line, a key is of the wrong type, or the signature does not
    /// verify ([`NoteError::Forged`]).
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The line is by another key (its name or key ID differs from the verifier's).
    #[error("cosignature is by {name} (key ID {key_id:08x}), not by the given witness")]
    OtherKey {
        /// The key name on the line.
        name: String,
        /// The key ID on the line.
        key_id: u32,
    },
    /// The timestamp is above 2^63 - 1, which the spec forbids.
    #[error("cosignature timestamp {0} is above 2^63 - 1")]
    TimestampOutOfRange(u64),
}

/// The message an Ed25519 cosignature signs: the two header lines, then the checkpoint body
/// (the note text, with its final newline).
pub fn signed_message(timestamp: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{body}").into_bytes()
}

/// The witness's cosignature line for `checkpoint` at `timestamp` (Unix seconds), with its
/// newline, to append to the checkpoint note. The witness must be a cosignature (0x04) key.
pub fn cosign(
    checkpoint: &Checkpoint,
    witness: &Signer,
    timestamp: u64,
) -> Result<String, CosignatureError> {
    witness.require(KeyType::Cosignature)?;
    if timestamp > i64::MAX as u64 {
        return Err(CosignatureError::TimestampOutOfRange(timestamp));
    }
    let signature = witness.sign_bytes(&signed_message(timestamp, &checkpoint.body()))?;
    let mut payload = Vec::with_capacity(8 + signature.len());
    payload.extend_from_slice(&timestamp.to_be_bytes());
    payload.extend_from_slice(&signature);
    Ok(Signature::new(witness.name(), witness.key_id(), payload).to_line())
}

/// Verifies a cosignature (a signature line of a parsed note) over the checkpoint `body` (the
/// note text) by the witness `verifier`, which must be a cosignature (0x04) key. Returns the
/// cosignature's timestamp; whether it is too far in the future is the caller's policy.
pub fn verify(
    signature: &Signature,
    body: &str,
    verifier: &Verifier,
) -> Result<u64, CosignatureError> {
    verifier.require(KeyType::Cosignature)?;
    if signature.name() != verifier.name() || signature.key_id() != verifier.key_id() {
        return Err(CosignatureError::OtherKey {
            name: signature.name().to_owned(),
            key_id: signature.key_id(),
        });
    }
    let timestamp = verifier
        .verify_payload(body, signature.payload())?
        .ok_or(NoteError::Crypto)?;
    Ok(timestamp)
}

/// [`verify`] for one cosignature line as text, with or without its newline.
pub fn verify_line(line: &str, body: &str, verifier: &Verifier) -> Result<u64, CosignatureError> {
    let signature = Signature::parse_line(line.strip_suffix('\n').unwrap_or(line))?;
    verify(&signature, body, verifier)
}

#[cfg(test)]
mod tests;
