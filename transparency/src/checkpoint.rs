//! Checkpoints ([c2sp.org/tlog-checkpoint](https://c2sp.org/tlog-checkpoint)): the log's signed
//! tree head, a signed note whose text is `<origin>\n<tree size>\n<base64 root hash>\n`.
//!
//! The broker signs each checkpoint with its log key, and during a key rotation with the current
//! and the next key, so that readers holding either accept it. A reader opens a checkpoint only
//! through [`open`], which verifies before it parses: the text of an unverified note means
//! nothing.
//!
//! This log writes no extension lines, and [`Checkpoint::parse`] refuses them: the body a reader
//! holds is then exactly [`Checkpoint::body`], and nothing signed is dropped on the way.

use std::fmt;

use tlog_tiles::Hash;

use crate::note::{self, KeyType, Note, NoteError, Signer, Verifier};

/// Why a checkpoint was not made or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note is malformed, forged, or not signed by a given key.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note text is not a checkpoint body; the text says why.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
}

/// A tree head: the log's identity, its size and its RFC 6962 root hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The log's origin line, e.g. `broker.example.ca/audit`.
    pub origin: String,
    /// The number of leaves.
    pub size: u64,
    /// The Merkle tree hash of the first `size` leaves.
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: origin, size and base64 root hash, each ending in a newline.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, self.root)
    }

    /// Parses a checkpoint body strictly: a non-empty origin, a decimal size without leading
    /// zeroes, a canonical base64 hash of 32 bytes, and no extension lines.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let rest = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("does not end with a newline"))?;
        let lines: Vec<&str> = rest.split('\n').collect();
        let [origin, size, root] = lines[..] else {
            return Err(CheckpointError::Malformed(if lines.len() > 3 {
                "extension lines are not used by this log"
            } else {
                "expected origin, tree size and root hash lines"
            }));
        };
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("empty origin"));
        }
        if origin.chars().any(|c| c < ' ') {
            return Err(CheckpointError::Malformed(
                "control character in the origin",
            ));
        }
        let canonical_size = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        if !canonical_size {
            return Err(CheckpointError::Malformed(
                "tree size is not a decimal number without leading zeroes",
            ));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| CheckpointError::Malformed("tree size is out of range"))?;
        let root_hash = Hash::parse_hash(root)
            .map_err(|_| CheckpointError::Malformed("root hash is not base64 of 32 bytes"))?;
        if root_hash.to_string() != root {
            return Err(CheckpointError::Malformed(
                "root hash is not canonical base64",
            ));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root: root_hash,
        })
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.body())
    }
}

/// The whole signed checkpoint note, signed by each plain (0x01) log key in order. The body is
/// parsed back before signing, so a malformed origin is refused rather than signed.
pub fn sign(checkpoint: &Checkpoint, signers: &[&Signer]) -> Result<String, CheckpointError> {
    let body = checkpoint.body();
    if Checkpoint::parse(&body)? != *checkpoint {
        return Err(CheckpointError::Malformed(
            "the origin does not survive a round trip",
        ));
    }
    Ok(note::sign(&body, signers)?)
}

/// Opens a signed checkpoint: at least one signature by the given log keys (plain, 0x01) must
/// verify and none by them may be forged; then the text is parsed. Returns the checkpoint and
/// the note, whose other signatures (cosignatures among them) the caller may check.
pub fn open(text: &str, log_keys: &[Verifier]) -> Result<(Checkpoint, Note), CheckpointError> {
    for key in log_keys {
        key.require(KeyType::Ed25519)?;
    }
    let note = Note::parse(text)?;
    note.verify(log_keys)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    Ok((checkpoint, note))
}

#[cfg(test)]
mod tests;
