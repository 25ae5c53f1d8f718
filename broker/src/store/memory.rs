//! The in-memory store: the embedded default for one process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Kind, Store, StoreError};

type Entries = HashMap<(Kind, String), (Instant, Vec<u8>)>;

/// The entries, and per kind the keys in the order they were written with their expiry. Most
/// kinds have one lifetime, so each queue is in expiry order and expired entries leave from its
/// front, a few at a time on every call: no pause to scan the whole map under the lock.
#[derive(Debug, Default)]
struct Inner {
    map: Entries,
    queues: HashMap<Kind, VecDeque<(Instant, String)>>,
    /// Watched values: their expiry and note, until taken live or handed out as abandoned.
    /// Few (the logins in progress), so a scan for the expired ones is cheap.
    watches: HashMap<(Kind, String), (Instant, Vec<u8>)>,
    /// Sets, with their expiry: few (sessions and their indexes), dropped when found expired.
    sets: HashMap<(Kind, String), (Instant, std::collections::BTreeSet<String>)>,
    /// Queued items by kind and id: when each is due (Unix ms) and the item.
    queued: HashMap<(Kind, String), (i64, Vec<u8>)>,
    /// How many sets there were after the last sweep of the expired ones: the next sweep comes
    /// when they have doubled, so that adding a member costs O(1) on average.
    sets_after_sweep: usize,
}

impl Inner {
    fn insert(&mut self, kind: Kind, key: &str, expires: Instant, value: Vec<u8>) {
        self.map.insert((kind, key.to_owned()), (expires, value));
        self.queues
            .entry(kind)
            .or_default()
            .push_back((expires, key.to_owned()));
    }

