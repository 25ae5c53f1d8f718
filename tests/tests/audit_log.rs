//! The tamper-evident log end to end: `broker serve` on PostgreSQL signing checkpoints of real
//! logins, checked from outside by `conformance log verify` (the auditor) and `conformance log
//! witness` (a witness), and read by an independent implementation (tlog-scales, Python).
//! Records edited, removed, reordered or inserted in PostgreSQL are named; a witness refuses
//! another history and keeps its state; a broker killed under load comes back with a tree that
//! is exactly its committed records.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use e2e::broker::{BrokerProcess, BrokerSpec, conformance_binary, free_port, generate_keys};
use e2e::postgres::PgServer;
use e2e::provider::{DemoProvider, EXAMPLE};
use e2e::rp::{AuthRequest, Walk, browse, redeem};
use serde_json::Value;
use transparency::note::{Note, Signer, Verifier};

const RP: &str = "esdc-employment-insurance";
const RP_SECRET: &str = "rp-secret-for-the-log";
const RP_REDIRECT: &str = "http://127.0.0.1:8490/callback/esdc-employment-insurance";
const UPSTREAM_SECRET: &str = "upstream-secret-for-the-log";
const AUDITOR: &str = "auditor-token-for-the-log";
const ENV: &[(&str, &str)] = &[
    ("BROKER_IDP_AB_ACCOUNT_SECRET", UPSTREAM_SECRET),
    ("DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET", RP_SECRET),
    ("E2E_AUDITOR", AUDITOR),
];
const WITNESS: &str = "witness.example.ca";

/// A deployment whose broker can be stopped, killed and started again as the same log: its
/// port (so its origin), its keys (so its log key), its witnesses, and a PostgreSQL that a
/// test may replace with an empty one.
struct Site {
    pg: PgServer,
    _provider: DemoProvider,
    registry: String,
    keys: tempfile::TempDir,
    port: u16,
    witnesses: Vec<String>,
}

impl Site {
    async fn start(witnesses: &[String]) -> Self {
        let pg = PgServer::start().await.unwrap();
        let port = free_port().unwrap();
        let provider = DemoProvider::start(
            "ab-account",
            UPSTREAM_SECRET,
            vec![format!("http://127.0.0.1:{port}/callback")],
        )
        .await
        .unwrap();
        let keys = tempfile::tempdir().unwrap();
        generate_keys(&keys.path().join("k")).unwrap();
        Self {
            registry: provider.registered_in(EXAMPLE),
            pg,
            _provider: provider,
            keys,
            port,
            witnesses: witnesses.to_vec(),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn broker(&self) -> BrokerProcess {
        let witnesses: Vec<String> = self.witnesses.iter().map(|w| format!("\"{w}\"")).collect();
        let extra = format!(
            "[[admin.principals]]\nname = \"carol\"\ntoken = {{ env = \"E2E_AUDITOR\" }}\nroles = [\"auditor\"]\n\
             [log]\nkey = \"{}\"\nwitnesses = [{}]\n",
            self.keys.path().join("k").join("log.pem").display(),
            witnesses.join(", ")
        );
        BrokerProcess::spawn(BrokerSpec {
            port: self.port,
            registry: &self.registry,
            env: ENV,
            keys: Some(self.keys.path().join("k")),
            extra_config: Some(extra),
            records: Some(self.pg.url()),
            ..BrokerSpec::default()
        })
        .await
        .unwrap()
    }

    /// The log's verifier keys, as `GET /log/key` lists them.
    async fn log_keys(&self) -> Vec<String> {
        let r = e2e::rp::http()
            .get(format!("{}/log/key", self.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let keys: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(keys.len(), 2, "the signing key and the next key: {text}");
        keys
    }

    /// `--log <url> --log-key <k>...`
    async fn log_args(&self) -> Vec<String> {
        let mut args = vec!["--log".to_owned(), self.url()];
        for key in self.log_keys().await {
            args.extend(["--log-key".to_owned(), key]);
        }
        args
    }
}

/// One whole login through Alberta, shared, its code redeemed by the service.
async fn login(base: &str) -> Result<(), String> {
    let http = e2e::rp::browser().map_err(|e| e.to_string())?;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let walk = Walk {
        provider: "ab-account".into(),
        login_hint: Some("ab-amelie-tremblay".into()),
        ..Walk::default()
    };
    let outcome = browse(&http, base, &req, &walk)
        .await
        .map_err(|e| e.to_string())?;
    let code = outcome
        .params
        .get("code")
        .ok_or_else(|| format!("no code: {}", outcome.redirect))?;
    let (status, body, _) = redeem(base, &req, code, RP_SECRET)
        .await
        .map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!("the token endpoint answered {status}: {body}"));
    }
    Ok(())
}

async fn logins(broker: &BrokerProcess, n: usize) {
    for _ in 0..n {
        if let Err(e) = login(&broker.url).await {
            tokio::time::sleep(Duration::from_secs(1)).await;
            panic!("a login failed: {e}\n{}", broker.log());
        }
    }
}

async fn admin_log(base: &str) -> Value {
    let r = e2e::rp::http()
        .get(format!("{base}/admin/log"))
        .bearer_auth(AUDITOR)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// `GET /admin/log` once the tree holds every committed record and the newest checkpoint
/// signs it. Each call is itself a record (`admin.call`, written within a quarter second), so
/// the calls are spaced wider than a checkpoint's period.
async fn settled(broker: &BrokerProcess) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = admin_log(&broker.url).await;
        let tree = status["tree_size"].as_u64().unwrap();
        if status["committed"].as_u64() == Some(tree)
            && status["checkpoint"]["size"].as_u64() == Some(tree)
            && tree > 0
        {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of every committed record: {status}\n{}",
            broker.log()
        );
        tokio::time::sleep(Duration::from_millis(1_200)).await;
    }
}

/// Runs `conformance` with the auditor's token in `E2E_AUDITOR`.
async fn conformance(args: &[String]) -> Output {
    let run = tokio::process::Command::new(conformance_binary().unwrap())
        .args(args)
        .env("E2E_AUDITOR", AUDITOR)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("conformance ran for a minute: {args:?}"))
        .unwrap()
}

