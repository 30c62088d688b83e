//! The `fibreplane` binary the scenarios run: built by cargo for these tests, before the first
//! scenario starts. Another package's binary is not among a test's artifacts
//! (`CARGO_BIN_EXE_*` names only this package's own), and a copy found lying in the target
//! directory could be stale; a build that fails, or that yields no binary, fails the test.
//!
//! Inside `scripts/test.sh` the build repeats the suite's own `cargo test` arguments
//! (`FIBREPLANE_TEST_ARGS`) with `--no-run`, so it finds the binary that run has just built and
//! costs only a freshness check; any other build would resolve features differently and compile
//! much of the workspace a second time. Run on their own, the tests build `-p fibreplane` in their
//! own target directory and profile.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The path of a freshly built `fibreplane` binary (built once per test process).
pub(crate) fn fibreplane() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

/// What cargo sets for the test process it runs (this package's manifest and name, the test's
/// temporary directory). Left in place, they would reach the build scripts of the build below,
/// which some watch (`ring` reruns when `CARGO_MANIFEST_DIR` or `CARGO_PKG_NAME` change), so
/// every run would rebuild them and everything above them.
fn set_for_this_test(var: &str) -> bool {
    var.starts_with("CARGO_PKG_")
        || var.starts_with("CARGO_MANIFEST_")
        || matches!(
            var,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// Builds the binary and returns the executable cargo reports for it.
fn build() -> PathBuf {
    let mut cargo = Command::new(env!("CARGO"));
    cargo.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (var, _) in std::env::vars_os() {
        if var.to_str().is_some_and(set_for_this_test) {
            cargo.env_remove(var);
        }
    }
    match std::env::var("FIBREPLANE_TEST_ARGS") {
        Ok(suite) => {
            cargo
                .args(["test", "--no-run"])
                .args(suite.split_whitespace());
        }
        Err(_) => {
            cargo.args(["build", "--package", "fibreplane", "--bin", "fibreplane"]);
            if let Some((target_dir, profile)) = own_layout() {
                cargo
                    .arg("--target-dir")
                    .arg(target_dir)
                    .args(["--profile", &profile]);
            }
        }
    }
    let out = cargo
        .args(["--message-format", "json-render-diagnostics"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the fibreplane binary failed ({}); see cargo's output above",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| {
            // `cargo test` also builds the binary's own unit-test harness, under the same name.
            m["reason"] == "compiler-artifact"
                && m["target"]["name"] == "fibreplane"
                && m["target"]["kind"][0] == "bin"
                && m["profile"]["test"] == false
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported a fibreplane executable (FIBREPLANE_TEST_ARGS must include it)")
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
