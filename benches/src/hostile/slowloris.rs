//! Slowloris against the production-shaped ACS (Digest) while a cpe-sim fleet runs periodic
//! sessions against it: the fleet's sessions/s and latency are measured first without, then
//! with the slow connections open, and the ACS must close every slow connection by its header
//! timeout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::servers::{AcsServer, CPE_SECRET, digest_config};

/// What the fleet did in one phase.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    /// Sessions that completed.
    pub sessions: u64,
    /// Sessions that failed.
    pub failed: u64,
    /// Completed sessions per second.
    pub per_s: f64,
    /// Median session latency.
    pub p50_ms: f64,
    /// 99th percentile session latency.
    pub p99_ms: f64,
}

/// The slowloris figures.
#[derive(Debug, Clone, Default)]
pub struct SlowlorisReport {
    /// Slow connections attempted.
    pub connections: usize,
    /// Slow connections the ACS accepted.
    pub opened: usize,
    /// Slow connections the ACS closed itself.
    pub closed_by_server: usize,
    /// Seconds from connect to the server's close: median and maximum.
    pub close_p50_s: f64,
    /// Maximum of the same.
    pub close_max_s: f64,
    /// The ACS's header timeout in this run.
    pub header_timeout_s: f64,
    /// The fleet without slowloris.
    pub baseline: Phase,
    /// The same fleet with the slow connections open.
    pub attacked: Phase,
    /// CPEs in the fleet.
    pub cpes: usize,
}

/// Runs the scenario: `slow` connections, `cpes` CPEs, `phase` seconds per phase.
pub(crate) async fn run(
    slow: usize,
    cpes: usize,
    phase: Duration,
    header_timeout: Duration,
) -> anyhow::Result<SlowlorisReport> {
    super::ensure_nofile(slow as u64 * 2 + cpes as u64 * 4 + 1024)?;
    let acs = AcsServer::start(digest_config(header_timeout, header_timeout * 3)).await?;
    let fleet = Fleet::start(SimConfig {
        acs_url: format!("http://{}/", acs.addr),
        count: cpes,
        auth: CpeAuth::Digest(Credential::Secret(CPE_SECRET.into())),
        concurrency: cpes,
        session_timeout: Duration::from_secs(30),
        stagger: Duration::from_millis(10),
        ..SimConfig::default()
    })
    .await?;
    // First contact (bootstrap) of every CPE, not measured.
    let _ = sessions(&fleet, cpes, Duration::ZERO, &[]).await;
    let baseline = sessions(&fleet, cpes, phase, &["2 PERIODIC"]).await;

    let started = Instant::now();
    let stop_after = header_timeout * 4 + phase + Duration::from_secs(5);
    let mut slow_tasks = tokio::task::JoinSet::new();
    for i in 0..slow {
        let addr = acs.addr;
        slow_tasks.spawn(async move { slow_connection(addr, i % 2 == 0, stop_after).await });
    }
    let attacked = sessions(&fleet, cpes, phase, &["2 PERIODIC"]).await;
    let mut report = SlowlorisReport {
        connections: slow,
        header_timeout_s: header_timeout.as_secs_f64(),
        cpes,
        baseline,
        attacked,
        ..Default::default()
    };
    let mut closes = Vec::new();
    while let Some(r) = slow_tasks.join_next().await {
        match r {
            Ok(SlowEnd::Closed(after)) => {
                report.opened += 1;
                report.closed_by_server += 1;
                closes.push(after.as_secs_f64());
            }
            Ok(SlowEnd::StillOpen) => report.opened += 1,
            Ok(SlowEnd::Refused) | Err(_) => {}
        }
    }
    closes.sort_by(f64::total_cmp);
    report.close_p50_s = closes.get(closes.len() / 2).copied().unwrap_or(0.0);
    report.close_max_s = closes.last().copied().unwrap_or(0.0);
    tracing::debug!(elapsed = ?started.elapsed(), "slowloris done");
    fleet.shutdown().await;
    acs.stop().await;
    Ok(report)
}

/// How a slow connection ended.
enum SlowEnd {
    /// The server closed it after this long.
    Closed(Duration),
    /// Still open when the scenario gave up on it.
    StillOpen,
    /// Never connected.
    Refused,
}

/// One slow client: a request line and the start of the headers, then either one byte every
/// 200 ms (`dribble`) or nothing at all, until the server closes the connection.
async fn slow_connection(addr: SocketAddr, dribble: bool, give_up: Duration) -> SlowEnd {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return SlowEnd::Refused;
    };
    let t0 = Instant::now();
    if s.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n")
        .await
        .is_err()
    {
        return SlowEnd::Closed(t0.elapsed());
    }
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let header = b"X-Slow: ";
    let mut sent = 0usize;
    let mut buf = [0u8; 512];
    let deadline = tokio::time::sleep(give_up);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                // Any answer (a 408 or nothing) followed by close ends it.
                Ok(0) | Err(_) => return SlowEnd::Closed(t0.elapsed()),
                Ok(_) => {}
            },
            _ = tick.tick(), if dribble => {
                let b = header.get(sent).copied().unwrap_or(b'a');
                sent += 1;
                if s.write_all(&[b]).await.is_err() {
                    return SlowEnd::Closed(t0.elapsed());
                }
            }
            () = &mut deadline => return SlowEnd::StillOpen,
        }
    }
}

/// Runs rounds of one session per CPE for `phase` (at least one round), all CPEs at once.
async fn sessions(fleet: &Fleet, cpes: usize, phase: Duration, events: &[&str]) -> Phase {
    let t0 = Instant::now();
    let mut lat = Vec::new();
    let mut failed = 0u64;
    loop {
        let round = futures_round(fleet, cpes, events).await;
        for r in round {
            match r {
                Some(ms) => lat.push(ms),
                None => failed += 1,
            }
        }
        if t0.elapsed() >= phase {
            break;
        }
    }
    let elapsed = t0.elapsed().as_secs_f64().max(1e-9);
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Phase {
        sessions: lat.len() as u64,
        failed,
        per_s: lat.len() as f64 / elapsed,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
    }
}

async fn futures_round(fleet: &Fleet, cpes: usize, events: &[&str]) -> Vec<Option<f64>> {
    let runs = (0..cpes).map(|i| async move {
        let t = Instant::now();
        match fleet.inform(i, events).await {
            Ok(r) if r.ended_204 => Some(t.elapsed().as_secs_f64() * 1000.0),
            _ => None,
        }
    });
    futures_util::future::join_all(runs).await
}
