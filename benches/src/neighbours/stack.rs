//! The running system the faults are injected into: the `fibreplane` binary as a child process
//! (`fibreplane run --config`, its logs in a file), the lab peers in this process (olt-sim with
//! its control API, erp-sim, an XX230v emulator, a cpe-sim fleet) and Debian's Mosquitto as a
//! child process on a loopback port.

use anyhow::{Context, bail};
use fibreplane_lab::{CpeAuth, Credential, Fleet, SimConfig};
use hub::config::Config;
use hub::lab::{LabOptions, LabPeers, random_secret};
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::PoisonError;
use std::time::{Duration, Instant};

/// The MQTT topic prefix of the scenario's hub.
pub(crate) const PREFIX: &str = "fpneigh";

/// Debian's Mosquitto (installed by scripts/deps/mosquitto.sh).
const MOSQUITTO: &str = "/usr/sbin/mosquitto";

/// A Mosquitto broker on a loopback port, started from Debian's package with its own config.
pub(crate) struct Broker {
    child: std::sync::Mutex<Option<Child>>,
    /// Its port (kept across restarts).
    pub(crate) port: u16,
    conf: PathBuf,
}

impl Broker {
    /// Starts a broker on a free loopback port; its config lives in `dir`.
    pub(crate) fn start(dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )?;
        let b = Self {
            child: std::sync::Mutex::new(None),
            port,
            conf,
        };
        b.up()?;
        Ok(b)
    }

    /// Starts the broker again on the same port and waits until it accepts connections.
    pub(crate) fn up(&self) -> anyhow::Result<()> {
        let mut child = Command::new(MOSQUITTO)
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("{MOSQUITTO} (installed by scripts/deps/mosquitto.sh)"))?;
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                *self.child.lock().unwrap_or_else(PoisonError::into_inner) = Some(child);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("mosquitto did not listen on {}", self.port)
    }

    /// Kills the broker (SIGKILL: a crash, not a clean shutdown).
    pub(crate) fn kill(&self) {
        let child = self
            .child
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut c) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Secrets of the run: given to the child through the environment, never argv.
pub(crate) struct Secrets {
    pub(crate) hub_token: String,
    pub(crate) cpe: String,
}

/// Everything that runs during the scenario.
pub(crate) struct Lab {
    pub(crate) peers: LabPeers,
    pub(crate) broker: Broker,
    pub(crate) fleet: std::sync::Arc<Fleet>,
    pub(crate) child: Guarded,
    /// The child's stderr (its tracing log) and stdout.
    pub(crate) log: PathBuf,
    pub(crate) hub: SocketAddr,
    pub(crate) nbi: SocketAddr,
    pub(crate) secrets: Secrets,
    /// The modem id of the XX230v emulator in the bridge's allow-list.
    pub(crate) modem: String,
    secrets_dir: PathBuf,
    pub(crate) _dir: tempfile::TempDir,
}

impl Lab {
    /// Starts the peers, the broker, `fibreplane run` and a fleet of `cpes` CPEs, each
    /// registered with one session.
    pub(crate) async fn start(bin: &Path, cpes: usize) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let secrets_dir = dir.path().join("secrets");
        std::fs::create_dir_all(&secrets_dir)?;
        let mut config = Config::default();
        let peers = LabPeers::start(
            &LabOptions {
                devices: cpes,
                modems: 1,
                poll_interval_secs: 1,
                secret_prefix: None,
            },
            &secrets_dir,
            &mut config,
        )
        .await?;
        let broker = Broker::start(dir.path())?;
        let secrets = Secrets {
            hub_token: random_secret(),
            cpe: random_secret(),
        };
        let conf = dir.path().join("fibreplane.toml");
        std::fs::write(&conf, config_text(&config, dir.path(), broker.port)?)?;
        let log = dir.path().join("fibreplane.log");
        let out = dir.path().join("fibreplane.out");
        let child = Command::new(bin)
            .args(["run", "--config"])
            .arg(&conf)
            .env("FIBREPLANE_TOKEN", &secrets.hub_token)
            .env("FIBREPLANE_CPE_SECRET", &secrets.cpe)
            .env("FIBREPLANE_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(std::fs::File::create(&out)?)
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        // From here on an early return kills the child (and what it started).
        let mut child = Guarded(child);
        let addrs = match address_line(&out, &mut child.0).await {
            Ok(a) => a,
            Err(e) => {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                bail!("{e:#}; its log:\n{text}");
            }
        };
        let addr = |k: &str| -> anyhow::Result<SocketAddr> {
            addrs[k]
                .as_str()
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("{k} in {addrs}"))
        };
        let (cwmp, hub, nbi) = (
            addr("cwmp_listen")?,
            addr("hub_listen")?,
            addr("nbi_listen")?,
        );
        let fleet = Fleet::start(SimConfig {
            acs_url: format!("http://{cwmp}/"),
            count: cpes,
            auth: CpeAuth::Digest(Credential::Secret(secrets.cpe.clone())),
            stagger: Duration::ZERO,
            diag_echo_port: peers.echo_addr.port(),
            ..SimConfig::default()
        })
        .await?;
        for i in 0..cpes {
            fleet
                .inform(i, &[])
                .await
                .with_context(|| format!("registering CPE {i}"))?;
        }
        let modem = peers.modems[0].serial.clone();
        Ok(Self {
            peers,
            broker,
            fleet: std::sync::Arc::new(fleet),
            child,
            log,
            hub,
            nbi,
            secrets,
            modem,
            secrets_dir,
            _dir: dir,
        })
    }

    /// The child's log from byte `from` on, ANSI escapes removed.
    pub(crate) fn log_since(&self, from: u64) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let tail = bytes.get(from as usize..).unwrap_or_default();
        strip_ansi(&String::from_utf8_lossy(tail))
    }

    /// The log's current length (a mark for [`Self::log_since`]).
    pub(crate) fn log_mark(&self) -> u64 {
        std::fs::metadata(&self.log).map_or(0, |m| m.len())
    }

    /// The secrets the peers were given (OLT community, modem password, ERPNext API secret),
    /// read back from their files.
    pub(crate) fn secret_files(&self) -> Vec<String> {
        std::fs::read_dir(&self.secrets_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .map(|s| s.trim().to_owned())
            .collect()
    }

    /// Stops the child with SIGTERM (a graceful stop), then every peer. Whatever the child
    /// started and left behind is killed.
    pub(crate) async fn stop(mut self) -> anyhow::Result<bool> {
        let family = super::ptree::descendants(self.child.0.id());
        let _ = super::ptree::signal(self.child.0.id(), "TERM");
        let mut graceful = false;
        for _ in 0..200 {
            if let Some(status) = self.child.0.try_wait()? {
                graceful = status.success();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if self.child.0.try_wait()?.is_none() {
            let _ = self.child.0.kill();
            let _ = self.child.0.wait();
        }
        super::ptree::kill_survivors(&family);
        if let Ok(fleet) = std::sync::Arc::try_unwrap(self.fleet) {
            fleet.shutdown().await;
        }
        self.peers.stop().await;
        self.broker.kill();
        Ok(graceful)
    }
}

/// The `fibreplane run` child: killed with whatever it started if the scenario ends early, so
/// a failed run leaves nothing running.
pub(crate) struct Guarded(pub(crate) Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let family = super::ptree::descendants(self.0.id());
            let _ = self.0.kill();
            let _ = self.0.wait();
            super::ptree::kill_survivors(&family);
        }
    }
}

