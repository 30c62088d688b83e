//! The `fibreplane` binary as an operator runs it: `fibreplane acs` starts, serves a CWMP session
//! over loopback, refuses an unusable configuration with a clear message, and stops gracefully on
//! SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn inform() -> Vec<u8> {
    inform_of("CLI0001")
}

/// The BOOTSTRAP Inform of the CPE with this serial.
fn inform_of(serial: &str) -> Vec<u8> {
    let inform = cwmp::Inform {
        device_id: cwmp::DeviceIdStruct {
            manufacturer: "TP-Link".into(),
            oui: "1C61B4".into(),
            product_class: "Device2".into(),
            serial_number: serial.into(),
        },
        events: vec![cwmp::EventStruct::new("0 BOOTSTRAP")],
        max_envelopes: 1,
        current_time: "2026-11-25T10:00:00Z".into(),
        retry_count: 0,
        parameters: Vec::new(),
    };
    cwmp::to_bytes(&cwmp::Envelope::new(
        cwmp::CwmpVersion::V1_2,
        "1",
        cwmp::Body::Inform(inform),
    ))
}

/// Sends one HTTP/1.1 POST on `stream` and returns the status code and body.
fn post(
    stream: &mut TcpStream,
    body: &[u8],
    cookie: Option<&str>,
) -> (u16, String, Option<String>) {
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: acs\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let code: u16 = status.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (mut len, mut set_cookie) = (0usize, None);
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        match k.to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().unwrap(),
            "set-cookie" => set_cookie = v.trim().split(';').next().map(str::to_owned),
            _ => {}
        }
    }
    let mut buf = vec![0; len];
    reader.read_exact(&mut buf).unwrap();
    (code, String::from_utf8_lossy(&buf).into_owned(), set_cookie)
}

