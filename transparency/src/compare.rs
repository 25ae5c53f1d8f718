//! What an auditor concludes when it holds the broker's export of the logged records and the
//! tree's leaf hashes (from the level-0 tiles of a verified checkpoint).
//!
//! Each exported record, in log order, must sit at its own leaf position and hash to the leaf
//! the tree holds there. The walk stops at the first position where that fails and names what
//! the difference looks like, so that a report says "record 17 was edited" rather than "hash
//! mismatch": a record [edited](Discrepancy::Edited) in place, one [removed](Discrepancy::Removed)
//! from the export, one [inserted](Discrepancy::Inserted) into it, records
//! [reordered](Discrepancy::Reordered), or an export whose leaf numbers are
//! [out of step](Discrepancy::Misnumbered). Records beyond the tree size were added after the
//! checkpoint and are counted, not judged.

use std::collections::HashMap;
use std::fmt;

use serde_json::{Map, Value};
use tlog_tiles::Hash;

use crate::leaf::leaf_hash;

/// One record of the broker's export, in log order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedRecord {
    /// The leaf position the export gives the record.
    pub leaf: u64,
    /// The record, whose canonical hash is its leaf. It names itself by `"table"` and one of
    /// `"id"`, `"seq"` or `"version"`.
    pub record: Map<String, Value>,
}

/// A clean comparison: how many records matched the tree, and how many came after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// Records checked against the tree (the tree size).
    pub checked: u64,
    /// Exported records beyond the tree size, not yet covered by the checkpoint.
    pub not_yet_in_tree: u64,
}

/// The first place where the export and the tree disagree, named by what it looks like.
/// Positions are leaf positions; `record` names an exported record, e.g. `disclosures id 9`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discrepancy {
    /// The record at `position` is not in the tree, and the rest of the export is aligned (or
    /// the record has no canonical encoding).
    Edited {
        /// The leaf position.
        position: u64,
        /// The exported record there.
        record: String,
    },
    /// The tree holds a leaf at `position` that no exported record matches: the export skips
    /// it, or ends before the tree does.
    Removed {
        /// The leaf position.
        position: u64,
    },
    /// The record at `position` is not in the tree, and the next exported record is what the
    /// tree holds at `position`.
    Inserted {
        /// The leaf position.
        position: u64,
        /// The inserted record.
        record: String,
    },
    /// The record at `position` is the tree's leaf at `log_position`, and the tree's leaf at
    /// `position` is elsewhere in the export.
    Reordered {
        /// The position in the export.
        position: u64,
        /// The exported record there.
        record: String,
        /// Where the tree holds it.
        log_position: u64,
    },
    /// The record at `position` is the tree's leaf there, but the export numbers it `claimed`.
    Misnumbered {
        /// The leaf position.
        position: u64,
        /// The exported record there.
        record: String,
        /// The leaf number the export gives it.
        claimed: u64,
    },
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discrepancy::Edited { position, record } => write!(
                f,
                "record {position} ({record}) was edited: it is not what the log holds at {position}"
            ),
            Discrepancy::Removed { position } => write!(
                f,
                "record {position} was removed: the log holds a record at {position} that the export lacks"
            ),
            Discrepancy::Inserted { position, record } => write!(
                f,
                "record {position} ({record}) was inserted: the log does not hold it, and holds the next exported record at {position}"
            ),
            Discrepancy::Reordered {
                position,
                record,
                log_position,
            } => write!(
                f,
                "record {position} ({record}) was reordered: the log holds it at {log_position}, not {position}"
            ),
            Discrepancy::Misnumbered {
                position,
                record,
                claimed,
            } => write!(
                f,
                "record {position} ({record}) is numbered {claimed} in the export: the log holds it at {position}"
            ),
        }
    }
}

impl std::error::Error for Discrepancy {}

/// `<table> <id|seq|version> <value>`, from the record's own fields: how an auditor's check
/// names a record.
pub fn label(record: &Map<String, Value>) -> String {
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let table = record
        .get("table")
        .map(show)
        .unwrap_or_else(|| "unknown table".to_owned());
    ["id", "seq", "version"]
        .iter()
        .find_map(|key| {
            record
                .get(*key)
                .map(|v| format!("{table} {key} {}", show(v)))
        })
        .unwrap_or(table)
}

/// Compares the export with the tree's leaves (tree size = `leaves.len()`): every position
/// below the tree size must hold the exported record with that leaf number and that hash.
pub fn compare(exported: &[ExportedRecord], leaves: &[Hash]) -> Result<Coverage, Discrepancy> {
    let hashes: Vec<Option<Hash>> = exported.iter().map(|e| leaf_hash(&e.record).ok()).collect();
    let matches = |j: usize, q: usize| match (hashes.get(j), leaves.get(q)) {
        (Some(Some(h)), Some(leaf)) => h == leaf,
        _ => false,
    };
    let Some(p) = (0..leaves.len())
        .find(|&p| !(exported.get(p).is_some_and(|e| e.leaf == p as u64) && matches(p, p)))
    else {
        return Ok(Coverage {
            checked: leaves.len() as u64,
            not_yet_in_tree: exported.len().saturating_sub(leaves.len()) as u64,
        });
    };
    let position = p as u64;
    let Some(record) = exported.get(p) else {
        return Err(Discrepancy::Removed { position });
    };
    let name = label(&record.record);
    if matches(p, p) {
        return Err(Discrepancy::Misnumbered {
            position,
            record: name,
            claimed: record.leaf,
        });
    }

    // Where each leaf hash first appears in the tree, and which exported records hash to what.
    let mut in_tree: HashMap<[u8; 32], usize> = HashMap::new();
    for (q, leaf) in leaves.iter().enumerate() {
        in_tree.entry(leaf.0).or_insert(q);
    }
    let in_export = |hash: &Hash, except: usize| {
        hashes
            .iter()
            .enumerate()
            .any(|(j, h)| j != except && h.as_ref() == Some(hash))
    };
    let here = hashes[p].and_then(|h| in_tree.get(&h.0).copied());
    let leaf_elsewhere = in_export(&leaves[p], p);

    match here {
        None => {
            let next_aligned =
                p + 1 >= exported.len() || p + 1 >= leaves.len() || matches(p + 1, p + 1);
            if !next_aligned && matches(p + 1, p) {
                Err(Discrepancy::Inserted {
                    position,
                    record: name,
                })
            } else {
                Err(Discrepancy::Edited {
                    position,
                    record: name,
                })
            }
        }
        Some(q) if q > p && !leaf_elsewhere => Err(Discrepancy::Removed { position }),
        Some(q) if leaf_elsewhere => Err(Discrepancy::Reordered {
            position,
            record: name,
            log_position: q as u64,
        }),
        // A copy of an earlier record standing where another belongs.
        Some(_) => Err(Discrepancy::Edited {
            position,
            record: name,
        }),
    }
}

#[cfg(test)]
mod tests;
