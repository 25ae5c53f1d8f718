//! The compose deployment run for real: `docker/compose.yaml` with `docker/compose.test.yaml`
//! on top, by podman through `docker/test-image.sh` (which builds the images where no registry
//! is reachable, and keeps podman's store in a cache of its own). A [`Deployment`] is one
//! compose project with its own directory of registry, keys, CA and configuration, its own
//! broker image tag and its own published port; dropped, it is taken down with its volumes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::broker::free_port;

/// The services of `docker/compose.yaml` that a plain `up` starts.
pub const SERVICES: [&str; 5] = ["postgres", "redis", "broker-a", "broker-b", "balancer"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `docker/test-image.sh`.
pub fn script() -> PathBuf {
    repo().join("docker").join("test-image.sh")
}

fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What the deployment needs that `scripts/setup` installs and is not here: podman, runc,
/// debootstrap, and podman-compose (for `python3`).
pub fn missing_tools() -> Vec<&'static str> {
    let mut missing: Vec<&'static str> = ["podman", "runc", "debootstrap"]
        .into_iter()
        .filter(|p| !on_path(p))
        .collect();
    let compose = Command::new("python3")
        .args(["-c", "import podman_compose"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !compose {
        missing.push("podman-compose");
    }
    missing
}

/// The text of a command's output, both streams, for an error or a log.
pub fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One compose project of the container test.
#[derive(Debug)]
pub struct Deployment {
    /// `PCB_TEST_DIR`: registry.toml, broker.toml, ca.pem and keys/, mounted into the replicas.
    pub dir: tempfile::TempDir,
    /// The balancer's port on 127.0.0.1 (`BROKER_PUBLISHED_PORT`).
    pub port: u16,
    /// `http://127.0.0.1:port`: the balancer, the broker's issuer.
    pub issuer: String,
    /// The broker image, `localhost/pan-canadian-broker:<tag>`, made by [`Deployment::build`].
    pub image: String,
    env: Vec<(String, String)>,
}

impl Deployment {
    /// A project of its own (named after this process), with `env` (the secrets the broker's
    /// registry and configuration name) given to compose.
    pub fn new(env: &[(&str, &str)]) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let id = std::process::id();
        let tag = format!("test-{id}");
        let dir_text = dir.path().display().to_string();
        let mut all: Vec<(String, String)> = vec![
            ("PCB_TEST_DIR".into(), dir_text.clone()),
            ("PCB_TEST_PROJECT".into(), format!("pcb-test-{id}")),
            ("PCB_TEST_TAG".into(), tag.clone()),
            ("BROKER_PUBLISHED_PORT".into(), port.to_string()),
            (
                "BROKER_REGISTRY_FILE".into(),
                format!("{dir_text}/registry.toml"),
            ),
            (
                "BROKER_POSTGRES_PASSWORD".into(),
                crate::rp::rand_token().replace(['-', '_'], "x"),
            ),
        ];
        all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Ok(Self {
            dir,
            port,
            issuer: format!("http://127.0.0.1:{port}"),
            image: format!("localhost/pan-canadian-broker:{tag}"),
            env: all,
        })
    }

    /// `docker/test-image.sh ARGS`, with this project's environment, checked; what it tells
    /// (on standard error) is passed on.
    pub fn script(&self, args: &[&str]) -> Result<String> {
        let out = self.script_output(args)?;
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            bail!(
                "docker/test-image.sh {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `docker/test-image.sh ARGS`, unchecked.
    pub fn script_output(&self, args: &[&str]) -> Result<Output> {
        Command::new(script())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // podman keeps the machine's time: under libfaketime (docs/testing.md) it hangs.
            .env_remove("LD_PRELOAD")
            .env_remove("FAKETIME")
            .output()
            .context("cannot run docker/test-image.sh")
    }

    /// The broker image around `binary`, and the service images (built once per machine).
    pub fn build(&self, binary: &Path) -> Result<()> {
        self.script(&["build", &binary.display().to_string()])
            .map(drop)
    }

    /// `podman ARGS` on the script's store, unchecked.
    pub fn podman(&self, args: &[&str]) -> Result<Output> {
        let mut all = vec!["podman"];
        all.extend_from_slice(args);
        self.script_output(&all)
    }

    /// `podman ARGS`, checked; its standard output.
    pub fn podman_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.podman(args)?;
        if !out.status.success() {
            bail!("podman {} failed: {}", args.join(" "), said(&out));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The container of `service` (stopped ones included).
    pub fn container(&self, service: &str) -> Result<String> {
        let name = self.script(&["container", service])?.trim().to_owned();
        if name.is_empty() {
            bail!("no container for {service}");
        }
        Ok(name)
    }

    /// Starts the stack and waits for every health check to pass (`test-image.sh up`).
    pub fn up(&self) -> Result<()> {
        self.script(&["up"]).map(drop)
    }

    /// Waits until the health check of each of `services` passes.
    pub fn healthy(&self, services: &[&str]) -> Result<()> {
        let mut args = vec!["healthy"];
        args.extend_from_slice(services);
        self.script(&args).map(drop)
    }

    /// Runs the health check of `service` once: whether it passed.
    pub fn health_check(&self, service: &str) -> Result<bool> {
        let name = self.container(service)?;
        Ok(self
            .podman(&["healthcheck", "run", &name])?
            .status
            .success())
    }

    /// Whether the health check of `service` fails within `within`.
    pub fn turns_unhealthy(&self, service: &str, within: Duration) -> Result<bool> {
        let deadline = Instant::now() + within;
        loop {
            if !self.health_check(service)? {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `podman stop` (as `docker compose stop SERVICE`: restart policies leave it stopped).
    pub fn stop(&self, service: &str) -> Result<()> {
        let name = self.container(service)?;
        self.podman_ok(&["stop", "-t", "10", &name]).map(drop)
    }

    pub fn start(&self, service: &str) -> Result<()> {
        let name = self.container(service)?;
        self.podman_ok(&["start", &name]).map(drop)
    }

    /// `podman exec` in `service`'s container, unchecked.
    pub fn exec(&self, service: &str, argv: &[&str]) -> Result<Output> {
        let name = self.container(service)?;
        let mut args = vec!["exec", name.as_str()];
        args.extend_from_slice(argv);
        self.podman(&args)
    }

    /// A `podman inspect --format` of `service`'s container.
    pub fn inspect(&self, service: &str, format: &str) -> Result<String> {
        let name = self.container(service)?;
        Ok(self
            .podman_ok(&["inspect", "--format", format, &name])?
            .trim()
            .to_owned())
    }

    /// What `service` logged (both streams).
    pub fn logs(&self, service: &str) -> Result<String> {
        let name = self.container(service)?;
        Ok(said(&self.podman(&["logs", &name])?))
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for service in SERVICES {
                let log = self
                    .container(service)
                    .and_then(|name| Ok(said(&self.podman(&["logs", "--tail", "40", &name])?)))
                    .unwrap_or_else(|e| format!("(no log: {e})"));
                eprintln!("---- {service}, the end of its log:\n{log}");
            }
        }
        if let Err(e) = self.script(&["down"]) {
            eprintln!("taking the deployment down failed: {e}");
        }
        if let Err(e) = self.script(&["clean"]) {
            eprintln!("removing the broker image failed: {e}");
        }
    }
}
