//! The composition root of `fibreplane run`: builds every component from the configuration, on
//! one embedded store, wires their events into the hub's bus, and serves every listener until
//! shutdown. `fibreplane demo` calls the same [`start`] with lab peers around it.

use crate::app::{Directory, Hub, HubMetrics, ModemAccess, NoDirectory};
use crate::auth::AuthConfig;
use crate::config::{Config, secret};
use crate::events::{EventBus, MqttConfig};
use acs::{Acs, AcsConfig, CpeAuthMode, Secret, StoreBackend};
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The secrets a stack needs, read from files or the environment (never argv).
#[derive(Clone, Default)]
pub struct Secrets {
    /// CPE passwords derive from it (Digest).
    pub cpe: Option<Secret>,
    /// Staff bearer token of the hub API.
    pub hub_token: Option<Secret>,
    /// NBI token (default: the hub's).
    pub nbi_token: Option<Secret>,
    /// Technician token key.
    pub tech_key: Option<Secret>,
    /// Uptime Kuma's shared secret.
    pub kuma: Option<Secret>,
    /// The remote modem bridge's token.
    pub modem_token: Option<Secret>,
    /// The MQTT broker password.
    pub mqtt_password: Option<Secret>,
    /// The ERPNext API secret of the provisioner's integration user.
    pub erp_api_secret: Option<Secret>,
}

impl Secrets {
    /// Reads each secret from its configured file, else its environment variable.
    pub fn load(c: &Config) -> anyhow::Result<Self> {
        Ok(Self {
            cpe: secret(c.acs.cpe_secret_file.as_ref(), "FIBREPLANE_CPE_SECRET")?,
            hub_token: secret(c.hub.token_file.as_ref(), "FIBREPLANE_TOKEN")?,
            nbi_token: secret(c.nbi.token_file.as_ref(), "FIBREPLANE_NBI_TOKEN")?,
            tech_key: secret(
                c.hub.tech_jwt_secret_file.as_ref(),
                "FIBREPLANE_TECH_JWT_SECRET",
            )?,
            kuma: secret(c.hub.kuma_secret_file.as_ref(), "FIBREPLANE_KUMA_SECRET")?,
            modem_token: secret(c.modem.token_file.as_ref(), "FIBREPLANE_MODEM_TOKEN")?,
            mqtt_password: secret(c.mqtt.password_file.as_ref(), "FIBREPLANE_MQTT_PASSWORD")?,
            erp_api_secret: secret(
                c.provisioner.erp_api_secret_file.as_ref(),
                "FIBREPLANE_ERP_API_SECRET",
            )?,
        })
    }
}

/// The addresses a running stack listens on.
#[derive(Debug, Clone, Copy)]
pub struct Addrs {
    /// CWMP.
    pub cwmp: SocketAddr,
    /// The hub API.
    pub hub: SocketAddr,
    /// The NBI, if configured.
    pub nbi: Option<SocketAddr>,
    /// The file server, if configured.
    pub fs: Option<SocketAddr>,
}

/// What tests give [`start`] instead of the configured components.
#[derive(Default)]
pub struct Extras {
    /// ERPNext links (instead of the provisioner's).
    pub directory: Option<Arc<dyn Directory>>,
}

/// A running control plane.
pub struct Stack {
    /// The hub's state (and through it every component).
    pub hub: Arc<Hub>,
    /// Where it listens.
    pub addrs: Addrs,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    cwmp: JoinHandle<anyhow::Result<()>>,
}

impl Stack {
    /// A future that resolves when the stack is told to stop (for components started later).
    pub fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Stops every listener and task, flushing the ACS's write-behind.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(i) = &self.hub.incidents {
            i.shutdown().await;
        }
        match self.cwmp.await {
            Ok(Err(e)) => tracing::error!(error = %e, "CWMP threads"),
            Err(e) => tracing::error!(error = %e, "CWMP task"),
            Ok(Ok(())) => {}
        }
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
        self.hub.acs.flush_bookkeeping().await;
    }
}

