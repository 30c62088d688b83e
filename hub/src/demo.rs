//! `fibreplane demo`: the whole control plane (`run::start`) on a fresh embedded store, with lab
//! peers that tie together — a cpe-sim fleet of XX230v CPEs informing the ACS, an olt-sim whose
//! ONU #i carries CPE #i's serial, XX230v web-UI emulators for the first CPEs behind the modem
//! bridge — so a newcomer sees a living network in seconds and can cut a fibre from the shell.

use crate::config::Config;
use crate::lab::{LabOptions, LabPeers, ONUS_PER_PORT, random_secret};
use crate::run::{Extras, Secrets, Stack};
use acs::Secret;
use anyhow::Context;
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `fibreplane demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Simulated CPEs (and ONUs) in the lab network.
    #[arg(long, default_value_t = 64)]
    devices: usize,
    /// Address of the hub API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    hub_listen: SocketAddr,
    /// Address of the ACS's CWMP listener.
    #[arg(long, default_value = "127.0.0.1:7547")]
    cwmp_listen: SocketAddr,
    /// XX230v web-UI emulators behind the modem bridge (for the first CPEs).
    #[arg(long, default_value_t = 2)]
    modems: usize,
    /// Store directory (default: a fresh temporary directory, removed at exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Periodic inform interval of the simulated CPEs, seconds.
    #[arg(long, default_value_t = 30)]
    interval: u64,
    /// OLT poll interval, seconds.
    #[arg(long, default_value_t = 5)]
    poll_interval: u64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
    /// Also serve the GenieACS-compatible NBI here (its token: `FIBREPLANE_NBI_TOKEN`, else the
    /// hub's).
    #[arg(long)]
    nbi_listen: Option<SocketAddr>,
}

pub(crate) async fn run(args: DemoArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().join("data"));
    let secrets_dir = temp.path().join("secrets");
    std::fs::create_dir_all(&secrets_dir)?;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    // The operator's secrets if set, else fresh random ones; only the hub token is printed.
    let cpe_secret = env("FIBREPLANE_CPE_SECRET").unwrap_or_else(random_secret);
    let token = env("FIBREPLANE_TOKEN").unwrap_or_else(random_secret);
    let tech_key = env("FIBREPLANE_TECH_JWT_SECRET").unwrap_or_else(random_secret);
    let kuma = env("FIBREPLANE_KUMA_SECRET").unwrap_or_else(random_secret);
    let nbi_token = env("FIBREPLANE_NBI_TOKEN").map(Secret::new);
    let mut config = Config {
        data_dir,
        ..Config::default()
    };
    config.acs.cwmp_listen = args.cwmp_listen;
    config.hub.listen = args.hub_listen;
    config.hub.online_within_secs = args.interval * 3;
    config.nbi.listen = args.nbi_listen;
    let lab = LabPeers::start(
        &LabOptions {
            devices: args.devices,
            modems: args.modems,
            poll_interval_secs: args.poll_interval,
            // Recognisable lab secrets, for tests that search the logs for them.
            secret_prefix: env("FIBREPLANE_DEMO_LAB_SECRET_PREFIX"),
        },
        &secrets_dir,
        &mut config,
    )
    .await?;
    let secrets = Secrets {
        cpe: Some(Secret::new(cpe_secret.clone())),
        hub_token: Some(Secret::new(token.clone())),
        tech_key: Some(Secret::new(tech_key)),
        kuma: Some(Secret::new(kuma)),
        nbi_token,
        ..Secrets::default()
    };
    let stack = crate::run::start(&config, secrets, Extras::default())
        .await
        .context(
            "starting the control plane (is another one running? try --hub-listen 127.0.0.1:0 --cwmp-listen 127.0.0.1:0)",
        )?;
    let fleet = Fleet::start(SimConfig {
        acs_url: format!("http://{}/", stack.addrs.cwmp),
        count: args.devices,
        interval: Some(Duration::from_secs(args.interval.max(1))),
        auth: CpeAuth::Digest(Credential::Secret(cpe_secret)),
        stagger: Duration::from_secs(2),
        diag_echo_port: lab.echo_addr.port(),
        ..SimConfig::default()
    })
    .await
    .context("starting the lab fleet")?;
    print_banner(&args, &stack, &lab, &token);
    let result = wait(&args, &stack, &fleet, shutdown).await;
    fleet.shutdown().await;
    stack.stop().await;
    lab.stop().await;
    result
}

fn print_banner(args: &DemoArgs, stack: &Stack, lab: &LabPeers, token: &str) {
    let hub = stack.addrs.hub;
    println!("Fibreplane demo");
    println!("  hub API:      http://{hub}/   (bearer token below; OpenAPI at /openapi.json)");
    println!("  token:        {token}");
    println!("  ACS (CWMP):   http://{}/", stack.addrs.cwmp);
    if let Some(nbi) = stack.addrs.nbi {
        println!("  NBI:          http://{nbi}/   (FIBREPLANE_NBI_TOKEN, else the hub token)");
    }
    println!(
        "  lab:          {} simulated XX230v CPEs (inform every {} s); olt-sim at {} ({} ONUs per port, polled every {} s); {} XX230v web UIs",
        args.devices,
        args.interval,
        lab.olt_addr,
        ONUS_PER_PORT,
        args.poll_interval,
        lab.modems.len()
    );
    println!("  try:");
    println!("    curl -s -H 'Authorization: Bearer {token}' http://{hub}/network/topology");
    println!(
        "    curl -s -H 'Authorization: Bearer {token}' 'http://{hub}/devices/lookup?serial=FPSIM00000000'"
    );
    println!("    curl -sN -H 'Authorization: Bearer {token}' http://{hub}/events");
    println!(
        "  cut PON port 1: curl -s -H 'Authorization: Bearer {}' -d '{{\"port\":1}}' http://{}/cut",
        lab.control_token, lab.control_addr
    );
    println!("  stop:         Ctrl-C");
}

async fn wait(
    args: &DemoArgs,
    stack: &Stack,
    fleet: &Fleet,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let run_fleet = fleet.run_for(Duration::from_secs(args.duration.unwrap_or(u64::MAX / 4)));
    tokio::pin!(run_fleet);
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => status(stack).await,
            _ = &mut run_fleet => break,
            () = &mut shutdown => break,
        }
    }
    status(stack).await;
    Ok(())
}

async fn status(stack: &Stack) {
    let hub = &stack.hub;
    let m = &hub.acs.metrics;
    let (onus, offline) = hub
        .olt_views()
        .iter()
        .filter_map(|(_, _, s)| s.clone())
        .fold((0, 0), |(n, d), s| {
            (
                n + s.onus.len(),
                d + s.onus.iter().filter(|o| o.state.is_offline()).count(),
            )
        });
    println!(
        "  devices {:>5} | informs {:>7} | sessions live {:>4} | ONUs {:>5} offline {:>4} | events {:>6}",
        hub.acs.store().count().await.unwrap_or(0),
        m.informs.get(),
        hub.acs.live_sessions(),
        onus,
        offline,
        hub.bus
            .stats
            .published
            .load(std::sync::atomic::Ordering::Relaxed),
    );
    let Some(prov) = &hub.provisioner else {
        return;
    };
    let p = prov.summary();
    let n = |k: &str| p["devices"][k].as_u64().unwrap_or(0);
    println!(
        "  provisioned {:>6} | installing {:>4} | quarantined {:>4} | failed {:>4} | ERPNext requests {}",
        n("provisioned"),
        n("installing") + n("confirming") + n("pending"),
        n("quarantined"),
        n("failed"),
        p["erp_requests"]
    );
}
