//! The four faults, injected one after another into the same running stack, each measured the
//! same way: metrics before, time until they show the fault, the outage, time until the
//! feature works again, metrics after, the fault's log lines, the other features' probes.

use super::probe::{self, Http, Metrics, SharedSeen, Tallies, lock, until_metrics};
use super::stack::{Lab, PREFIX};
use super::{Fault, FaultReport, MetricReading, NeighbourConfig, Prober};
use anyhow::{Context, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod chromium;
mod erp;

/// The most any step waits for the system to show something (detection, recovery).
const LIMIT: Duration = Duration::from_secs(60);

/// What every fault uses.
pub(super) struct Ctx<'a> {
    pub(super) lab: &'a Lab,
    pub(super) http: Http,
    pub(super) seen: SharedSeen,
    pub(super) tallies: Tallies,
    pub(super) outage: Duration,
}

impl Ctx<'_> {
    /// The named metrics now.
    pub(super) async fn read(&self, names: &[String]) -> anyhow::Result<Vec<Option<f64>>> {
        let m = self.http.metrics().await?;
        Ok(names.iter().map(|n| m.get(n)).collect())
    }

    /// Starts a fault's report: the log mark and fresh tallies.
    pub(super) fn begin(&self, fault: Fault) -> (FaultReport, u64) {
        probe::take(&self.tallies);
        let report = FaultReport {
            fault,
            detected_after: None,
            recovered_after: None,
            metrics: Vec::new(),
            log_lines: Vec::new(),
            missing_logs: Vec::new(),
            others: Default::default(),
            lost: Vec::new(),
            notes: Vec::new(),
        };
        (report, self.lab.log_mark())
    }

    /// Ends a fault's report: the other features' tallies, the log lines since `mark` that match
    /// `expected` (each pattern must appear), and the metric readings.
    pub(super) fn end(
        &self,
        r: &mut FaultReport,
        mark: u64,
        expected: &[&'static str],
        names: &[String],
        readings: [Vec<Option<f64>>; 3],
    ) {
        let mut others = probe::take(&self.tallies);
        others.remove(r.fault.feature());
        r.others = others;
        let log = self.lab.log_since(mark);
        for pattern in expected {
            let lines: Vec<&str> = log.lines().filter(|l| l.contains(pattern)).collect();
            if lines.is_empty() {
                r.missing_logs.push(pattern);
            }
            // A few of each: a retrying component may log the same line many times.
            r.log_lines
                .extend(lines.iter().take(3).map(|l| l.trim().to_owned()));
        }
        let [before, during, after] = readings;
        for (i, name) in names.iter().enumerate() {
            r.metrics.push(MetricReading {
                name: name.clone(),
                before: before.get(i).copied().flatten(),
                during: during.get(i).copied().flatten(),
                after: after.get(i).copied().flatten(),
            });
        }
    }
}

/// Sleeps until `outage` has passed since `t0`.
pub(super) async fn hold(t0: Instant, outage: Duration) {
    tokio::time::sleep(outage.saturating_sub(t0.elapsed())).await;
}

/// Runs every fault in order; the prober runs throughout.
pub(super) async fn all(lab: &Lab, cfg: &NeighbourConfig) -> anyhow::Result<Vec<FaultReport>> {
    let http = Http::new(lab.hub, lab.nbi, &lab.secrets.hub_token)?;
    let seen = SharedSeen::default();
    probe::watch_sse(lab.hub, lab.secrets.hub_token.clone(), Arc::clone(&seen)).await?;
    let mqtt = probe::watch_mqtt(lab.broker.port, Arc::clone(&seen));
    let tallies = Tallies::default();
    let ctx = Ctx {
        lab,
        http: http.clone(),
        seen: Arc::clone(&seen),
        tallies: Arc::clone(&tallies),
        outage: cfg.outage,
    };
    settle(&ctx, &mqtt).await?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let prober = Prober {
        stop: Arc::clone(&stop),
        task: tokio::spawn(probe::probe_loop(
            http,
            Arc::clone(&lab.fleet),
            seen,
            tallies,
            stop,
            Duration::from_millis(500),
        )),
    };
    let mut out = Vec::new();
    let result = async {
        out.push(olt(&ctx).await.context("the OLT fault")?);
        out.push(chromium::run(&ctx).await.context("the Chromium fault")?);
        out.push(erp::run(&ctx).await.context("the ERPNext fault")?);
        out.push(mqtt_restart(&ctx, &mqtt).await.context("the MQTT fault")?);
        anyhow::Ok(())
    }
    .await;
    prober.stop().await;
    let _ = mqtt.try_disconnect();
    result.map(|()| out)
}

