//! `xx230v-sim`: an emulator of the TP-Link XX230v's web UI — the EX "cgi_gdpr" protocol, a login
//! page whose own JavaScript performs the RSA/AES login in a browser, and DEV2_* data from the
//! XX230v's real TR-181 dump. It follows the published protocol description (no TP-Link code):
//! textbook RSA sign with a 512-bit key, AES-128-CBC (or GCM) with the client's key, the
//! `JSESSIONID`, `TokenID` and `Referer` checks, one session at a time, a failed-login counter
//! with lock-out, and no compression.
//!
//! Architecture invariant: it only listens (on loopback in tests); it never opens a connection.

mod crypto;
mod data;
mod http;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use crypto::SimCipher;
pub use http::SimStats;
pub use state::Limits;

use crate::{BaseModel, CpeModel, Identity};

/// How one emulated modem behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Web UI username (`user` on EX firmware).
    pub username: String,
    /// Web UI password.
    pub password: String,
    /// AES variant.
    pub cipher: SimCipher,
    /// Login limits.
    pub limits: Limits,
    /// Answer 406 to `cgi_gdpr` requests that advertise gzip, as one report says the firmware
    /// does. Off by default: browsers always advertise gzip (the real UI works in them), so the
    /// default only refuses gzip-encoded bodies and never compresses.
    pub strict_accept_encoding: bool,
    /// Identity: `None` keeps the dump's own serial and MACs.
    pub identity: Option<Identity>,
}

impl SimOptions {
    /// A CBC modem with the dump's identity and these credentials.
    pub fn new(username: &str, password: &str) -> Self {
        Self {
            username: username.into(),
            password: password.into(),
            cipher: SimCipher::Cbc,
            limits: Limits::default(),
            strict_accept_encoding: false,
            identity: None,
        }
    }
}

/// The identity cpe-sim gives CPE number `index` (`FPSIM` + 8 digits, its MAC block), so a
/// modem emulator can stand for the same device as a cpe-sim CPE.
pub fn cpe_sim_identity(index: u64, prefix: &str) -> Identity {
    Identity {
        serial: format!("{prefix}{index:08}"),
        mac_base: (index.wrapping_mul(8) & 0xFF_FFFF) as u32,
        cr_url: String::new(),
    }
}

/// The identity of the built-in dump itself (serial 22275A7000395, MACs 1C:61:B4:FB:2A:C8…).
fn dump_identity() -> Identity {
    let model = fibreplane_schemas::DataModel::xx230v();
    let serial = model
        .value("Device.DeviceInfo.SerialNumber")
        .unwrap_or_default()
        .to_owned();
    // The device's MAC block: the last three bytes of its first interface MAC, low bits cleared
    // (cpe-sim adds each MAC's original low three bits back).
    let mac = model
        .value("Device.Ethernet.Link.1.MACAddress")
        .unwrap_or_default();
    let low: String = mac.split(':').skip(3).collect();
    let mac_base = u32::from_str_radix(&low, 16).unwrap_or(0) & !7;
    Identity {
        serial,
        mac_base,
        cr_url: String::new(),
    }
}

/// A running emulator.
#[derive(Debug)]
pub struct RunningSim {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The serial number it reports.
    pub serial: String,
    state: Arc<http::SimState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    /// Starts an emulator on a pre-bound listener.
    pub fn start(
        listener: tokio::net::TcpListener,
        base: Arc<BaseModel>,
        opts: SimOptions,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let identity = opts.identity.clone().unwrap_or_else(dump_identity);
        let model = CpeModel::new(base, identity);
        let serial = model
            .get(&model.rel("DeviceInfo.SerialNumber"))
            .unwrap_or_default();
        let state = Arc::new(http::SimState::new(opts, data::Dev2::from_model(&model)));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = state.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = axum::serve(listener, http::router(served))
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "xx230v-sim stopped");
            }
        });
        Ok(Self {
            addr,
            serial,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    /// Binds `addr` and starts an emulator of the built-in XX230v dump.
    pub async fn bind(addr: SocketAddr, opts: SimOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Self::start(listener, Arc::new(BaseModel::xx230v()), opts)
    }

    /// Its login counters.
    pub fn stats(&self) -> &SimStats {
        &self.state.stats
    }

    /// Makes every data-model read wait `delay` before its answer (a slow modem), from now on.
    pub fn set_read_delay(&self, delay: Duration) {
        self.state.read_delay_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Stops it and waits for the server task.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}
