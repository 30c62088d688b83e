//! The `/metrics` scrape: every component's metrics through one prometheus-client registry,
//! rendered in the Prometheus text format 0.0.4 by the library (help texts, label escaping,
//! histogram series), never by hand.
//!
//! A registry is built per scrape. Components register their live counters and histograms
//! (cheap handles onto the same atomics: the ACS, the OLT fleet, the provisioner, the hub API);
//! what is read at scrape time (store size, OLT snapshots, the incident service's and the event
//! bus's counters, the modem bridge's) is added as constants.

use crate::app::{Hub, HubMetrics, ModemAccess};
use crate::events::EventStats;
use incidents::IncidentMetrics;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::{Registry, Unit};
use std::sync::atomic::{AtomicU64, Ordering};

/// The `Content-Type` of the scrape.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// One label with a value known only at run time (an OLT's name).
type Named = [(&'static str, String); 1];

/// Every component's metrics in the Prometheus text format.
pub async fn render(hub: &Hub) -> Result<String, std::fmt::Error> {
    // A store that cannot count leaves the gauge out (an absent series, not a false 0) and is
    // reported by /healthz.
    let devices = hub
        .acs
        .store()
        .count()
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "store count failed; device gauge left out"))
        .ok();
    let profiles = hub
        .acs
        .store()
        .docs(acs::discovery::PROFILES)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "discovery profiles unreadable; left out"))
        .unwrap_or_default();
    let mut registry = Registry::default();
    acs(&mut registry, hub, devices);
    discovery(&mut registry, &profiles);
    hub.metrics.register(&mut registry);
    events(&mut registry, &hub.bus.stats);
    bridge(&mut registry, hub);
    olts(&mut registry, hub);
    if let Some(i) = &hub.incidents {
        incidents(&mut registry, &i.metrics());
    }
    if let Some(p) = &hub.provisioner {
        p.register_metrics(&mut registry);
    }
    let mut out = String::new();
    prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}

fn acs(registry: &mut Registry, hub: &Hub, devices: Option<u64>) {
    hub.acs.metrics.register(registry);
    registry.register(
        "fibreplane_acs_live_sessions",
        "CWMP sessions in progress",
        ConstGauge::new(hub.acs.live_sessions()),
    );
    if let Some(devices) = devices {
        registry.register(
            "fibreplane_acs_devices",
            "Devices in the store",
            ConstGauge::new(devices),
        );
    }
}

