//! Child processes of a load run: building and locating the release binaries, starting the ACS,
//! and reading a process's CPU time and resident memory from `/proc`.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Builds the release binaries the load runs need.
pub fn build_release() -> anyhow::Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "-p",
            "fibreplane",
            "-p",
            "fibreplane-lab",
            "--bins",
        ])
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release failed");
    }
    Ok(())
}

/// The directory holding this executable: the release binaries sit beside it.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe
        .parent()
        .context("executable has no directory")?
        .to_owned())
}

/// A running `fibreplane acs`.
pub struct AcsProcess {
    /// The child.
    pub child: Child,
    /// Its CWMP URL.
    pub url: String,
    /// Its CWMP address.
    pub cwmp: SocketAddr,
    /// Its NBI address, when it serves one.
    pub nbi: Option<SocketAddr>,
}

impl Drop for AcsProcess {
    /// An ACS is never left running behind a scenario that failed half-way (nor holding what it
    /// inherited, such as a build lock's file descriptor).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// How to start `fibreplane acs` beyond the store directory and the CPE secret.
#[derive(Debug, Clone)]
pub struct AcsSpec {
    /// CWMP listen address (`127.0.0.1:0` picks a port).
    pub cwmp: SocketAddr,
    /// NBI listen address and bearer token, if the NBI is wanted.
    pub nbi: Option<(SocketAddr, String)>,
    /// Further command-line arguments.
    pub args: Vec<String>,
}

impl AcsSpec {
    /// CWMP on a free loopback port, no NBI, no further arguments.
    pub fn loopback() -> Self {
        Self {
            cwmp: SocketAddr::from(([127, 0, 0, 1], 0)),
            nbi: None,
            args: Vec::new(),
        }
    }
}

impl AcsProcess {
    /// Starts `fibreplane acs` on 127.0.0.1:0 with digest auth and the given secret.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        secret: &str,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let spec = AcsSpec {
            args: extra.iter().map(|s| (*s).to_owned()).collect(),
            ..AcsSpec::loopback()
        };
        Self::launch(&bin.join("fibreplane"), data_dir, secret, &spec)
    }

    /// Starts the `fibreplane` executable `exe` as an ACS with digest auth, and waits for the
    /// line that says where it listens (printed once the store is open and the ports bound).
    pub fn launch(
        exe: &Path,
        data_dir: &Path,
        secret: &str,
        spec: &AcsSpec,
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new(exe);
        cmd.args(["acs", "--cpe-auth", "digest", "--cwmp-listen"])
            .arg(spec.cwmp.to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .args(&spec.args)
            .env("FIBREPLANE_CPE_SECRET", secret)
            .env("FIBREPLANE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some((addr, token)) = &spec.nbi {
            cmd.arg("--nbi-listen")
                .arg(addr.to_string())
                .env("FIBREPLANE_NBI_TOKEN", token);
        }
        let mut child = cmd.spawn().context("starting fibreplane acs")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let v: serde_json::Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => {
                let _ = child.kill();
                let status = child.wait()?;
                bail!("the ACS printed no address line ({e}); it exited with {status}");
            }
        };
        let addr = |key: &str| -> anyhow::Result<Option<SocketAddr>> {
            v[key]
                .as_str()
                .map(|a| a.parse().with_context(|| format!("{key}: {a}")))
                .transpose()
        };
        let cwmp = addr("cwmp_listen")?.context("no cwmp_listen")?;
        let nbi = addr("nbi_listen")?;
        Ok(Self {
            child,
            url: format!("http://{cwmp}/"),
            cwmp,
            nbi,
        })
    }

    /// Kills the ACS with SIGKILL (no chance to flush anything) and reaps it.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Peak resident set size so far (`VmHWM`), in bytes.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        status_kib(self.child.id(), "VmHWM:").map(|kb| kb * 1024)
    }

    /// CPU time (user + system) consumed so far, in microseconds.
    pub fn cpu_micros(&self) -> anyhow::Result<u64> {
        cpu_micros(self.child.id())
    }

    /// Resident set size now, in bytes.
    pub fn rss_bytes(&self) -> anyhow::Result<u64> {
        rss_bytes(self.child.id())
    }

    /// Stops the ACS with SIGTERM (graceful) and waits.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait()?;
        Ok(())
    }
}

/// CPU time of a process (user + system), in microseconds, from `/proc/<pid>/stat`.
pub fn cpu_micros(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may contain spaces: fields follow the last ')'.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).context("no utime")?.parse()?;
    let stime: u64 = fields.get(12).context("no stime")?.parse()?;
    let hz = clock_ticks();
    Ok((utime + stime) * 1_000_000 / hz)
}

fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Resident set size of a process, in bytes, from `/proc/<pid>/status`.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS:").map(|kb| kb * 1024)
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Raises this process's open-file limit to its hard limit, so the load generators and the
/// children they start (which inherit it) can hold thousands of sockets. Returns the new limit.
pub fn raise_fd_limit() -> anyhow::Result<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    lim.current = lim.maximum;
    setrlimit(Resource::Nofile, lim).context("setrlimit(RLIMIT_NOFILE)")?;
    Ok(lim.current.unwrap_or(u64::MAX))
}

/// Total size of the files under a directory, in bytes.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
