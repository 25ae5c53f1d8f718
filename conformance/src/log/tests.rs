//! The log checks on trees made here with `transparency` alone: tiles as a log serves them,
//! altered the ways a log could alter them; histories that do and do not extend each other; the
//! witness's key and state files.

use serde_json::{Map, Value, json};
use transparency::checkpoint::{self, Checkpoint};
use transparency::note::{KeyType, Signer, Verifier};
use transparency::tiles::{TilePath, tiles_for};
use transparency::tree::{root_from_leaves, tile_hashes};
use transparency::{Hash, check_tree, cosignature, leaf::leaf_hash};

use super::tiles::{TileHashes, check_whole_tree, proof_from_tiles, tiles_for_proof};
use super::witness::{check_consistency, new_key, read_state, write_state};
use super::{LogError, log_keys};

const ORIGIN: &str = "broker.example.ca/log";

fn record(i: u64, salt: &str) -> Map<String, Value> {
    let value = json!({ "table": "audit_events", "seq": i, "event": format!("e{i}{salt}") });
    value.as_object().cloned().unwrap_or_default()
}

fn leaves(n: u64, salt: &str) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&record(i, salt)).unwrap())
        .collect()
}

fn checkpoint_of(leaves: &[Hash]) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size: leaves.len() as u64,
        root: root_from_leaves(leaves),
    }
}

/// The tiles a log of these leaves serves for the tree of `size`.
fn served(leaves: &[Hash], size: u64) -> Vec<(TilePath, Vec<u8>)> {
    tiles_for(size)
        .into_iter()
        .map(|t| {
            let hashes = tile_hashes(&leaves[..size as usize], &t).unwrap();
            (t, hashes.iter().flat_map(|h| h.0).collect())
        })
        .collect()
}

fn failure(r: Result<impl std::fmt::Debug, LogError>) -> String {
    match r {
        Err(LogError::Failed(text)) => text,
        other => panic!("expected a failed check, got {other:?}"),
    }
}

#[test]
fn a_whole_tree_checks_and_every_altered_tile_is_named() {
    for n in [1u64, 2, 255, 256, 257, 700, 65_536 + 300] {
        let leaves = leaves(n, "");
        let cp = checkpoint_of(&leaves);
        let tree = check_whole_tree(&cp, &TileHashes::read(served(&leaves, n)).unwrap()).unwrap();
        assert_eq!(tree.leaves, leaves);
        assert_eq!(tree.tiles, tiles_for(n).len());
    }

    let leaves = leaves(700, "");
    let cp = checkpoint_of(&leaves);
    // A leaf hash changed: the root no longer matches.
    let mut tiles = served(&leaves, 700);
    tiles[1].1[5] ^= 1;
    let said = failure(check_whole_tree(&cp, &TileHashes::read(tiles).unwrap()));
    assert!(said.contains("are not the tree that was signed"), "{said}");
    // An upper entry changed: named by tile and entry.
    let mut tiles = served(&leaves, 700);
    let upper = tiles.iter().position(|(t, _)| t.level == 1).unwrap();
    tiles[upper].1[32 + 3] ^= 1;
    let said = failure(check_whole_tree(&cp, &TileHashes::read(tiles).unwrap()));
    assert!(said.contains("tile/1/000.p/2 entry 1"), "{said}");
    assert!(said.contains("tile/0/001"), "{said}");
    // A tile cut short.
    let mut tiles = served(&leaves, 700);
    tiles[2].1.truncate(64);
    let said = failure(TileHashes::read(tiles));
    assert!(said.contains("tile/0/002.p/188"), "{said}");
    // The checkpoint of another tree of the same size.
    let other = checkpoint_of(&self::leaves(700, "other"));
    let said = failure(check_whole_tree(
        &other,
        &TileHashes::read(served(&leaves, 700)).unwrap(),
    ));
    assert!(said.contains(&other.root.to_string()), "{said}");
}

#[test]
fn consistency_proofs_from_tiles_are_the_trees_own_and_check() {
    let all = leaves(70_000, "");
    let sizes = [
        1u64, 2, 3, 7, 8, 255, 256, 257, 511, 512, 600, 65_535, 65_536, 65_537, 70_000,
    ];
    for (i, &new) in sizes.iter().enumerate() {
        let log = served(&all, new);
        for &old in &sizes[..=i] {
            let tiles = tiles_for_proof(old, new).unwrap();
            // Only tiles of the new tree, and only those its proof needs.
            let tree: Vec<TilePath> = tiles_for(new);
            assert!(tiles.iter().all(|t| tree.contains(t)), "{old} {new}");
            let fetched: Vec<(TilePath, Vec<u8>)> = log
                .iter()
                .filter(|(t, _)| tiles.contains(t))
                .cloned()
                .collect();
            let proof = proof_from_tiles(old, new, &TileHashes::read(fetched).unwrap()).unwrap();
            let (old_root, new_root) = (
                root_from_leaves(&all[..old as usize]),
                root_from_leaves(&all[..new as usize]),
            );
            check_tree(&proof, new, new_root, old, old_root)
                .unwrap_or_else(|e| panic!("{old} to {new}: {e}"));
        }
    }
    // Tiles of a proof that were not fetched are named, not guessed.
    let said = failure(proof_from_tiles(300, 700, &TileHashes::default()));
    assert!(said.contains("was not fetched"), "{said}");
}

