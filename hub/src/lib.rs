//! The Fibreplane hub: the composition root that runs every component on one embedded store
//! (`fibreplane run`), the thin axum API the ops network page, technicians and Uptime Kuma use,
//! live events over SSE and MQTT, and the operators' command-line tools.
#![warn(missing_docs)]

pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
mod demo;
pub mod events;
mod import;
pub mod lab;
pub mod metrics;
mod modem;
mod olt;
mod provision;
pub mod run;
pub mod topology;
