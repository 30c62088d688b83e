//! `hub-load`: the hub API under load, on a demo-sized lab network in one process.
//!
//! 1. **Summaries**: a stack (`hub::run::start`) with N lab CPEs that registered with their full
//!    XX230v trees, then C concurrent clients asking `GET /devices/{id}/summary?refresh=never`
//!    for random devices. Baseline in the same run: what a GenieACS NBI client does to build
//!    the same view — `GET /devices/?query={"_id":…}` for the whole device document — on the
//!    same store, through the same process.
//! 2. **Fibre cut → incident on SSE**: a PON port cut in olt-sim (polled every `--poll-ms`), timed
//!    from the cut and from the first `network` event of the poll that saw it, to the `opened`
//!    incident event on `GET /events?topics=…` (SSE over loopback).
//!
//! With `--write-readme`, replaces the hub-load section of benches/README.md.

use anyhow::{Context, bail};
use clap::Parser;
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use hub::config::Config;
use hub::lab::{LabOptions, LabPeers};
use hub::run::{Extras, Secrets};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const TOKEN: &str = "hub-load-token-hub-load-token-hub";
const CPE_SECRET: &str = "hub-load-cpe-secret";

#[derive(Debug, Parser)]
#[command(
    name = "hub-load",
    about = "Hub API load: summaries and outage detection"
)]
struct Args {
    /// Lab CPEs (each registers with its full XX230v tree).
    #[arg(long, default_value_t = 10_000)]
    devices: usize,
    /// Concurrent API clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Summary requests in all (and as many baseline requests).
    #[arg(long, default_value_t = 4_000)]
    requests: usize,
    /// Fibre cuts timed.
    #[arg(long, default_value_t = 5)]
    cuts: usize,
    /// OLT poll interval, milliseconds.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Replace the hub-load section of benches/README.md.
    #[arg(long)]
    write_readme: bool,
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// C clients, each on its own keep-alive connection, `n` GETs in all; latencies in ms.
async fn load(
    base: &str,
    clients: usize,
    n: usize,
    path: Arc<dyn Fn(usize) -> String + Send + Sync>,
) -> anyhow::Result<(Vec<f64>, f64)> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = reqwest::Client::new();
        let base = base.to_owned();
        let path = Arc::clone(&path);
        let count = n / clients + usize::from(c < n % clients);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(count);
            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1);
            for _ in 0..count {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let t = Instant::now();
                let resp = client
                    .get(format!("{base}{}", path(x as usize)))
                    .bearer_auth(TOKEN)
                    .send()
                    .await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                if !status.is_success() || body.is_empty() {
                    bail!("status {status}");
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((all, n as f64 / started.elapsed().as_secs_f64()))
}

/// Reads SSE lines until `event: <kind>`; returns when it arrived.
async fn wait_event(
    r: &mut BufReader<tokio::net::TcpStream>,
    kind: &str,
) -> anyhow::Result<Instant> {
    let want = format!("event: {kind}");
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            bail!("event stream ended");
        }
        if line.trim() == want {
            return Ok(Instant::now());
        }
    }
}

