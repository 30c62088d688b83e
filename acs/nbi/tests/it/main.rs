//! The NBI's integration tests: one binary, one module per concern.

mod auth;
mod config_docs;
mod contract;
mod credentials;
mod e2e;
mod files;
mod harness;
mod limits;
mod provisions;
mod query_lang;
mod rpcs;
