//! The `cpe-sim` binary against the in-test ACS.

use std::collections::HashSet;

use crate::acs::{AcsAuth, TestAcs};

#[tokio::test]
async fn fifty_cpes_once_print_one_json_line() {
    let acs = TestAcs::start(AcsAuth::Open).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_cpe-sim"))
        .args([
            "--acs",
            &acs.url(),
            "--count",
            "50",
            "--once",
            "--duration",
            "60",
        ])
        .args([
            "--serial-offset",
            "1000",
            "--stagger",
            "0",
            "--concurrency",
            "8",
        ])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(v["sessions_ok"], 50, "{v}");
    assert_eq!(v["sessions_failed"], 0, "{v}");
    assert!(v["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(v["p99_ms"].as_f64().unwrap() >= v["p50_ms"].as_f64().unwrap());
    let seen = acs.seen();
    let serials: HashSet<_> = seen
        .informs
        .iter()
        .map(|i| i.device_id.serial_number.clone())
        .collect();
    assert_eq!(serials.len(), 50);
    assert!(serials.contains("FPSIM00001000") && serials.contains("FPSIM00001049"));
    assert!(seen.informs.iter().all(|i| i.has_event("0 BOOTSTRAP")));
}
