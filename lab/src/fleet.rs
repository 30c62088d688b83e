//! A fleet of virtual CPEs in one process: identities, the shared connection-request server,
//! one task per CPE, a cap on simultaneous sessions, and the run report.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cwmp::{CwmpVersion, EventStruct};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::agent::{Cpe, add_event, run_session};
use crate::auth::CpeAuth;
use crate::base::BaseModel;
use crate::client::HttpUrl;
use crate::error::SimError;
use crate::model::{CpeModel, Identity};
use crate::report::{FleetReport, SessionReport, Stats};

/// How to build and run a fleet.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The ACS URL (`http://host:port/path`); the only address the fleet connects to.
    pub acs_url: String,
    /// The data model every CPE starts from.
    pub model: Arc<BaseModel>,
    /// Number of CPEs.
    pub count: usize,
    /// Added to the CPE index to form serial numbers and MACs, so several processes can run
    /// disjoint fleets.
    pub serial_offset: u64,
    /// Serial number prefix; the serial is the prefix plus the 8-digit global index.
    pub serial_prefix: String,
    /// Periodic inform interval (±10 % jitter); `None` disables periodic informs.
    pub interval: Option<Duration>,
    /// How CPEs authenticate to the ACS.
    pub auth: CpeAuth,
    /// Where the connection-request server listens (`127.0.0.1:0` picks a port).
    pub cr_listen: SocketAddr,
    /// Host (and port) written into ConnectionRequestURL; defaults to the listener's address.
    pub cr_advertise: Option<String>,
    /// Serve connection requests over TLS with this configuration (`https://` URLs), as CPEs
    /// with a certificate do; `None` is plain HTTP.
    pub cr_tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// Most sessions in flight at once across the fleet.
    pub concurrency: usize,
    /// CWMP version the CPEs speak.
    pub version: CwmpVersion,
    /// Per-request timeout and CPE session timeout.
    pub session_timeout: Duration,
    /// How long a simulated reboot keeps the CPE offline.
    pub reboot_delay: Duration,
    /// First contacts of a fleet run are spread over this window.
    pub stagger: Duration,
    /// Events of each CPE's first session: `0 BOOTSTRAP` + `1 BOOT` for CPEs new to the ACS;
    /// `2 PERIODIC` alone for a fleet the ACS already knows (a load run's steady state).
    pub start_events: Vec<String>,
    /// Whether CPEs reuse the ACS's last Digest nonce (with the next nonce count) on their next
    /// session instead of waiting for a fresh 401 challenge, as some CPE stacks do.
    pub preemptive_digest: bool,
    /// The UDP port simulated IPPing and TraceRoute probe on the (loopback) host: an echo
    /// service, RFC 862's port 7 by default.
    pub diag_echo_port: u16,
    /// Whether CPEs keep a finished diagnostic to themselves (results written, but no
    /// `8 DIAGNOSTICS COMPLETE` session), as some firmware does: exercises an ACS's fallback.
    pub drop_diagnostics_complete: bool,
    /// How the CPEs fail a request for a large subtree, if they do (see `quirk.rs`).
    pub discovery_quirk: Option<crate::DiscoveryQuirk>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            acs_url: "http://127.0.0.1:7547/".to_owned(),
            model: xx230v(),
            count: 1,
            serial_offset: 0,
            serial_prefix: "FPSIM".to_owned(),
            interval: None,
            auth: CpeAuth::None,
            cr_listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            cr_advertise: None,
            cr_tls: None,
            concurrency: 256,
            version: CwmpVersion::V1_2,
            session_timeout: Duration::from_secs(30),
            reboot_delay: Duration::from_millis(200),
            stagger: Duration::from_secs(5),
            start_events: vec!["0 BOOTSTRAP".to_owned(), "1 BOOT".to_owned()],
            preemptive_digest: false,
            diag_echo_port: 7,
            drop_diagnostics_complete: false,
            discovery_quirk: None,
        }
    }
}

/// The built-in XX230v base, parsed once per process: tests build many configs.
fn xx230v() -> Arc<BaseModel> {
    static BASE: OnceLock<Arc<BaseModel>> = OnceLock::new();
    BASE.get_or_init(|| Arc::new(BaseModel::xx230v())).clone()
}

