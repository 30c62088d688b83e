//! Child processes of a load run: building and locating the release binaries, starting the ACS,
//! and reading a process's CPU time and resident memory from `/proc`.

use anyhow::{Context, bail};
use std::io::{BufRead, BufReader};
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
}

impl AcsProcess {
    /// Starts `fibreplane acs` on 127.0.0.1:0 with digest auth and the given secret.
    pub fn start(
        bin: &Path,
        data_dir: &Path,
        secret: &str,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(bin.join("fibreplane"))
            .args([
                "acs",
                "--cwmp-listen",
                "127.0.0.1:0",
                "--cpe-auth",
                "digest",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .env("FIBREPLANE_CPE_SECRET", secret)
            .env("FIBREPLANE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting fibreplane acs")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let v: serde_json::Value =
            serde_json::from_str(line.trim()).context("reading the ACS's address line")?;
        let addr = v["cwmp_listen"].as_str().context("no cwmp_listen")?;
        Ok(Self {
            child,
            url: format!("http://{addr}/"),
        })
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
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")?;
    Ok(kb * 1024)
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
