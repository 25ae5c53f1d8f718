//! The Redis store: broker replicas share state through one Redis or a Redis Cluster.
//!
//! Keys are `pcb:<kind>:<sha256 of the key>`: a code or token never appears in Redis as itself,
//! so reading Redis does not give working credentials. Every key has a TTL (`SET .. PX`).
//! One-time values are taken with `GETDEL`, atomic on the server. Every call is bounded by a
//! timeout, and a failed connection is re-established on a later call: while Redis is away
//! requests fail closed with `StoreError::Unavailable`, and service resumes by itself.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{Kind, Store, StoreError};

pub const KEY_PREFIX: &str = "pcb";

/// Where the Redis state lives.
#[derive(Debug, Clone)]
pub enum RedisTarget {
    /// One Redis server (`redis://host:port/db`).
    Single(String),
    /// Seed nodes of a Redis Cluster.
    Cluster(Vec<String>),
}

enum Connection {
    Single(ConnectionManager),
    Cluster(Box<ClusterClient>, Mutex<Option<ClusterConnection>>),
}

pub struct RedisStore {
    connection: Connection,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.connection {
            Connection::Single(_) => "single",
            Connection::Cluster(..) => "cluster",
        };
        f.debug_struct("RedisStore")
            .field("kind", &kind)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("redis: {e}"))
}

/// INCR and the window's expiry in one step on the server, so every replica counts in the
/// same window and a counter can never be left without a TTL.
const HIT_SCRIPT: &str = "local n = redis.call('INCR', KEYS[1]) \
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
return {n, redis.call('PTTL', KEYS[1])}";

pub fn key(kind: Kind, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    format!("{KEY_PREFIX}:{}:{hex}", kind.prefix())
}

impl RedisStore {
    /// Connects lazily: the broker starts even when Redis is down, and is not ready until it
    /// answers (`/readyz`).
    pub fn new(target: &RedisTarget, timeout: Duration) -> Result<Self, StoreError> {
        let connection = match target {
            RedisTarget::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(unavailable)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                Connection::Single(
                    ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?,
                )
            }
            RedisTarget::Cluster(nodes) => {
                let client = ClusterClient::builder(nodes.iter().map(String::as_str))
                    .connection_timeout(timeout)
                    .response_timeout(timeout)
                    .retries(1)
                    .build()
                    .map_err(unavailable)?;
                Connection::Cluster(Box::new(client), Mutex::new(None))
            }
        };
        Ok(Self {
            connection,
            timeout,
        })
    }

    async fn run<T: redis::FromRedisValue + Send>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let work = async {
            match &self.connection {
                Connection::Single(manager) => {
                    let mut conn = manager.clone();
                    cmd.query_async(&mut conn).await.map_err(unavailable)
                }
                Connection::Cluster(client, slot) => {
                    let mut conn = {
                        let mut guard = slot.lock().await;
                        match guard.as_ref() {
                            Some(c) => c.clone(),
                            None => {
                                let c = client.get_async_connection().await.map_err(unavailable)?;
                                *guard = Some(c.clone());
                                c
                            }
                        }
                    };
                    let result = cmd.query_async(&mut conn).await;
                    if result
                        .as_ref()
                        .is_err_and(|e| e.is_unrecoverable_error() || e.is_connection_dropped())
                    {
                        // Rebuild the cluster view on the next call.
                        *slot.lock().await = None;
                    }
                    result.map_err(unavailable)
                }
            }
        };
        // Twice the per-call timeout covers one reconnection attempt and the command.
        tokio::time::timeout(self.timeout * 2, work)
            .await
            .map_err(|_| StoreError::Unavailable("redis: timed out".into()))?
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn put(
        &self,
        kind: Kind,
        k: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(key(kind, k)).arg(value).arg("PX").arg(ms);
        self.run::<()>(cmd).await
    }

    async fn take(&self, kind: Kind, k: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut cmd = redis::cmd("GETDEL");
        cmd.arg(key(kind, k));
        self.run(cmd).await
    }

    async fn get(&self, kind: Kind, k: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(key(kind, k));
        self.run(cmd).await
    }

    async fn put_new(
        &self,
        kind: Kind,
        k: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(key(kind, k)).arg(value).arg("PX").arg(ms).arg("NX");
        let stored: Option<String> = self.run(cmd).await?;
        Ok(stored.is_some())
    }

    async fn hit(
        &self,
        kind: Kind,
        k: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError> {
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(HIT_SCRIPT).arg(1).arg(key(kind, k)).arg(ms);
        let (count, left): (u64, i64) = self.run(cmd).await?;
        let left = u64::try_from(left).unwrap_or(ms);
        Ok((count, Duration::from_millis(left)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = self.run(redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "redis answered {pong:?} to PING"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_and_hide_the_secret() {
        let k = key(Kind::Code, "secret-code");
        assert!(k.starts_with("pcb:code:"));
        assert!(!k.contains("secret-code"));
        assert_eq!(k.len(), "pcb:code:".len() + 64);
        assert_ne!(key(Kind::Code, "a"), key(Kind::AccessToken, "a"));
    }
}
