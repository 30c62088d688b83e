//! `incident-load`: the outage correlator's benchmark.
//!
//! 1. **Detection latency**: olt-sim (in process, a 16-port × 32-ONU Huawei OLT) polled by
//!    `OltFleet` on its schedule, its events fed to `IncidentService` with the default
//!    correlator configuration. Each round cuts one port's fibre at a different point of the poll
//!    cycle and times the `Opened` incident event (a) from the first poller event of the poll
//!    that saw the cut and (b) from the cut itself (which adds the wait for the next poll).
//! 2. **Correlator throughput**: the sans-IO correlator alone, fed a synthetic fleet of 50 OLTs ×
//!    2,048 ONUs poll burst by poll burst in virtual time, for a mixed day of outages and for a
//!    fleet-wide power outage. Events/s = poller events ÷ wall time, evaluations included.
//!
//! Prints a Markdown table; with `--write-readme` replaces the incident-load section of
//! benches/README.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use fibreplane_lab::olt::{self, OltSimConfig, SimVendor};
use incidents::{
    Correlator, CorrelatorConfig, IncidentEvent, IncidentKind, IncidentService, NoDirectory,
    PortTotal, PortTotals, ServiceConfig, Timestamp,
};
use olt_poller::{
    Credentials, DownCause, EventKind, FleetConfig, OltConfig, OltFleet, OltId, OltTime, OnuKey,
    PollerEvent, PonPort, Secret, SnmpTarget, VendorChoice,
};
use tokio::sync::broadcast;

const COMMUNITY: &str = "bench-community";

#[derive(Debug, Parser)]
#[command(name = "incident-load", about = "Outage correlator benchmark")]
struct Args {
    /// Fibre cuts timed (one port each).
    #[arg(long, default_value_t = 12)]
    rounds: u32,
    /// The poll interval of the simulated OLT, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// OLTs in the synthetic fleet.
    #[arg(long, default_value_t = 50)]
    olts: u32,
    /// PON ports per synthetic OLT.
    #[arg(long, default_value_t = 64)]
    ports: u32,
    /// ONUs per synthetic port.
    #[arg(long, default_value_t = 32)]
    onus_per_port: u32,
    /// Throughput runs per scenario (the median is reported, with the range).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Replace the incident-load section of benches/README.md with the results.
    #[arg(long)]
    write_readme: bool,
}

/// Median and range.
fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

struct Latency {
    after_poll: Vec<f64>,
    after_cut: Vec<f64>,
}

async fn next_matching<T: Clone>(
    rx: &mut broadcast::Receiver<T>,
    pred: impl Fn(&T) -> bool,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => bail!("no matching event within 30 s"),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => bail!("channel: {e}"),
            Ok(Ok(ev)) if pred(&ev) => return Ok(ev),
            Ok(Ok(_)) => {}
        }
    }
}

