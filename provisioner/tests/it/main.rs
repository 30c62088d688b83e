//! The provisioner's integration tests: sans-IO engine and parser tests, erp-sim's contract,
//! and end-to-end runs with erp-sim, the ACS and cpe-sim fleets on loopback.

mod core;
mod e2e;
mod harness;
mod https;
mod quarantine;
