//! The hub's shared state: handles to every component the API reads (the ACS, the OLT fleet,
//! the modem bridge, the provisioner's directory of ERPNext links, the incident service) and the
//! event bus they publish on.

use crate::auth::AuthConfig;
use crate::events::EventBus;
use acs::Acs;
use olt_poller::OltFleet;
use olt_poller::{OltId, OltSnapshot, Onu};
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// ERPNext links of a device, as the provisioner matched them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Links {
    /// Customer.
    pub customer: Option<String>,
    /// Service location (`LOC-#####`).
    pub location: Option<String>,
    /// Service Equipment row (`EQP-#####`).
    pub equipment: Option<String>,
}

/// Where ERPNext links come from (the provisioner's matched records).
pub trait Directory: Send + Sync {
    /// The links of an ACS device.
    fn links(&self, device: &str) -> Links;
    /// The ACS devices of a customer.
    fn devices_of_customer(&self, customer: &str) -> Vec<String>;
    /// The ACS devices at a service location.
    fn devices_at(&self, location: &str) -> Vec<String>;
}

/// The provisioner's matched ERPNext records as the hub's directory.
pub struct ProvisionerDirectory(pub Arc<provisioner::Provisioner>);

impl Directory for ProvisionerDirectory {
    fn links(&self, device: &str) -> Links {
        match self.0.links(device) {
            Some((customer, location, equipment)) => Links {
                customer: Some(customer).filter(|c| !c.is_empty()),
                location: Some(location).filter(|l| !l.is_empty()),
                equipment: Some(equipment),
            },
            None => Links::default(),
        }
    }
    fn devices_of_customer(&self, customer: &str) -> Vec<String> {
        self.0.devices_of_customer(customer)
    }
    fn devices_at(&self, location: &str) -> Vec<String> {
        self.0.devices_at(location)
    }
}

/// A directory that knows nothing (no provisioner configured).
#[derive(Debug, Default)]
pub struct NoDirectory;

