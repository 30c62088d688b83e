//! Command-line interface. Secrets come from the environment or files, never from argv, where
//! any local user could read them in the process list.

use acs::{Acs, AcsConfig, CpeAuthMode, StoreBackend, TlsFiles};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Fibreplane: a network-device control plane for a fibre ISP.
/// The command line.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the whole control plane from a configuration file: ACS, NBI, file server, OLT
    /// poller, modem bridge, provisioner and the hub API, on one embedded store.
    Run(RunArgs),
    /// Runs the TR-069 ACS (CWMP on --cwmp-listen).
    Acs(AcsArgs),
    /// Imports another ACS's data into the store (GenieACS `mongoexport` output).
    Import(crate::import::ImportArgs),
    /// Runs a demo control plane: the ACS on a fresh embedded store and a lab fleet of simulated
    /// XX230v CPEs informing it.
    #[cfg(feature = "lab")]
    Demo(crate::demo::DemoArgs),
    /// OLT tools: `olt poll` polls one OLT over SNMP once.
    Olt(crate::olt::OltArgs),
    /// Reads TP-Link XX230v diagnostics through the web UI, or serves them to the hub.
    #[command(subcommand)]
    Modem(crate::modem::ModemCommand),
    /// ERPNext-driven provisioning: `provision sync` polls ERPNext once.
    #[command(subcommand)]
    Provision(crate::provision::ProvisionCommand),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// The configuration file (every key can be overridden by FIBREPLANE_<SECTION>_<KEY>).
    #[arg(long, default_value = "fibreplane.toml")]
    config: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AuthArg {
    /// HTTP Digest (Basic only over TLS).
    Digest,
    /// No CPE authentication (lab only).
    None,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum BackendArg {
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
    /// Bounds of the Retry-After seconds given with those 503s. Within them each is drawn at
    /// random up to the time the ACS needs to serve the Informs it refused lately, so a herd
    /// refused together comes back spread over that time.
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_secs_range, default_value = "1-180")]
    retry_after: (u32, u32),
    /// CWMP session timeout in seconds.
    #[arg(long, default_value_t = 30)]
    session_timeout: u64,
    /// Do not discover the whole tree of new devices.
    #[arg(long)]
    no_bootstrap_refresh: bool,
    /// Days an adoption (`fibreplane import genieacs`, `import adoption`) admits its device
    /// without a verified password.
    #[arg(long, default_value_t = 14)]
    adoption_window_days: u64,
    /// File of vendors' default CPE credentials, `OUI PRODUCTCLASS USERNAME [PASSWORD]` per
    /// line: a known CPE back with `0 BOOTSTRAP` and these is re-keyed before anything else.
    #[arg(long)]
    vendor_defaults_file: Option<PathBuf>,
    /// GenieACS's `EXT_DIR`: the extensions scripts call with `ext()` (run with Node.js).
    #[arg(long)]
    ext_dir: Option<PathBuf>,
    /// Address the GenieACS-compatible NBI binds (GenieACS uses 7557); no NBI without it.
    #[arg(long)]
    nbi_listen: Option<SocketAddr>,
    /// File holding the NBI bearer token (else FIBREPLANE_NBI_TOKEN).
    #[arg(long)]
    nbi_token_file: Option<PathBuf>,
    /// Address the file server binds (GenieACS uses 7567): serves files uploaded through the NBI
    /// to CPEs for Download tasks.
    #[arg(long)]
    fs_listen: Option<SocketAddr>,
    /// The file server's URL as CPEs reach it (default: http://<--fs-listen>).
    #[arg(long)]
    fs_url: Option<String>,
    /// Let anyone call the NBI without a token: lab use only, refused unless --nbi-listen is a
    /// loopback address.
    #[arg(long)]
    nbi_anonymous: bool,
    /// Threads serving CWMP, each with its own listening socket and single-threaded runtime
    /// (0: one per two cores, at least one, leaving the other half to the store writer, the NBI
    /// and the rest of the control plane).
    #[arg(long, default_value_t = 0)]
    cwmp_threads: usize,
}

/// Parses `MIN-MAX` seconds (`MIN` ≤ `MAX`).
fn parse_secs_range(s: &str) -> Result<(u32, u32), String> {
    let (lo, hi) = s
        .split_once('-')
        .ok_or_else(|| format!("expected MIN-MAX seconds, not {s:?}"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|e| format!("{v:?} is not a number of seconds: {e}"))
    };
    let (lo, hi) = (num(lo)?, num(hi)?);
    if lo > hi {
        return Err(format!("{lo} is more than {hi}"));
    }
    Ok((lo, hi))
}

/// Runs the subcommand.
pub async fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Run(r) => run_stack(r).await,
        Command::Acs(a) => run_acs(a).await,
        #[cfg(feature = "lab")]
        Command::Demo(d) => crate::demo::run(d, shutdown_signal()).await,
        Command::Olt(o) => crate::olt::run(o).await,
        Command::Import(i) => crate::import::run(i).await,
        Command::Modem(m) => crate::modem::run(m, shutdown_signal()).await,
        Command::Provision(p) => crate::provision::run(p).await,
    }
}

