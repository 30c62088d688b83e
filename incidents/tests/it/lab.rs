//! A lab for end-to-end scenarios: olt-sim on loopback with its control API, the real poller
//! (`OltFleet`) polling it, the incident service fed by the fleet's channel and served over
//! HTTP, and a directory that knows every simulated subscriber.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fibreplane_lab::olt::{self, OltSimConfig, OltSimHandle, SimVendor};
use incidents::correlate::IncidentKind;
use incidents::directory::{CustomerId, ServiceLocation};
use incidents::{
    InMemoryDirectory, Incident, IncidentEvent, IncidentService, ServiceConfig, Subscriber,
};
use olt_poller::{
    Credentials, FleetConfig, OltConfig, OltFleet, OltId, Secret, SnmpTarget, VendorChoice,
};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{broadcast, watch};

use crate::support::{http, request, serve, wait_for};

const TOKEN: &str = "olt-sim-control-token-0123456789";
const COMMUNITY: &str = "lab-community";
pub(crate) const PORTS: u32 = 4;
pub(crate) const ONUS: u32 = 16;

pub(crate) struct Lab {
    pub(crate) olt: OltId,
    pub(crate) sim: OltSimHandle,
    control: SocketAddr,
    pub(crate) fleet: OltFleet,
    pub(crate) service: IncidentService,
    pub(crate) api: SocketAddr,
    pub(crate) events: broadcast::Receiver<IncidentEvent>,
    _stop: watch::Sender<bool>,
}

/// Timers short enough for a test, long enough that a loopback poll fits in them.
pub(crate) fn lab_config() -> ServiceConfig {
    let mut c = ServiceConfig::default();
    c.correlator.settle = Duration::from_millis(200);
    c.correlator.single_onu_delay = Duration::from_millis(800);
    c.correlator.quiet_time = Duration::from_millis(300);
    c.correlator.min_open = Duration::from_millis(100);
    c.correlator.flap_window = Duration::from_secs(60);
    c
}

/// The customer the directory gives the ONU with this serial.
pub(crate) fn customer_of(serial: &str) -> CustomerId {
    CustomerId(format!("CUST-{serial}"))
}

impl Lab {
    pub(crate) async fn start(name: &str, config: ServiceConfig) -> Self {
        let (stop, rx) = watch::channel(false);
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sim_config = OltSimConfig {
            vendor: SimVendor::Huawei,
            ports: PORTS,
            onus_per_port: ONUS,
            seed: 11,
            community: Some(COMMUNITY.into()),
            ..OltSimConfig::default()
        };
        let sim = olt::start(socket, &sim_config, rx.clone()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let control = listener.local_addr().unwrap();
        tokio::spawn(olt::serve_control(
            listener,
            Arc::new(vec![sim.clone()]),
            Arc::new(TOKEN.into()),
            rx,
        ));
        // Every simulated subscriber is in the directory, as ERPNext would have them.
        let dir = Arc::new(InMemoryDirectory::new());
        sim.read(|n| {
            for o in &n.onus {
                let serial = String::from_utf8(n.serial(o)).unwrap();
                dir.insert(
                    serial.clone(),
                    Subscriber {
                        cpe: None,
                        customer: Some(customer_of(&serial)),
                        customer_name: None,
                        service_location: Some(ServiceLocation(format!("{} rue Lab", o.index))),
                        equipment: Some("XX230v".into()),
                    },
                );
            }
        });
        let fleet_config = FleetConfig {
            poll_deadline: Some(Duration::from_secs(3)),
            ..FleetConfig::default()
        };
        let mut fleet = OltFleet::new(fleet_config, None);
        let poller_rx = fleet.subscribe();
        let olt = OltId::new(name).unwrap();
        fleet
            .add(OltConfig {
                id: olt.clone(),
                target: SnmpTarget {
                    addr: sim.addr(),
                    credentials: Credentials::V2c {
                        community: Secret::new(COMMUNITY),
                    },
                    timeout: Duration::from_millis(300),
                    retries: 1,
                },
                vendor: VendorChoice::parse("huawei").unwrap(),
                firmware: None,
                // Polls happen when a test asks (`poll`); the schedule never interferes.
                interval: Duration::from_secs(3600),
            })
            .unwrap();
        let (service, api) = serve(config, dir, Some(poller_rx)).await;
        let events = service.subscribe();
        let mut lab = Self {
            olt,
            sim,
            control,
            fleet,
            service,
            api,
            events,
            _stop: stop,
        };
        // The schedule's first poll is the baseline; wait for it so tests start from there.
        while lab.fleet.latest(&lab.olt).is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        lab.poll().await;
        lab
    }

    /// Polls now and hands the snapshot's per-port totals to the service, as the hub does
    /// after each poll. Returns whether the OLT answered.
    pub(crate) async fn poll(&mut self) -> bool {
        match self.fleet.poll_now(&self.olt).await {
            Ok(snap) => {
                self.service.observe_snapshot(&snap);
                true
            }
            Err(_) => false,
        }
    }

    /// A call to olt-sim's control API; returns its `changed` count.
    pub(crate) async fn control(&self, path: &str, body: &str) -> usize {
        let auth = format!("Bearer {TOKEN}");
        let (status, text) = http(
            self.control,
            &request(
                "POST",
                path,
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                body.as_bytes(),
            ),
        )
        .await;
        assert_eq!(status, 200, "{path} {body}: {text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["changed"].as_u64().unwrap() as usize
    }

    /// Serials of the ONUs of `port` that are up in the simulation, among `ids` (all when None).
    pub(crate) fn up_serials(&self, port: u32, ids: Option<&[u32]>) -> Vec<String> {
        self.sim.read(|n| {
            n.onus
                .iter()
                .filter(|o| o.port == port && o.down.is_none())
                .filter(|o| ids.is_none_or(|ids| ids.contains(&o.id)))
                .map(|o| String::from_utf8(n.serial(o)).unwrap())
                .collect()
        })
    }

    /// The next Opened event.
    pub(crate) async fn opened(&mut self) -> Incident {
        let ev = wait_for(&mut self.events, 20, |e| {
            matches!(e, IncidentEvent::Opened { .. })
        })
        .await;
        ev.incident().clone()
    }

    /// Waits for `id`'s Resolved event.
    pub(crate) async fn resolved(&mut self, id: incidents::IncidentId) -> Incident {
        let ev = wait_for(&mut self.events, 20, |e| {
            matches!(e, IncidentEvent::Resolved { .. }) && e.incident().id == id
        })
        .await;
        ev.incident().clone()
    }

    /// Every incident the service holds, open or recent.
    pub(crate) async fn outages(&self) -> serde_json::Value {
        let (status, body) = http(self.api, &request("GET", "/outages", &[], b"")).await;
        assert_eq!(status, 200);
        serde_json::from_str(&body).unwrap()
    }

    /// The incident's serials, sorted.
    pub(crate) fn serials(inc: &Incident) -> Vec<String> {
        let mut v: Vec<String> = inc.onus.iter().filter_map(|m| m.serial.clone()).collect();
        v.sort();
        v
    }

    pub(crate) fn assert_kind(inc: &Incident, kind: IncidentKind) {
        assert_eq!(inc.kind, kind, "{inc:#?}");
    }
}
