//! The records as a tamper-evident log (docs/audit-log.md): every row of the four append-only
//! tables (`registry_versions`, `consent_records`, `disclosures`, `audit_events`) is a leaf of
//! one Merkle tree with RFC 6962 hashing, numbered in commit order.
//!
//! A record takes its leaf number in its own transaction, from the one row of `log_head`,
//! which every writer locks until it commits: the numbers are dense, they commit in order, and
//! the release guard reads the registry version on the same row, so the log's order is the
//! order in which releases and registry changes took effect. The record's leaf hash (the JCS
//! encoding of its row, `transparency::leaf`, made from the values written, [`leaf`]) is
//! written with it, in its `leaf_hash` column: the locked statement writes no row more than
//! the records themselves. The tree follows, out of the request's way: [`Records::integrate`]
//! reads the leaf hashes committed since the tree's size, stores them and every new complete
//! subtree's hash in `log_nodes` (where they stay whatever becomes of the records), and moves
//! the tree's size, in one transaction that only one replica wins. A crash anywhere leaves the
//! tree exactly the records it had integrated; the next pass takes the rest.

use serde_json::{Map, Value};
use sqlx::{Column, Row};
use transparency::Hash;

use super::{Backend, Records, RecordsError};

/// The leaf hashes of a range of leaves, from every table, in leaf order; a null hash is a
/// record written before the log existed.
const LEAF_HASHES: &str = "SELECT leaf, leaf_hash FROM registry_versions WHERE leaf >= $1 AND leaf < $2 \
     UNION ALL SELECT leaf, leaf_hash FROM consent_records WHERE leaf >= $1 AND leaf < $2 \
     UNION ALL SELECT leaf, leaf_hash FROM disclosures WHERE leaf >= $1 AND leaf < $2 \
     UNION ALL SELECT leaf, leaf_hash FROM audit_events WHERE leaf >= $1 AND leaf < $2 \
     ORDER BY leaf";

/// The tables whose rows are leaves, each with its rows of a range of leaves.
const RANGES: [(&str, &str); 4] = [
    (
        "registry_versions",
        "SELECT * FROM registry_versions WHERE leaf >= $1 AND leaf < $2",
    ),
    (
        "consent_records",
        "SELECT * FROM consent_records WHERE leaf >= $1 AND leaf < $2",
    ),
    (
        "disclosures",
        "SELECT * FROM disclosures WHERE leaf >= $1 AND leaf < $2",
    ),
    (
        "audit_events",
        "SELECT * FROM audit_events WHERE leaf >= $1 AND leaf < $2",
    ),
];

/// Takes `n` leaf numbers for the records `tx` writes; the first. `log_head` stays locked
/// until `tx` ends.
pub(super) async fn take_leaves(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    n: usize,
) -> Result<i64, sqlx::Error> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    sqlx::query("UPDATE log_head SET size = size + $1 RETURNING size - $1")
        .bind(n)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)
}

/// As [`take_leaves`], only while the registry's newest version is still `version`; `None`
/// when a newer one was committed (the release must be judged again).
pub(super) async fn take_leaves_while(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    n: usize,
    version: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let row = sqlx::query(
        "UPDATE log_head SET size = size + $1 WHERE registry_version <= $2 RETURNING size - $1",
    )
    .bind(n)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// The leaf of a new registry version, `version`, if `expected` is still the newest (the
/// registry's compare-and-set); `None` when someone saved another version first.
pub(super) async fn take_registry_leaf(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    expected: u64,
    version: u64,
) -> Result<Option<i64>, sqlx::Error> {
    let row = sqlx::query(
        "UPDATE log_head SET size = size + 1, registry_version = $2 \
         WHERE registry_version = $1 RETURNING size - 1",
    )
    .bind(i64::try_from(expected).unwrap_or(i64::MAX))
    .bind(i64::try_from(version).unwrap_or(i64::MAX))
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// A record's leaf hash, from the values written: `table` and each column as the row reads back
/// ([`row_to_record`]): integers, text, nulls.
pub(super) fn leaf(table: &str, columns: &[(&str, Value)]) -> Hash {
    let mut record = Map::with_capacity(columns.len() + 1);
    record.insert("table".into(), Value::String(table.into()));
    for (name, value) in columns {
        record.insert((*name).to_owned(), value.clone());
    }
    // The broker's own values: text, and integers far inside JCS's range (times in
    // milliseconds, versions, 0 or 1).
    transparency::leaf::leaf_hash(&record).unwrap_or_else(|_| transparency::record_hash(b""))
}

/// One record of the log, as it is exported: its table and every column but `leaf`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub leaf: u64,
    pub record: Map<String, Value>,
}

/// A signed checkpoint as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The signed note, as served.
    pub note: String,
    /// Unix milliseconds.
    pub at: i64,
}

