//! Tile paths ([c2sp.org/tlog-tiles](https://c2sp.org/tlog-tiles)): the log serves its Merkle
//! tree as static tiles, `tile/<L>/<N>[.p/<W>]`, which any reader can fetch and from which it
//! computes every proof itself.
//!
//! A tile has height 8: the level-`L` tile `N` holds up to 256 hashes, the hashes of the complete
//! subtrees of height `8L` numbered `N*256 ..`, that is the stored hashes at tree level `8L`.
//! A full tile has 256; the rightmost tile of a level is partial (`.p/<W>`, 1 to 255 hashes).
//! `<N>` is written in 3-digit groups, all but the last prefixed with `x`.
//!
//! `tlog_tiles::Tile::path` writes the older sumdb form (with a height segment), so paths are
//! formatted and parsed here. The parser is strict: each tile has exactly one path (no leading
//! zero groups, no leading zeroes in `L` or `W`), so caches and the served file tree agree.
//!
//! Entry bundles (`tile/entries/...`) are not served by this log: its entries carry personal
//! data and stay in the broker's database; readers get them through the audited export.

use std::fmt;

use tlog_tiles::{HASH_SIZE, Hash};

/// Hashes in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// Tree levels a tile spans.
pub const TILE_HEIGHT: u8 = 8;
/// The highest tile level the spec allows.
pub const MAX_LEVEL: u8 = 63;

/// Why a tile path or tile was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The path is an entry bundle path, which this log does not serve.
    #[error(
        "entry bundles (tile/entries/...) are not served by this log: its entries carry personal data"
    )]
    EntryBundle,
    /// The path is not a canonical hash tile path; the text says why.
    #[error("malformed tile path: {0}")]
    Malformed(&'static str),
    /// The tile's bytes are not `width * 32` long.
    #[error("tile {path} has {got} bytes, expected {expected}")]
    WrongLength {
        /// The tile's path.
        path: String,
        /// `width * 32`.
        expected: usize,
        /// The length received.
        got: usize,
    },
}

/// One hash tile: its level, its index within the level and its width (256 for a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TilePath {
    /// The tile level `L` (0 holds leaf hashes), at most 63.
    pub level: u8,
    /// The tile index `N` within its level.
    pub index: u64,
    /// The number of hashes, 1 to 256; 256 is a full tile.
    pub width: u16,
}

/// A decimal number with no leading zeroes (only `0` itself starts with `0`).
fn parse_decimal(s: &str, what: &'static str) -> Result<u64, TileError> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return Err(TileError::Malformed(what));
    }
    s.parse().map_err(|_| TileError::Malformed(what))
}

