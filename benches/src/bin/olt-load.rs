//! `olt-load`: the OLT poller's benchmark.
//!
//! 1. **Walk throughput**: rows/s walking the same table with the poller and with net-snmp's
//!    `snmpbulkwalk`, against the same agent in the same run: olt-sim (a 2,048-ONU Huawei table,
//!    release build, its own process) and Debian's `snmpd` (its MIB-2 view).
//! 2. **Fleet cycle**: 50 simulated OLTs × 2,048 ONUs (one olt-sim process) polled by
//!    `OltFleet` on a single-threaded runtime (so ≤ 1 core by construction; the CPU figure says
//!    how much of it is used), with optical history written to redb.
//!
//! Needs scripts/deps/snmp.sh (net-snmp tools and snmpd). Prints a Markdown table; with
//! `--write-readme` replaces the olt-load section of benches/README.md.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use fibreplane_benches::procs;
use olt_poller::{
    Credentials, FleetConfig, OltConfig, OltFleet, OltId, RedbHistory, Secret, SnmpTarget,
    VendorChoice, walk::WalkLimits, walk_columns,
};

const COMMUNITY: &str = "bench-community";
const HW_ONU_TABLES: &str = "1.3.6.1.4.1.2011.6.128.1.1.2";

#[derive(Debug, Parser)]
#[command(name = "olt-load", about = "OLT poller benchmark")]
struct Args {
    /// Simulated OLTs in the fleet.
    #[arg(long, default_value_t = 50)]
    olts: u32,
    /// PON ports per OLT.
    #[arg(long, default_value_t = 64)]
    ports: u32,
    /// ONUs per port.
    #[arg(long, default_value_t = 32)]
    onus_per_port: u32,
    /// Measurements per figure (the median is reported, with the range).
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Do not build the release binaries first.
    #[arg(long)]
    skip_build: bool,
    /// Replace the olt-load section of benches/README.md with the results.
    #[arg(long)]
    write_readme: bool,
}

/// A child killed (by pid) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_olt_sim(
    bin: &Path,
    count: u32,
    ports: u32,
    onus: u32,
) -> anyhow::Result<(Proc, Vec<std::net::SocketAddr>)> {
    let mut child = Command::new(bin.join("olt-sim"))
        .args(["--listen", "127.0.0.1:0", "--count", &count.to_string()])
        .args([
            "--ports",
            &ports.to_string(),
            "--onus-per-port",
            &onus.to_string(),
        ])
        .env("OLT_SIM_COMMUNITY", COMMUNITY)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting olt-sim")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).context("olt-sim's address line")?;
    let addrs = v["agents"]
        .as_array()
        .context("no agents")?
        .iter()
        .filter_map(|a| a.as_str()?.parse().ok())
        .collect();
    Ok((Proc(child), addrs))
}

fn start_snmpd(dir: &Path) -> anyhow::Result<(Proc, std::net::SocketAddr)> {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let conf = dir.join("snmpd.conf");
    std::fs::write(&conf, format!("rocommunity {COMMUNITY} 127.0.0.1\n"))?;
    let snmpd = ["/usr/sbin/snmpd", "/usr/bin/snmpd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .context("snmpd is not installed: run scripts/deps/snmp.sh")?;
    let child = Command::new(snmpd)
        .args(["-f", "-Lf", "/dev/null", "-C", "-c"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.join("snmpd.pid"))
        .arg(format!("udp:127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting snmpd")?;
    Ok((Proc(child), ([127, 0, 0, 1], port).into()))
}

fn target(addr: std::net::SocketAddr) -> SnmpTarget {
    SnmpTarget {
        addr,
        credentials: Credentials::V2c {
            community: Secret::new(COMMUNITY),
        },
        timeout: Duration::from_secs(2),
        retries: 2,
    }
}

/// snmpbulkwalk with the community in a private snmp.conf; returns (rows, seconds).
fn net_snmp_walk(
    conf_dir: &Path,
    addr: std::net::SocketAddr,
    root: &str,
    reps: u32,
) -> anyhow::Result<(usize, f64)> {
    let t = Instant::now();
    let out = Command::new("snmpbulkwalk")
        .env("SNMPCONFPATH", conf_dir)
        .env("MIBS", "")
        .args(["-On", "-t", "2", "-r", "2", &format!("-Cr{reps}")])
        .arg(addr.to_string())
        .arg(root)
        .stderr(Stdio::inherit())
        .output()
        .context("running snmpbulkwalk (scripts/deps/snmp.sh installs it)")?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("snmpbulkwalk failed");
    }
    let rows = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && !l.windows(17).any(|w| w == b"No more variables"))
        .count();
    Ok((rows, secs))
}

fn poller_walk(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    root: &str,
) -> anyhow::Result<(usize, f64)> {
    let t = Instant::now();
    let (rows, st) = rt.block_on(walk_columns(
        &target(addr),
        vec![root.parse()?],
        WalkLimits::default(),
    ))?;
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "olt-load: poller walked {} rows of {root} at {addr} in {secs:.3} s: {} requests, {} timeouts, {} back-offs, final max-repetitions {}",
        rows[0].len(),
        st.requests,
        st.timeouts,
        st.backoffs,
        st.max_repetitions
    );
    Ok((rows[0].len(), secs))
}

