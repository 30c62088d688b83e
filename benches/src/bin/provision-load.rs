//! Provisioning benchmark: a wave of N XX230v CPEs (cpe-sim, the full data model) bootstraps at
//! once against the ACS; the provisioner matches each to its erp-sim record, installs its
//! preset, confirms it (SPV status and read-back) and writes `provisioned` back. Measures the
//! time until every record shows `provisioned` and the ERPNext requests per provisioned device.
//!
//! Everything runs in this process on loopback (erp-sim, the ACS, the provisioner, the fleet),
//! on a two-worker tokio runtime: the figure is the whole control plane's, on both cores.
//!
//! `cargo run -p fibreplane-benches --release --bin provision-load -- [--cpes 1000] [--repeat 3]
//! [--write-readme]`

use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use clap::Parser;
use fibreplane_lab::erp::{ErpSim, ErpSimConfig};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use provisioner::erp::ErpConfig;
use provisioner::{Provisioner, ProvisionerConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
struct Args {
    /// CPEs in the bootstrap wave.
    #[arg(long, default_value_t = 1000)]
    cpes: usize,
    /// Runs (the table shows the median and the range).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Rewrite the results table in benches/README.md.
    #[arg(long)]
    write_readme: bool,
}

struct Run {
    bootstrap_s: f64,
    provisioned_s: f64,
    requests: u64,
    sessions: u64,
}

async fn run_once(cpes: usize) -> anyhow::Result<Run> {
    let erp = Arc::new(ErpSim::new(&ErpSimConfig {
        seed: 1,
        devices: cpes as u64,
        api_key: "bench".into(),
        api_secret: "bench-secret".into(),
    }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let erp_addr = l.local_addr()?;
    tokio::spawn(fibreplane_lab::erp::serve(
        l,
        erp.clone(),
        std::future::pending(),
    ));
    let dir = tempfile::tempdir()?;
    let acs = Acs::open(AcsConfig {
        data_dir: dir.path().to_owned(),
        cpe_auth: CpeAuthMode::Digest,
        cpe_secret: Secret::new("bench-cpe-secret"),
        ..AcsConfig::default()
    })
    .await?;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let acs_addr = l.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(acs::server::serve(acs.clone(), l, None, async {
        let _ = stopped.await;
    }));
    let prov = Provisioner::new(
        acs.clone(),
        ProvisionerConfig {
            erp: ErpConfig {
                base_url: format!("http://{erp_addr}"),
                api_key: "bench".into(),
                api_secret: Secret::new("bench-secret"),
                ..ErpConfig::default()
            },
            poll_interval: Duration::from_secs(5),
            ..ProvisionerConfig::default()
        },
    )
    .await?;
    let (pstop, pstopped) = tokio::sync::oneshot::channel::<()>();
    let prov_task = tokio::spawn(prov.clone().run(async {
        let _ = pstopped.await;
    }));
    // The first listing completes before the wave, as it would in production long before it.
    while prov.summary()["records"] != cpes {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let fleet = Fleet::start(SimConfig {
        acs_url: format!("http://{acs_addr}/"),
        count: cpes,
        auth: CpeAuth::Digest(Credential::Secret("bench-cpe-secret".into())),
        stagger: Duration::ZERO,
        concurrency: 64,
        ..SimConfig::default()
    })
    .await?;
    let before = prov.erp_requests();
    let t0 = Instant::now();
    let report = fleet.run_once(Duration::from_secs(600)).await;
    let bootstrap_s = t0.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.cpes_contacted == cpes,
        "only {} CPEs bootstrapped",
        report.cpes_contacted
    );
    let done = |erp: &ErpSim| {
        erp.all("Service Equipment")
            .iter()
            .all(|d| d["custom_provisioning_status"] == "provisioned")
    };
    let trace = std::env::var_os("PROVISION_LOAD_TRACE").is_some();
    let mut last_print = Instant::now();
    while !done(&erp) {
        anyhow::ensure!(
            t0.elapsed() < Duration::from_secs(900),
            "not provisioned: {}",
            prov.summary()
        );
        // PROVISION_LOAD_TRACE=1 prints the devices per phase every two seconds.
        if trace && last_print.elapsed() > Duration::from_secs(2) {
            eprintln!(
                "{:6.1} s {}",
                t0.elapsed().as_secs_f64(),
                prov.summary()["devices"]
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let provisioned_s = t0.elapsed().as_secs_f64();
    let requests = prov.erp_requests() - before;
    let sessions = fleet.report().sessions_ok;
    fleet.shutdown().await;
    let _ = pstop.send(());
    let _ = prov_task.await;
    let _ = stop.send(());
    let _ = server.await;
    drop(prov);
    tokio::task::spawn_blocking(move || drop(acs)).await?;
    Ok(Run {
        bootstrap_s,
        provisioned_s,
        requests,
        sessions,
    })
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut runs = Vec::new();
    for i in 0..args.repeat.max(1) {
        let r = rt.block_on(run_once(args.cpes))?;
        eprintln!(
            "run {}: bootstrap wave {:.2} s, all provisioned and written back {:.2} s, {} ERPNext requests, {} CWMP sessions",
            i + 1,
            r.bootstrap_s,
            r.provisioned_s,
            r.requests,
            r.sessions
        );
        runs.push(r);
    }
    let n = args.cpes as f64;
    let row = |name: &str, v: Vec<f64>, unit: &str, digits: usize| {
        let (m, lo, hi) = median(v);
        format!("| {name} | {m:.digits$} ({lo:.digits$}–{hi:.digits$}) {unit} |\n")
    };
    let mut table = String::from("| Figure | Median (min–max) |\n|---|---|\n");
    table += &row(
        &format!(
            "Bootstrap wave of {} full XX230v CPEs (every CPE's first session done)",
            args.cpes
        ),
        runs.iter().map(|r| r.bootstrap_s).collect(),
        "s",
        2,
    );
    table += &row(
        "Wave fully provisioned: presets converged, read back, `provisioned` written to ERPNext",
        runs.iter().map(|r| r.provisioned_s).collect(),
        "s",
        2,
    );
    table += &row(
        "ERPNext requests per provisioned device (polls and write-backs)",
        runs.iter().map(|r| r.requests as f64 / n).collect(),
        "",
        3,
    );
    table += &row(
        "CWMP sessions per device (bootstrap, preset, read-back)",
        runs.iter().map(|r| r.sessions as f64 / n).collect(),
        "",
        2,
    );
    print!("\n{table}");
    if args.write_readme {
        let body = format!(
            "Machine: 2 cores. Command: `cargo run -p fibreplane-benches --release --bin provision-load -- --cpes {} --repeat {} --write-readme`\n\n{table}",
            args.cpes, args.repeat
        );
        fibreplane_benches::readme::replace_section("provision-load", &body)?;
    }
    Ok(())
}