fn said(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn verify(site: &Site, with_token: bool) -> Output {
    let mut args = vec!["log".to_owned(), "verify".to_owned()];
    args.extend(site.log_args().await);
    if with_token {
        args.extend(["--admin-token-env".to_owned(), "E2E_AUDITOR".to_owned()]);
    }
    conformance(&args).await
}

async fn verify_passes(site: &Site) {
    let out = verify(site, true).await;
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("all in the tree in order"), "{stdout}");
}

/// `conformance log verify` fails (exit 1) saying `expected`.
async fn verify_fails_saying(site: &Site, expected: &str) {
    let out = verify(site, true).await;
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    eprint!("as expected: {}", stderr(&out));
    assert!(
        stderr(&out).contains(expected),
        "expected {expected:?}: {}",
        said(&out)
    );
}

/// A witness's key, made by `conformance log witness --new-key`, and its vkey.
struct WitnessKey {
    dir: tempfile::TempDir,
    vkey: String,
}

impl WitnessKey {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("witness.pem");
        let out = conformance(&[
            "log".into(),
            "witness".into(),
            "--new-key".into(),
            "--key".into(),
            key.display().to_string(),
            "--name".into(),
            WITNESS.into(),
        ])
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", said(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let vkey = stdout.lines().last().unwrap().to_owned();
        let verifier = Verifier::parse(&vkey).unwrap();
        assert!(verifier.is_cosignature_key(), "{stdout}");
        assert_eq!(verifier.name(), WITNESS);
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the witness key is readable by others");
        Self { dir, vkey }
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("witness.pem")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    async fn run(&self, log_args: Vec<String>) -> Output {
        let mut args = vec!["log".to_owned(), "witness".to_owned()];
        args.extend(log_args);
        args.extend([
            "--key".to_owned(),
            self.key().display().to_string(),
            "--name".to_owned(),
            WITNESS.to_owned(),
            "--state".to_owned(),
            self.state().display().to_string(),
        ]);
        conformance(&args).await
    }

    /// The checkpoint this witness saw last.
    fn seen(&self) -> transparency::checkpoint::Checkpoint {
        let text = std::fs::read_to_string(self.state()).unwrap();
        let note = Note::parse(&text).unwrap();
        transparency::checkpoint::Checkpoint::parse(note.text()).unwrap()
    }

