//! Real `redis-server` processes on free loopback ports, started by the tests themselves:
//! single servers that can be killed and restarted on the same port, and Redis Clusters.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

use crate::broker::free_port;

/// One redis-server. Killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    extra: Vec<String>,
}

impl RedisServer {
    pub async fn start() -> Result<Self> {
        Self::start_with(Vec::new()).await
    }

    async fn start_with(extra: Vec<String>) -> Result<Self> {
        let mut server = Self {
            port: free_port()?,
            dir: tempfile::tempdir()?,
            child: None,
            extra,
        };
        server.launch().await?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    async fn launch(&mut self) -> Result<()> {
        let child = Command::new("redis-server")
            // Redis keeps the machine's time: its expiry depends on no date, and under a faked
            // clock (libfaketime, to run the suite years ahead) redis-server hangs.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--dir", &self.dir.path().display().to_string()])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("redis-server must be installed (scripts/setup installs it)")?;
        self.child = Some(child);
        self.wait_ping().await
    }

    async fn wait_ping(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.cli(&["PING"]).await.is_ok_and(|o| o.trim() == "PONG") {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("redis-server on port {} did not answer", self.port)
    }

    /// Runs `redis-cli` against this server and returns its output.
    pub async fn cli(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("redis-cli")
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .await?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Kills the server abruptly (SIGKILL): clients see their connections drop.
    pub async fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// Starts it again on the same port, empty.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill().await?;
        self.launch().await
    }
}

/// A Redis Cluster of `n` primaries on loopback.
#[derive(Debug)]
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub async fn start(n: usize) -> Result<Self> {
        let mut nodes = Vec::new();
        for _ in 0..n {
            nodes.push(
                RedisServer::start_with(vec![
                    "--cluster-enabled".into(),
                    "yes".into(),
                    "--cluster-config-file".into(),
                    "nodes.conf".into(),
                    "--cluster-node-timeout".into(),
                    "2000".into(),
                ])
                .await?,
            );
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let out = Command::new("redis-cli")
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        let cluster = Self { nodes };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let mut ok = true;
            for node in &cluster.nodes {
                ok &= node
                    .cli(&["CLUSTER", "INFO"])
                    .await?
                    .contains("cluster_state:ok");
            }
            if ok {
                return Ok(cluster);
            }
            if Instant::now() > deadline {
                bail!("the cluster did not reach cluster_state:ok");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn seeds(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }
}