/// Waits until the system is healthy before the first fault: the OLT polled with every ONU
/// online, every equipment provisioned and written back, the hub and our subscriber on MQTT.
async fn settle(ctx: &Ctx<'_>, mqtt: &rumqttc::AsyncClient) -> anyhow::Result<()> {
    let olt = "fibreplane_olt_reachable{olt=\"olt-demo\"}";
    let ready = until_metrics(&ctx.http, LIMIT, |m| {
        m.get(olt) == Some(1.0)
            && m.get("fibreplane_mqtt_connected") == Some(1.0)
            && m.get("fibreplane_provisioning_erp_up") == Some(1.0)
    })
    .await?;
    if ready.is_none() {
        let m = ctx.http.metrics().await?;
        let log = ctx.lab.log_since(0);
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        bail!(
            "the stack did not become healthy within {LIMIT:?}: OLT {:?}, MQTT {:?}, ERPNext {:?}; \
             the log ends with:\n{}",
            m.get(olt),
            m.get("fibreplane_mqtt_connected"),
            m.get("fibreplane_provisioning_erp_up"),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let t0 = Instant::now();
    loop {
        let docs = ctx.lab.peers.erp.all("Service Equipment");
        if docs
            .iter()
            .all(|d| d["custom_provisioning_status"] == "provisioned")
        {
            break;
        }
        if t0.elapsed() > LIMIT * 2 {
            bail!("not every equipment was provisioned before the faults");
        }
        // Sessions apply the provisioner's presets.
        for i in 0..ctx.lab.fleet.len() {
            let _ = ctx.lab.fleet.inform(i, &["2 PERIODIC"]).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if pong_since(ctx, mqtt, Instant::now(), b"ready")
        .await
        .is_none()
    {
        bail!("the hub's MQTT subscription did not answer");
    }
    Ok(())
}

/// Pings the hub over MQTT until a pong arrives after `since`; the time it took.
async fn pong_since(
    ctx: &Ctx<'_>,
    mqtt: &rumqttc::AsyncClient,
    since: Instant,
    payload: &[u8],
) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < LIMIT {
        let _ = mqtt.try_publish(
            format!("{PREFIX}/hub/ping"),
            rumqttc::QoS::AtLeastOnce,
            false,
            payload.to_vec(),
        );
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if lock(&ctx.seen)
                .pongs
                .iter()
                .any(|(at, p)| *at > since && p == payload)
            {
                return Some(t0.elapsed());
            }
        }
    }
    None
}

/// The OLT stops answering: olt-sim drops every SNMP request for the outage.
async fn olt(ctx: &Ctx<'_>) -> anyhow::Result<FaultReport> {
    let (mut r, mark) = ctx.begin(Fault::OltSilent);
    let reachable = "fibreplane_olt_reachable{olt=\"olt-demo\"}".to_owned();
    let offline = "fibreplane_olt_onus_offline{olt=\"olt-demo\"}".to_owned();
    let onus = "fibreplane_olt_onus{olt=\"olt-demo\"}".to_owned();
    let names = vec![
        reachable.clone(),
        onus.clone(),
        offline.clone(),
        "fibreplane_olt_poll_timeouts{olt=\"olt-demo\"}".to_owned(),
        "fibreplane_incidents_open{kind=\"olt_unreachable\"}".to_owned(),
        "fibreplane_incidents_total{kind=\"olt_unreachable\",state=\"opened\"}".to_owned(),
    ];
    let before = ctx.read(&names).await?;
    // olt-sim's seeded plant has ONUs that are offline anyway: back means back to as before.
    let (onus_before, offline_before) = (before[1], before[2]);
    olt_faults(ctx, true).await?;
    let t0 = Instant::now();
    r.detected_after = until_metrics(&ctx.http, ctx.outage.max(LIMIT), |m| {
        m.get(&reachable) == Some(0.0)
    })
    .await?;
    let during = ctx.read(&names).await?;
    hold(t0, ctx.outage).await;
    olt_faults(ctx, false).await?;
    let t1 = Instant::now();
    r.recovered_after = until_metrics(&ctx.http, LIMIT, |m: &Metrics| {
        m.get(&reachable) == Some(1.0)
            && m.get(&offline) == offline_before
            && m.get(&onus) == onus_before
    })
    .await?;
    r.notes.push(format!(
        "the OLT answered again {:.1} s into a {:.0} s outage window",
        t1.duration_since(t0).as_secs_f64(),
        ctx.outage.as_secs_f64()
    ));
    let after = ctx.read(&names).await?;
    if after[1] != onus_before || after[2] != offline_before {
        r.lost.push(format!(
            "ONUs: {:?} before ({:?} offline), {:?} after ({:?} offline)",
            onus_before, offline_before, after[1], after[2]
        ));
    }
    ctx.end(
        &mut r,
        mark,
        &["OLT unreachable", "poll failed", "OLT reachable again"],
        &names,
        [before, during, after],
    );
    Ok(r)
}

/// Turns olt-sim's drop-everything fault on or off through its control API.
async fn olt_faults(ctx: &Ctx<'_>, drop_all: bool) -> anyhow::Result<()> {
    let resp = reqwest::Client::new()
        .post(format!("http://{}/faults", ctx.lab.peers.control_addr))
        .bearer_auth(&ctx.lab.peers.control_token)
        .body(serde_json::json!({ "agent": 0, "drop_all": drop_all }).to_string())
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("olt-sim control answered {}", resp.status());
    }
    Ok(())
}

/// The broker is killed, stays down for the outage, and starts again on the same port.
async fn mqtt_restart(ctx: &Ctx<'_>, mqtt: &rumqttc::AsyncClient) -> anyhow::Result<FaultReport> {
    let (mut r, mark) = ctx.begin(Fault::MqttRestart);
    let names: Vec<String> = [
        "fibreplane_mqtt_connected",
        "fibreplane_mqtt_connects_total",
        "fibreplane_mqtt_disconnects_total",
        "fibreplane_mqtt_sent_total",
        "fibreplane_mqtt_dropped_total",
    ]
    .map(str::to_owned)
    .to_vec();
    let before = ctx.read(&names).await?;
    let t0 = Instant::now();
    ctx.lab.broker.kill();
    r.detected_after = until_metrics(&ctx.http, LIMIT, |m| {
        m.get("fibreplane_mqtt_connected") == Some(0.0)
    })
    .await?;
    let during = ctx.read(&names).await?;
    hold(t0, ctx.outage).await;
    ctx.lab.broker.up()?;
    let t1 = Instant::now();
    r.recovered_after = until_metrics(&ctx.http, LIMIT, |m| {
        m.get("fibreplane_mqtt_connected") == Some(1.0)
    })
    .await?;
    match pong_since(ctx, mqtt, t1, b"after-restart").await {
        Some(_) => r.notes.push(format!(
            "the hub answered a ping {:.1} s after the broker was back (subscribed again)",
            t1.elapsed().as_secs_f64()
        )),
        None => r
            .lost
            .push("the hub never answered a ping after the restart".into()),
    }
    // Events published from now on must reach the MQTT subscriber: each one SSE sees.
    let t2 = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let t3 = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    {
        let seen = lock(&ctx.seen);
        let mqtt_keys: std::collections::HashSet<&String> =
            seen.mqtt.iter().map(|(_, k)| k).collect();
        let window: Vec<&String> = seen
            .sse
            .iter()
            .filter(|(at, _)| *at > t2 && *at <= t3)
            .map(|(_, k)| k)
            .collect();
        let missing = window.iter().filter(|k| !mqtt_keys.contains(**k)).count();
        if window.is_empty() {
            r.lost
                .push("no event was published after the restart".into());
        } else if missing > 0 {
            r.lost.push(format!(
                "{missing} of {} events published after the restart never reached MQTT",
                window.len()
            ));
        }
        let outage: Vec<&String> = seen
            .sse
            .iter()
            .filter(|(at, _)| *at > t0 && *at <= t1)
            .map(|(_, k)| k)
            .collect();
        let delivered = outage.iter().filter(|k| mqtt_keys.contains(**k)).count();
        r.notes.push(format!(
            "SSE received {} events while the broker was down (the stream stayed open: {}); \
             {} of them reached MQTT later, {} events after the restart all checked",
            outage.len(),
            !seen.sse_ended,
            delivered,
            window.len()
        ));
        if seen.sse_ended || outage.is_empty() {
            r.lost
                .push("SSE was interrupted during the broker's outage".into());
        }
    }
    let after = ctx.read(&names).await?;
    ctx.end(
        &mut r,
        mark,
        &["MQTT connection lost", "MQTT connected"],
        &names,
        [before, during, after],
    );
    Ok(r)
}