async fn run_acs(a: AcsArgs) -> anyhow::Result<()> {
    let cpe_auth = match a.cpe_auth {
        AuthArg::Digest => CpeAuthMode::Digest,
        AuthArg::None => CpeAuthMode::None,
    };
    let cpe_secret = crate::config::secret(a.cpe_secret_file.as_ref(), "FIBREPLANE_CPE_SECRET")?;
    if cpe_auth == CpeAuthMode::Digest && cpe_secret.is_none() {
        bail!("--cpe-auth digest needs FIBREPLANE_CPE_SECRET or --cpe-secret-file");
    }
    let mut config = AcsConfig {
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
        retry_after_secs: a.retry_after,
        session_timeout: Duration::from_secs(a.session_timeout),
        refresh_on_bootstrap: !a.no_bootstrap_refresh,
        adoption_window: Duration::from_secs(a.adoption_window_days.saturating_mul(86_400)),
        vendor_defaults: crate::config::vendor_defaults(a.vendor_defaults_file.as_ref())?,
        ext_dir: a.ext_dir,
        ..AcsConfig::default()
    };
    let tls = config.tls.as_ref().map(acs::server::load_tls).transpose()?;
    let threads = match a.cwmp_threads {
        0 => (std::thread::available_parallelism().map_or(1, usize::from) / 2).max(1),
        n => n,
    };
    let listeners = acs::server::bind_shards(config.cwmp_listen, threads)
        .with_context(|| format!("binding {}", config.cwmp_listen))?;
    let local = listeners[0].local_addr()?;
    let nbi = match a.nbi_listen {
        Some(addr) => {
            let access = if a.nbi_anonymous {
                if !addr.ip().is_loopback() {
                    bail!(
                        "--nbi-anonymous is only allowed with a loopback --nbi-listen, not {addr}"
                    );
                }
                nbi::Access::Anonymous
            } else {
                let token =
                    crate::config::secret(a.nbi_token_file.as_ref(), "FIBREPLANE_NBI_TOKEN")?
                        .context("the NBI needs FIBREPLANE_NBI_TOKEN or --nbi-token-file")?;
                nbi::Access::Token(nbi::Token::new(token.expose()))
            };
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            Some((listener, access))
        }
        None => None,
    };
    let fs = match a.fs_listen {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?;
            let bound = listener.local_addr()?;
            let url = match (&a.fs_url, bound.ip().is_unspecified()) {
                (Some(u), _) => u.trim_end_matches('/').to_owned(),
                (None, false) => format!("http://{bound}"),
                (None, true) => {
                    bail!("--fs-listen {addr} needs --fs-url: the URL CPEs fetch files from")
                }
            };
            Some((listener, url))
        }
        None => None,
    };
    // Downloads that presets declare point CPEs at the same file server as download tasks.
    config.file_server_url = fs.as_ref().map(|(_, url)| url.clone());
    let files = nbi::files::FileStore::new(config.data_dir.join("files"))
        .context("creating the files directory")?;
    let acs = Acs::open(config).await.context("opening the ACS")?;
    tracing::info!(cwmp = %local, tls = tls.is_some(), threads, "ACS listening");
    // One shutdown signal, fanned out to every listener.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = shutdown_signal();
    tokio::spawn(async move {
        signal.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut line = format!("{{\"cwmp_listen\":\"{local}\"");
    let nbi_task = match nbi {
        Some((listener, access)) => {
            let addr = listener.local_addr()?;
            line.push_str(&format!(",\"nbi_listen\":\"{addr}\""));
            let config = nbi::NbiConfig {
                access,
                fs_base_url: fs.as_ref().map(|(_, url)| url.clone()),
                files: Some(files.clone()),
            };
            Some(tokio::spawn(nbi::serve(
                acs.clone(),
                config,
                listener,
                stopped(stop_rx.clone()),
            )))
        }
        None => None,
    };
    let fs_task = match fs {
        Some((listener, _)) => {
            line.push_str(&format!(",\"fs_listen\":\"{}\"", listener.local_addr()?));
            Some(tokio::spawn(nbi::serve_files(
                acs.clone(),
                files,
                listener,
                stopped(stop_rx.clone()),
            )))
        }
        None => None,
    };
    // Machine-readable line for scripts and tests that start the ACS on port 0.
    println!("{line}}}");
    acs::server::serve_shards(acs, listeners, tls, stopped(stop_rx))
        .await
        .context("starting the CWMP threads")?;
    for t in [nbi_task, fs_task].into_iter().flatten() {
        t.await.context("NBI task")?.context("NBI")?;
    }
    tracing::info!("ACS stopped");
    Ok(())
}

async fn run_stack(a: RunArgs) -> anyhow::Result<()> {
    let config = crate::config::Config::load(Some(&a.config))?;
    let secrets = crate::run::Secrets::load(&config)?;
    let signal = shutdown_signal();
    let stack = crate::run::start(&config, secrets, crate::run::Extras::default()).await?;
    let addrs = stack.addrs;
    // Machine-readable line for scripts and tests that listen on port 0.
    println!(
        "{}",
        serde_json::json!({
            "cwmp_listen": addrs.cwmp.to_string(),
            "hub_listen": addrs.hub.to_string(),
            "nbi_listen": addrs.nbi.map(|a| a.to_string()),
            "fs_listen": addrs.fs.map(|a| a.to_string()),
        })
    );
    signal.await;
    stack.stop().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// caller that prints its address line afterwards can be stopped by a signal sent the moment
/// the line is read, however late the runtime gets round to polling (a loaded CI machine
/// otherwise kills the process with the default action before the handler exists).
pub(crate) fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
            match s {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = wait(int) => {}
            () = wait(term) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_secs_range;

    #[test]
    fn retry_after_ranges_parse_and_bad_ones_are_explained() {
        assert_eq!(parse_secs_range("30-180"), Ok((30, 180)));
        assert_eq!(parse_secs_range("1-1"), Ok((1, 1)));
        assert!(parse_secs_range("5").unwrap_err().contains("MIN-MAX"));
        assert!(parse_secs_range("9-3").unwrap_err().contains("more than"));
        assert!(
            parse_secs_range("a-3")
                .unwrap_err()
                .contains("not a number")
        );
    }
}
