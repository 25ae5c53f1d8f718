//! What a reader computes from the log's hash tiles, with no trust in the log: the whole tree
//! checked against its checkpoint (the auditor), and a consistency proof between two tree sizes
//! (the witness). Pure: the tiles are fetched by the caller.

use std::collections::HashMap;

use transparency::checkpoint::Checkpoint;
use transparency::tiles::{TILE_HEIGHT, TILE_WIDTH, TilePath, hashes_of, tiles_for};
use transparency::tree::{MapReader, needed_indexes, root_from_leaves};
use transparency::{Hash, TreeProof, prove_tree, split_stored_hash_index};

use super::{LogError, failed};

/// The hashes of fetched tiles, by `(tile level, tile index)`.
#[derive(Debug, Default)]
pub(crate) struct TileHashes(HashMap<(u8, u64), (TilePath, Vec<Hash>)>);

impl TileHashes {
    /// Each tile's bytes read as hashes; a tile of the wrong length fails the check.
    pub(crate) fn read(fetched: Vec<(TilePath, Vec<u8>)>) -> Result<Self, LogError> {
        let mut tiles = HashMap::with_capacity(fetched.len());
        for (tile, bytes) in fetched {
            let hashes = hashes_of(&tile, &bytes).map_err(|e| {
                failed(format!(
                    "the log serves a malformed tile: {e} (a tile of width W is W * 32 bytes)"
                ))
            })?;
            tiles.insert((tile.level, tile.index), (tile, hashes));
        }
        Ok(Self(tiles))
    }

    fn get(&self, level: u8, index: u64) -> Option<&(TilePath, Vec<Hash>)> {
        self.0.get(&(level, index))
    }
}

/// How a whole tree's tiles were found: its leaf hashes, and how many tiles were checked.
#[derive(Debug)]
pub(crate) struct CheckedTree {
    pub leaves: Vec<Hash>,
    pub tiles: usize,
}

/// Checks the tiles of the whole tree of `checkpoint` ([`tiles_for`] its size, all fetched):
/// the level-0 tiles' leaf hashes hash to the signed root, and every entry of an upper tile is
/// the hash of the 256 hashes of the full tile below it. Returns the leaves.
pub(crate) fn check_whole_tree(
    checkpoint: &Checkpoint,
    tiles: &TileHashes,
) -> Result<CheckedTree, LogError> {
    let wanted = tiles_for(checkpoint.size);
    let mut leaves: Vec<Hash> = Vec::new();
    for tile in &wanted {
        let Some((served, hashes)) = tiles.get(tile.level, tile.index) else {
            return Err(failed(format!("{tile} was not fetched")));
        };
        if served.width != tile.width {
            return Err(failed(format!(
                "{served} was fetched where {tile} is needed"
            )));
        }
        if tile.level == 0 {
            leaves.extend_from_slice(hashes);
        }
    }
    if leaves.len() as u64 != checkpoint.size {
        return Err(failed(format!(
            "the level-0 tiles hold {} leaf hashes; the checkpoint says {}",
            leaves.len(),
            checkpoint.size
        )));
    }
    let root = root_from_leaves(&leaves);
    if root != checkpoint.root {
        return Err(failed(format!(
            "the {} leaf hashes of the level-0 tiles hash to the root {root}, but the signed \
             checkpoint of {} records says {}: the tiles are not the tree that was signed",
            leaves.len(),
            checkpoint.size,
            checkpoint.root
        )));
    }
    for tile in wanted.iter().filter(|t| t.level > 0) {
        let Some((_, hashes)) = tiles.get(tile.level, tile.index) else {
            return Err(failed(format!("{tile} was not fetched")));
        };
        for (i, entry) in hashes.iter().enumerate() {
            let below_index = tile.index * u64::from(TILE_WIDTH) + i as u64;
            let below = tiles
                .get(tile.level - 1, below_index)
                .filter(|(below, _)| below.is_full());
            let Some((below, below_hashes)) = below else {
                return Err(failed(format!(
                    "{tile} entry {i} has no full tile below it at level {}",
                    tile.level - 1
                )));
            };
            let computed = root_from_leaves(below_hashes);
            if computed != *entry {
                return Err(failed(format!(
                    "{tile} entry {i} is {entry}, but the 256 hashes of {below} below it hash to \
                     {computed}: the log's upper tiles do not match its leaves"
                )));
            }
        }
    }
    Ok(CheckedTree {
        leaves,
        tiles: wanted.len(),
    })
}

