//! The Redis store: broker replicas share state through one Redis or a Redis Cluster.
//!
//! Keys are `pcb:<kind>:<sha256 of the key>`: a code or token never appears in Redis as itself,
//! so reading Redis does not give working credentials. Watched values (the stages of a login,
//! [`Kind::watched`]) are indexed by deadline in `pcb:watch:{w<b>}`, with their notes in
//! `pcb:watch-notes:{w<b>}`, in sixteen buckets that each share one cluster slot with the
//! values they watch. Every key has a TTL (`SET .. PX`).
//! One-time values are taken with `GETDEL`, atomic on the server; what takes more than one
//! command is a Lua script, sent by its SHA-1. Every call is bounded by a
//! timeout, and a failed connection is re-established on a later call: while Redis is away
//! requests fail closed with `StoreError::Unavailable`, and service resumes by itself.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use tokio::sync::Mutex;

use super::{Kind, Store, StoreError};
use crate::budget::Waiting;

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

/// A Lua script of the store, sent by its SHA-1 (see [`RedisStore::eval`]).
struct Lua {
    text: &'static str,
    sha: std::sync::OnceLock<String>,
}

impl Lua {
    const fn new(text: &'static str) -> Self {
        Self {
            text,
            sha: std::sync::OnceLock::new(),
        }
    }

    fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| redis::Script::new(self.text).get_hash().to_owned())
    }
}

/// INCR and the window's expiry in one step on the server, so every replica counts in the
/// same window and a counter can never be left without a TTL.
static HIT: Lua = Lua::new(
    "local n = redis.call('INCR', KEYS[1]) \
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end \
return {n, redis.call('PTTL', KEYS[1])}",
);

/// A watched value, its index entry and its note in one step on the server (one slot: see
/// [`key`]). KEYS: value, index, notes. ARGV: value, TTL ms, deadline (Unix ms), note.
static PUT_WATCHED: Lua = Lua::new(
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) \
redis.call('ZADD', KEYS[2], ARGV[3], KEYS[1]) \
redis.call('HSET', KEYS[3], KEYS[1], ARGV[4]) \
return 1",
);

/// Takes a watched value; the watch ends only if the value was live, so a take that comes
/// too late does not hide the abandonment. KEYS: value, index, notes.
static TAKE_WATCHED: Lua = Lua::new(
    "local v = redis.call('GETDEL', KEYS[1]) \
if v then redis.call('ZREM', KEYS[2], KEYS[1]) redis.call('HDEL', KEYS[3], KEYS[1]) end \
return v",
);

/// Claims the watches of one bucket whose deadline is past: removed and returned in one step,
/// so of replicas sweeping at once each note goes to one. KEYS: index, notes. ARGV: cutoff
/// (Unix ms), limit.
static CLAIM: Lua = Lua::new(
    "local ks = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2]) \
local out = {} \
for _, k in ipairs(ks) do \
redis.call('ZREM', KEYS[1], k) \
local n = redis.call('HGET', KEYS[2], k) \
redis.call('HDEL', KEYS[2], k) \
if n then out[#out + 1] = n end \
end \
return out",
);

/// A set member added and the set's lifetime set, in one step. KEYS: set. ARGV: member, TTL ms.
static ADD_MEMBER: Lua = Lua::new(
    "redis.call('SADD', KEYS[1], ARGV[1]) \
redis.call('PEXPIRE', KEYS[1], ARGV[2]) \
return 1",
);

/// A queue's item and its due time together. KEYS: due (a sorted set), items (a hash). ARGV:
/// id, due (Unix ms), item.
static SCHEDULE: Lua = Lua::new(
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) \
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) \
return 1",
);

