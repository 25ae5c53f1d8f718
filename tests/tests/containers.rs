//! The container image built and the compose deployment run for real, with podman: the
//! broker's runtime image (docker/Dockerfile) around the broker binary of this build, and
//! docker/compose.yaml (PostgreSQL, Redis, two replicas behind nginx) with the test layer
//! docker/compose.test.yaml, through docker/test-image.sh. Whole logins go through nginx to
//! a demo provider served here over https by a private CA (the replicas trust it as
//! `[upstream] ca_bundle`), spread over both replicas; one replica stopped, logins go on;
//! Redis stopped, the replicas say they are not ready, and once it is back logins resume.
//! An image that lacks a file or a library the broker needs fails here: `generate-keys` run
//! in it, or the replicas' health checks, which never pass (the script then says why).

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use broker::http::server::Tls;
use e2e::broker::broker_binary;
use e2e::containers::{Deployment, missing_tools, said};
use e2e::provider::EXAMPLE;
use e2e::rp::{AuthRequest, Walk, browse, redeem, verify_id_token};
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const RP: &str = "esdc-employment-insurance";
const RP_SECRET: &str = "rp-secret-for-the-containers";
const RP_REDIRECT: &str = "http://127.0.0.1:8490/callback/esdc-employment-insurance";
const UPSTREAM_SECRET: &str = "upstream-secret-for-the-containers";
const PERSON: &str = "ab-amelie-tremblay";
const SECRETS: &[(&str, &str)] = &[
    (
        "BROKER_PAIRWISE_SECRET",
        "pairwise-secret-for-the-containers",
    ),
    ("BROKER_IDP_AB_ACCOUNT_SECRET", UPSTREAM_SECRET),
    ("DEMO_RP_ESDC_EMPLOYMENT_INSURANCE_SECRET", RP_SECRET),
];

/// Whether podman and the rest can run here. Under scripts/test (PCB_REQUIRE_ALL) or CI,
/// whatever is missing fails the test: scripts/setup installs it all.
fn can_run() -> bool {
    let mut missing = missing_tools();
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo = || {
        std::process::Command::new("sudo")
            .args(["-n", "true"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !root && !sudo() {
        missing.push("root (podman runs rootful: run as root or with passwordless sudo)");
    }
    if missing.is_empty() {
        return true;
    }
    let required =
        std::env::var_os("PCB_REQUIRE_ALL").is_some() || std::env::var_os("CI").is_some();
    assert!(
        !required,
        "the container test needs {} (scripts/setup installs the tools)",
        missing.join(", ")
    );
    eprintln!("skipped: the container test needs {}", missing.join(", "));
    false
}

/// An address of this machine that the containers reach (through their network's gateway)
/// and this process too: the first global IPv4 address.
fn host_address() -> Result<IpAddr> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .context("ip (iproute2) lists this machine's addresses")?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| anyhow!("this machine has no global IPv4 address: {}", said(&out)))
}

/// Alberta's demo provider over https on `host`, with a certificate of a CA made here: what
/// the example registry names at http://127.0.0.1:8411, which inside a container would be the
/// container itself (and plain http is allowed on loopback only).
struct HttpsProvider {
    issuer: String,
    ca_pem: String,
    _stop: oneshot::Sender<()>,
    _files: tempfile::TempDir,
}

async fn https_provider(host: IpAddr, callback: String) -> Result<HttpsProvider> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "container test CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer_ca = rcgen::Issuer::new(ca_params, &ca_key);
    let leaf_key = rcgen::KeyPair::generate()?;
    let leaf =
        rcgen::CertificateParams::new(vec![host.to_string()])?.signed_by(&leaf_key, &issuer_ca)?;
    let files = tempfile::tempdir()?;
    let (cert, key) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert, leaf.pem())?;
    std::fs::write(&key, leaf_key.serialize_pem())?;

    let listener = TcpListener::bind((host, 0)).await?;
    let issuer = format!("https://{}", listener.local_addr()?);
    let example = trust_framework::Registry::from_toml(EXAMPLE)?;
    let entry = example
        .provider("ab-account")
        .context("the example registry has ab-account")?;
    let config = demo::provider::ProviderConfig::for_registry_provider(
        entry,
        issuer.clone(),
        demo::provider::ClientConfig {
            client_id: entry.client_id.clone(),
            client_secret: UPSTREAM_SECRET.into(),
            redirect_uris: vec![callback],
        },
        None,
    );
    let router = demo::provider::router(config)?;
    let tls = Tls::from_pem_files(&cert, &key)?;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(broker::http::server::serve(
        listener,
        router,
        Some(tls),
        64,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(HttpsProvider {
        issuer,
        ca_pem: ca_cert.pem(),
        _stop: stop,
        _files: files,
    })
}

/// The deployment's files in `dir`: the example registry with Alberta at `provider`,
/// compose.yaml's broker.toml with the provider's CA as `[upstream] ca_bundle`, the CA.
fn write_files(dir: &Path, provider: &HttpsProvider) -> Result<()> {
    let registry = EXAMPLE.replace(
        "\"http://127.0.0.1:8411\"",
        &format!("\"{}\"", provider.issuer),
    );
    assert_ne!(
        registry, EXAMPLE,
        "Alberta's issuer is in the example registry"
    );
    std::fs::write(dir.join("registry.toml"), registry)?;
    let operators = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docker/config/broker.toml"),
    )?;
    let config = operators.replacen(
        "\n[upstream]\n",
        "\n[upstream]\nca_bundle = \"ca.pem\"\n",
        1,
    );
    if config == operators {
        bail!("docker/config/broker.toml has no [upstream] section to add the CA to");
    }
    std::fs::write(dir.join("broker.toml"), config)?;
    std::fs::write(dir.join("ca.pem"), &provider.ca_pem)?;
    Ok(())
}