#[test]
fn acs_serves_a_session_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args([
            "acs",
            "--cwmp-listen",
            "127.0.0.1:0",
            "--cpe-auth",
            "none",
            "--no-bootstrap-refresh",
            "--nbi-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path())
        .env("FIBREPLANE_NBI_TOKEN", "cli-nbi-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.split('"').nth(3).unwrap().to_owned();
    let nbi = line
        .split('"')
        .nth(7)
        .expect("nbi_listen in the address line")
        .to_owned();
    let mut s = TcpStream::connect(&addr).unwrap();
    let (code, body, cookie) = post(&mut s, &inform(), None);
    assert_eq!(code, 200);
    assert!(
        body.contains("InformResponse") && body.contains("urn:dslforum-org:cwmp-1-2"),
        "{body}"
    );
    let (code, _, _) = post(&mut s, b"", cookie.as_deref());
    assert!(code == 204 || code == 200, "{code}");
    assert!(dir.path().join("fibreplane.redb").exists());
    // The NBI lists the device for the token, and only for it.
    let get = |auth: &str| {
        let mut s = TcpStream::connect(&nbi).unwrap();
        write!(
            s,
            "HEAD /devices/ HTTP/1.1\r\nHost: nbi\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let ok = get("Authorization: Bearer cli-nbi-token\r\n");
    assert!(
        ok.starts_with("HTTP/1.1 200") && ok.contains("total: 1"),
        "{ok}"
    );
    assert!(get("").starts_with("HTTP/1.1 401"));
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status}");
}

#[test]
fn digest_without_a_secret_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args([
            "acs",
            "--cwmp-listen",
            "127.0.0.1:0",
            "--cpe-auth",
            "digest",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("FIBREPLANE_CPE_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FIBREPLANE_CPE_SECRET"), "{err}");
}

#[test]
fn an_nbi_without_a_token_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["acs", "--cwmp-listen", "127.0.0.1:0", "--cpe-auth", "none"])
        .args(["--nbi-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("FIBREPLANE_NBI_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FIBREPLANE_NBI_TOKEN"), "{err}");
}

#[test]
fn demo_brings_up_a_living_fleet_and_exits_after_its_duration() {
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args([
            "demo",
            "--devices",
            "5",
            "--cwmp-listen",
            "127.0.0.1:0",
            "--hub-listen",
            "127.0.0.1:0",
            "--duration",
            "4",
            "--interval",
            "1",
        ])
        .env("FIBREPLANE_CPE_SECRET", "demo-test-secret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !stdout.contains("demo-test-secret"),
        "the secret is never printed"
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.contains("devices"))
        .unwrap();
    let devices: u64 = last.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(devices, 5, "{stdout}");
    assert!(stdout.contains("hub API:"), "{stdout}");
    assert!(
        last.contains("ONUs    32"),
        "the OLT of the lab network is polled: {last}"
    );
}

/// Starts `fibreplane acs` with an NBI on `dir` and returns the child and the NBI address.
fn acs_with_nbi(dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["acs", "--cwmp-listen", "127.0.0.1:0", "--cpe-auth", "none"])
        .args(["--nbi-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("FIBREPLANE_NBI_TOKEN", "import-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let nbi = line.split('"').nth(7).unwrap().to_owned();
    (child, nbi)
}

fn nbi_get(addr: &str, target: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: nbi\r\nAuthorization: Bearer import-token\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    // Undo the chunked framing: the listing is small enough to arrive in few chunks.
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut text = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        text.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    text
}

#[test]
fn a_genieacs_export_imports_idempotently_and_the_nbi_returns_it_as_genieacs_did() {
    let dir = tempfile::tempdir().unwrap();
    let src = include_str!("../../../acs/nbi/tests/fixtures/genieacs/device-full.json");
    let original: serde_json::Value =
        serde_json::from_str::<Vec<serde_json::Value>>(src).unwrap()[0].clone();
    // mongoexport's JSON-lines form, with a second device and one broken line.
    let mut second = original.clone();
    second["_id"] = serde_json::json!("202BC1-BM632w-000001");
    let export = dir.path().join("devices.json");
    std::fs::write(&export, format!("{original}\n{second}\n")).unwrap();
    let presets = dir.path().join("presets.json");
    std::fs::write(
        &presets,
        "[{\"_id\":\"inform\",\"weight\":0,\"configurations\":[]}]",
    )
    .unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        concat!(
            "{\"_id\":\"cwmp.deviceOnlineThreshold\",\"value\":\"6000\"}\n",
            "{\"_id\":\"cwmp.auth\",\"value\":\"AUTH(DeviceID.SerialNumber, \\\"pw\\\")\"}\n",
            "{\"_id\":\"cwmp.connectionRequestAuth\",\"value\":\"AUTH(username, password)\"}\n",
        ),
    )
    .unwrap();
    let store = dir.path().join("store");
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
            .args(["import", "genieacs", "--data-dir"])
            .arg(&store)
            .arg("--devices")
            .arg(&export)
            .arg("--presets")
            .arg(&presets)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(report["devices"], 2);
        assert_eq!(report["presets"], 1);
        assert_eq!(report["config"], 3);
        assert_eq!(report["failed"], 0);
    }
    let (mut child, nbi) = acs_with_nbi(&store);
    let body = nbi_get(
        &nbi,
        "/devices/?query=%7B%22_id%22%3A%22202BC1-BM632w-000000%22%7D",
    );
    let listed: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    // Everything GenieACS returned, down to the document's own `_timestamp` (when its root was
    // last listed).
    assert_eq!(listed, vec![original], "the device as GenieACS returned it");
    let all: Vec<serde_json::Value> =
        serde_json::from_str(&nbi_get(&nbi, "/devices/?projection=_id")).unwrap();
    assert_eq!(all.len(), 2, "importing twice did not duplicate anything");
    let presets: Vec<serde_json::Value> =
        serde_json::from_str(&nbi_get(&nbi, "/presets/")).unwrap();
    assert_eq!(presets[0]["_id"], "inform");
    // GenieACS never read their ManagementServer.Password: both devices are adopting, bound to
    // the host of their ConnectionRequestURL and their WAN address.
    let creds: Vec<serde_json::Value> =
        serde_json::from_str(&nbi_get(&nbi, "/credentials")).unwrap();
    assert_eq!(creds.len(), 2, "{creds:?}");
    assert!(
        creds
            .iter()
            .all(|c| c["state"] == "adopting" && c["reason"] == "imported")
    );
    assert_eq!(
        creds[0]["bound"],
        serde_json::json!(["127.0.0.1", "172.3.89.139"])
    );
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn an_adoption_file_is_imported_and_a_bad_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let file = dir.path().join("adopt.txt");
    std::fs::write(&file, "# serial  address\nFPSIM00000042 192.0.2.42\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["import", "adoption", "--data-dir"])
        .arg(&store)
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), r#"{"adoptions":1}"#);
    std::fs::write(&file, "FPSIM00000043 192.0.2.300\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["import", "adoption", "--data-dir"])
        .arg(&store)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 1") && err.contains("not an address"),
        "{err}"
    );
}

#[test]
fn a_config_import_names_what_is_left_out_and_refuses_an_auth_expression_it_cannot_evaluate() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        concat!(
            "{\"_id\":\"cwmp.auth\",\"value\":\"AUTH(serialNumber, EXT('a', 'b', 'hunter2'))\"}\n",
            "{\"_id\":\"cwmp.gpvBatchSize\",\"value\":\"16\"}\n",
            "{\"_id\":\"cwmp.connectionRequestAuth\",\"value\":\"AUTH(username, password)\"}\n",
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["import", "genieacs", "--data-dir"])
        .arg(dir.path().join("store"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("document 1: cwmp.auth") && err.contains("unknown function EXT"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "literals are not echoed: {err}");
    assert!(
        err.contains("cwmp.gpvBatchSize is stored but not applied"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(
        (report["config"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn a_broken_export_reports_each_bad_document_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("devices.json");
    std::fs::write(
        &export,
        "{\"_id\":\"ok-1\",\"_deviceId\":{}}\n{\"no_id\":1}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["import", "genieacs", "--data-dir"])
        .arg(dir.path().join("store"))
        .arg("--devices")
        .arg(&export)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("document 2") && err.contains("no _id"),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(
        (report["devices"].as_u64(), report["failed"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn modem_read_reads_an_emulated_xx230v_natively_without_the_password_on_argv() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = std::sync::Arc::new(fibreplane_lab::BaseModel::xx230v());
        let opts = fibreplane_lab::xx230v::SimOptions::new("user", "cli-modem-pw");
        fibreplane_lab::xx230v::RunningSim::start(listener, base, opts).unwrap()
    });
    let read = |password: &str| {
        Command::new(env!("CARGO_BIN_EXE_fibreplane"))
            .args(["modem", "read", "--host"])
            .arg(sim.addr.to_string())
            .args([
                "--password-env",
                "CLI_MODEM_PW",
                "--path",
                "native",
                "--json",
            ])
            .env("CLI_MODEM_PW", password)
            .output()
            .unwrap()
    };
    let out = read("cli-modem-pw");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&sim.serial),
        "the emulated modem's serial is read: {stdout}"
    );
    assert!(
        !stdout.contains("cli-modem-pw"),
        "the password is never printed"
    );
    // A wrong password is a clear failure.
    let out = read("wrong");
    assert!(!out.status.success());
    drop(sim);
    drop(rt);
}

#[test]
fn run_starts_every_listener_from_a_config_file_with_environment_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fibreplane.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[acs]\ncwmp_listen = \"127.0.0.1:0\"\ncpe_auth = \"none\"\n[hub]\nlisten = \"127.0.0.1:1\"\n[nbi]\nlisten = \"127.0.0.1:0\"\n",
            dir.path().join("data")
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["run", "--config"])
        .arg(&config)
        // The environment overrides the file's (unusable) hub address.
        .env("FIBREPLANE_HUB_LISTEN", "127.0.0.1:0")
        .env("FIBREPLANE_TOKEN", "run-test-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addrs: serde_json::Value = serde_json::from_str(&line).expect("an address line");
    let hub = addrs["hub_listen"].as_str().unwrap().to_owned();
    assert!(addrs["nbi_listen"].is_string(), "{addrs}");
    let get = |path: &str, auth: &str| {
        let mut s = TcpStream::connect(&hub).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: hub\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(get("/healthz", "").starts_with("HTTP/1.1 200"));
    assert!(get("/olt", "").starts_with("HTTP/1.1 401"));
    let olts = get("/olt", "Authorization: Bearer run-test-token\r\n");
    assert!(olts.starts_with("HTTP/1.1 200"), "{olts}");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, not {status:?}");
}

#[test]
fn provision_sync_mirrors_erpnext_once_and_then_only_what_changed() {
    use fibreplane_lab::erp::{ErpSim, ErpSimConfig};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = std::sync::Arc::new(ErpSim::new(&ErpSimConfig {
        seed: 5,
        devices: 30,
        api_key: "cli-key".into(),
        api_secret: "cli-erp-secret".into(),
    }));
    let addr = rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(fibreplane_lab::erp::serve(
            l,
            sim.clone(),
            std::future::pending(),
        ));
        addr
    });
    let dir = tempfile::tempdir().unwrap();
    let sync = || {
        let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
            .args(["provision", "sync", "--erp-api-key", "cli-key", "--erp-url"])
            .arg(format!("http://{addr}"))
            .arg("--data-dir")
            .arg(dir.path())
            .env("FIBREPLANE_ERP_API_SECRET", "cli-erp-secret")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(!stdout.contains("cli-erp-secret") && !stderr.contains("cli-erp-secret"));
        serde_json::from_str::<serde_json::Value>(stdout.trim()).unwrap()
    };
    let first = sync();
    assert_eq!(
        (first["rows"].as_u64(), first["changed"].as_u64()),
        (Some(30), Some(30)),
        "{first}"
    );
    assert_eq!(first["state"]["records"], 30);
    let second = sync();
    assert_eq!(
        second["changed"], 0,
        "nothing changed since the watermark: {second}"
    );
    assert!(second["rows"].as_u64().unwrap() < 30, "{second}");
    let out = Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args(["provision", "sync", "--erp-api-key", "k"])
        .env_remove("FIBREPLANE_ERP_API_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FIBREPLANE_ERP_API_SECRET"));
}

/// Starts `fibreplane acs` on `listen` with a store in `dir`; output captured.
fn spawn_acs(listen: &str, dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args([
            "acs",
            "--cwmp-listen",
            listen,
            "--cwmp-threads",
            "2",
            "--cpe-auth",
            "none",
            "--no-bootstrap-refresh",
            "--data-dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_second_acs_on_the_same_port_fails_to_start_and_every_cpe_keeps_one_store() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = spawn_acs("127.0.0.1:0", a.path());
    let mut line = String::new();
    BufReader::new(first.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.split('"').nth(3).unwrap().to_owned();
    // SO_REUSEPORT would let this one join the first's listeners; the port claim refuses it
    // before any of its sockets listens.
    let mut second = spawn_acs(&addr, b.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            panic!("a second ACS started on the port of a running one");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(!status.success(), "the second ACS must not start");
    let mut err = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("already served by another fibreplane process"),
        "{err}"
    );
    // Every connection reaches the first ACS: twenty CPEs, each answered.
    for i in 0..20 {
        let mut s = TcpStream::connect(&addr).unwrap();
        let (code, body, _) = post(&mut s, &inform_of(&format!("PORT{i:04}")), None);
        assert_eq!(code, 200, "{body}");
    }
    assert!(
        !b.path().join("fibreplane.redb").exists(),
        "no second store"
    );
    Command::new("kill")
        .arg("-TERM")
        .arg(first.id().to_string())
        .status()
        .unwrap();
    assert!(first.wait().unwrap().success());
    // Once the first is gone the port is free again.
    let mut third = spawn_acs(&addr, b.path());
    let mut line = String::new();
    BufReader::new(third.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(&addr), "{line}");
    let _ = third.kill();
    let _ = third.wait();
}
