//! A hostile modem: a proxy in front of the lab's XX230v emulator that mutates some of its
//! answers (the `getGDPRParm` announcement, login results, pages, encrypted data-model answers)
//! before the bridge's native client reads them. The client must return an error, never hang
//! past its timeouts, never panic. A clean pass first captures the plaintext answers as corpus.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fibreplane_lab::xx230v::{Limits, RunningSim, SimOptions};
use modem_bridge::native::NativeClient;
use modem_bridge::{Credentials, ModemProfile, ModemTarget, Secret};

use super::mutate::{Format, mutate};
use super::servers::serve_router;
use crate::rng::Rng;

const USER: &str = "user";
const PASSWORD: &str = "hostile-modem-pw";

/// The proxy's counters.
#[derive(Debug, Default)]
pub(crate) struct ProxyStats {
    /// Answers passed on unchanged.
    pub clean: AtomicU64,
    /// Answers mutated.
    pub mutated: AtomicU64,
}

#[derive(Clone)]
struct Proxy {
    upstream: SocketAddr,
    http: reqwest::Client,
    rng: Arc<Mutex<Rng>>,
    one_in: Arc<AtomicU64>,
    stats: Arc<ProxyStats>,
    captured: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// The emulator and the mutating proxy in front of it.
pub(crate) struct HostileModem {
    /// The proxy's address: what the bridge is pointed at.
    pub addr: SocketAddr,
    /// Counters.
    pub stats: Arc<ProxyStats>,
    /// Answers captured while mutation was off.
    pub captured: Arc<Mutex<Vec<Vec<u8>>>>,
    one_in: Arc<AtomicU64>,
    sim: Option<RunningSim>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl HostileModem {
    /// Starts the emulator (lock-out and idle expiry shortened, so a read cut short by a
    /// mutated login answer does not hold the modem's one web session for minutes) and the
    /// proxy.
    pub(crate) async fn start(seed: u64) -> anyhow::Result<Self> {
        let mut opts = SimOptions::new(USER, PASSWORD);
        opts.limits = Limits {
            max_failures: u32::MAX,
            lockout: Duration::from_millis(1),
            idle: Duration::from_millis(300),
        };
        let sim = RunningSim::bind("127.0.0.1:0".parse()?, opts).await?;
        let proxy = Proxy {
            upstream: sim.addr,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            rng: Arc::new(Mutex::new(Rng::new(seed))),
            one_in: Arc::new(AtomicU64::new(0)),
            stats: Arc::new(ProxyStats::default()),
            captured: Arc::new(Mutex::new(Vec::new())),
        };
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(proxy.clone());
        let (addr, stop) = serve_router(app).await?;
        Ok(Self {
            addr,
            stats: proxy.stats,
            captured: proxy.captured,
            one_in: proxy.one_in,
            sim: Some(sim),
            _stop: stop,
        })
    }

    /// Mutates one answer in `n` (0: none, and capture them).
    pub(crate) fn set_mutation(&self, n: u64) {
        self.one_in.store(n, Ordering::Relaxed);
    }

    /// The bridge's view of this modem.
    pub(crate) fn target(&self) -> ModemTarget {
        ModemTarget {
            addr: self.addr,
            profile: ModemProfile::xx230v(),
            credentials: Credentials {
                username: USER.into(),
                password: Secret::new(PASSWORD),
            },
        }
    }

    /// Stops the emulator.
    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.sim.take() {
            s.stop().await;
        }
    }
}

async fn forward(State(p): State<Proxy>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 4 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let url = format!(
        "http://{}{}",
        p.upstream,
        parts.uri.path_and_query().map_or("/", |x| x.as_str())
    );
    let mut headers = parts.headers.clone();
    // The emulator checks the Referer against the Host the client addressed: keep both.
    headers.remove(header::CONTENT_LENGTH);
    let upstream = p
        .http
        .request(parts.method.clone(), &url)
        .headers(headers)
        .body(body.to_vec())
        .send()
        .await;
    let Ok(up) = upstream else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = up.status();
    let mut keep = HeaderMap::new();
    for (k, v) in up.headers() {
        if k == header::SET_COOKIE || k == header::CONTENT_TYPE {
            keep.append(k.clone(), v.clone());
        }
    }
    let bytes = up.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    let one_in = p.one_in.load(Ordering::Relaxed);
    let out = {
        let mut rng = p
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if one_in > 0 && rng.below(one_in as usize) == 0 {
            p.stats.mutated.fetch_add(1, Ordering::Relaxed);
            let format = if bytes.first() == Some(&b'{') {
                Format::Json
            } else {
                Format::Text
            };
            mutate(&mut rng, format, &bytes, b"$.ret=0;").0
        } else {
            p.stats.clean.fetch_add(1, Ordering::Relaxed);
            if one_in == 0
                && let Ok(mut c) = p.captured.lock()
                && c.len() < 64
            {
                c.push(bytes.clone());
            }
            bytes
        }
    };
    (status, keep, Body::from(out)).into_response()
}

/// Outcomes of reads through the hostile proxy.
#[derive(Debug, Default, Clone)]
pub(crate) struct ReadOutcomes {
    /// The last error a read returned (no secrets: the bridge's errors never carry them).
    pub(crate) last_error: Option<String>,
    /// Reads that returned diagnostics.
    pub ok: u64,
    /// Reads that returned an error.
    pub err: u64,
    /// Reads past their bound.
    pub hung: u64,
    /// Reads that panicked.
    pub panicked: u64,
}

/// Runs `reads` full reads (login, every section's calls, logout), one after another.
pub(crate) async fn read_many(
    m: &HostileModem,
    reads: u64,
    bound: Duration,
) -> anyhow::Result<ReadOutcomes> {
    let client = NativeClient::new(Duration::from_secs(2))?;
    let calls = modem_bridge::plan::calls_for(&modem_bridge::Section::ALL);
    let target = m.target();
    let mut out = ReadOutcomes::default();
    for _ in 0..reads {
        let (c, t, calls) = (client.clone(), target.clone(), calls.clone());
        let read = tokio::spawn(async move {
            c.read(&t, &calls, &modem_bridge::WebSession::default())
                .await
                .map(|_| ())
        });
        match tokio::time::timeout(bound, read).await {
            Ok(Ok(Ok(()))) => out.ok += 1,
            Ok(Ok(Err(e))) => {
                out.err += 1;
                out.last_error = Some(e.to_string());
            }
            Ok(Err(_)) => out.panicked += 1,
            Err(_) => out.hung += 1,
        }
    }
    Ok(out)
}
