use super::*;
use crate::note::NoteError;
use crate::testing::{log_key, witness_key};

const ORIGIN: &str = "broker.example.ca/audit";

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size: 20_852_163,
        root: Hash::parse_hash("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=").unwrap(),
    }
}

#[test]
fn the_body_is_three_lines_and_parses_back() {
    let body = checkpoint().body();
    assert_eq!(
        body,
        "broker.example.ca/audit\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    assert_eq!(Checkpoint::parse(&body).unwrap(), checkpoint());
    let empty = Checkpoint {
        origin: ORIGIN.into(),
        size: 0,
        root: crate::EMPTY_HASH,
    };
    assert_eq!(Checkpoint::parse(&empty.body()).unwrap(), empty);
}

#[test]
fn malformed_bodies_are_refused() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases = [
        format!("{ORIGIN}\n5\n{root}"),
        format!("{ORIGIN}\n5\n{root}\nextension\n"),
        format!("{ORIGIN}\n5\n"),
        format!("\n5\n{root}\n"),
        format!("{ORIGIN}\n05\n{root}\n"),
        format!("{ORIGIN}\n+5\n{root}\n"),
        format!("{ORIGIN}\n-5\n{root}\n"),
        format!("{ORIGIN}\n\n{root}\n"),
        format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
        format!("{ORIGIN}\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n"),
        format!("{ORIGIN}\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n"),
        format!("{ORIGIN}\n5\n{root}\n\n"),
    ];
    for body in cases {
        assert!(
            matches!(Checkpoint::parse(&body), Err(CheckpointError::Malformed(_))),
            "{body:?}"
        );
    }
}

#[test]
fn a_checkpoint_signed_by_two_keys_opens_with_either() {
    let current = log_key(ORIGIN, 1);
    let next = log_key(ORIGIN, 2);
    let note = sign(&checkpoint(), &[&current, &next]).unwrap();
    for keys in [
        vec![current.verifier()],
        vec![next.verifier()],
        vec![current.verifier(), next.verifier()],
    ] {
        let (opened, parsed) = open(&note, &keys).unwrap();
        assert_eq!(opened, checkpoint());
        assert_eq!(parsed.signatures().len(), 2);
    }
    let stranger = log_key(ORIGIN, 3);
    assert_eq!(
        open(&note, &[stranger.verifier()]),
        Err(CheckpointError::Note(NoteError::NoKnownSignature))
    );
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let key = log_key(ORIGIN, 1);
    let note = sign(&checkpoint(), &[&key]).unwrap();
    let bigger = note.replacen("20852163", "20852164", 1);
    assert!(matches!(
        open(&bigger, &[key.verifier()]),
        Err(CheckpointError::Note(NoteError::Forged { .. }))
    ));
}

#[test]
fn only_plain_log_keys_open_a_checkpoint() {
    let key = log_key(ORIGIN, 1);
    let witness = witness_key("witness.example/w", 2);
    let note = sign(&checkpoint(), &[&key]).unwrap();
    assert!(matches!(
        open(&note, &[key.verifier(), witness.verifier()]),
        Err(CheckpointError::Note(NoteError::WrongKeyType { .. }))
    ));
    assert!(matches!(
        sign(&checkpoint(), &[&witness]),
        Err(CheckpointError::Note(NoteError::WrongKeyType { .. }))
    ));
}

#[test]
fn a_signed_note_that_is_not_a_checkpoint_is_refused() {
    let key = log_key(ORIGIN, 1);
    let note = crate::note::sign("hello\n", &[&key]).unwrap();
    assert!(matches!(
        open(&note, &[key.verifier()]),
        Err(CheckpointError::Malformed(_))
    ));
}

#[test]
fn an_origin_that_breaks_the_body_is_not_signed() {
    let key = log_key(ORIGIN, 1);
    let mut bad = checkpoint();
    bad.origin = "two\nlines".into();
    assert!(sign(&bad, &[&key]).is_err());
    bad.origin = String::new();
    assert!(sign(&bad, &[&key]).is_err());
}
