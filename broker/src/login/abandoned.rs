//! Logins nobody finished: every login's trail ends with an event, the abandoned ones too.
//!
//! Between two steps a login waits in the state store (a pending login, a consent page, a
//! code), and if the person closes the browser at the provider or on the consent page, or the
//! service never redeems its code, the value simply expires. Without more, its trail would stop
//! at `upstream.sent` or `consent.given`, and an auditor could not tell a login still in
//! progress from one that died. So each of these values is written watched, with a [`Watch`]
//! saying whose login it is and which step it waits for; a sweep claims the watches of values
//! that expired untaken (each once, on one replica, `crate::store::Store::abandoned`) and writes
//! `login.abandoned` for each, counted in `broker_logins_abandoned_total{stage}`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::app::Broker;
use crate::audit::Event;
use crate::store::{Kind, StoreError};

/// How often each broker sweeps. An abandoned login is in the trail within this (plus, on
/// Redis, its clock grace) of its expiry.
pub const SWEEP_EVERY: Duration = Duration::from_secs(2);

/// The most abandoned logins one sweep writes; the rest wait for the next sweep, so that a
/// burst of expiries cannot hold the store or the log for long.
const SWEEP_BATCH: usize = 500;

/// The step a login waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The picker was shown; the person did not choose a provider.
    ChoosingProvider,
    /// The person was sent to the provider and did not come back.
    AtProvider,
    /// The notice-and-consent page was shown; the person did not decide.
    Consent,
    /// A code went back to the service, which did not redeem it.
    CodeRedemption,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::ChoosingProvider,
        Stage::AtProvider,
        Stage::Consent,
        Stage::CodeRedemption,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ChoosingProvider => "choosing_provider",
            Stage::AtProvider => "at_provider",
            Stage::Consent => "consent",
            Stage::CodeRedemption => "code_redemption",
        }
    }
}

/// What the trail says of a login abandoned while this value waited. No personal data: the
/// login's `txn`, the service, the provider once chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    pub txn: String,
    pub stage: Stage,
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl Watch {
    pub fn new(txn: &str, stage: Stage, client: &str, provider: Option<&str>) -> Self {
        Self {
            txn: txn.to_owned(),
            stage,
            client: client.to_owned(),
            provider: provider.map(str::to_owned),
        }
    }
}

/// Writes a login's step to wait for the next one, watched by `watch`: for `[limits]
/// login_seconds` when a person is to act, for `code_seconds` when the service is.
pub async fn keep<T: Serialize>(
    broker: &Broker,
    kind: Kind,
    key: &str,
    value: &T,
    watch: &Watch,
) -> Result<(), StoreError> {
    let ttl = match watch.stage {
        Stage::CodeRedemption => broker.limits.code_lifetime(),
        Stage::ChoosingProvider | Stage::AtProvider | Stage::Consent => broker.limits.login_step(),
    };
    broker.store.put_watched(kind, key, value, ttl, watch).await
}

/// One sweep: writes `login.abandoned` for each login the store hands back, and returns how
/// many. The store hands each back once, so an error here loses nothing but this sweep.
pub async fn sweep(broker: &Broker) -> Result<usize, StoreError> {
    let watches: Vec<Watch> = broker.store.abandoned(SWEEP_BATCH).await?;
    for w in &watches {
        broker.audit(Event::LoginAbandoned {
            txn: &w.txn,
            client: &w.client,
            provider: w.provider.as_deref(),
            stage: w.stage.as_str(),
        });
        crate::metrics::abandoned(w.stage);
    }
    Ok(watches.len())
}

/// Sweeps every [`SWEEP_EVERY`] for as long as the broker runs. A store that cannot answer is
/// logged and tried again at the next sweep.
pub async fn watch(broker: Broker) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // A full batch means more are waiting: sweep again at once.
        loop {
            match sweep(&broker).await {
                Ok(n) if n >= SWEEP_BATCH => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the sweep for abandoned logins failed");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_watch_is_flat_and_names_its_stage() {
        let w = Watch::new("t1", Stage::AtProvider, "svc", Some("ab-account"));
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"txn": "t1", "stage": "at_provider", "client": "svc", "provider": "ab-account"})
        );
        let back: Watch = serde_json::from_value(json).unwrap();
        assert_eq!(back, w);
        let before =
            serde_json::to_value(Watch::new("t2", Stage::ChoosingProvider, "svc", None)).unwrap();
        assert!(before.get("provider").is_none());
        for stage in Stage::ALL {
            assert_eq!(
                serde_json::to_value(stage).unwrap(),
                serde_json::json!(stage.as_str())
            );
        }
    }
}
