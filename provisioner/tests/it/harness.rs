//! A lab on loopback: erp-sim, an ACS on a fresh store, the provisioner between them and a
//! cpe-sim fleet; plus the captured log output of the whole test binary, to scan for secrets.

use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use fibreplane_lab::erp::{ErpSim, ErpSimConfig};
use fibreplane_lab::{BaseModel, CpeAuth, Credential, Fleet, SimConfig};
use provisioner::erp::ErpConfig;
use provisioner::{Provisioner, ProvisionerConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::oneshot;

pub(crate) const CPE_SECRET: &str = "lab-cpe-secret";
pub(crate) const API_KEY: &str = "fibreplane";
pub(crate) const API_SECRET: &str = "erp-api-secret-7f3a";
pub(crate) const SEED: u64 = 7;

/// Every log line the test binary produced (all tests share one subscriber).
pub(crate) fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "info,provisioner=debug,acs=debug,fibreplane_lab=debug",
            ))
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The XX230v data model reduced to what provisioning touches — identity, management server,
/// and the WiFi, voice and Ethernet parameters the provisioner reads or writes, with their
/// objects — as the same rows as the real dump (so the same paths and values), but a small
/// fraction of the tree, so a 1,000-CPE bootstrap wave fits a debug-build test. The full tree is
/// exercised by the smaller runs.
pub(crate) fn provisioning_model() -> Arc<BaseModel> {
    static MODEL: OnceLock<Arc<BaseModel>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let model = fibreplane_schemas::DataModel::xx230v();
            let mut kept = std::collections::HashSet::new();
            for p in model.params.iter().filter(|p| !p.object && wanted(&p.path)) {
                let mut path = p.path.as_str();
                kept.insert(path.to_owned());
                while let Some((parent, _)) = path.rsplit_once('.') {
                    kept.insert(parent.to_owned());
                    path = parent;
                }
            }
            let text: String = fibreplane_schemas::XX230V_CSV
                .lines()
                .enumerate()
                .filter(|(i, l)| *i == 0 || kept.contains(l.split(',').next().unwrap_or("")))
                .map(|(_, l)| format!("{l}\n"))
                .collect();
            Arc::new(BaseModel::from_csv(&text).expect("trimmed model"))
        })
        .clone()
}

fn wanted(path: &str) -> bool {
    const WHOLE: &[&str] = &["Device.DeviceInfo.", "Device.ManagementServer."];
    const PARTS: &[&str] = &[
        "Device.Services.VoiceService.",
        "Device.X_TP_Services.VoiceService.",
        "Device.Ethernet.Interface.",
        "Device.WiFi.Radio.",
        "Device.WiFi.SSID.",
        "Device.WiFi.AccessPoint.",
    ];
    const LEAVES: &[&str] = &[
        "SSID",
        "LowerLayers",
        "Enable",
        "BSSID",
        "Name",
        "MACAddress",
        "Status",
        "OperatingFrequencyBand",
        "SSIDReference",
        "KeyPassphrase",
        "ModeEnabled",
        "RegistrarServer",
        "RegistrarServerPort",
        "AuthUserName",
        "AuthPassword",
        "URI",
        "DirectoryNumber",
    ];
    if WHOLE.iter().any(|p| path.starts_with(p)) {
        return true;
    }
    if path
        .strip_prefix("Device.")
        .is_some_and(|r| !r.contains('.'))
    {
        return true;
    }
    let leaf = path.rsplit('.').next().unwrap_or("");
    PARTS.iter().any(|p| path.starts_with(p))
        && LEAVES.contains(&leaf)
        && ![".Stats.", ".AssociatedDevice.", ".Session."]
            .iter()
            .any(|x| path.contains(x))
}

/// A running lab.
pub(crate) struct Lab {
    pub(crate) erp: Arc<ErpSim>,
    pub(crate) erp_addr: SocketAddr,
    pub(crate) acs: Arc<Acs>,
    pub(crate) acs_addr: SocketAddr,
    pub(crate) prov: Arc<Provisioner>,
    pub(crate) dir: tempfile::TempDir,
    stops: Vec<oneshot::Sender<()>>,
    erp_stop: Option<oneshot::Sender<()>>,
    prov_task: Option<tokio::task::JoinHandle<()>>,
    acs_task: Option<tokio::task::JoinHandle<()>>,
}

