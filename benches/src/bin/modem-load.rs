//! `modem-load`: full diagnostic reads of emulated XX230v modems (lab `xx230v-sim`, in process,
//! on 127.0.0.1) through the bridge's native client and through headless Chromium, for one modem
//! and for N modems at once. Prints median and p99 per read, the native/Chromium ratio measured in
//! the same run, and the browser pool's memory (PSS summed over the browser's process tree).
//!
//! `cargo run --release -p fibreplane-benches --bin modem-load -- --modems 20 --reads 10`

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use fibreplane_lab::xx230v::{RunningSim, SimOptions};
use modem_bridge::browser::{ChromiumConfig, ChromiumPool};
use modem_bridge::{Bridge, Credentials, ModemProfile, ModemTarget, PathChoice, Secret, Section};

#[derive(Debug, Parser)]
#[command(
    name = "modem-load",
    about = "Native vs Chromium diagnostic reads of emulated XX230v modems"
)]
struct Args {
    /// Modems read concurrently in the second phase (one emulator each).
    #[arg(long, default_value_t = 20)]
    modems: usize,
    /// Timed reads per modem per path (after one warm-up read).
    #[arg(long, default_value_t = 10)]
    reads: usize,
    /// Browser contexts in the pool.
    #[arg(long, default_value_t = 2)]
    pool: usize,
    /// An extra Chromium flag (repeatable), for memory experiments.
    #[arg(long = "chromium-arg", allow_hyphen_values = true)]
    chromium_args: Vec<String>,
    /// Reads a browser context serves before it is replaced.
    #[arg(long, default_value_t = 4)]
    reads_per_context: u32,
    /// Print the PSS of every browser process.
    #[arg(long)]
    memory_detail: bool,
}

const PASSWORD: &str = "bench-pw";

fn target(sim: &RunningSim) -> ModemTarget {
    ModemTarget {
        addr: sim.addr,
        profile: ModemProfile::xx230v(),
        credentials: Credentials {
            username: "user".into(),
            password: Secret::new(PASSWORD),
        },
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

struct Stats {
    median: Duration,
    p99: Duration,
    n: usize,
    wall: Duration,
}

fn stats(mut v: Vec<Duration>, wall: Duration) -> Stats {
    v.sort();
    Stats {
        median: percentile(&v, 0.5),
        p99: percentile(&v, 0.99),
        n: v.len(),
        wall,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Reads every target `reads` times (after one untimed warm-up), all targets at once.
async fn run(
    bridge: &Arc<Bridge>,
    targets: &[ModemTarget],
    reads: usize,
    path: PathChoice,
) -> anyhow::Result<Stats> {
    for t in targets {
        bridge
            .read(t, &Section::ALL, path)
            .await
            .context("warm-up read")?;
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for t in targets {
        let (b, t) = (bridge.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(reads);
            for _ in 0..reads {
                let t0 = Instant::now();
                b.read(&t, &Section::ALL, path).await?;
                lat.push(t0.elapsed());
            }
            Ok::<_, modem_bridge::BridgeError>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(stats(all, start.elapsed()))
}

/// PSS of `pid` and all its descendants, KiB, from `/proc`; with `detail`, one line per process.
fn tree_pss_kib(root: u32, detail: bool) -> u64 {
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() {
        let p = pids[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                pids.extend(
                    kids.split_whitespace()
                        .filter_map(|c| c.parse::<u32>().ok()),
                );
            }
        }
        i += 1;
    }
    let mut total = 0;
    for p in pids {
        let Some(kib) = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("Pss:"))?;
                line.split_whitespace().nth(1)?.parse::<u64>().ok()
            })
        else {
            continue;
        };
        if detail {
            let cmd = std::fs::read_to_string(format!("/proc/{p}/cmdline")).unwrap_or_default();
            let kind = cmd
                .split(['\0', ' '])
                .find_map(|a| a.strip_prefix("--type="))
                .unwrap_or("browser")
                .to_owned();
            println!("  pid {p:>7} {kind:<12} {:>7.1} MiB", kib as f64 / 1024.0);
        }
        total += kib;
    }
    total
}

fn print(label: &str, s: &Stats) {
    println!(
        "{label:<28} reads {:>4}  median {:>8.1} ms  p99 {:>8.1} ms  throughput {:>6.1} reads/s",
        s.n,
        ms(s.median),
        ms(s.p99),
        s.n as f64 / s.wall.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut sims = Vec::new();
    for _ in 0..args.modems.max(1) {
        sims.push(
            RunningSim::bind("127.0.0.1:0".parse()?, SimOptions::new("user", PASSWORD)).await?,
        );
    }
    let targets: Vec<ModemTarget> = sims.iter().map(target).collect();
    let pool = ChromiumPool::new(ChromiumConfig {
        pool_size: args.pool,
        read_timeout: Duration::from_secs(60),
        extra_args: args.chromium_args.clone(),
        reads_per_context: args.reads_per_context,
        ..Default::default()
    });
    let bridge = Arc::new(Bridge::new(Duration::from_secs(60), Some(pool.clone()))?);
    pool.warm_up().await.context("launching Chromium")?;

    println!(
        "modem-load: {} modem(s), {} timed full reads per modem per path, pool {}",
        args.modems, args.reads, args.pool
    );
    let n1 = run(&bridge, &targets[..1], args.reads, PathChoice::Native).await?;
    print("native, 1 modem", &n1);
    let c1 = run(&bridge, &targets[..1], args.reads, PathChoice::Chromium).await?;
    print("chromium (warm), 1 modem", &c1);
    let nn = run(&bridge, &targets, args.reads, PathChoice::Native).await?;
    print(&format!("native, {} modems", targets.len()), &nn);
    // Sample the browser's memory through the concurrent phase and keep the peak.
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let (pool, peak) = (pool.clone(), peak.clone());
        tokio::spawn(async move {
            loop {
                if let Some(pid) = pool.browser_pid().await {
                    let kib = tokio::task::spawn_blocking(move || tree_pss_kib(pid, false))
                        .await
                        .unwrap_or(0);
                    peak.fetch_max(kib, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let cn = run(&bridge, &targets, args.reads, PathChoice::Chromium).await?;
    sampler.abort();
    let peak_kib = peak.load(std::sync::atomic::Ordering::Relaxed);
    print(&format!("chromium, {} modems", targets.len()), &cn);
    let pss = match pool.browser_pid().await {
        Some(pid) => tree_pss_kib(pid, args.memory_detail),
        None => 0,
    };
    let ratio1 = ms(c1.median) / ms(n1.median).max(1e-3);
    let ration = ms(cn.median) / ms(nn.median).max(1e-3);
    println!(
        "native speed-up (median, 1 modem): {ratio1:.1}x   ({} modems: {ration:.1}x)",
        targets.len()
    );
    println!(
        "browser pool memory: peak {:.0} MiB PSS during the {}-modem phase, {:.0} MiB at its end ({} contexts)",
        peak_kib as f64 / 1024.0,
        targets.len(),
        pss as f64 / 1024.0,
        args.pool
    );
    let pss = pss.max(peak_kib);
    println!(
        "targets: native >= 10x faster: {}; chromium warm median <= 500 ms: {}; pool <= 600 MiB: {}",
        if ratio1 >= 10.0 { "met" } else { "MISSED" },
        if ms(c1.median) <= 500.0 {
            "met"
        } else {
            "MISSED"
        },
        if pss as f64 / 1024.0 <= 600.0 {
            "met"
        } else {
            "MISSED"
        },
    );
    pool.shutdown().await;
    for s in sims {
        s.stop().await;
    }
    Ok(())
}
