//! The tamper-evident log as its readers meet it: real logins, then the signed checkpoint, the
//! tiles, the log's keys, the records in log order and their proofs, and witnesses' cosignatures
//! taken in or refused, over HTTP.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use broker::admin::auth::{Principal, Role};
use transparency::note::{Signer, Verifier};
use transparency::{Hash, checkpoint, cosignature, tiles, tree};

use crate::common::*;

const AUDITOR: &str = "auditor-token-for-the-log";

fn hash(b64: &str) -> Hash {
    Hash(STANDARD.decode(b64).unwrap().try_into().unwrap())
}

/// A broker that knows `witness`, after `logins` logins, with its tree grown and signed.
async fn logged(witness: &Signer, logins: usize) -> TestBed {
    let bed = start(Options {
        admins: vec![Principal::new("carol", AUDITOR, [Role::Auditor])],
        witnesses: vec![witness.vkey()],
        ..Options::default()
    })
    .await;
    for _ in 0..logins {
        let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
        bed.login(&req, "ab-account").await;
    }
    bed.broker.records.flush_events().await.unwrap();
    broker::tlog::checkpointer::pass(&bed.broker).await.unwrap();
    bed
}

async fn get(bed: &TestBed, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", bed.broker_url))
        .bearer_auth(AUDITOR)
        .send()
        .await
        .unwrap()
}

async fn log_keys(bed: &TestBed) -> Vec<Verifier> {
    let keys = get(bed, "/log/key").await.text().await.unwrap();
    keys.lines().map(|k| Verifier::parse(k).unwrap()).collect()
}

#[tokio::test]
async fn the_checkpoint_tiles_records_and_proofs_tell_one_story() {
    let witness = Signer::generate_witness("witness.example").unwrap();
    let bed = logged(&witness, 3).await;
    let keys = log_keys(&bed).await;
    assert_eq!(keys.len(), 2, "the signing key and the next key");

    let r = get(&bed, "/log/checkpoint").await;
    assert_eq!(r.status(), 200);
    let note = r.text().await.unwrap();
    // Either key alone verifies it: a verifier who already trusts the next key keeps up.
    let (cp, _) = checkpoint::open(&note, &keys[..1]).unwrap();
    checkpoint::open(&note, &keys[1..]).unwrap();
    let stranger = Signer::generate("127.0.0.1/log").unwrap().verifier();
    assert!(checkpoint::open(&note, &[stranger]).is_err());

    // The tiles hold the tree whose root the checkpoint signs.
    let mut leaves = Vec::new();
    for tile in tiles::tiles_for(cp.size) {
        let r = get(&bed, &format!("/log/{tile}")).await;
        assert_eq!(r.status(), 200, "{tile}");
        let bytes = r.bytes().await.unwrap();
        let hashes = tiles::hashes_of(&tile, &bytes).unwrap();
        if tile.level == 0 {
            leaves.extend(hashes);
        }
    }
    assert_eq!(leaves.len() as u64, cp.size);
    assert_eq!(tree::root_from_leaves(&leaves), cp.root);
    let beyond = tiles::TilePath {
        level: 0,
        index: 0,
        width: 256,
    };
    assert_eq!(get(&bed, &format!("/log/{beyond}")).await.status(), 404);
    assert_eq!(get(&bed, "/log/tile/entries/000").await.status(), 404);

    // The records, in log order, are exactly the tree's leaves.
    let export: serde_json::Value = get(&bed, "/admin/log/records").await.json().await.unwrap();
    let exported: Vec<_> = export["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| transparency::compare::ExportedRecord {
            leaf: r["leaf"].as_u64().unwrap(),
            record: r["record"].as_object().unwrap().clone(),
        })
        .collect();
    let coverage = transparency::compare::compare(&exported, &leaves).unwrap();
    assert_eq!(coverage.checked, cp.size);
    let tables: std::collections::BTreeSet<_> = exported
        .iter()
        .map(|r| r.record["table"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        tables.contains("disclosures") && tables.contains("consent_records"),
        "{tables:?}"
    );

    // Proofs, checked as an auditor checks them, for the tree of this checkpoint: every admin
    // call is itself a record, so the log has grown since.
    let leaf = cp.size / 2;
    let p: serde_json::Value = get(
        &bed,
        &format!("/admin/log/proof/inclusion?leaf={leaf}&size={}", cp.size),
    )
    .await
    .json()
    .await
    .unwrap();
    let proof: Vec<Hash> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect();
    transparency::check_record(&proof, cp.size, cp.root, leaf, leaves[leaf as usize]).unwrap();
    let c: serde_json::Value = get(
        &bed,
        &format!("/admin/log/proof/consistency?from=3&to={}", cp.size),
    )
    .await
    .json()
    .await
    .unwrap();
    let proof: Vec<Hash> = c["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hash(h.as_str().unwrap()))
        .collect();
    let old = tree::root_from_leaves(&leaves[..3]);
    transparency::check_tree(&proof, cp.size, cp.root, 3, old).unwrap();
    let bad = get(
        &bed,
        &format!("/admin/log/proof/inclusion?leaf={}", cp.size),
    )
    .await;
    assert_eq!(bad.status(), 400);
    // Records and proofs are for auditors.
    let anonymous = http()
        .get(format!("{}/admin/log/records", bed.broker_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_witness_cosignature_is_kept_and_served_and_a_bad_one_is_refused() {
    let witness = Signer::generate_witness("witness.example").unwrap();
    let bed = logged(&witness, 1).await;
    let note = get(&bed, "/log/checkpoint").await.text().await.unwrap();
    let (cp, _) = checkpoint::open(&note, &log_keys(&bed).await).unwrap();
    let post = |body: String| {
        let url = format!("{}/log/cosignature", bed.broker_url);
        async move { http().post(url).body(body).send().await.unwrap() }
    };

    // A stranger's cosignature, and one over another tree, are refused with the reason.
    let stranger = Signer::generate_witness("stranger.example").unwrap();
    let r = post(format!(
        "{note}{}",
        cosignature::cosign(&cp, &stranger, 1_800_000_000).unwrap()
    ))
    .await;
    assert_eq!(r.status(), 403);
    let mut forged = cp.clone();
    forged.root = Hash([7; 32]);
    let forged_note = format!("{}\n", forged.body());
    let line = cosignature::cosign(&forged, &witness, 1_800_000_000).unwrap();
    let r = post(format!("{forged_note}{line}")).await;
    assert_eq!(r.status(), 409, "{}", r.text().await.unwrap());
    assert_eq!(post("not a note".into()).await.status(), 400);

    // The witness's own is kept, and served with the checkpoint it signs.
    let line = cosignature::cosign(&cp, &witness, 1_800_000_000).unwrap();
    let r = post(format!("{note}{line}")).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let served = get(&bed, "/log/checkpoint").await.text().await.unwrap();
    let parsed = transparency::note::Note::parse(&served).unwrap();
    let cosigned = parsed
        .signatures()
        .iter()
        .find(|s| s.name() == "witness.example")
        .expect("the cosignature is served");
    assert_eq!(
        cosignature::verify(cosigned, parsed.text(), &witness.verifier()).unwrap(),
        1_800_000_000
    );
    let status: serde_json::Value = get(&bed, "/admin/log").await.json().await.unwrap();
    assert_eq!(status["witnesses"][0]["cosigned_size"], cp.size);
    let page = get(&bed, "/admin?lang=fr").await.text().await.unwrap();
    assert!(
        page.contains("witness.example") && page.contains("Dernier point de contrôle"),
        "{page}"
    );
}
