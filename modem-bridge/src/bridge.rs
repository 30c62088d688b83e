//! Path selection and per-modem serialisation: native first, the browser when the native path
//! reports a protocol mismatch; either can be forced. A modem has one web session, so reads of
//! the same modem queue behind each other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
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

/// The bridge: both paths and the per-modem locks.
#[derive(Debug)]
pub struct Bridge {
    native: NativeClient,
    chromium: Option<Arc<ChromiumPool>>,
    locks: Mutex<HashMap<SocketAddr, Arc<Mutex<()>>>>,
    read_timeout: Duration,
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
        })
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
        let _one_session = lock.lock().await;
        let span = info_span!("modem_read", modem = %target.addr, path = ?choice);
        async {
            let start = Instant::now();
            let calls = plan::calls_for(sections);
            let (path, readout) = match choice {
                PathChoice::Native => (UsedPath::Native, self.native_read(target, &calls).await?),
                PathChoice::Chromium => (
                    UsedPath::Chromium,
                    self.chromium_read(target, &calls).await?,
                ),
                PathChoice::Auto => match self.native_read(target, &calls).await {
                    Ok(r) => (UsedPath::Native, r),
                    Err(BridgeError::Protocol(why)) if self.chromium.is_some() => {
                        warn!(%why, "native path does not speak this firmware; using the browser");
                        (
                            UsedPath::Chromium,
                            self.chromium_read(target, &calls).await?,
                        )
                    }
                    Err(e) => return Err(e),
                },
            };
            let diagnostics = diag::map(&readout, sections, &target.profile.optics);
            Ok(Report {
                path,
                elapsed_ms: start.elapsed().as_millis() as u64,
                diagnostics,
            })
        }
        .instrument(span)
        .await
    }

    async fn native_read(
        &self,
        target: &ModemTarget,
        calls: &[plan::Call],
    ) -> Result<Readout, BridgeError> {
        tokio::time::timeout(self.read_timeout, self.native.read(target, calls))
            .await
            .map_err(|_| BridgeError::Timeout(self.read_timeout))?
    }

    async fn chromium_read(
        &self,
        target: &ModemTarget,
        calls: &[plan::Call],
    ) -> Result<Readout, BridgeError> {
        let pool = self
            .chromium
            .as_ref()
            .ok_or_else(|| BridgeError::Config("the Chromium path is not enabled".into()))?;
        pool.read(target, calls).await
    }
}
