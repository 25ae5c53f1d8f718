//! One request waits for the state store at most one store timeout in all.
//!
//! A request may make several store calls (the rate counter, then a login's state). When the
//! store hangs (it accepts connections and never answers), each call would wait its own
//! timeout, one after another. The router runs every request in a [`scope`] that counts the
//! time spent waiting for the store; each call waits at most what is left of one timeout, and
//! none at all once that is spent.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

tokio::task_local! {
    static SPENT: Cell<Duration>;
}

/// Runs `request` with a store budget of its own.
pub async fn scope<F: Future>(request: F) -> F::Output {
    SPENT.scope(Cell::new(Duration::ZERO), request).await
}

/// How long the next store call may wait, of `timeout`: all of it outside a request.
pub(crate) fn remaining(timeout: Duration) -> Duration {
    SPENT
        .try_with(|spent| timeout.saturating_sub(spent.get()))
        .unwrap_or(timeout)
}

/// Counts `waited` against the request's budget.
pub(crate) fn spend(waited: Duration) {
    let _ = SPENT.try_with(|spent| spent.set(spent.get() + waited));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_spends_one_budget_and_other_work_none() {
        let timeout = Duration::from_millis(500);
        assert_eq!(
            remaining(timeout),
            timeout,
            "outside a request: a whole timeout"
        );
        scope(async {
            assert_eq!(remaining(timeout), timeout);
            spend(Duration::from_millis(300));
            assert_eq!(remaining(timeout), Duration::from_millis(200));
            spend(Duration::from_millis(300));
            assert_eq!(remaining(timeout), Duration::ZERO);
        })
        .await;
        scope(async {
            assert_eq!(remaining(timeout), timeout, "each request has its own");
        })
        .await;
    }
}
