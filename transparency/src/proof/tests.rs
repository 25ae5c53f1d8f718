use serde_json::json;

use super::*;
use crate::checkpoint::Checkpoint;
use crate::note::Signer;
use crate::testing::{log_key, witness_key};
use crate::tree::{inclusion_path_len, root_from_leaves};

const ORIGIN: &str = "broker.example.ca/log";

fn record(i: u64) -> Map<String, Value> {
    let value = json!({
        "table": "disclosures",
        "id": i + 1,
        "at": 1_800_000_000_000u64 + i,
        "txn": format!("txn-{i}"),
        "client": "esdc",
        "note": null,
    });
    value.as_object().cloned().unwrap_or_default()
}

/// A log of `n` disclosures, a checkpoint of it signed by `log` and cosigned by `witnesses`,
/// and the bundle for `leaf`.
fn bundle(n: u64, leaf: u64, log: &Signer, witnesses: &[&Signer]) -> InclusionBundle {
    let records: Vec<_> = (0..n).map(record).collect();
    let leaves: Vec<Hash> = records.iter().map(|r| leaf_hash(r).unwrap()).collect();
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: n,
        root: root_from_leaves(&leaves),
    };
    let mut note = checkpoint::sign(&cp, &[log]).unwrap();
    for (i, w) in witnesses.iter().enumerate() {
        note.push_str(&cosignature::cosign(&cp, w, 1_800_000_000 + i as u64).unwrap());
    }
    let proof = path(leaf as usize, &leaves);
    assert_eq!(Some(proof.len()), inclusion_path_len(leaf, n));
    InclusionBundle {
        format: FORMAT.into(),
        origin: ORIGIN.into(),
        leaf,
        record: records[leaf as usize].clone(),
        leaf_hash: leaves[leaf as usize],
        size: n,
        root: cp.root,
        proof,
        checkpoint: note,
        witnessed: !witnesses.is_empty(),
    }
}

/// RFC 6962's PATH(m, D[n]), from its definition.
fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = 1 << (leaves.len() - 1).ilog2();
    let (left, right) = leaves.split_at(k);
    let (mut p, other) = if m < k {
        (path(m, left), right)
    } else {
        (path(m - k, right), left)
    };
    p.push(root_from_leaves(other));
    p
}

fn keys() -> (Signer, Signer, Signer) {
    (
        log_key(ORIGIN, 1),
        witness_key("witness.one", 2),
        witness_key("witness.two", 3),
    )
}

#[test]
fn a_witnessed_bundle_verifies_and_names_who_vouched() {
    let (log, w1, w2) = keys();
    let b = bundle(13, 6, &log, &[&w1, &w2]);
    let given = [w1.verifier(), w2.verifier(), w1.verifier()];
    let ok = verify_bundle(&b, &[log.verifier()], &given).unwrap();
    assert_eq!(ok.checkpoint.size, 13);
    assert_eq!(ok.signed_by, vec![format!("{ORIGIN}+{:08x}", log.key_id())]);
    assert_eq!(ok.witnessing, Witnessing::Witnessed);
    assert_eq!(
        ok.witnessed_by,
        vec![
            Cosigner {
                name: "witness.one".into(),
                key_id: w1.key_id(),
                timestamp: 1_800_000_000
            },
            Cosigner {
                name: "witness.two".into(),
                key_id: w2.key_id(),
                timestamp: 1_800_000_001
            },
        ]
    );
    // Without witness keys, the cosignatures are not checked, and it says so.
    let ok = verify_bundle(&b, &[log.verifier()], &[]).unwrap();
    assert_eq!(ok.witnessing, Witnessing::NotChecked);
    assert!(ok.witnessed_by.is_empty());
}

#[test]
fn every_leaf_of_small_trees_verifies_through_json() {
    let (log, w1, _) = keys();
    for n in 1..=9 {
        for leaf in 0..n {
            let b = bundle(n, leaf, &log, &[&w1]);
            let read = InclusionBundle::from_json(&b.to_json()).unwrap();
            assert_eq!(read, b);
            verify_bundle(&read, &[log.verifier()], &[w1.verifier()]).unwrap();
        }
    }
}

#[test]
fn an_unwitnessed_bundle_is_signed_by_the_log_not_yet_witnessed() {
    let (log, w1, _) = keys();
    let b = bundle(5, 4, &log, &[]);
    assert!(!b.witnessed);
    let ok = verify_bundle(&b, &[log.verifier()], &[w1.verifier()]).unwrap();
    assert_eq!(ok.witnessing, Witnessing::NotYetWitnessed);
    assert!(ok.witnessed_by.is_empty());
}

