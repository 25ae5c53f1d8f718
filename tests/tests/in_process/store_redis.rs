//! The Redis store against a real `redis-server` started by the test.

use std::sync::Arc;
use std::time::Duration;

use broker::store::{Kind, RedisStore, RedisTarget, Store};

use crate::common::*;
use e2e::redis::RedisServer;

fn store(redis: &RedisServer) -> RedisStore {
    RedisStore::new(
        &RedisTarget::Single(redis.url()),
        Duration::from_millis(300),
    )
    .unwrap()
}

#[tokio::test]
async fn put_get_take_once() {
    let redis = RedisServer::start().await.unwrap();
    let s = store(&redis);
    s.put(Kind::Code, "c", b"grant".to_vec(), Kind::Code.ttl())
        .await
        .unwrap();
    assert_eq!(
        s.get(Kind::Code, "c").await.unwrap(),
        Some(b"grant".to_vec())
    );
    assert_eq!(
        s.take(Kind::Code, "c").await.unwrap(),
        Some(b"grant".to_vec())
    );
    assert_eq!(s.take(Kind::Code, "c").await.unwrap(), None);
    s.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_takes_succeed_once() {
    let redis = RedisServer::start().await.unwrap();
    let s = Arc::new(store(&redis));
    for round in 0..20 {
        let key = format!("code-{round}");
        s.put(Kind::Code, &key, b"v".to_vec(), Kind::Code.ttl())
            .await
            .unwrap();
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let (s, key) = (s.clone(), key.clone());
                tokio::spawn(async move { s.take(Kind::Code, &key).await.unwrap().is_some() })
            })
            .collect();
        let mut wins = 0;
        for t in takers {
            wins += usize::from(t.await.unwrap());
        }
        assert_eq!(wins, 1, "round {round}");
    }
}

#[tokio::test]
async fn keys_expire_with_their_kind_ttl() {
    let redis = RedisServer::start().await.unwrap();
    let s = store(&redis);
    s.put(Kind::AtProvider, "p", b"v".to_vec(), Kind::AtProvider.ttl())
        .await
        .unwrap();
    s.put(Kind::Code, "c", b"v".to_vec(), Kind::Code.ttl())
        .await
        .unwrap();
    let pttl = |key: String| {
        let redis = &redis;
        async move {
            redis
                .cli(&["PTTL", &key])
                .await
                .unwrap()
                .trim()
                .parse::<i64>()
                .unwrap()
        }
    };
    let pending = pttl(broker::store::redis_key(Kind::AtProvider, "p")).await;
    let code = pttl(broker::store::redis_key(Kind::Code, "c")).await;
    assert!(
        (590_000..=600_000).contains(&pending),
        "pending PTTL {pending}"
    );
    assert!((50_000..=60_000).contains(&code), "code PTTL {code}");

    // After its TTL a value is gone.
    s.put(
        Kind::Code,
        "short",
        b"v".to_vec(),
        Duration::from_millis(150),
    )
    .await
    .unwrap();
    assert!(s.get(Kind::Code, "short").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.get(Kind::Code, "short").await.unwrap(), None);
    assert_eq!(s.take(Kind::Code, "short").await.unwrap(), None);
}

#[tokio::test]
async fn an_absent_redis_is_an_error_in_bounded_time_never_a_hang() {
    let mut redis = RedisServer::start().await.unwrap();
    let s = store(&redis);
    s.ping().await.unwrap();
    redis.kill().await.unwrap();
    let started = std::time::Instant::now();
    assert!(
        s.put(Kind::Code, "c", b"v".to_vec(), Kind::Code.ttl())
            .await
            .is_err()
    );
    assert!(s.take(Kind::Code, "c").await.is_err());
    assert!(s.ping().await.is_err());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    redis.restart().await.unwrap();
    let mut ok = false;
    for _ in 0..50 {
        if s.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the store did not reconnect by itself");
}

/// A Redis that accepts connections and never answers: a request waits one store timeout in
/// all, not one per store call (the rate counter, then the login's state), and is refused.
#[tokio::test]
async fn a_hanging_redis_costs_a_request_one_store_timeout_in_all() {
    let hanging = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = hanging.local_addr().unwrap();
    // Accepts, keeps every connection open, answers nothing.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            held.push(socket);
        }
    });
    let timeout = Duration::from_millis(400);
    let store = RedisStore::new(
        &RedisTarget::Single(format!("redis://{address}/0")),
        timeout,
    )
    .unwrap();
    let bed = start(Options {
        store: Some(Arc::new(store)),
        ..Options::default()
    })
    .await;
    let started = std::time::Instant::now();
    let r = bed
        .http
        .get(AuthRequest::new(RP, RP_REDIRECT).url(&bed.broker_url))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(r.status(), 503);
    // One timeout and the rest of the request, not two timeouts (nor twice one).
    assert!(
        waited < timeout * 2 - Duration::from_millis(100),
        "waited {waited:?}"
    );
}