/// Median and range of a sample.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn fmt_rate((m, lo, hi): (f64, f64, f64)) -> String {
    format!("{:.0} ({:.0}–{:.0}) rows/s", m, lo, hi)
}

struct WalkFigures {
    agent: String,
    rows: usize,
    poller: (f64, f64, f64),
    net_snmp: Vec<(u32, (f64, f64, f64))>,
}

fn walk_bench(
    rt: &tokio::runtime::Runtime,
    conf: &Path,
    agent: &str,
    addr: std::net::SocketAddr,
    root: &str,
    repeat: usize,
) -> anyhow::Result<WalkFigures> {
    let mut ours = Vec::new();
    let mut rows = 0;
    let mut theirs: Vec<(u32, Vec<f64>)> = vec![(25, Vec::new()), (64, Vec::new())];
    // One unmeasured round warms both clients and the agent (page cache, ARP-free loopback,
    // the agent's first renders); then the clients alternate so drift in load hits both alike.
    poller_walk(rt, addr, root)?;
    net_snmp_walk(conf, addr, root, 64)?;
    for _ in 0..repeat {
        let (n, s) = poller_walk(rt, addr, root)?;
        rows = n;
        ours.push(n as f64 / s);
        for (reps, v) in &mut theirs {
            let (m, s) = net_snmp_walk(conf, addr, root, *reps)?;
            if m != n {
                eprintln!(
                    "olt-load: {agent}: snmpbulkwalk -Cr{reps} read {m} rows, the poller {n}"
                );
            }
            v.push(m as f64 / s);
        }
    }
    Ok(WalkFigures {
        agent: agent.to_owned(),
        rows,
        poller: stats(ours),
        net_snmp: theirs.into_iter().map(|(r, v)| (r, stats(v))).collect(),
    })
}

struct FleetFigures {
    onus: usize,
    wall: (f64, f64, f64),
    cpu: (f64, f64, f64),
    sim_cpu: (f64, f64, f64),
    requests: u64,
    varbinds: u64,
}

