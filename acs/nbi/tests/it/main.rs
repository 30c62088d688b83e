//! The NBI's integration tests: one binary, one module per concern.

mod auth;
mod contract;
mod e2e;
mod harness;
mod query_lang;
