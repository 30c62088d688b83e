//! `fibreplane modem`: operator commands of the XX230v web-UI bridge.
//!
//! * `modem read --host H --username U --password-env VAR [--path native|chromium|auto] --json`
//!   reads one modem's diagnostics (the password only ever comes from the environment).
//! * `modem serve --listen A --allow-list FILE --token-env VAR [--tls-cert C --tls-key K]` runs
//!   the hub-facing service API, over HTTPS with a certificate and key.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Subcommand, ValueEnum};
use modem_bridge::browser::{ChromiumConfig, ChromiumPool};
use modem_bridge::proto::cipher::CipherVariant;
use modem_bridge::service::{AllowList, ApiState};
use modem_bridge::{Bridge, Credentials, ModemProfile, ModemTarget, PathChoice, Secret, Section};

/// `fibreplane modem …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ModemCommand {
    /// Reads one modem's diagnostics through its web UI.
    Read(ReadArgs),
    /// Runs the read-only modem diagnostics API for the hub.
    Serve(ServeArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PathArg {
    /// Native first, the browser on a protocol mismatch.
    Auto,
    /// The native client only.
    Native,
    /// Headless Chromium only.
    Chromium,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CipherArg {
    Cbc,
    Gcm,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReadArgs {
    /// The modem's web UI, `IP:port`.
    #[arg(long)]
    host: SocketAddr,
    /// Web UI username.
    #[arg(long, default_value = "user")]
    username: String,
    /// Environment variable holding the password (never passed on the command line).
    #[arg(long)]
    password_env: String,
    /// Which path to use.
    #[arg(long, value_enum, default_value_t = PathArg::Auto)]
    path: PathArg,
    /// The firmware's AES variant (configuration: never probed, failed logins are counted).
    #[arg(long, value_enum, default_value_t = CipherArg::Cbc)]
    cipher: CipherArg,
    /// Sections to read (default: all).
    #[arg(long, value_delimiter = ',')]
    sections: Vec<String>,
    /// Print the whole report as JSON.
    #[arg(long)]
    json: bool,
    /// Read budget, seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address the API binds.
    #[arg(long, default_value = "127.0.0.1:8470")]
    listen: SocketAddr,
    /// JSON allow-list of modems (`{"modems":[{"id","address","password_env"|"password_file"}]}`).
    #[arg(long)]
    allow_list: PathBuf,
    /// Environment variable with the bearer token(s), comma-separated (two during rotation).
    #[arg(long, default_value = "FIBREPLANE_MODEM_API_TOKENS")]
    token_env: String,
    /// Concurrent browser reads.
    #[arg(long, default_value_t = 4)]
    browser_pool: usize,
    /// Read budget, seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key); plain HTTP without.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

pub(crate) async fn run(
    cmd: ModemCommand,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    match cmd {
        ModemCommand::Read(a) => read(a).await,
        ModemCommand::Serve(a) => serve(a, shutdown).await,
    }
}

fn pool(size: usize, timeout: Duration) -> Arc<ChromiumPool> {
    ChromiumPool::new(ChromiumConfig {
        pool_size: size,
        read_timeout: timeout,
        ..ChromiumConfig::default()
    })
}

async fn read(a: ReadArgs) -> anyhow::Result<()> {
    let password = Secret::from_env(&a.password_env)
        .with_context(|| format!("{} is not set", a.password_env))?;
    let sections = if a.sections.is_empty() {
        Section::ALL.to_vec()
    } else {
        a.sections
            .iter()
            .map(|s| Section::parse(s).with_context(|| format!("unknown section {s:?}")))
            .collect::<anyhow::Result<_>>()?
    };
    let timeout = Duration::from_secs(a.timeout);
    let choice = match a.path {
        PathArg::Auto => PathChoice::Auto,
        PathArg::Native => PathChoice::Native,
        PathArg::Chromium => PathChoice::Chromium,
    };
    let browser = (!matches!(a.path, PathArg::Native)).then(|| pool(1, timeout));
    let bridge = Bridge::new(timeout, browser.clone())?;
    let target = ModemTarget {
        addr: a.host,
        profile: ModemProfile {
            cipher: match a.cipher {
                CipherArg::Cbc => CipherVariant::Cbc,
                CipherArg::Gcm => CipherVariant::Gcm,
            },
            ..ModemProfile::xx230v()
        },
        credentials: Credentials {
            username: a.username,
            password,
        },
    };
    let result = bridge.read(&target, &sections, choice).await;
    if let Some(p) = browser {
        p.shutdown().await;
    }
    let report = result?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("path: {:?}, {} ms", report.path, report.elapsed_ms);
        println!("{}", serde_json::to_string_pretty(&report.diagnostics)?);
    }
    Ok(())
}

async fn serve(
    a: ServeArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&a.allow_list)
        .with_context(|| format!("reading {}", a.allow_list.display()))?;
    let allow = AllowList::from_json(&text)?;
    let tokens: Vec<Secret> = std::env::var(&a.token_env)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Secret::new)
        .collect();
    if tokens.is_empty() {
        bail!("{} must hold the API bearer token(s)", a.token_env);
    }
    let timeout = Duration::from_secs(a.timeout);
    let browser = pool(a.browser_pool, timeout);
    let state = Arc::new(ApiState::new(
        Bridge::new(timeout, Some(browser.clone()))?,
        &allow,
        tokens,
    )?);
    // A bad certificate or key fails here, before the port is taken.
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => Some(
            acs::server::load_tls(&acs::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })
            .context("--tls-cert/--tls-key")?,
        ),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("binding {}", a.listen))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(api = %local, scheme, modems = allow.modems.len(), "modem API listening");
    println!("{{\"modem_api_listen\":\"{local}\",\"scheme\":\"{scheme}\"}}");
    match tls {
        Some(acceptor) => {
            let listener = crate::tls_listener::TlsListener::new(listener, acceptor)?;
            modem_bridge::service::serve(listener, state, shutdown).await?;
        }
        None => modem_bridge::service::serve(listener, state, shutdown).await?,
    }
    browser.shutdown().await;
    Ok(())
}
