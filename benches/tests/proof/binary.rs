//! The `fibreplane` binary the scenarios run: built by the cargo that runs these tests, in the
//! same target directory and profile, before the first scenario starts. Another package's binary
//! is not among a test's artifacts (`CARGO_BIN_EXE_*` names only this package's own), and a copy
//! found lying in the target directory could be stale; a build that fails fails the test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The path of a freshly built `fibreplane` binary (built once per test process).
pub(crate) fn fibreplane() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

/// Runs `cargo build -p fibreplane --bin fibreplane` and returns the executable cargo reports.
fn build() -> PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--package", "fibreplane", "--bin", "fibreplane"])
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some((target_dir, profile)) = own_layout() {
        cargo
            .arg("--target-dir")
            .arg(target_dir)
            .args(["--profile", &profile]);
    }
    let out = cargo.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build -p fibreplane failed ({}); see its output above",
        out.status
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "fibreplane")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the fibreplane executable it built")
}

/// The target directory and profile this test executable was built in, read from its path
/// (`<target>/<profile dir>/deps/<test>`), so the binary is built beside it and shares its
/// compiled dependencies. `None` for any other layout: cargo's own defaults then apply.
fn own_layout() -> Option<(PathBuf, String)> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    if deps.file_name()? != "deps" {
        return None;
    }
    let profile_dir = deps.parent()?;
    let target_dir = profile_dir.parent()?;
    // Cross builds put a target triple between the two; its directory holds no `CACHEDIR.TAG`.
    if !target_dir.join("CACHEDIR.TAG").is_file() {
        return None;
    }
    let profile = match profile_dir.file_name()?.to_str()? {
        "debug" => "dev".to_owned(),
        other => other.to_owned(),
    };
    Some((Path::to_path_buf(target_dir), profile))
}
