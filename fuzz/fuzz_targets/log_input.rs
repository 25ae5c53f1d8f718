//! What the audit log takes from anyone: a witness's cosigned checkpoint (`POST
//! /log/cosignature`) and a tile path (`GET /log/tile/...`), parsed as the handlers parse them.
//! Input: `tile:<path>` for a tile path, anything else as a note.
#![no_main]

use libfuzzer_sys::fuzz_target;
use transparency::checkpoint::Checkpoint;
use transparency::note::Note;
use transparency::tiles::TilePath;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(path) = text.strip_prefix("tile:") {
        if let Ok(tile) = TilePath::parse(path) {
            // One path per tile: what parses prints back as itself.
            assert_eq!(tile.to_string(), path, "{tile:?}");
            let (_, _, count) = transparency::tiles::node_range(&tile);
            assert_eq!(count, u64::from(tile.width));
        }
        return;
    }
    if let Ok(note) = Note::parse(text) {
        broker_fuzz::debug(&note);
        // A note that parses writes back out as the same bytes, and parses to the same note.
        let again = Note::parse(&note.to_string()).expect("a note written back parses");
        assert_eq!(again.text(), note.text());
        assert_eq!(again.signatures(), note.signatures());
        if let Ok(checkpoint) = Checkpoint::parse(note.text()) {
            // The text signed is exactly the checkpoint's body.
            assert_eq!(checkpoint.body(), note.text());
        }
    }
});
