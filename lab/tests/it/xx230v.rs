//! xx230v-sim against a real peer: PyPI's `tplinkrouterc6u` (`TPLinkEXClient`), run out of
//! process from the venv `scripts/deps/tplink-client.sh` creates. It logging in and reading
//! status is the evidence that the emulator speaks the real protocol.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use fibreplane_lab::xx230v::{RunningSim, SimCipher, SimOptions, cpe_sim_identity};
use serde_json::Value;

const PASSWORD: &str = "lab-pw-1";

/// The venv's interpreter; a missing venv fails the test loudly (never a skip).
fn python() -> PathBuf {
    let tools = std::env::var_os("FIBREPLANE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/fibreplane/tools")
        });
    let py = tools.join("tplink-venv/bin/python");
    assert!(
        py.exists(),
        "{} missing: run scripts/deps/tplink-client.sh (./scripts/test.sh does)",
        py.display()
    );
    py
}

/// Runs the client script in a blocking thread (the emulator keeps serving on the runtime).
async fn client(addr: SocketAddr, mode: &str) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/xx230v_client.py");
    let (py, mode) = (python(), mode.to_owned());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(py)
            .arg(script)
            .arg(format!("http://{addr}"))
            .arg(mode)
            .env("SIM_PASSWORD", PASSWORD)
            .output()
            .expect("running python")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("client prints JSON")
}

async fn sim(opts: SimOptions) -> RunningSim {
    RunningSim::bind("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_ex_client_reads_status_from_the_emulator() {
    let s = sim(SimOptions::new("user", PASSWORD)).await;
    assert_eq!(s.serial, "22275A7000395");
    let v = client(s.addr, "read").await;
    // Values of the XX230v dump (schemas/data/tplink-xx230v.csv), as the real client parsed them.
    assert_eq!(v["model"], "XX230v");
    assert_eq!(v["firmware"], "0.6.0 3.0.0 v6066.0 Build 220630 Rel.56119n");
    assert_eq!(v["lan_mac"], "1C-61-B4-FB-2A-C8");
    assert_eq!(v["lan_ip"], "192.168.1.1");
    assert_eq!(v["wan_ip"], "192.168.89.137");
    assert_eq!(v["wan_gateway"], "192.168.89.1");
    assert_eq!(v["wan_netmask"], "255.255.255.255");
    assert_eq!(v["wifi_2g"], true);
    let mem = v["mem_usage"].as_f64().unwrap();
    assert!((mem - (1.0 - 73_940.0 / 212_544.0)).abs() < 1e-3, "{mem}");
    assert_eq!(v["optics"][0]["RXPower"], "5624");
    assert_eq!(v["optics"][0]["TXPower"], "14880");
    // The client logged out: a second client gets in without the "another user" refusal.
    let again = client(s.addr, "read").await;
    assert_eq!(again["model"], "XX230v");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_gcm_client_reads_from_a_gcm_emulator() {
    let mut opts = SimOptions::new("user", PASSWORD);
    opts.cipher = SimCipher::Gcm;
    opts.identity = Some(cpe_sim_identity(7, "FPSIM"));
    let s = sim(opts).await;
    assert_eq!(s.serial, "FPSIM00000007");
    let v = client(s.addr, "gcm").await;
    assert_eq!(v["model"], "XX230v");
    // cpe-sim's MAC block for CPE 7 is 7 * 8 = 0x38; the LAN MAC keeps its low bits (…C8 → +0).
    assert_eq!(v["lan_mac"], "1C-61-B4-00-00-38");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_client_sees_a_wrong_password_as_the_firmware_code() {
    let s = sim(SimOptions::new("user", PASSWORD)).await;
    let v = client(s.addr, "badpw").await;
    let err = v["error"].as_str().expect("login must fail");
    assert!(err.contains("wrong user or password"), "{err}");
    s.stop().await;
}

#[test]
fn the_binary_runs_several_modems_with_cpe_sim_identities() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_xx230v-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--count",
            "3",
            "--index",
            "41",
            "--password",
            PASSWORD,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let modems: Vec<Value> = (0..3)
        .map(|_| serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap())
        .collect();
    // Kill the child this test started before asserting, so a failure leaves nothing running.
    child.kill().unwrap();
    child.wait().unwrap();
    let serials: Vec<_> = modems
        .iter()
        .map(|m| m["serial"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(serials, ["FPSIM00000041", "FPSIM00000042", "FPSIM00000043"]);
    let addrs: std::collections::HashSet<_> = modems
        .iter()
        .map(|m| m["listen"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(addrs.len(), 3, "one listener each");
    assert!(addrs.iter().all(|a| a.starts_with("127.0.0.1:")));
}
