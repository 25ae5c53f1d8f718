use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::*;
use crate::testing::{log_key, peter_seed, pkcs8_v1, witness_key};

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n\
                          \n\
                          — PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

/// Go's `golang.org/x/mod/sumdb/note` documentation example: its key, its verifier key string
/// and its signed note (Ed25519 signatures are deterministic, so ours must be byte-identical).
#[test]
fn go_example_key_and_note_are_reproduced() {
    let signer = Signer::from_pkcs8("PeterNeumann", &pkcs8_v1(&peter_seed())).unwrap();
    assert_eq!(signer.key_id(), 0xc74f_20a3);
    assert_eq!(signer.vkey(), PETER_VKEY);
    assert_eq!(sign(PETER_TEXT, &[&signer]).unwrap(), PETER_NOTE);

    let verifier = Verifier::parse(PETER_VKEY).unwrap();
    assert_eq!(verifier, signer.verifier());
    assert_eq!(verifier.to_string(), PETER_VKEY);
    assert!(!verifier.is_cosignature_key());
    let note = Note::parse(PETER_NOTE).unwrap();
    assert_eq!(note.text(), PETER_TEXT);
    let verified = note.verify(&[verifier]).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].name, "PeterNeumann");
    assert_eq!(verified[0].timestamp, None);
}

#[test]
fn a_note_round_trips() {
    let signer = Signer::generate("log.example/a").unwrap();
    let text = "line one\n\nline three after an empty line\n";
    let signed = sign(text, &[&signer]).unwrap();
    let note = Note::parse(&signed).unwrap();
    assert_eq!(note.text(), text);
    assert_eq!(note.signatures().len(), 1);
    assert_eq!(note.signatures()[0].name(), "log.example/a");
    assert_eq!(note.signatures()[0].key_id(), signer.key_id());
    assert_eq!(note.to_string(), signed);
    assert!(note.verify(&[signer.verifier()]).is_ok());
}

#[test]
fn a_generated_key_survives_pkcs8_v2() {
    let signer = Signer::generate("log.example/a").unwrap();
    let der = signer.to_pkcs8().unwrap();
    let again = Signer::from_pkcs8("log.example/a", &der).unwrap();
    assert_eq!(again.vkey(), signer.vkey());
    assert!(matches!(
        Signer::from_pkcs8("log.example/a", &der[..der.len() - 1]),
        Err(NoteError::InvalidPrivateKey(_))
    ));
    assert!(!format!("{signer:?}").contains(&BASE64.encode(&der)));
}

/// Replaces the payload of the first signature line by `f(payload)`, keeping name and key ID.
fn tamper(note: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let parsed = Note::parse(note).unwrap();
    let mut signature = parsed.signatures()[0].clone();
    f(&mut signature.payload);
    format!("{}\n{}", parsed.text(), signature.to_line())
}

#[test]
fn a_flipped_signature_byte_is_a_forgery() {
    let signer = log_key("log.example/a", 1);
    let signed = sign("hello\n", &[&signer]).unwrap();
    let forged = tamper(&signed, |p| p[10] ^= 1);
    assert_eq!(
        Note::parse(&forged).unwrap().verify(&[signer.verifier()]),
        Err(NoteError::Forged {
            name: "log.example/a".into(),
            key_id: signer.key_id()
        })
    );
}

#[test]
fn an_edited_text_is_a_forgery() {
    let signer = log_key("log.example/a", 1);
    let signed = sign("hello\n", &[&signer]).unwrap();
    let edited = signed.replacen("hello", "hellO", 1);
    assert!(matches!(
        Note::parse(&edited).unwrap().verify(&[signer.verifier()]),
        Err(NoteError::Forged { .. })
    ));
}

#[test]
fn another_key_under_the_same_name_and_id_is_a_forgery() {
    let real = log_key("log.example/a", 1);
    let impostor = log_key("log.example/a", 2);
    let signed = sign("hello\n", &[&impostor]).unwrap();
    // The impostor claims the real key's ID.
    let parsed = Note::parse(&signed).unwrap();
    let claimed = Signature::new(
        "log.example/a",
        real.key_id(),
        parsed.signatures()[0].payload().to_vec(),
    );
    let forged = format!("{}\n{}", parsed.text(), claimed.to_line());
    assert_eq!(
        Note::parse(&forged).unwrap().verify(&[real.verifier()]),
        Err(NoteError::Forged {
            name: "log.example/a".into(),
            key_id: real.key_id()
        })
    );
    // Under its own key ID it is merely unknown.
    assert_eq!(
        parsed.verify(&[real.verifier()]),
        Err(NoteError::NoKnownSignature)
    );
}

#[test]
fn unknown_keys_alone_verify_nothing_but_are_kept() {
    let known = log_key("log.example/a", 1);
    let other = log_key("log.example/b", 2);
    let only_other = sign("hello\n", &[&other]).unwrap();
    assert_eq!(
        Note::parse(&only_other)
            .unwrap()
            .verify(&[known.verifier()]),
        Err(NoteError::NoKnownSignature)
    );
    assert_eq!(
        Note::parse(&only_other).unwrap().verify(&[]),
        Err(NoteError::NoKnownSignature)
    );
    let both = sign("hello\n", &[&other, &known]).unwrap();
    let note = Note::parse(&both).unwrap();
    assert_eq!(note.signatures().len(), 2);
    let verified = note.verify(&[known.verifier()]).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].name, "log.example/a");
}