/// Replay checks and rate limits are shared: two replicas (two stores on one Redis) see one
/// `jti` once and count into one window.
#[tokio::test]
async fn replicas_share_replay_checks_and_rate_counters() {
    let redis = RedisServer::start().await.unwrap();
    let (a, b) = (store(&redis), store(&redis));
    let ttl = Duration::from_secs(60);
    assert!(
        a.put_new(Kind::AssertionJti, "rp:j1", b"1".to_vec(), ttl)
            .await
            .unwrap()
    );
    assert!(
        !b.put_new(Kind::AssertionJti, "rp:j1", b"1".to_vec(), ttl)
            .await
            .unwrap()
    );
    let window = Duration::from_millis(400);
    assert_eq!(
        a.hit(Kind::RateCounter, "addr:x", window).await.unwrap().0,
        1
    );
    assert_eq!(
        b.hit(Kind::RateCounter, "addr:x", window).await.unwrap().0,
        2
    );
    let (n, left) = a.hit(Kind::RateCounter, "addr:x", window).await.unwrap();
    assert_eq!(n, 3);
    assert!(left <= window && left > Duration::ZERO, "{left:?}");
    tokio::time::sleep(window + Duration::from_millis(100)).await;
    assert_eq!(
        b.hit(Kind::RateCounter, "addr:x", window).await.unwrap().0,
        1
    );
}

/// A login step left untaken is handed back once, to one of the replicas sweeping at once,
/// and only after Redis itself has let the value go; a step taken in time is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watched_values_expired_untaken_go_to_one_replica_once() {
    let redis = RedisServer::start().await.unwrap();
    let (a, b) = (Arc::new(store(&redis)), Arc::new(store(&redis)));
    let short = Duration::from_millis(200);
    for i in 0..40 {
        let note = format!("left-{i}").into_bytes();
        a.put_watched(
            Kind::AtProvider,
            &format!("p{i}"),
            b"v".to_vec(),
            short,
            note,
        )
        .await
        .unwrap();
    }
    b.put_watched(Kind::Code, "taken", b"v".to_vec(), short, b"taken".to_vec())
        .await
        .unwrap();
    b.put_watched(
        Kind::AwaitingConsent,
        "alive",
        b"v".to_vec(),
        Duration::from_secs(60),
        b"alive".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(
        a.take(Kind::Code, "taken").await.unwrap(),
        Some(b"v".to_vec())
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Gone from Redis, and a late take finds nothing, but the watch holds (clock grace).
    assert_eq!(b.take(Kind::AtProvider, "p0").await.unwrap(), None);
    assert!(a.abandoned(100).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    // Both replicas sweep at once, in small batches: each note comes out exactly once.
    let sweep = |s: Arc<RedisStore>| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = s.abandoned(3).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch);
            }
        })
    };
    let (from_a, from_b) = (sweep(a.clone()), sweep(b.clone()));
    let mut notes: Vec<String> = from_a
        .await
        .unwrap()
        .into_iter()
        .chain(from_b.await.unwrap())
        .map(|n| String::from_utf8(n).unwrap())
        .collect();
    notes.sort();
    let mut expected: Vec<String> = (0..40).map(|i| format!("left-{i}")).collect();
    expected.sort();
    assert_eq!(notes, expected);
    // The live one is still watched, and nothing is left behind for the others.
    assert!(a.abandoned(100).await.unwrap().is_empty());
    assert_eq!(
        b.take(Kind::AwaitingConsent, "alive").await.unwrap(),
        Some(b"v".to_vec())
    );
    let mut leftover = 0;
    for bucket in 0..16 {
        let zcard = redis
            .cli(&["ZCARD", &format!("pcb:watch:{{w{bucket:x}}}")])
            .await
            .unwrap();
        leftover += zcard.trim().parse::<usize>().unwrap();
    }
    assert_eq!(leftover, 0);
}