    /// Runs the witness and returns `/log/witnessed` as served with its cosignature, checked:
    /// the checkpoint the witness saw, co-signed. (`/log/checkpoint` has moved on by then: the
    /// cosignature is itself a record, `log.cosigned`, in the next checkpoint.)
    async fn cosign(&self, site: &Site) -> String {
        let verifier = Verifier::parse(&self.vkey).unwrap();
        let out = self.run(site.log_args().await).await;
        assert_eq!(out.status.code(), Some(0), "{}", said(&out));
        let seen = self.seen();
        let text = e2e::rp::http()
            .get(format!("{}/log/witnessed", site.url()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let note = Note::parse(&text).unwrap();
        let served = transparency::checkpoint::Checkpoint::parse(note.text()).unwrap();
        assert_eq!(served, seen);
        let line = note
            .signatures()
            .iter()
            .find(|s| s.name() == WITNESS)
            .unwrap_or_else(|| panic!("no cosignature by {WITNESS} served: {text}"));
        let at = transparency::cosignature::verify(line, note.text(), &verifier).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
        assert!(at <= now && now - at < 120, "cosigned at {at}, now {now}");
        text
    }
}

/// `(leaf, id)` of the first disclosure.
async fn first_disclosure(pg: &PgServer) -> (u64, u64) {
    let row = pg
        .psql("SELECT leaf, id FROM disclosures ORDER BY leaf LIMIT 1")
        .await
        .unwrap();
    let (leaf, id) = row.trim().split_once('|').unwrap();
    (leaf.parse().unwrap(), id.parse().unwrap())
}

#[tokio::test]
async fn verify_passes_on_real_logins_and_names_each_tampered_record() {
    let site = Site::start(&[]).await;
    let broker = site.broker().await;
    logins(&broker, 3).await;
    let status = settled(&broker).await;
    assert_eq!(status["witnesses"], serde_json::json!([]), "{status}");
    verify_passes(&site).await;
    let out = verify(&site, false).await;
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(said(&out).contains("not compared"), "{}", said(&out));

    let pg = &site.pg;
    let (k, id) = first_disclosure(pg).await;
    let row = pg
        .psql("SELECT leaf, seq FROM audit_events ORDER BY leaf LIMIT 1")
        .await
        .unwrap();
    let (a, seq) = row.trim().split_once('|').unwrap();
    let (a, seq): (u64, u64) = (a.parse().unwrap(), seq.parse().unwrap());
    assert_ne!(a, k);

    // Edited: a disclosure names another service.
    let client = pg
        .psql(&format!(
            "SELECT client_id FROM disclosures WHERE leaf = {k}"
        ))
        .await
        .unwrap();
    pg.psql(&format!(
        "UPDATE disclosures SET client_id = 'another-service' WHERE leaf = {k}"
    ))
    .await
    .unwrap();
    verify_fails_saying(
        &site,
        &format!("record {k} (disclosures id {id}) was edited"),
    )
    .await;
    pg.psql(&format!(
        "UPDATE disclosures SET client_id = '{}' WHERE leaf = {k}",
        client.trim()
    ))
    .await
    .unwrap();
    verify_passes(&site).await;

    // Removed: an audit event deleted.
    pg.psql(&format!(
        "CREATE TABLE kept AS SELECT * FROM audit_events WHERE leaf = {a}; \
         DELETE FROM audit_events WHERE leaf = {a}"
    ))
    .await
    .unwrap();
    verify_fails_saying(&site, &format!("record {a} was removed")).await;
    pg.psql("INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT * FROM kept; DROP TABLE kept")
        .await
        .unwrap();
    verify_passes(&site).await;

    // Reordered: the disclosure and the audit event swap leaf numbers.
    let swap = format!(
        "UPDATE disclosures SET leaf = {a} WHERE leaf = {k}; UPDATE audit_events SET leaf = {k} WHERE seq = {seq}"
    );
    pg.psql(&swap).await.unwrap();
    let expected = if a < k {
        format!("record {a} (disclosures id {id}) was reordered: the log holds it at {k}")
    } else {
        format!("record {k} (audit_events seq {seq}) was reordered: the log holds it at {a}")
    };
    verify_fails_saying(&site, &expected).await;
    pg.psql(&format!(
        "UPDATE disclosures SET leaf = {k} WHERE id = {id}; UPDATE audit_events SET leaf = {a} WHERE seq = {seq}"
    ))
    .await
    .unwrap();
    verify_passes(&site).await;

    // Inserted: an audit event that never happened, numbered as the disclosure's leaf.
    pg.psql(&format!(
        "INSERT INTO audit_events (at, level, event, fields, leaf) VALUES (0, 'INFO', 'forged', '{{}}', {k})"
    ))
    .await
    .unwrap();
    let forged = pg
        .psql("SELECT seq FROM audit_events WHERE event = 'forged'")
        .await
        .unwrap();
    // Named as the record after the disclosure it pretends to be (the export lists a
    // disclosure before an audit event of the same number).
    verify_fails_saying(
        &site,
        &format!(
            "record {} (audit_events seq {}) was inserted",
            k + 1,
            forged.trim()
        ),
    )
    .await;
    drop(broker);
}

#[tokio::test]
async fn a_witness_cosigns_consistent_checkpoints_and_refuses_another_history_or_key() {
    let witness = WitnessKey::new().await;
    let mut site = Site::start(std::slice::from_ref(&witness.vkey)).await;
    let broker = site.broker().await;
    logins(&broker, 2).await;
    let first = settled(&broker).await["checkpoint"]["size"]
        .as_u64()
        .unwrap();

    let out = witness.run(site.log_args().await).await;
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains("first checkpoint seen"),
        "{}",
        said(&out)
    );
    assert!(witness.seen().size >= first);

    // New logins; the next round is consistent with the first, and its cosignature is kept and
    // served.
    logins(&broker, 2).await;
    settled(&broker).await;
    let before = witness.seen();
    witness.cosign(&site).await;
    let after = witness.seen();
    assert!(after.size > before.size);
    let status = admin_log(&broker.url).await;
    let listed = &status["witnesses"][0];
    assert_eq!(listed["name"], WITNESS, "{status}");
    assert_eq!(listed["key"], witness.vkey.as_str(), "{status}");
    assert_eq!(listed["cosigned_size"], after.size, "{status}");

    // A checkpoint signed by another key: refused by both, and the state is left alone.
    let other = Signer::generate(&after.origin).unwrap();
    let wrong = vec![
        "--log".to_owned(),
        site.url(),
        "--log-key".to_owned(),
        other.vkey(),
    ];
    let mut args = vec!["log".to_owned(), "verify".to_owned()];
    args.extend(wrong.clone());
    let out = conformance(&args).await;
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr(&out).contains("not signed by the given log key"),
        "{}",
        said(&out)
    );
    let state = std::fs::read(witness.state()).unwrap();
    let out = witness.run(wrong).await;
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stderr(&out).contains("not signed by the given log key"),
        "{}",
        said(&out)
    );
    assert_eq!(std::fs::read(witness.state()).unwrap(), state);

    // Another history under the same log key and origin: the records' database replaced by an
    // empty one, and the log grown past what the witness saw.
    drop(broker);
    site.pg = PgServer::start().await.unwrap();
    let broker = site.broker().await;
    loop {
        logins(&broker, 1).await;
        if admin_log(&broker.url).await["committed"].as_u64().unwrap() > after.size {
            break;
        }
    }
    let forked = settled(&broker).await;
    let out = witness.run(site.log_args().await).await;
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let text = stderr(&out);
    assert!(text.contains("INCONSISTENT"), "{}", said(&out));
    assert!(
        text.contains(&format!("{} records, root {}", after.size, after.root)),
        "the checkpoint seen before is not named: {text}"
    );
    let now = forked["checkpoint"]["size"].as_u64().unwrap();
    assert!(now > after.size, "{forked}");
    assert!(
        text.contains("; now: "),
        "the new checkpoint is not named: {text}"
    );
    assert_eq!(
        std::fs::read(witness.state()).unwrap(),
        state,
        "the state changed after an inconsistent checkpoint"
    );
    // Nothing was cosigned: the broker keeps no cosignature of the new log.
    let status = admin_log(&broker.url).await;
    assert_eq!(
        status["witnesses"][0]["cosigned_size"],
        Value::Null,
        "{status}"
    );
}

