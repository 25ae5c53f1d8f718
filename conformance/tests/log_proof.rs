//! `conformance log verify --proof`: a bundle made from a real tree (the broker's own append and
//! proof code, a generated log key and witness), checked offline through the library and the
//! binary, then altered part by part, each alteration named.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use conformance::log::{LogError, ProofArgs, verify_proof};
use serde_json::{Map, Value, json};
use transparency::checkpoint::{self, Checkpoint};
use transparency::cosignature;
use transparency::leaf::leaf_hash;
use transparency::note::Signer;
use transparency::proof::{FORMAT, InclusionBundle};
use transparency::tree::{MapReader, append, root_from_leaves};
use transparency::{Hash, prove_record};

const ORIGIN: &str = "broker.example.ca/log";
const LEAF: u64 = 9;
const SIZE: u64 = 23;

struct Log {
    key: Signer,
    witness: Signer,
    leaves: Vec<Hash>,
    records: Vec<Map<String, Value>>,
    reader: MapReader,
}

fn record(i: u64) -> Map<String, Value> {
    let value = if i % 4 == 3 {
        json!({ "table": "audit_events", "seq": i + 100, "at": 1_800_000_000_000u64 + i,
                "event": "login.completed", "txn": format!("t{i}") })
    } else {
        json!({ "table": "disclosures", "id": i + 1, "at": 1_800_000_000_000u64 + i,
                "txn": format!("t{i}"), "client": "esdc-employment-insurance",
                "attributes": "given_name family_name", "agreement": null })
    };
    value.as_object().cloned().unwrap_or_default()
}

impl Log {
    fn new() -> Self {
        let records: Vec<_> = (0..SIZE).map(record).collect();
        let leaves: Vec<Hash> = records.iter().map(|r| leaf_hash(r).unwrap()).collect();
        let reader: MapReader = append(0, &leaves, &MapReader::new())
            .unwrap()
            .into_iter()
            .collect();
        Log {
            key: Signer::generate(ORIGIN).unwrap(),
            witness: Signer::generate_witness("witness.auditor.example").unwrap(),
            leaves,
            records,
            reader,
        }
    }

    /// The bundle for `LEAF` in the whole tree, its checkpoint cosigned by the witness or not.
    fn bundle(&self, witnessed: bool) -> InclusionBundle {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: SIZE,
            root: root_from_leaves(&self.leaves),
        };
        let mut note = checkpoint::sign(&cp, &[&self.key]).unwrap();
        if witnessed {
            note.push_str(&cosignature::cosign(&cp, &self.witness, 1_800_000_123).unwrap());
        }
        InclusionBundle {
            format: FORMAT.into(),
            origin: ORIGIN.into(),
            leaf: LEAF,
            record: self.records[LEAF as usize].clone(),
            leaf_hash: self.leaves[LEAF as usize],
            size: SIZE,
            root: cp.root,
            proof: prove_record(SIZE, LEAF, &self.reader).unwrap(),
            checkpoint: note,
            witnessed,
        }
    }

    fn args(&self, file: &Path, witness: bool) -> ProofArgs {
        ProofArgs {
            file: file.to_owned(),
            log_keys: vec![self.key.vkey()],
            witness_keys: if witness {
                vec![self.witness.vkey()]
            } else {
                vec![]
            },
        }
    }
}

fn write(dir: &Path, name: &str, bundle: &InclusionBundle) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bundle.to_json()).unwrap();
    path
}

fn failure(r: Result<Vec<String>, LogError>) -> String {
    match r {
        Err(LogError::Failed(text)) => text,
        other => panic!("expected a failed check, got {other:?}"),
    }
}

/// Flips a bit in the last byte of signature line `index` of the note.
fn tamper_signature(note: &str, index: usize) -> String {
    let blank = note.rfind("\n\n").unwrap() + 2;
    let (text, block) = note.split_at(blank);
    let mut lines: Vec<String> = block.lines().map(str::to_owned).collect();
    let (head, b64) = lines[index].rsplit_once(' ').unwrap();
    let mut bytes = STANDARD.decode(b64).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    lines[index] = format!("{head} {}", STANDARD.encode(bytes));
    format!("{text}{}\n", lines.join("\n"))
}