fn acs_config(c: &Config, s: &Secrets) -> anyhow::Result<AcsConfig> {
    let cpe_auth = match c.acs.cpe_auth.as_str() {
        "none" => CpeAuthMode::None,
        _ => CpeAuthMode::Digest,
    };
    if cpe_auth == CpeAuthMode::Digest && s.cpe.is_none() {
        bail!("acs.cpe_auth = digest needs FIBREPLANE_CPE_SECRET or acs.cpe_secret_file");
    }
    Ok(AcsConfig {
        cwmp_listen: c.acs.cwmp_listen,
        data_dir: c.data_dir.clone(),
        backend: if c.store == "sled" {
            StoreBackend::Sled
        } else {
            StoreBackend::Redb
        },
        cpe_auth,
        cpe_secret: s.cpe.clone().unwrap_or_default(),
        max_sessions: c.acs.max_sessions,
        session_timeout: Duration::from_secs(c.acs.session_timeout_secs),
        refresh_on_bootstrap: c.acs.bootstrap_refresh,
        ext_dir: c.acs.ext_dir.clone(),
        download_timeout: Duration::from_secs(c.acs.download_timeout_secs),
        adoption_window: Duration::from_secs(c.acs.adoption_window_days.saturating_mul(86_400)),
        vendor_defaults: crate::config::vendor_defaults(c.acs.vendor_defaults_file.as_ref())?,
        cr_tls: acs::CrTls {
            ca_file: c.acs.cr_tls_ca_file.clone(),
            skip_verify: c.acs.cr_tls_skip_verify,
        },
        ..AcsConfig::default()
    })
}

async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))
}

