//! A witness of the demo broker's audit log, so that the demo shows what a deployment with
//! witnesses shows: checkpoints co-signed by someone other than the log, and the person's
//! proofs made against a witnessed checkpoint. It is the auditors' own witness (`conformance log
//! witness`), run every few seconds against the broker's public log over HTTP like any outside
//! witness: it cosigns a checkpoint only once it has proved, from the public tiles, that it
//! extends the last one it saw. Its key is made for the run, in a directory of its own.

use std::path::PathBuf;
use std::time::Duration;

use conformance::log::witness::{WitnessArgs, new_key, witness};

/// The witness's name, in its key and cosignatures.
pub const NAME: &str = "witness.demo.localhost";
/// How often it looks at the log.
const EVERY: Duration = Duration::from_secs(2);

/// The demo witness: its key and state files, and its verifier key for the broker's
/// `[log] witnesses`.
#[derive(Debug)]
pub struct DemoWitness {
    dir: PathBuf,
    pub vkey: String,
}

impl DemoWitness {
    /// Makes the witness's key for this run.
    pub fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "pcb-demo-witness-{}-{}",
            std::process::id(),
            broker::http::browser::random_token()
        ));
        std::fs::create_dir_all(&dir)?;
        let (vkey, _) = new_key(&dir.join("witness.pem"), NAME)
            .map_err(|e| anyhow::anyhow!("the demo witness's key: {e}"))?;
        Ok(Self { dir, vkey })
    }

    /// Witnesses the log at `broker_url`, signed by `log_keys`, until `stop` (the demo's
    /// shutdown).
    pub async fn run_until(
        self,
        broker_url: String,
        log_keys: Vec<String>,
        stop: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        tokio::select! {
            () = self.run(broker_url, log_keys) => Ok(()),
            () = stop => Ok(()),
        }
    }

    async fn run(&self, broker_url: String, log_keys: Vec<String>) {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let args = WitnessArgs {
                log: broker_url.clone(),
                log_keys: log_keys.clone(),
                key: self.dir.join("witness.pem"),
                name: NAME.to_owned(),
                state: self.dir.join("state"),
                submit: true,
                now: time::OffsetDateTime::now_utc()
                    .unix_timestamp()
                    .unsigned_abs(),
            };
            if let Err(e) = witness(&args).await {
                tracing::debug!(error = %e, "the demo witness did not cosign this round");
            }
        }
    }
}

impl Drop for DemoWitness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