/// A witness's cosignature of a checkpoint, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCosignature {
    pub size: u64,
    pub witness: String,
    /// The signature line, as it is appended to the checkpoint.
    pub line: String,
    /// Unix milliseconds, when it was received.
    pub at: i64,
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn hash_of(bytes: &[u8]) -> Result<Hash, RecordsError> {
    <[u8; 32]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| RecordsError::Invalid(format!("a stored hash of {} bytes", bytes.len())))
}

/// A row as a flat JSON object of its columns (integers, strings, nulls), `leaf` apart.
fn row_to_record(table: &str, row: &sqlx::any::AnyRow) -> Result<LogRecord, RecordsError> {
    let mut record = Map::new();
    record.insert("table".into(), Value::String(table.into()));
    let mut leaf = None;
    for (i, column) in row.columns().iter().enumerate() {
        if column.name() == "leaf_hash" {
            continue;
        }
        let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
            v.map_or(Value::Null, Value::from)
        } else if let Ok(v) = row.try_get::<Option<i32>, _>(i) {
            v.map_or(Value::Null, Value::from)
        } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
            v.map_or(Value::Null, Value::String)
        } else {
            return Err(RecordsError::Invalid(format!(
                "{table}.{} is neither a number nor text",
                column.name()
            )));
        };
        if column.name() == "leaf" {
            leaf = value.as_i64();
        } else {
            record.insert(column.name().to_owned(), value);
        }
    }
    let leaf =
        leaf.ok_or_else(|| RecordsError::Invalid(format!("a row of {table} has no leaf")))?;
    Ok(LogRecord {
        leaf: to_u64(leaf),
        record,
    })
}

impl Records {
    /// How many records have been committed: the log's size once they are all integrated.
    pub async fn log_size(&self) -> Result<u64, RecordsError> {
        self.bounded(async {
            let size: i64 = sqlx::query("SELECT size FROM log_head")
                .fetch_one(self.pool())
                .await?
                .try_get(0)?;
            Ok(to_u64(size))
        })
        .await
    }

    /// How many records the tree holds.
    pub async fn tree_size(&self) -> Result<u64, RecordsError> {
        self.bounded(async {
            let size: i64 = sqlx::query("SELECT size FROM log_tree")
                .fetch_one(self.pool())
                .await?
                .try_get(0)?;
            Ok(to_u64(size))
        })
        .await
    }

    /// The records of leaves `from` (inclusive) to `to` (exclusive), as the database holds them
    /// now, in leaf order: a record removed from it leaves a gap, which the auditor's comparison
    /// with the tree names.
    pub async fn log_records(&self, from: u64, to: u64) -> Result<Vec<LogRecord>, RecordsError> {
        self.bounded(async {
            let mut records = Vec::new();
            for (table, sql) in RANGES {
                let rows = sqlx::query(sql)
                    .bind(to_i64(from))
                    .bind(to_i64(to))
                    .fetch_all(self.pool())
                    .await?;
                for row in &rows {
                    records.push(row_to_record(table, row)?);
                }
            }
            records.sort_by_key(|r| r.leaf);
            Ok(records)
        })
        .await
    }

