//! Real PostgreSQL servers on free loopback ports, started by the tests themselves with
//! `initdb` and `pg_ctl` (Debian's `postgresql` package, which scripts/setup installs): one
//! data directory per server, in a fresh temporary directory, removed afterwards. A server can
//! be killed (`kill -9` of the postmaster) and started again on the same data, as a crash would
//! leave it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::broker::free_port;

/// One PostgreSQL server. Stopped (immediately) on drop.
#[derive(Debug)]
pub struct PgServer {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

/// The directory of PostgreSQL's server programs: Debian keeps them in
/// `/usr/lib/postgresql/<version>/bin`, off the `PATH`; the newest version there, else the
/// `PATH`'s.
fn bin_dir() -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                .filter(|bin| bin.join("initdb").is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(newest) = found.pop() {
        return Ok(newest);
    }
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file());
    from_path
        .context("PostgreSQL's initdb and pg_ctl must be installed (scripts/setup installs them)")
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

/// The program and arguments that run `program`: as the `postgres` user (which Debian's
/// package creates) when this is root, since PostgreSQL refuses to run as root.
fn server_argv(program: &Path) -> (PathBuf, Vec<std::ffi::OsString>) {
    if is_root() {
        let args = ["-u", "postgres", "--"].map(Into::into);
        let mut args: Vec<std::ffi::OsString> = args.into();
        args.push(program.into());
        ("runuser".into(), args)
    } else {
        (program.to_owned(), Vec::new())
    }
}

fn as_server_user(program: &Path) -> Command {
    let (program, args) = server_argv(program);
    let mut command = Command::new(program);
    command.args(args);
    // The server keeps the machine's time, as Redis does (crate::redis).
    command.env_remove("LD_PRELOAD").env_remove("FAKETIME");
    command
}

impl PgServer {
    /// A fresh cluster (`initdb`, trust authentication on loopback), started, with a database
    /// `records`.
    pub async fn start() -> Result<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::tempdir()?;
        // The server's user must own its directories.
        let status = std::process::Command::new("chmod")
            .arg("0777")
            .arg(dir.path())
            .status()?;
        if !status.success() {
            bail!("chmod of {} failed", dir.path().display());
        }
        let server = Self {
            port: free_port()?,
            dir,
            bin,
        };
        let out = as_server_user(&server.bin.join("initdb"))
            .arg("-D")
            .arg(server.data())
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .stdout(Stdio::null())
            .output()
            .await
            .context("initdb")?;
        if !out.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        server.launch().await?;
        let out = as_server_user(&server.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &server.port.to_string(),
                "-U",
                "postgres",
            ])
            .arg("records")
            .output()
            .await
            .context("createdb")?;
        if !out.status.success() {
            bail!("createdb failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(server)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The URL of the `records` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/records", self.port)
    }

    /// Starts the server on its data (after `initdb`, a stop or a kill: `pg_ctl` recovers
    /// what a crash left) and waits until it accepts connections.
    pub async fn launch(&self) -> Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=on",
            self.port,
            self.data().display()
        );
        let out = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("server.log"))
            .args(["-w", "-t", "30", "start"])
            .stdout(Stdio::null())
            .output()
            .await
            .context("pg_ctl start")?;
        if !out.status.success() {
            let log =
                std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
            bail!(
                "pg_ctl start failed: {}\n{log}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("PostgreSQL on port {} did not listen", self.port)
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: no checkpoint, as a crash).
    pub async fn stop(&self) -> Result<()> {
        let out = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "pg_ctl stop failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// `kill -9` of the postmaster, as a crash of the machine's database would be; its
    /// backends end with it.
    pub async fn kill(&self) -> Result<()> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))?;
        let pid = pid_file.lines().next().unwrap_or("").trim().to_owned();
        // The whole server at once, backends first, as a machine's crash takes them all: a
        // backend left behind would keep the shared memory a restart needs.
        let _ = Command::new("pkill")
            .args(["-9", "-P", &pid])
            .status()
            .await;
        let status = Command::new("kill").args(["-9", &pid]).status().await?;
        if !status.success() {
            bail!("kill -9 {pid} failed");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let gone = !Path::new(&format!("/proc/{pid}")).exists();
            let closed = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_err();
            if gone && closed {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("PostgreSQL (pid {pid}) did not end")
    }

    /// Freezes the whole server (SIGSTOP to the postmaster and its backends): connections stay
    /// open and nothing answers, as a server that hangs.
    pub async fn pause(&self) -> Result<()> {
        self.signal("-STOP").await
    }

    /// Lets a paused server go on (SIGCONT).
    pub async fn resume(&self) -> Result<()> {
        self.signal("-CONT").await
    }

    /// Sends `signal` to the postmaster and its backends. A stop reaches the postmaster first:
    /// stopped, it forks no new backend, so every backend is among the children stopped next
    /// (the other way round, a connection the pool opened in between got a backend that went
    /// on answering, and a "hung" server committed). A continue wakes the backends first.
    async fn signal(&self, signal: &str) -> Result<()> {
        let pid_file = std::fs::read_to_string(self.data().join("postmaster.pid"))?;
        let pid = pid_file.lines().next().unwrap_or("").trim().to_owned();
        let postmaster = || async {
            let status = Command::new("kill").args([signal, &pid]).status().await?;
            if !status.success() {
                bail!("kill {signal} {pid} failed");
            }
            Ok(())
        };
        let backends = || async {
            let _ = Command::new("pkill")
                .args([signal, "-P", &pid])
                .status()
                .await;
        };
        if signal == "-STOP" {
            postmaster().await?;
            backends().await;
        } else {
            backends().await;
            postmaster().await?;
        }
        Ok(())
    }

    /// Runs `sql` with `psql` on the `records` database and returns its output (unaligned,
    /// tuples only).
    pub async fn psql(&self, sql: &str) -> Result<String> {
        let out = as_server_user(&self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
            ])
            .args([
                "-d",
                "records",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .await
            .context("psql")?;
        if !out.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let (program, args) = server_argv(&self.bin.join("pg_ctl"));
        let _ = std::process::Command::new(program)
            .args(args)
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness itself: a server starts, answers, survives a kill -9 and a restart with its
    /// data, and is gone when dropped.
    #[tokio::test]
    async fn a_server_starts_is_killed_and_comes_back_with_its_data() {
        let pg = PgServer::start().await.unwrap();
        pg.psql("CREATE TABLE t (n INT); INSERT INTO t VALUES (42)")
            .await
            .unwrap();
        pg.kill().await.unwrap();
        assert!(pg.psql("SELECT 1").await.is_err());
        pg.launch().await.unwrap();
        assert_eq!(pg.psql("SELECT n FROM t").await.unwrap().trim(), "42");
        let port = pg.port;
        drop(pg);
        assert!(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_err()
        );
    }
}
