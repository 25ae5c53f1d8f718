//! `broker demo` as a process on free ports: the README's main job, for tests.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use tokio::io::AsyncReadExt;

use crate::broker::{broker_binary, free_port};

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
    /// The demo relying service.
    pub rp: String,
    pub broker: String,
    _dir: tempfile::TempDir,
}

/// Starts `broker demo` with the example registry, every loopback port moved to a free one.
pub async fn start_demo() -> Result<Demo> {
    let mut registry = EXAMPLE.to_owned();
    let mut rp_port = 0;
    for port in [8411u16, 8412, 8413, 8419, 8490] {
        let free = free_port()?;
        if port == 8490 {
            rp_port = free;
        }
        registry = registry.replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{free}"));
    }
    let broker_port = free_port()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("registry.toml");
    std::fs::write(&path, registry)?;
    let mut child = tokio::process::Command::new(broker_binary()?)
        .args(["demo", "--port", &broker_port.to_string(), "--registry"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("demo.log"))?)
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
            bail!("demo exited: {printed}");
        }
        printed.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    // Keep reading whatever else it prints, so its standard output never closes under it.
    tokio::spawn(async move {
        let mut sink = [0u8; 1024];
        while matches!(stdout.read(&mut sink).await, Ok(n) if n > 0) {}
    });
    let rp = format!("http://127.0.0.1:{rp_port}");
    if !printed.contains(&format!("Open {rp}/"))
        || !printed.contains("client_id esdc-employment-insurance")
    {
        bail!("unexpected demo banner: {printed}");
    }
    Ok(Demo {
        child,
        rp,
        broker: format!("http://127.0.0.1:{broker_port}"),
        _dir: dir,
    })
}