/// Builds and starts every configured component.
pub async fn start(c: &Config, s: Secrets, extras: Extras) -> anyhow::Result<Stack> {
    let hub_token = s
        .hub_token
        .clone()
        .context("the hub needs a staff token: FIBREPLANE_TOKEN or hub.token_file")?;
    let mut acs_cfg = acs_config(c, &s)?;
    std::fs::create_dir_all(&c.data_dir)
        .with_context(|| format!("creating {}", c.data_dir.display()))?;
    let threads = match c.acs.cwmp_threads {
        0 => (std::thread::available_parallelism().map_or(1, usize::from) / 2).max(1),
        n => n,
    };
    let shards = acs::server::bind_shards(acs_cfg.cwmp_listen, threads)
        .with_context(|| format!("binding {}", acs_cfg.cwmp_listen))?;
    let cwmp_addr = shards[0].local_addr()?;
    let fs = match c.fs.listen {
        Some(a) => {
            let l = bind(a).await?;
            let bound = l.local_addr()?;
            let url = match (&c.fs.url, bound.ip().is_unspecified()) {
                (Some(u), _) => u.trim_end_matches('/').to_owned(),
                (None, false) => format!("http://{bound}"),
                (None, true) => bail!("fs.listen {a} needs fs.url: the URL CPEs fetch files from"),
            };
            Some((l, url))
        }
        None => None,
    };
    acs_cfg.file_server_url = fs.as_ref().map(|(_, u)| u.clone());
    let acs = Acs::open(acs_cfg).await.context("opening the ACS")?;
    let (stop, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut tasks = Vec::new();
    let files = nbi::files::FileStore::new(c.data_dir.join("files")).context("files directory")?;
    let mut nbi_addr = None;
    if let Some(a) = c.nbi.listen {
        let l = bind(a).await?;
        nbi_addr = Some(l.local_addr()?);
        let token = s.nbi_token.clone().unwrap_or_else(|| hub_token.clone());
        let config = nbi::NbiConfig {
            access: nbi::Access::Token(nbi::Token::new(token.expose())),
            fs_base_url: fs.as_ref().map(|(_, u)| u.clone()),
            files: Some(files.clone()),
        };
        let serve = nbi::serve(acs.clone(), config, l, stopped());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "NBI stopped");
            }
        }));
    }
    let mut fs_addr = None;
    if let Some((l, _)) = fs {
        fs_addr = Some(l.local_addr()?);
        let serve = nbi::serve_files(acs.clone(), files, l, stopped());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "file server stopped");
            }
        }));
    }
    let (fleet, olt_ids) = olt_fleet(c)?;
    let modem = modem_access(c, &s)?;
    let bus = EventBus::new();
    let hub_l = bind(c.hub.listen).await?;
    let hub_addr = hub_l.local_addr()?;
    // Speed tests default to this hub's own endpoints when it listens on a definite address.
    let provisioner = match &c.provisioner.erp_url {
        Some(url) => {
            let mut pc = provisioner::ProvisionerConfig {
                erp: provisioner::erp::ErpConfig {
                    base_url: url.clone(),
                    ca_file: c.provisioner.erp_ca_file.clone(),
                    api_key: c.provisioner.erp_api_key.clone(),
                    // Given, or read from the configured file or the environment.
                    api_secret: match s.erp_api_secret.clone() {
                        Some(x) => Some(x),
                        None => secret(
                            c.provisioner.erp_api_secret_file.as_ref(),
                            "FIBREPLANE_ERP_API_SECRET",
                        )?,
                    }
                    .context(
                        "the provisioner needs FIBREPLANE_ERP_API_SECRET or provisioner.erp_api_secret_file",
                    )?,
                    ..provisioner::erp::ErpConfig::default()
                },
                poll_interval: Duration::from_secs(c.provisioner.poll_interval_secs.max(1)),
                ..provisioner::ProvisionerConfig::default()
            };
            pc.engine.push_on_change = c.provisioner.push_on_change;
            let prov = provisioner::Provisioner::new(acs.clone(), pc)
                .await
                .context("loading the provisioner's state")?;
            let run = Arc::clone(&prov).run(stopped());
            tasks.push(tokio::spawn(run));
            Some(prov)
        }
        None => None,
    };
    let directory: Arc<dyn Directory> = match (extras.directory, &provisioner) {
        (Some(d), _) => d,
        (None, Some(p)) => Arc::new(crate::app::ProvisionerDirectory(Arc::clone(p))),
        (None, None) => Arc::new(NoDirectory),
    };
    // Outage correlation runs whenever there is something to correlate: OLTs or Kuma.
    let incident_service = if fleet.is_some() || s.kuma.is_some() {
        let names = crate::app::IncidentDirectory {
            acs: acs.clone(),
            directory: Arc::clone(&directory),
        };
        Some(incidents::IncidentService::spawn(
            incidents::ServiceConfig::default(),
            Arc::new(names),
            fleet.as_ref().map(|f| f.subscribe()),
        )?)
    } else {
        None
    };
    let speedtest_url = c
        .hub
        .speedtest_url
        .clone()
        .or_else(|| (!hub_addr.ip().is_unspecified()).then(|| format!("http://{hub_addr}")));
    let hub = Arc::new(Hub {
        acs: acs.clone(),
        bus: bus.clone(),
        auth: AuthConfig {
            staff_tokens: vec![hub_token],
            trusted_proxies: c.hub.trusted_proxies.clone(),
            forward_user_header: c.hub.forward_user_header.to_ascii_lowercase(),
            tech_key: s.tech_key.clone(),
        },
        olts: fleet.clone(),
        olt_ids,
        reachable: Mutex::new(HashMap::new()),
        modem,
        directory,
        online_within_ms: c.hub.online_within_secs as i64 * 1000,
        metrics: HubMetrics::default(),
        diag: crate::app::DiagDefaults {
            ping_host: c.hub.ping_host.clone(),
            speedtest_url,
        },
        provisioner,
        incidents: incident_service,
        kuma_secret: s.kuma.clone(),
    });
    tasks.push(tokio::spawn(Arc::clone(&hub).follow_incidents()));
    if let Some(f) = &fleet {
        tasks.push(tokio::spawn(Arc::clone(&hub).follow_poller(f.subscribe())));
    }
    tasks.push(tokio::spawn(Arc::clone(&hub).follow_acs()));
    if let Some(url) = &c.mqtt.url {
        let (host, port, tls) = MqttConfig::from_url(url)?;
        let tls = if tls {
            Some(acs::client_tls::verified(c.mqtt.ca_file.as_deref()).context("mqtt.ca_file")?)
        } else {
            None
        };
        let config = MqttConfig {
            host,
            port,
            tls,
            prefix: c.mqtt.topic_prefix.clone(),
            client_id: c.mqtt.client_id.clone(),
            credentials: c.mqtt.username.clone().zip(s.mqtt_password.clone()),
        };
        tasks.push(tokio::spawn(crate::events::run_mqtt(
            bus,
            config,
            stopped(),
        )));
    }
    let serve = crate::api::serve(Arc::clone(&hub), hub_l, stopped());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "hub API stopped");
        }
    }));
    let cwmp = tokio::spawn({
        let acs = acs.clone();
        let stopped = stopped();
        async move {
            acs::server::serve_shards(acs, shards, None, stopped)
                .await
                .context("CWMP threads")
        }
    });
    tracing::info!(cwmp = %cwmp_addr, hub = %hub_addr, "control plane running");
    Ok(Stack {
        hub,
        addrs: Addrs {
            cwmp: cwmp_addr,
            hub: hub_addr,
            nbi: nbi_addr,
            fs: fs_addr,
        },
        stop,
        tasks,
        cwmp,
    })
}