impl TilePath {
    /// Whether the tile has all 256 hashes.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// Parses `tile/<L>/<N>[.p/<W>]` strictly (see the module doc); refuses entry bundles.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let rest = path
            .strip_prefix("tile/")
            .ok_or(TileError::Malformed("must start with tile/ (no leading /)"))?;
        if rest == "entries" || rest.starts_with("entries/") {
            return Err(TileError::EntryBundle);
        }
        let (rest, width) = match rest.split_once(".p/") {
            Some((rest, w)) => {
                let w = parse_decimal(w, "the width W is not a decimal without leading zeroes")?;
                if !(1..u64::from(TILE_WIDTH)).contains(&w) {
                    return Err(TileError::Malformed("a partial tile's width is 1 to 255"));
                }
                (rest, w as u16)
            }
            None => (rest, TILE_WIDTH),
        };
        let (level, groups) = rest
            .split_once('/')
            .ok_or(TileError::Malformed("expected tile/<L>/<N>"))?;
        let level = parse_decimal(level, "the level L is not a decimal without leading zeroes")?;
        if level > u64::from(MAX_LEVEL) {
            return Err(TileError::Malformed("the level L is at most 63"));
        }
        let groups: Vec<&str> = groups.split('/').collect();
        let mut index: u64 = 0;
        for (i, group) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let digits = if last {
                *group
            } else {
                group.strip_prefix('x').ok_or(TileError::Malformed(
                    "all but the last group of N start with x",
                ))?
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TileError::Malformed("N is written in groups of 3 digits"));
            }
            if i == 0 && !last && digits == "000" {
                return Err(TileError::Malformed("N has a leading zero group"));
            }
            let value: u64 = digits
                .parse()
                .map_err(|_| TileError::Malformed("N is written in groups of 3 digits"))?;
            index = index
                .checked_mul(1000)
                .and_then(|n| n.checked_add(value))
                .ok_or(TileError::Malformed("N is out of range"))?;
        }
        let tile = TilePath {
            level: level as u8,
            index,
            width,
        };
        if !tile.fits_a_tree() {
            return Err(TileError::Malformed(
                "the tile lies beyond any tree of up to 2^64 - 1 leaves",
            ));
        }
        Ok(tile)
    }

    /// Whether the tile can exist: its last leaf falls within a tree of at most 2^64 - 1 leaves
    /// (so at most level 7), which also keeps [`node_range`] exact.
    fn fits_a_tree(&self) -> bool {
        let span = || -> Option<u128> {
            let below = 256u128.checked_pow(u32::from(self.level))?;
            let start = u128::from(self.index)
                .checked_mul(below)?
                .checked_mul(u128::from(TILE_WIDTH))?;
            start.checked_add(u128::from(self.width).checked_mul(below)?)
        };
        matches!(span(), Some(end) if end <= u128::from(u64::MAX))
    }
}

impl fmt::Display for TilePath {
    /// `tile/<L>/<N>[.p/<W>]`, with `N` in `x`-prefixed 3-digit groups.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        write!(f, "tile/{}/", self.level)?;
        for (i, group) in groups.iter().rev().enumerate() {
            if i + 1 == groups.len() {
                write!(f, "{group:03}")?;
            } else {
                write!(f, "x{group:03}/")?;
            }
        }
        if !self.is_full() {
            write!(f, ".p/{}", self.width)?;
        }
        Ok(())
    }
}

/// Every hash tile of a tree of `tree_size` leaves, full and partial, level by level from level
/// 0 and in index order: what a verifier fetches to check the whole tree. The level-`L` tiles
/// cover `tree_size / 256^L` hashes: that many over 256 full tiles, and a partial one for the
/// remainder if any. An empty tree has no tiles.
pub fn tiles_for(tree_size: u64) -> Vec<TilePath> {
    let mut tiles = Vec::new();
    let mut hashes = tree_size;
    let mut level: u8 = 0;
    while hashes > 0 {
        let full = hashes / u64::from(TILE_WIDTH);
        tiles.extend((0..full).map(|index| TilePath {
            level,
            index,
            width: TILE_WIDTH,
        }));
        let partial = (hashes % u64::from(TILE_WIDTH)) as u16;
        if partial > 0 {
            tiles.push(TilePath {
                level,
                index: full,
                width: partial,
            });
        }
        hashes = full;
        level += 1;
    }
    tiles
}

/// Where a tile's hashes sit in the tree: `(tree level, index of the first node, count)`. The
/// nodes are the stored hashes `tlog_tiles::stored_hash_index(level, first + i)` for `i < count`.
pub fn node_range(tile: &TilePath) -> (u8, u64, u64) {
    (
        tile.level.saturating_mul(TILE_HEIGHT),
        tile.index.saturating_mul(u64::from(TILE_WIDTH)),
        u64::from(tile.width),
    )
}

/// The hashes in a tile's bytes, which must be exactly `width * 32` long.
pub fn hashes_of(tile: &TilePath, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    let expected = usize::from(tile.width) * HASH_SIZE;
    if bytes.len() != expected {
        return Err(TileError::WrongLength {
            path: tile.to_string(),
            expected,
            got: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|chunk| {
            let mut hash = [0u8; HASH_SIZE];
            hash.copy_from_slice(chunk);
            Hash(hash)
        })
        .collect())
}

#[cfg(test)]
mod tests;