/// Waits for the child's machine-readable address line on stdout (written to `out`).
async fn address_line(out: &Path, child: &mut Child) -> anyhow::Result<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("fibreplane run exited with {status}");
        }
        let f = std::fs::File::open(out)?;
        let mut line = String::new();
        BufReader::new(f).read_line(&mut line)?;
        if line.ends_with('\n') {
            return serde_json::from_str(&line).context("the address line");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("fibreplane run printed no address line within 60 s")
}

/// The generated `fibreplane.toml`: loopback listeners, the lab's OLT, modem (browser path) and
/// ERPNext, and the broker.
fn config_text(c: &Config, dir: &Path, mqtt_port: u16) -> anyhow::Result<String> {
    let q = |p: &Path| format!("{:?}", p.display().to_string());
    let mut t = format!(
        "data_dir = {}\n\n[acs]\ncwmp_listen = \"127.0.0.1:0\"\ncpe_auth = \"digest\"\ncwmp_threads = 1\n\n\
         [nbi]\nlisten = \"127.0.0.1:0\"\n\n[hub]\nlisten = \"127.0.0.1:0\"\n\n",
        q(&dir.join("data"))
    );
    for o in &c.olt {
        let community = o
            .community
            .as_ref()
            .and_then(|s| s.file.as_ref())
            .context("the lab OLT's community file")?;
        t += &format!(
            "[[olt]]\nid = {:?}\nhost = \"{}\"\nport = {}\nversion = {:?}\ncommunity = {{ file = {} }}\n\
             vendor = {:?}\ninterval_secs = {}\ntimeout_ms = {}\nretries = {}\n\n",
            o.id,
            o.host,
            o.port,
            o.version,
            q(community),
            o.vendor,
            o.interval_secs,
            o.timeout_ms,
            o.retries
        );
    }
    // The browser path for every read, so a killed Chromium is a fault of this feature.
    t += "[modem]\nmode = \"in_process\"\npath = \"chromium\"\n\n";
    for m in &c.modem.modems {
        let pw = m
            .password_file
            .as_ref()
            .context("the lab modem's password file")?;
        t += &format!(
            "[[modem.modems]]\nid = {:?}\naddress = \"{}\"\nusername = {:?}\npassword_file = {}\n\n",
            m.id.to_string(),
            m.address,
            m.username,
            q(pw)
        );
    }
    t += &format!(
        "[mqtt]\nurl = \"mqtt://127.0.0.1:{mqtt_port}\"\ntopic_prefix = {PREFIX:?}\nclient_id = \"fibreplane-neighbours\"\n\n"
    );
    let p = &c.provisioner;
    t += &format!(
        "[provisioner]\nerp_url = {:?}\nerp_api_key = {:?}\nerp_api_secret_file = {}\npoll_interval_secs = 1\n",
        p.erp_url.as_deref().context("the lab's ERPNext URL")?,
        p.erp_api_key,
        q(p.erp_api_secret_file
            .as_ref()
            .context("the lab's ERPNext secret file")?)
    );
    Ok(t)
}

/// Removes ANSI colour sequences (ESC `[` … letter) from a log text.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip_ansi;

    #[test]
    fn colour_codes_are_removed_from_log_lines() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[33m WARN\u{1b}[0m OLT unreachable"),
            "2026  WARN OLT unreachable"
        );
    }
}
