//! One request waits for each backing service at most one of its timeouts in all.
//!
//! A request may make several calls to the state store (the rate counter, then a login's
//! state) and to the records (the registry's version, then a release's commit). When one of
//! them hangs (it accepts connections and never answers), each call would wait its own timeout,
//! one after another. The router runs every request in a [`scope`] that counts the time spent
//! waiting for each; a call waits at most what is left of one timeout, and none at all once
//! that is spent. Work outside a request (the audit flusher, start-up) has whole timeouts.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

/// What a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiting {
    /// The state store (`crate::store`).
    Store,
    /// The records (`crate::records`).
    Records,
}

tokio::task_local! {
    static SPENT: Cell<[Duration; 2]>;
}

/// Runs `request` with budgets of its own.
pub async fn scope<F: Future>(request: F) -> F::Output {
    SPENT.scope(Cell::new([Duration::ZERO; 2]), request).await
}

/// How long the next call to `on` may wait, of `timeout`: all of it outside a request.
pub(crate) fn remaining(on: Waiting, timeout: Duration) -> Duration {
    SPENT
        .try_with(|spent| timeout.saturating_sub(spent.get()[on as usize]))
        .unwrap_or(timeout)
}

/// Counts `waited` against the request's budget for `on`.
pub(crate) fn spend(on: Waiting, waited: Duration) {
    let _ = SPENT.try_with(|spent| {
        let mut all = spent.get();
        all[on as usize] += waited;
        spent.set(all);
    });
}

/// `work`, within what is left of the request's budget for `on`; `None` when that ran out
/// (before the call, or during it).
pub(crate) async fn within<T>(
    on: Waiting,
    timeout: Duration,
    work: impl Future<Output = T>,
) -> Option<T> {
    let limit = remaining(on, timeout);
    if limit.is_zero() {
        return None;
    }
    let started = tokio::time::Instant::now();
    let answered = tokio::time::timeout(limit, work).await;
    spend(on, started.elapsed());
    answered.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Waiting::{Records, Store};

    #[tokio::test]
    async fn a_request_spends_one_budget_per_service_and_other_work_none() {
        let timeout = Duration::from_millis(500);
        assert_eq!(
            remaining(Store, timeout),
            timeout,
            "outside a request: a whole timeout"
        );
        scope(async {
            assert_eq!(remaining(Store, timeout), timeout);
            spend(Store, Duration::from_millis(300));
            assert_eq!(remaining(Store, timeout), Duration::from_millis(200));
            assert_eq!(remaining(Records, timeout), timeout, "budgets are apart");
            spend(Store, Duration::from_millis(300));
            assert_eq!(remaining(Store, timeout), Duration::ZERO);
        })
        .await;
        scope(async {
            assert_eq!(
                remaining(Store, timeout),
                timeout,
                "each request has its own"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn a_hanging_call_takes_what_is_left_and_the_next_none() {
        let timeout = Duration::from_millis(100);
        scope(async {
            assert_eq!(within(Records, timeout, async { 7 }).await, Some(7));
            spend(Records, Duration::from_millis(60));
            let hung = within(Records, timeout, std::future::pending::<()>()).await;
            assert_eq!(hung, None);
            assert_eq!(remaining(Records, timeout), Duration::ZERO);
            assert_eq!(within(Records, timeout, async { 7 }).await, None);
            assert_eq!(within(Store, timeout, async { 7 }).await, Some(7));
        })
        .await;
    }
}