fn fleet_bench(
    addrs: &[std::net::SocketAddr],
    sim_pid: u32,
    repeat: usize,
) -> anyhow::Result<FleetFigures> {
    // One thread polls the whole fleet: the ≤ 1 core target holds by construction, and the CPU
    // figure shows how much of that core a cycle uses.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let history = Arc::new(RedbHistory::open(&dir.path().join("optical.redb"), 1440)?);
    rt.block_on(async {
        let mut fleet = OltFleet::new(
            FleetConfig {
                max_sockets: 64,
                ..FleetConfig::default()
            },
            Some(history),
        );
        let ids: Vec<OltId> = (0..addrs.len())
            .map(|i| OltId::new(format!("olt-{i:02}")))
            .collect::<Result<_, _>>()?;
        for (id, addr) in ids.iter().zip(addrs) {
            fleet.add(OltConfig {
                id: id.clone(),
                target: target(*addr),
                vendor: VendorChoice::parse("huawei")?,
                firmware: None,
                interval: Duration::from_secs(3600),
            })?;
        }
        // The first (scheduled) cycle warms up both sides; wait for it.
        while ids.iter().any(|i| fleet.latest(i).is_none()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let fleet = Arc::new(fleet);
        let (mut wall, mut cpu, mut sim_cpu) = (Vec::new(), Vec::new(), Vec::new());
        let (mut onus, mut requests, mut varbinds) = (0, 0, 0);
        for _ in 0..repeat {
            let (c0, s0, t0) = (
                procs::cpu_micros(std::process::id())?,
                procs::cpu_micros(sim_pid)?,
                Instant::now(),
            );
            let tasks: Vec<_> = ids
                .iter()
                .map(|id| {
                    let (f, id) = (fleet.clone(), id.clone());
                    tokio::spawn(async move { f.poll_now(&id).await })
                })
                .collect();
            let (mut o, mut r, mut v) = (0, 0, 0);
            for t in tasks {
                let snap = t.await??;
                o += snap.onus.len();
                r += snap.stats.requests;
                v += snap.stats.varbinds;
            }
            wall.push(t0.elapsed().as_secs_f64());
            cpu.push((procs::cpu_micros(std::process::id())? - c0) as f64 / 1e6);
            sim_cpu.push((procs::cpu_micros(sim_pid)? - s0) as f64 / 1e6);
            (onus, requests, varbinds) = (o, r, v);
        }
        Ok::<_, anyhow::Error>(FleetFigures {
            onus,
            wall: stats(wall),
            cpu: stats(cpu),
            sim_cpu: stats(sim_cpu),
            requests,
            varbinds,
        })
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.skip_build {
        procs::build_release()?;
    }
    let bin = procs::bin_dir()?;
    let conf = tempfile::tempdir()?;
    std::fs::write(
        conf.path().join("snmp.conf"),
        format!("defVersion 2c\ndefCommunity {COMMUNITY}\n"),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let repeat = args.repeat.max(1);

    let (sim, addrs) = start_olt_sim(&bin, 1, args.ports, args.onus_per_port)?;
    let sim_walk = walk_bench(
        &rt,
        conf.path(),
        "olt-sim (Huawei, 2,048 ONUs)",
        addrs[0],
        HW_ONU_TABLES,
        repeat,
    )?;
    drop(sim);
    let (snmpd, snmpd_addr) = start_snmpd(conf.path())?;
    std::thread::sleep(Duration::from_millis(500));
    let snmpd_walk = walk_bench(
        &rt,
        conf.path(),
        "Debian snmpd 5.9 (MIB-2)",
        snmpd_addr,
        "1.3.6.1.2.1",
        repeat,
    )?;
    drop(snmpd);

    let (sim, addrs) = start_olt_sim(&bin, args.olts, args.ports, args.onus_per_port)?;
    let fleet = fleet_bench(&addrs, sim.0.id(), repeat)?;
    drop(sim);

    let mut md = String::new();
    md.push_str(&format!(
        "Machine: {} cores. Command: `cargo run -p fibreplane-benches --release --bin olt-load -- --repeat {repeat}{}`\n\n",
        std::thread::available_parallelism().map_or(0, usize::from),
        if args.write_readme { " --write-readme" } else { "" }
    ));
    md.push_str("Median of the runs (min–max in parentheses), after one unmeasured warm-up round; the clients alternate in each round.\n\n");
    md.push_str("| Walk | Rows | Poller | snmpbulkwalk -Cr25 | snmpbulkwalk -Cr64 | Poller ÷ best net-snmp |\n|---|---|---|---|---|---|\n");
    for w in [&sim_walk, &snmpd_walk] {
        let best = w.net_snmp.iter().map(|(_, s)| s.0).fold(0.0, f64::max);
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2}× |\n",
            w.agent,
            w.rows,
            fmt_rate(w.poller),
            fmt_rate(w.net_snmp[0].1),
            fmt_rate(w.net_snmp[1].1),
            w.poller.0 / best
        ));
    }
    md.push_str(&format!(
        "\n| Fleet cycle: {} OLTs × {} ONUs ({} ONUs, {} varbinds, {} requests) | Measured | Target |\n|---|---|---|\n",
        args.olts,
        args.ports * args.onus_per_port,
        fleet.onus,
        fleet.varbinds,
        fleet.requests
    ));
    md.push_str(&format!(
        "| Wall time per cycle | {:.2} ({:.2}–{:.2}) s | well under 60 s |\n",
        fleet.wall.0, fleet.wall.1, fleet.wall.2
    ));
    md.push_str(&format!(
        "| Poller CPU per cycle (user + sys, incl. redb history) | {:.2} ({:.2}–{:.2}) s = {:.2} core while polling, {:.3} core averaged over a 60 s cycle | ≤ 1 core |\n",
        fleet.cpu.0, fleet.cpu.1, fleet.cpu.2, fleet.cpu.0 / fleet.wall.0, fleet.cpu.0 / 60.0
    ));
    md.push_str(&format!(
        "| olt-sim CPU per cycle (the 50 agents) | {:.2} ({:.2}–{:.2}) s | — |\n",
        fleet.sim_cpu.0, fleet.sim_cpu.1, fleet.sim_cpu.2
    ));
    println!("{md}");
    if args.write_readme {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let text = std::fs::read_to_string(&path)?;
        let (start, end) = ("<!-- olt-load:start -->\n", "<!-- olt-load:end -->");
        let (Some(a), Some(b)) = (text.find(start), text.find(end)) else {
            bail!("benches/README.md has no olt-load markers");
        };
        let new = format!("{}{start}{md}{}", &text[..a], &text[b..]);
        std::fs::write(&path, new)?;
    }
    Ok(())
}