/// Where a stored hash (`tlog_tiles` numbering) is found in the tiles: the tile (among those of
/// the tree of `size`), and the range of that tile's entries whose Merkle hash it is. A tile
/// of level `L` holds the hashes at tree level `8L`; a stored hash at a level between is the
/// hash of 2, 4, ... 128 consecutive entries of one tile.
fn locate(
    index: u64,
    tree_tiles: &HashMap<(u8, u64), TilePath>,
) -> Option<(TilePath, usize, usize)> {
    let (level, n) = split_stored_hash_index(index);
    let tile_level = level / TILE_HEIGHT;
    let within = level % TILE_HEIGHT;
    let first = n.checked_shl(u32::from(within))?;
    let width = u64::from(TILE_WIDTH);
    let tile = tree_tiles.get(&(tile_level, first / width))?;
    let start = usize::try_from(first % width).ok()?;
    let end = start + (1usize << within);
    (end <= usize::from(tile.width)).then_some((*tile, start, end))
}

/// The tiles of the tree of `new` records that hold every hash a consistency proof from `old`
/// needs (`transparency::tree::needed_indexes` of `prove_tree`).
pub(crate) fn tiles_for_proof(old: u64, new: u64) -> Result<Vec<TilePath>, LogError> {
    let indexes = needed_indexes(|r| prove_tree(new, old, r))
        .map_err(|e| failed(format!("no consistency proof from {old} to {new}: {e}")))?;
    let tree_tiles = by_position(new);
    let mut tiles: Vec<TilePath> = Vec::new();
    for index in indexes {
        let (tile, _, _) = locate(index, &tree_tiles).ok_or_else(|| {
            failed(format!(
                "stored hash {index} lies outside the tree of {new}"
            ))
        })?;
        if !tiles.contains(&tile) {
            tiles.push(tile);
        }
    }
    Ok(tiles)
}

fn by_position(size: u64) -> HashMap<(u8, u64), TilePath> {
    tiles_for(size)
        .into_iter()
        .map(|t| ((t.level, t.index), t))
        .collect()
}

/// The consistency proof from the tree of `old` records to the tree of `new`, computed from
/// the tiles [`tiles_for_proof`] names. Unchecked: the caller checks it against both roots.
pub(crate) fn proof_from_tiles(
    old: u64,
    new: u64,
    tiles: &TileHashes,
) -> Result<TreeProof, LogError> {
    let indexes = needed_indexes(|r| prove_tree(new, old, r))
        .map_err(|e| failed(format!("no consistency proof from {old} to {new}: {e}")))?;
    let tree_tiles = by_position(new);
    let mut reader = MapReader::new();
    for index in indexes {
        let (tile, start, end) = locate(index, &tree_tiles).ok_or_else(|| {
            failed(format!(
                "stored hash {index} lies outside the tree of {new}"
            ))
        })?;
        let (_, hashes) = tiles
            .get(tile.level, tile.index)
            .filter(|(served, _)| served.width == tile.width)
            .ok_or_else(|| failed(format!("{tile} was not fetched")))?;
        let entries = hashes
            .get(start..end)
            .ok_or_else(|| failed(format!("{tile} is shorter than its width")))?;
        reader.insert(index, root_from_leaves(entries));
    }
    prove_tree(new, old, &reader)
        .map_err(|e| failed(format!("no consistency proof from {old} to {new}: {e}")))
}