/// Claims a queue's due items: each is leased (due again at the lease's end) and returned in
/// one step, so of replicas claiming at once each item goes to one. KEYS: due, items. ARGV:
/// now (Unix ms), lease end (Unix ms), limit. Returns id, item, id, item...
static CLAIM_DUE: Lua = Lua::new(
    "local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3]) \
local out = {} \
for _, id in ipairs(ids) do \
local v = redis.call('HGET', KEYS[2], id) \
if v then \
redis.call('ZADD', KEYS[1], ARGV[2], id) \
out[#out + 1] = id \
out[#out + 1] = v \
else \
redis.call('ZREM', KEYS[1], id) \
end \
end \
return out",
);

/// Moves a queued item's due time, if the item is still there. KEYS: due, items. ARGV: id,
/// due (Unix ms). Returns 1 when it was, 0 otherwise.
static RESCHEDULE: Lua = Lua::new(
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end \
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) \
return 1",
);

/// Takes an item out of its queue. KEYS: due, items. ARGV: id.
static FINISH: Lua = Lua::new(
    "redis.call('ZREM', KEYS[1], ARGV[1]) \
redis.call('HDEL', KEYS[2], ARGV[1]) \
return 1",
);

/// A queue's sorted set of due times and its hash of items, `pcb:queue:{q-<kind>}:due` and
/// `..:items`: one cluster slot, for the scripts that touch both.
fn queue_keys(kind: Kind) -> (String, String) {
    let tag = format!("{{q-{}}}", kind.prefix());
    (
        format!("{KEY_PREFIX}:queue:{tag}:due"),
        format!("{KEY_PREFIX}:queue:{tag}:items"),
    )
}

/// Watches are spread over this many buckets, each an index and a notes hash in one cluster
/// slot with the values it watches.
const WATCH_BUCKETS: u8 = 16;

/// Redis expires a value on its own clock and the broker dates the watch on its own: a watch
/// is claimed this long after its deadline, so that a value Redis still holds is never
/// reported abandoned while it can be taken.
const CLOCK_GRACE: Duration = Duration::from_secs(2);

