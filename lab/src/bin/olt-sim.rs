//! `olt-sim`: simulated GPON OLTs over SNMP (v2c, v3 authPriv) with a control API.
//!
//! Prints one JSON line on stdout once listening: `{"agents":["127.0.0.1:1161",…],
//! "control":"127.0.0.1:8161"}`. Logs go to stderr.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use fibreplane_lab::olt::{self, OltSimConfig, SerialStyle, SimAuth, SimVendor};
use tokio::net::{TcpListener, UdpSocket};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VendorArg {
    Huawei,
    Zte,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AuthArg {
    Sha1,
    Sha256,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PhaseArg {
    /// Deployed C300/C320 V2.x firmware: 1 logging … 4 working … 7 offline.
    V2,
    /// The MIB text: 0 logging … 3 working … 6 offline.
    Mib,
}

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "olt-sim", about = "Simulated GPON OLTs over SNMP")]
struct Args {
    /// UDP address of the (first) agent; with --count N, agent i listens on port + i (or on an
    /// ephemeral port each when the port is 0).
    #[arg(long, default_value = "127.0.0.1:1161")]
    listen: SocketAddr,
    /// Vendor MIB shape.
    #[arg(long, value_enum, default_value_t = VendorArg::Huawei)]
    vendor: VendorArg,
    /// PON ports per OLT.
    #[arg(long, default_value_t = 16)]
    ports: u32,
    /// ONUs per port.
    #[arg(long, default_value_t = 32)]
    onus_per_port: u32,
    /// Number of simulated OLTs in this process.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Seed of the generated network (agent i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// v2c community. A lab credential: it is visible in the process list when given here;
    /// prefer OLT_SIM_COMMUNITY. Without either, v2c is disabled.
    #[arg(long, env = "OLT_SIM_COMMUNITY", hide_env_values = true)]
    community: Option<String>,
    /// v3 user name (passwords from OLT_SIM_V3_AUTH_PASS and OLT_SIM_V3_PRIV_PASS).
    #[arg(long)]
    v3_user: Option<String>,
    /// v3 authentication protocol.
    #[arg(long, value_enum, default_value_t = AuthArg::Sha1)]
    v3_auth: AuthArg,
    /// ONU #i's serial is this prefix + the 8-digit index, like cpe-sim's CPE #i.
    #[arg(long, default_value = "FPSIM")]
    serial_prefix: String,
    /// Global index of the first ONU (agent i starts at offset + i × ports × onus).
    #[arg(long, default_value_t = 0)]
    serial_offset: u64,
    /// 8-byte GPON serials (`TPLG` + 4 index bytes) instead of cpe-sim-style ones.
    #[arg(long)]
    gpon_serials: bool,
    /// ZTE phase-state numbering.
    #[arg(long, value_enum, default_value_t = PhaseArg::V2)]
    zte_phase: PhaseArg,
    /// Control API address (HTTP); needs a token in OLT_SIM_TOKEN or --token-file.
    #[arg(long)]
    control: Option<SocketAddr>,
    /// File holding the control API's bearer token.
    #[arg(long)]
    token_file: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OLT_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

fn env_secret(var: &str) -> anyhow::Result<String> {
    std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .with_context(|| format!("{var} must hold the v3 password"))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let v3_user = match &args.v3_user {
        Some(name) => {
            let auth = match args.v3_auth {
                AuthArg::Sha1 => SimAuth::Sha1,
                AuthArg::Sha256 => SimAuth::Sha256,
            };
            let apw = env_secret("OLT_SIM_V3_AUTH_PASS")?;
            let ppw = std::env::var("OLT_SIM_V3_PRIV_PASS")
                .ok()
                .filter(|s| !s.is_empty());
            Some((name.clone(), auth, apw, ppw))
        }
        None => None,
    };
    if args.community.is_none() && v3_user.is_none() {
        bail!("give a v2c community (OLT_SIM_COMMUNITY or --community) or a v3 user");
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut agents = Vec::new();
    for i in 0..args.count {
        let mut addr = args.listen;
        if addr.port() != 0 {
            addr.set_port(
                u16::try_from(u32::from(addr.port()) + i)
                    .context("--count runs past port 65535")?,
            );
        }
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let config = OltSimConfig {
            vendor: match args.vendor {
                VendorArg::Huawei => SimVendor::Huawei,
                VendorArg::Zte => SimVendor::Zte,
            },
            ports: args.ports,
            onus_per_port: args.onus_per_port,
            seed: args.seed + u64::from(i),
            serial_offset: args.serial_offset
                + u64::from(i) * u64::from(args.ports) * u64::from(args.onus_per_port),
            serials: if args.gpon_serials {
                SerialStyle::Gpon
            } else {
                SerialStyle::CpeSim {
                    prefix: args.serial_prefix.clone(),
                }
            },
            community: args.community.clone(),
            v3_user: v3_user.clone(),
            zte_zero_based: matches!(args.zte_phase, PhaseArg::Mib),
        };
        agents.push(olt::start(socket, &config, stop_rx.clone())?);
    }
    let agents = Arc::new(agents);
    let mut control_addr = None;
    if let Some(addr) = args.control {
        let token = match &args.token_file {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading {}", p.display()))?
                .trim()
                .to_owned(),
            None => std::env::var("OLT_SIM_TOKEN").unwrap_or_default(),
        };
        if token.len() < 16 {
            bail!(
                "the control API needs a token of at least 16 characters (OLT_SIM_TOKEN or --token-file)"
            );
        }
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        control_addr = Some(listener.local_addr()?);
        tokio::spawn(olt::serve_control(
            listener,
            agents.clone(),
            Arc::new(token),
            stop_rx.clone(),
        ));
    }
    let list: Vec<String> = agents.iter().map(|a| a.addr().to_string()).collect();
    println!(
        "{}",
        serde_json::json!({"agents": list, "control": control_addr.map(|a| a.to_string())})
    );
    let _ = tokio::signal::ctrl_c().await;
    let _ = stop_tx.send(true);
    Ok(())
}
