//! The in-memory store: the embedded default for one process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Kind, Store, StoreError};

type Entries = HashMap<(Kind, String), (Instant, Vec<u8>)>;

#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<Entries>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Entries>, StoreError> {
        self.entries
            .lock()
            .map_err(|_| StoreError::Unavailable("the in-memory store lock is poisoned".into()))
    }

    /// Expired entries are dropped on access and swept when the map grows, so memory stays
    /// bounded by the number of live entries.
    fn sweep(map: &mut Entries, now: Instant) {
        if map.len() > 1024 && map.len().is_power_of_two() {
            map.retain(|_, (expires, _)| *expires > now);
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut map = self.lock()?;
        Self::sweep(&mut map, now);
        map.insert((kind, key.to_owned()), (now + ttl, value));
        Ok(())
    }

    async fn take(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut map = self.lock()?;
        Ok(map
            .remove(&(kind, key.to_owned()))
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, v)| v))
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let map = self.lock()?;
        Ok(map
            .get(&(kind, key.to_owned()))
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, v)| v.clone()))
    }

    async fn put_new(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut map = self.lock()?;
        Self::sweep(&mut map, now);
        let slot = map.entry((kind, key.to_owned()));
        match slot {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                if e.get().0 > now {
                    return Ok(false);
                }
                e.insert((now + ttl, value));
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((now + ttl, value));
            }
        }
        Ok(true)
    }

    async fn hit(
        &self,
        kind: Kind,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError> {
        let now = Instant::now();
        let mut map = self.lock()?;
        Self::sweep(&mut map, now);
        let entry = map
            .entry((kind, key.to_owned()))
            .or_insert_with(|| (now + window, 0u64.to_be_bytes().to_vec()));
        if entry.0 <= now {
            *entry = (now + window, 0u64.to_be_bytes().to_vec());
        }
        let count = <[u8; 8]>::try_from(entry.1.as_slice())
            .map(u64::from_be_bytes)
            .unwrap_or(0)
            .saturating_add(1);
        entry.1 = count.to_be_bytes().to_vec();
        Ok((count, entry.0.saturating_duration_since(now)))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn take_is_one_time() {
        let s = MemoryStore::new();
        s.put(Kind::Code, "c", b"v".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.get(Kind::Code, "c").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(s.take(Kind::Code, "c").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(s.take(Kind::Code, "c").await.unwrap(), None);
    }

    #[tokio::test]
    async fn kinds_do_not_collide() {
        let s = MemoryStore::new();
        s.put(Kind::Code, "k", b"code".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.take(Kind::AccessToken, "k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn entries_expire() {
        let s = MemoryStore::new();
        s.put(Kind::Pending, "p", b"v".to_vec(), Duration::from_millis(20))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(s.get(Kind::Pending, "p").await.unwrap(), None);
        assert_eq!(s.take(Kind::Pending, "p").await.unwrap(), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_takes_succeed_once() {
        let s = Arc::new(MemoryStore::new());
        s.put(Kind::Code, "c", b"v".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move { s.take(Kind::Code, "c").await.unwrap().is_some() })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1);
    }
}
