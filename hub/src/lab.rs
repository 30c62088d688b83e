//! The lab network the demo and the hub's tests run against: an olt-sim whose ONU #i carries
//! cpe-sim CPE #i's serial, on ports of a 1:32 split, with its control API (fibre cuts, power
//! outages), and XX230v web-UI emulators standing for the first CPEs.

use crate::config::Config;
use fibreplane_lab::olt::{self as olt_sim, OltSimConfig, SerialStyle, SimVendor};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// ONUs per PON port in the lab OLT (a 1:32 split).
pub const ONUS_PER_PORT: u32 = 32;

/// A fresh random secret for a lab peer.
pub fn random_secret() -> String {
    hex::encode(rand::random::<[u8; 24]>())
}

/// Writes a lab secret to a file only the process's user can read.
pub fn secret_file(dir: &Path, name: &str, value: &str) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    std::io::Write::write_all(&mut f, value.as_bytes())?;
    Ok(path)
}

/// What lab network to build.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// CPEs (and as many ONUs, on ports of [`ONUS_PER_PORT`]).
    pub devices: usize,
    /// XX230v web-UI emulators for the first CPEs.
    pub modems: usize,
    /// OLT poll interval, seconds.
    pub poll_interval_secs: u64,
    /// Makes the peers' secrets `<prefix>-<name>` instead of random (for tests that search
    /// logs for them); `None` in normal use.
    pub secret_prefix: Option<String>,
}

impl LabOptions {
    /// The lab secret called `name`: random, or recognisable with a [`Self::secret_prefix`].
    fn secret(&self, name: &str) -> String {
        match &self.secret_prefix {
            Some(p) => format!("{p}-{name}"),
            None => random_secret(),
        }
    }
}

/// The lab peers around a control plane: an olt-sim with its control API, and XX230v web-UI
/// emulators. (The cpe-sim fleet is started once the ACS listens.)
pub struct LabPeers {
    olt_stop: tokio::sync::watch::Sender<bool>,
    /// The olt-sim agent (UDP).
    pub olt_addr: SocketAddr,
    /// The olt-sim control API.
    pub control_addr: SocketAddr,
    /// Its bearer token.
    pub control_token: String,
    /// The XX230v emulators.
    pub modems: Vec<fibreplane_lab::xx230v::RunningSim>,
    /// The UDP echo server the CPEs' pings and traceroutes reach (give its port to cpe-sim).
    pub echo_addr: SocketAddr,
    /// erp-sim, ERPNext's stand-in, seeded with one customer, location and ONT per CPE.
    pub erp: Arc<fibreplane_lab::erp::ErpSim>,
    /// Where erp-sim listens.
    pub erp_addr: SocketAddr,
    erp_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl LabPeers {
    /// Starts the peers and adds them to `config` (the OLT as `olt-demo`, the modems in the
    /// in-process bridge's allow-list, their secrets in files under `secrets_dir`).
    pub async fn start(
        args: &LabOptions,
        secrets_dir: &Path,
        config: &mut Config,
    ) -> anyhow::Result<Self> {
        let ports = (args.devices.max(1) as u32).div_ceil(ONUS_PER_PORT);
        let (olt_stop, stop_rx) = tokio::sync::watch::channel(false);
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
        let community = args.secret("olt-community");
        let handle = olt_sim::start(
            socket,
            &OltSimConfig {
                vendor: SimVendor::Huawei,
                ports,
                onus_per_port: ONUS_PER_PORT,
                seed: 1,
                serial_offset: 0,
                serials: SerialStyle::CpeSim {
                    prefix: "FPSIM".into(),
                },
                community: Some(community.clone()),
                v3_user: None,
                zte_zero_based: false,
            },
            stop_rx.clone(),
        )?;
        let olt_addr = handle.addr();
        let control = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let control_addr = control.local_addr()?;
        let control_token = args.secret("olt-control");
        tokio::spawn(olt_sim::serve_control(
            control,
            Arc::new(vec![handle]),
            Arc::new(control_token.clone()),
            stop_rx,
        ));
        config.olt.push(olt_poller::OltEntry {
            id: "olt-demo".into(),
            host: olt_addr.ip(),
            port: olt_addr.port(),
            version: "2c".into(),
            community: Some(olt_poller::SecretRef {
                env: None,
                file: Some(secret_file(secrets_dir, "olt-community", &community)?),
            }),
            user: None,
            auth_protocol: None,
            auth_password: None,
            priv_protocol: None,
            priv_password: None,
            vendor: "huawei".into(),
            firmware: None,
            interval_secs: args.poll_interval_secs.max(1),
            timeout_ms: 1000,
            retries: 1,
        });
        let mut modems = Vec::new();
        for i in 0..args.modems.min(args.devices) {
            let password = args.secret(&format!("modem-{i}"));
            let mut opts = fibreplane_lab::xx230v::SimOptions::new("user", &password);
            opts.identity = Some(fibreplane_lab::xx230v::cpe_sim_identity(i as u64, "FPSIM"));
            let sim =
                fibreplane_lab::xx230v::RunningSim::bind("127.0.0.1:0".parse()?, opts).await?;
            config.modem.modems.push(modem_bridge::ModemEntry {
                id: modem_bridge::ModemId::new(&sim.serial)?,
                address: sim.addr,
                username: "user".into(),
                password_env: None,
                password_file: Some(secret_file(secrets_dir, &format!("modem-{i}"), &password)?),
                profile: modem_bridge::ModemProfile::xx230v(),
            });
            modems.push(sim);
        }
        // ERPNext's stand-in with one Service Equipment row per CPE, and the provisioner on it.
        let erp_secret = args.secret("erp-api-secret");
        let erp = Arc::new(fibreplane_lab::erp::ErpSim::new(
            &fibreplane_lab::erp::ErpSimConfig {
                seed: 1,
                devices: args.devices as u64,
                api_key: "fibreplane".into(),
                api_secret: erp_secret.clone(),
            },
        ));
        let erp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let erp_addr = erp_listener.local_addr()?;
        let (erp_stop, erp_stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(fibreplane_lab::erp::serve(
            erp_listener,
            Arc::clone(&erp),
            async {
                let _ = erp_stopped.await;
            },
        ));
        config.provisioner.erp_url = Some(format!("http://{erp_addr}"));
        config.provisioner.erp_api_key = "fibreplane".into();
        config.provisioner.erp_api_secret_file =
            Some(secret_file(secrets_dir, "erp-api-secret", &erp_secret)?);
        config.provisioner.poll_interval_secs = 5;
        // Technicians' pings go to the lab's echo server on loopback (cpe-sim's ping is UDP echo).
        let echo_addr = fibreplane_lab::spawn_udp_echo("127.0.0.1:0".parse()?).await?;
        config.hub.ping_host = Some(echo_addr.ip().to_string());
        if !modems.is_empty() {
            config.modem.mode = "in_process".into();
            config.modem.path = "native".into();
        }
        Ok(Self {
            olt_stop,
            olt_addr,
            control_addr,
            control_token,
            modems,
            echo_addr,
            erp,
            erp_addr,
            erp_stop: Some(erp_stop),
        })
    }

    /// Stops every peer.
    pub async fn stop(mut self) {
        let _ = self.olt_stop.send(true);
        if let Some(s) = self.erp_stop.take() {
            let _ = s.send(());
        }
        for m in self.modems {
            m.stop().await;
        }
    }
}
