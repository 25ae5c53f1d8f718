use tlog_tiles::{check_record, check_tree, prove_record, prove_tree, record_hash, tree_hash};

use super::*;
use crate::testing::{hash_hex, leaves};
use crate::tiles::tiles_for;

/// A whole store: every stored hash of a tree of these leaves, appended in uneven batches, each
/// batch given only the frontier of the tree before it (so `frontier_indexes` is enough).
fn store(leaves: &[Hash]) -> MapReader {
    let mut all = MapReader::new();
    let mut start = 0usize;
    let mut batch = 1usize;
    while start < leaves.len() {
        let end = (start + batch).min(leaves.len());
        let frontier: MapReader = frontier_indexes(start as u64)
            .into_iter()
            .map(|i| (i, all.0[&i]))
            .collect();
        for (index, hash) in append(start as u64, &leaves[start..end], &frontier).unwrap() {
            assert!(all.0.insert(index, hash).is_none(), "stored twice: {index}");
        }
        start = end;
        batch = batch * 3 % 97 + 1;
    }
    assert_eq!(
        all.0.len() as u64,
        tlog_tiles::stored_hash_count(leaves.len() as u64)
    );
    all
}

/// Runs a tree computation the broker's way: learn the indexes, fetch only those, run again.
fn two_pass<T>(f: impl Fn(&Ref<'_>) -> Result<T, Error>, full: &MapReader) -> T {
    let indexes = needed_indexes(|r| f(&Ref(r))).unwrap();
    let fetched: MapReader = indexes.iter().map(|i| (*i, full.0[i])).collect();
    f(&Ref(&fetched)).unwrap()
}

/// `tlog_tiles`' functions are generic; this lets `two_pass` hand them either reader.
trait HashReaderRef {
    fn read(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error>;
}
impl<R: HashReader> HashReaderRef for R {
    fn read(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        self.read_hashes(indexes)
    }
}
struct Ref<'a>(&'a dyn HashReaderRef);
impl HashReader for Ref<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        self.0.read(indexes)
    }
}

