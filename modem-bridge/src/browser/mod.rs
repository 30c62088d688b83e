//! The Chromium path: Debian's Chromium, headless, driven over CDP by `chromiumoxide`. The page's
//! own JavaScript logs in and encrypts; this module only fills the form and calls the page's
//! data API. It is the fallback for firmware whose crypto the native client does not speak.
//!
//! One browser process (a fresh profile directory each launch) serves a bounded pool of
//! incognito browser contexts, one page each, reused across reads. A read that fails drops its
//! page; a browser whose CDP connection ends is relaunched on the next read.
//!
//! Secrets: the password reaches the page inside a CDP `Runtime.evaluate` message. This crate
//! never logs it, but chromiumoxide logs every CDP message at TRACE level (target
//! `chromiumoxide::conn`): never run the bridge with that target at TRACE in production.

mod read;
mod script;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt as _;
use tokio::sync::{Mutex, Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::config::ModemTarget;
use crate::diag::Readout;
use crate::error::BridgeError;
use crate::plan::Call;
use crate::websession::WebSession;

/// Debian's real Chromium binary (not the `/usr/bin/chromium` wrapper, which sources
/// `/etc/chromium.d` and adds extension flags).
pub const DEBIAN_CHROMIUM: &str = "/usr/lib/chromium/chromium";

/// Flags added to chromiumoxide's defaults: no GPU, and no background traffic to the outside
/// (the management network has none, and the bridge must talk to modems only).
const EXTRA_FLAGS: [&str; 6] = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// Chromium path settings.
#[derive(Debug, Clone)]
pub struct ChromiumConfig {
    /// The browser binary.
    pub executable: PathBuf,
    /// Most concurrent reads (each holds one browser context and page).
    pub pool_size: usize,
    /// Budget of one whole read (login, calls, logout).
    pub read_timeout: Duration,
    /// Run without Chromium's sandbox: needed as root; the default when running as root.
    pub no_sandbox: bool,
    /// More command-line flags (after the built-in ones).
    pub extra_args: Vec<String>,
    /// Reads one browser context serves before it is disposed of. Reusing a warm page saves its
    /// set-up (a new context's first read costs ~0.5 s more), but Chromium keeps adding renderer
    /// processes to a long-lived tab that navigates (measured: 5 after 20 reads); disposing of
    /// the context ends them, which bounds the pool's memory.
    pub reads_per_context: u32,
}

impl Default for ChromiumConfig {
    fn default() -> Self {
        Self {
            executable: PathBuf::from(DEBIAN_CHROMIUM),
            pool_size: 2,
            read_timeout: Duration::from_secs(20),
            no_sandbox: running_as_root(),
            extra_args: Vec::new(),
            reads_per_context: 4,
        }
    }
}

/// Whether this process runs as uid 0 (read from `/proc`, which needs no unsafe FFI).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?;
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// A launched browser and what keeps it alive.
struct Live {
    browser: Browser,
    handler: JoinHandle<()>,
    /// Turns true when the CDP connection ends (the browser exited or was killed).
    gone: watch::Receiver<bool>,
    /// Deleted when the browser is dropped (after chromiumoxide kills the child).
    _profile: tempfile::TempDir,
    generation: u64,
}

/// A warm page in its own browser context.
struct Slot {
    page: Page,
    context: BrowserContextId,
    generation: u64,
    /// Reads served so far.
    uses: u32,
    /// The browser's [`Live::gone`].
    gone: watch::Receiver<bool>,
}

/// The browser and its pool of contexts.
pub struct ChromiumPool {
    config: ChromiumConfig,
    live: Mutex<Option<Live>>,
    idle: Mutex<Vec<Slot>>,
    permits: Semaphore,
    generations: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for ChromiumPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChromiumPool")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl ChromiumPool {
    /// A pool; the browser starts on the first read (or [`Self::warm_up`]).
    pub fn new(config: ChromiumConfig) -> Arc<Self> {
        let permits = Semaphore::new(config.pool_size.max(1));
        Arc::new(Self {
            config,
            live: Mutex::new(None),
            idle: Mutex::new(Vec::new()),
            permits,
            generations: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Starts the browser now instead of on the first read.
    pub async fn warm_up(&self) -> Result<(), BridgeError> {
        self.ensure_live().await.map(|_| ())
    }

    /// Browsers launched so far: the first launch and every relaunch after one died (for the
    /// metrics; more than one means the browser was lost at least once).
    pub fn launches(&self) -> u64 {
        self.generations.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The browser's process id (for memory accounting), if it runs.
    pub async fn browser_pid(&self) -> Option<u32> {
        let mut live = self.live.lock().await;
        live.as_mut()?
            .browser
            .get_mut_child()
            .and_then(|c| c.as_mut_inner().id())
    }

    /// Reads `calls` from `target` through the modem's own page, within the read budget; `web`
    /// follows the modem's web session.
    pub async fn read(
        self: &Arc<Self>,
        target: &ModemTarget,
        calls: &[Call],
        web: &WebSession,
    ) -> Result<Readout, BridgeError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| BridgeError::Browser("pool closed".into()))?;
        let slot = self.checkout().await?;
        let budget = self.config.read_timeout;
        let mut gone = slot.gone.clone();
        let read = async {
            tokio::select! {
                r = read::read(&slot.page, target, calls, web) => r,
                // A browser killed mid-read would otherwise leave its CDP calls waiting out the
                // whole budget.
                _ = gone.wait_for(|g| *g) => Err(BridgeError::Browser(
                    "the browser died during the read".into(),
                )),
            }
        };
        let outcome = tokio::time::timeout(budget, read).await;
        match outcome {
            Ok(Ok(readout)) => {
                let mut slot = slot;
                slot.uses += 1;
                if slot.uses < self.config.reads_per_context {
                    self.idle.lock().await.push(slot);
                } else {
                    // Disposed of off the read's path: the caller has its answer already.
                    let pool = self.clone();
                    tokio::spawn(async move { pool.discard(slot).await });
                }
                Ok(readout)
            }
            Ok(Err(e)) => {
                // A page in an unknown state is not reused; the modem session was logged out by
                // `read::read` where the page still answered.
                self.discard(slot).await;
                Err(e)
            }
            Err(_) => {
                warn!(modem = %target.addr, "browser read timed out");
                self.discard(slot).await;
                Err(BridgeError::Timeout(budget))
            }
        }
    }

    /// Closes the browser (its profile directory is removed).
    pub async fn shutdown(&self) {
        self.idle.lock().await.clear();
        if let Some(mut live) = self.live.lock().await.take() {
            let _ = live.browser.close().await;
            let _ = live.browser.wait().await;
            live.handler.abort();
        }
    }

    async fn checkout(&self) -> Result<Slot, BridgeError> {
        let generation = self.ensure_live().await?;
        {
            let mut idle = self.idle.lock().await;
            idle.retain(|s| s.generation == generation);
            if let Some(s) = idle.pop() {
                return Ok(s);
            }
        }
        let live = self.live.lock().await;
        let live = live
            .as_ref()
            .ok_or_else(|| BridgeError::Browser("browser not running".into()))?;
        let context = live
            .browser
            .create_browser_context(CreateBrowserContextParams::default())
            .await?;
        let params = CreateTargetParams::builder()
            .url("about:blank")
            .browser_context_id(context.clone())
            .build()
            .map_err(BridgeError::Browser)?;
        let page = live.browser.new_page(params).await?;
        debug!(generation, "new browser context");
        Ok(Slot {
            page,
            context,
            generation: live.generation,
            uses: 0,
            gone: live.gone.clone(),
        })
    }

    async fn discard(&self, slot: Slot) {
        let _ = slot.page.close().await;
        if let Some(live) = self.live.lock().await.as_ref() {
            let _ = live.browser.dispose_browser_context(slot.context).await;
        }
    }

    /// Launches the browser if it is not running or has died; answers its generation.
    async fn ensure_live(&self) -> Result<u64, BridgeError> {
        let mut guard = self.live.lock().await;
        if let Some(live) = guard.as_mut() {
            let exited = matches!(live.browser.try_wait(), Ok(Some(_)));
            if !exited && !live.handler.is_finished() {
                return Ok(live.generation);
            }
            warn!(generation = live.generation, "browser died; relaunching");
            live.handler.abort();
            *guard = None;
        }
        let profile = tempfile::Builder::new()
            .prefix("fibreplane-chromium-")
            .tempdir()
            .map_err(|e| BridgeError::Browser(format!("profile directory: {e}")))?;
        let mut builder = BrowserConfig::builder()
            .chrome_executable(&self.config.executable)
            .user_data_dir(profile.path())
            .launch_timeout(Duration::from_secs(20))
            .request_timeout(self.config.read_timeout)
            .args(EXTRA_FLAGS)
            .args(self.config.extra_args.iter().map(String::as_str));
        if self.config.no_sandbox {
            builder = builder.no_sandbox();
        }
        let config = builder.build().map_err(BridgeError::Browser)?;
        let (browser, mut handler) = Browser::launch(config).await?;
        let (gone_tx, gone) = watch::channel(false);
        let handler = tokio::spawn(async move {
            // The CDP connection ends when the browser exits: the task ending is how a dead
            // browser is noticed.
            while let Some(event) = handler.next().await {
                if let Err(e) = event {
                    warn!(error = %e, "CDP handler error; dropping the browser");
                    break;
                }
            }
            let _ = gone_tx.send(true);
        });
        let generation = self
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        info!(generation, "browser launched");
        *guard = Some(Live {
            browser,
            handler,
            gone,
            _profile: profile,
            generation,
        });
        Ok(generation)
    }
}
