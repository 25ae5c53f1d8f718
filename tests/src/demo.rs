//! `demo` as a process on free ports: the README's main job, for tests.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tokio::io::AsyncReadExt;

use crate::broker::{demo_binary, free_ports};

const EXAMPLE: &str = include_str!("../../examples/registry/pan-canada.toml");

impl Demo {
    /// What the demo wrote on standard error, and whether it is still running.
    pub fn diagnostics(&mut self) -> String {
        let log = std::fs::read_to_string(self._dir.path().join("demo.log")).unwrap_or_default();
        format!(
            "running: {:?}\n{log}",
            self.child.try_wait().map(|s| s.is_none())
        )
    }
}

#[derive(Debug)]
pub struct Demo {
    pub child: tokio::process::Child,
    /// With [`start_split_demo`]: the `demo --providers only` process.
    pub providers: Option<tokio::process::Child>,
    /// The demo relying service.
    pub rp: String,
    pub broker: String,
    /// The registry the demo runs with (its loopback ports moved to free ones).
    pub registry: std::path::PathBuf,
    /// With [`start_split_demo`] and [`start_demo_without_providers`]: the providers' client
    /// secrets, by the environment variable the registry names.
    pub secrets: Vec<(String, String)>,
    /// What the demo printed on standard output: its addresses and the services' secrets.
    pub banner: String,
    _dir: tempfile::TempDir,
}

/// Where the demo providers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Providers {
    InTheDemo,
    Apart,
    NotStarted,
}

/// Starts `demo` with the example registry, every loopback port moved to a free one.
pub async fn start_demo() -> Result<Demo> {
    start(Providers::InTheDemo).await
}

/// The same demo in two processes: `demo --providers only` serves the demo providers,
/// `demo --providers elsewhere` the broker and the relying service, the providers'
/// client secrets shared through the environment variables the registry names.
pub async fn start_split_demo() -> Result<Demo> {
    start(Providers::Apart).await
}

/// `demo --providers elsewhere` alone: whoever serves the providers (the load tool's
/// `--serve-providers`) takes [`Demo::registry`] and [`Demo::secrets`].
pub async fn start_demo_without_providers() -> Result<Demo> {
    start(Providers::NotStarted).await
}

/// The demo's six ports are found free: started through [`crate::broker::on_free_ports`].
async fn start(providers: Providers) -> Result<Demo> {
    crate::broker::on_free_ports(|| start_once(providers)).await
}

async fn start_once(providers: Providers) -> Result<Demo> {
    let mut registry = EXAMPLE.to_owned();
    // The four providers, the relying service (8490), then the broker.
    let ports = free_ports(6)?;
    for (port, free) in [8411u16, 8412, 8413, 8419, 8490].into_iter().zip(&ports) {
        registry = registry.replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{free}"));
    }
    let rp_port = ports[4];
    let broker_port = ports[5].to_string();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.toml");
    std::fs::write(&path, registry)?;
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["--port", &broker_port, "--registry", &path];

    let (providers, secrets) = if providers != Providers::InTheDemo {
        let secrets: Vec<(String, String)> = EXAMPLE
            .lines()
            .filter_map(|line| line.strip_prefix("client_secret = { env = \""))
            .filter_map(|rest| rest.split('"').next())
            .filter(|name| name.starts_with("BROKER_IDP_"))
            .enumerate()
            .map(|(i, name)| {
                (
                    name.to_owned(),
                    format!("split-demo-secret-{i}-{}", std::process::id()),
                )
            })
            .collect();
        let child = if providers == Providers::Apart {
            let mut provider_args = args.clone();
            provider_args.extend(["--providers", "only"]);
            let (child, printed) = spawn(&provider_args, &secrets, &dir, "providers.log").await?;
            if !printed.contains("providers only") || printed.contains("client_id ") {
                bail!("unexpected banner of the providers: {printed}");
            }
            Some(child)
        } else {
            None
        };
        args.extend(["--providers", "elsewhere"]);
        (child, secrets)
    } else {
        (None, Vec::new())
    };
    let (child, printed) = spawn(&args, &secrets, &dir, "demo.log").await?;
    let rp = format!("http://127.0.0.1:{rp_port}");
    if !printed.contains(&format!("Open {rp}/"))
        || !printed.contains("client_id esdc-employment-insurance")
    {
        bail!("unexpected demo banner: {printed}");
    }
    Ok(Demo {
        child,
        providers,
        rp,
        broker: format!("http://127.0.0.1:{broker_port}"),
        registry: dir.path().join("registry.toml"),
        secrets,
        banner: printed,
        _dir: dir,
    })
}

/// Runs `demo` with `args` and returns once it has printed its banner.
async fn spawn(
    args: &[&str],
    env: &[(String, String)],
    dir: &tempfile::TempDir,
    log: &str,
) -> Result<(tokio::process::Child, String)> {
    let mut child = tokio::process::Command::new(demo_binary()?)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join(log))?)
        .kill_on_drop(true)
        .spawn()?;
    // The demo prints its addresses once everything listens.
    let Some(mut stdout) = child.stdout.take() else {
        bail!("no stdout")
    };
    let mut printed = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !printed.contains("Press Ctrl-C") {
        if Instant::now() > deadline {
            bail!("demo did not start: {printed}");
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(20), stdout.read(&mut buf)).await??;
        if n == 0 {
            let log = std::fs::read_to_string(dir.path().join(log)).unwrap_or_default();
            bail!("demo exited: {printed}\n{log}");
        }
        printed.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // Keep reading whatever else it prints, so its standard output never closes under it.
    tokio::spawn(async move {
        let mut sink = [0u8; 1024];
        while matches!(stdout.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    Ok((child, printed))
}
