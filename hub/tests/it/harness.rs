//! A control plane on loopback for the API tests: `run::start` with the lab network (olt-sim,
//! XX230v emulators) and a cpe-sim fleet informing it, and a small HTTP client.

use acs::Secret;
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use hub::config::Config;
use hub::lab::{LabOptions, LabPeers};
use hub::run::{Extras, Secrets, Stack};
use std::time::Duration;

pub(crate) const TOKEN: &str = "hub-test-token-hub-test-token-hub";
pub(crate) const TECH_KEY: &str = "tech-key-tech-key-tech-key-tech-key";
pub(crate) const KUMA: &str = "kuma-secret-kuma-secret-kuma";
pub(crate) const CPE_SECRET: &str = "cpe-secret-for-hub-tests";
pub(crate) const NBI_TOKEN: &str = "nbi-test-token-nbi-test-token-nbi";

pub(crate) struct TestStack {
    pub(crate) stack: Stack,
    pub(crate) lab: LabPeers,
    pub(crate) fleet: Fleet,
    pub(crate) client: reqwest::Client,
    /// The configuration the stack was started with (lab peers included).
    pub(crate) config: Config,
    _dir: tempfile::TempDir,
}

/// Options of a test stack.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) devices: usize,
    pub(crate) modems: usize,
    pub(crate) mqtt_port: Option<u16>,
    pub(crate) trusted_proxy: bool,
    /// A trusted forward-auth proxy address other than 127.0.0.1 (so 127.0.0.1 is untrusted).
    pub(crate) trusted_proxy_addr: Option<std::net::IpAddr>,
    /// Also serve the NBI (token [`NBI_TOKEN`]) and the file server.
    pub(crate) nbi: bool,
    /// ERPNext links: device index → service location.
    pub(crate) locations: Vec<(usize, &'static str)>,
    /// Also poll the lab OLT under this second name (names the scrape must escape).
    pub(crate) olt_alias: Option<&'static str>,
    /// Read the modems through a remote bridge over HTTPS (a certificate from a test CA),
    /// trusting that CA (`true`) or only the system's roots (`false`).
    pub(crate) remote_modem_https: Option<bool>,
}

/// A directory of fixed links, standing for the provisioner's matched ERPNext records.
struct FixedDirectory(Vec<(String, hub::app::Links)>);

impl hub::app::Directory for FixedDirectory {
    fn links(&self, device: &str) -> hub::app::Links {
        self.0
            .iter()
            .find(|(d, _)| d == device)
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }
    fn devices_of_customer(&self, customer: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, l)| l.customer.as_deref() == Some(customer))
            .map(|(d, _)| d.clone())
            .collect()
    }
    fn devices_at(&self, location: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(_, l)| l.location.as_deref() == Some(location))
            .map(|(d, _)| d.clone())
            .collect()
    }
}

/// The ACS id of lab CPE `i`.
pub(crate) fn device(i: usize) -> String {
    format!("1C61B4-Device2-FPSIM{i:08}")
}

/// The remote bridge's bearer token in the tests.
const BRIDGE_TOKEN: &str = "bridge-token-bridge-token-bridge";

