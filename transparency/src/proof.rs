//! A person's proof that one record of theirs is in the log, checked offline.
//!
//! The broker hands a person, for each disclosure of their identity, an *inclusion proof
//! bundle*: the record as the admin export gives it, its leaf position, the RFC 6962 audit path
//! to the root of a tree, and the signed checkpoint of that tree as the log served it, with the
//! witnesses' cosignatures. Everything needed is in the file, so that the person (or anyone they
//! give it to) can check it years later without trusting the broker or reaching it: only the
//! log's and the witnesses' verifier keys come from elsewhere.
//!
//! [`verify_bundle`] checks, in this order, that the record hashes to the bundle's leaf hash
//! (as [`crate::compare`] hashes an exported record, without the database's row numbers), that
//! the path leads from that leaf at its position to the bundle's root, that the checkpoint is
//! signed by a log key and names the same origin, size and root, and that the witnesses given
//! cosigned it. The first thing that does not hold is the error.
//!
//! **Witness policy.** Every witness key given must have a valid cosignature on the checkpoint:
//! a person names the witnesses they rely on, and one of them missing is not "witnessed" in the
//! sense they asked for. A bundle that says `witnessed: false` (the checkpoint was signed
//! after the newest one any witness cosigned) is not held to that: it verifies as "signed by the
//! log, not yet witnessed" ([`Witnessing::NotYetWitnessed`]). A cosignature by a given witness
//! that does not verify fails in every case, as a forged signature by a known key does in a
//! signed note.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tlog_tiles::Hash;

use crate::checkpoint::{self, Checkpoint, CheckpointError};
use crate::cosignature::{self, CosignatureError};
use crate::leaf::{LeafError, leaf_hash};
use crate::note::{KeyType, NoteError, Verifier};
use crate::tree::{InclusionError, verify_inclusion};

/// The `format` of a version 1 bundle. A verifier refuses any other: a bundle is meant to be
/// checked long after it was made, so its shape is named, not guessed.
pub const FORMAT: &str = "pan-canadian-broker/inclusion-proof/v1";

/// An inclusion proof bundle, version 1, as JSON. Hashes are standard base64 with padding, as
/// in checkpoints and the admin API. Unknown members are refused, so that a producer and this
/// verifier cannot silently disagree on what is being vouched for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionBundle {
    /// Always [`FORMAT`].
    pub format: String,
    /// The log's origin line, as in its checkpoints.
    pub origin: String,
    /// The record's leaf position in the log.
    pub leaf: u64,
    /// The record as the admin export gives it: `table` and every column but `leaf` and
    /// `leaf_hash` (the row's `id` or `seq` included; they are not hashed).
    pub record: Map<String, Value>,
    /// The record's RFC 6962 leaf hash.
    #[serde(with = "base64_hash")]
    pub leaf_hash: Hash,
    /// The size of the tree the proof is for.
    pub size: u64,
    /// The root of the tree of `size` leaves.
    #[serde(with = "base64_hash")]
    pub root: Hash,
    /// The audit path from the leaf to the root (RFC 6962 2.1.1 order: leaf side first).
    #[serde(with = "base64_hashes")]
    pub proof: Vec<Hash>,
    /// The signed checkpoint of the tree of `size` leaves, exactly as `/log/checkpoint` or
    /// `/log/witnessed` served it, cosignature lines included.
    pub checkpoint: String,
    /// Whether the checkpoint is one a witness cosigned (it came from `/log/witnessed`).
    pub witnessed: bool,
}