fn hex_digest(key: &str) -> String {
    let digest = crate::crypto::sha256(key.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest.as_ref() {
        hex.push_str(&format!("{b:02x}"));
    }
    hex
}

/// `pcb:<kind>:<sha256 of the key>`; for a watched kind, see [`watched_keys`].
pub fn key(kind: Kind, key: &str) -> String {
    if kind.watched() {
        return watched_keys(kind, key).0;
    }
    format!("{KEY_PREFIX}:{}:{}", kind.prefix(), hex_digest(key))
}

/// A watched value's key, `pcb:<kind>:{w<b>}:<sha256>`, then the index (a sorted set of value
/// keys by deadline) and the notes (a hash) of its bucket `b`, the digest's first hex digit.
/// The hash tag `{w<b>}` puts all three in one cluster slot, so that the scripts touching them
/// together are valid on a Redis Cluster.
fn watched_keys(kind: Kind, key: &str) -> (String, String, String) {
    let hex = hex_digest(key);
    let tag = format!("w{}", &hex[..1]);
    let value = format!("{KEY_PREFIX}:{}:{{{tag}}}:{hex}", kind.prefix());
    let (index, notes) = bucket_keys(&tag);
    (value, index, notes)
}

/// The index and the notes of the bucket tagged `tag`.
fn bucket_keys(tag: &str) -> (String, String) {
    (
        format!("{KEY_PREFIX}:watch:{{{tag}}}"),
        format!("{KEY_PREFIX}:watch-notes:{{{tag}}}"),
    )
}

/// Milliseconds since the epoch of the machine's time: Redis expires values on its own time,
/// so the watches of values kept there run on it too (`crate::clock`).
fn unix_ms(at: time::OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
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
        self.try_run(cmd).await?.map_err(unavailable)
    }

    /// Runs one of the store's scripts by its SHA-1 (`EVALSHA`), so the script's text does not
    /// travel with every call; a Redis that does not know it yet (a restart, a new cluster
    /// node) gets the text once with `EVAL`, which also caches it there. `fill` adds the key
    /// count, keys and arguments.
    async fn eval<T: redis::FromRedisValue + Send>(
        &self,
        script: &Lua,
        fill: impl Fn(&mut redis::Cmd),
    ) -> Result<T, StoreError> {
        let mut by_hash = redis::cmd("EVALSHA");
        by_hash.arg(script.sha());
        fill(&mut by_hash);
        match self.try_run(by_hash).await? {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                let mut by_text = redis::cmd("EVAL");
                by_text.arg(script.text);
                fill(&mut by_text);
                self.run(by_text).await
            }
            answered => answered.map_err(unavailable),
        }
    }

    /// Runs `cmd` within the timeout: `Err` when it timed out, otherwise Redis's answer.
    async fn try_run<T: redis::FromRedisValue + Send>(
        &self,
        cmd: redis::Cmd,
    ) -> Result<redis::RedisResult<T>, StoreError> {
        let work = async {
            match &self.connection {
                Connection::Single(manager) => {
                    let mut conn = manager.clone();
                    cmd.query_async(&mut conn).await
                }
                Connection::Cluster(client, slot) => {
                    let mut conn = {
                        let mut guard = slot.lock().await;
                        match guard.as_ref() {
                            Some(c) => c.clone(),
                            None => {
                                let c = client.get_async_connection().await?;
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
                    result
                }
            }
        };
        // One timeout for the reconnection and the command together, and no more than the
        // request has left (`crate::budget`).
        crate::budget::within(Waiting::Store, self.timeout, work)
            .await
            .ok_or_else(|| StoreError::Unavailable("redis: timed out".into()))
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
        if !kind.watched() {
            let mut cmd = redis::cmd("GETDEL");
            cmd.arg(key(kind, k));
            return self.run(cmd).await;
        }
        let (value_key, index, notes) = watched_keys(kind, k);
        self.eval(&TAKE_WATCHED, |cmd| {
            cmd.arg(3).arg(&value_key).arg(&index).arg(&notes);
        })
        .await
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
        let counter = key(kind, k);
        let (count, left): (u64, i64) = self
            .eval(&HIT, |cmd| {
                cmd.arg(1).arg(&counter).arg(ms);
            })
            .await?;
        let left = u64::try_from(left).unwrap_or(ms);
        Ok((count, Duration::from_millis(left)))
    }

    async fn put_watched(
        &self,
        kind: Kind,
        k: &str,
        value: Vec<u8>,
        ttl: Duration,
        note: Vec<u8>,
    ) -> Result<(), StoreError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let deadline = unix_ms(crate::clock::wall_time()).saturating_add(ms);
        let (value_key, index, notes) = watched_keys(kind, k);
        self.eval::<()>(&PUT_WATCHED, |cmd| {
            cmd.arg(3)
                .arg(&value_key)
                .arg(&index)
                .arg(&notes)
                .arg(&value)
                .arg(ms)
                .arg(deadline)
                .arg(&note);
        })
        .await
    }

    async fn abandoned(&self, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let cutoff = unix_ms(crate::clock::wall_time() - CLOCK_GRACE);
        let mut found = Vec::new();
        for bucket in 0..WATCH_BUCKETS {
            let left = limit.saturating_sub(found.len());
            if left == 0 {
                break;
            }
            let (index, notes) = bucket_keys(&format!("w{bucket:x}"));
            let claimed: Vec<Vec<u8>> = self
                .eval(&CLAIM, |cmd| {
                    cmd.arg(2).arg(&index).arg(&notes).arg(cutoff).arg(left);
                })
                .await?;
            found.extend(claimed);
        }
        Ok(found)
    }

    async fn remove(&self, kind: Kind, k: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(key(kind, k));
        self.run::<()>(cmd).await
    }

    async fn add_member(
        &self,
        kind: Kind,
        k: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let set = key(kind, k);
        self.eval::<()>(&ADD_MEMBER, |cmd| {
            cmd.arg(1).arg(&set).arg(member).arg(ms);
        })
        .await
    }

    async fn members(&self, kind: Kind, k: &str) -> Result<Vec<String>, StoreError> {
        let mut cmd = redis::cmd("SMEMBERS");
        cmd.arg(key(kind, k));
        self.run(cmd).await
    }

    async fn schedule(
        &self,
        kind: Kind,
        id: &str,
        item: Vec<u8>,
        due_ms: i64,
    ) -> Result<(), StoreError> {
        let (due, items) = queue_keys(kind);
        self.eval::<()>(&SCHEDULE, |cmd| {
            cmd.arg(2)
                .arg(&due)
                .arg(&items)
                .arg(id)
                .arg(due_ms)
                .arg(&item);
        })
        .await
    }

    async fn claim_due(
        &self,
        kind: Kind,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let (due, items) = queue_keys(kind);
        let flat: Vec<Vec<u8>> = self
            .eval(&CLAIM_DUE, |cmd| {
                cmd.arg(2)
                    .arg(&due)
                    .arg(&items)
                    .arg(now_ms)
                    .arg(now_ms.saturating_add(lease_ms))
                    .arg(limit);
            })
            .await?;
        let mut claimed = Vec::with_capacity(flat.len() / 2);
        let mut pairs = flat.into_iter();
        while let (Some(id), Some(item)) = (pairs.next(), pairs.next()) {
            claimed.push((String::from_utf8_lossy(&id).into_owned(), item));
        }
        Ok(claimed)
    }

    async fn reschedule(&self, kind: Kind, id: &str, due_ms: i64) -> Result<bool, StoreError> {
        let (due, items) = queue_keys(kind);
        let moved: i64 = self
            .eval(&RESCHEDULE, |cmd| {
                cmd.arg(2).arg(&due).arg(&items).arg(id).arg(due_ms);
            })
            .await?;
        Ok(moved == 1)
    }

    async fn finish(&self, kind: Kind, id: &str) -> Result<(), StoreError> {
        let (due, items) = queue_keys(kind);
        self.eval::<()>(&FINISH, |cmd| {
            cmd.arg(2).arg(&due).arg(&items).arg(id);
        })
        .await
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
    /// Keys written by one version must be found by the next.
    #[test]
    fn a_fixed_key_digests_as_it_always_did() {
        assert_eq!(
            super::hex_digest("secret-code"),
            "8c198a645237d0e4f01b5597eca3898ee155d1b48021eaff590ad5eca38542f3"
        );
    }

    use super::*;

    #[test]
    fn keys_are_prefixed_and_hide_the_secret() {
        let k = key(Kind::AccessToken, "secret-token");
        assert!(k.starts_with("pcb:at:"));
        assert!(!k.contains("secret-token"));
        assert_eq!(k.len(), "pcb:at:".len() + 64);
        assert_ne!(key(Kind::Code, "a"), key(Kind::AccessToken, "a"));
    }

    #[test]
    fn a_watched_value_shares_its_slot_with_its_bucket() {
        let k = key(Kind::Code, "secret-code");
        assert!(!k.contains("secret-code"));
        let hex = hex_digest("secret-code");
        assert_eq!(k, format!("pcb:code:{{w{}}}:{hex}", &hex[..1]));
        let (value, index, notes) = watched_keys(Kind::Code, "secret-code");
        assert_eq!(value, k);
        let tag = format!("{{w{}}}", &hex[..1]);
        assert!(
            index.ends_with(&tag) && notes.ends_with(&tag),
            "{index} {notes}"
        );
        assert_ne!(index, notes);
        // Every bucket the digests can fall in is swept.
        let tags: std::collections::BTreeSet<String> =
            (0..WATCH_BUCKETS).map(|b| format!("w{b:x}")).collect();
        for i in 0..200 {
            let (_, index, _) = watched_keys(Kind::AtProvider, &format!("txn{i}"));
            assert!(
                tags.iter().any(|t| index.ends_with(&format!("{{{t}}}"))),
                "{index}"
            );
        }
    }
}
