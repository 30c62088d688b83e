//! The `fibreplane` binary as an operator runs it: `fibreplane acs` starts, serves a CWMP session
//! over loopback, refuses an unusable configuration with a clear message, and stops gracefully on
//! SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn inform() -> Vec<u8> {
    let inform = cwmp::Inform {
        device_id: cwmp::DeviceIdStruct {
            manufacturer: "TP-Link".into(),
            oui: "1C61B4".into(),
            product_class: "Device2".into(),
            serial_number: "CLI0001".into(),
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
    assert!(stdout.contains("sessions ok"), "{stdout}");
}
