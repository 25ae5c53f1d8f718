//! `conformance log verify --proof FILE`: one record's inclusion proof bundle, checked offline.
//!
//! A person downloads the bundle from the broker for one disclosure of their identity; whoever
//! checks it may do so long after, without reaching the broker, so nothing here touches the
//! network: the file and the keys given are all there is. The checks themselves are
//! `transparency::proof`'s; this turns their outcome into a summary a person reads and an exit
//! code a script reads.

use std::path::PathBuf;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use transparency::note::{KeyType, Verifier};
use transparency::proof::{InclusionBundle, ProofError, Witnessing, verify_bundle};

use super::{LogError, cannot_run, failed, log_keys};

/// What to verify, and with what.
#[derive(Debug, Clone)]
pub struct ProofArgs {
    /// The bundle (JSON) as downloaded.
    pub file: PathBuf,
    /// The log's verifier keys (C2SP vkeys); one signature by them suffices.
    pub log_keys: Vec<String>,
    /// Witnesses' verifier keys (C2SP vkeys, cosignature type); each must have cosigned a
    /// bundle that says it was witnessed.
    pub witness_keys: Vec<String>,
}

/// The witnesses' verifier keys as given on the command line: cosignature (0x04) keys.
pub fn witness_keys(vkeys: &[String]) -> Result<Vec<Verifier>, LogError> {
    vkeys
        .iter()
        .map(|vkey| {
            let key = Verifier::parse(vkey.trim())
                .map_err(|e| cannot_run(format!("--witness-key {vkey:?}: {e}")))?;
            if key.kind() != KeyType::Cosignature {
                return Err(cannot_run(format!(
                    "--witness-key {vkey:?} is a {} key; a witness cosigns with a cosignature (0x04) key",
                    key.kind()
                )));
            }
            Ok(key)
        })
        .collect()
}

/// `<table> id 17`, from the record's own fields, as the auditor's check names records.
fn record_label(record: &Map<String, Value>) -> String {
    transparency::compare::label(record)
}

fn when(timestamp: u64) -> String {
    i64::try_from(timestamp)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{timestamp} (Unix seconds)"))
}

/// Runs the check; the summary lines to print on success. A bundle that cannot be read, or keys
/// that cannot be used, could not be checked (exit 2); anything that did not hold failed (1).
pub fn verify_proof(args: &ProofArgs) -> Result<Vec<String>, LogError> {
    let logs = log_keys(&args.log_keys)?;
    let witnesses = witness_keys(&args.witness_keys)?;
    let file = args.file.display();
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| cannot_run(format!("cannot read {file}: {e}")))?;
    let bundle =
        InclusionBundle::from_json(&text).map_err(|e| cannot_run(format!("{file}: {e}")))?;
    let verified = verify_bundle(&bundle, &logs, &witnesses).map_err(|e| match e {
        ProofError::NoLogKey | ProofError::WrongKeyType { .. } => cannot_run(e.to_string()),
        other => failed(format!("{file}: {other}")),
    })?;

    let mut record = format!(
        "record: {}, leaf {}",
        record_label(&bundle.record),
        bundle.leaf
    );
    if let Some(Value::String(txn)) = bundle.record.get("txn") {
        record.push_str(&format!(", txn {txn}"));
    }
    let cp = &verified.checkpoint;
    let mut summary = vec![
        record,
        format!(
            "tree: {}, {} records, root {}, signed by {}",
            cp.origin,
            cp.size,
            cp.root,
            verified.signed_by.join(" and ")
        ),
    ];
    summary.push(match verified.witnessing {
        Witnessing::Witnessed => format!(
            "witnessed by {}",
            verified
                .witnessed_by
                .iter()
                .map(|c| format!("{}+{:08x} (cosigned {})", c.name, c.key_id, when(c.timestamp)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Witnessing::NotYetWitnessed => "signed by the log, not yet witnessed".to_owned(),
        Witnessing::NotChecked => {
            "the bundle says it was witnessed, but no --witness-key was given: its cosignatures were not checked".to_owned()
        }
    });
    summary.push(format!(
        "ok: the record is leaf {} of the tree of {} records the log signed",
        bundle.leaf, cp.size
    ));
    Ok(summary)
}
