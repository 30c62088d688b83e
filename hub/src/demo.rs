//! `fibreplane demo`: the ACS on a fresh embedded store with a lab fleet of simulated XX230v CPEs
//! informing it, so a newcomer sees a living control plane in seconds; erp-sim stands in for
//! ERPNext and the provisioner configures every CPE from it.

use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use anyhow::Context;
use fibreplane_lab::erp::{ErpSim, ErpSimConfig};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use provisioner::erp::ErpConfig;
use provisioner::{Provisioner, ProvisionerConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `fibreplane demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Simulated CPEs in the lab fleet.
    #[arg(long, default_value_t = 200)]
    devices: usize,
    /// Address of the ACS's CWMP listener.
    #[arg(long, default_value = "127.0.0.1:7547")]
    cwmp_listen: SocketAddr,
    /// Store directory (default: a fresh temporary directory, removed at exit).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Periodic inform interval of the simulated CPEs, seconds.
    #[arg(long, default_value_t = 30)]
    interval: u64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<u64>,
    /// Address of the provisioning API (bearer token from FIBREPLANE_PROVISIONER_TOKEN).
    #[arg(long, default_value = "127.0.0.1:0")]
    provisioning_listen: SocketAddr,
}

pub(crate) async fn run(args: DemoArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let temp = tempfile::tempdir().context("creating a temporary store directory")?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    // The CPE secret is the operator's if set, else a fresh random one; it is never printed.
    let secret = std::env::var("FIBREPLANE_CPE_SECRET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let config = AcsConfig {
        cwmp_listen: args.cwmp_listen,
        data_dir: data_dir.clone(),
        cpe_auth: CpeAuthMode::Digest,
        cpe_secret: Secret::new(secret.clone()),
        ..AcsConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(args.cwmp_listen)
        .await
        .with_context(|| {
            format!(
                "binding {} (is another ACS running? try --cwmp-listen 127.0.0.1:0)",
                args.cwmp_listen
            )
        })?;
    let local = listener.local_addr()?;
    let acs = Acs::open(config).context("opening the ACS")?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(acs::server::serve(acs.clone(), listener, None, async {
        let _ = stop_rx.await;
    }));

    // ERPNext's stand-in, seeded with one customer and ONT per simulated CPE, and the
    // provisioner between it and the ACS.
    let erp_secret = hex::encode(rand::random::<[u8; 16]>());
    let erp = std::sync::Arc::new(ErpSim::new(&ErpSimConfig {
        seed: 1,
        devices: args.devices as u64,
        api_key: "fibreplane".into(),
        api_secret: erp_secret.clone(),
    }));
    let erp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let erp_addr = erp_listener.local_addr()?;
    let (erp_stop, erp_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(fibreplane_lab::erp::serve(
        erp_listener,
        erp.clone(),
        async {
            let _ = erp_stopped.await;
        },
    ));
    let prov = Provisioner::new(
        acs.clone(),
        ProvisionerConfig {
            erp: ErpConfig {
                base_url: format!("http://{erp_addr}"),
                api_key: "fibreplane".into(),
                api_secret: Secret::new(erp_secret),
                ..ErpConfig::default()
            },
            poll_interval: Duration::from_secs(5),
            ..ProvisionerConfig::default()
        },
    )
    .context("starting the provisioner")?;
    let (prov_stop, prov_stopped) = tokio::sync::oneshot::channel::<()>();
    let prov_task = tokio::spawn(prov.clone().run(async {
        let _ = prov_stopped.await;
    }));
    let token = std::env::var("FIBREPLANE_PROVISIONER_TOKEN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let api_listener = tokio::net::TcpListener::bind(args.provisioning_listen).await?;
    let api_addr = api_listener.local_addr()?;
    let api = provisioner::api::router(prov.clone(), Secret::new(token));
    tokio::spawn(async move { axum::serve(api_listener, api).await });

    let fleet = Fleet::start(SimConfig {
        acs_url: format!("http://{local}/"),
        count: args.devices,
        interval: Some(Duration::from_secs(args.interval.max(1))),
        auth: CpeAuth::Digest(Credential::Secret(secret)),
        stagger: Duration::from_secs(3),
        ..SimConfig::default()
    })
    .await
    .context("starting the lab fleet")?;
    println!("Fibreplane demo");
    println!(
        "  ACS (CWMP):   http://{local}/   (Digest auth; CPE secret from FIBREPLANE_CPE_SECRET or generated)"
    );
    println!("  store:        {} (redb)", data_dir.display());
    println!("  erp-sim:      http://{erp_addr}/api/resource/Service%20Equipment");
    println!(
        "  provisioning: http://{api_addr}/provisioning/quarantine   (bearer token from FIBREPLANE_PROVISIONER_TOKEN)"
    );
    println!(
        "  lab fleet:    {} simulated TP-Link XX230v CPEs, periodic inform every {} s",
        args.devices, args.interval
    );
    println!("  stop:         Ctrl-C");

    {
        let run_fleet = fleet.run_for(Duration::from_secs(args.duration.unwrap_or(u64::MAX / 4)));
        tokio::pin!(run_fleet);
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = tick.tick() => status(&acs, &prov),
                _ = &mut run_fleet => break,
                () = &mut shutdown => break,
            }
        }
    }
    status(&acs, &prov);
    let report = fleet.report();
    fleet.shutdown().await;
    let _ = prov_stop.send(());
    let _ = prov_task.await;
    let _ = erp_stop.send(());
    let _ = stop_tx.send(());
    let _ = server.await;
    println!(
        "fleet: {} sessions ok, {} failed, p50 {:.1} ms, p99 {:.1} ms",
        report.sessions_ok, report.sessions_failed, report.p50_ms, report.p99_ms
    );
    Ok(())
}

fn status(acs: &Acs, prov: &Provisioner) {
    let m = &acs.metrics;
    let devices = acs.store().count().unwrap_or(0);
    println!(
        "  devices {:>6} | informs {:>7} | sessions live {:>4} done {:>7} | tasks done {:>5} | auth failures {}",
        devices,
        m.informs.get(),
        acs.live_sessions(),
        m.sessions_completed.get(),
        m.tasks_done.get(),
        m.auth_failures.get()
    );
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
