//! A virtual-time harness for the sans-IO correlator: poller and Kuma events are made up here,
//! time only moves when a test says so, and every published event is kept.

use std::sync::Arc;
use std::time::Duration;

use incidents::correlate::PortTotal;
use incidents::kuma::{KumaEvent, KumaStatus, KumaTag, MonitorId};
use incidents::{
    Correlator, CorrelatorConfig, Directory, IncidentEvent, NoDirectory, PortTotals, Timestamp,
};
use olt_poller::{DownCause, EventKind, OltId, OltTime, OnuKey, PollerEvent, PonPort};

/// 2026-11-22T10:00:00Z.
pub(crate) const T0: i64 = 1_795_341_600_000;

pub(crate) fn olt(name: &str) -> OltId {
    OltId::new(name).unwrap()
}

pub(crate) fn port(p: u32) -> PonPort {
    PonPort {
        frame: 0,
        slot: 1,
        port: p,
    }
}

pub(crate) fn key(p: u32, onu: u32) -> OnuKey {
    OnuKey {
        if_index: 4_194_312_192 + p * 256,
        onu_id: onu,
    }
}

pub(crate) fn serial(olt: &str, p: u32, onu: u32) -> String {
    format!("{}{p:02}{onu:03}", olt.to_uppercase())
}

/// Short timers so tests read well; the ratios are the defaults.
pub(crate) fn fast_config() -> CorrelatorConfig {
    CorrelatorConfig {
        settle: Duration::from_millis(200),
        single_onu_delay: Duration::from_secs(60),
        quiet_time: Duration::from_secs(30),
        min_open: Duration::from_secs(10),
        flap_window: Duration::from_secs(600),
        ..CorrelatorConfig::default()
    }
}

pub(crate) struct Harness {
    pub(crate) c: Correlator,
    pub(crate) now: Timestamp,
    pub(crate) events: Vec<IncidentEvent>,
}

impl Harness {
    pub(crate) fn new(config: CorrelatorConfig) -> Self {
        Self::with_directory(config, Arc::new(NoDirectory))
    }

    pub(crate) fn with_directory(config: CorrelatorConfig, dir: Arc<dyn Directory>) -> Self {
        let now = Timestamp::from_unix_ms(T0);
        Self {
            c: Correlator::new(config, dir, now),
            now,
            events: Vec::new(),
        }
    }

    /// An OLT time `secs` after T0, as the poller renders DateAndTime.
    pub(crate) fn olt_time(secs: i64) -> OltTime {
        let t = Timestamp::from_unix_ms(T0 + secs * 1000).rfc3339();
        OltTime(t[..19].to_owned())
    }

    pub(crate) fn totals(&mut self, olt_name: &str, ports: &[(u32, u32)]) {
        let totals = PortTotals {
            olt: olt(olt_name),
            ports: ports
                .iter()
                .map(|&(p, n)| PortTotal {
                    port: port(p),
                    name: Some(format!("GPON 0/1/{p}")),
                    onus: n,
                })
                .collect(),
        };
        self.c.set_port_totals(self.now, totals);
    }

    pub(crate) fn poller(&mut self, ev: PollerEvent) {
        self.c.handle_poller(self.now, &ev);
    }

    /// ONU `onu` of port `p` went down at OLT time T0 + `at_secs`.
    pub(crate) fn down(&mut self, o: &str, p: u32, onu: u32, cause: DownCause, at_secs: i64) {
        self.poller(PollerEvent {
            olt: olt(o),
            onu: Some(key(p, onu)),
            port: Some(port(p)),
            serial: Some(serial(o, p, onu)),
            kind: EventKind::OnuOffline {
                cause,
                at: Some(Self::olt_time(at_secs)),
            },
        });
    }

    pub(crate) fn up(&mut self, o: &str, p: u32, onu: u32) {
        self.poller(PollerEvent {
            olt: olt(o),
            onu: Some(key(p, onu)),
            port: Some(port(p)),
            serial: Some(serial(o, p, onu)),
            kind: EventKind::OnuOnline,
        });
    }

    pub(crate) fn olt_event(&mut self, o: &str, kind: EventKind) {
        self.poller(PollerEvent {
            olt: olt(o),
            onu: None,
            port: None,
            serial: None,
            kind,
        });
    }

    pub(crate) fn kuma(&mut self, monitor: u64, olt_tag: &str, status: KumaStatus, resend: bool) {
        let ev = KumaEvent {
            monitor_id: MonitorId(monitor),
            name: Some(format!("{olt_tag} ping")),
            status,
            at: Some(self.now),
            last_down_at: None,
            resend,
            message: None,
            tags: vec![KumaTag {
                name: "olt".into(),
                value: olt_tag.into(),
            }],
            hostname: None,
            url: None,
            monitor_type: Some("ping".into()),
            group: None,
        };
        self.c.handle_kuma(self.now, &ev);
    }

    /// Moves time forward by `d`, running every timeout that falls due on the way, at its
    /// time, as a driver would; then evaluates at the end.
    pub(crate) fn advance(&mut self, d: Duration) {
        let end = self.now.plus(d);
        while let Some(t) = self.c.poll_timeout() {
            if t > end {
                break;
            }
            self.now = self.now.max(t);
            self.c.handle_timeout(self.now);
            self.collect();
        }
        self.now = end;
        self.c.handle_timeout(self.now);
        self.collect();
    }

    fn collect(&mut self) {
        while let Some(ev) = self.c.poll_event() {
            self.events.push(ev);
        }
    }

    /// The events published since the last call.
    pub(crate) fn take(&mut self) -> Vec<IncidentEvent> {
        std::mem::take(&mut self.events)
    }
}
