//! incidents integration tests: one binary, one module per area.

mod correlate;
mod harness;
mod kuma;
mod props;
mod support;
mod webhook;