impl Directory for NoDirectory {
    fn links(&self, _: &str) -> Links {
        Links::default()
    }
    fn devices_of_customer(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
    fn devices_at(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
}

/// How the hub reaches the modem bridge: the same HTTP API either way, so both paths are one
/// code path.
pub enum ModemAccess {
    /// The bridge runs in this process: its router, called without a socket.
    InProcess {
        /// The bridge's API.
        router: axum::Router,
        /// The internal token it was built with.
        token: acs::Secret,
        /// Its state: the bridge and its browser pool (for the metrics).
        state: Arc<modem_bridge::service::ApiState>,
    },
    /// A `fibreplane modem serve` elsewhere.
    Remote {
        /// Its base URL.
        url: String,
        /// Its bearer token.
        token: acs::Secret,
        /// The HTTP(S) client, verifying the bridge's certificate against the system's roots
        /// and `modem.ca_file`.
        client: acs::client_tls::HttpsClient,
    },
}

/// Defaults of technicians' diagnostics.
#[derive(Debug, Clone, Default)]
pub struct DiagDefaults {
    /// What a ping or traceroute targets when the request names no host.
    pub ping_host: Option<String>,
    /// The base URL CPEs reach the hub's speed-test endpoints at (`http://hub:8080`).
    pub speedtest_url: Option<String>,
}

/// Counters of the hub API itself (registered on each scrape by `metrics.rs`).
#[derive(Debug, Default)]
pub struct HubMetrics {
    /// Requests answered, by class.
    pub requests: Counter,
    /// Requests refused for authentication (401) or scope (403).
    pub refused: Counter,
    /// Diagnostics run.
    pub diagnostics: Counter,
    /// Diagnostics that failed.
    pub diagnostics_failed: Counter,
    /// Summaries served.
    pub summaries: Counter,
    /// Reads through the modem bridge.
    pub bridge_reads: Counter,
    /// Bridge reads that failed.
    pub bridge_failures: Counter,
}

/// Everything the API handlers share.
pub struct Hub {
    /// The ACS.
    pub acs: Arc<Acs>,
    /// Live events.
    pub bus: EventBus,
    /// Who may call.
    pub auth: AuthConfig,
    /// The OLT poller, when OLTs are configured.
    pub olts: Option<Arc<OltFleet>>,
    /// The OLTs' ids in configuration order.
    pub olt_ids: Vec<OltId>,
    /// Whether each OLT answered its last poll (from the poller's events).
    pub reachable: Mutex<HashMap<OltId, bool>>,
    /// The modem bridge.
    pub modem: Option<ModemAccess>,
    /// ERPNext links.
    pub directory: Arc<dyn Directory>,
    /// A device is online for the ACS when it informed within this many milliseconds.
    pub online_within_ms: i64,
    /// API counters.
    pub metrics: HubMetrics,
    /// Diagnostics defaults.
    pub diag: DiagDefaults,
    /// The provisioner, when configured (its API is mounted under `/provisioning`).
    pub provisioner: Option<Arc<provisioner::Provisioner>>,
    /// Outage correlation (when OLTs or Kuma are configured).
    pub incidents: Option<incidents::IncidentService>,
    /// Uptime Kuma's shared secret (the webhook is mounted only with one).
    pub kuma_secret: Option<acs::Secret>,
}

/// The incident service's view of ERPNext: ONU serial → CPE (the ACS's serial index) → links.
pub struct IncidentDirectory {
    /// The ACS.
    pub acs: Arc<Acs>,
    /// ERPNext links.
    pub directory: Arc<dyn Directory>,
}

impl incidents::Directory for IncidentDirectory {
    fn lookup(&self, serial: &str) -> Option<incidents::Subscriber> {
        use futures_util::FutureExt;
        use incidents::directory::{CpeId, CustomerId, ServiceLocation};
        // The correlator is sans-IO and asks synchronously. The embedded store answers a read
        // at once (its futures are ready when made); a store that would have to wait (a network
        // database) is not waited for here: the incident opens, counted by ONU, without its
        // subscriber, and the log says so. Either way a failure is never silent.
        let Some(found) = self
            .acs
            .store()
            .scan_index(acs::store::Index::Serial, serial)
            .now_or_never()
        else {
            tracing::warn!(%serial, "store read not ready; subscriber left unknown");
            return None;
        };
        let id = found
            .inspect_err(|e| {
                tracing::error!(%serial, error = %e, "store read failed; subscriber unknown");
            })
            .ok()?
            .into_iter()
            .next()?;
        let links = self.directory.links(id.as_str());
        Some(incidents::Subscriber {
            cpe: Some(CpeId(id.to_string())),
            customer_name: links.customer.clone(),
            customer: links.customer.map(CustomerId),
            service_location: links.location.map(ServiceLocation),
            equipment: links.equipment,
        })
    }
}

impl Hub {
    /// The latest snapshot of every OLT, with its reachability.
    pub fn olt_views(&self) -> Vec<(OltId, bool, Option<Arc<OltSnapshot>>)> {
        let reachable = self.reachable.lock().unwrap_or_else(|e| e.into_inner());
        self.olt_ids
            .iter()
            .map(|id| {
                let snap = self.olts.as_ref().and_then(|f| f.latest(id));
                let up = reachable.get(id).copied().unwrap_or(snap.is_some());
                (id.clone(), up, snap)
            })
            .collect()
    }

    /// The ONU with this serial on any OLT (and its OLT).
    pub fn onu_by_serial(&self, serial: &str) -> Option<(OltId, Onu)> {
        self.olt_views().into_iter().find_map(|(id, _, snap)| {
            let snap = snap?;
            let onu = snap.onus.iter().find(|o| {
                o.serial
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case(serial))
            })?;
            Some((id, onu.clone()))
        })
    }

    /// Whether the ACS considers a device online (informed recently).
    pub fn acs_online(&self, last_inform_ms: i64) -> bool {
        self.acs.now_ms() - last_inform_ms <= self.online_within_ms
    }

    /// Follows the poller's events: OLT reachability, and every ONU change onto the bus.
    pub async fn follow_poller(
        self: Arc<Self>,
        mut rx: tokio::sync::broadcast::Receiver<olt_poller::PollerEvent>,
    ) {
        use olt_poller::EventKind;
        loop {
            let e = match rx.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let up = match &e.kind {
                EventKind::OltUnreachable { .. } => Some(false),
                EventKind::OltReachable => Some(true),
                _ => None,
            };
            if let Some(up) = up {
                let was = self
                    .reachable
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(e.olt.clone(), up);
                // One line per change, so the log shows when an OLT went away and came back.
                match (was, up) {
                    (Some(true) | None, false) => {
                        tracing::warn!(olt = e.olt.as_str(), "OLT unreachable");
                    }
                    (Some(false), true) => {
                        tracing::info!(olt = e.olt.as_str(), "OLT reachable again");
                    }
                    _ => {}
                }
            }
            let kind = serde_json::to_value(&e)
                .ok()
                .and_then(|v| v.get("event").and_then(|k| k.as_str()).map(str::to_owned))
                .unwrap_or_else(|| "poller".into());
            self.bus.publish(
                "network",
                &kind,
                serde_json::to_value(&e).unwrap_or_default(),
            );
        }
    }

    /// Follows the incident service onto the bus (`outages`), and feeds it each OLT's port
    /// totals after every poll (the correlator needs them to tell a cut from a branch).
    pub async fn follow_incidents(self: Arc<Self>) {
        let Some(service) = self.incidents.clone() else {
            return;
        };
        let mut rx = service.subscribe();
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        let mut seen: HashMap<OltId, u64> = HashMap::new();
        loop {
            tokio::select! {
                e = rx.recv() => match e {
                    Ok(e) => self.bus.publish("outages", e.name(), serde_json::to_value(&e).unwrap_or_default()),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    for (id, _, snap) in self.olt_views() {
                        let Some(snap) = snap else { continue };
                        if seen.insert(id, snap.polled_at_ms) != Some(snap.polled_at_ms) {
                            service.observe_snapshot(&snap);
                        }
                    }
                }
            }
        }
    }

    /// Follows the ACS's device events onto the bus (`device:<id>` topics).
    pub async fn follow_acs(self: Arc<Self>) {
        let mut rx = self.acs.subscribe();
        loop {
            let e = match rx.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let (device, kind, data) = match e {
                acs::DeviceEvent::Informed { device, events } => {
                    (device, "informed", serde_json::json!({ "events": events }))
                }
                acs::DeviceEvent::SessionEnded { device } => {
                    (device, "session_ended", serde_json::json!({}))
                }
                acs::DeviceEvent::ChannelConverged {
                    device,
                    channel,
                    written,
                    ..
                } => (
                    device,
                    "provisioned",
                    serde_json::json!({ "channel": channel, "written": written.iter().map(|(p, _)| p).collect::<Vec<_>>() }),
                ),
                acs::DeviceEvent::ChannelFaulted {
                    device,
                    channel,
                    code,
                    message,
                } => (
                    device,
                    "provisioning_fault",
                    serde_json::json!({ "channel": channel, "code": code, "message": message }),
                ),
                _ => continue,
            };
            self.bus.publish(format!("device:{device}"), kind, data);
        }
    }
}
