//! The hub's integration tests: the `fibreplane` binary as operators run it, and the hub API
//! over loopback against a stack with lab peers (cpe-sim, olt-sim, Mosquitto). One binary; one
//! module per concern.

mod api;
mod cli;
mod cli_tls;
mod devices;
mod events;
mod harness;
mod logscan;
mod metrics;
mod security;
mod tls;