async fn sse(
    addr: std::net::SocketAddr,
    topics: &str,
) -> anyhow::Result<BufReader<tokio::net::TcpStream>> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!("GET /events?topics={topics} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    loop {
        line.clear();
        r.read_line(&mut line).await?;
        if line == "\r\n" {
            return Ok(r);
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let secrets_dir = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets_dir)?;
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.acs.cwmp_listen = "127.0.0.1:0".parse()?;
    config.hub.listen = "127.0.0.1:0".parse()?;
    let lab = LabPeers::start(
        &LabOptions {
            devices: args.devices,
            modems: 0,
            poll_interval_secs: 1,
            secret_prefix: None,
        },
        &secrets_dir,
        &mut config,
    )
    .await?;
    // The poll interval in milliseconds (the lab option is in seconds).
    if let Some(o) = config.olt.first_mut() {
        o.interval_secs = args.poll_ms.div_ceil(1000).max(1);
    }
    let secrets = Secrets {
        cpe: Some(acs::Secret::new(CPE_SECRET)),
        hub_token: Some(acs::Secret::new(TOKEN)),
        ..Secrets::default()
    };
    config.nbi.listen = Some("127.0.0.1:0".parse()?);
    let stack = hub::run::start(&config, secrets, Extras::default()).await?;
    let fleet = Fleet::start(SimConfig {
        acs_url: format!("http://{}/", stack.addrs.cwmp),
        count: args.devices,
        auth: CpeAuth::Digest(Credential::Secret(CPE_SECRET.into())),
        stagger: Duration::ZERO,
        concurrency: 64,
        ..SimConfig::default()
    })
    .await?;
    let t = Instant::now();
    let report = fleet.run_once(Duration::from_secs(1800)).await;
    println!(
        "{} CPEs registered with full trees in {:.1} s ({} failed)",
        report.sessions_ok,
        t.elapsed().as_secs_f64(),
        report.sessions_failed
    );
    let n = args.devices;
    let hub_base = format!("http://{}", stack.addrs.hub);
    let (mut summary, summary_rps) = load(
        &hub_base,
        args.clients,
        args.requests,
        Arc::new(move |k| {
            format!(
                "/devices/1C61B4-Device2-FPSIM{:08}/summary?refresh=never",
                k % n
            )
        }),
    )
    .await
    .context("summary load")?;
    let nbi_base = format!("http://{}", stack.addrs.nbi.context("NBI")?);
    let (mut baseline, baseline_rps) = load(
        &nbi_base,
        args.clients,
        args.requests,
        Arc::new(move |k| {
            format!(
                "/devices/?query=%7B%22_id%22%3A%221C61B4-Device2-FPSIM{:08}%22%7D",
                k % n
            )
        }),
    )
    .await
    .context("baseline load")?;
    let (s50, s99) = (pct(&mut summary, 0.5), pct(&mut summary, 0.99));
    let (b50, b99) = (pct(&mut baseline, 0.5), pct(&mut baseline, 0.99));
    println!(
        "summary p50/p99 {s50:.2}/{s99:.2} ms at {summary_rps:.0}/s; NBI full document {b50:.2}/{b99:.2} ms at {baseline_rps:.0}/s"
    );

    // Fibre cuts: one port per round, restored between rounds.
    let control = reqwest::Client::new();
    let ports = (args.devices as u32)
        .div_ceil(hub::lab::ONUS_PER_PORT)
        .max(1);
    let (mut after_poll, mut after_cut) = (Vec::new(), Vec::new());
    for round in 0..args.cuts {
        let port = round as u32 % ports;
        eprintln!("cut {round}: port {port}");
        let mut outages = sse(stack.addrs.hub, "outages").await?;
        let mut network = sse(stack.addrs.hub, "network").await?;
        tokio::time::sleep(Duration::from_millis(args.poll_ms * 3 / 2)).await;
        let cut = Instant::now();
        control
            .post(format!("http://{}/cut", lab.control_addr))
            .bearer_auth(&lab.control_token)
            .body(format!("{{\"port\":{port}}}"))
            .send()
            .await?
            .error_for_status()?;
        let seen = tokio::time::timeout(
            Duration::from_secs(30),
            wait_event(&mut network, "onu_offline"),
        )
        .await??;
        let opened =
            tokio::time::timeout(Duration::from_secs(30), wait_event(&mut outages, "opened"))
                .await??;
        after_poll.push(opened.saturating_duration_since(seen).as_secs_f64() * 1000.0);
        after_cut.push(opened.duration_since(cut).as_secs_f64() * 1000.0);
        control
            .post(format!("http://{}/restore", lab.control_addr))
            .bearer_auth(&lab.control_token)
            .body("{}")
            .send()
            .await?
            .error_for_status()?;
        // Let the incident resolve and the network settle before the next cut.
        tokio::time::timeout(
            Duration::from_secs(300),
            wait_event(&mut outages, "resolved"),
        )
        .await
        .ok();
    }
    let (p50, pmax) = (pct(&mut after_poll, 0.5), pct(&mut after_poll, 1.0));
    let (c50, cmax) = (pct(&mut after_cut, 0.5), pct(&mut after_cut, 1.0));
    println!(
        "fibre cut → incident on SSE: {p50:.0} ms (max {pmax:.0}) after the poll, {c50:.0} ms (max {cmax:.0}) after the cut"
    );
    fleet.shutdown().await;
    stack.stop().await;
    lab.stop().await;

    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let table = format!(
        "Machine: {cores} cores. Command: `cargo run -p fibreplane-benches --release --bin hub-load -- --devices {} --clients {} --requests {} --cuts {} --poll-ms {} --write-readme`\n\n\
         | Figure | Measured | Target | Baseline (same run) | Ratio |\n|---|---|---|---|---|\n\
         | `GET /devices/{{id}}/summary` p50 / p99, {} clients, {} devices with full XX230v trees | {s50:.2} / {s99:.2} ms ({summary_rps:.0} req/s) | — | NBI full device document (what a GenieACS client fetches) {b50:.2} / {b99:.2} ms ({baseline_rps:.0} req/s) | p99 {:.2}× |\n\
         | Fibre cut → `opened` incident on SSE, after the poll that sees it (median / max of {}) | {p50:.0} / {pmax:.0} ms | ≤ 1,000 ms | — | — |\n\
         | Fibre cut → `opened` incident on SSE, from the cut ({} ms polls) | {c50:.0} / {cmax:.0} ms | — | — | — |\n",
        args.devices,
        args.clients,
        args.requests,
        args.cuts,
        args.poll_ms,
        args.clients,
        args.devices,
        s99 / b99.max(f64::EPSILON),
        args.cuts,
        args.poll_ms,
    );
    print!("\n{table}");
    if args.write_readme {
        fibreplane_benches::readme::replace_section("hub-load", &table)?;
    }
    Ok(())
}
