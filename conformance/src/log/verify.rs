//! `conformance log verify`: the auditor's check of the whole log.

use transparency::checkpoint::{self, Checkpoint, CheckpointError};
use transparency::compare::compare;
use transparency::note::{NoteError, Verifier};
use transparency::tiles::tiles_for;

use super::fetch::LogClient;
use super::tiles::{TileHashes, check_whole_tree};
use super::{LogError, failed, log_keys};

/// What to verify, and with what.
#[derive(Clone)]
pub struct VerifyArgs {
    /// The broker, or its log's prefix (`.../log`).
    pub log: String,
    /// The log's verifier keys (C2SP vkeys) the checkpoint must be signed by (one suffices).
    pub log_keys: Vec<String>,
    /// An auditor's bearer token for the admin API's export; without one, the records are not
    /// compared.
    pub admin_token: Option<String>,
}

impl std::fmt::Debug for VerifyArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyArgs")
            .field("log", &self.log)
            .field("log_keys", &self.log_keys)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// Fetches and opens the newest checkpoint: its signature by one of `keys` must verify. The
/// checkpoint, the note as served, and the keys that signed it (`name+keyid`).
pub(crate) async fn signed_checkpoint(
    client: &LogClient,
    keys: &[Verifier],
) -> Result<(Checkpoint, String, String), LogError> {
    let text = client.checkpoint().await?;
    let url = format!("{}/log/checkpoint", client.broker());
    let (checkpoint, note) = checkpoint::open(&text, keys).map_err(|e| match e {
        CheckpointError::Note(NoteError::NoKnownSignature) => failed(format!(
            "the checkpoint at {url} is not signed by the given log key{}: no signature on it \
             is by {}",
            if keys.len() > 1 { "s" } else { "" },
            keys.iter()
                .map(Verifier::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        )),
        CheckpointError::Note(forged @ NoteError::Forged { .. }) => failed(format!(
            "the checkpoint at {url} carries a {forged}: it is not what the log key signed"
        )),
        other => failed(format!("the checkpoint at {url} is malformed: {other}")),
    })?;
    let signed_by = note
        .verify(keys)
        .map(|verified| {
            verified
                .iter()
                .map(|v| format!("{}+{:08x}", v.name, v.key_id))
                .collect::<Vec<_>>()
                .join(" and ")
        })
        .unwrap_or_default();
    Ok((checkpoint, text, signed_by))
}

/// Runs the check; the summary lines to print on success.
pub async fn verify(args: &VerifyArgs) -> Result<Vec<String>, LogError> {
    let keys = log_keys(&args.log_keys)?;
    let client = LogClient::new(&args.log)?;
    let (checkpoint, _, signed_by) = signed_checkpoint(&client, &keys).await?;
    let mut summary = vec![format!(
        "checkpoint: {}, {} records, root {}, signed by {signed_by}",
        checkpoint.origin, checkpoint.size, checkpoint.root
    )];

    let fetched = client
        .tiles(&tiles_for(checkpoint.size), checkpoint.size)
        .await?;
    let tree = check_whole_tree(&checkpoint, &TileHashes::read(fetched)?)?;
    summary.push(format!(
        "tiles: {} fetched; the leaves hash to the signed root, and every upper tile entry to the tile below it",
        tree.tiles
    ));

    let Some(token) = &args.admin_token else {
        summary.push(format!(
            "ok: the tree of {} records is the one signed; the records themselves were not compared (no --admin-token-env)",
            checkpoint.size
        ));
        return Ok(summary);
    };
    let exported = client.records(token).await?;
    let coverage = compare(&exported, &tree.leaves).map_err(|d| {
        failed(format!(
            "the records disagree with the log's tree of {} records: {d}",
            checkpoint.size
        ))
    })?;
    summary.push(format!(
        "ok: {} records, all in the tree in order; {} committed since the checkpoint",
        coverage.checked, coverage.not_yet_in_tree
    ));
    Ok(summary)
}