async fn latency(args: &Args) -> anyhow::Result<Latency> {
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let sim_config = OltSimConfig {
        vendor: SimVendor::Huawei,
        ports: 16,
        onus_per_port: 32,
        seed: 3,
        community: Some(COMMUNITY.into()),
        ..OltSimConfig::default()
    };
    let sim = olt::start(socket, &sim_config, stop_rx)?;
    let mut fleet = OltFleet::new(FleetConfig::default(), None);
    let mut poller_rx = fleet.subscribe();
    let service = IncidentService::spawn(
        ServiceConfig::default(),
        Arc::new(NoDirectory),
        Some(fleet.subscribe()),
    )?;
    let mut incidents = service.subscribe();
    let id = OltId::new("bench-olt")?;
    let interval = Duration::from_millis(args.interval_ms);
    fleet.add(OltConfig {
        id: id.clone(),
        target: SnmpTarget {
            addr: sim.addr(),
            credentials: Credentials::V2c {
                community: Secret::new(COMMUNITY),
            },
            timeout: Duration::from_secs(1),
            retries: 2,
        },
        vendor: VendorChoice::parse("huawei")?,
        firmware: None,
        interval,
    })?;
    let snap = loop {
        if let Some(s) = fleet.latest(&id) {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    service.observe_snapshot(&snap);
    let rounds = args.rounds.min(16);
    let mut out = Latency {
        after_poll: Vec::new(),
        after_cut: Vec::new(),
    };
    for round in 0..rounds {
        // Spread the cuts over the poll cycle.
        let offset = interval.mul_f64(f64::from(round) / f64::from(rounds.max(1)));
        tokio::time::sleep(interval + offset).await;
        while poller_rx.try_recv().is_ok() {}
        let port_no = olt::slot_port(SimVendor::Huawei, round).1;
        let cut_at = Instant::now();
        let cut = sim.change(|n| n.cut_port(round));
        let seen = next_matching(&mut poller_rx, |e: &PollerEvent| {
            matches!(e.kind, EventKind::OnuOffline { .. })
                && e.port.is_some_and(|p| p.port == port_no)
        })
        .await?;
        let seen_at = Instant::now();
        let opened = next_matching(&mut incidents, |e: &IncidentEvent| {
            matches!(e, IncidentEvent::Opened { .. })
                && e.incident().kind == IncidentKind::FibreCut
                && e.incident().ports.iter().any(|p| p.port.port == port_no)
        })
        .await?;
        let open_at = Instant::now();
        let inc = opened.incident();
        if inc.onus.len() != cut {
            bail!("incident lists {} ONUs, {cut} were cut", inc.onus.len());
        }
        eprintln!(
            "incident-load: round {round}: port {} ({} ONUs, first event {:?}) opened {:.1} ms after the poll, {:.1} ms after the cut",
            seen.port.context("port")?,
            cut,
            seen.serial,
            (open_at - seen_at).as_secs_f64() * 1e3,
            (open_at - cut_at).as_secs_f64() * 1e3
        );
        out.after_poll.push((open_at - seen_at).as_secs_f64() * 1e3);
        out.after_cut.push((open_at - cut_at).as_secs_f64() * 1e3);
        sim.change(|n| n.restore(Some(round)));
    }
    service.shutdown().await;
    fleet.shutdown().await;
    Ok(out)
}

/// One poll burst of synthetic events, and the virtual time it arrives.
type Burst = Vec<PollerEvent>;

struct Fleet {
    olts: Vec<OltId>,
    ports: u32,
    onus: u32,
}

impl Fleet {
    fn key(&self, port: u32, onu: u32) -> (OnuKey, PonPort) {
        let p = PonPort {
            frame: 0,
            slot: 1 + port / 16,
            port: port % 16,
        };
        let if_index = (125 << 25) | (p.slot << 13) | (p.port << 8);
        (
            OnuKey {
                if_index,
                onu_id: onu,
            },
            p,
        )
    }

    fn event(&self, olt: usize, port: u32, onu: u32, kind: EventKind) -> PollerEvent {
        let (key, p) = self.key(port, onu);
        PollerEvent {
            olt: self.olts[olt].clone(),
            onu: Some(key),
            port: Some(p),
            serial: Some(format!(
                "FPSIM{:08}",
                (olt as u32 * self.ports + port) * self.onus + onu
            )),
            kind,
        }
    }

    fn totals(&self, olt: usize) -> PortTotals {
        PortTotals {
            olt: self.olts[olt].clone(),
            ports: (0..self.ports)
                .map(|p| PortTotal {
                    port: self.key(p, 0).1,
                    name: None,
                    onus: self.onus,
                })
                .collect(),
        }
    }

    /// Per OLT, one burst down and one burst back up, for the ONUs `pick` chooses.
    fn bursts(&self, pick: impl Fn(u32, u32) -> Option<DownCause>) -> (Vec<Burst>, Vec<Burst>) {
        let (mut down, mut up) = (Vec::new(), Vec::new());
        for olt in 0..self.olts.len() {
            let (mut d, mut u) = (Vec::new(), Vec::new());
            for port in 0..self.ports {
                for onu in 0..self.onus {
                    let Some(cause) = pick(port, onu) else {
                        continue;
                    };
                    let at = Some(OltTime(format!("2026-11-22T10:15:{:02}", onu % 3)));
                    d.push(self.event(olt, port, onu, EventKind::OnuOffline { cause, at }));
                    u.push(self.event(olt, port, onu, EventKind::OnuOnline));
                }
            }
            down.push(d);
            up.push(u);
        }
        (down, up)
    }
}

struct Throughput {
    events: usize,
    opened: usize,
    rates: Vec<f64>,
}

/// Feeds the bursts as polls 1 s apart (virtual time), evaluating after each, then waits out
/// the single-ONU delay, brings everything back and waits out the quiet time.
fn throughput(fleet: &Fleet, down: &[Burst], up: &[Burst], repeat: usize) -> Throughput {
    let events = down.iter().chain(up).map(Vec::len).sum();
    let mut rates = Vec::new();
    let mut opened = 0;
    for _ in 0..repeat {
        let mut now = Timestamp::from_unix_ms(1_795_341_600_000);
        let mut c = Correlator::new(CorrelatorConfig::default(), Arc::new(NoDirectory), now);
        for i in 0..fleet.olts.len() {
            c.set_port_totals(now, fleet.totals(i));
        }
        let mut published = Vec::new();
        let t = Instant::now();
        let mut feed = |c: &mut Correlator, now: &mut Timestamp, bursts: &[Burst]| {
            for b in bursts {
                for ev in b {
                    c.handle_poller(*now, ev);
                }
                *now = now.plus(Duration::from_secs(1));
                c.handle_timeout(*now);
                while let Some(e) = c.poll_event() {
                    published.push(e);
                }
            }
            *now = now.plus(Duration::from_secs(600));
            c.handle_timeout(*now);
            while let Some(e) = c.poll_event() {
                published.push(e);
            }
        };
        feed(&mut c, &mut now, down);
        feed(&mut c, &mut now, up);
        rates.push(events as f64 / t.elapsed().as_secs_f64());
        opened = published.iter().filter(|e| e.name() == "opened").count();
        let resolved = published.iter().filter(|e| e.name() == "resolved").count();
        assert_eq!(opened, resolved, "every incident resolves");
    }
    Throughput {
        events,
        opened,
        rates,
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let lat = rt.block_on(latency(&args))?;
    let fleet = Fleet {
        olts: (0..args.olts)
            .map(|i| OltId::new(format!("olt{i:02}")))
            .collect::<Result<_, _>>()?,
        ports: args.ports,
        onus: args.onus_per_port,
    };
    // A bad day: per OLT, 4 ports cut, 4 branches of 8, dying gasps on 8 ports (16 each), 32
    // lone LOS ONUs, and a background of admin/reset causes that must not count.
    let (down, up) = fleet.bursts(|port, onu| match port {
        0..=3 => Some(DownCause::Los),
        4..=7 if onu < 8 => Some(DownCause::Los),
        8..=15 if onu < 16 => Some(DownCause::DyingGasp),
        16..=47 if onu == 0 => Some(DownCause::Los),
        48..=63 if onu % 8 == 1 => Some(DownCause::Reset),
        _ => None,
    });
    let mixed = throughput(&fleet, &down, &up, args.repeat);
    let (down, up) = fleet.bursts(|_, _| Some(DownCause::DyingGasp));
    let power = throughput(&fleet, &down, &up, args.repeat);

    let rounds = lat.after_cut.len();
    let (a, b) = (stats(lat.after_poll), stats(lat.after_cut));
    let (m, p) = (stats(mixed.rates), stats(power.rates));
    let total = args.olts * args.ports * args.onus_per_port;
    let mut md = format!(
        "Machine: 2 cores. Command: `cargo run -p fibreplane-benches --release --bin incident-load -- --rounds {} --interval-ms {} --repeat {}{}`\n\n",
        args.rounds,
        args.interval_ms,
        args.repeat,
        if args.write_readme {
            " --write-readme"
        } else {
            ""
        }
    );
    md.push_str(
        "Median (min–max in parentheses).\n\n| Figure | Measured | Target |\n|---|---|---|\n",
    );
    md.push_str(&format!(
        "| Fibre cut → `Opened`, after the poll that sees it ({} rounds, default config: 200 ms settle) | {:.0} ({:.0}–{:.0}) ms | ≤ 1 s |\n",
        rounds, a.0, a.1, a.2
    ));
    md.push_str(&format!(
        "| Fibre cut → `Opened`, from the cut (poll interval {} ms) | {:.0} ({:.0}–{:.0}) ms | — |\n",
        args.interval_ms, b.0, b.1, b.2
    ));
    md.push_str(&format!(
        "| Correlator throughput, mixed outages on {} OLTs × {} ONUs ({} events, {} incidents) | {:.0} ({:.0}–{:.0}) events/s | — |\n",
        args.olts, args.ports * args.onus_per_port, mixed.events, mixed.opened, m.0, m.1, m.2
    ));
    md.push_str(&format!(
        "| Correlator throughput, fleet-wide power outage ({total} ONUs down and back, {} events, {} incident) | {:.0} ({:.0}–{:.0}) events/s | — |\n",
        power.events, power.opened, p.0, p.1, p.2
    ));
    println!("{md}");
    if args.write_readme {
        fibreplane_benches::readme::replace_section("incident-load", &md)?;
    }
    Ok(())
}