impl InclusionBundle {
    /// Parses a bundle from its JSON, checking its `format` first so that a file of another kind
    /// or version is named as such rather than as a missing field.
    pub fn from_json(json: &str) -> Result<Self, ProofError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| ProofError::Malformed(e.to_string()))?;
        match value.get("format") {
            Some(Value::String(format)) if format == FORMAT => {}
            Some(Value::String(format)) => return Err(ProofError::UnknownFormat(format.clone())),
            _ => {
                return Err(ProofError::Malformed(format!(
                    "no \"format\": {FORMAT:?} member"
                )));
            }
        }
        serde_json::from_value(value).map_err(|e| ProofError::Malformed(e.to_string()))
    }

    /// The bundle as pretty-printed JSON, the way a person downloads it.
    pub fn to_json(&self) -> String {
        // A struct of strings, integers, flat maps and booleans always serializes.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

mod base64_hash {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{BASE64, Engine as _, Hash};

    pub(super) fn serialize<S: Serializer>(hash: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hash.to_string())
    }

    pub(super) fn parse(text: &str) -> Result<Hash, String> {
        let bytes = BASE64
            .decode(text)
            .map_err(|_| format!("{text:?} is not base64"))?;
        let hash = Hash(
            bytes
                .try_into()
                .map_err(|_| format!("{text:?} is not base64 of 32 bytes"))?,
        );
        // One spelling per hash, as in checkpoints: what is signed and shown is what is compared.
        if hash.to_string() != text {
            return Err(format!("{text:?} is not canonical base64"));
        }
        Ok(hash)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        parse(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

mod base64_hashes {
    use serde::de::Error as _;
    use serde::ser::SerializeSeq as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    pub(super) fn serialize<S: Serializer>(hashes: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(hashes.len()))?;
        for hash in hashes {
            seq.serialize_element(&hash.to_string())?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .enumerate()
            .map(|(i, text)| {
                super::base64_hash::parse(text)
                    .map_err(|e| D::Error::custom(format!("proof hash {i}: {e}")))
            })
            .collect()
    }
}

/// What did not hold. The messages are for a person holding the bundle: they say which part of
/// it is wrong and what that means.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The file is not JSON, or not a bundle's shape.
    #[error("not an inclusion proof bundle: {0}")]
    Malformed(String),
    /// The file names another format or version.
    #[error("the bundle's format is {0:?}; this verifier reads {FORMAT:?}")]
    UnknownFormat(String),
    /// No log key was given, so nothing could vouch for the checkpoint.
    #[error("no log key given: the checkpoint cannot be checked without the log's verifier key")]
    NoLogKey,
    /// A key of the wrong type: a witness key given as a log key or the reverse.
    #[error("{key} is a {found} key, but a {role} key must be a {expected} key")]
    WrongKeyType {
        /// The key's name and ID, `name+keyid`.
        key: String,
        /// "log" or "witness".
        role: &'static str,
        /// The type the role needs.
        expected: KeyType,
        /// The key's type.
        found: KeyType,
    },
    /// The record has no canonical encoding (a float, a nested object...), so it is not a
    /// record the log could hold.
    #[error("the record cannot be a logged record: {0}")]
    Unhashable(#[from] LeafError),
    /// The record does not hash to the bundle's leaf hash.
    #[error(
        "the record does not match the bundle's leaf hash: it hashes to {computed}, the bundle says \
         {claimed}; the record was altered, or is not the one logged at leaf {leaf}"
    )]
    RecordMismatch {
        /// The leaf position.
        leaf: u64,
        /// What the record hashes to.
        computed: Hash,
        /// The bundle's `leaf_hash`.
        claimed: Hash,
    },
    /// The audit path does not lead from the leaf to the root.
    #[error(
        "the proof does not put leaf {leaf} in the tree of {size} records with the bundle's root: \
         {source}"
    )]
    NotIncluded {
        /// The leaf position.
        leaf: u64,
        /// The tree size.
        size: u64,
        /// What did not hold.
        source: InclusionError,
    },
    /// No signature on the checkpoint is by a given log key.
    #[error("the checkpoint is not signed by the given log key ({keys}): it cannot be trusted")]
    NotSignedByLog {
        /// The keys given, `name+keyid`, joined.
        keys: String,
    },
    /// A signature by a given log key does not verify: the checkpoint was altered after signing.
    #[error("the checkpoint carries a {0}: it was altered after the log signed it")]
    ForgedCheckpoint(NoteError),
    /// The checkpoint is not a well-formed signed checkpoint.
    #[error("the checkpoint is malformed: {0}")]
    MalformedCheckpoint(CheckpointError),
    /// The signed checkpoint says something else than the bundle.
    #[error(
        "the signed checkpoint's {what} is {signed}, but the bundle's is {bundle}: the proof is \
         not for the tree the log signed"
    )]
    CheckpointDiffers {
        /// "origin", "tree size" or "root".
        what: &'static str,
        /// The checkpoint's value.
        signed: String,
        /// The bundle's value.
        bundle: String,
    },
    /// A cosignature by a given witness does not verify.
    #[error(
        "the cosignature by witness {witness} does not verify: the checkpoint was altered, or \
         the cosignature forged"
    )]
    ForgedCosignature {
        /// The witness, `name+keyid`.
        witness: String,
    },
    /// The bundle says it was witnessed, but a given witness did not cosign the checkpoint.
    #[error(
        "the bundle says the checkpoint was witnessed, but it carries no cosignature by witness \
         {witness}"
    )]
    NotWitnessedBy {
        /// The witness, `name+keyid`.
        witness: String,
    },
}

/// One witness's verified cosignature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigner {
    /// The witness's key name.
    pub name: String,
    /// The witness's key ID.
    pub key_id: u32,
    /// When the witness cosigned, Unix seconds (its own clock's claim).
    pub timestamp: u64,
}

/// What the witnesses vouch for, once everything else held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Witnessing {
    /// Every witness key given cosigned the checkpoint.
    Witnessed,
    /// The bundle says `witnessed: false`: signed by the log, not yet witnessed.
    NotYetWitnessed,
    /// The bundle says `witnessed: true`, but no witness key was given to check it with.
    NotChecked,
}

/// A bundle that held: the checkpoint it is in, and who vouched for it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedBundle {
    /// The signed checkpoint (its origin, size and root are the bundle's).
    pub checkpoint: Checkpoint,
    /// The log keys whose signatures verified, `name+keyid`.
    pub signed_by: Vec<String>,
    /// The given witnesses whose cosignatures verified, in the order given.
    pub witnessed_by: Vec<Cosigner>,
    /// What the witnesses vouch for.
    pub witnessing: Witnessing,
}

