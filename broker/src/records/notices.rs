//! Registry changes told to every replica by PostgreSQL (`LISTEN`/`NOTIFY`), so that a
//! request need not ask the records whether the registry changed.
//!
//! A change's transaction notifies the channel with its version; PostgreSQL delivers the notice
//! to every listening replica when the change commits. A replica that listens knows the newest
//! version without a round trip and loads a newer registry on its next request; one that does
//! not listen (not yet connected, connection lost, or silent for too long) asks the records on
//! each request instead, as before. Either way a release is committed only if the registry it
//! was judged by is still the newest (`Records::commit_release`), so a notice arriving late
//! never lets a release through that a change forbids.
//!
//! A connection can die without a word (a network partition): every replica sends a heartbeat
//! on the channel every [`HEARTBEAT`], and a listener that hears nothing for [`SILENCE`] stops
//! being trusted and connects again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::PgListener;

use super::{Backend, Records};

/// The channel of registry changes; a notice's payload is the new version.
pub(super) const CHANNEL: &str = "pcb_registry";

/// How often each replica says it is alive on the channel.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// How long a listener may hear nothing before it is taken for dead.
const SILENCE: Duration = Duration::from_secs(15);

/// How long to wait before connecting again after a failure.
const RETRY: Duration = Duration::from_millis(500);

/// What this process has heard.
#[derive(Debug, Default)]
pub(super) struct Notices {
    newest: AtomicU64,
    listening: AtomicBool,
}

impl Records {
    /// The newest registry version PostgreSQL has told this process of, while it listens;
    /// `None` when it does not, and must ask the records ([`Records::registry_version`]).
    pub fn registry_notice(&self) -> Option<u64> {
        let notices = &self.0.notices;
        notices
            .listening
            .load(Ordering::SeqCst)
            .then(|| notices.newest.load(Ordering::SeqCst))
    }

    /// Listens for registry changes until the process ends (PostgreSQL only; returns at once
    /// on SQLite, which one process has to itself).
    pub async fn listen_for_registry(self) {
        let Some(url) = self
            .0
            .url
            .clone()
            .filter(|_| self.backend() == Backend::Postgres)
        else {
            return;
        };
        let listening = async {
            loop {
                if let Err(e) = self.listen(&url).await {
                    tracing::warn!(error = %e, "registry notices lost; asking the records on each request until they are back");
                }
                self.0.notices.listening.store(false, Ordering::SeqCst);
                tokio::time::sleep(RETRY).await;
            }
        };
        tokio::join!(beat(self.clone()), listening);
    }

    /// One connection's life: listen, then catch up on what was committed before listening,
    /// then take notices until the connection is lost or falls silent.
    async fn listen(&self, url: &str) -> Result<(), sqlx::Error> {
        let mut listener = tokio::time::timeout(SILENCE, PgListener::connect(url))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        // A lost connection ends this one's life at once (see below), not after a reconnection
        // that waits for PostgreSQL to come back.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        let newest = self
            .registry_version()
            .await
            .map_err(|e| sqlx::Error::Protocol(format!("registry version after LISTEN: {e}")))?;
        self.0.notices.newest.fetch_max(newest, Ordering::SeqCst);
        self.0.notices.listening.store(true, Ordering::SeqCst);
        tracing::info!(version = newest, "listening for registry changes");
        loop {
            // Dropping the receive on silence drops the listener with it: no half-read message
            // is ever read again.
            let heard = tokio::time::timeout(SILENCE, listener.try_recv()).await;
            match heard {
                Err(_) => {
                    return Err(sqlx::Error::Protocol(
                        "the registry channel fell silent".into(),
                    ));
                }
                Ok(Err(e)) => return Err(e),
                // The connection was lost (and is being made again): notices may be lost.
                Ok(Ok(None)) => return Err(sqlx::Error::Protocol("connection lost".into())),
                Ok(Ok(Some(notice))) => {
                    if let Ok(version) = notice.payload().parse::<u64>() {
                        self.0.notices.newest.fetch_max(version, Ordering::SeqCst);
                    }
                }
            }
        }
    }
}

/// Says this process is alive on the channel, every [`HEARTBEAT`]: every listener, this one's
/// included, hears it.
async fn beat(records: Records) {
    let mut every = tokio::time::interval(HEARTBEAT);
    loop {
        every.tick().await;
        let said = sqlx::query("SELECT pg_notify($1, 'alive')")
            .bind(CHANNEL)
            .execute(records.pool())
            .await;
        if let Err(e) = said {
            tracing::debug!(error = %e, "registry heartbeat not sent");
        }
    }
}