/// Serves the modem bridge over HTTPS for the modems the lab put in `config` and points the
/// stack at it as a remote bridge; with `trust`, the test CA is its `modem.ca_file`. The server
/// lives as long as the test's runtime.
async fn remote_bridge(config: &mut Config, dir: &std::path::Path, trust: bool) {
    use fibreplane_lab::tls::{TestCa, TlsListener};
    let ca = TestCa::new("bridge CA").unwrap();
    let cert = ca.issue(&["127.0.0.1"]).unwrap();
    let allow = modem_bridge::service::AllowList {
        modems: config.modem.modems.clone(),
    };
    let state = std::sync::Arc::new(
        modem_bridge::service::ApiState::new(
            modem_bridge::Bridge::new(Duration::from_secs(30), None).unwrap(),
            &allow,
            vec![Secret::new(BRIDGE_TOKEN)],
        )
        .unwrap()
        .with_default_path(modem_bridge::PathChoice::Native),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener::new(tcp, cert.server_config().unwrap());
    tokio::spawn(axum::serve(listener, modem_bridge::service::router(state)).into_future());
    config.modem.mode = "remote".into();
    config.modem.url = Some(format!("https://{addr}"));
    config.modem.ca_file = trust.then(|| ca.write_ca(dir, "bridge-ca.pem").unwrap());
}

pub(crate) async fn start(opts: Options) -> TestStack {
    let dir = tempfile::tempdir().unwrap();
    let secrets_dir = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets_dir).unwrap();
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.acs.cwmp_listen = "127.0.0.1:0".parse().unwrap();
    config.acs.cwmp_threads = 1;
    config.hub.listen = "127.0.0.1:0".parse().unwrap();
    if opts.trusted_proxy {
        config.hub.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    }
    if let Some(addr) = opts.trusted_proxy_addr {
        config.hub.trusted_proxies.push(addr);
    }
    if opts.nbi {
        config.nbi.listen = Some("127.0.0.1:0".parse().unwrap());
        config.fs.listen = Some("127.0.0.1:0".parse().unwrap());
    }
    if let Some(port) = opts.mqtt_port {
        config.mqtt.url = Some(format!("mqtt://127.0.0.1:{port}"));
        config.mqtt.topic_prefix = "fptest".into();
    }
    let lab = LabPeers::start(
        &LabOptions {
            devices: opts.devices,
            modems: opts.modems,
            poll_interval_secs: 1,
            secret_prefix: None,
        },
        &secrets_dir,
        &mut config,
    )
    .await
    .unwrap();
    if let Some(alias) = opts.olt_alias {
        let mut twin = config.olt[0].clone();
        twin.id = alias.into();
        config.olt.push(twin);
    }
    if let Some(trust) = opts.remote_modem_https {
        remote_bridge(&mut config, dir.path(), trust).await;
    }
    let secrets = Secrets {
        modem_token: opts.remote_modem_https.map(|_| Secret::new(BRIDGE_TOKEN)),
        cpe: Some(Secret::new(CPE_SECRET)),
        hub_token: Some(Secret::new(TOKEN)),
        tech_key: Some(Secret::new(TECH_KEY)),
        kuma: Some(Secret::new(KUMA)),
        nbi_token: Some(Secret::new(NBI_TOKEN)),
        ..Secrets::default()
    };
    let directory = FixedDirectory(
        opts.locations
            .iter()
            .map(|(i, loc)| {
                let links = hub::app::Links {
                    customer: Some(format!("CUST-{i:05}")),
                    location: Some((*loc).to_owned()),
                    equipment: Some(format!("EQP-{i:05}")),
                };
                (device(*i), links)
            })
            .collect(),
    );
    // Fixed links when a test names them; otherwise the provisioner's, from erp-sim.
    let extras = Extras {
        directory: (!opts.locations.is_empty())
            .then(|| std::sync::Arc::new(directory) as std::sync::Arc<dyn hub::app::Directory>),
    };
    let stack = hub::run::start(&config, secrets, extras).await.unwrap();
    let fleet = Fleet::start(SimConfig {
        acs_url: format!("http://{}/", stack.addrs.cwmp),
        count: opts.devices,
        auth: CpeAuth::Digest(Credential::Secret(CPE_SECRET.into())),
        stagger: Duration::ZERO,
        diag_echo_port: lab.echo_addr.port(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    for i in 0..opts.devices {
        fleet.inform(i, &[]).await.expect("registration");
    }
    TestStack {
        stack,
        lab,
        fleet,
        client: reqwest::Client::new(),
        config,
        _dir: dir,
    }
}

impl TestStack {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.stack.addrs.hub)
    }

    /// GET with a bearer token (or none); the status and the JSON body (null if not JSON).
    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// POST a JSON body.
    pub(crate) async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Calls olt-sim's control API.
    pub(crate) async fn olt_control(&self, path: &str, body: serde_json::Value) {
        let resp = self
            .client
            .post(format!("http://{}{path}", self.lab.control_addr))
            .bearer_auth(&self.lab.control_token)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            resp.status().is_success(),
            "olt-sim control {path}: {}",
            resp.status()
        );
    }

    /// Waits until the OLT has been polled at least once.
    pub(crate) async fn polled(&self) {
        for _ in 0..200 {
            if self
                .stack
                .hub
                .olt_views()
                .iter()
                .all(|(_, _, s)| s.is_some())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the lab OLT was never polled");
    }

    pub(crate) async fn stop(self) {
        self.fleet.shutdown().await;
        self.stack.stop().await;
        self.lab.stop().await;
    }
}

/// A technician token for `location`, valid ten minutes.
pub(crate) fn tech_token(location: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    hub::auth::issue_tech(
        TECH_KEY.as_bytes(),
        &hub::auth::TechClaims {
            sub: "tech-1".into(),
            job: "JOB-1".into(),
            loc: location.into(),
            iat: now,
            exp: now + 600,
        },
    )
    .unwrap()
}

impl TestStack {
    /// The Prometheus text of `/metrics`.
    pub(crate) async fn metrics(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}
