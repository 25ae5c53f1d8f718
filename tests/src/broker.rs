//! The broker binary as a separate process, configured for a test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// The workspace's `broker` binary: `BROKER_BIN`, else the shared target directory, built
/// first (see [`workspace_binary`]).
pub fn broker_binary() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("BROKER_BIN") {
        return Ok(PathBuf::from(path));
    }
    workspace_binary("broker")
}

/// The workspace's `demo` binary (the broker with demo providers and a demo relying service).
pub fn demo_binary() -> Result<PathBuf> {
    workspace_binary("demo")
}

/// The workspace's `load` binary (the load tool).
pub fn load_binary() -> Result<PathBuf> {
    workspace_binary("load")
}

/// The workspace's `conformance` binary (the auditor's suite, `conformance log` among it).
pub fn conformance_binary() -> Result<PathBuf> {
    workspace_binary("conformance")
}

/// A binary of the workspace in its target directory, built first so that a test never runs
/// a binary older than the sources: `cargo build --workspace --bins`, the build scripts/test
/// makes (the same command, so the same features and no rebuild when it is fresh), run once
/// per test process. scripts/test sets `PCB_BINARIES_BUILT` after its own build, which skips
/// this.
fn workspace_binary(name: &str) -> Result<PathBuf> {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let built = BUILT.get_or_init(|| {
        if std::env::var_os("PCB_BINARIES_BUILT").is_some() {
            return Ok(());
        }
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--workspace", "--bins", "--quiet"])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cannot run cargo to build the binaries: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(
                "`cargo build --workspace --bins` failed: the tests need the binaries it builds"
                    .into(),
            )
        }
    });
    if let Err(e) = built {
        bail!("{e}");
    }
    let bin = target.join("debug").join(name);
    if !bin.exists() {
        bail!("{} is missing after the build", bin.display());
    }
    Ok(bin)
}

/// A free loopback port (the broker must know its issuer before it binds).
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// `n` distinct free ports: each is held until all are found, so none is handed out twice.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let held = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    held.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// How to run one broker process.
#[derive(Debug, Default)]
pub struct BrokerSpec<'a> {
    /// 0 for a free port.
    pub port: u16,
    /// The issuer, when it is not the process's own address (replicas behind one name).
    pub issuer: Option<String>,
    pub registry: &'a str,
    pub env: &'a [(&'a str, &'a str)],
    /// A `[store]` section; memory when absent.
    pub store: Option<String>,
    /// A directory of keys from `broker generate-keys`, shared by replicas.
    pub keys: Option<PathBuf>,
    /// More configuration appended to the file (e.g. an `[admin]` section).
    pub extra_config: Option<String>,
    /// The records' URL (a PostgreSQL shared by replicas); SQLite in the process's own
    /// directory when absent.
    pub records: Option<String>,
}