#[test]
fn a_real_bundle_verifies_offline_and_says_what_it_shows() {
    let log = Log::new();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "witnessed.json", &log.bundle(true));
    let summary = verify_proof(&log.args(&file, true)).unwrap();
    assert_eq!(summary[0], "record: disclosures id 10, leaf 9, txn t9");
    assert!(
        summary[1].starts_with(&format!("tree: {ORIGIN}, 23 records, root ")),
        "{summary:?}"
    );
    assert!(
        summary[1].ends_with(&format!("signed by {ORIGIN}+{:08x}", log.key.key_id())),
        "{summary:?}"
    );
    assert_eq!(
        summary[2],
        format!(
            "witnessed by witness.auditor.example+{:08x} (cosigned 2027-01-15T08:02:03Z)",
            log.witness.key_id()
        )
    );
    assert_eq!(
        summary[3],
        "ok: the record is leaf 9 of the tree of 23 records the log signed"
    );
    // Witnessed, but no witness key given: it verifies and says the cosignatures were unchecked.
    let summary = verify_proof(&log.args(&file, false)).unwrap();
    assert!(summary[2].contains("were not checked"), "{summary:?}");

    let file = write(dir.path(), "signed.json", &log.bundle(false));
    let summary = verify_proof(&log.args(&file, true)).unwrap();
    assert_eq!(summary[2], "signed by the log, not yet witnessed");
}

#[test]
fn each_altered_part_fails_with_its_own_message() {
    let log = Log::new();
    let dir = tempfile::tempdir().unwrap();
    let good = log.bundle(true);
    let check = |name: &str, bundle: &InclusionBundle| {
        let file = write(dir.path(), name, bundle);
        failure(verify_proof(&log.args(&file, true)))
    };

    let mut b = good.clone();
    b.record
        .insert("client".into(), json!("someone-else.example"));
    let said = check("record.json", &b);
    assert!(
        said.contains("the record does not match the bundle's leaf hash"),
        "{said}"
    );

    let mut b = good.clone();
    b.proof[2].0[7] ^= 1;
    let said = check("path.json", &b);
    assert!(
        said.contains("the proof does not put leaf 9 in the tree of 23 records"),
        "{said}"
    );

    let mut b = good.clone();
    b.proof.push(b.root);
    let said = check("long.json", &b);
    assert!(said.contains("the proof has 6 hashes"), "{said}");

    let mut b = good.clone();
    b.root.0[0] ^= 1;
    let said = check("root.json", &b);
    assert!(said.contains("leads from the leaf to the root"), "{said}");

    let mut b = good.clone();
    b.checkpoint = tamper_signature(&good.checkpoint, 0);
    let said = check("signature.json", &b);
    assert!(said.contains("altered after the log signed it"), "{said}");

    let file = write(dir.path(), "good.json", &good);
    let mut args = log.args(&file, true);
    args.log_keys = vec![Signer::generate(ORIGIN).unwrap().vkey()];
    let said = failure(verify_proof(&args));
    assert!(said.contains("not signed by the given log key"), "{said}");

    let mut b = good.clone();
    b.checkpoint = log.bundle(false).checkpoint;
    let said = check("uncosigned.json", &b);
    assert!(
        said.contains("carries no cosignature by witness witness.auditor.example"),
        "{said}"
    );

    let mut b = good.clone();
    b.checkpoint = tamper_signature(&good.checkpoint, 1);
    let said = check("cosignature.json", &b);
    assert!(
        said.contains("the cosignature by witness witness.auditor.example"),
        "{said}"
    );

    // Not a bundle, or keys of the wrong kind: the check could not run.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"format\": \"something/else\"}").unwrap();
    assert!(matches!(
        verify_proof(&log.args(&junk, true)),
        Err(LogError::CannotRun(_))
    ));
    let mut args = log.args(&file, true);
    args.witness_keys = vec![log.key.vkey()];
    assert!(matches!(verify_proof(&args), Err(LogError::CannotRun(_))));
}

#[test]
fn the_binary_checks_a_bundle_offline_and_exits_0_1_or_2() {
    let log = Log::new();
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", &log.bundle(true));
    let mut altered = log.bundle(true);
    altered.record.insert("txn".into(), json!("another"));
    let bad = write(dir.path(), "bad.json", &altered);
    let bin = env!("CARGO_BIN_EXE_conformance");
    let log_key = log.key.vkey();
    let witness_key = log.witness.vkey();
    let run = |file: &Path, extra: &[&str]| {
        std::process::Command::new(bin)
            .args(["log", "verify", "--proof"])
            .arg(file)
            .args(["--log-key", &log_key, "--witness-key", &witness_key])
            .args(extra)
            .output()
            .unwrap()
    };

    let out = run(&good, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("record: disclosures id 10, leaf 9"),
        "{stdout}"
    );
    assert!(
        stdout.contains("witnessed by witness.auditor.example"),
        "{stdout}"
    );

    let out = run(&bad, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAILED") && stderr.contains("the record does not match"),
        "{stderr}"
    );

    // --proof is offline: --log (and the admin token) are refused beside it.
    let out = run(&good, &["--log", "https://broker.example.ca"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&dir.path().join("missing.json"), &[]);
    assert_eq!(out.status.code(), Some(2));
}