/// The OLT poller over the configured OLTs, with a bounded optical history in the data dir.
fn olt_fleet(
    c: &Config,
) -> anyhow::Result<(Option<Arc<olt_poller::OltFleet>>, Vec<olt_poller::OltId>)> {
    if c.olt.is_empty() {
        return Ok((None, Vec::new()));
    }
    let history = olt_poller::RedbHistory::open(&c.data_dir.join("optical.redb"), 288)
        .context("opening the optical history")?;
    let mut fleet =
        olt_poller::OltFleet::new(olt_poller::FleetConfig::default(), Some(Arc::new(history)));
    let mut ids = Vec::new();
    for e in &c.olt {
        let olt = e.resolve().with_context(|| format!("OLT {}", e.id))?;
        ids.push(olt.id.clone());
        fleet.add(olt)?;
    }
    Ok((Some(Arc::new(fleet)), ids))
}

/// The modem bridge as configured: in process (its router, with an internal token), remote,
/// or none.
fn modem_access(c: &Config, s: &Secrets) -> anyhow::Result<Option<ModemAccess>> {
    match c.modem.mode.as_str() {
        "in_process" => {
            let timeout = Duration::from_secs(30);
            let path = match c.modem.path.as_str() {
                "native" => modem_bridge::PathChoice::Native,
                "chromium" => modem_bridge::PathChoice::Chromium,
                _ => modem_bridge::PathChoice::Auto,
            };
            let browser = (path != modem_bridge::PathChoice::Native).then(|| {
                modem_bridge::browser::ChromiumPool::new(modem_bridge::browser::ChromiumConfig {
                    read_timeout: timeout,
                    ..modem_bridge::browser::ChromiumConfig::default()
                })
            });
            let token = Secret::new(hex::encode(rand::random::<[u8; 32]>()));
            let allow = modem_bridge::service::AllowList {
                modems: c.modem.modems.clone(),
            };
            let state = Arc::new(
                modem_bridge::service::ApiState::new(
                    modem_bridge::Bridge::new(timeout, browser)?,
                    &allow,
                    vec![token.clone()],
                )?
                .with_default_path(path),
            );
            Ok(Some(ModemAccess::InProcess {
                router: modem_bridge::service::router(state.clone()),
                token,
                state,
            }))
        }
        "remote" => Ok(Some(ModemAccess::Remote {
            url: c.modem.url.clone().unwrap_or_default(),
            token: s
                .modem_token
                .clone()
                .context("modem.mode = remote needs FIBREPLANE_MODEM_TOKEN or modem.token_file")?,
            client: acs::client_tls::https_client(
                acs::client_tls::verified(c.modem.ca_file.as_deref()).context("modem.ca_file")?,
            ),
        })),
        _ => Ok(None),
    }
}
