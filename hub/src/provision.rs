//! `fibreplane provision sync`: one poll of ERPNext into the provisioner's durable state, with
//! the decisions it calls for (presets for changed records; with `--push-now`, connection
//! requests so devices take them at once), and the outcomes still owed to ERPNext written.

use acs::{Acs, AcsConfig, Secret};
use anyhow::{Context, bail};
use provisioner::erp::ErpConfig;
use provisioner::{Provisioner, ProvisionerConfig};
use std::path::PathBuf;

/// `fibreplane provision …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ProvisionCommand {
    /// Polls ERPNext once (records modified since the last sync, or all with --full).
    Sync(SyncArgs),
}

/// Options of `fibreplane provision sync`.
#[derive(Debug, clap::Args)]
pub(crate) struct SyncArgs {
    /// Directory of the ACS store (the provisioner keeps its state there too).
    #[arg(long, default_value = "data")]
    data_dir: PathBuf,
    /// Base URL of the ERPNext (Frappe) site, https:// or http://.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    erp_url: String,
    /// A PEM file of CAs trusted for ERPNext beside the system's roots (a private CA).
    #[arg(long, env = "FIBREPLANE_ERP_CA_FILE")]
    erp_ca_file: Option<PathBuf>,
    /// API key of the integration user (the secret comes from FIBREPLANE_ERP_API_SECRET).
    #[arg(long, env = "FIBREPLANE_ERP_API_KEY")]
    erp_api_key: String,
    /// Read every record, not only those modified since the last sync.
    #[arg(long)]
    full: bool,
    /// Wake devices whose settings changed (connection request) instead of waiting for their
    /// next inform.
    #[arg(long)]
    push_now: bool,
}

/// The provisioner's ERPNext settings from the options and the environment.
pub(crate) fn erp_config(
    url: &str,
    ca_file: Option<PathBuf>,
    key: &str,
) -> anyhow::Result<ErpConfig> {
    let secret = std::env::var("FIBREPLANE_ERP_API_SECRET").unwrap_or_default();
    if secret.is_empty() {
        bail!("set FIBREPLANE_ERP_API_SECRET to the ERPNext API secret");
    }
    Ok(ErpConfig {
        base_url: url.to_owned(),
        ca_file,
        api_key: key.to_owned(),
        api_secret: Secret::new(secret),
        ..ErpConfig::default()
    })
}

pub(crate) async fn run(cmd: ProvisionCommand) -> anyhow::Result<()> {
    let ProvisionCommand::Sync(args) = cmd;
    let mut config = ProvisionerConfig {
        erp: erp_config(&args.erp_url, args.erp_ca_file.clone(), &args.erp_api_key)?,
        ..ProvisionerConfig::default()
    };
    config.engine.push_on_change = args.push_now;
    let acs = Acs::open(AcsConfig {
        data_dir: args.data_dir.clone(),
        cpe_auth: acs::CpeAuthMode::None,
        ..AcsConfig::default()
    })
    .await
    .context("opening the store")?;
    let prov = Provisioner::new(acs.clone(), config)
        .await
        .context("loading the provisioner's state")?;
    let report = prov.sync_once(args.full).await;
    prov.idle().await;
    prov.write_back_once().await;
    prov.flush()
        .await
        .context("storing the provisioner's state")?;
    let report = report.context("polling ERPNext")?;
    println!(
        "{}",
        serde_json::json!({
            "rows": report.rows,
            "rejected": report.rejected,
            "changed": report.changed,
            "devices": report.devices,
            "full": report.full,
            "state": prov.summary(),
        })
    );
    drop(prov);
    tokio::task::spawn_blocking(move || drop(acs)).await?;
    Ok(())
}