#[tokio::test]
async fn after_kill_9_under_load_a_consistent_checkpoint_comes_and_the_tree_is_the_records() {
    let witness = WitnessKey::new().await;
    let site = Site::start(std::slice::from_ref(&witness.vkey)).await;
    let broker = site.broker().await;
    logins(&broker, 2).await;
    settled(&broker).await;
    let out = witness.run(site.log_args().await).await;
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let seen = witness.seen();

    // Logins by three people at once; the broker is killed in the middle of them.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (base, stop, done) = (site.url(), stop.clone(), done.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match login(&base).await {
                        Ok(()) => {
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let before_kill = done.load(Ordering::Relaxed);
    broker.stop().await.unwrap();
    let broker = site.broker().await;
    let restarted = Instant::now();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let after_restart = done.load(Ordering::Relaxed) - before_kill;
    assert!(
        before_kill > 0 && after_restart > 0,
        "{before_kill} logins before the kill, {after_restart} after"
    );

    // A new checkpoint, beyond the one the witness saw, within a few seconds of the restart.
    let public = e2e::rp::http();
    loop {
        let r = public
            .get(format!("{}/log/checkpoint", site.url()))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            let text = r.text().await.unwrap();
            let note = Note::parse(&text).unwrap();
            let cp = transparency::checkpoint::Checkpoint::parse(note.text()).unwrap();
            if cp.size > seen.size {
                break;
            }
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(5),
            "no new checkpoint 5 s after the restart\n{}",
            broker.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = settled(&broker).await;
    assert_eq!(status["committed"], status["tree_size"], "{status}");

    // The witness finds it consistent with what it saw before the kill; the auditor finds every
    // committed record in the tree, in order.
    let out = witness.run(site.log_args().await).await;
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        said(&out).contains(&format!(
            "consistent with the checkpoint seen before ({} records",
            seen.size
        )),
        "{}",
        said(&out)
    );
    verify_passes(&site).await;
}

/// Whether tlog-scales can run here; under scripts/test (PCB_REQUIRE_ALL) or CI its absence
/// fails the test.
async fn tlog_scales_installed() -> bool {
    let importable = tokio::process::Command::new("python3")
        .args(["-c", "import tlog_scales.reader, tlog_scales.signing"])
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    assert!(
        importable
            || std::env::var_os("CI").is_none() && std::env::var_os("PCB_REQUIRE_ALL").is_none(),
        "python3 with tlog-scales is needed (pip install -r tests/log/requirements.txt)"
    );
    if !importable {
        eprintln!(
            "skipped: python3 with tlog-scales is not installed (pip install -r tests/log/requirements.txt)"
        );
    }
    importable
}

#[tokio::test]
async fn tlog_scales_an_independent_reader_agrees_with_the_log() {
    if !tlog_scales_installed().await {
        return;
    }
    let witness = WitnessKey::new().await;
    let site = Site::start(std::slice::from_ref(&witness.vkey)).await;
    let broker = site.broker().await;
    logins(&broker, 2).await;
    settled(&broker).await;
    let older = witness.cosign(&site).await;
    logins(&broker, 2).await;
    settled(&broker).await;
    let newer = witness.cosign(&site).await;

    let dir = witness.dir.path();
    let (older_file, newer_file) = (dir.join("older.txt"), dir.join("newer.txt"));
    std::fs::write(&older_file, &older).unwrap();
    std::fs::write(&newer_file, &newer).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let log_key = site.log_keys().await.remove(0);
    let run = tokio::process::Command::new("python3")
        .current_dir(&root)
        .arg("tests/log/tlog_scales_check.py")
        .args(["--log", &site.url(), "--log-vkey", &log_key])
        .args(["--witness-vkey", &witness.vkey])
        .arg("--old-checkpoint")
        .arg(&older_file)
        .arg("--new-checkpoint")
        .arg(&newer_file)
        .args(["--token-env", "E2E_AUDITOR"])
        .env("E2E_AUDITOR", AUDITOR)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("tlog-scales ran for a minute"))
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        said(&out),
        broker.log()
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).ends_with("ok\n"),
        "{}",
        said(&out)
    );
}