/// What discovery learnt per model (`OUI-ProductClass-SoftwareVersion`): the mode its devices
/// are discovered with (1 on that mode's series) and the failed attempts seen.
fn discovery(registry: &mut Registry, profiles: &[(String, Vec<u8>)]) {
    let mode = Family::<[(&'static str, String); 2], Gauge>::default();
    let failures = Family::<Named, Gauge>::default();
    for (model, body) in profiles {
        let Some(p) = acs::discovery::parse_profile(body) else {
            continue;
        };
        mode.get_or_create(&[("model", model.clone()), ("mode", p.mode.name().to_owned())])
            .set(1);
        failures
            .get_or_create(&[("model", model.clone())])
            .set(i64::from(p.failures));
    }
    registry.register(
        "fibreplane_acs_discovery_mode",
        "The tree discovery mode each model's devices start with (fast, leaves, walk)",
        mode,
    );
    registry.register(
        "fibreplane_acs_discovery_failures",
        "Failed tree discovery attempts seen on each model's devices",
        failures,
    );
}

impl HubMetrics {
    /// Registers the hub API's live counters.
    pub fn register(&self, registry: &mut Registry) {
        for (name, help, counter) in [
            (
                "fibreplane_hub_requests",
                "Hub API requests answered",
                &self.requests,
            ),
            (
                "fibreplane_hub_refused",
                "Hub API requests refused for authentication (401) or scope (403)",
                &self.refused,
            ),
            (
                "fibreplane_hub_diagnostics",
                "Diagnostics run through the hub API",
                &self.diagnostics,
            ),
            (
                "fibreplane_hub_diagnostics_failed",
                "Diagnostics through the hub API that failed or returned no results",
                &self.diagnostics_failed,
            ),
            (
                "fibreplane_hub_summaries",
                "Device summaries served",
                &self.summaries,
            ),
            (
                "fibreplane_bridge_reads",
                "Modem reads through the modem bridge",
                &self.bridge_reads,
            ),
            (
                "fibreplane_bridge_failures",
                "Modem reads through the modem bridge that failed",
                &self.bridge_failures,
            ),
        ] {
            registry.register(name, help, Counter::clone(counter));
        }
    }
}

fn events(registry: &mut Registry, e: &EventStats) {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    for (name, help, v) in [
        (
            "fibreplane_events_published",
            "Events published on the hub's bus",
            &e.published,
        ),
        (
            "fibreplane_events_lagged",
            "Events that slow SSE or MQTT subscribers missed",
            &e.lagged,
        ),
        (
            "fibreplane_mqtt_sent",
            "Events sent to the MQTT broker",
            &e.mqtt_sent,
        ),
        (
            "fibreplane_mqtt_dropped",
            "Events not sent to MQTT (broker away or queue full)",
            &e.mqtt_dropped,
        ),
        (
            "fibreplane_mqtt_connects",
            "Connections to the MQTT broker",
            &e.mqtt_connects,
        ),
        (
            "fibreplane_mqtt_disconnects",
            "Connections to the MQTT broker lost",
            &e.mqtt_disconnects,
        ),
    ] {
        registry.register(name, help, ConstCounter::new(get(v)));
    }
    registry.register(
        "fibreplane_mqtt_connected",
        "Whether the hub is connected to the MQTT broker (0 also when none is configured)",
        ConstGauge::new(get(&e.mqtt_connected)),
    );
}

/// The in-process modem bridge's own counters (a remote bridge reports in its own process).
fn bridge(registry: &mut Registry, hub: &Hub) {
    let Some(ModemAccess::InProcess { state, .. }) = &hub.modem else {
        return;
    };
    let bridge = state.bridge();
    let s = bridge.session_stats();
    registry.register(
        "fibreplane_bridge_sessions_left_open",
        "Modem reads that ended with the modem's one web session still open (browser lost, \
         budget spent)",
        ConstCounter::new(s.left_open.load(Ordering::Relaxed)),
    );
    registry.register(
        "fibreplane_bridge_sessions_taken_over",
        "Logins that took over a web session an earlier read of the bridge had left open",
        ConstCounter::new(s.taken_over.load(Ordering::Relaxed)),
    );
    if let Some(pool) = bridge.chromium() {
        registry.register(
            "fibreplane_bridge_browser_launches",
            "Chromium launches of the in-process modem bridge (a relaunch follows a lost \
             browser)",
            ConstCounter::new(pool.launches()),
        );
    }
}

/// Per-OLT gauges from the latest snapshots, and the fleet's poll durations.
fn olts(registry: &mut Registry, hub: &Hub) {
    let reachable = Family::<Named, Gauge>::default();
    let onus = Family::<Named, Gauge>::default();
    let offline = Family::<Named, Gauge>::default();
    let requests = Family::<Named, Gauge>::default();
    let timeouts = Family::<Named, Gauge>::default();
    let polled_at = Family::<Named, Gauge<f64, AtomicU64>>::default();
    let int = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    for (id, up, snap) in hub.olt_views() {
        let olt = [("olt", id.as_str().to_owned())];
        reachable.get_or_create(&olt).set(i64::from(up));
        let snap = snap.as_deref();
        onus.get_or_create(&olt)
            .set(snap.map_or(0, |s| int(s.onus.len())));
        offline.get_or_create(&olt).set(snap.map_or(0, |s| {
            int(s.onus.iter().filter(|o| o.state.is_offline()).count())
        }));
        requests
            .get_or_create(&olt)
            .set(snap.map_or(0, |s| int(s.stats.requests as usize)));
        timeouts
            .get_or_create(&olt)
            .set(snap.map_or(0, |s| int(s.stats.timeouts as usize)));
        polled_at
            .get_or_create(&olt)
            .set(snap.map_or(0.0, |s| s.polled_at_ms as f64 / 1000.0));
    }
    registry.register(
        "fibreplane_olt_reachable",
        "Whether the OLT answered its last poll (1) or not (0)",
        reachable,
    );
    registry.register(
        "fibreplane_olt_onus",
        "ONUs in the OLT's last successful poll",
        onus,
    );
    registry.register(
        "fibreplane_olt_onus_offline",
        "Offline ONUs in the OLT's last successful poll",
        offline,
    );
    registry.register(
        "fibreplane_olt_poll_requests",
        "SNMP requests of the OLT's last successful poll",
        requests,
    );
    registry.register(
        "fibreplane_olt_poll_timeouts",
        "SNMP timeouts of the OLT's last successful poll",
        timeouts,
    );
    registry.register_with_unit(
        "fibreplane_olt_last_poll_timestamp",
        "When the OLT's last successful poll finished, as a Unix time",
        Unit::Seconds,
        polled_at,
    );
    if let Some(fleet) = &hub.olts {
        fleet.register_metrics(registry);
    }
}

/// The incident service's counters (a snapshot: the service keeps them as plain numbers).
fn incidents(registry: &mut Registry, m: &IncidentMetrics) {
    let c = &m.correlator;
    for (name, help, v) in [
        (
            "poller_events",
            "OLT poller events the correlator handled",
            c.poller_events,
        ),
        (
            "kuma_events",
            "Uptime Kuma events the correlator handled",
            c.kuma_events,
        ),
        (
            "kuma_unmapped",
            "Uptime Kuma events of monitors mapped to no OLT",
            c.kuma_unmapped,
        ),
        (
            "onu_excluded",
            "ONU down events with admin or reset causes, left out of correlation",
            c.excluded,
        ),
        (
            "onu_suppressed",
            "ONU events held back because their OLT was unreachable",
            c.suppressed,
        ),
        (
            "webhook_tests",
            "Uptime Kuma webhooks accepted without side effect (Test button, reminders)",
            m.webhook_tests,
        ),
        (
            "poller_lagged",
            "OLT poller events lost because the incident service fell behind",
            m.poller_lagged,
        ),
        (
            "events_published",
            "Incident lifecycle events published",
            m.events_published,
        ),
    ] {
        registry.register(
            format!("fibreplane_incidents_{name}"),
            help,
            ConstCounter::new(v),
        );
    }
    let refused = Family::<[(&'static str, &'static str); 1], Counter>::default();
    let r = &m.webhook_refused;
    for (reason, v) in [
        ("unauthorized", r.unauthorized),
        ("bad_body", r.bad_body),
        ("too_large", r.too_large),
        ("busy", r.busy),
    ] {
        refused.get_or_create(&[("reason", reason)]).inc_by(v);
    }
    registry.register(
        "fibreplane_kuma_webhooks_refused",
        "Uptime Kuma webhook requests refused, by reason",
        refused,
    );
    registry.register(
        "fibreplane_kuma_webhooks_accepted",
        "Uptime Kuma webhook requests accepted with a monitor event",
        ConstCounter::new(m.webhook_events),
    );
    let open = Family::<[(&'static str, &'static str); 1], Gauge>::default();
    let total = Family::<[(&'static str, &'static str); 2], Counter>::default();
    for k in &m.incidents {
        let kind = k.kind.as_str();
        open.get_or_create(&[("kind", kind)])
            .set(i64::try_from(k.open).unwrap_or(i64::MAX));
        total
            .get_or_create(&[("kind", kind), ("state", "opened")])
            .inc_by(k.opened_total);
        total
            .get_or_create(&[("kind", kind), ("state", "resolved")])
            .inc_by(k.resolved_total);
    }
    registry.register("fibreplane_incidents_open", "Open incidents by kind", open);
    registry.register(
        "fibreplane_incidents",
        "Incidents opened and resolved, by kind",
        total,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use incidents::correlate::{CorrelatorStats, IncidentKind};
    use incidents::metrics::{KindCounts, Refusals};

    #[test]
    fn incident_counters_keep_their_names_with_labels_and_help() {
        let m = IncidentMetrics {
            correlator: CorrelatorStats {
                poller_events: 7,
                ..CorrelatorStats::default()
            },
            webhook_events: 3,
            webhook_tests: 1,
            webhook_refused: Refusals {
                unauthorized: 4,
                ..Refusals::default()
            },
            poller_lagged: 0,
            events_published: 2,
            incidents: vec![KindCounts {
                kind: IncidentKind::FibreCut,
                open: 1,
                opened_total: 2,
                resolved_total: 1,
            }],
        };
        let mut registry = Registry::default();
        incidents(&mut registry, &m);
        let mut text = String::new();
        prometheus_text::encode(&mut text, &registry).unwrap();
        for line in [
            "fibreplane_incidents_poller_events_total 7\n",
            "fibreplane_kuma_webhooks_refused_total{reason=\"unauthorized\"} 4\n",
            "fibreplane_kuma_webhooks_refused_total{reason=\"busy\"} 0\n",
            "fibreplane_kuma_webhooks_accepted_total 3\n",
            "fibreplane_incidents_open{kind=\"fibre_cut\"} 1\n",
            "fibreplane_incidents_total{kind=\"fibre_cut\",state=\"opened\"} 2\n",
            "fibreplane_incidents_total{kind=\"fibre_cut\",state=\"resolved\"} 1\n",
            "# HELP fibreplane_kuma_webhooks_accepted_total Uptime Kuma webhook requests \
             accepted with a monitor event.\n",
            "# TYPE fibreplane_incidents_total counter\n",
        ] {
            assert!(text.contains(line), "{line} in\n{text}");
        }
        // Every family says what it is: as many help texts as types, one per family.
        assert_eq!(text.matches("# HELP ").count(), 8 + 4, "{text}");
        assert_eq!(text.matches("# TYPE ").count(), 8 + 4, "{text}");
    }
}