    /// Drops what has expired from the front of every queue. An entry written again since
    /// has a later expiry and stays; a kind with mixed lifetimes may keep an expired entry
    /// until the one in front of it expires, at most its longest lifetime.
    fn sweep(&mut self, now: Instant) {
        let Self { map, queues, .. } = self;
        for (kind, queue) in queues.iter_mut() {
            while let Some((expires, _)) = queue.front() {
                if *expires > now {
                    break;
                }
                let Some((_, key)) = queue.pop_front() else {
                    break;
                };
                let k = (*kind, key);
                if map.get(&k).is_some_and(|(e, _)| *e <= now) {
                    map.remove(&k);
                }
            }
        }
    }
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<Inner>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.entries
            .lock()
            .map_err(|_| StoreError::Unavailable("the in-memory store lock is poisoned".into()))
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
        let mut inner = self.lock()?;
        inner.sweep(now);
        inner.insert(kind, key, now + ttl, value);
        Ok(())
    }

    async fn take(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut inner = self.lock()?;
        let k = (kind, key.to_owned());
        let live = inner
            .map
            .remove(&k)
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, v)| v);
        // Taken too late, the value was abandoned all the same: its watch stays to say so.
        if live.is_some() {
            inner.watches.remove(&k);
        }
        Ok(live)
    }

    async fn get(&self, kind: Kind, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .map
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
        let mut inner = self.lock()?;
        inner.sweep(now);
        if inner
            .map
            .get(&(kind, key.to_owned()))
            .is_some_and(|(expires, _)| *expires > now)
        {
            return Ok(false);
        }
        inner.insert(kind, key, now + ttl, value);
        Ok(true)
    }

    async fn hit(
        &self,
        kind: Kind,
        key: &str,
        window: Duration,
    ) -> Result<(u64, Duration), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        inner.sweep(now);
        let k = (kind, key.to_owned());
        let live = inner.map.get(&k).filter(|(expires, _)| *expires > now);
        let (expires, count) = match live {
            Some((expires, bytes)) => (
                *expires,
                <[u8; 8]>::try_from(bytes.as_slice())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0)
                    .saturating_add(1),
            ),
            None => (now + window, 1),
        };
        if count == 1 {
            inner.insert(kind, key, expires, count.to_be_bytes().to_vec());
        } else if let Some(entry) = inner.map.get_mut(&k) {
            entry.1 = count.to_be_bytes().to_vec();
        }
        Ok((count, expires.saturating_duration_since(now)))
    }

    async fn put_watched(
        &self,
        kind: Kind,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
        note: Vec<u8>,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        inner.sweep(now);
        inner.insert(kind, key, now + ttl, value);
        inner
            .watches
            .insert((kind, key.to_owned()), (now + ttl, note));
        Ok(())
    }

    async fn abandoned(&self, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        let expired: Vec<(Kind, String)> = inner
            .watches
            .iter()
            .filter(|(_, (expires, _))| *expires <= now)
            .map(|(k, _)| k.clone())
            .take(limit)
            .collect();
        Ok(expired
            .iter()
            .filter_map(|k| inner.watches.remove(k).map(|(_, note)| note))
            .collect())
    }

    async fn remove(&self, kind: Kind, key: &str) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let k = (kind, key.to_owned());
        inner.map.remove(&k);
        inner.sets.remove(&k);
        Ok(())
    }

    async fn add_member(
        &self,
        kind: Kind,
        key: &str,
        member: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut inner = self.lock()?;
        if inner.sets.len() >= inner.sets_after_sweep.saturating_mul(2).max(1024) {
            inner.sets.retain(|_, (expires, _)| *expires > now);
            inner.sets_after_sweep = inner.sets.len();
        }
        let entry = inner
            .sets
            .entry((kind, key.to_owned()))
            .or_insert_with(|| (now, Default::default()));
        // An expired set starts again empty.
        if entry.0 <= now {
            entry.1.clear();
        }
        entry.0 = now + ttl;
        entry.1.insert(member.to_owned());
        Ok(())
    }

    async fn members(&self, kind: Kind, key: &str) -> Result<Vec<String>, StoreError> {
        let inner = self.lock()?;
        Ok(inner
            .sets
            .get(&(kind, key.to_owned()))
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, set)| set.iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn schedule(
        &self,
        kind: Kind,
        id: &str,
        item: Vec<u8>,
        due_ms: i64,
    ) -> Result<(), StoreError> {
        self.lock()?
            .queued
            .insert((kind, id.to_owned()), (due_ms, item));
        Ok(())
    }

    async fn claim_due(
        &self,
        kind: Kind,
        now_ms: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut inner = self.lock()?;
        let mut due: Vec<(i64, String)> = inner
            .queued
            .iter()
            .filter(|((k, _), (at, _))| *k == kind && *at <= now_ms)
            .map(|((_, id), (at, _))| (*at, id.clone()))
            .collect();
        due.sort();
        due.truncate(limit);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, id) in due {
            if let Some(entry) = inner.queued.get_mut(&(kind, id.clone())) {
                entry.0 = now_ms.saturating_add(lease_ms);
                claimed.push((id, entry.1.clone()));
            }
        }
        Ok(claimed)
    }

    async fn reschedule(&self, kind: Kind, id: &str, due_ms: i64) -> Result<bool, StoreError> {
        Ok(match self.lock()?.queued.get_mut(&(kind, id.to_owned())) {
            Some(entry) => {
                entry.0 = due_ms;
                true
            }
            None => false,
        })
    }

    async fn finish(&self, kind: Kind, id: &str) -> Result<(), StoreError> {
        self.lock()?.queued.remove(&(kind, id.to_owned()));
        Ok(())
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
    async fn expired_entries_leave_memory_without_being_read() {
        let s = MemoryStore::new();
        // Long enough for the thousand writes to finish on a busy machine before the first
        // one expires.
        let short = Duration::from_millis(500);
        for i in 0..1000 {
            s.put(Kind::Code, &format!("c{i}"), vec![0; 100], short)
                .await
                .unwrap();
        }
        s.put(
            Kind::AtProvider,
            "long",
            b"v".to_vec(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(s.lock().unwrap().map.len(), 1001);
        tokio::time::sleep(short + Duration::from_millis(100)).await;
        // Any later call sweeps: only the live entry is left.
        assert!(s.get(Kind::AtProvider, "long").await.unwrap().is_some());
        s.put(Kind::Code, "fresh", b"v".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.lock().unwrap().map.len(), 2);
        // A key written again outlives the queue entry of its first write.
        s.put(Kind::Code, "again", b"1".to_vec(), Duration::from_millis(5))
            .await
            .unwrap();
        s.put(Kind::Code, "again", b"2".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.put(Kind::Code, "x", b"v".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            s.get(Kind::Code, "again").await.unwrap(),
            Some(b"2".to_vec())
        );
    }

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
        s.put(
            Kind::AtProvider,
            "p",
            b"v".to_vec(),
            Duration::from_millis(20),
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(s.get(Kind::AtProvider, "p").await.unwrap(), None);
        assert_eq!(s.take(Kind::AtProvider, "p").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_watched_value_expired_untaken_is_handed_back_once() {
        let s = MemoryStore::new();
        let short = Duration::from_millis(30);
        let long = Duration::from_secs(60);
        for key in ["taken", "left", "late"] {
            s.put_watched(Kind::AtProvider, key, b"v".to_vec(), short, key.into())
                .await
                .unwrap();
        }
        s.put_watched(Kind::Code, "alive", b"v".to_vec(), long, b"alive".to_vec())
            .await
            .unwrap();
        // Written again with a longer life: its watch moves with it.
        s.put_watched(
            Kind::AtProvider,
            "again",
            b"v".to_vec(),
            short,
            b"x".to_vec(),
        )
        .await
        .unwrap();
        s.put_watched(
            Kind::AtProvider,
            "again",
            b"v".to_vec(),
            long,
            b"again".to_vec(),
        )
        .await
        .unwrap();
        assert_eq!(
            s.take(Kind::AtProvider, "taken").await.unwrap(),
            Some(b"v".to_vec())
        );
        assert!(
            s.abandoned(10).await.unwrap().is_empty(),
            "nothing has expired yet"
        );
        tokio::time::sleep(short + Duration::from_millis(20)).await;
        // A take after the expiry finds nothing and does not hide the abandonment.
        assert_eq!(s.take(Kind::AtProvider, "late").await.unwrap(), None);
        let mut notes = s.abandoned(10).await.unwrap();
        notes.sort();
        assert_eq!(notes, [b"late".to_vec(), b"left".to_vec()]);
        assert!(
            s.abandoned(10).await.unwrap().is_empty(),
            "handed back once"
        );
        assert_eq!(
            s.lock().unwrap().watches.len(),
            2,
            "alive and again stay watched"
        );
    }

    #[tokio::test]
    async fn abandoned_values_are_handed_back_at_most_limit_at_a_time() {
        let s = MemoryStore::new();
        for i in 0..5 {
            let key = format!("p{i}");
            s.put_watched(
                Kind::AtProvider,
                &key,
                vec![],
                Duration::from_millis(1),
                key.clone().into(),
            )
            .await
            .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(s.abandoned(3).await.unwrap().len(), 3);
        assert_eq!(s.abandoned(3).await.unwrap().len(), 2);
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
