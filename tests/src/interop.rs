//! Third-party OpenID Connect peers for end-to-end tests, from `tests/interop/`:
//! an upstream identity provider built on panva's `oidc-provider` (v9) and a
//! relying party built on `openid-client` (v6), both run with Node.
//!
//! - [`ensure_npm_installed`] installs their npm dependencies once (`npm ci`),
//!   safely when several test processes start at the same time.
//! - [`UpstreamProvider::start`] runs `provider.mjs` on a free loopback port.
//! - [`run_rp`] runs `rp.mjs` for one full login and returns its JSON output.
//! - [`run_service`] runs one step of `service.mjs`, a relying service on openid-client whose
//!   browser is the test itself.
//! - [`LogoutReceiver::start`] runs `logout_receiver.mjs`: services' back-channel logout
//!   endpoints that verify each logout token with `jose`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// How long the provider may take to print `READY`: about 0.5 s alone, but once in a CI run
/// (four tests at a time on two cores, Chromium among them) it took over 20 s. A healthy start
/// never waits for this bound; it only decides when a stuck one is given up.
const PROVIDER_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one `rp.mjs` login may take.
const RP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for another process's `npm ci`.
const INSTALL_LOCK_TIMEOUT: Duration = Duration::from_secs(600);
/// A lock older than this is taken to be left by a process that died.
const INSTALL_LOCK_STALE: Duration = Duration::from_secs(900);
/// Stderr lines kept per provider for error messages.
const STDERR_LINES_KEPT: usize = 200;
/// The marker written into node_modules after a successful install: a copy of
/// the lockfile it was installed from.
const INSTALL_MARKER: &str = ".e2e-installed-lock.json";

/// `tests/interop`, where `package.json`, `provider.mjs` and `rp.mjs` live.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Runs `npm ci --no-audit --no-fund` in `tests/interop` unless `node_modules`
/// was already installed from the current `package-lock.json`. Once per
/// process; across processes (nextest runs each test as its own process) a
/// `mkdir` lock serializes installs. Returns the interop directory.
pub fn ensure_npm_installed() -> Result<PathBuf> {
    static INSTALLED: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| install_once().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(|e| anyhow!("npm install of the interop peers failed: {e}"))
}

fn install_once() -> Result<PathBuf> {
    let dir = interop_dir();
    let lockfile = dir.join("package-lock.json");
    if !lockfile.is_file() {
        bail!("{} is missing", lockfile.display());
    }
    if is_installed(&dir)? {
        return Ok(dir);
    }
    let _lock = InstallLock::acquire(&dir)?;
    // Another process may have installed while we waited for the lock.
    if is_installed(&dir)? {
        return Ok(dir);
    }
    let output = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .context("cannot run npm (are Node.js and npm installed?)")?;
    if !output.status.success() {
        bail!(
            "`npm ci` in {} exited with {}:\n{}\n{}",
            dir.display(),
            output.status,
            tail(&String::from_utf8_lossy(&output.stdout), 2000),
            tail(&String::from_utf8_lossy(&output.stderr), 4000),
        );
    }
    let lock_bytes =
        std::fs::read(&lockfile).with_context(|| format!("cannot read {}", lockfile.display()))?;
    std::fs::write(dir.join("node_modules").join(INSTALL_MARKER), lock_bytes)
        .context("cannot write the npm install marker")?;
    Ok(dir)
}

/// node_modules holds an install made from the current lockfile.
fn is_installed(dir: &Path) -> Result<bool> {
    let lockfile = dir.join("package-lock.json");
    let current =
        std::fs::read(&lockfile).with_context(|| format!("cannot read {}", lockfile.display()))?;
    match std::fs::read(dir.join("node_modules").join(INSTALL_MARKER)) {
        Ok(marker) => Ok(marker == current),
        Err(_) => Ok(false),
    }
}

/// A cross-process lock: a directory that only one process can create.
#[derive(Debug)]
struct InstallLock {
    path: PathBuf,
}

impl InstallLock {
    fn acquire(dir: &Path) -> Result<Self> {
        let path = std::env::temp_dir().join(format!(
            "e2e-interop-npm-{:016x}.lock",
            fnv1a(dir.to_string_lossy().as_bytes())
        ));
        let started = Instant::now();
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|a| a > INSTALL_LOCK_STALE) {
                        // Left by a process that died mid-install.
                        let _ = std::fs::remove_dir(&path);
                        continue;
                    }
                    if started.elapsed() > INSTALL_LOCK_TIMEOUT {
                        bail!(
                            "timed out waiting for the npm install lock {}",
                            path.display()
                        );
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create lock {}", path.display()));
                }
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.path);
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn tail(s: &str, max: usize) -> &str {
    let s = s.trim_end();
    if s.len() <= max {
        return s;
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// Lines a child wrote to stderr, the last few kept.
type StderrLog = Arc<Mutex<VecDeque<String>>>;

fn collect_lines<R>(reader: R, log: Option<StderrLog>, prefix: &'static str)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("{prefix}{line}");
            if let Some(log) = &log {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                if log.len() == STDERR_LINES_KEPT {
                    log.pop_front();
                }
                log.push_back(line);
            }
        }
    });
}