/// What every CPE task shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) acs_url: HttpUrl,
    pub(crate) auth: CpeAuth,
    pub(crate) version: CwmpVersion,
    pub(crate) session_timeout: Duration,
    pub(crate) interval: Option<Duration>,
    pub(crate) reboot_delay: Duration,
    pub(crate) preemptive_digest: bool,
    pub(crate) diag: crate::diag::RunOptions,
    pub(crate) drop_diagnostics_complete: bool,
    pub(crate) discovery_quirk: Option<crate::DiscoveryQuirk>,
    pub(crate) permits: Semaphore,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) cpes: Vec<Arc<Cpe>>,
}

impl Shared {
    pub(crate) fn lock_stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the next periodic inform is due, with ±10 % jitter so a fleet does not synchronise.
    pub(crate) fn next_periodic(&self, now: Instant) -> Option<Instant> {
        self.interval
            .map(|i| now + i.mul_f64(rand::random_range(0.9..1.1)))
    }
}

/// A running fleet of virtual CPEs.
#[derive(Debug)]
pub struct Fleet {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
    cr_base: String,
    stagger: Duration,
    started: Instant,
}

impl Fleet {
    /// Builds the CPEs, binds the connection-request server and starts one task per CPE.
    /// CPEs stay silent until asked to contact the ACS ([`Self::inform`], [`Self::run_for`],
    /// [`Self::run_once`]) or sent a connection request.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        let acs_url = HttpUrl::parse(&config.acs_url)?;
        let listener = TcpListener::bind(config.cr_listen)
            .await
            .with_context(|| format!("binding {}", config.cr_listen))?;
        let local = listener.local_addr()?;
        let host = config.cr_advertise.clone().unwrap_or_else(|| {
            let ip = if local.ip().is_unspecified() {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            } else {
                local.ip()
            };
            SocketAddr::new(ip, local.port()).to_string()
        });
        let scheme = if config.cr_tls.is_some() {
            "https"
        } else {
            "http"
        };
        let cr_base = format!("{scheme}://{host}");
        let base = config.model.clone();
        let cpes = (0..config.count)
            .map(|i| {
                let g = config.serial_offset.wrapping_add(i as u64);
                let serial = format!("{}{g:08}", config.serial_prefix);
                let identity = Identity {
                    serial: serial.clone(),
                    mac_base: (g.wrapping_mul(8) & 0xFF_FFFF) as u32,
                    cr_url: format!("{cr_base}/cr/{i}"),
                };
                let id = cwmp::device_id(base.oui(), base.product_class(), &serial);
                Arc::new(Cpe::new(
                    i,
                    id,
                    CpeModel::new(base.clone(), identity),
                    &config.start_events,
                ))
            })
            .collect();
        let shared = Arc::new(Shared {
            acs_url,
            auth: config.auth.clone(),
            version: config.version,
            session_timeout: config.session_timeout,
            interval: config.interval,
            reboot_delay: config.reboot_delay,
            preemptive_digest: config.preemptive_digest,
            diag: crate::diag::RunOptions {
                echo_port: config.diag_echo_port,
                transfer_limit: config.session_timeout * 4,
            },
            drop_diagnostics_complete: config.drop_diagnostics_complete,
            discovery_quirk: config.discovery_quirk,
            permits: Semaphore::new(config.concurrency.max(1)),
            stats: Mutex::new(Stats::default()),
            cpes,
        });
        let (tx, rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(crate::cr::serve(
            listener,
            config.cr_tls.clone().map(tokio_rustls::TlsAcceptor::from),
            shared.clone(),
            rx.clone(),
        ))];
        for cpe in &shared.cpes {
            let task = crate::task::cpe_task(shared.clone(), cpe.clone(), rx.clone());
            tasks.push(tokio::spawn(task));
        }
        tracing::info!(cpes = config.count, cr = %cr_base, "fleet started");
        Ok(Self {
            shared,
            tasks,
            shutdown: tx,
            cr_base,
            stagger: config.stagger,
            started: Instant::now(),
        })
    }

    /// Number of CPEs.
    pub fn len(&self) -> usize {
        self.shared.cpes.len()
    }

    /// Whether the fleet has no CPEs.
    pub fn is_empty(&self) -> bool {
        self.shared.cpes.is_empty()
    }

    fn cpe(&self, i: usize) -> Result<&Arc<Cpe>, SimError> {
        self.shared.cpes.get(i).ok_or(SimError::NoSuchCpe(i))
    }

    /// CPE `i`'s device id (`OUI-ProductClass-Serial`, also its ACS username); empty if `i` is
    /// out of range.
    pub fn device_id(&self, i: usize) -> String {
        self.cpe(i).map(|c| c.device_id.clone()).unwrap_or_default()
    }

    /// CPE `i`'s serial number; empty if `i` is out of range.
    pub fn serial(&self, i: usize) -> String {
        self.cpe(i)
            .map(|c| c.lock().model.identity().serial.clone())
            .unwrap_or_default()
    }

    /// CPE `i`'s ConnectionRequestURL (served by this fleet).
    pub fn cr_url(&self, i: usize) -> String {
        format!("{}/cr/{i}", self.cr_base)
    }

    /// Runs one session of CPE `i` now, adding `events` (`"2 PERIODIC"`, …) to whatever it has
    /// queued (a CPE's first session always carries `0 BOOTSTRAP` and `1 BOOT`), and returns
    /// when the session ends. Follow-up work the ACS requested runs in the background.
    pub async fn inform(&self, i: usize, events: &[&str]) -> Result<SessionReport, SimError> {
        let cpe = self.cpe(i)?;
        let extra: Vec<EventStruct> = events.iter().map(|e| EventStruct::new(*e)).collect();
        run_session(&self.shared, cpe, &extra).await
    }

    /// Queues a request CPE `i` sends the ACS in its next session (after its Inform):
    /// `GetRPCMethods`, `AutonomousTransferComplete`, `RequestDownload`,
    /// `AutonomousDUStateChangeComplete`, … as a real CPE would on its own initiative.
    pub fn queue_request(&self, i: usize, request: cwmp::Body) -> bool {
        let Ok(cpe) = self.cpe(i) else { return false };
        cpe.lock().pending_requests.push(request);
        true
    }

    /// The method list of the last GetRPCMethodsResponse CPE `i` received from the ACS.
    pub fn acs_methods(&self, i: usize) -> Option<Vec<String>> {
        self.cpe(i).ok()?.lock().acs_methods.clone()
    }

    /// The CPE's requests not yet delivered (TransferComplete, DUStateChangeComplete, …), by
    /// name.
    pub fn pending_requests(&self, i: usize) -> Vec<String> {
        self.cpe(i).map_or_else(
            |_| Vec::new(),
            |c| {
                c.lock()
                    .pending_requests
                    .iter()
                    .map(|b| b.name().to_owned())
                    .collect()
            },
        )
    }

    /// The deployment units installed on CPE `i` (ChangeDUState), as (UUID, version).
    pub fn deployment_units(&self, i: usize) -> Vec<(String, String)> {
        self.cpe(i).map_or_else(
            |_| Vec::new(),
            |c| {
                c.units
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .iter()
                    .map(|u| (u.uuid.clone(), u.version.clone()))
                    .collect()
            },
        )
    }

    /// The unmasked value of a parameter of CPE `i`.
    pub fn param(&self, i: usize, path: &str) -> Option<String> {
        self.cpe(i).ok()?.lock().model.get(path)
    }

    /// The notification attribute of a parameter of CPE `i` (0 when never set).
    pub fn notification(&self, i: usize, path: &str) -> Option<u32> {
        Some(self.cpe(i).ok()?.lock().model.notification(path))
    }

    /// Simulates a local change on CPE `i` (a user in the web UI). A parameter with passive or
    /// active notification is reported in the next Inform; active notification also queues
    /// `4 VALUE CHANGE`, delivered at once if the CPE has contacted the ACS. Returns false if
    /// the parameter does not exist.
    pub fn set_param(&self, i: usize, path: &str, value: &str) -> bool {
        let Ok(cpe) = self.cpe(i) else { return false };
        let mut st = cpe.lock();
        if !st.model.set_local(path, value) {
            return false;
        }
        let notification = st.model.notification(path);
        if notification >= 1 {
            st.changed.insert(path.to_owned());
        }
        if notification >= 2 {
            add_event(&mut st.pending_events, EventStruct::new("4 VALUE CHANGE"));
            drop(st);
            cpe.wake.notify_one();
        }
        true
    }

    /// Power-cycles CPE `i` as a user pulling the plug would: it is offline for the reboot delay,
    /// loses its queued volatile events and any diagnostics test in flight, then informs
    /// `1 BOOT`.
    pub async fn power_cycle(&self, i: usize) -> Result<(), SimError> {
        let cpe = self.cpe(i)?;
        crate::task::reboot(&self.shared, cpe).await;
        cpe.wake.notify_one();
        Ok(())
    }

    /// Number of sessions CPE `i` has attempted.
    pub fn sessions(&self, i: usize) -> u64 {
        self.cpe(i).map_or(0, |c| c.lock().sessions)
    }

    /// The report of CPE `i`'s last successful session.
    pub fn last_session(&self, i: usize) -> Option<SessionReport> {
        self.cpe(i).ok()?.lock().last_report.clone()
    }

    /// Waits until CPE `i` has attempted at least `n` sessions; false on timeout.
    pub async fn wait_sessions(&self, i: usize, n: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.sessions(i) < n {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Asks every CPE that never reached the ACS to make first contact, spread over `window`.
    fn boot_all(&self, window: Duration) {
        let now = Instant::now();
        let n = self.len().max(1) as u32;
        for (i, cpe) in self.shared.cpes.iter().enumerate() {
            let mut st = cpe.lock();
            if !st.contacted && st.boot_at.is_none() && st.retry_at.is_none() {
                st.boot_at = Some(now + window / n * i as u32);
                drop(st);
                cpe.wake.notify_one();
            }
        }
    }

    /// Runs the fleet for `duration` (first contacts staggered, then periodic informs if an
    /// interval is configured) and returns the report.
    pub async fn run_for(&self, duration: Duration) -> FleetReport {
        self.boot_all(self.stagger.min(duration / 2));
        tokio::time::sleep(duration).await;
        self.report()
    }

    /// Makes every CPE attempt one session (first contact, or a periodic inform for CPEs that
    /// already contacted the ACS) and returns when all have, or when `timeout` expires.
    pub async fn run_once(&self, timeout: Duration) -> FleetReport {
        let deadline = Instant::now() + timeout;
        let targets: Vec<u64> = self
            .shared
            .cpes
            .iter()
            .map(|c| c.lock().sessions + 1)
            .collect();
        let now = Instant::now();
        let window = self.stagger.min(timeout / 2);
        let n = self.len().max(1) as u32;
        for (i, cpe) in self.shared.cpes.iter().enumerate() {
            let mut st = cpe.lock();
            let at = now + window / n * i as u32;
            if st.contacted {
                st.next_periodic = Some(at);
            } else {
                st.boot_at = Some(at);
            }
            drop(st);
            cpe.wake.notify_one();
        }
        for (i, target) in targets.into_iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            if !self.wait_sessions(i, target, left).await {
                break;
            }
        }
        self.report()
    }

    /// Makes every CPE contact the ACS (first contacts spread over the stagger window, each
    /// CPE retrying after 503s and failures as its model's back-off says) and returns once every
    /// CPE has completed a session since the fleet started, or when `timeout` expires. A power
    /// restoration in miniature: the report's `elapsed_s` is then the time until the last CPE
    /// got through, and `failures["retry"]` the 503s (and 8005s) the fleet was given.
    pub async fn run_until_done(&self, timeout: Duration) -> FleetReport {
        let deadline = Instant::now() + timeout;
        self.boot_all(self.stagger.min(timeout / 2));
        while Instant::now() < deadline && self.done() < self.len() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.report()
    }

    /// CPEs that completed at least one session since the fleet started.
    pub fn done(&self) -> usize {
        self.shared
            .cpes
            .iter()
            .filter(|c| c.lock().last_report.is_some())
            .count()
    }

    /// The report so far.
    pub fn report(&self) -> FleetReport {
        let contacted = self
            .shared
            .cpes
            .iter()
            .filter(|c| c.lock().contacted)
            .count();
        let mut report =
            self.shared
                .lock_stats()
                .report(self.len(), contacted, self.started.elapsed());
        report.cpes_done = self.done();
        report
    }

    /// Stops every task and the connection-request server; sessions in flight are abandoned
    /// after a short grace period.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && !self.tasks.iter().all(JoinHandle::is_finished) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for t in self.tasks {
            t.abort();
        }
    }
}
