//! The Fibreplane hub: the composition root that runs every component on one embedded store
//! (`fibreplane run`), the thin axum API the ops network page, technicians and Uptime Kuma use,
//! live events over SSE and MQTT, and the operators' command-line tools.
//!
//! The default cargo feature `lab` adds the lab simulators for `fibreplane demo` and the tests
//! (the `lab` module); a production build (`--no-default-features`) links none of them.
#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
#[cfg(feature = "lab")]
mod demo;
pub mod events;
mod import;
#[cfg(feature = "lab")]
pub mod lab;
pub mod metrics;
mod modem;
mod olt;
mod provision;
pub mod run;
mod tls_listener;
pub mod topology;
