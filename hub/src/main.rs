//! `fibreplane`: the Fibreplane control plane's one binary and composition root.
//!
//! Subcommands start the parts the later issues add; today `acs` runs the TR-069 ACS and `demo`
//! runs it with a lab CPE fleet informing it.

mod cli;
mod demo;
mod import;
mod modem;
mod olt;
mod provision;

use anyhow::Context;
use clap::Parser;

/// mimalloc: the ACS allocates many short-lived buffers per request from several threads, where
/// it measured faster than glibc malloc (see benches/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FIBREPLANE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(cli::run(args))
}