/// Scripts go by their SHA-1; a Redis that has forgotten them (restarted, flushed, a new
/// cluster node) is given the text again, and no call fails for it.
#[tokio::test]
async fn scripts_survive_a_redis_that_forgot_them() {
    let redis = RedisServer::start().await.unwrap();
    let s = store(&redis);
    let long = Duration::from_secs(60);
    for round in 0..2 {
        let key = format!("p{round}");
        s.put_watched(Kind::AtProvider, &key, b"v".to_vec(), long, b"n".to_vec())
            .await
            .unwrap();
        assert_eq!(redis.cli(&["SCRIPT", "FLUSH"]).await.unwrap().trim(), "OK");
        assert_eq!(
            s.take(Kind::AtProvider, &key).await.unwrap(),
            Some(b"v".to_vec())
        );
        redis.cli(&["SCRIPT", "FLUSH"]).await.unwrap();
        let (count, _) = s
            .hit(Kind::RateCounter, "k", Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(count, round + 1);
        redis.cli(&["SCRIPT", "FLUSH"]).await.unwrap();
        assert!(s.abandoned(10).await.unwrap().is_empty());
    }
    // Once given again, a script goes by its hash, not its text.
    s.put_watched(Kind::Code, "warm", b"v".to_vec(), long, b"n".to_vec())
        .await
        .unwrap();
    s.take(Kind::Code, "warm").await.unwrap();
    let before: u64 = info_count(&redis, "cmdstat_eval:").await;
    s.put_watched(Kind::Code, "c", b"v".to_vec(), long, b"n".to_vec())
        .await
        .unwrap();
    s.take(Kind::Code, "c").await.unwrap();
    assert_eq!(info_count(&redis, "cmdstat_eval:").await, before);
    assert!(info_count(&redis, "cmdstat_evalsha:").await >= 2);
}

/// The `calls=` count of one command in `INFO commandstats` (0 if never called).
async fn info_count(redis: &RedisServer, stat: &str) -> u64 {
    let info = redis.cli(&["INFO", "commandstats"]).await.unwrap();
    info.lines()
        .find(|l| l.starts_with(stat))
        .and_then(|l| l.split("calls=").nth(1))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Sets and the delivery queue, as sessions and logout tokens use them: the same behaviour
/// from the in-memory store and from Redis.
async fn sets_and_queue(a: &dyn Store, b: &dyn Store) {
    let day = Duration::from_secs(3600);
    a.add_member(Kind::SessionServices, "sid", "rp-1", day)
        .await
        .unwrap();
    b.add_member(Kind::SessionServices, "sid", "rp-2", day)
        .await
        .unwrap();
    a.add_member(Kind::SessionServices, "sid", "rp-1", day)
        .await
        .unwrap();
    let mut members = b.members(Kind::SessionServices, "sid").await.unwrap();
    members.sort();
    assert_eq!(members, ["rp-1", "rp-2"]);
    assert!(
        a.members(Kind::SessionServices, "other")
            .await
            .unwrap()
            .is_empty()
    );
    a.remove(Kind::SessionServices, "sid").await.unwrap();
    assert!(
        b.members(Kind::SessionServices, "sid")
            .await
            .unwrap()
            .is_empty()
    );
    // A set lives as long as its last addition says.
    a.add_member(
        Kind::ProviderSessions,
        "short",
        "s",
        Duration::from_millis(150),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        a.members(Kind::ProviderSessions, "short")
            .await
            .unwrap()
            .is_empty()
    );

    // The queue: only what is due is claimed, each item by one claimer until its lease ends.
    let q = Kind::LogoutDelivery;
    a.schedule(q, "due", b"one".to_vec(), 1_000).await.unwrap();
    a.schedule(q, "later", b"two".to_vec(), 5_000)
        .await
        .unwrap();
    let claimed = b.claim_due(q, 2_000, 10_000, 10).await.unwrap();
    assert_eq!(claimed, [("due".to_owned(), b"one".to_vec())]);
    assert!(
        a.claim_due(q, 2_000, 10_000, 10).await.unwrap().is_empty(),
        "leased"
    );
    // After the lease (the claimer died), another replica gets it; rescheduled, it is due again
    // later; finished, it is gone.
    let again = a.claim_due(q, 12_001, 10_000, 10).await.unwrap();
    assert_eq!(again.len(), 2, "{again:?}");
    a.schedule(q, "due", b"one, retried".to_vec(), 30_000)
        .await
        .unwrap();
    a.finish(q, "later").await.unwrap();
    assert!(b.claim_due(q, 25_000, 10_000, 10).await.unwrap().is_empty());
    let retried = b.claim_due(q, 30_000, 10_000, 10).await.unwrap();
    assert_eq!(retried, [("due".to_owned(), b"one, retried".to_vec())]);
    b.finish(q, "due").await.unwrap();
    assert!(
        a.claim_due(q, i64::MAX / 2, 10_000, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Rescheduled (a consent event released once its withdrawal is written): due earlier, the
    // item unchanged; one already finished is never brought back.
    let q = Kind::ConsentEvent;
    a.schedule(q, "held", b"event".to_vec(), 50_000)
        .await
        .unwrap();
    assert!(b.claim_due(q, 40_000, 10_000, 10).await.unwrap().is_empty());
    assert!(b.reschedule(q, "held", 40_000).await.unwrap());
    let released = a.claim_due(q, 40_000, 10_000, 10).await.unwrap();
    assert_eq!(released, [("held".to_owned(), b"event".to_vec())]);
    a.finish(q, "held").await.unwrap();
    assert!(!b.reschedule(q, "held", 40_000).await.unwrap());
    assert!(!b.reschedule(q, "never-queued", 40_000).await.unwrap());
    assert!(
        a.claim_due(q, i64::MAX / 2, 10_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn sets_and_the_delivery_queue_behave_alike_in_memory_and_on_redis() {
    let memory = broker::store::MemoryStore::new();
    sets_and_queue(&memory, &memory).await;
    let redis = RedisServer::start().await.unwrap();
    let (a, b) = (store(&redis), store(&redis));
    sets_and_queue(&a, &b).await;
}
