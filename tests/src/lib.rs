//! End-to-end test harness: starts real processes and peers.

pub mod broker;
pub mod containers;
pub mod demo;
pub mod interop;
pub mod postgres;
pub mod provider;
pub mod redis;
pub mod rp;
pub mod tls;