#[test]
fn malformed_notes_are_refused() {
    let signer = log_key("log.example/a", 1);
    let good = sign("hello\n", &[&signer]).unwrap();
    let line = good.strip_prefix("hello\n\n").unwrap();
    let b64 = line.rsplit_once(' ').unwrap().1.trim_end();
    let cases = [
        ("missing blank line", format!("hello\n{line}")),
        (
            "no trailing newline",
            good.trim_end_matches('\n').to_owned(),
        ),
        ("no signatures", "hello\n\n".to_owned()),
        (
            "bad base64",
            format!("hello\n\n— log.example/a {}!\n", &b64[1..]),
        ),
        (
            "hyphen for em dash",
            format!("hello\n\n- log.example/a {b64}\n"),
        ),
        (
            "en dash for em dash",
            format!("hello\n\n– log.example/a {b64}\n"),
        ),
        ("two spaces", format!("hello\n\n—  log.example/a {b64}\n")),
        (
            "no space after name",
            "hello\n\n— log.example/a\n".to_owned(),
        ),
        ("name with plus", format!("hello\n\n— log+a {b64}\n")),
        (
            "short signature",
            "hello\n\n— log.example/a AAAAAA==\n".to_owned(),
        ),
        ("control character", good.replacen("hello", "hel\tlo", 1)),
        ("carriage return", good.replacen("hello\n", "hello\r\n", 1)),
    ];
    for (what, note) in cases {
        let result = Note::parse(&note);
        assert!(
            matches!(
                result,
                Err(NoteError::Malformed(_) | NoteError::InvalidKeyName(_))
            ),
            "{what}: {result:?}"
        );
    }
}

#[test]
fn size_and_signature_limits_hold() {
    let signer = log_key("log.example/a", 1);
    let signed = sign("hello\n", &[&signer]).unwrap();
    let line = signed.strip_prefix("hello\n\n").unwrap();
    let many = format!("hello\n\n{}", line.repeat(MAX_SIGNATURES + 1));
    assert_eq!(Note::parse(&many), Err(NoteError::TooManySignatures));
    let enough = format!("hello\n\n{}", line.repeat(MAX_SIGNATURES));
    assert!(
        Note::parse(&enough)
            .unwrap()
            .verify(&[signer.verifier()])
            .is_ok()
    );
    let big = format!("{}\n{line}", "a\n".repeat(MAX_NOTE_BYTES / 2));
    assert!(matches!(Note::parse(&big), Err(NoteError::TooLarge(_))));
    assert!(matches!(
        sign(&"a\n".repeat(MAX_NOTE_BYTES), &[&signer]),
        Err(NoteError::TooLarge(_))
    ));
}

#[test]
fn signing_refuses_bad_texts_and_witness_keys() {
    let signer = log_key("log.example/a", 1);
    assert!(matches!(
        sign("no newline", &[&signer]),
        Err(NoteError::Malformed(_))
    ));
    assert!(matches!(
        sign("a\u{7}\n", &[&signer]),
        Err(NoteError::Malformed(_))
    ));
    assert!(matches!(sign("a\n", &[]), Err(NoteError::Malformed(_))));
    let witness = witness_key("witness.example/w", 3);
    assert!(matches!(
        sign("a\n", &[&witness]),
        Err(NoteError::WrongKeyType { .. })
    ));
    assert!(matches!(
        Signer::generate("bad name"),
        Err(NoteError::InvalidKeyName(_))
    ));
    assert!(matches!(
        Signer::generate(""),
        Err(NoteError::InvalidKeyName(_))
    ));
    assert!(matches!(
        Signer::generate("a+b"),
        Err(NoteError::InvalidKeyName(_))
    ));
}

#[test]
fn verifier_keys_are_checked() {
    let good = Verifier::parse(PETER_VKEY).unwrap();
    assert_eq!(good.name(), "PeterNeumann");
    assert_eq!(good.key_id(), 0xc74f_20a3);
    let cases = [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter+Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10=",
        "PeterNeumann+c74f20a3+",
        // Type 0x02 (ECDSA) with the same key bytes.
        "PeterNeumann+c74f20a3+Alpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ];
    for vkey in cases {
        assert!(Verifier::parse(vkey).is_err(), "{vkey}");
    }
    assert!(matches!(
        Verifier::parse(cases[7]),
        Err(NoteError::UnsupportedKeyType(2))
    ));
}

/// The key ID and vkey of a cosignature (0x04) key, computed outside this crate with Python's
/// hashlib from the public key in Go's example vkey:
/// `sha256(b"PeterNeumann\n\x04" + pk).hexdigest()[:8]` = `18b9780b`, and the vkey is
/// `"PeterNeumann+" + that + "+" + base64(b"\x04" + pk)`. The plain (0x01) ID of the same key
/// is Go's `c74f20a3`, so the type byte is what differs.
#[test]
fn a_witness_key_id_and_vkey_match_a_hand_computed_vector() {
    let witness = Signer::witness_from_pkcs8("PeterNeumann", &pkcs8_v1(&peter_seed())).unwrap();
    assert_eq!(witness.kind(), KeyType::Cosignature);
    assert_eq!(witness.key_id(), 0x18b9_780b);
    assert_eq!(
        witness.vkey(),
        "PeterNeumann+18b9780b+BBpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    );
    let verifier = Verifier::parse(&witness.vkey()).unwrap();
    assert!(verifier.is_cosignature_key());
    assert_eq!(
        key_id("PeterNeumann", KeyType::Ed25519, &witness.public_key()),
        0xc74f_20a3
    );
}
