//! Chromium killed mid-read: a modem read through the hub is in flight on the browser path when
//! the browser process (a child of `fibreplane`) gets SIGKILL. The read must end with a clean
//! error, the next read must succeed on a relaunched browser, and the metrics must count both.

use super::super::{Fault, FaultReport};
use super::{Ctx, LIMIT};
use crate::neighbours::ptree;
use anyhow::{Context, bail};
use std::time::{Duration, Instant};

pub(super) async fn run(ctx: &Ctx<'_>) -> anyhow::Result<FaultReport> {
    let (mut r, mark) = ctx.begin(Fault::ChromiumKilled);
    let names: Vec<String> = [
        "fibreplane_bridge_reads_total",
        "fibreplane_bridge_failures_total",
        "fibreplane_bridge_browser_launches_total",
    ]
    .map(str::to_owned)
    .to_vec();
    let modem = ctx.lab.modem.clone();
    let path = format!("/modem/{modem}/diagnostics");
    // A first read launches the browser; a second says how long a warm read takes.
    let (status, _) = read(ctx, &path).await?;
    if status != 200 {
        bail!("the first modem read answered {status}");
    }
    let (status, took) = read(ctx, &path).await?;
    if status != 200 {
        bail!("a warm modem read answered {status}");
    }
    let before = ctx.read(&names).await?;
    let parent = ctx.lab.child.0.id();
    let browser = ptree::browser_of(parent).context("no Chromium child of fibreplane")?;
    let http = ctx.http.clone();
    let p = path.clone();
    let started = Instant::now();
    let in_flight = tokio::spawn(async move {
        let out = http.hub(&p).await;
        (out, Instant::now())
    });
    // Into the read: the login and the page's calls take most of a warm read.
    tokio::time::sleep(took / 3).await;
    let was_in_flight = !in_flight.is_finished();
    ptree::signal(browser, "KILL")?;
    let t0 = Instant::now();
    let (out, ended) = in_flight.await?;
    let status = match out {
        Ok((s, body)) => {
            r.notes.push(format!(
                "the read in flight ended {:.2} s after the kill with HTTP {s}: {}",
                ended.duration_since(t0).as_secs_f64(),
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(160)
                    .collect::<String>()
            ));
            s
        }
        Err(e) => {
            r.notes
                .push(format!("the read in flight failed in transport: {e:#}"));
            0
        }
    };
    r.notes.push(format!(
        "a warm read took {:.2} s; the browser was killed {:.2} s into the next (in flight: {was_in_flight})",
        took.as_secs_f64(),
        t0.duration_since(started).as_secs_f64()
    ));
    if !was_in_flight {
        r.notes
            .push("the read had already ended when the browser was killed".into());
    }
    // Detected: the read failed cleanly (an error status, not a hang past the read budget).
    if (400..600).contains(&status) {
        r.detected_after = Some(ended.duration_since(t0));
    }
    let during = ctx.read(&names).await?;
    // The next read relaunches the browser by itself.
    let t1 = Instant::now();
    let mut next = None;
    while t1.elapsed() < LIMIT {
        let (s, _) = read(ctx, &path).await?;
        if s == 200 {
            next = Some(t1.elapsed());
            break;
        }
        // 409: the modem still holds the killed browser's web session, and the bridge never
        // logs in over an open session; it ends only with the modem's idle expiry (minutes).
        if s == 409 && t1.elapsed() > Duration::from_secs(5) {
            r.notes.push(format!(
                "reads after the kill answered 409 for {:.1} s: the modem keeps the killed \
                 browser's web session open until its idle expiry, and the bridge does not log in \
                 over it; gave up waiting",
                t1.elapsed().as_secs_f64()
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    r.recovered_after = next;
    match ptree::browser_of(parent) {
        Some(pid) if pid != browser => {}
        Some(_) => r
            .lost
            .push("the killed browser is still the browser".into()),
        None => r.lost.push("no browser runs after the next read".into()),
    }
    let after = ctx.read(&names).await?;
    ctx.end(
        &mut r,
        mark,
        &[
            "diagnostics read failed",
            "browser died; relaunching",
            "browser launched",
        ],
        &names,
        [before, during, after],
    );
    Ok(r)
}

/// One read through the hub: its status and how long it took.
async fn read(ctx: &Ctx<'_>, path: &str) -> anyhow::Result<(u16, Duration)> {
    let t = Instant::now();
    let (s, _) = ctx.http.hub(path).await?;
    Ok((s, t.elapsed()))
}