#[test]
fn the_json_shape_is_the_documented_one() {
    let (log, _, _) = keys();
    let b = bundle(3, 2, &log, &[]);
    let value: Value = serde_json::from_str(&b.to_json()).unwrap();
    let mut members: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    assert_eq!(
        members,
        [
            "checkpoint",
            "format",
            "leaf",
            "leaf_hash",
            "origin",
            "proof",
            "record",
            "root",
            "size",
            "witnessed"
        ]
    );
    assert_eq!(value["leaf_hash"], json!(b.leaf_hash.to_string()));
    assert_eq!(value["proof"][0], json!(b.proof[0].to_string()));
    assert_eq!(value["record"]["id"], json!(3));
}

fn fails(b: &InclusionBundle, logs: &[&Signer], witnesses: &[&Signer]) -> ProofError {
    let logs: Vec<Verifier> = logs.iter().map(|s| s.verifier()).collect();
    let witnesses: Vec<Verifier> = witnesses.iter().map(|s| s.verifier()).collect();
    match verify_bundle(b, &logs, &witnesses) {
        Err(e) => e,
        Ok(ok) => panic!("expected a failure, got {ok:?}"),
    }
}

#[test]
fn each_part_altered_fails_with_what_did_not_hold() {
    let (log, w1, w2) = keys();
    let good = bundle(11, 5, &log, &[&w1]);

    // A record field changed: it no longer hashes to the leaf.
    let mut b = good.clone();
    b.record.insert("client".into(), json!("someone-else"));
    let e = fails(&b, &[&log], &[&w1]);
    assert!(
        matches!(e, ProofError::RecordMismatch { leaf: 5, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("the record was altered"), "{e}");
    // The row number is not hashed: changing it alone does not matter (as in compare).
    let mut b = good.clone();
    b.record.insert("id".into(), json!(999));
    verify_bundle(&b, &[log.verifier()], &[w1.verifier()]).unwrap();
    // A record that is not a record.
    let mut b = good.clone();
    b.record.insert("nested".into(), json!({"a": 1}));
    assert!(matches!(fails(&b, &[&log], &[]), ProofError::Unhashable(_)));

    // The record and leaf hash of another leaf, with this leaf's path.
    let other = bundle(11, 4, &log, &[&w1]);
    let mut b = good.clone();
    b.record = other.record.clone();
    b.leaf_hash = other.leaf_hash;
    let e = fails(&b, &[&log], &[&w1]);
    assert!(
        matches!(
            e,
            ProofError::NotIncluded {
                source: InclusionError::RootMismatch { .. },
                ..
            }
        ),
        "{e}"
    );
    // Another position.
    let mut b = good.clone();
    b.leaf = 4;
    assert!(matches!(
        fails(&b, &[&log], &[&w1]),
        ProofError::NotIncluded { .. }
    ));
    // A flipped path hash, a short path, a leaf beyond the tree.
    let mut b = good.clone();
    b.proof[1].0[0] ^= 1;
    assert!(matches!(
        fails(&b, &[&log], &[&w1]),
        ProofError::NotIncluded {
            source: InclusionError::RootMismatch { .. },
            ..
        }
    ));
    let mut b = good.clone();
    b.proof.pop();
    let e = fails(&b, &[&log], &[&w1]);
    assert!(e.to_string().contains("the proof has 3 hashes"), "{e}");
    let mut b = good.clone();
    b.leaf = 11;
    assert!(matches!(
        fails(&b, &[&log], &[&w1]),
        ProofError::NotIncluded {
            source: InclusionError::LeafOutOfRange { leaf: 11, size: 11 },
            ..
        }
    ));

    // A root of the bundle's own making, with a path to it: the signed checkpoint disagrees.
    let mut b = good.clone();
    b.proof[0].0[0] ^= 1;
    b.root = crate::tree::inclusion_root(b.leaf, b.size, b.leaf_hash, &b.proof).unwrap();
    let e = fails(&b, &[&log], &[&w1]);
    assert!(
        matches!(e, ProofError::CheckpointDiffers { what: "root", .. }),
        "{e}"
    );
    // Another origin.
    let mut b = good.clone();
    b.origin = "elsewhere.example/log".into();
    let e = fails(&b, &[&log], &[&w1]);
    assert!(
        matches!(e, ProofError::CheckpointDiffers { what: "origin", .. }),
        "{e}"
    );
    // The checkpoint of another size, and a proof for that size: the checkpoint is of 12.
    let bigger = bundle(12, 5, &log, &[&w1]);
    let mut b = good.clone();
    b.checkpoint = bigger.checkpoint.clone();
    let e = fails(&b, &[&log], &[&w1]);
    assert!(
        matches!(
            e,
            ProofError::CheckpointDiffers {
                what: "tree size",
                ..
            }
        ),
        "{e}"
    );

    // The checkpoint's signature altered.
    let mut b = good.clone();
    b.checkpoint = tamper_signature(&good.checkpoint, 0);
    let e = fails(&b, &[&log], &[&w1]);
    assert!(matches!(e, ProofError::ForgedCheckpoint(_)), "{e}");
    // The checkpoint's text altered (its size), keeping the signature.
    let mut b = good.clone();
    b.checkpoint = good.checkpoint.replacen("\n11\n", "\n12\n", 1);
    assert!(matches!(
        fails(&b, &[&log], &[&w1]),
        ProofError::ForgedCheckpoint(_)
    ));
    // Another log key.
    let stranger = Signer::generate(ORIGIN).unwrap();
    let e = fails(&good, &[&stranger], &[&w1]);
    assert!(matches!(e, ProofError::NotSignedByLog { .. }), "{e}");
    assert!(
        e.to_string().contains("not signed by the given log key"),
        "{e}"
    );

    // A witness given who did not cosign, on a bundle that says witnessed.
    let e = fails(&good, &[&log], &[&w1, &w2]);
    assert_eq!(
        e,
        ProofError::NotWitnessedBy {
            witness: format!("witness.two+{:08x}", w2.key_id())
        }
    );
    // The cosignature removed.
    let mut b = good.clone();
    b.checkpoint = checkpoint::sign(
        &Checkpoint {
            origin: ORIGIN.into(),
            size: 11,
            root: good.root,
        },
        &[&log],
    )
    .unwrap();
    assert!(matches!(
        fails(&b, &[&log], &[&w1]),
        ProofError::NotWitnessedBy { .. }
    ));
    // The cosignature altered: forged, whatever the bundle says.
    for witnessed in [true, false] {
        let mut b = good.clone();
        b.witnessed = witnessed;
        b.checkpoint = tamper_signature(&good.checkpoint, 1);
        let e = fails(&b, &[&log], &[&w1]);
        assert!(matches!(e, ProofError::ForgedCosignature { .. }), "{e}");
    }

    // Keys of the wrong kind.
    assert!(matches!(
        fails(&good, &[&w1], &[]),
        ProofError::WrongKeyType { role: "log", .. }
    ));
    assert!(matches!(
        fails(&good, &[&log], &[&log]),
        ProofError::WrongKeyType {
            role: "witness",
            ..
        }
    ));
    assert_eq!(fails(&good, &[], &[]), ProofError::NoLogKey);
}

/// Flips a bit in the last byte of the signature on line `index` of the signature block.
fn tamper_signature(note: &str, index: usize) -> String {
    let blank = note.rfind("\n\n").unwrap() + 2;
    let (text, block) = note.split_at(blank);
    let mut lines: Vec<String> = block.lines().map(str::to_owned).collect();
    let (head, b64) = lines[index].rsplit_once(' ').unwrap();
    let mut bytes = BASE64.decode(b64).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    lines[index] = format!("{head} {}", BASE64.encode(bytes));
    format!("{text}{}\n", lines.join("\n"))
}

#[test]
fn files_of_another_kind_are_named_as_such() {
    let (log, _, _) = keys();
    let good = bundle(3, 1, &log, &[]);
    assert!(matches!(
        InclusionBundle::from_json("not json"),
        Err(ProofError::Malformed(_))
    ));
    assert!(matches!(
        InclusionBundle::from_json("{}"),
        Err(ProofError::Malformed(_))
    ));
    let mut value: Value = serde_json::from_str(&good.to_json()).unwrap();
    value["format"] = json!("pan-canadian-broker/inclusion-proof/v2");
    assert_eq!(
        InclusionBundle::from_json(&value.to_string()),
        Err(ProofError::UnknownFormat(
            "pan-canadian-broker/inclusion-proof/v2".into()
        ))
    );
    let mut value: Value = serde_json::from_str(&good.to_json()).unwrap();
    value["verified"] = json!(true);
    assert!(matches!(
        InclusionBundle::from_json(&value.to_string()),
        Err(ProofError::Malformed(_))
    ));
    let mut value: Value = serde_json::from_str(&good.to_json()).unwrap();
    value["proof"][0] = json!("AAAA");
    let e = InclusionBundle::from_json(&value.to_string()).unwrap_err();
    assert!(e.to_string().contains("proof hash 0"), "{e}");
    let mut value: Value = serde_json::from_str(&good.to_json()).unwrap();
    // The same 32 bytes with a trailing bit set: one hash, one spelling.
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut root = good.root.to_string().into_bytes();
    let last = ALPHABET.find(char::from(root[42])).unwrap();
    root[42] = ALPHABET.as_bytes()[last + 1];
    value["root"] = json!(String::from_utf8(root).unwrap());
    assert!(matches!(
        InclusionBundle::from_json(&value.to_string()),
        Err(ProofError::Malformed(_))
    ));
}