#[test]
fn rfc6962_known_answers() {
    // The empty tree is SHA-256 of the empty string.
    assert_eq!(
        root_from_leaves(&[]),
        hash_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    // The reference test vectors of RFC 6962's implementation (certificate-transparency),
    // recomputed independently: leaf inputs and the root of each prefix.
    let inputs: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let leaves: Vec<Hash> = inputs.iter().map(|d| record_hash(d)).collect();
    let all = store(&leaves);
    for n in 1..=8 {
        let expected = hash_hex(roots[n - 1]);
        assert_eq!(root_from_leaves(&leaves[..n]), expected, "size {n}");
        assert_eq!(tree_hash(n as u64, &all).unwrap(), expected, "size {n}");
    }
    // One leaf: the root is the leaf hash.
    assert_eq!(root_from_leaves(&leaves[..1]), leaves[0]);
}

#[test]
fn both_ways_agree_for_every_size_to_600() {
    let leaves = leaves(600);
    let all = store(&leaves);
    for n in 0..=600u64 {
        let direct = root_from_leaves(&leaves[..n as usize]);
        assert_eq!(tree_hash(n, &all).unwrap(), direct, "size {n}");
        assert_eq!(two_pass(|r| tree_hash(n, r), &all), direct, "size {n}");
        // tree_hash reads exactly the frontier.
        assert_eq!(
            needed_indexes(|r| tree_hash(n, r)).unwrap(),
            {
                let mut f = frontier_indexes(n);
                f.sort_unstable();
                f
            },
            "size {n}"
        );
    }
}

#[test]
fn a_tree_crossing_65536_agrees() {
    let leaves = leaves(65_536 + 3);
    let all = store(&leaves);
    for n in [65_535u64, 65_536, 65_537, 65_539] {
        assert_eq!(
            tree_hash(n, &all).unwrap(),
            root_from_leaves(&leaves[..n as usize])
        );
    }
}

#[test]
fn inclusion_proofs_check_and_another_tree_refuses_them() {
    let leaves = leaves(600);
    let other = crate::testing::leaves(601)[1..].to_vec();
    let all = store(&leaves);
    for (t, n) in [
        (1u64, 0u64),
        (2, 1),
        (7, 3),
        (256, 255),
        (257, 256),
        (600, 0),
        (600, 599),
        (600, 300),
    ] {
        let proof = two_pass(|r| prove_record(t, n, r), &all);
        let root = root_from_leaves(&leaves[..t as usize]);
        check_record(&proof, t, root, n, leaves[n as usize]).unwrap();
        let other_root = root_from_leaves(&other[..t as usize]);
        assert!(check_record(&proof, t, other_root, n, leaves[n as usize]).is_err());
        assert!(check_record(&proof, t, root, n, other[n as usize]).is_err());
        if t > 1 {
            let m = (n + 1) % t;
            assert!(check_record(&proof, t, root, m, leaves[m as usize]).is_err());
        }
    }
}

#[test]
fn consistency_proofs_check_and_another_tree_refuses_them() {
    let leaves = leaves(600);
    let other = crate::testing::leaves(601)[1..].to_vec();
    let all = store(&leaves);
    for (t, n) in [
        (1u64, 1u64),
        (2, 1),
        (7, 3),
        (256, 255),
        (257, 256),
        (600, 1),
        (600, 256),
        (600, 599),
    ] {
        let proof = two_pass(|r| prove_tree(t, n, r), &all);
        let new = root_from_leaves(&leaves[..t as usize]);
        let old = root_from_leaves(&leaves[..n as usize]);
        check_tree(&proof, t, new, n, old).unwrap();
        let forked = root_from_leaves(&other[..n as usize]);
        assert!(check_tree(&proof, t, new, n, forked).is_err());
        if t > n {
            let forked_new = root_from_leaves(&other[..t as usize]);
            assert!(check_tree(&proof, t, forked_new, n, old).is_err());
        }
    }
}

#[test]
fn a_map_reader_refuses_what_it_was_not_given() {
    let leaves = leaves(10);
    let all = store(&leaves);
    let partial: MapReader = frontier_indexes(9).iter().map(|i| (*i, all.0[i])).collect();
    assert!(tree_hash(9, &partial).is_ok());
    assert!(tree_hash(10, &partial).is_err());
    // Leaf 11 (0b1011) completes subtrees with leaf 10 and leaves 8..10: it needs them.
    assert!(append(11, &leaves[..1], &MapReader::new()).is_err());
}

#[test]
fn the_recording_reader_records_and_answers_zeroes() {
    let reader = RecordingReader::new();
    assert_eq!(
        reader.read_hashes(&[5, 1, 5]).unwrap(),
        vec![Hash::default(); 3]
    );
    reader.read_hashes(&[0]).unwrap();
    assert_eq!(reader.indexes(), [0, 1, 5]);
}

#[test]
fn the_frontier_is_the_complete_subtrees_on_the_right_edge() {
    assert!(frontier_indexes(0).is_empty());
    assert_eq!(frontier_indexes(1), [stored_hash_index(0, 0)]);
    assert_eq!(frontier_indexes(4), [stored_hash_index(2, 0)]);
    assert_eq!(
        frontier_indexes(7),
        [
            stored_hash_index(2, 0),
            stored_hash_index(1, 2),
            stored_hash_index(0, 6)
        ]
    );
}

#[test]
fn served_tiles_equal_tiles_recomputed_from_the_leaves() {
    let leaves = leaves(65_536 + 300);
    let all = store(&leaves);
    for tile in tiles_for(leaves.len() as u64) {
        let (level, first, count) = node_range(&tile);
        let served: Vec<Hash> = (first..first + count)
            .map(|n| all.0[&stored_hash_index(level, n)])
            .collect();
        assert_eq!(tile_hashes(&leaves, &tile).unwrap(), served, "{tile}");
    }
    // A level 1 entry is the root of the full level 0 tile below it.
    let upper = tile_hashes(&leaves, &TilePath::parse("tile/1/001.p/1").unwrap()).unwrap();
    assert_eq!(upper[0], root_from_leaves(&leaves[65_536..65_536 + 256]));
    assert_eq!(subtree_hash(&leaves, 8, 256), Some(upper[0]));
    // Leaves that do not reach the tile.
    assert_eq!(
        tile_hashes(&leaves[..10], &TilePath::parse("tile/0/000").unwrap()),
        None
    );
    assert_eq!(subtree_hash(&leaves, 17, 0), None);
}

/// RFC 6962 2.1.1's PATH(m, D[n]), written out from its definition over `root_from_leaves`: the
/// expected audit path, leaf to root.
fn rfc6962_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = 1 << (leaves.len() - 1).ilog2();
    let (left, right) = leaves.split_at(k);
    let mut path;
    if m < k {
        path = rfc6962_path(m, left);
        path.push(root_from_leaves(right));
    } else {
        path = rfc6962_path(m - k, right);
        path.push(root_from_leaves(left));
    }
    path
}

