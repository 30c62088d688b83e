//! Chromium killed mid-read: a modem read through the hub is in flight on the browser path when
//! the browser process (a child of `fibreplane`) gets SIGKILL. The read must end with a clean
//! error at once (not when its budget runs out), the next read must succeed on a relaunched
//! browser (taking over the web session the killed browser left open on the modem), and the
//! metrics must count all of it.

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
        "fibreplane_bridge_sessions_left_open_total",
        "fibreplane_bridge_sessions_taken_over_total",
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
    let mut refused = Vec::new();
    while t1.elapsed() < LIMIT {
        let (s, _) = read(ctx, &path).await?;
        if s == 200 {
            next = Some(t1.elapsed());
            break;
        }
        refused.push(s);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if !refused.is_empty() {
        // 409 would be the modem still holding the killed browser's web session.
        r.notes.push(format!(
            "reads after the kill answered {refused:?} before one succeeded"
        ));
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
    let mut expected = vec![
        "diagnostics read failed",
        "browser died; relaunching",
        "browser launched",
    ];
    // A kill before the page sent its login leaves no session on the modem. One after it may
    // (the login may or may not have reached the modem): the bridge records that, and the next
    // read takes the session over if the modem really holds it.
    let grew =
        |i: usize, a: &[Option<f64>], b: &[Option<f64>]| a[i].zip(b[i]).is_some_and(|(a, b)| a > b);
    let left_open = grew(3, &during, &before);
    let taken_over = grew(4, &after, &during);
    r.notes.push(format!(
        "the kill came {} the login was sent{}",
        if left_open { "after" } else { "before" },
        match (left_open, taken_over) {
            (true, true) => "; the next read took the session over",
            (true, false) => "; the modem held no session to take over",
            _ => "",
        }
    ));
    if left_open {
        expected.push("left the modem's web session open");
    }
    if taken_over {
        expected.push("taking over the web session");
    }
    ctx.end(&mut r, mark, &expected, &names, [before, during, after]);
    Ok(r)
}

/// One read through the hub: its status and how long it took.
async fn read(ctx: &Ctx<'_>, path: &str) -> anyhow::Result<(u16, Duration)> {
    let t = Instant::now();
    let (s, _) = ctx.http.hub(path).await?;
    Ok((s, t.elapsed()))
}
