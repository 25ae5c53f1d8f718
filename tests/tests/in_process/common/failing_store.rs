//! An in-memory state store whose writes of chosen kinds fail on demand, for the paths a real
//! store outage takes in the middle of a login (the Redis tests kill a real server; this one
//! picks the exact step).

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use broker::store::{Kind, MemoryStore, Store, StoreError};

#[derive(Debug, Default)]
pub struct FailingStore {
    inner: MemoryStore,
    failing: Mutex<HashSet<Kind>>,
}

impl FailingStore {
    /// From now on, writing `kind` fails as an unavailable store would.
    pub fn fail_writes_of(&self, kind: Kind) {
        self.failing.lock().unwrap().insert(kind);
    }

    pub fn heal(&self) {
        self.failing.lock().unwrap().clear();
    }

    fn check(&self, kind: Kind) -> Result<(), StoreError> {
        if self.failing.lock().unwrap().contains(&kind) {
            Err(StoreError::Unavailable("injected by the test".into()))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl Store for FailingStore {
    async fn put(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.check(kind)?;
        self.inner.put(kind, key, value, ttl).await
    }

    async fn take(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.take(kind, key).await
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(kind, key).await
    }

    async fn put_new(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.check(kind)?;
        self.inner.put_new(kind, key, value, ttl).await
    }

    async fn hit(
        &self,
        kind: Kind,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError> {
        self.inner.hit(kind, key, window).await
    }

    async fn put_watched(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        note: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.check(kind)?;
        self.inner.put_watched(kind, key, value, ttl, note).await
    }

    async fn abandoned(&self, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.abandoned(limit).await
    }

    async fn remove(&self, kind: Kind, key: &str) -> Result<(), StoreError> {
        self.check(kind)?;
        self.inner.remove(kind, key).await
    }

    async fn add_member(
        &self,
        kind: Kind,
        key: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.check(kind)?;
        self.inner.add_member(kind, key, member, ttl).await
    }

    async fn members(&self, kind: Kind, key: &str) -> Result<Vec<String>, StoreError> {
        self.inner.members(kind, key).await
    }

    async fn schedule(
        &self,
        kind: Kind,
        id: &str,
        item: Vec<u8>,
        due_ms: i64,
    ) -> Result<(), StoreError> {
        self.check(kind)?;
        self.inner.schedule(kind, id, item, due_ms).await
    }

    async fn claim_due(
        &self,
        kind: Kind,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.claim_due(kind, now_ms, lease_ms, limit).await
    }

    async fn reschedule(&self, kind: Kind, id: &str, due_ms: i64) -> Result<bool, StoreError> {
        self.check(kind)?;
        self.inner.reschedule(kind, id, due_ms).await
    }

    async fn finish(&self, kind: Kind, id: &str) -> Result<(), StoreError> {
        self.inner.finish(kind, id).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }
}
