//! `cpe-sim`: runs a fleet of virtual CWMP CPEs against an ACS and prints one JSON line with the
//! session statistics on stdout at exit. Logs go to stderr.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use fibreplane_lab::{BaseModel, CpeAuth, Credential, Fleet, SimConfig};

/// The fleet allocates per session like the ACS does; mimalloc keeps the load generator cheap so
/// more of a shared machine is left to the ACS being measured.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "cpe-sim", about = "A fleet of virtual TR-069 CPEs")]
struct Args {
    /// ACS URL (plain http).
    #[arg(long)]
    acs: String,
    /// Number of virtual CPEs.
    #[arg(long, default_value_t = 1)]
    count: usize,
    /// GenieACS-sim CSV data model (default: the built-in TP-Link XX230v).
    #[arg(long)]
    model: Option<std::path::PathBuf>,
    /// Added to every CPE index to form serials and MACs.
    #[arg(long, default_value_t = 0)]
    serial_offset: u64,
    /// Serial number prefix.
    #[arg(long, default_value = "FPSIM")]
    serial_prefix: String,
    /// Periodic inform interval in seconds (0 = back to back, for load runs; with --once, none).
    #[arg(long, default_value_t = 300.0)]
    interval: f64,
    /// Events of each CPE's first session (repeatable); default `0 BOOTSTRAP` and `1 BOOT`.
    /// `--start-event "2 PERIODIC"` runs a fleet the ACS already knows.
    #[arg(long = "start-event")]
    start_events: Vec<String>,
    /// Reuse the ACS's last Digest nonce on the next session instead of waiting for a 401.
    #[arg(long)]
    preemptive_digest: bool,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Fleet secret: each CPE's password is derived from it and its device id.
    #[arg(
        long,
        env = "CPE_SIM_SECRET",
        hide_env_values = true,
        conflicts_with = "password"
    )]
    cpe_secret: Option<String>,
    /// One password for every CPE.
    #[arg(long, env = "CPE_SIM_PASSWORD", hide_env_values = true)]
    password: Option<String>,
    /// Send Basic credentials pre-emptively instead of answering Digest challenges.
    #[arg(long)]
    basic: bool,
    /// Connection-request listener address.
    #[arg(long, default_value = "127.0.0.1:0")]
    cr_listen: SocketAddr,
    /// Host:port written into ConnectionRequestURL (default: the listener's address).
    #[arg(long)]
    cr_advertise: Option<String>,
    /// Most sessions in flight at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// Spread first contacts over this many seconds.
    #[arg(long, default_value_t = 5)]
    stagger: u64,
    /// One session per CPE, then exit (bounded by --duration).
    #[arg(long)]
    once: bool,
    /// Every CPE makes first contact (retrying after 503s) and the fleet exits once each has
    /// completed a session (bounded by --duration): a boot storm's measure. No periodic informs.
    #[arg(long, conflicts_with = "once")]
    until_done: bool,
    /// UDP port simulated IPPing/TraceRoute probe on their (loopback-only) host: an echo service.
    #[arg(long, default_value_t = 7)]
    diag_echo_port: u16,
    /// Never send `8 DIAGNOSTICS COMPLETE` (results are still written), like firmware that
    /// forgets it.
    #[arg(long)]
    drop_diagnostics_complete: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let model = match &args.model {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            BaseModel::from_csv(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => BaseModel::xx230v(),
    };
    let credential = match (args.cpe_secret, args.password) {
        (Some(s), _) => Some(Credential::Secret(s)),
        (None, Some(p)) => Some(Credential::Password(p)),
        (None, None) => None,
    };
    let auth = match (credential, args.basic) {
        (None, _) => CpeAuth::None,
        (Some(c), true) => CpeAuth::Basic(c),
        (Some(c), false) => CpeAuth::Digest(c),
    };
    let duration = Duration::from_secs(args.duration);
    let config = SimConfig {
        acs_url: args.acs,
        model: Arc::new(model),
        count: args.count,
        serial_offset: args.serial_offset,
        serial_prefix: args.serial_prefix,
        interval: (!args.once && !args.until_done)
            .then(|| Duration::from_secs_f64(args.interval.max(0.0))),
        auth,
        cr_listen: args.cr_listen,
        cr_advertise: args.cr_advertise,
        concurrency: args.concurrency,
        stagger: Duration::from_secs(args.stagger),
        preemptive_digest: args.preemptive_digest,
        diag_echo_port: args.diag_echo_port,
        drop_diagnostics_complete: args.drop_diagnostics_complete,
        start_events: if args.start_events.is_empty() {
            SimConfig::default().start_events
        } else {
            args.start_events
        },
        ..SimConfig::default()
    };
    let fleet = Fleet::start(config).await?;
    let report = tokio::select! {
        r = async {
            if args.once {
                fleet.run_once(duration).await
            } else if args.until_done {
                fleet.run_until_done(duration).await
            } else {
                fleet.run_for(duration).await
            }
        } => r,
        () = stop_signal() => fleet.report(),
    };
    fleet.shutdown().await;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM, so an interrupted run still prints its report.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