fn joined(log: &StderrLog) -> String {
    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    log.iter().cloned().collect::<Vec<_>>().join("\n")
}

/// An independent upstream OpenID Provider (`provider.mjs`, oidc-provider v9)
/// on a free loopback port. The process is killed when this is dropped.
#[derive(Debug)]
pub struct UpstreamProvider {
    /// `http://127.0.0.1:PORT` (`https://` with a `tls` member in its configuration)
    pub issuer: String,
    /// The loopback port it listens on.
    pub port: u16,
    child: Child,
    stderr: StderrLog,
    _config_dir: tempfile::TempDir,
}

impl UpstreamProvider {
    /// Starts `node provider.mjs CONFIG` with `config` (see `tests/interop/provider.mjs`
    /// for its fields: `clients`, `acr_values`, `acr_override`, `accounts`,
    /// `default_account`, `tls`, ...), its `port` and `issuer` filled in here.
    pub async fn start(mut config: Value) -> Result<UpstreamProvider> {
        let dir = tokio::task::spawn_blocking(ensure_npm_installed)
            .await
            .context("npm install task failed")??;

        // oidc-provider must know its issuer (and so its port) before it binds:
        // take a free port from the OS and release it for the provider.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("cannot find a free loopback port")?
            .port();
        let object = config
            .as_object_mut()
            .ok_or_else(|| anyhow!("the provider config must be a JSON object"))?;
        let scheme = if object.contains_key("tls") {
            "https"
        } else {
            "http"
        };
        let issuer = format!("{scheme}://127.0.0.1:{port}");
        object.insert("port".into(), Value::from(port));
        object.insert("issuer".into(), Value::from(issuer.clone()));

        let config_dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        let config_path = config_dir.path().join("provider.json");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config)?)
            .with_context(|| format!("cannot write {}", config_path.display()))?;

        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg(&config_path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run node (is Node.js installed?)")?;

        let stderr: StderrLog = Arc::default();
        if let Some(err) = child.stderr.take() {
            collect_lines(err, Some(stderr.clone()), "[provider] ");
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("provider stdout not captured"))?;
        let mut lines = BufReader::new(stdout).lines();

        let ready = tokio::time::timeout(PROVIDER_READY_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(announced) = line.strip_prefix("READY ") {
                    return Ok::<_, anyhow::Error>(Some(announced.trim().to_owned()));
                }
                eprintln!("[provider] {line}");
            }
            Ok(None)
        })
        .await;

        let fail = |what: String| -> anyhow::Error {
            anyhow!(
                "upstream provider ({issuer}) {what}; its stderr:\n{}",
                joined(&stderr)
            )
        };
        match ready {
            Ok(Ok(Some(announced))) if announced == issuer => {}
            Ok(Ok(Some(announced))) => {
                return Err(fail(format!("announced the wrong issuer {announced}")));
            }
            Ok(Ok(None)) => {
                // Give the stderr reader a moment to catch the last lines.
                let status = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(fail(format!("exited before READY ({status:?})")));
            }
            Ok(Err(e)) => return Err(fail(format!("stdout could not be read: {e}"))),
            Err(_) => {
                let _ = child.kill().await;
                return Err(fail(format!(
                    "did not print READY within {PROVIDER_READY_TIMEOUT:?}"
                )));
            }
        }
        collect_lines(lines.into_inner(), None, "[provider] ");

        Ok(UpstreamProvider {
            issuer,
            port,
            child,
            stderr,
            _config_dir: config_dir,
        })
    }

    /// The last lines the provider wrote to stderr (errors it logged).
    pub fn stderr_log(&self) -> String {
        joined(&self.stderr)
    }

    /// How many times the provider logged `event <event>` (one line each, see
    /// `provider.mjs`): `event` is e.g. `authorization.accepted client=pan-canadian-broker`.
    pub fn events(&self, event: &str) -> usize {
        let line = format!("event {event}");
        let log = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        log.iter()
            .filter(|l| *l == &line || l.starts_with(&format!("{line} ")))
            .count()
    }

    /// Waits, `timeout` at most, until the provider has logged `event` `n` times (its stderr is
    /// read as it comes).
    pub async fn wait_for_events(&self, event: &str, n: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while self.events(event) < n {
            if Instant::now() >= deadline {
                bail!(
                    "the provider logged `event {event}` {} times, not {n}, within {timeout:?}; its stderr:\n{}",
                    self.events(event),
                    self.stderr_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// Stops the provider now (it is also killed on drop).
    pub async fn stop(mut self) -> Result<()> {
        self.child
            .kill()
            .await
            .context("cannot kill the upstream provider")
    }
}

/// Runs `node rp.mjs ARGS` (one full login, see `tests/interop/rp.mjs`) with a
/// 60 s timeout and returns its JSON output: on success
/// `{ "id_token_claims", "userinfo", "id_token_header", "authorization_response" }`,
/// on failure (exit 1) `{ "error", "error_description", ... }`, returned as
/// `Ok` too so that tests can assert on errors. Output that is not JSON is an
/// `Err` carrying stdout and stderr.
pub async fn run_rp(args: &[&str]) -> Result<Value> {
    run_script("rp.mjs", args).await
}

/// Runs `node service.mjs ARGS`: one step of a relying service on openid-client
/// (`authorize`, `redeem` or `logout`, see `tests/interop/service.mjs`), returning its JSON
/// output as [`run_rp`] does (an `{ "error", ... }` object is `Ok` too).
pub async fn run_service(args: &[&str]) -> Result<Value> {
    run_script("service.mjs", args).await
}

async fn run_script(script: &str, args: &[&str]) -> Result<Value> {
    let dir = tokio::task::spawn_blocking(ensure_npm_installed)
        .await
        .context("npm install task failed")??;
    let child = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot run node (is Node.js installed?)")?;
    let output = tokio::time::timeout(RP_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| anyhow!("{script} {args:?} did not finish within {RP_TIMEOUT:?}"))?
        .with_context(|| format!("{script} could not be waited for"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let parsed = serde_json::from_str::<Value>(stdout.trim()).or_else(|e| {
        stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map_or(Err(e), |last| serde_json::from_str::<Value>(last.trim()))
    });
    match parsed {
        Ok(value) if value.is_object() => Ok(value),
        _ => Err(anyhow!(
            "{script} {args:?} exited with {} without JSON output;\nstdout:\n{}\nstderr:\n{}",
            output.status,
            tail(&stdout, 4000),
            tail(&stderr, 4000),
        )),
    }
}

/// The back-channel logout endpoints of relying services (`logout_receiver.mjs`): one HTTP
/// server on a free loopback port, `{url}/{client_id}` being the `backchannel_logout_uri` of
/// each service it was started for, that verifies every logout token with `jose` against the
/// issuer's published keys and answers 200 or 400. What it received, verified or refused, is
/// kept here, one JSON object per post. The process is killed when this is dropped.
#[derive(Debug)]
pub struct LogoutReceiver {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    received: Arc<Mutex<Vec<Value>>>,
    stderr: StderrLog,
    _child: Child,
}

impl LogoutReceiver {
    /// Starts the receiver for tokens from `issuer` to `clients`, each `(client_id, alg)`: the
    /// only algorithm its tokens may be signed with.
    pub async fn start(issuer: &str, clients: &[(&str, &str)]) -> Result<LogoutReceiver> {
        let dir = tokio::task::spawn_blocking(ensure_npm_installed)
            .await
            .context("npm install task failed")??;
        let mut command = Command::new("node");
        command
            .arg("logout_receiver.mjs")
            .arg("--issuer")
            .arg(issuer);
        for (client, alg) in clients {
            command.arg("--client").arg(format!("{client}={alg}"));
        }
        let mut child = command
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot run node (is Node.js installed?)")?;
        let stderr: StderrLog = Arc::default();
        if let Some(err) = child.stderr.take() {
            collect_lines(err, Some(stderr.clone()), "[logout receiver] ");
        }
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("receiver stdout not captured"))?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(PROVIDER_READY_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("READY ") {
                    return Ok::<_, anyhow::Error>(Some(url.trim().to_owned()));
                }
            }
            Ok(None)
        })
        .await;
        let url = match url {
            Ok(Ok(Some(url))) => url,
            other => bail!(
                "the logout receiver did not start ({other:?}); its stderr:\n{}",
                joined(&stderr)
            ),
        };
        let received: Arc<Mutex<Vec<Value>>> = Arc::default();
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                match serde_json::from_str::<Value>(&line) {
                    Ok(value) => sink.lock().unwrap_or_else(|e| e.into_inner()).push(value),
                    Err(_) => eprintln!("[logout receiver] {line}"),
                }
            }
        });
        Ok(LogoutReceiver {
            url,
            received,
            stderr,
            _child: child,
        })
    }

    /// Every post received so far: `{ "client", "ok": true, "header", "claims" }` for a token
    /// verified, `{ "client", "ok": false, "error", "claims" }` for one refused.
    pub fn received(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The posts for which `wanted` holds, once there are at least `n` of them, waiting
    /// `timeout` at most (deliveries are asynchronous).
    pub async fn wait_for(
        &self,
        n: usize,
        timeout: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Vec<Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let found: Vec<Value> = self.received().into_iter().filter(&wanted).collect();
            if found.len() >= n {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} of the {n} posts wanted reached the logout receiver within {timeout:?}; all it received: {:#}\nits stderr:\n{}",
                    found.len(),
                    Value::from(self.received()),
                    joined(&self.stderr)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("abc\n", 10), "abc");
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ééé", 3), "é");
    }

    #[test]
    fn fnv1a_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
