use super::*;

fn tile(level: u8, index: u64, width: u16) -> TilePath {
    TilePath {
        level,
        index,
        width,
    }
}

fn paths(tiles: &[TilePath]) -> Vec<String> {
    tiles.iter().map(ToString::to_string).collect()
}

#[test]
fn spec_paths_round_trip() {
    for (path, expected) in [
        ("tile/0/000", tile(0, 0, 256)),
        ("tile/1/x001/234.p/5", tile(1, 1234, 5)),
        ("tile/0/x001/x234/067", tile(0, 1_234_067, 256)),
        ("tile/0/999", tile(0, 999, 256)),
        ("tile/0/x001/000", tile(0, 1000, 256)),
        ("tile/2/000.p/1", tile(2, 0, 1)),
        ("tile/0/255.p/255", tile(0, 255, 255)),
    ] {
        let parsed = TilePath::parse(path).unwrap();
        assert_eq!(parsed, expected, "{path}");
        assert_eq!(parsed.to_string(), path);
    }
}

#[test]
fn every_index_has_one_path() {
    for index in [
        0,
        7,
        999,
        1000,
        1001,
        999_999,
        1_000_000,
        123_456_789,
        (u64::MAX >> 8) - 1,
    ] {
        let t = tile(0, index, 256);
        assert_eq!(TilePath::parse(&t.to_string()).unwrap(), t);
    }
}

#[test]
fn non_canonical_and_unserved_paths_are_refused() {
    assert_eq!(
        TilePath::parse("tile/entries/000"),
        Err(TileError::EntryBundle)
    );
    assert_eq!(
        TilePath::parse("tile/entries/x001/234.p/5"),
        Err(TileError::EntryBundle)
    );
    for path in [
        "tile/0/1",
        "tile/0/01",
        "tile/0/0000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/05",
        "tile/0/000.p/",
        "tile/64/000",
        "tile/00/000",
        "tile/01/000",
        // A leading zero group: index 1 has one path, tile/0/001.
        "tile/0/x000/001",
        "tile/0/x000",
        "tile/0/001/002",
        "tile/0/x001",
        "tile/0/x001/x002",
        "tile/0/X001/002",
        "tile/0/000/",
        "tile/0/",
        "tile/0",
        "tile//000",
        "/tile/0/000",
        "tiles/0/000",
        "tile/0/-01",
        "tile/a/000",
        // Beyond any tree of 2^64 - 1 leaves.
        "tile/8/000.p/1",
        "tile/63/000",
        "tile/0/x018/x446/x744/x073/x709/x551/615",
        "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
    ] {
        let result = TilePath::parse(path);
        assert!(
            matches!(result, Err(TileError::Malformed(_))),
            "{path}: {result:?}"
        );
    }
}

#[test]
fn the_tiles_of_a_tree() {
    assert!(tiles_for(0).is_empty());
    assert_eq!(paths(&tiles_for(1)), ["tile/0/000.p/1"]);
    assert_eq!(paths(&tiles_for(255)), ["tile/0/000.p/255"]);
    // The spec: a tree of size 256 is a full level 0 tile and a partial level 1 tile of width 1.
    assert_eq!(paths(&tiles_for(256)), ["tile/0/000", "tile/1/000.p/1"]);
    assert_eq!(
        paths(&tiles_for(257)),
        ["tile/0/000", "tile/0/001.p/1", "tile/1/000.p/1"]
    );
    let big = tiles_for(65_536 + 3);
    assert_eq!(big.len(), 256 + 1 + 1 + 1);
    assert!(
        big[..256]
            .iter()
            .enumerate()
            .all(|(i, t)| *t == tile(0, i as u64, 256))
    );
    assert_eq!(
        paths(&big[255..]),
        [
            "tile/0/255",
            "tile/0/256.p/3",
            "tile/1/000",
            "tile/2/000.p/1"
        ]
    );
    // The spec's example: 70,000 leaves.
    let spec = tiles_for(70_000);
    let count = |level: u8, full: bool| {
        spec.iter()
            .filter(|t| t.level == level && t.is_full() == full)
            .count()
    };
    assert_eq!((count(0, true), count(0, false)), (273, 1));
    assert_eq!((count(1, true), count(1, false)), (1, 1));
    assert_eq!((count(2, true), count(2, false)), (0, 1));
    assert_eq!(
        paths(&spec[273..]),
        [
            "tile/0/273.p/112",
            "tile/1/000",
            "tile/1/001.p/17",
            "tile/2/000.p/1"
        ]
    );
}

#[test]
fn the_last_tiles_of_the_largest_tree_parse() {
    // A tree of 2^64 - 1 leaves ends with a partial level 7 tile of width 255; a full level 7
    // tile would need 2^64 leaves.
    assert_eq!(
        TilePath::parse("tile/7/000.p/255").unwrap(),
        tile(7, 0, 255)
    );
    assert!(TilePath::parse("tile/7/000").is_err());
    assert!(TilePath::parse("tile/0/x072/x057/x594/x037/x927/934").is_ok());
    assert!(TilePath::parse("tile/0/x072/x057/x594/x037/x927/935").is_err());
    assert!(TilePath::parse("tile/0/x072/x057/x594/x037/x927/935.p/255").is_ok());
}

#[test]
fn a_tile_s_nodes() {
    assert_eq!(node_range(&tile(0, 0, 256)), (0, 0, 256));
    assert_eq!(node_range(&tile(1, 1234, 5)), (8, 1234 * 256, 5));
    assert_eq!(node_range(&tile(2, 3, 256)), (16, 768, 256));
}

#[test]
fn tile_bytes_must_be_width_hashes() {
    let t = tile(0, 0, 3);
    let bytes: Vec<u8> = (0..96).map(|i| i as u8).collect();
    let hashes = hashes_of(&t, &bytes).unwrap();
    assert_eq!(hashes.len(), 3);
    assert_eq!(hashes[1].0[0], 32);
    assert_eq!(hashes[2].0[31], 95);
    assert!(matches!(
        hashes_of(&t, &bytes[..95]),
        Err(TileError::WrongLength {
            expected: 96,
            got: 95,
            ..
        })
    ));
    assert!(hashes_of(&tile(0, 0, 256), &bytes).is_err());
    assert!(hashes_of(&t, &[bytes.clone(), vec![0]].concat()).is_err());
}
