//! Path selection and per-modem serialisation: native first, the browser when the native path
//! reports a protocol mismatch; either can be forced. A modem has one web session, so reads of
//! the same modem queue behind each other, and a read that left the session open (its browser
//! died, its budget ran out) lets the next read of that modem take it over ([`WebSession`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::{Instrument as _, info_span, warn};

use crate::browser::ChromiumPool;
use crate::config::ModemTarget;
use crate::diag::{self, ModemDiagnostics, Readout};
use crate::error::BridgeError;
use crate::native::NativeClient;
use crate::plan::{self, Section};
use crate::websession::WebSession;

/// How long after a read left a modem's web session open the next read may take it over: the
/// XX230v ends an idle web session after five minutes, after which nobody needs taking over (and
/// anyone logged in is somebody else).
pub const TAKEOVER_WINDOW: Duration = Duration::from_secs(300);

/// Which path a read may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathChoice {
    /// Native, then Chromium on a protocol mismatch.
    #[default]
    Auto,
    /// Native only.
    Native,
    /// Chromium only.
    Chromium,
}

/// The path that produced a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UsedPath {
    /// The native client.
    Native,
    /// The browser.
    Chromium,
}

/// A read's result with how it was obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The path used.
    pub path: UsedPath,
    /// Wall time of the read, milliseconds.
    pub elapsed_ms: u64,
    /// The diagnostics.
    pub diagnostics: ModemDiagnostics,
}

/// Counters of the web sessions the bridge left open and took back.
#[derive(Debug, Default)]
pub struct SessionStats {
    /// Reads that ended with the modem's web session still open.
    pub left_open: AtomicU64,
    /// Logins that took over a session an earlier read had left open.
    pub taken_over: AtomicU64,
}

/// The bridge: both paths and the per-modem locks.
#[derive(Debug)]
pub struct Bridge {
    native: NativeClient,
    chromium: Option<Arc<ChromiumPool>>,
    /// Per modem: the read lock, and when a read last left the web session open.
    locks: Mutex<HashMap<SocketAddr, Arc<Mutex<Option<Instant>>>>>,
    read_timeout: Duration,
    sessions: SessionStats,
}

impl Bridge {
    /// A bridge; without a pool, Chromium reads fail with a configuration error.
    pub fn new(
        read_timeout: Duration,
        chromium: Option<Arc<ChromiumPool>>,
    ) -> Result<Self, BridgeError> {
        Ok(Self {
            native: NativeClient::new(read_timeout)?,
            chromium,
            locks: Mutex::new(HashMap::new()),
            read_timeout,
            sessions: SessionStats::default(),
        })
    }

    /// Web sessions left open and taken over.
    pub fn session_stats(&self) -> &SessionStats {
        &self.sessions
    }

    /// The browser pool, if any.
    pub fn chromium(&self) -> Option<&Arc<ChromiumPool>> {
        self.chromium.as_ref()
    }

    /// Reads `sections` of `target`.
    pub async fn read(
        &self,
        target: &ModemTarget,
        sections: &[Section],
        choice: PathChoice,
    ) -> Result<Report, BridgeError> {
        let lock = {
            let mut locks = self.locks.lock().await;
            locks.entry(target.addr).or_default().clone()
        };
        let mut left_open = lock.lock().await;
        let span = info_span!("modem_read", modem = %target.addr, path = ?choice);
        let start = Instant::now();
        let web = WebSession::new(left_open.is_some_and(|t| t.elapsed() < TAKEOVER_WINDOW));
        let result = self
            .read_paths(target, sections, choice, &web)
            .instrument(span)
            .await;
        if web.left_open() {
            warn!(modem = %target.addr, "a read left the modem's web session open; the next read may take it over");
            self.sessions.left_open.fetch_add(1, Ordering::Relaxed);
            *left_open = Some(Instant::now());
        } else if result.is_ok() {
            *left_open = None;
        }
        if web.took_over() {
            self.sessions.taken_over.fetch_add(1, Ordering::Relaxed);
        }
        let (path, readout) = result?;
        let diagnostics = diag::map(&readout, sections, &target.profile.optics);
        Ok(Report {
            path,
            elapsed_ms: start.elapsed().as_millis() as u64,
            diagnostics,
        })
    }

    async fn read_paths(
        &self,
        target: &ModemTarget,
        sections: &[Section],
        choice: PathChoice,
        web: &WebSession,
    ) -> Result<(UsedPath, Readout), BridgeError> {
        let calls = plan::calls_for(sections);
        Ok(match choice {
            PathChoice::Native => (
                UsedPath::Native,
                self.native_read(target, &calls, web).await?,
            ),
            PathChoice::Chromium => (
                UsedPath::Chromium,
                self.chromium_read(target, &calls, web).await?,
            ),
            PathChoice::Auto => match self.native_read(target, &calls, web).await {
                Ok(r) => (UsedPath::Native, r),
                Err(BridgeError::Protocol(why)) if self.chromium.is_some() => {
                    warn!(%why, "native path does not speak this firmware; using the browser");
                    (
                        UsedPath::Chromium,
                        self.chromium_read(target, &calls, web).await?,
                    )
                }
                Err(e) => return Err(e),
            },
        })
    }

    async fn native_read(
        &self,
        target: &ModemTarget,
        calls: &[plan::Call],
        web: &WebSession,
    ) -> Result<Readout, BridgeError> {
        tokio::time::timeout(self.read_timeout, self.native.read(target, calls, web))
            .await
            .map_err(|_| BridgeError::Timeout(self.read_timeout))?
    }

    async fn chromium_read(
        &self,
        target: &ModemTarget,
        calls: &[plan::Call],
        web: &WebSession,
    ) -> Result<Readout, BridgeError> {
        let pool = self
            .chromium
            .as_ref()
            .ok_or_else(|| BridgeError::Config("the Chromium path is not enabled".into()))?;
        pool.read(target, calls, web).await
    }
}