/// The provisioner's configuration in the lab: fast polls and retries.
pub(crate) fn prov_config(erp: SocketAddr) -> ProvisionerConfig {
    let mut c = ProvisionerConfig {
        erp: ErpConfig {
            base_url: format!("http://{erp}"),
            api_key: API_KEY.into(),
            api_secret: Secret::new(API_SECRET),
            retries: 1,
            retry_base: Duration::from_millis(50),
            timeout: Duration::from_secs(5),
            ..ErpConfig::default()
        },
        poll_interval: Duration::from_millis(300),
        readback_timeout: Duration::from_secs(20),
        ..ProvisionerConfig::default()
    };
    c.engine.retry_base_ms = 500;
    c.engine.retry_max_ms = 5_000;
    c.engine.writeback_base_ms = 100;
    c.engine.writeback_max_ms = 1_000;
    c
}

impl Lab {
    /// erp-sim with `records` seeded devices, an ACS and the provisioner.
    pub(crate) async fn start(records: u64) -> Self {
        logs();
        let erp = Arc::new(ErpSim::new(&ErpSimConfig {
            seed: SEED,
            devices: records,
            api_key: API_KEY.into(),
            api_secret: API_SECRET.into(),
        }));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let erp_addr = l.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(fibreplane_lab::erp::serve(l, erp.clone(), async {
            let _ = rx.await;
        }));
        let dir = tempfile::tempdir().unwrap();
        let mut lab = Self::start_acs(erp, erp_addr, dir).await;
        lab.erp_stop = Some(tx);
        lab
    }

    async fn start_acs(erp: Arc<ErpSim>, erp_addr: SocketAddr, dir: tempfile::TempDir) -> Self {
        let acs = Acs::open(AcsConfig {
            data_dir: dir.path().to_owned(),
            cpe_auth: CpeAuthMode::Digest,
            cpe_secret: Secret::new(CPE_SECRET),
            session_timeout: Duration::from_secs(20),
            ..AcsConfig::default()
        })
        .await
        .expect("ACS");
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let acs_addr = l.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let acs_task = tokio::spawn(acs::server::serve(acs.clone(), l, None, async {
            let _ = rx.await;
        }));
        let prov = Provisioner::new(acs.clone(), prov_config(erp_addr))
            .await
            .expect("provisioner");
        let (ptx, prx) = oneshot::channel::<()>();
        let prov_task = tokio::spawn(prov.clone().run(async {
            let _ = prx.await;
        }));
        Self {
            erp,
            erp_addr,
            acs,
            acs_addr,
            prov,
            dir,
            stops: vec![tx, ptx],
            erp_stop: None,
            prov_task: Some(prov_task),
            acs_task: Some(acs_task),
        }
    }

    /// Stops the provisioner and the ACS and starts both again on the same store (erp-sim
    /// keeps running): a restart of the control plane. Fleets must be shut down first (the
    /// ACS's graceful shutdown waits for their connections).
    pub(crate) async fn restart(mut self) -> Self {
        let erp_stop = self.erp_stop.take();
        for s in self.stops.drain(..) {
            let _ = s.send(());
        }
        for t in [self.prov_task.take(), self.acs_task.take()]
            .into_iter()
            .flatten()
        {
            let _ = t.await;
        }
        let Self {
            erp,
            erp_addr,
            acs,
            prov,
            dir,
            ..
        } = self;
        drop(prov);
        for _ in 0..2000 {
            if Arc::strong_count(&acs) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::task::spawn_blocking(move || drop(acs))
            .await
            .unwrap();
        let mut lab = Self::start_acs(erp, erp_addr, dir).await;
        lab.erp_stop = erp_stop;
        lab
    }

    /// A fleet of `count` CPEs starting at global index `offset` on `model`.
    pub(crate) async fn fleet(&self, count: usize, offset: u64, model: Arc<BaseModel>) -> Fleet {
        Fleet::start(SimConfig {
            acs_url: format!("http://{}/", self.acs_addr),
            model,
            count,
            serial_offset: offset,
            auth: CpeAuth::Digest(Credential::Secret(CPE_SECRET.into())),
            stagger: Duration::ZERO,
            concurrency: 64,
            ..SimConfig::default()
        })
        .await
        .expect("fleet")
    }

    /// Waits until `pred` holds, polling; false after `timeout`.
    pub(crate) async fn until(
        &self,
        timeout: Duration,
        mut pred: impl FnMut(&Self) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while tokio::time::Instant::now() < deadline {
            if pred(self) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pred(self)
    }

    /// The seeded equipment record of lab device `i`.
    pub(crate) fn record(&self, i: u64) -> serde_json::Map<String, serde_json::Value> {
        self.erp
            .get("Service Equipment", &format!("EQP-{:05}", i + 1))
            .expect("seeded record")
    }
}

/// A field of a record as text.
pub(crate) fn field(rec: &serde_json::Map<String, serde_json::Value>, k: &str) -> String {
    rec.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned()
}
