//! The live services hostile input is sent to, all in this process on 127.0.0.1:0: an ACS
//! without CPE authentication (so every envelope reaches the parser and the session logic), the
//! NBI on the same ACS, the Kuma webhook router, and a second ACS with Digest authentication as
//! production runs it (for slowloris and oversized bodies).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use anyhow::Context as _;
use tokio::sync::oneshot;

/// The NBI token of the hostile run.
pub(crate) const NBI_TOKEN: &str = "hostile-nbi-token-0123456789";
/// The Kuma webhook secret of the hostile run.
pub(crate) const KUMA_SECRET: &str = "hostile-kuma-secret-0123456789";
/// The CPE secret of the Digest ACS.
pub(crate) const CPE_SECRET: &str = "hostile-cpe-secret";

/// One running ACS.
pub(crate) struct AcsServer {
    /// The ACS.
    pub acs: Arc<Acs>,
    /// Its CWMP address.
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl AcsServer {
    /// Opens an ACS on a fresh store and serves CWMP on 127.0.0.1:0.
    pub(crate) async fn start(mut config: AcsConfig) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        config.data_dir = dir.path().to_owned();
        let acs = Acs::open(config).await.context("opening the ACS")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let server = acs.clone();
        let task = tokio::spawn(async move {
            acs::server::serve(server, listener, None, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Self {
            acs,
            addr,
            _dir: dir,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Stops the server and closes the store off the runtime.
    pub(crate) async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        let acs = self.acs.clone();
        drop(self);
        let _ = tokio::task::spawn_blocking(move || drop(acs)).await;
    }
}

/// The fuzz ACS: no CPE authentication, so hostile bodies reach the parser; sessions expire
/// quickly and the session cap is high, because a run opens many sessions that never finish
/// (each input is sent on its own connection).
pub(crate) fn open_config() -> AcsConfig {
    AcsConfig {
        cpe_auth: CpeAuthMode::None,
        session_timeout: Duration::from_secs(5),
        max_sessions: 1_000_000,
        refresh_on_bootstrap: false,
        manage_cr_credentials: false,
        ..AcsConfig::default()
    }
}

/// The production-shaped ACS: Digest, default limits, with the header and idle timeouts given.
pub(crate) fn digest_config(header_timeout: Duration, idle_timeout: Duration) -> AcsConfig {
    AcsConfig {
        cpe_auth: CpeAuthMode::Digest,
        cpe_secret: Secret::new(CPE_SECRET),
        header_timeout,
        idle_timeout,
        refresh_on_bootstrap: false,
        manage_cr_credentials: false,
        ..AcsConfig::default()
    }
}

/// Serves an axum router on 127.0.0.1:0 until the returned sender is dropped.
pub(crate) async fn serve_router(
    app: axum::Router,
) -> anyhow::Result<(SocketAddr, oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok((addr, tx))
}

/// The NBI on `acs`, token-protected.
pub(crate) async fn nbi(acs: Arc<Acs>) -> anyhow::Result<(SocketAddr, oneshot::Sender<()>)> {
    let config = nbi::NbiConfig {
        access: nbi::Access::Token(nbi::Token::new(NBI_TOKEN)),
        fs_base_url: None,
        files: None,
    };
    serve_router(nbi::router(acs, config)).await
}

/// The Kuma webhook router with its service. The input queue is large so that a burst of valid
/// mutated events is queued rather than shed (shedding answers 503 by design).
pub(crate) async fn kuma() -> anyhow::Result<(SocketAddr, oneshot::Sender<()>)> {
    let config = incidents::ServiceConfig {
        input_queue: 1 << 17,
        ..Default::default()
    };
    let service =
        incidents::IncidentService::spawn(config, Arc::new(incidents::NoDirectory), None)?;
    let app = incidents::http::webhook_router(service, Secret::new(KUMA_SECRET));
    serve_router(app).await
}
