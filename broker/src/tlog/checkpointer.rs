//! Grows the tree and signs it: every [`EVERY`], the records committed since are hashed into
//! the tree (`Records::integrate`), and when the tree is larger than the newest checkpoint, a
//! checkpoint of it is signed and kept. Every replica runs it; the records let one win each
//! step, and a checkpoint of a size already signed is kept once.
//!
//! A checkpoint is signed only if it is consistent with the newest one kept (a consistency
//! proof from the stored nodes, checked as a witness checks it): nodes altered in the database
//! stop the log from signing, loudly, instead of signing a rewritten history.

use std::time::Duration;

use transparency::Hash;
use transparency::checkpoint::Checkpoint;

use crate::app::Broker;
use crate::records::{RecordsError, StoredCheckpoint, millis};

/// How often the tree is grown and signed: a record is in a signed checkpoint about this long
/// after it is committed.
pub const EVERY: Duration = Duration::from_secs(1);

/// The most records hashed in one transaction: each is read whole into memory to be hashed, so
/// this bounds the memory a pass takes (10,000 took about 30 MB more at the peak under load;
/// docs/benchmarks.md).
const BATCH: u64 = 1_000;

/// Why a pass signed nothing.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    Log(#[from] super::LogError),
    #[error("the tree of {new} records is not consistent with the checkpoint of {old}: {reason}")]
    Inconsistent { old: u64, new: u64, reason: String },
    #[error("the checkpoint cannot be signed: {0}")]
    Sign(String),
}

/// Runs [`pass`] every [`EVERY`] while the broker serves. A log that cannot go on because its
/// records or nodes were altered says so once per distinct fault, in the audit trail
/// (`log.inconsistent`) and at `error`, not every second.
pub async fn run(broker: Broker) {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut reported: Option<String> = None;
    loop {
        every.tick().await;
        let (old, new, reason) = match pass(&broker).await {
            Ok(_) => {
                reported = None;
                continue;
            }
            Err(CheckpointError::Inconsistent { old, new, reason }) => (old, new, reason),
            Err(CheckpointError::Records(RecordsError::Invalid(reason))) => {
                let old = broker.records.tree_size().await.unwrap_or(0);
                let new = broker.records.log_size().await.unwrap_or(old);
                (old, new, reason)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the log's checkpoint was not made");
                continue;
            }
        };
        if reported.as_deref() != Some(reason.as_str()) {
            tracing::error!(old, new, %reason, "the log stops: its records or tree were altered");
            broker.audit(crate::audit::Event::LogInconsistent {
                old,
                new,
                reason: &reason,
            });
            reported = Some(reason);
        }
    }
}

/// Hashes what was committed into the tree, then signs a checkpoint of it if the tree grew.
/// The checkpoint signed, if any.
pub async fn pass(broker: &Broker) -> Result<Option<StoredCheckpoint>, CheckpointError> {
    while let Some((_, new)) = broker.records.integrate(BATCH).await? {
        if broker.records.log_size().await? <= new {
            break;
        }
    }
    let Some(log) = &broker.log else {
        return Ok(None);
    };
    let size = broker.records.tree_size().await?;
    let newest = broker.records.checkpoint(None).await?;
    if newest.as_ref().is_some_and(|c| c.size >= size) {
        return Ok(None);
    }
    let root = broker.records.tree_root(size).await?;
    if let Some(old) = &newest {
        consistent(broker, old, size, root).await?;
    }
    let checkpoint = Checkpoint {
        origin: log.origin().to_owned(),
        size,
        root,
    };
    let signers = log.signers()?;
    let refs: Vec<_> = signers.iter().collect();
    let note = transparency::checkpoint::sign(&checkpoint, &refs)
        .map_err(|e| CheckpointError::Sign(e.to_string()))?;
    let kept = StoredCheckpoint {
        size,
        root,
        note,
        at: millis(broker.now()),
    };
    broker.records.save_checkpoint(&kept).await?;
    Ok(Some(kept))
}

/// Checks, as a witness would, that the tree of `size` with `root` extends the checkpoint
/// `old`.
async fn consistent(
    broker: &Broker,
    old: &StoredCheckpoint,
    size: u64,
    root: Hash,
) -> Result<(), CheckpointError> {
    let inconsistent = |reason: String| CheckpointError::Inconsistent {
        old: old.size,
        new: size,
        reason,
    };
    if old.size == 0 {
        return Ok(());
    }
    let old_root = broker.records.tree_root(old.size).await?;
    if old_root != old.root {
        return Err(inconsistent(
            "the stored tree no longer has the root that was signed".into(),
        ));
    }
    let proof = broker.records.consistency_proof(old.size, size).await?;
    transparency::check_tree(&proof, size, root, old.size, old.root)
        .map_err(|e| inconsistent(e.to_string()))
}
