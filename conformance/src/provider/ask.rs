//! What the live checks ask a provider for: what the broker would ask it.
//!
//! The broker asks each provider for the acr values that satisfy the level required, weakest
//! first, for the attributes of the agreement through the `claims` request and the scopes
//! that carry them, and passes the person's `login_hint` and `ui_locales` on. A provider may
//! answer an OpenID Connect request that asks for less (no acr at all, say) differently from
//! one that asks for what the broker needs, so the suite asks what the broker asks, built by
//! the broker's own code (`trust_framework::upstream`).

use std::collections::BTreeSet;

use time::OffsetDateTime;
use trust_framework::upstream::{claims_request, scopes_for};
use trust_framework::{AssuranceLevel, Attribute, IdentityProvider};

use super::{Asking, Metadata, ProviderTarget};
use crate::flow::Ask;

/// Asked in every request: a person who reads French first, as many do.
const UI_LOCALES: [&str; 2] = ["fr-CA", "en-CA"];

/// What a run asks, and the level its acr values stand for when the registry says.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub ask: Ask,
    pub level: Option<AssuranceLevel>,
}

pub(crate) fn plan(target: &ProviderTarget, metadata: &Metadata, now: OffsetDateTime) -> Plan {
    let login_hint = target.login_hint.clone();
    match (target.asking, &target.registry_entry) {
        (Asking::AsAService, _) => Plan {
            ask: Ask {
                scopes: target.scope.split_whitespace().map(str::to_owned).collect(),
                login_hint,
                ..Ask::default()
            },
            level: None,
        },
        (Asking::AsTheBroker, Some(entry)) => from_registry(entry, login_hint, now),
        (Asking::AsTheBroker, None) => from_discovery(target, metadata, login_hint),
    }
}

/// The most the broker may ask of this provider today: the highest level it may be routed
/// for, so that a provider which answers a demanding request with a weaker acr is caught.
/// A provider not routable at all (no current certification) is asked at the highest level
/// its acr values map to, which is what it would be asked once certified.
fn from_registry(
    entry: &IdentityProvider,
    login_hint: Option<String>,
    now: OffsetDateTime,
) -> Plan {
    let level = entry
        .certified_level(now)
        .or_else(|| entry.acr_map.values().copied().max());
    let attributes = &entry.attributes;
    Plan {
        ask: Ask {
            scopes: entry.upstream_scopes(attributes),
            acr_values: level.map(|l| entry.acr_values_for(l)).unwrap_or_default(),
            claims: entry.upstream_claims(attributes),
            login_hint,
            ui_locales: UI_LOCALES.map(str::to_owned).into(),
        },
        level,
    }
}

/// Without a registry entry, what the provider publishes: every acr value it supports (the
/// broker asks for a list and takes what satisfies the level), and the attributes whose
/// standard claims it supports.
fn from_discovery(
    target: &ProviderTarget,
    metadata: &Metadata,
    login_hint: Option<String>,
) -> Plan {
    let supported = metadata.list("claims_supported");
    let attributes: BTreeSet<Attribute> = Attribute::ALL
        .into_iter()
        .filter(|a| supported.contains(&a.claim()))
        .collect();
    let offered: Vec<String> = match metadata.list("scopes_supported") {
        scopes if !scopes.is_empty() => scopes.into_iter().map(str::to_owned).collect(),
        _ => target.scope.split_whitespace().map(str::to_owned).collect(),
    };
    Plan {
        ask: Ask {
            scopes: scopes_for(&offered, &attributes),
            acr_values: metadata
                .list("acr_values_supported")
                .into_iter()
                .map(str::to_owned)
                .collect(),
            claims: claims_request(attributes.iter().map(|a| a.claim())),
            login_hint,
            ui_locales: UI_LOCALES.map(str::to_owned).into(),
        },
        level: None,
    }
}
