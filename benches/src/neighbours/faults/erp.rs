//! ERPNext down: erp-sim answers only errors for the outage while a customer's Wi-Fi name
//! changes there. The provisioner must count the errors and keep everything else working, then,
//! once ERPNext is back, push the change to the CPE and write the outcome back (nothing lost).

use super::super::{Fault, FaultReport};
use super::{Ctx, LIMIT, hold};
use crate::neighbours::probe::until_metrics;
use anyhow::{Context, bail};
use std::time::{Duration, Instant};

const DOCTYPE: &str = "Service Equipment";

pub(super) async fn run(ctx: &Ctx<'_>) -> anyhow::Result<FaultReport> {
    let (mut r, mark) = ctx.begin(Fault::ErpnextDown);
    let names: Vec<String> = [
        "fibreplane_provisioning_erp_up",
        "fibreplane_provisioning_erp_failures_total",
        "fibreplane_provisioning_erp_requests_total",
        "fibreplane_provisioning_outbox",
    ]
    .map(str::to_owned)
    .to_vec();
    let erp = &ctx.lab.peers.erp;
    // The last CPE's equipment (`EQP-#####` is numbered from 1).
    let i = ctx.lab.fleet.len() - 1;
    let equipment = format!("EQP-{:05}", i + 1);
    let device = ctx.lab.fleet.device_id(i);
    let doc = erp
        .get(DOCTYPE, &equipment)
        .with_context(|| format!("{equipment} in erp-sim"))?;
    if doc["custom_provisioning_status"] != "provisioned" {
        bail!("{equipment} was not provisioned before the fault: {doc:?}");
    }
    let provisioned_on = doc["custom_provisioned_on"].clone();
    let before = ctx.read(&names).await?;
    erp.set_down(true);
    let t0 = Instant::now();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let ssid = format!("Neighbours-{nonce:09}");
    let mut change = serde_json::Map::new();
    change.insert("custom_wifi_ssid".into(), ssid.clone().into());
    erp.update(DOCTYPE, &equipment, &change)
        .context("changing the SSID in erp-sim")?;
    r.detected_after = until_metrics(&ctx.http, ctx.outage.max(LIMIT), |m| {
        m.get("fibreplane_provisioning_erp_up") == Some(0.0)
    })
    .await?;
    let during = ctx.read(&names).await?;
    hold(t0, ctx.outage).await;
    // Nothing of the change can have reached the CPE while ERPNext was down.
    let early = has_ssid(ctx, &device, &ssid).await?;
    erp.set_down(false);
    let t1 = Instant::now();
    let (mut applied, mut written) = (None, None);
    while t1.elapsed() < LIMIT * 2 && (applied.is_none() || written.is_none()) {
        if applied.is_none() && has_ssid(ctx, &device, &ssid).await? {
            applied = Some(t1.elapsed());
        }
        if written.is_none()
            && let Some(d) = erp.get(DOCTYPE, &equipment)
            && d["custom_provisioning_status"] == "provisioned"
            && d["custom_provisioned_on"] != provisioned_on
        {
            written = Some(t1.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = until_metrics(&ctx.http, LIMIT, |m| {
        m.get("fibreplane_provisioning_erp_up") == Some(1.0)
            && m.get("fibreplane_provisioning_outbox") == Some(0.0)
    })
    .await?;
    r.recovered_after = match (applied, written, drained) {
        (Some(a), Some(w), Some(_)) => Some(a.max(w)),
        _ => None,
    };
    let secs = |d: Option<Duration>| d.map(|d| format!("{:.1} s", d.as_secs_f64()));
    r.notes.push(format!(
        "after ERPNext was back: the new SSID on the CPE after {:?}, written back after {:?}",
        secs(applied),
        secs(written)
    ));
    if early {
        r.notes
            .push("the new SSID reached the CPE while ERPNext was down (unexpected)".into());
    }
    if applied.is_none() {
        r.lost.push(format!(
            "the SSID change of {equipment} never reached its CPE"
        ));
    }
    if written.is_none() {
        r.lost
            .push(format!("the outcome of {equipment} was never written back"));
    }
    if drained.is_none() {
        r.lost.push("the provisioner's outbox did not drain".into());
    }
    let after = ctx.read(&names).await?;
    ctx.end(
        &mut r,
        mark,
        &["ERPNext poll failed"],
        &names,
        [before, during, after],
    );
    Ok(r)
}

/// Whether the NBI's document of `device` holds the SSID (the ACS stores what the CPE accepted).
async fn has_ssid(ctx: &Ctx<'_>, device: &str, ssid: &str) -> anyhow::Result<bool> {
    let doc = ctx
        .http
        .nbi_device(device, Some("Device.WiFi.SSID"))
        .await?;
    Ok(doc.to_string().contains(ssid))
}
