//! `xx230v-sim`: one or more emulated TP-Link XX230v web UIs. Prints one JSON line per modem
//! (`{"index":…,"listen":"IP:port","serial":…}`) on stdout once listening; Ctrl-C stops it.
//! Logs go to stderr.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use fibreplane_lab::BaseModel;
use fibreplane_lab::xx230v::{Limits, RunningSim, SimCipher, SimOptions, cpe_sim_identity};

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "xx230v-sim",
    about = "Emulated TP-Link XX230v web UIs (lab only)"
)]
struct Args {
    /// Address of the first modem; with --count N the next ones use the following ports (or
    /// each its own free port when the port is 0).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Number of modems.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Web UI username.
    #[arg(long, default_value = "user")]
    username: String,
    /// Web UI password (a lab credential; prefer --password-env outside throw-away labs).
    #[arg(long, conflicts_with = "password_env")]
    password: Option<String>,
    /// Environment variable holding the web UI password.
    #[arg(long)]
    password_env: Option<String>,
    /// AES variant of the emulated firmware.
    #[arg(long, value_enum, default_value_t = SimCipher::Cbc)]
    cipher: SimCipher,
    /// Give modem i the identity of cpe-sim CPE (index + i): serial PREFIX + 8 digits, its MACs.
    /// Without it the modems report the dump's own serial and MACs.
    #[arg(long)]
    index: Option<u64>,
    /// Serial prefix used with --index (cpe-sim's default).
    #[arg(long, default_value = "FPSIM")]
    serial_prefix: String,
    /// Failed logins before a lock-out.
    #[arg(long, default_value_t = 5)]
    max_failures: u32,
    /// Lock-out length, seconds.
    #[arg(long, default_value_t = 60)]
    lockout_secs: u64,
    /// Idle session expiry, seconds.
    #[arg(long, default_value_t = 300)]
    session_idle_secs: u64,
    /// Answer 406 to cgi_gdpr requests advertising gzip (as one report says the firmware does).
    #[arg(long)]
    strict_accept_encoding: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FIBREPLANE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let password = match (&args.password, &args.password_env) {
        (Some(p), _) => p.clone(),
        (None, Some(var)) => std::env::var(var).with_context(|| format!("{var} is not set"))?,
        (None, None) => bail!("--password or --password-env is required"),
    };
    let base = Arc::new(BaseModel::xx230v());
    let mut sims = Vec::new();
    for i in 0..args.count {
        let mut addr = args.listen;
        if addr.port() != 0 {
            let port = u16::try_from(u32::from(addr.port()) + i).context("port out of range")?;
            addr.set_port(port);
        }
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let opts = SimOptions {
            username: args.username.clone(),
            password: password.clone(),
            cipher: args.cipher,
            limits: Limits {
                max_failures: args.max_failures,
                lockout: Duration::from_secs(args.lockout_secs),
                idle: Duration::from_secs(args.session_idle_secs),
            },
            strict_accept_encoding: args.strict_accept_encoding,
            identity: args
                .index
                .map(|first| cpe_sim_identity(first + u64::from(i), &args.serial_prefix)),
        };
        let sim = RunningSim::start(listener, base.clone(), opts)?;
        println!(
            "{{\"index\":{i},\"listen\":\"{}\",\"serial\":\"{}\"}}",
            sim.addr, sim.serial
        );
        sims.push(sim);
    }
    tokio::signal::ctrl_c().await?;
    for s in sims {
        s.stop().await;
    }
    Ok(())
}
