//! The audit log's formats and tree math, in one place so that the broker, which keeps the log,
//! and the auditor's tool, which checks it, run the same code.
//!
//! The log is a Merkle tree hashed as RFC 6962 / RFC 9162 specify, over the canonical encoding
//! of each record ([`leaf`]). Its signed tree heads are [C2SP checkpoints](checkpoint), signed
//! notes ([`note`]) that witnesses co-sign ([`cosignature`]); its hashes are served as
//! [C2SP tlog-tiles](tiles). The tree math itself is `tlog_tiles` (a port of Go's
//! `golang.org/x/mod/sumdb/tlog`); [`tree`] adds what a store-backed log needs around it, and
//! [`compare`] says what an auditor concludes when an export and the tree disagree. [`proof`]
//! checks, offline, the inclusion proof bundle a person downloads for one of their records.
//!
//! Pure: no network, no database, no clock. Timestamps are arguments.

pub mod checkpoint;
pub mod compare;
pub mod cosignature;
pub mod leaf;
pub mod note;
pub mod proof;
pub mod tiles;
pub mod tree;

#[cfg(test)]
mod testing;

/// The tree math callers need, re-exported so that they depend on this crate alone.
pub use tlog_tiles::{
    EMPTY_HASH, Error as TlogError, HASH_SIZE, Hash, HashReader, RecordProof, TreeProof,
    check_record, check_tree, node_hash, prove_record, prove_tree, record_hash,
    split_stored_hash_index, stored_hash_index, stored_hashes_for_record_hash, tree_hash,
};
