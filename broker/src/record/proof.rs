//! A disclosure's proof of inclusion in the audit log, for the person to keep and anyone to
//! check offline (`conformance log verify --proof FILE`): the record exactly as the log hashes
//! it, its leaf, the path from it to the root of a signed tree, and that tree's checkpoint with
//! the witnesses' cosignatures. The tree is the newest one a witness has co-signed that holds
//! the record; until one does, the newest checkpoint the log signed, said to be unwitnessed.

use transparency::proof::{FORMAT, InclusionBundle};

use crate::app::Broker;
use crate::records::RecordsError;

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("this broker signs no checkpoints of its log")]
    NoLog,
    #[error("the record is not yet in a signed checkpoint")]
    NotYet,
    #[error("the log cannot be read: {0}")]
    Records(#[from] RecordsError),
}

impl ProofError {
    pub fn advice(&self) -> (&'static str, &'static str) {
        match self {
            Self::NoLog => (
                "This service does not publish a signed audit log, so it cannot give a proof.",
                "Ce service ne publie pas de journal d'audit signé; il ne peut donc pas fournir de preuve.",
            ),
            Self::NotYet => (
                "This disclosure is so recent that the audit log has not signed it yet. Try again in a minute.",
                "Cette communication est si récente que le journal d'audit ne l'a pas encore signée. Réessayez dans une minute.",
            ),
            Self::Records(_) => (
                "The audit log cannot be read right now. Try again in a few minutes.",
                "Le journal d'audit est illisible pour le moment. Réessayez dans quelques minutes.",
            ),
        }
    }
}

/// The proof bundle of the record at `leaf`, in the form the auditors' verifier reads
/// (`transparency::proof`).
pub async fn bundle(broker: &Broker, leaf: u64) -> Result<InclusionBundle, ProofError> {
    let log = broker.log.as_ref().ok_or(ProofError::NoLog)?;
    let records = &broker.records;
    let witnessed = records
        .newest_witnessed_size()
        .await?
        .filter(|size| *size > leaf);
    let (size, is_witnessed) = match witnessed {
        Some(size) => (size, true),
        None => match records.checkpoint(None).await? {
            Some(c) if c.size > leaf => (c.size, false),
            _ => return Err(ProofError::NotYet),
        },
    };
    let (checkpoint, note) = records
        .served_checkpoint(Some(size))
        .await?
        .ok_or(ProofError::NotYet)?;
    let record = records
        .log_records(leaf, leaf + 1)
        .await?
        .into_iter()
        .find(|r| r.leaf == leaf)
        .ok_or_else(|| RecordsError::Invalid(format!("no record at leaf {leaf}")))?;
    let proof = records.inclusion_proof(leaf, size).await?;
    let leaf_hash = records
        .node_hashes(0, leaf, 1)
        .await?
        .first()
        .copied()
        .ok_or_else(|| RecordsError::Invalid(format!("no hash for leaf {leaf}")))?;
    Ok(InclusionBundle {
        format: FORMAT.to_owned(),
        origin: log.origin().to_owned(),
        leaf,
        record: record.record,
        leaf_hash,
        size,
        root: checkpoint.root,
        proof,
        checkpoint: note,
        witnessed: is_witnessed,
    })
}
