//! Command-line interface. Secrets come from the environment or files, never from argv, where
//! any local user could read them in the process list.

use acs::{Acs, AcsConfig, CpeAuthMode, Secret, StoreBackend, TlsFiles};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Fibreplane: a network-device control plane for a fibre ISP.
#[derive(Debug, Parser)]
#[command(version, about)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the TR-069 ACS (CWMP on --cwmp-listen).
    Acs(AcsArgs),
    /// Runs a demo control plane: the ACS on a fresh embedded store and a lab fleet of simulated
    /// XX230v CPEs informing it.
    Demo(crate::demo::DemoArgs),
    /// Reads TP-Link XX230v diagnostics through the web UI, or serves them to the hub.
    #[command(subcommand)]
    Modem(crate::modem::ModemCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AuthArg {
    /// HTTP Digest (Basic only over TLS).
    Digest,
    /// No CPE authentication (lab only).
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BackendArg {
    Redb,
    Sled,
}

#[derive(Debug, clap::Args)]
struct AcsArgs {
    /// Directory for the device store.
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Address the CWMP listener binds.
    #[arg(long, default_value = "0.0.0.0:7547")]
    cwmp_listen: SocketAddr,
    /// CPE authentication mode.
    #[arg(long, value_enum, default_value_t = AuthArg::Digest)]
    cpe_auth: AuthArg,
    /// Storage engine.
    #[arg(long, value_enum, default_value_t = BackendArg::Redb)]
    store: BackendArg,
    /// File holding the secret CPE passwords are derived from (else FIBREPLANE_CPE_SECRET).
    #[arg(long)]
    cpe_secret_file: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, CWMP is served over TLS.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Concurrent CWMP sessions before new ones get 503.
    #[arg(long, default_value_t = 2048)]
    max_sessions: usize,
    /// CWMP session timeout in seconds.
    #[arg(long, default_value_t = 30)]
    session_timeout: u64,
    /// Do not discover the whole tree of new devices.
    #[arg(long)]
    no_bootstrap_refresh: bool,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Acs(a) => run_acs(a).await,
        Command::Demo(d) => crate::demo::run(d, shutdown_signal()).await,
        Command::Modem(m) => crate::modem::run(m, shutdown_signal()).await,
    }
}

fn read_secret(file: Option<&PathBuf>, env: &str) -> anyhow::Result<Option<Secret>> {
    if let Some(path) = file {
        let s =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Some(Secret::new(s.trim())));
    }
    Ok(std::env::var(env)
        .ok()
        .filter(|s| !s.is_empty())
        .map(Secret::new))
}

async fn run_acs(a: AcsArgs) -> anyhow::Result<()> {
    let cpe_auth = match a.cpe_auth {
        AuthArg::Digest => CpeAuthMode::Digest,
        AuthArg::None => CpeAuthMode::None,
    };
    let cpe_secret = read_secret(a.cpe_secret_file.as_ref(), "FIBREPLANE_CPE_SECRET")?;
    if cpe_auth == CpeAuthMode::Digest && cpe_secret.is_none() {
        bail!("--cpe-auth digest needs FIBREPLANE_CPE_SECRET or --cpe-secret-file");
    }
    let config = AcsConfig {
        cwmp_listen: a.cwmp_listen,
        data_dir: a.data_dir,
        backend: match a.store {
            BackendArg::Redb => StoreBackend::Redb,
            BackendArg::Sled => StoreBackend::Sled,
        },
        cpe_auth,
        cpe_secret: cpe_secret.unwrap_or_default(),
        tls: a
            .tls_cert
            .zip(a.tls_key)
            .map(|(cert, key)| TlsFiles { cert, key }),
        max_sessions: a.max_sessions,
        session_timeout: Duration::from_secs(a.session_timeout),
        refresh_on_bootstrap: !a.no_bootstrap_refresh,
        ..AcsConfig::default()
    };
    let tls = config.tls.as_ref().map(acs::server::load_tls).transpose()?;
    let listener = tokio::net::TcpListener::bind(config.cwmp_listen)
        .await
        .with_context(|| format!("binding {}", config.cwmp_listen))?;
    let local = listener.local_addr()?;
    let acs = Acs::open(config).context("opening the ACS")?;
    tracing::info!(cwmp = %local, tls = tls.is_some(), "ACS listening");
    // Machine-readable line for scripts and tests that start the ACS on port 0.
    println!("{{\"cwmp_listen\":\"{local}\"}}");
    acs::server::serve(acs, listener, tls, shutdown_signal()).await;
    tracing::info!("ACS stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
