use super::*;
use crate::Hash;
use crate::checkpoint;
use crate::note::Note;
use crate::testing::{log_key, witness_key};

const ORIGIN: &str = "broker.example.ca/audit";
const WITNESS: &str = "witness.example/w1";
const NOW: u64 = 1_679_315_147;

fn checkpoint(size: u64) -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: crate::record_hash(&size.to_be_bytes()),
    }
}

#[test]
fn the_signed_message_is_the_spec_s() {
    let body =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(
        signed_message(1_679_315_147, body),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
}

#[test]
fn a_cosignature_round_trips() {
    let witness = witness_key(WITNESS, 7);
    let line = cosign(&checkpoint(5), &witness, NOW).unwrap();
    assert!(line.starts_with("— witness.example/w1 "));
    assert!(line.ends_with('\n'));
    let body = checkpoint(5).body();
    assert_eq!(verify_line(&line, &body, &witness.verifier()), Ok(NOW));
    assert_eq!(
        verify_line(line.trim_end(), &body, &witness.verifier()),
        Ok(NOW)
    );

    // Payload: key ID (4, in the line) || timestamp (8) || Ed25519 signature (64).
    let signature = Signature::parse_line(line.trim_end()).unwrap();
    assert_eq!(signature.key_id(), witness.key_id());
    assert_eq!(signature.payload().len(), 72);
    assert_eq!(signature.payload()[..8], NOW.to_be_bytes());
}

#[test]
fn a_cosigned_checkpoint_still_opens_and_its_cosignature_verifies_as_a_note() {
    let log = log_key(ORIGIN, 1);
    let witness = witness_key(WITNESS, 7);
    let signed = checkpoint::sign(&checkpoint(5), &[&log]).unwrap();
    let cosigned = signed + &cosign(&checkpoint(5), &witness, NOW).unwrap();

    let (opened, note) = checkpoint::open(&cosigned, &[log.verifier()]).unwrap();
    assert_eq!(opened, checkpoint(5));
    assert_eq!(note.signatures().len(), 2);
    assert_eq!(
        verify(&note.signatures()[1], note.text(), &witness.verifier()),
        Ok(NOW)
    );

    let verified = Note::parse(&cosigned)
        .unwrap()
        .verify(&[witness.verifier()])
        .unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].timestamp, Some(NOW));
}

#[test]
fn a_cosignature_of_another_checkpoint_is_forged() {
    let witness = witness_key(WITNESS, 7);
    let line = cosign(&checkpoint(5), &witness, NOW).unwrap();
    assert!(matches!(
        verify_line(&line, &checkpoint(6).body(), &witness.verifier()),
        Err(CosignatureError::Note(NoteError::Forged { .. }))
    ));
    let other_root = Checkpoint {
        root: Hash([9; 32]),
        ..checkpoint(5)
    };
    assert!(matches!(
        verify_line(&line, &other_root.body(), &witness.verifier()),
        Err(CosignatureError::Note(NoteError::Forged { .. }))
    ));
}

#[test]
fn a_changed_timestamp_is_forged() {
    let witness = witness_key(WITNESS, 7);
    let line = cosign(&checkpoint(5), &witness, NOW).unwrap();
    let signature = Signature::parse_line(line.trim_end()).unwrap();
    let mut payload = signature.payload().to_vec();
    payload[7] ^= 1;
    let moved = Signature::new(WITNESS, witness.key_id(), payload);
    assert!(matches!(
        verify(&moved, &checkpoint(5).body(), &witness.verifier()),
        Err(CosignatureError::Note(NoteError::Forged { .. }))
    ));
}

#[test]
fn another_witness_key_is_refused() {
    let witness = witness_key(WITNESS, 7);
    let other = witness_key(WITNESS, 8);
    let line = cosign(&checkpoint(5), &other, NOW).unwrap();
    let body = checkpoint(5).body();
    assert!(matches!(
        verify_line(&line, &body, &witness.verifier()),
        Err(CosignatureError::OtherKey { .. })
    ));
    // The other key claiming this witness's key ID is a forgery.
    let signature = Signature::parse_line(line.trim_end()).unwrap();
    let claimed = Signature::new(WITNESS, witness.key_id(), signature.payload().to_vec());
    assert!(matches!(
        verify(&claimed, &body, &witness.verifier()),
        Err(CosignatureError::Note(NoteError::Forged { .. }))
    ));
}

#[test]
fn a_plain_key_is_not_a_cosignature_key() {
    let plain = log_key(WITNESS, 7);
    let witness = witness_key(WITNESS, 7);
    let body = checkpoint(5).body();
    assert!(matches!(
        cosign(&checkpoint(5), &plain, NOW),
        Err(CosignatureError::Note(NoteError::WrongKeyType { .. }))
    ));
    // Same key, same name: as a cosignature key it signs; as a plain key it verifies nothing.
    let line = cosign(&checkpoint(5), &witness, NOW).unwrap();
    assert!(matches!(
        verify_line(&line, &body, &plain.verifier()),
        Err(CosignatureError::Note(NoteError::WrongKeyType { .. }))
    ));
    // A plain note signature over the body is not a cosignature.
    let note = crate::note::sign(&body, &[&plain]).unwrap();
    let plain_line = Note::parse(&note).unwrap().signatures()[0].clone();
    let as_witness = Signature::new(WITNESS, witness.key_id(), plain_line.payload().to_vec());
    assert!(matches!(
        verify(&as_witness, &body, &witness.verifier()),
        Err(CosignatureError::Note(NoteError::Forged { .. }))
    ));
}

#[test]
fn a_timestamp_beyond_2_63_is_refused() {
    let witness = witness_key(WITNESS, 7);
    assert_eq!(
        cosign(&checkpoint(5), &witness, 1 << 63),
        Err(CosignatureError::TimestampOutOfRange(1 << 63))
    );
    assert!(cosign(&checkpoint(5), &witness, (1 << 63) - 1).is_ok());
}