/// Runs the witness's judgement with the tiles of `new_leaves` as the log's.
fn judge(old: &Checkpoint, new: &Checkpoint, new_leaves: &[Hash]) -> Result<(), LogError> {
    let tiles = served(new_leaves, new.size);
    let run = check_consistency(old, new, move |wanted| async move {
        TileHashes::read(
            tiles
                .into_iter()
                .filter(|(t, _)| wanted.contains(t))
                .collect(),
        )
    });
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run)
}

#[test]
fn a_witness_accepts_an_extension_and_refuses_a_rollback_a_fork_and_another_history() {
    let history = leaves(1_000, "");
    let at = |n: usize| checkpoint_of(&history[..n]);
    assert_eq!(judge(&at(300), &at(1_000), &history), Ok(()));
    assert_eq!(judge(&at(300), &at(300), &history), Ok(()));
    let empty = Checkpoint {
        origin: ORIGIN.into(),
        size: 0,
        root: transparency::EMPTY_HASH,
    };
    assert_eq!(judge(&empty, &at(5), &history), Ok(()));

    let said = failure(judge(&at(600), &at(300), &history));
    assert!(said.contains("ROLLBACK"), "{said}");
    assert!(
        said.contains("600 records") && said.contains("300 records"),
        "{said}"
    );

    let other = leaves(1_000, "rewritten");
    let said = failure(judge(&at(300), &checkpoint_of(&other[..300]), &other));
    assert!(
        said.contains("two different trees of the same size"),
        "{said}"
    );

    // Another history of a larger size: the proof from its tiles does not reach the old root.
    let (old, new) = (at(300), checkpoint_of(&other[..900]));
    let said = failure(judge(&old, &new, &other));
    assert!(said.starts_with("INCONSISTENT LOG"), "{said}");
    for named in [
        "300 records".to_owned(),
        "900 records".to_owned(),
        old.root.to_string(),
        new.root.to_string(),
    ] {
        assert!(said.contains(&named), "{named} not in {said}");
    }
    // A log that keeps its history but serves one altered tile is caught the same way.
    let mut altered = history.clone();
    altered[299] = leaf_hash(&record(299, "x")).unwrap();
    assert!(judge(&at(300), &at(1_000), &altered).is_err());
}

#[test]
fn log_keys_must_be_plain_ed25519_vkeys() {
    let log = Signer::generate(ORIGIN).unwrap();
    let witness = Signer::generate_witness("witness.example.ca").unwrap();
    assert_eq!(log_keys(&[log.vkey()]).unwrap(), vec![log.verifier()]);
    assert!(matches!(log_keys(&[]), Err(LogError::CannotRun(_))));
    assert!(matches!(
        log_keys(&[witness.vkey()]),
        Err(LogError::CannotRun(_))
    ));
    assert!(matches!(
        log_keys(&["nonsense".into()]),
        Err(LogError::CannotRun(_))
    ));
}

#[test]
fn a_new_witness_key_is_private_kept_and_cosigns() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("witness.pem");
    let (vkey, created) = new_key(&path, "witness.example.ca").unwrap();
    assert!(created);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    // Again: the same key, untouched.
    assert_eq!(
        new_key(&path, "witness.example.ca").unwrap(),
        (vkey.clone(), false)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), pem);

    let verifier = Verifier::parse(&vkey).unwrap();
    assert_eq!(verifier.kind(), KeyType::Cosignature);
    let signer = super::witness::load_key(&path, "witness.example.ca").unwrap();
    let cp = checkpoint_of(&leaves(3, ""));
    let line = cosignature::cosign(&cp, &signer, 1_800_000_000).unwrap();
    assert_eq!(
        cosignature::verify_line(&line, &cp.body(), &verifier).unwrap(),
        1_800_000_000
    );
}

#[test]
fn the_state_is_replaced_whole_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    assert_eq!(read_state(&path).unwrap(), None);
    let log = Signer::generate(ORIGIN).unwrap();
    let first = checkpoint_of(&leaves(5, ""));
    let second = checkpoint_of(&leaves(9, ""));
    for cp in [&first, &second] {
        let note = checkpoint::sign(cp, &[&log]).unwrap();
        write_state(&path, &note).unwrap();
        assert_eq!(read_state(&path).unwrap().as_ref(), Some(cp));
    }
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["state"], "no temporary file is left behind");
    std::fs::write(&path, "not a note").unwrap();
    assert!(matches!(read_state(&path), Err(LogError::CannotRun(_))));
}