    /// Grows the tree by up to `max` records committed since its size. The sizes before and
    /// after, or `None` when there was nothing to do or another replica did it first.
    pub async fn integrate(&self, max: u64) -> Result<Option<(u64, u64)>, RecordsError> {
        let old = self.tree_size().await?;
        let head = self.log_size().await?;
        if head <= old {
            return Ok(None);
        }
        let new = head.min(old.saturating_add(max.max(1)));
        let leaves = self.leaf_hashes(old, new).await?;
        let frontier = self
            .stored_hashes(&transparency::tree::frontier_indexes(old))
            .await?;
        // Level 0 too: kept apart from the records, so that a record removed afterwards leaves
        // its leaf in the tree for the auditor to find missing.
        let nodes = transparency::tree::append(old, &leaves, &frontier)
            .map_err(|e| RecordsError::Invalid(format!("the tree cannot grow: {e}")))?;
        let moved = self
            .bounded(async {
                let mut tx = self.pool().begin().await?;
                let moved = sqlx::query("UPDATE log_tree SET size = $1 WHERE size = $2")
                    .bind(to_i64(new))
                    .bind(to_i64(old))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if moved == 0 {
                    return Ok(false);
                }
                insert_nodes(&mut tx, self.backend(), &nodes).await?;
                tx.commit().await?;
                Ok(true)
            })
            .await?;
        Ok(moved.then_some((old, new)))
    }

    /// The stored hashes at these indexes (`transparency::tree`'s numbering), as a reader
    /// for the tree's functions. A missing one is an error.
    pub async fn stored_hashes(
        &self,
        indexes: &[u64],
    ) -> Result<transparency::tree::MapReader, RecordsError> {
        let mut reader = transparency::tree::MapReader::new();
        if indexes.is_empty() {
            return Ok(reader);
        }
        // One statement: the (level, n) pairs as a JSON array, joined.
        let wanted: Vec<Value> = indexes
            .iter()
            .map(|&i| {
                let (level, n) = transparency::split_stored_hash_index(i);
                Value::from(vec![Value::from(level), Value::from(n)])
            })
            .collect();
        let sql = match self.backend() {
            Backend::Postgres => {
                "SELECT n.level, n.n, n.hash FROM log_nodes n \
                 JOIN jsonb_array_elements($1::JSONB) w(v) \
                 ON n.level = (w.v->>0)::INTEGER AND n.n = (w.v->>1)::BIGINT"
            }
            Backend::Sqlite => {
                "SELECT n.level, n.n, n.hash FROM log_nodes n \
                 JOIN json_each($1) w ON n.level = w.value->>0 AND n.n = w.value->>1"
            }
        };
        let rows = self
            .bounded(async {
                Ok(sqlx::query(sql)
                    .bind(Value::Array(wanted).to_string())
                    .fetch_all(self.pool())
                    .await?)
            })
            .await?;
        for row in &rows {
            let level: i32 = row.try_get(0)?;
            let n: i64 = row.try_get(1)?;
            let hash: Vec<u8> = row.try_get(2)?;
            let level = u8::try_from(level)
                .map_err(|_| RecordsError::Invalid(format!("a node at level {level}")))?;
            reader.insert(
                transparency::stored_hash_index(level, to_u64(n)),
                hash_of(&hash)?,
            );
        }
        for &i in indexes {
            if !reader.contains(i) {
                let (level, n) = transparency::split_stored_hash_index(i);
                return Err(RecordsError::Invalid(format!(
                    "the tree's node at level {level}, {n} is missing"
                )));
            }
        }
        Ok(reader)
    }

    /// The root of the tree of `size` records (at most the tree's size).
    pub async fn tree_root(&self, size: u64) -> Result<Hash, RecordsError> {
        let indexes = transparency::tree::needed_indexes(|r| transparency::tree_hash(size, r))
            .map_err(|e| RecordsError::Invalid(format!("the root of {size}: {e}")))?;
        let reader = self.stored_hashes(&indexes).await?;
        transparency::tree_hash(size, &reader)
            .map_err(|e| RecordsError::Invalid(format!("the root of {size}: {e}")))
    }

    /// The proof that the tree of `old` records is a prefix of the tree of `new` (RFC 6962
    /// consistency, as `transparency::check_tree` checks it); both at most the tree's size.
    pub async fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<transparency::TreeProof, RecordsError> {
        let indexes = transparency::tree::needed_indexes(|r| transparency::prove_tree(new, old, r))
            .map_err(|e| RecordsError::Invalid(format!("no consistency proof: {e}")))?;
        let reader = self.stored_hashes(&indexes).await?;
        transparency::prove_tree(new, old, &reader)
            .map_err(|e| RecordsError::Invalid(format!("no consistency proof {old} to {new}: {e}")))
    }