/// Keys made as docker/README.md says: a directory owned by the image's user, and
/// `broker generate-keys` run in the image.
fn generate_keys(deployment: &Deployment) -> Result<()> {
    let keys = deployment.dir.path().join("keys");
    std::fs::create_dir(&keys)?;
    std::os::unix::fs::chown(&keys, Some(10001), Some(10001))?;
    let mount = format!("{}:/keys", keys.display());
    let run = [
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        &mount,
        &deployment.image,
        "generate-keys",
        "/keys",
    ];
    deployment.podman_ok(&run)?;
    for name in ["es256.pem", "log.pem", "log.next.pem"] {
        if !keys.join(name).exists() {
            bail!("generate-keys in the image wrote no {name}");
        }
    }
    Ok(())
}

/// One person's login through the balancer, the code redeemed and the ID token verified
/// against the broker's JWKS: its claims.
async fn login(issuer: &str, ca_pem: &str) -> Result<Map<String, Value>> {
    let browser = demo::jose::http_client_builder()?
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes())?)
        .build()?;
    let req = AuthRequest::new(RP, RP_REDIRECT).with("idp_hint", "ab-account");
    let walk = Walk {
        provider: "ab-account".into(),
        login_hint: Some(PERSON.into()),
        ..Walk::default()
    };
    let outcome = browse(&browser, issuer, &req, &walk).await?;
    let code = outcome
        .params
        .get("code")
        .ok_or_else(|| anyhow!("no code: {}", outcome.redirect))?;
    let (status, body, _) = redeem(issuer, &req, code, RP_SECRET).await?;
    if status != 200 {
        bail!("/token answered {status}: {body}");
    }
    let token = body["id_token"]
        .as_str()
        .ok_or_else(|| anyhow!("no id_token: {body}"))?;
    let (claims, _) = verify_id_token(&format!("{issuer}/jwks.json"), token).await?;
    if claims["iss"] != issuer || claims["aud"] != RP || claims["nonce"] != req.nonce.as_str() {
        bail!("unexpected claims: {claims:?}");
    }
    Ok(claims)
}

/// `n` logins one after another, paced under nginx's per-address limit (20 a second; a login
/// is five requests through it).
async fn logins(issuer: &str, ca_pem: &str, n: usize) -> Vec<Map<String, Value>> {
    let mut all = Vec::new();
    for i in 0..n {
        match login(issuer, ca_pem).await {
            Ok(claims) => all.push(claims),
            Err(e) => panic!("login {} of {n} failed: {e:#}", i + 1),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    all
}

fn txns(claims: &[Map<String, Value>]) -> BTreeSet<String> {
    claims
        .iter()
        .map(|c| c["txn"].as_str().unwrap().to_owned())
        .collect()
}

/// The audit events of the logins that a replica logged.
fn login_events(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            ["upstream.sent", "consent.given", "token.issued"]
                .iter()
                .any(|e| l.contains(&format!("\"event\":\"{e}\"")))
        })
        .count()
}