#[test]
fn every_inclusion_path_to_17_leaves_leads_to_the_root() {
    let all = leaves(17);
    for size in 1..=17u64 {
        let tree = &all[..size as usize];
        let root = root_from_leaves(tree);
        for leaf in 0..size {
            let path = rfc6962_path(leaf as usize, tree);
            assert_eq!(inclusion_path_len(leaf, size), Some(path.len()));
            let hash = tree[leaf as usize];
            assert_eq!(inclusion_root(leaf, size, hash, &path), Ok(root));
            verify_inclusion(leaf, size, hash, &path, root).unwrap();
        }
    }
}

#[test]
fn inclusion_paths_agree_with_tlog_tiles_proofs() {
    let leaves = leaves(600);
    let all = store(&leaves);
    for (size, leaf) in [
        (1u64, 0u64),
        (7, 6),
        (256, 255),
        (257, 256),
        (600, 0),
        (600, 599),
    ] {
        let proof = two_pass(|r| prove_record(size, leaf, r), &all);
        assert_eq!(proof, rfc6962_path(leaf as usize, &leaves[..size as usize]));
        let root = root_from_leaves(&leaves[..size as usize]);
        verify_inclusion(leaf, size, leaves[leaf as usize], &proof, root).unwrap();
    }
}

#[test]
fn an_inclusion_proof_altered_in_any_way_fails() {
    let all = leaves(17);
    for size in 1..=17u64 {
        let tree = &all[..size as usize];
        let root = root_from_leaves(tree);
        for leaf in 0..size {
            let path = rfc6962_path(leaf as usize, tree);
            let hash = tree[leaf as usize];
            // Any other position, with the same path and leaf.
            for other in (0..size).filter(|&o| o != leaf) {
                assert!(verify_inclusion(other, size, hash, &path, root).is_err());
            }
            // Another leaf hash at the same position.
            let another = crate::testing::leaves(18)[17];
            assert!(matches!(
                verify_inclusion(leaf, size, another, &path, root),
                Err(InclusionError::RootMismatch { .. })
            ));
            // One bit of one path hash flipped.
            for i in 0..path.len() {
                let mut flipped = path.clone();
                flipped[i].0[i % 32] ^= 0x80;
                assert!(matches!(
                    verify_inclusion(leaf, size, hash, &flipped, root),
                    Err(InclusionError::RootMismatch { .. })
                ));
            }
            // A path one hash short, or one hash long.
            if let Some((_, short)) = path.split_last() {
                assert_eq!(
                    verify_inclusion(leaf, size, hash, short, root),
                    Err(InclusionError::WrongLength {
                        leaf,
                        size,
                        given: path.len() - 1,
                        needed: path.len()
                    })
                );
            }
            let mut long = path.clone();
            long.push(root);
            assert!(matches!(
                verify_inclusion(leaf, size, hash, &long, root),
                Err(InclusionError::WrongLength { .. })
            ));
            // The root of another size.
            if size > 1 {
                let smaller = root_from_leaves(&tree[..size as usize - 1]);
                assert!(verify_inclusion(leaf, size, hash, &path, smaller).is_err());
            }
        }
        // A position at or beyond the size.
        for leaf in [size, size + 1, u64::MAX] {
            assert_eq!(
                verify_inclusion(leaf, size, all[0], &[], root),
                Err(InclusionError::LeafOutOfRange { leaf, size })
            );
        }
    }
    assert_eq!(
        inclusion_root(0, 0, all[0], &[]),
        Err(InclusionError::LeafOutOfRange { leaf: 0, size: 0 })
    );
}