    /// The proof that leaf `leaf` is in the tree of `size` records (RFC 6962 inclusion, as
    /// `transparency::check_record` checks it).
    pub async fn inclusion_proof(
        &self,
        leaf: u64,
        size: u64,
    ) -> Result<transparency::RecordProof, RecordsError> {
        let indexes =
            transparency::tree::needed_indexes(|r| transparency::prove_record(size, leaf, r))
                .map_err(|e| RecordsError::Invalid(format!("no inclusion proof: {e}")))?;
        let reader = self.stored_hashes(&indexes).await?;
        transparency::prove_record(size, leaf, &reader).map_err(|e| {
            RecordsError::Invalid(format!("no inclusion proof of {leaf} in {size}: {e}"))
        })
    }

    /// The leaf hashes of the records from leaf `from` to leaf `to` (exclusive), every one of
    /// them: a leaf missing from the records is an error. A record written before the log
    /// existed has none stored: its hash is made from the row.
    pub async fn leaf_hashes(&self, from: u64, to: u64) -> Result<Vec<Hash>, RecordsError> {
        let rows = self
            .bounded(async {
                Ok(sqlx::query(LEAF_HASHES)
                    .bind(to_i64(from))
                    .bind(to_i64(to))
                    .fetch_all(self.pool())
                    .await?)
            })
            .await?;
        let mut hashes = Vec::with_capacity(rows.len());
        for (expected, row) in (from..to).zip(rows.iter()) {
            let leaf: i64 = row.try_get(0)?;
            if to_u64(leaf) != expected {
                return Err(RecordsError::Invalid(format!(
                    "the record of leaf {expected} is missing from the records"
                )));
            }
            let hash = match row.try_get::<Option<Vec<u8>>, _>(1)? {
                Some(bytes) => hash_of(&bytes)?,
                None => self.hash_from_row(expected).await?,
            };
            hashes.push(hash);
        }
        if (hashes.len() as u64) < to.saturating_sub(from) {
            return Err(RecordsError::Invalid(format!(
                "the record of leaf {} is missing from the records",
                from + hashes.len() as u64
            )));
        }
        Ok(hashes)
    }