/// The txns of the disclosure records in the deployment's PostgreSQL.
fn disclosed(deployment: &Deployment) -> BTreeSet<String> {
    let out = deployment
        .exec(
            "postgres",
            &[
                "psql",
                "-U",
                "broker",
                "-d",
                "broker",
                "-tAc",
                "SELECT txn FROM disclosures",
            ],
        )
        .unwrap();
    assert!(out.status.success(), "{}", said(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn get(url: &str) -> (u16, String) {
    match e2e::rp::http().get(url).send().await {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

fn step(started: Instant, what: &str) {
    eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_image_and_the_compose_deployment_serve_logins_through_faults() {
    if !can_run() {
        return;
    }
    if std::env::var_os("FAKETIME").is_some() {
        // The containers keep the machine's time, the provider here would not.
        eprintln!("skipped under libfaketime: the containers keep the machine's time");
        return;
    }
    let started = Instant::now();
    let binary = broker_binary().unwrap();
    let deployment = Deployment::new(SECRETS).unwrap();
    deployment.build(&binary).unwrap();
    step(started, "images built");

    let provider = https_provider(
        host_address().unwrap(),
        format!("{}/callback", deployment.issuer),
    )
    .await
    .unwrap();
    write_files(deployment.dir.path(), &provider).unwrap();
    generate_keys(&deployment).unwrap();
    deployment.up().unwrap();
    step(started, "deployment up, every health check passed");

    // The replicas as compose.yaml runs them: the image's user, a read-only root file system,
    // no capabilities.
    for replica in ["broker-a", "broker-b"] {
        assert_eq!(
            deployment.inspect(replica, "{{.Config.User}}").unwrap(),
            "10001:10001"
        );
        assert_eq!(
            deployment
                .inspect(replica, "{{.HostConfig.ReadonlyRootfs}}")
                .unwrap(),
            "true"
        );
        assert_eq!(
            deployment.inspect(replica, "{{.EffectiveCaps}}").unwrap(),
            "[]"
        );
        let id = deployment.exec(replica, &["id", "-u"]).unwrap();
        assert_eq!(said(&id).trim(), "10001");
        let mounts = said(
            &deployment
                .exec(replica, &["cat", "/proc/self/mounts"])
                .unwrap(),
        );
        let root = mounts
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("/"))
            .unwrap_or_else(|| panic!("no / in {mounts}"));
        let options = root.split_whitespace().nth(3).unwrap_or_default();
        assert!(options.split(',').any(|o| o == "ro"), "{root}");
    }

    // The balancer's address is the issuer; the audit log's key (keys/log.pem) is served.
    let (status, discovery) = get(&format!(
        "{}/.well-known/openid-configuration",
        deployment.issuer
    ))
    .await;
    assert_eq!(status, 200, "{discovery}");
    let discovery: Value = serde_json::from_str(&discovery).unwrap();
    assert_eq!(discovery["issuer"], deployment.issuer.as_str());
    let (status, key) = get(&format!("{}/log/key", deployment.issuer)).await;
    assert_eq!(status, 200, "{key}");

    // Logins through nginx, over both replicas: one pairwise subject for the person however
    // the requests were spread, and a disclosure record of each in PostgreSQL.
    let mut done = logins(&deployment.issuer, &provider.ca_pem, 6).await;
    step(started, "6 logins through the balancer");
    let subjects: BTreeSet<&str> = done.iter().map(|c| c["sub"].as_str().unwrap()).collect();
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    assert_eq!(txns(&done).len(), 6);
    for replica in ["broker-a", "broker-b"] {
        let log = deployment.logs(replica).unwrap();
        assert!(login_events(&log) > 0, "{replica} served no login:\n{log}");
    }
    assert_eq!(disclosed(&deployment), txns(&done));

    // The log is signed: a checkpoint of a tree that holds the records.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, checkpoint) = get(&format!("{}/log/checkpoint", deployment.issuer)).await;
        let size: u64 = checkpoint
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        if status == 200 && size >= 6 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of the records: {status} {checkpoint}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // nginx limits per address (config/nginx.conf): a burst past 40 is answered 429.
    let burst: Vec<_> = (0..80)
        .map(|_| {
            let url = format!("{}/healthz", deployment.issuer);
            tokio::spawn(async move { get(&url).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for r in burst {
        statuses.push(r.await.unwrap());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 429),
        "{statuses:?}"
    );
    step(started, "checkpoint signed, burst limited");
    tokio::time::sleep(Duration::from_secs(3)).await;

    // One replica stopped: logins go on through the other.
    deployment.stop("broker-a").unwrap();
    step(started, "broker-a stopped");
    done.extend(logins(&deployment.issuer, &provider.ca_pem, 3).await);
    step(started, "3 logins with broker-a stopped");
    deployment.start("broker-a").unwrap();
    deployment.healthy(&["broker-a"]).unwrap();
    step(started, "broker-a back");

    // Redis stopped: the replicas say they are not ready (their health check fails) and a
    // login fails without hanging; Redis back, the replicas are ready again by themselves and
    // logins resume.
    deployment.stop("redis").unwrap();
    assert!(
        deployment
            .turns_unhealthy("broker-b", Duration::from_secs(15))
            .unwrap(),
        "broker-b stayed healthy with Redis stopped"
    );
    let (status, body) = get(&format!("{}/readyz", deployment.issuer)).await;
    assert_eq!(status, 503, "{body}");
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        login(&deployment.issuer, &provider.ca_pem),
    )
    .await
    .unwrap_or_else(|_| panic!("a login with Redis stopped hung"));
    assert!(refused.is_err(), "a login succeeded with Redis stopped");
    deployment.start("redis").unwrap();
    deployment
        .healthy(&["redis", "broker-a", "broker-b"])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        match login(&deployment.issuer, &provider.ca_pem).await {
            Ok(claims) => break claims,
            Err(e) if Instant::now() < deadline => {
                eprintln!("not yet after Redis came back: {e:#}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => panic!("logins did not resume after Redis came back: {e:#}"),
        }
    };
    done.push(first);
    done.extend(logins(&deployment.issuer, &provider.ca_pem, 2).await);
    step(started, "logins resumed after Redis came back");

    assert_eq!(disclosed(&deployment), txns(&done));
    let subjects: BTreeSet<&str> = done.iter().map(|c| c["sub"].as_str().unwrap()).collect();
    assert_eq!(subjects.len(), 1, "{subjects:?}");
    drop(deployment);
    step(started, "deployment taken down");
}
