//! The Merkle tree around `tlog_tiles`, for a log whose hashes live in a database.
//!
//! `tlog_tiles` addresses every complete subtree by its *stored hash index* and asks a
//! [`HashReader`] for the hashes it needs. Which indexes a `tree_hash`, `prove_record` or
//! `prove_tree` call asks for depends only on the sizes, never on hash values, so a caller first
//! runs the call on a [`RecordingReader`] (or [`needed_indexes`]) to learn the indexes, fetches
//! exactly those in one query, and runs the call again on a [`MapReader`] holding them.
//!
//! Appending works the same way: [`append`] needs only the hashes of the complete subtrees on
//! the tree's right edge ([`frontier_indexes`]) and returns every new stored hash to write.
//!
//! The verifier's side recomputes from the leaves: [`root_from_leaves`] is RFC 6962's MTH written
//! out directly, independent of the stored-hash machinery, and [`subtree_hash`] and [`tile_hashes`]
//! give what each tile should hold.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog_tiles::{
    EMPTY_HASH, Error, Hash, HashReader, node_hash, stored_hash_index,
    stored_hashes_for_record_hash,
};

use crate::tiles::{TilePath, node_range};

/// Stored hashes by index, as fetched from storage. Asking for a missing index is an error, so
/// a query that fetched too little fails instead of computing a wrong root.
#[derive(Debug, Clone, Default)]
pub struct MapReader(pub HashMap<u64, Hash>);

impl MapReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one stored hash.
    pub fn insert(&mut self, index: u64, hash: Hash) {
        self.0.insert(index, hash);
    }

    /// Whether the stored hash at `index` is held.
    pub fn contains(&self, index: u64) -> bool {
        self.0.contains_key(&index)
    }

    /// The stored hash at `index`, if held.
    pub fn get(&self, index: u64) -> Option<Hash> {
        self.0.get(&index).copied()
    }
}

impl FromIterator<(u64, Hash)> for MapReader {
    fn from_iter<I: IntoIterator<Item = (u64, Hash)>>(iter: I) -> Self {
        MapReader(iter.into_iter().collect())
    }
}

impl HashReader for MapReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|index| {
                self.0.get(index).copied().ok_or_else(|| {
                    Error::InvalidInput(format!("stored hash {index} was not fetched"))
                })
            })
            .collect()
    }
}

/// Answers every request with zero hashes and records the indexes asked for. The results of the
/// call are meaningless; the recorded indexes are what it needs.
#[derive(Debug, Default)]
pub struct RecordingReader {
    asked: RefCell<Vec<u64>>,
}

impl RecordingReader {
    /// A reader that has recorded nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The indexes asked for so far, sorted and without repeats.
    pub fn indexes(&self) -> Vec<u64> {
        let mut indexes = self.asked.borrow().clone();
        indexes.sort_unstable();
        indexes.dedup();
        indexes
    }
}

impl HashReader for RecordingReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        self.asked.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash::default(); indexes.len()])
    }
}

/// The stored hash indexes a tree computation needs, e.g.
/// `needed_indexes(|r| prove_record(size, leaf, r))`: run it, fetch them, run it on a
/// [`MapReader`].
pub fn needed_indexes<T>(
    f: impl FnOnce(&RecordingReader) -> Result<T, Error>,
) -> Result<Vec<u64>, Error> {
    let reader = RecordingReader::new();
    f(&reader)?;
    Ok(reader.indexes())
}

/// The stored indexes of the complete subtrees on the right edge of a tree of `size` leaves,
/// largest first: what [`append`] needs from storage, and what `tree_hash(size)` reads.
pub fn frontier_indexes(size: u64) -> Vec<u64> {
    tlog_tiles::sub_tree_index(0, size, Vec::new())
}

/// New stored hashes first, then the reader underneath.
struct Layered<'a, R> {
    new: &'a HashMap<u64, Hash>,
    below: &'a R,
}

impl<R: HashReader> HashReader for Layered<'_, R> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        let missing: Vec<u64> = indexes
            .iter()
            .copied()
            .filter(|i| !self.new.contains_key(i))
            .collect();
        let mut fetched = self.below.read_hashes(&missing)?.into_iter();
        indexes
            .iter()
            .map(|i| match self.new.get(i) {
                Some(hash) => Ok(*hash),
                None => fetched.next().ok_or(Error::BadMath),
            })
            .collect()
    }
}

/// Every stored hash `(index, hash)` that appending `leaves` (leaf hashes) at positions `start..`
/// creates, in index order. `frontier` must hold the stored hashes of the tree of `start` leaves
/// at [`frontier_indexes`]`(start)`; hashes created by earlier leaves of the batch are used as
/// they are computed.
pub fn append(
    start: u64,
    leaves: &[Hash],
    frontier: &impl HashReader,
) -> Result<Vec<(u64, Hash)>, Error> {
    let mut new: HashMap<u64, Hash> = HashMap::new();
    let mut written = Vec::new();
    for (offset, leaf) in leaves.iter().enumerate() {
        let n = start
            .checked_add(offset as u64)
            .ok_or_else(|| Error::InvalidInput("tree size overflows".into()))?;
        let reader = Layered {
            new: &new,
            below: frontier,
        };
        let hashes = stored_hashes_for_record_hash(n, *leaf, &reader)?;
        let first = stored_hash_index(0, n);
        for (i, hash) in hashes.into_iter().enumerate() {
            let index = first + i as u64;
            new.insert(index, hash);
            written.push((index, hash));
        }
    }
    Ok(written)
}

