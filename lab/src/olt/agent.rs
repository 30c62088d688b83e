//! The UDP driver of one simulated OLT and the handle that changes its network.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::mib::{self, MibView};
use super::network::{Network, SerialStyle, SimVendor};
use super::proto::Responder;
use super::usm::{SimAuth, UsmUser};

/// How to build one simulated OLT.
#[derive(Debug, Clone)]
pub struct OltSimConfig {
    /// Vendor MIB shape.
    pub vendor: SimVendor,
    /// PON ports.
    pub ports: u32,
    /// ONUs per port.
    pub onus_per_port: u32,
    /// Seed of the generated network.
    pub seed: u64,
    /// Global index of the first ONU (serials and descriptions use offset + position).
    pub serial_offset: u64,
    /// Serial style.
    pub serials: SerialStyle,
    /// v2c community (none: v2c disabled).
    pub community: Option<String>,
    /// v3 user: name, auth protocol, auth password, optional AES-128 privacy password.
    pub v3_user: Option<(String, SimAuth, String, Option<String>)>,
    /// Number ZTE phase states as the MIB text (0-based) instead of V2.x firmware (1-based).
    pub zte_zero_based: bool,
}

impl Default for OltSimConfig {
    fn default() -> Self {
        Self {
            vendor: SimVendor::Huawei,
            ports: 16,
            onus_per_port: 32,
            seed: 1,
            serial_offset: 0,
            serials: SerialStyle::CpeSim {
                prefix: "FPSIM".to_owned(),
            },
            community: Some("public".to_owned()),
            v3_user: None,
            zte_zero_based: false,
        }
    }
}

/// Faults the control API injects into the agent's answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Delay before each reply.
    pub stall: Duration,
    /// Requests to drop (not answer) before answering again.
    pub drop_next: u64,
    /// Drop every request (a dead OLT).
    pub drop_all: bool,
    /// Answer tooBig to GETBULKs whose response would exceed this many varbinds.
    pub too_big_above: Option<usize>,
}

struct Shared {
    net: Mutex<Network>,
    view: RwLock<Arc<MibView>>,
    faults: Mutex<Faults>,
    zte_zero_based: bool,
    started: Instant,
    addr: SocketAddr,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handle on a running simulated OLT: its address and the network changes.
#[derive(Clone)]
pub struct OltSimHandle(Arc<Shared>);

impl std::fmt::Debug for OltSimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OltSimHandle")
            .field("addr", &self.0.addr)
            .finish_non_exhaustive()
    }
}

impl OltSimHandle {
    /// The agent's UDP address.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Applies a change to the network and re-renders the MIB view.
    pub fn change<R>(&self, f: impl FnOnce(&mut Network) -> R) -> R {
        let mut net = lock(&self.0.net);
        let r = f(&mut net);
        let ticks = u32::try_from(self.0.started.elapsed().as_millis() / 10).unwrap_or(u32::MAX);
        let view = Arc::new(mib::render(&net, ticks, self.0.zte_zero_based));
        *self.0.view.write().unwrap_or_else(PoisonError::into_inner) = view;
        r
    }

    /// Reads the network.
    pub fn read<R>(&self, f: impl FnOnce(&Network) -> R) -> R {
        f(&lock(&self.0.net))
    }

    /// Sets the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.0.faults) = faults;
    }

    /// The injected faults.
    pub fn faults(&self) -> Faults {
        *lock(&self.0.faults)
    }
}

/// Starts an agent on a bound socket; it serves until `shutdown` flips to true.
pub fn start(
    socket: UdpSocket,
    config: &OltSimConfig,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<OltSimHandle> {
    let addr = socket.local_addr()?;
    let net = Network::generate(
        config.vendor,
        config.ports,
        config.onus_per_port,
        config.seed,
        config.serial_offset,
        config.serials.clone(),
    );
    // RFC 3411 engine id: enterprise-format, text: unique per agent address.
    let mut engine_id = vec![0x80, 0x00, 0x1f, 0x88, 0x04];
    engine_id.extend_from_slice(format!("olt-sim-{}", addr.port()).as_bytes());
    let user = config
        .v3_user
        .as_ref()
        .map(|(name, auth, apw, ppw)| UsmUser::new(name, *auth, apw, ppw.as_deref(), &engine_id));
    let responder = Responder::new(
        config.community.as_ref().map(|c| c.as_bytes().to_vec()),
        user,
        engine_id,
    );
    let view = Arc::new(mib::render(&net, 0, config.zte_zero_based));
    let shared = Arc::new(Shared {
        net: Mutex::new(net),
        view: RwLock::new(view),
        faults: Mutex::new(Faults::default()),
        zte_zero_based: config.zte_zero_based,
        started: Instant::now(),
        addr,
    });
    tokio::spawn(serve(Arc::new(socket), shared.clone(), responder, shutdown));
    Ok(OltSimHandle(shared))
}

async fn serve(
    socket: Arc<UdpSocket>,
    shared: Arc<Shared>,
    mut responder: Responder,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                // ICMP errors from earlier replies surface here on some systems; keep serving.
                Err(_) => continue,
            },
            _ = shutdown.changed() => return,
        };
        let (stall, too_big_above) = {
            let mut f = lock(&shared.faults);
            if f.drop_all {
                continue;
            }
            if f.drop_next > 0 {
                f.drop_next -= 1;
                continue;
            }
            (f.stall, f.too_big_above)
        };
        responder.too_big_above = too_big_above;
        let view = shared
            .view
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let time = u32::try_from(shared.started.elapsed().as_secs()).unwrap_or(u32::MAX);
        let Some(reply) = responder.handle(&view, &buf[..n], time) else {
            continue;
        };
        if stall.is_zero() {
            let _ = socket.send_to(&reply, peer).await;
        } else {
            // A late reply, sent while the agent keeps answering others: what a poller's
            // timeout-and-retry path must cope with.
            let socket = socket.clone();
            tokio::spawn(async move {
                tokio::time::sleep(stall).await;
                let _ = socket.send_to(&reply, peer).await;
            });
        }
    }
}
