//! The hostile scenario, phase by phase: capture SNMP and modem answers from the lab peers,
//! apply every generated input in process, send a sample over HTTP, let the real poller and
//! modem client meet hostile peers, probe oversized bodies, then slowloris.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::HostileConfig;
use super::corpus;
use super::inproc::{Appliers, LAST_PANIC_AT, Outcome, QuietPanics, SURFACES, Surface, fixed_aes};
use super::live::{self, LiveInput, Targets};
use super::modem::{self, HostileModem};
use super::mutate::{Format, OPS, mutate};
use super::oversize;
use super::report::{Finding, HostileReport, SurfaceCounts};
use super::servers::{self, AcsServer, KUMA_SECRET, NBI_TOKEN};
use super::slowloris;
use super::snmp::{self, HostileAgent};
use crate::rng::Rng;

/// One in this many inputs of each HTTP surface is also sent over the network.
const LIVE_ONE_IN: usize = 20;
/// Hostile modems (each emulator has one web session, so reads run side by side on several).
const MODEMS: usize = 8;
/// Most findings kept for the report.
const MAX_FINDINGS: usize = 20;

/// The valid seeds of every surface, with the content type Kuma seeds go with.
struct Seeds(Vec<Vec<(Vec<u8>, Option<&'static str>)>>);

impl Seeds {
    fn pool(&self, s: Surface) -> &[(Vec<u8>, Option<&'static str>)] {
        &self.0[SURFACES.iter().position(|x| *x == s).unwrap_or(0)]
    }
}

fn format(s: Surface) -> Format {
    match s {
        Surface::Cwmp => Format::Xml,
        Surface::Snmp => Format::Ber,
        Surface::Modem => Format::Text,
        _ => Format::Json,
    }
}

/// Input number `i`: its surface, bytes, mutations, variant and content type. A pure function
/// of the seed and `i`, so any input can be regenerated from the report.
struct Generated {
    surface: Surface,
    input: Vec<u8>,
    ops: Vec<super::mutate::Op>,
    variant: u64,
    content_type: Option<&'static str>,
}

fn generate(seeds: &Seeds, seed: u64, i: usize) -> Generated {
    let mut rng = Rng::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let surface = SURFACES[i % SURFACES.len()];
    let pool = seeds.pool(surface);
    let (base, content_type) = rng.pick(pool).clone();
    let other = &rng.pick(pool).0.clone();
    let (input, ops) = mutate(&mut rng, format(surface), &base, other);
    Generated {
        surface,
        input,
        ops,
        variant: rng.next_u64(),
        content_type,
    }
}

fn is_live(i: usize, s: Surface) -> bool {
    matches!(
        s,
        Surface::Cwmp | Surface::NbiQuery | Surface::NbiTask | Surface::Kuma
    ) && (i / SURFACES.len()).is_multiple_of(LIVE_ONE_IN)
}

/// Runs the whole scenario.
pub async fn run(cfg: &HostileConfig) -> anyhow::Result<HostileReport> {
    let mut report = HostileReport {
        seed: cfg.seed,
        surfaces: SURFACES
            .iter()
            .map(|s| (*s, SurfaceCounts::default()))
            .collect(),
        ..Default::default()
    };
    let sampler = RssSampler::start();
    report.rss_start = sampler.start;

    // Real peers' answers: the corpora of the SNMP and TP-Link surfaces.
    let agent = HostileAgent::start(cfg.seed).await?;
    let olt = agent.olt()?;
    let clean = snmp::poll_many(&olt, 2, Duration::from_secs(30)).await;
    anyhow::ensure!(
        clean.ok == 2,
        "olt-sim did not answer the clean polls: {clean:?}"
    );
    let modems = start_modems(cfg.seed).await?;
    let clean = modem::read_many(&modems[0], 1, Duration::from_secs(30)).await?;
    anyhow::ensure!(
        clean.ok == 1,
        "the XX230v emulator did not answer a clean read: {clean:?}"
    );
    let seeds = Arc::new(seeds(&agent, &modems[0])?);

    inproc_pass(cfg, &seeds, &mut report).await?;
    live_pass(cfg, &seeds, &mut report).await?;
    peers_pass(cfg, &agent, &modems, &mut report).await?;
    for m in modems {
        m.stop().await;
    }
    let h = header_timeout(cfg.slowloris);
    let (cpes, phase) = if cfg.slowloris >= 500 {
        (100, Duration::from_secs(10))
    } else {
        (20, Duration::from_secs(2))
    };
    report.slowloris = slowloris::run(cfg.slowloris, cpes, phase, h).await?;
    report.rss_peak = sampler.stop();
    Ok(report)
}

/// The ACS's production header timeout for a full run; a short one for the default test suite.
fn header_timeout(slow: usize) -> Duration {
    if slow >= 500 {
        acs::AcsConfig::default().header_timeout
    } else {
        Duration::from_secs(2)
    }
}

async fn start_modems(seed: u64) -> anyhow::Result<Vec<HostileModem>> {
    let mut out = Vec::new();
    for k in 0..MODEMS {
        out.push(HostileModem::start(seed.wrapping_add(k as u64)).await?);
    }
    Ok(out)
}

fn seeds(agent: &HostileAgent, modem: &HostileModem) -> anyhow::Result<Seeds> {
    let plain = |v: Vec<Vec<u8>>| v.into_iter().map(|b| (b, None)).collect::<Vec<_>>();
    let snmp_seeds = agent.captured.lock().map(|c| c.clone()).unwrap_or_default();
    anyhow::ensure!(
        !snmp_seeds.is_empty(),
        "no SNMP responses captured from olt-sim"
    );
    let mut modem_seeds = modem.captured.lock().map(|c| c.clone()).unwrap_or_default();
    anyhow::ensure!(
        !modem_seeds.is_empty(),
        "no answers captured from the XX230v emulator"
    );
    let aes = fixed_aes();
    for p in corpus::modem_plain() {
        modem_seeds.push(aes.seal(&p).data.into_bytes());
        modem_seeds.push(p);
    }
    let kuma = corpus::kuma()
        .into_iter()
        .map(|k| (k.body, k.content_type))
        .collect();
    Ok(Seeds(vec![
        plain(corpus::cwmp()),
        plain(corpus::nbi_queries()),
        plain(corpus::nbi_tasks()),
        kuma,
        plain(snmp_seeds),
        plain(modem_seeds),
    ]))
}

fn counts(report: &mut HostileReport, s: Surface) -> &mut SurfaceCounts {
    let i = SURFACES.iter().position(|x| *x == s).unwrap_or(0);
    &mut report.surfaces[i].1
}

fn note(report: &mut HostileReport, surface: Surface, what: String, input: String) {
    if report.findings.len() < MAX_FINDINGS {
        report.findings.push(Finding {
            surface: surface.name(),
            what,
            input,
        });
    }
}

/// Every input through the parser entry points, on a blocking thread.
async fn inproc_pass(
    cfg: &HostileConfig,
    seeds: &Arc<Seeds>,
    report: &mut HostileReport,
) -> anyhow::Result<()> {
    let (n, seed, seeds) = (cfg.inputs, cfg.seed, seeds.clone());
    let t0 = Instant::now();
    let (results, ops) = tokio::task::spawn_blocking(move || {
        let _quiet = QuietPanics::install();
        let appliers = Appliers::new();
        let mut results: Vec<(Surface, Outcome, usize)> = Vec::new();
        let mut per = vec![[0u64; 4]; SURFACES.len()];
        let mut ops = vec![0u64; OPS.len()];
        for i in 0..n {
            let g = generate(&seeds, seed, i);
            for op in &g.ops {
                ops[OPS.iter().position(|o| o == op).unwrap_or(0)] += 1;
            }
            let o = appliers.apply(g.surface, &g.input, g.variant);
            let k = SURFACES.iter().position(|x| *x == g.surface).unwrap_or(0);
            let slot = match &o {
                Outcome::Accepted => 0,
                Outcome::Refused => 1,
                Outcome::Invalid(_) => 2,
                Outcome::Panicked(_) => 3,
            };
            per[k][slot] += 1;
            if slot >= 2 && results.len() < MAX_FINDINGS {
                results.push((g.surface, o, i));
            }
        }
        ((per, results), ops)
    })
    .await
    .context("the in-process pass")?;
    report.inproc_secs = t0.elapsed().as_secs_f64();
    let (per, found) = results;
    for (k, (_, c)) in report.surfaces.iter_mut().enumerate() {
        let [acc, refused, invalid, panicked] = per[k];
        c.inputs += acc + refused + invalid + panicked;
        c.accepted += acc;
        c.refused += refused;
        c.invalid += invalid;
        c.panicked += panicked;
        report.panics += panicked;
        report.unclean += invalid;
    }
    let at = LAST_PANIC_AT.lock().map(|s| s.clone()).unwrap_or_default();
    for (s, o, i) in found {
        let what = match o {
            Outcome::Panicked(m) => format!("panic: {m} (last at {at})"),
            Outcome::Invalid(m) => format!("invalid value: {m}"),
            _ => continue,
        };
        note(report, s, what, format!("input #{i} of seed {}", cfg.seed));
    }
    report.mutations = OPS
        .iter()
        .zip(ops)
        .map(|(o, c)| (format!("{o:?}"), c))
        .collect();
    Ok(())
}

/// The sampled inputs over HTTP to the live ACS, NBI and Kuma router; then oversized bodies.
async fn live_pass(
    cfg: &HostileConfig,
    seeds: &Arc<Seeds>,
    report: &mut HostileReport,
) -> anyhow::Result<()> {
    let acs = AcsServer::start(servers::open_config()).await?;
    let (nbi, _nbi_stop) = servers::nbi(acs.acs.clone()).await?;
    let (kuma, _kuma_stop) = servers::kuma().await?;
    let t = Targets {
        acs: acs.addr,
        nbi,
        kuma,
    };
    live::register_device(&t).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<LiveInput>(64);
    let (n, seed, seeds) = (cfg.inputs, cfg.seed, seeds.clone());
    let producer = tokio::task::spawn_blocking(move || {
        for i in 0..n {
            let s = SURFACES[i % SURFACES.len()];
            if !is_live(i, s) {
                continue;
            }
            let g = generate(&seeds, seed, i);
            let li = LiveInput {
                surface: g.surface,
                input: g.input,
                content_type: g.content_type,
            };
            if tx.blocking_send(li).is_err() {
                break;
            }
        }
    });
    let results = live::send_all(t, rx).await;
    producer.await.context("the live producer")?;
    for r in results {
        let c = counts(report, r.surface);
        c.live += 1;
        if !r.reply.is_clean() {
            c.live_unclean += 1;
            report.unclean += 1;
            note(report, r.surface, format!("reply {:?}", r.reply), r.head);
        }
    }
    for f in live::still_serving(&t).await {
        report.unclean += 1;
        note(report, Surface::Cwmp, f, String::new());
    }
    // Oversized bodies: the production-shaped ACS (Digest: the small pre-authentication limit
    // applies), the NBI's task route and the webhook.
    let digest = AcsServer::start(servers::digest_config(
        Duration::from_secs(10),
        Duration::from_secs(60),
    ))
    .await?;
    let acs_limit = acs::AcsConfig::default().max_unauthenticated_body as u64;
    let nbi_auth = format!("Bearer {NBI_TOKEN}");
    let kuma_auth = format!("Bearer {KUMA_SECRET}");
    let task_path = format!("/devices/{}/tasks", live::device_id());
    report.oversize = vec![
        oversize::probe(
            "ACS 7547",
            digest.addr,
            "/",
            &[("Content-Type", "text/xml")],
            acs_limit,
        )
        .await,
        oversize::probe(
            "NBI task",
            nbi,
            &task_path,
            &[("Authorization", &nbi_auth)],
            1 << 20,
        )
        .await,
        oversize::probe(
            "Kuma webhook",
            kuma,
            "/webhook/kuma",
            &[
                ("Authorization", &kuma_auth),
                ("Content-Type", "application/json"),
            ],
            incidents::kuma::KumaLimits::default().max_body as u64,
        )
        .await,
    ];
    digest.stop().await;
    acs.stop().await;
    Ok(())
}

/// The real poller against the hostile SNMP agent and the real modem client against the
/// hostile modems, in numbers proportional to the run.
async fn peers_pass(
    cfg: &HostileConfig,
    agent: &HostileAgent,
    modems: &[HostileModem],
    report: &mut HostileReport,
) -> anyhow::Result<()> {
    let per_surface = (cfg.inputs / SURFACES.len()) as u64;
    let polls = (per_surface / 60).max(8);
    agent.set_mutation(2);
    let olt = agent.olt()?;
    let mut tasks = tokio::task::JoinSet::new();
    let workers = 16u64;
    for w in 0..workers {
        let n = polls / workers + u64::from(w < polls % workers);
        let olt = olt.clone();
        tasks.spawn(async move { snmp::poll_many(&olt, n, Duration::from_secs(60)).await });
    }
    let (mut ok, mut err, mut bad) = (0, 0, 0);
    while let Some(r) = tasks.join_next().await {
        let r = r.context("a poll worker")?;
        ok += r.ok;
        err += r.err;
        bad += r.hung + r.panicked;
        report.panics += r.panicked;
    }
    report.snmp_polls = (ok, err);
    let c = counts(report, Surface::Snmp);
    c.live += agent.stats.mutated.load(Ordering::Relaxed);
    c.live_unclean += bad;
    report.unclean += bad;
    if bad > 0 {
        note(
            report,
            Surface::Snmp,
            format!("{bad} polls hung or panicked"),
            String::new(),
        );
    }

    let reads = (per_surface / 40).max(4);
    let mut futs = Vec::new();
    for (k, m) in modems.iter().enumerate() {
        m.set_mutation(4);
        let n = reads / MODEMS as u64 + u64::from((k as u64) < reads % MODEMS as u64);
        futs.push(modem::read_many(m, n, Duration::from_secs(60)));
    }
    let results = futures_util::future::join_all(futs).await;
    let (mut ok, mut err, mut bad) = (0, 0, 0);
    for r in results {
        let r = r?;
        ok += r.ok;
        err += r.err;
        bad += r.hung + r.panicked;
        report.panics += r.panicked;
    }
    report.modem_reads = (ok, err);
    let mutated: u64 = modems
        .iter()
        .map(|m| m.stats.mutated.load(Ordering::Relaxed))
        .sum();
    let c = counts(report, Surface::Modem);
    c.live += mutated;
    c.live_unclean += bad;
    report.unclean += bad;
    if bad > 0 {
        note(
            report,
            Surface::Modem,
            format!("{bad} reads hung or panicked"),
            String::new(),
        );
    }
    Ok(())
}

/// Samples this process's resident memory every 50 ms on its own thread.
struct RssSampler {
    start: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    fn start() -> Self {
        let pid = std::process::id();
        let start = crate::procs::rss_bytes(pid).unwrap_or(0);
        let peak = Arc::new(AtomicU64::new(start));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Ok(rss) = crate::procs::rss_bytes(pid) {
                    p.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Self {
            start,
            peak,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}