/// RFC 6962's Merkle tree hash over leaf hashes, computed directly: SHA-256("") for no leaves,
/// the leaf hash for one, else the node hash of the largest power-of-two prefix and the rest.
pub fn root_from_leaves(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_HASH,
        1 => leaves[0],
        n => {
            // The largest power of two below n.
            let split = 1 << (n - 1).ilog2();
            let (left, right) = leaves.split_at(split);
            node_hash(root_from_leaves(left), root_from_leaves(right))
        }
    }
}

/// The hash of the complete subtree at tree `level` and `index` (leaves `index * 2^level ..
/// (index + 1) * 2^level`), if all its leaves are given.
pub fn subtree_hash(leaves: &[Hash], level: u8, index: u64) -> Option<Hash> {
    let width = 1u64.checked_shl(u32::from(level))?;
    let start = usize::try_from(index.checked_mul(width)?).ok()?;
    let end = start.checked_add(usize::try_from(width).ok()?)?;
    leaves.get(start..end).map(root_from_leaves)
}

/// What a tile should hold, recomputed from all the leaves of the tree: the subtree hash of each
/// of its nodes. `None` if the leaves do not cover the tile. A verifier compares it with the
/// served tile; for an upper-level tile this checks each entry against the 256-leaf blocks below.
pub fn tile_hashes(leaves: &[Hash], tile: &TilePath) -> Option<Vec<Hash>> {
    // A tile above level 7 lies beyond any tree of at most 2^64 - 1 leaves.
    if tile.level > 7 {
        return None;
    }
    let (level, first, count) = node_range(tile);
    (0..count)
        .map(|i| subtree_hash(leaves, level, first.checked_add(i)?))
        .collect()
}

/// Why an inclusion proof does not show a leaf in a tree. Each case names what did not hold, so
/// that a person checking their own record reads "the proof is one hash short" rather than
/// "verification failed".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InclusionError {
    /// The leaf index is not below the tree size: no proof can put it in that tree.
    #[error("leaf {leaf} is not in a tree of {size} leaves")]
    LeafOutOfRange {
        /// The leaf index.
        leaf: u64,
        /// The tree size.
        size: u64,
    },
    /// The path has more or fewer hashes than the leaf's position in the tree requires.
    #[error(
        "the proof has {given} hashes, but leaf {leaf} of a tree of {size} leaves needs {needed}"
    )]
    WrongLength {
        /// The leaf index.
        leaf: u64,
        /// The tree size.
        size: u64,
        /// Hashes in the proof.
        given: usize,
        /// Hashes the position requires.
        needed: usize,
    },
    /// The path, followed from the leaf, ends at another root.
    #[error("the proof leads from the leaf to the root {computed}, not to {expected}")]
    RootMismatch {
        /// The root the path leads to.
        computed: Hash,
        /// The root it should lead to.
        expected: Hash,
    },
}

/// How many hashes an inclusion proof for `leaf` in a tree of `size` leaves holds: one per level
/// the leaf's subtree is merged at, which depends on the position alone. Knowing it up front lets
/// a short or long path be named as such instead of as a wrong root.
pub fn inclusion_path_len(leaf: u64, size: u64) -> Option<usize> {
    if leaf >= size {
        return None;
    }
    // RFC 9162 2.1.3.2 without the hashing: count the steps until `sn` reaches 0.
    let (mut f, mut s) = (leaf, size - 1);
    let mut needed = 0;
    while s > 0 {
        if f & 1 == 0 && f == s {
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        }
        f >>= 1;
        s >>= 1;
        needed += 1;
    }
    Some(needed)
}

/// The root an RFC 6962 inclusion proof (audit path, leaf to root) leads to from `leaf_hash` at
/// position `leaf` in a tree of `size` leaves: RFC 9162 2.1.3.2, written out directly rather
/// than through `tlog_tiles::check_record`, so that an offline verifier and the tree code that
/// made the proof are independent, and so that a wrong length is told apart from a wrong hash.
pub fn inclusion_root(
    leaf: u64,
    size: u64,
    leaf_hash: Hash,
    path: &[Hash],
) -> Result<Hash, InclusionError> {
    let needed =
        inclusion_path_len(leaf, size).ok_or(InclusionError::LeafOutOfRange { leaf, size })?;
    if path.len() != needed {
        return Err(InclusionError::WrongLength {
            leaf,
            size,
            given: path.len(),
            needed,
        });
    }
    let (mut f, mut s) = (leaf, size - 1);
    let mut r = leaf_hash;
    for p in path {
        if f & 1 == 1 || f == s {
            r = node_hash(*p, r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(r, *p);
        }
        f >>= 1;
        s >>= 1;
    }
    Ok(r)
}

/// Checks that `path` proves `leaf_hash` is leaf `leaf` of the tree of `size` leaves whose root
/// is `root` (RFC 9162 2.1.3.2).
pub fn verify_inclusion(
    leaf: u64,
    size: u64,
    leaf_hash: Hash,
    path: &[Hash],
    root: Hash,
) -> Result<(), InclusionError> {
    let computed = inclusion_root(leaf, size, leaf_hash, path)?;
    if computed != root {
        return Err(InclusionError::RootMismatch {
            computed,
            expected: root,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
