//! incidents integration tests: one binary, one module per area.

mod correlate;
mod harness;
mod kuma;
mod lab;
mod props;
mod scenarios;
mod support;
mod webhook;