/// Writes signing keys with `broker generate-keys`.
pub fn generate_keys(dir: &Path) -> Result<()> {
    let out = std::process::Command::new(broker_binary()?)
        .arg("generate-keys")
        .arg(dir)
        .output()?;
    if !out.status.success() {
        bail!(
            "generate-keys failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// What the OS says (through a process's log) when a port found free was taken meanwhile.
pub(crate) const PORT_TAKEN: &str = "Address already in use";

/// Free ports are found by binding port 0 and letting go, so another test's process (or an
/// outgoing connection's local port) can take one before the process under test binds it. It
/// then exits saying so (its log is in the error), and only then is `start` run again, on
/// fresh ports: at most three times in all.
pub(crate) async fn on_free_ports<T, F: std::future::Future<Output = Result<T>>>(
    mut start: impl FnMut() -> F,
) -> Result<T> {
    let mut attempt = 1;
    loop {
        match start().await {
            Err(e) if attempt < 3 && e.to_string().contains(PORT_TAKEN) => attempt += 1,
            result => return result,
        }
    }
}

#[derive(Debug)]
pub struct BrokerProcess {
    pub issuer: String,
    /// Where this process listens (differs from the issuer for replicas).
    pub url: String,
    pub dir: tempfile::TempDir,
    child: Child,
    stderr: PathBuf,
}

impl BrokerProcess {
    /// Starts `broker serve` with the registry text given, fresh keys, and `env` for secrets.
    pub async fn start(registry: &str, env: &[(&str, &str)]) -> Result<Self> {
        Self::start_on(free_port()?, registry, env).await
    }

    /// As `start`, on a port chosen by the caller (who had to tell a provider the callback).
    pub async fn start_on(port: u16, registry: &str, env: &[(&str, &str)]) -> Result<Self> {
        Self::spawn(BrokerSpec {
            port,
            registry,
            env,
            ..BrokerSpec::default()
        })
        .await
    }

    /// Starts a broker as `spec` says; on a port the test left to chance, through
    /// [`on_free_ports`].
    pub async fn spawn(spec: BrokerSpec<'_>) -> Result<Self> {
        if spec.port != 0 {
            return Self::spawn_on(&spec, spec.port).await;
        }
        on_free_ports(|| async { Self::spawn_on(&spec, free_port()?).await }).await
    }

    async fn spawn_on(spec: &BrokerSpec<'_>, port: u16) -> Result<Self> {
        let bin = broker_binary()?;
        let dir = tempfile::tempdir()?;
        let issuer = spec
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://127.0.0.1:{port}"));
        std::fs::write(dir.path().join("registry.toml"), spec.registry)?;
        let keys = match &spec.keys {
            Some(k) => k.clone(),
            None => {
                let keys = dir.path().join("keys");
                generate_keys(&keys)?;
                keys
            }
        };
        let key_lines: String = ["ES256", "PS256", "RS256", "EdDSA"]
            .iter()
            .map(|alg| {
                format!(
                    "{alg} = \"{}\"\n",
                    keys.join(format!("{}.pem", alg.to_lowercase())).display()
                )
            })
            .collect();
        let extra = spec.extra_config.clone().unwrap_or_default();
        let config = format!(
            "version = 1\nissuer = \"{issuer}\"\nlisten = \"127.0.0.1:{port}\"\nregistry = \"registry.toml\"\n[keys]\n{key_lines}[pairwise]\nsecret = {{ env = \"E2E_PAIRWISE_SECRET\" }}\n[upstream]\ntimeout_seconds = 5\n{}{}",
            spec.store.clone().unwrap_or_default(),
            // Every test client is one loopback address: the per-address limit is off unless
            // a test sets its own [limits] (the limits have their own tests).
            if extra.contains("[limits]") {
                ""
            } else {
                "[limits]\nper_address_per_minute = 0\n"
            }
        ) + &extra;
        let config = match &spec.records {
            Some(url) => {
                std::fs::write(dir.path().join("records.url"), url)?;
                config + "[records]\nurl = { file = \"records.url\" }\ntimeout_ms = 1000\n"
            }
            None => config,
        };
        std::fs::write(dir.path().join("broker.toml"), config)?;
        let stderr = dir.path().join("broker.log");
        let mut command = Command::new(&bin);
        command
            .arg("serve")
            .arg("--config")
            .arg(dir.path().join("broker.toml"))
            .env("E2E_PAIRWISE_SECRET", "e2e-pairwise-secret")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr)?)
            .kill_on_drop(true);
        for (k, v) in spec.env {
            command.env(k, v);
        }
        let child = command.spawn().context("spawn broker")?;
        let mut broker = Self {
            issuer,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            child,
            stderr,
        };
        broker.wait_ready().await?;
        Ok(broker)
    }

    /// Whether the process is still running (it must never die of bad input or faults).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Ready when this process says it is serving: it logs that once it holds its port, so a
    /// connection that another process answered on the same port is never taken for it. A
    /// process that exits first did not start; its log says why ([`PORT_TAKEN`], or a reason of
    /// its own).
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.log().contains("broker serving") {
                return Ok(());
            }
            if !self.is_running() {
                bail!("the broker exited before serving: {}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("the broker did not start: {}", self.log())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The log once it holds `text`, or as it is after 5 s: the broker writes its lines in
    /// batches, up to `broker::audit::sink::GATHER` after they were logged.
    pub async fn log_with(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if log.contains(text) || Instant::now() >= deadline {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY: &str = include_str!("../../examples/registry/pan-canada.toml");

    #[tokio::test]
    async fn a_broker_whose_port_is_taken_is_told_apart_and_not_taken_for_ready() {
        // Whoever holds the port accepts connections (the kernel queues them), which a readiness
        // check by connection alone would have taken for the broker.
        let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let spec = BrokerSpec {
            registry: REGISTRY,
            ..BrokerSpec::default()
        };
        match BrokerProcess::spawn_on(&spec, port).await {
            Err(e) => {
                let said = e.to_string();
                assert!(said.contains("cannot listen"), "{said}");
                assert!(said.contains(PORT_TAKEN), "{said}");
            }
            Ok(_) => panic!("expected the port to be taken, got a broker ready on it"),
        }
        let broker = BrokerProcess::spawn(spec).await.unwrap();
        assert_ne!(broker.url, format!("http://127.0.0.1:{port}"));
        let r = crate::rp::http()
            .get(format!("{}/healthz", broker.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}
