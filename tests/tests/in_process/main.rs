//! The broker served in this process, over real HTTP on loopback, with demo providers (in
//! this process too) and a scripted relying party: every endpoint, the login flow, the trust
//! framework's rules, faults of providers, stores and clients, the admin API. One test binary
//! for all of them, so that the broker and its dependencies are linked once.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod admin_docs;
mod audit_log;
mod common;
mod consent_events;
mod key_rotation;
mod limits;
mod login;
mod login_endings;
mod metrics;
mod my_record;
mod pages;
mod par_and_client_auth;
mod records;
mod sessions;
mod store_redis;
mod tls;
mod trust_flow;
mod upstream_faults;
