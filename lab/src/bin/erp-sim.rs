//! `erp-sim`: a Frappe/ERPNext REST stand-in seeded to match the lab fleet.
//!
//! Prints one JSON line on stdout once listening: `{"listen":"127.0.0.1:8000","devices":N}`.
//! Callers authenticate with `Authorization: token <key>:<secret>`; the secret comes from
//! `ERP_SIM_API_SECRET` (never from argv). Logs go to stderr.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Parser;
use fibreplane_lab::erp::{self, ErpSim, ErpSimConfig};
use tokio::net::TcpListener;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "erp-sim",
    about = "Frappe/ERPNext REST stand-in seeded like the lab fleet"
)]
struct Args {
    /// Address to listen on (loopback by default: the lab's peers never leave the machine).
    #[arg(long, default_value = "127.0.0.1:8000")]
    listen: SocketAddr,
    /// Seed of the generated customers, locations and equipment.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Lab devices: equipment #i has cpe-sim CPE #i's serial and MAC.
    #[arg(long, default_value_t = 100)]
    devices: u64,
    /// API key callers present (the secret comes from ERP_SIM_API_SECRET).
    #[arg(long, default_value = "fibreplane")]
    api_key: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let secret = std::env::var("ERP_SIM_API_SECRET").unwrap_or_default();
    if secret.is_empty() {
        bail!("set ERP_SIM_API_SECRET to the API secret callers must present");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let sim = Arc::new(ErpSim::new(&ErpSimConfig {
            seed: args.seed,
            devices: args.devices,
            api_key: args.api_key,
            api_secret: secret,
        }));
        let listener = TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        let local = listener.local_addr()?;
        println!(
            "{}",
            serde_json::json!({"listen": local.to_string(), "devices": args.devices})
        );
        erp::serve(listener, sim, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
    })
}
