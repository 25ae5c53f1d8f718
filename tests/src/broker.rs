//! The broker binary as a separate process, configured for a test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

/// The workspace's `broker` binary: `BROKER_BIN`, else the shared target directory (built
/// once by scripts/test before the tests run; built here if missing).
pub fn broker_binary() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("BROKER_BIN") {
        return Ok(PathBuf::from(path));
    }
    workspace_binary("broker", "broker")
}

/// The workspace's `load` binary (the load tool), found or built like [`broker_binary`].
pub fn load_binary() -> Result<PathBuf> {
    workspace_binary("load", "load")
}

fn workspace_binary(package: &str, name: &str) -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let bin = target.join("debug").join(name);
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", package, "--bin", name])
            .current_dir(&root)
            .status()
            .with_context(|| format!("cargo build -p {package}"))?;
        if !status.success() {
            bail!("building {name} failed");
        }
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

    pub async fn spawn(spec: BrokerSpec<'_>) -> Result<Self> {
        let bin = broker_binary()?;
        let dir = tempfile::tempdir()?;
        let port = if spec.port == 0 {
            free_port()?
        } else {
            spec.port
        };
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
        let extra = spec.extra_config.unwrap_or_default();
        let config = format!(
            "version = 1\nissuer = \"{issuer}\"\nlisten = \"127.0.0.1:{port}\"\nregistry = \"registry.toml\"\n[keys]\n{key_lines}[pairwise]\nsecret = {{ env = \"E2E_PAIRWISE_SECRET\" }}\n[upstream]\ntimeout_seconds = 5\n{}{}",
            spec.store.unwrap_or_default(),
            // Every test client is one loopback address: the per-address limit is off unless
            // a test sets its own [limits] (the limits have their own tests).
            if extra.contains("[limits]") {
                ""
            } else {
                "[limits]\nper_address_per_minute = 0\n"
            }
        ) + &extra;
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
        let broker = Self {
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

    async fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let url = format!("{}/healthz", self.url);
        while Instant::now() < deadline {
            if let Ok(Ok(s)) = tokio::time::timeout(
                Duration::from_secs(1),
                tokio::net::TcpStream::connect(url_addr(&url)),
            )
            .await
            {
                drop(s);
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the broker did not start: {}", self.log())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub async fn stop(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

fn url_addr(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}
