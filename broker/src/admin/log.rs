//! The log for auditors (auditor role): its state, the records themselves in log order (the
//! export `conformance log verify` checks against the tree), and proofs: a record's inclusion
//! in a tree, and a tree's consistency with an earlier one. Hashes are standard base64, as in
//! checkpoints.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use transparency::Hash;

use super::auth::{Admin, AdminError, Role};
use crate::app::Broker;
use crate::records::RecordsError;

/// The most records one answer of the export holds.
const MAX_RECORDS: u64 = 10_000;

fn b64(hash: &Hash) -> String {
    STANDARD.encode(hash.0)
}

fn unavailable(e: RecordsError) -> AdminError {
    match e {
        RecordsError::Invalid(reason) => AdminError::Conflict(format!(
            "the log's stored tree is not what it should be: {reason}"
        )),
        e => AdminError::Unavailable(e.to_string()),
    }
}

/// The query's numbers by name; a value that is not a whole number is refused.
fn numbers(raw: Option<&str>, names: &[&str]) -> Result<Vec<Option<u64>>, AdminError> {
    let mut values = vec![None; names.len()];
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            values[i] = Some(v.parse::<u64>().map_err(|_| {
                AdminError::Invalid(format!("{k} must be a whole number, not {v:?}"))
            })?);
        }
    }
    Ok(values)
}

/// The newest signed checkpoint's size, the default tree of a proof.
async fn newest_size(broker: &Broker) -> Result<u64, AdminError> {
    match broker.records.checkpoint(None).await.map_err(unavailable)? {
        Some(c) => Ok(c.size),
        None => broker.records.tree_size().await.map_err(unavailable),
    }
}

/// A tree size that a proof may name: at most the tree's.
async fn within_tree(broker: &Broker, size: u64) -> Result<(), AdminError> {
    let tree = broker.records.tree_size().await.map_err(unavailable)?;
    if size > tree {
        return Err(AdminError::Invalid(format!(
            "the tree has {tree} records so far; size {size} is beyond it"
        )));
    }
    Ok(())
}

/// `GET /admin/log`: sizes, the newest checkpoint, the log's keys and each witness's newest
/// cosignature.
pub async fn status(
    State(broker): State<Broker>,
    admin: Admin,
) -> Result<impl IntoResponse, AdminError> {
    super::reader(&admin)?;
    let records = &broker.records;
    let committed = records.log_size().await.map_err(unavailable)?;
    let tree = records.tree_size().await.map_err(unavailable)?;
    let checkpoint = records.checkpoint(None).await.map_err(unavailable)?;
    let cosigned = records.cosignatures(None).await.map_err(unavailable)?;
    let keys = match &broker.log {
        Some(log) => log
            .vkeys()
            .map_err(|e| AdminError::Unavailable(e.to_string()))?,
        None => Vec::new(),
    };
    let witnesses: Vec<Value> = broker
        .log
        .iter()
        .flat_map(|log| log.witnesses())
        .map(|w| {
            let newest = cosigned.iter().find(|c| c.witness == w.name());
            json!({
                "name": w.name(),
                "key": w.to_string(),
                "cosigned_size": newest.map(|c| c.size),
                "cosigned_at": newest.map(|c| super::rfc3339(c.at)),
            })
        })
        .collect();
    Ok(Json(json!({
        "origin": broker.log.as_ref().map(|l| l.origin()),
        "keys": keys,
        "committed": committed,
        "tree_size": tree,
        "checkpoint": checkpoint.map(|c| json!({
            "size": c.size,
            "root": b64(&c.root),
            "signed_at": super::rfc3339(c.at),
            "note": c.note,
        })),
        "witnesses": witnesses,
    })))
}

/// `GET /admin/log/records?from=&limit=`: the records from leaf `from` (default 0), at most
/// `limit` (default and most 10,000), in log order, each as the object its leaf hashes.
pub async fn records(
    State(broker): State<Broker>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Auditor)?;
    let q = numbers(raw.as_deref(), &["from", "limit"])?;
    let from = q[0].unwrap_or(0);
    let limit = q[1].unwrap_or(MAX_RECORDS);
    if !(1..=MAX_RECORDS).contains(&limit) {
        return Err(AdminError::Invalid(format!(
            "limit must be from 1 to {MAX_RECORDS}"
        )));
    }
    let committed = broker.records.log_size().await.map_err(unavailable)?;
    let to = committed.min(from.saturating_add(limit));
    let rows = if from < to {
        broker
            .records
            .log_records(from, to)
            .await
            .map_err(unavailable)?
    } else {
        Vec::new()
    };
    let next = (to < committed).then_some(to);
    let records: Vec<Value> = rows
        .into_iter()
        .map(|r| json!({ "leaf": r.leaf, "record": r.record }))
        .collect();
    Ok(Json(json!({
        "committed": committed,
        "records": records,
        "next": next,
    })))
}

/// `GET /admin/log/proof/inclusion?leaf=&size=`: the proof that record `leaf` is in the tree of
/// `size` records (default: the newest checkpoint's).
pub async fn inclusion(
    State(broker): State<Broker>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Auditor)?;
    let q = numbers(raw.as_deref(), &["leaf", "size"])?;
    let leaf = q[0].ok_or_else(|| AdminError::Invalid("leaf is required".into()))?;
    let size = match q[1] {
        Some(s) => s,
        None => newest_size(&broker).await?,
    };
    if leaf >= size {
        return Err(AdminError::Invalid(format!(
            "leaf {leaf} is not in a tree of {size} records"
        )));
    }
    within_tree(&broker, size).await?;
    let records = &broker.records;
    let proof = records
        .inclusion_proof(leaf, size)
        .await
        .map_err(unavailable)?;
    let root = records.tree_root(size).await.map_err(unavailable)?;
    let leaf_hash = records
        .node_hashes(0, leaf, 1)
        .await
        .map_err(unavailable)?
        .first()
        .map(b64);
    Ok(Json(json!({
        "leaf": leaf,
        "size": size,
        "root": b64(&root),
        "leaf_hash": leaf_hash,
        "proof": proof.iter().map(b64).collect::<Vec<_>>(),
    })))
}

/// `GET /admin/log/proof/consistency?from=&to=`: the proof that the tree of `from` records is
/// a prefix of the tree of `to` (default: the newest checkpoint's).
pub async fn consistency(
    State(broker): State<Broker>,
    admin: Admin,
    RawQuery(raw): RawQuery,
) -> Result<impl IntoResponse, AdminError> {
    admin.require(Role::Auditor)?;
    let q = numbers(raw.as_deref(), &["from", "to"])?;
    let from = q[0].ok_or_else(|| AdminError::Invalid("from is required".into()))?;
    let to = match q[1] {
        Some(s) => s,
        None => newest_size(&broker).await?,
    };
    if from == 0 || from > to {
        return Err(AdminError::Invalid(format!(
            "from must be from 1 to {to} (the larger tree)"
        )));
    }
    within_tree(&broker, to).await?;
    let records = &broker.records;
    let proof = records
        .consistency_proof(from, to)
        .await
        .map_err(unavailable)?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "from_root": b64(&records.tree_root(from).await.map_err(unavailable)?),
        "to_root": b64(&records.tree_root(to).await.map_err(unavailable)?),
        "proof": proof.iter().map(b64).collect::<Vec<_>>(),
    })))
}