fn key_label(key: &Verifier) -> String {
    format!("{}+{:08x}", key.name(), key.key_id())
}

fn require(key: &Verifier, role: &'static str, expected: KeyType) -> Result<(), ProofError> {
    if key.kind() != expected {
        return Err(ProofError::WrongKeyType {
            key: key_label(key),
            role,
            expected,
            found: key.kind(),
        });
    }
    Ok(())
}

/// Checks a bundle against the log's verifier keys (at least one; plain Ed25519, 0x01) and the
/// witnesses' (cosignature, 0x04; possibly none). See the module's documentation for what is
/// checked and the witness policy.
pub fn verify_bundle(
    bundle: &InclusionBundle,
    log_keys: &[Verifier],
    witness_keys: &[Verifier],
) -> Result<VerifiedBundle, ProofError> {
    if bundle.format != FORMAT {
        return Err(ProofError::UnknownFormat(bundle.format.clone()));
    }
    if log_keys.is_empty() {
        return Err(ProofError::NoLogKey);
    }
    for key in log_keys {
        require(key, "log", KeyType::Ed25519)?;
    }
    for key in witness_keys {
        require(key, "witness", KeyType::Cosignature)?;
    }

    let computed = leaf_hash(&bundle.record)?;
    if computed != bundle.leaf_hash {
        return Err(ProofError::RecordMismatch {
            leaf: bundle.leaf,
            computed,
            claimed: bundle.leaf_hash,
        });
    }
    verify_inclusion(
        bundle.leaf,
        bundle.size,
        bundle.leaf_hash,
        &bundle.proof,
        bundle.root,
    )
    .map_err(|source| ProofError::NotIncluded {
        leaf: bundle.leaf,
        size: bundle.size,
        source,
    })?;

    let (checkpoint, note) =
        checkpoint::open(&bundle.checkpoint, log_keys).map_err(|e| match e {
            CheckpointError::Note(NoteError::NoKnownSignature) => ProofError::NotSignedByLog {
                keys: log_keys
                    .iter()
                    .map(key_label)
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            CheckpointError::Note(forged @ NoteError::Forged { .. }) => {
                ProofError::ForgedCheckpoint(forged)
            }
            other => ProofError::MalformedCheckpoint(other),
        })?;
    let differs = |what, signed: String, bundle: String| ProofError::CheckpointDiffers {
        what,
        signed,
        bundle,
    };
    if checkpoint.origin != bundle.origin {
        return Err(differs(
            "origin",
            format!("{:?}", checkpoint.origin),
            format!("{:?}", bundle.origin),
        ));
    }
    if checkpoint.size != bundle.size {
        return Err(differs(
            "tree size",
            checkpoint.size.to_string(),
            bundle.size.to_string(),
        ));
    }
    if checkpoint.root != bundle.root {
        return Err(differs(
            "root",
            checkpoint.root.to_string(),
            bundle.root.to_string(),
        ));
    }
    // `open` verified at least one log signature and that none by a given key is forged.
    let signed_by = note
        .verify(log_keys)
        .map_err(ProofError::ForgedCheckpoint)?
        .iter()
        .map(|v| format!("{}+{:08x}", v.name, v.key_id))
        .collect();

    let mut witnessed_by = Vec::new();
    let mut missing = None;
    for (i, key) in witness_keys.iter().enumerate() {
        // A key given twice is one witness, listed once.
        if witness_keys[..i].contains(key) {
            continue;
        }
        let mut cosigned = None;
        for signature in note.signatures() {
            if signature.name() != key.name() || signature.key_id() != key.key_id() {
                continue;
            }
            match cosignature::verify(signature, note.text(), key) {
                Ok(timestamp) => cosigned = cosigned.or(Some(timestamp)),
                Err(CosignatureError::OtherKey { .. }) => {}
                Err(_) => {
                    return Err(ProofError::ForgedCosignature {
                        witness: key_label(key),
                    });
                }
            }
        }
        match cosigned {
            Some(timestamp) => witnessed_by.push(Cosigner {
                name: key.name().to_owned(),
                key_id: key.key_id(),
                timestamp,
            }),
            None => {
                missing.get_or_insert_with(|| key_label(key));
            }
        }
    }
    let witnessing = match (missing, bundle.witnessed) {
        (Some(witness), true) => return Err(ProofError::NotWitnessedBy { witness }),
        (Some(_), false) => Witnessing::NotYetWitnessed,
        (None, _) if !witness_keys.is_empty() => Witnessing::Witnessed,
        (None, true) => Witnessing::NotChecked,
        (None, false) => Witnessing::NotYetWitnessed,
    };
    Ok(VerifiedBundle {
        checkpoint,
        signed_by,
        witnessed_by,
        witnessing,
    })
}

#[cfg(test)]
mod tests;