    /// The leaf hash of a record written before the log existed, from its row.
    async fn hash_from_row(&self, leaf: u64) -> Result<Hash, RecordsError> {
        let record = self
            .log_records(leaf, leaf + 1)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                RecordsError::Invalid(format!("the record of leaf {leaf} is missing"))
            })?;
        transparency::leaf::leaf_hash(&record.record)
            .map_err(|e| RecordsError::Invalid(format!("leaf {leaf}: {e}")))
    }

    /// The `count` hashes of `level` from the `first`, in order (a tile's contents); fewer when
    /// the tree has not grown that far.
    pub async fn node_hashes(
        &self,
        level: u8,
        first: u64,
        count: u64,
    ) -> Result<Vec<Hash>, RecordsError> {
        let rows = self
            .bounded(async {
                Ok(sqlx::query(
                    "SELECT hash FROM log_nodes WHERE level = $1 AND n >= $2 AND n < $3 ORDER BY n",
                )
                .bind(i32::from(level))
                .bind(to_i64(first))
                .bind(to_i64(first.saturating_add(count)))
                .fetch_all(self.pool())
                .await?)
            })
            .await?;
        rows.iter()
            .map(|r| hash_of(&r.try_get::<Vec<u8>, _>(0)?))
            .collect()
    }

    /// Keeps a signed checkpoint; one already kept for that size stays as it was.
    pub async fn save_checkpoint(&self, checkpoint: &StoredCheckpoint) -> Result<(), RecordsError> {
        self.bounded(async {
            sqlx::query(
                "INSERT INTO log_checkpoints (size, root, note, at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (size) DO NOTHING",
            )
            .bind(to_i64(checkpoint.size))
            .bind(checkpoint.root.0.to_vec())
            .bind(&checkpoint.note)
            .bind(checkpoint.at)
            .execute(self.pool())
            .await?;
            Ok(())
        })
        .await
    }

    /// The newest checkpoint, or the one of `size`.
    pub async fn checkpoint(
        &self,
        size: Option<u64>,
    ) -> Result<Option<StoredCheckpoint>, RecordsError> {
        self.bounded(async {
            let query = match size {
                None => sqlx::query(
                    "SELECT size, root, note, at FROM log_checkpoints ORDER BY size DESC LIMIT 1",
                ),
                Some(size) => {
                    sqlx::query("SELECT size, root, note, at FROM log_checkpoints WHERE size = $1")
                        .bind(to_i64(size))
                }
            };
            let Some(row) = query.fetch_optional(self.pool()).await? else {
                return Ok(None);
            };
            Ok(Some(StoredCheckpoint {
                size: to_u64(row.try_get(0)?),
                root: hash_of(&row.try_get::<Vec<u8>, _>(1)?)?,
                note: row.try_get(2)?,
                at: row.try_get(3)?,
            }))
        })
        .await
    }

    /// Keeps a witness's cosignature of the checkpoint of `size` (its newest for that size).
    pub async fn save_cosignature(&self, c: &StoredCosignature) -> Result<(), RecordsError> {
        self.bounded(async {
            sqlx::query(
                "INSERT INTO log_cosignatures (size, witness, line, at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (size, witness) DO UPDATE SET line = excluded.line, at = excluded.at",
            )
            .bind(to_i64(c.size))
            .bind(&c.witness)
            .bind(&c.line)
            .bind(c.at)
            .execute(self.pool())
            .await?;
            Ok(())
        })
        .await
    }

    /// The size of the newest checkpoint a witness has co-signed, if any has.
    pub async fn newest_witnessed_size(&self) -> Result<Option<u64>, RecordsError> {
        Ok(self.cosignatures(None).await?.iter().map(|c| c.size).max())
    }

    /// The checkpoint of `size` (the newest without one) as it is served: its signed note
    /// followed by its cosignatures' lines. `None` when no such checkpoint was signed.
    pub async fn served_checkpoint(
        &self,
        size: Option<u64>,
    ) -> Result<Option<(StoredCheckpoint, String)>, RecordsError> {
        let Some(checkpoint) = self.checkpoint(size).await? else {
            return Ok(None);
        };
        let mut note = checkpoint.note.clone();
        for c in self.cosignatures(Some(checkpoint.size)).await? {
            note.push_str(&c.line);
            note.push('\n');
        }
        Ok(Some((checkpoint, note)))
    }

    /// The cosignatures of the checkpoint of `size`, or, without a size, each witness's
    /// newest, by witness name.
    pub async fn cosignatures(
        &self,
        size: Option<u64>,
    ) -> Result<Vec<StoredCosignature>, RecordsError> {
        self.bounded(async {
            let query = match size {
                Some(size) => sqlx::query(
                    "SELECT size, witness, line, at FROM log_cosignatures WHERE size = $1 \
                     ORDER BY witness",
                )
                .bind(to_i64(size)),
                None => sqlx::query(
                    "SELECT c.size, c.witness, c.line, c.at FROM log_cosignatures c \
                     WHERE c.size = (SELECT MAX(size) FROM log_cosignatures d \
                                     WHERE d.witness = c.witness) ORDER BY c.witness",
                ),
            };
            let rows = query.fetch_all(self.pool()).await?;
            rows.iter()
                .map(|row| {
                    Ok(StoredCosignature {
                        size: to_u64(row.try_get(0)?),
                        witness: row.try_get(1)?,
                        line: row.try_get(2)?,
                        at: row.try_get(3)?,
                    })
                })
                .collect()
        })
        .await
    }
}

/// Inserts nodes as one JSON array of `[level, n, hex hash]`, thousands per statement.
async fn insert_nodes(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    nodes: &[(u64, Hash)],
) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Postgres => {
            "INSERT INTO log_nodes (level, n, hash) \
             SELECT (e->>0)::INTEGER, (e->>1)::BIGINT, decode(e->>2, 'hex') \
             FROM jsonb_array_elements($1::JSONB) e"
        }
        Backend::Sqlite => {
            "INSERT INTO log_nodes (level, n, hash) \
             SELECT value->>0, value->>1, unhex(value->>2) FROM json_each($1)"
        }
    };
    for chunk in nodes.chunks(5_000) {
        let json: Vec<Value> = chunk
            .iter()
            .map(|(index, hash)| {
                let (level, n) = transparency::split_stored_hash_index(*index);
                Value::from(vec![
                    Value::from(level),
                    Value::from(n),
                    Value::from(hex::encode(hash.0)),
                ])
            })
            .collect();
        sqlx::query(sql)
            .bind(Value::Array(json).to_string())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
