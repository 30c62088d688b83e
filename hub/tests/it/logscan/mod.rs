//! No secret in the logs: the real `fibreplane demo` at `FIBREPLANE_LOG=trace`, every secret set
//! to a known value, traffic that uses each of them (provisioning pushes of WiFi and SIP
//! passwords, connection requests, NBI calls with bearer and Basic, refused logins, a technician
//! token issued and used, Kuma webhooks in all three forms, OLT polls, a modem read), then every
//! line of stdout and stderr searched for every secret in every form it travels in.

mod traffic;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HUB_TOKEN: &str = "hubStaffTOKEN-7c1e5a90d4b2";
const NBI_TOKEN: &str = "nbiTOKEN-f03b8e61a2c7";
const TECH_KEY: &str = "techJwtKEY-5d92c0e7b1a4-5d92c0e7b1a4";
const KUMA: &str = "kumaSECRET-a81f4c2e9d03";
const CPE_SECRET: &str = "cpeFleetSECRET-2e7d9b14c6f0";
const LAB: &str = "labSECRET-94c1d7e2";
const DEVICES: u64 = 3;

/// A secret and the name it is reported by.
struct Known {
    name: String,
    value: String,
}

/// The forms a secret travels in: raw, base64, percent-encoded, and (for the NBI token) inside a
/// Basic header.
fn forms(k: &Known) -> Vec<(String, String)> {
    let mut out = vec![
        (k.name.clone(), k.value.clone()),
        (format!("{} (base64)", k.name), STANDARD.encode(&k.value)),
    ];
    let pct = percent_encode(&k.value);
    if pct != k.value {
        out.push((format!("{} (percent-encoded)", k.name), pct));
    }
    out
}

/// Every byte but RFC 3986's unreserved characters as `%XX`.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Lines the demo prints on purpose: its banner shows the hub token and the lab OLT's control
/// token so that a newcomer can call the API and cut a fibre.
fn banner_may_show(line: &str, secret: &str) -> bool {
    let printed = [HUB_TOKEN.to_owned(), format!("{LAB}-olt-control")];
    printed.iter().any(|p| p == secret)
        && (line.starts_with("  token:")
            || line.starts_with("    curl -s")
            || line.starts_with("  cut PON port"))
}

fn device(i: u64) -> String {
    format!("1C61B4-Device2-FPSIM{i:08}")
}

fn spawn_demo(data_dir: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fibreplane"))
        .args([
            "demo",
            "--devices",
            &DEVICES.to_string(),
            "--modems",
            "1",
            "--cwmp-listen",
            "127.0.0.1:0",
            "--hub-listen",
            "127.0.0.1:0",
            "--nbi-listen",
            "127.0.0.1:0",
            "--interval",
            "2",
            "--poll-interval",
            "1",
            "--duration",
            "120",
            "--data-dir",
        ])
        .arg(data_dir)
        .env("FIBREPLANE_LOG", "trace")
        .env("FIBREPLANE_TOKEN", HUB_TOKEN)
        .env("FIBREPLANE_NBI_TOKEN", NBI_TOKEN)
        .env("FIBREPLANE_TECH_JWT_SECRET", TECH_KEY)
        .env("FIBREPLANE_KUMA_SECRET", KUMA)
        .env("FIBREPLANE_CPE_SECRET", CPE_SECRET)
        .env("FIBREPLANE_DEMO_LAB_SECRET_PREFIX", LAB)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the fibreplane binary starts")
}

/// Reads a pipe to the end on a thread; stdout lines are also sent as they come.
fn drain(
    pipe: impl Read + Send + 'static,
    lines: Option<std::sync::mpsc::Sender<String>>,
) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &lines {
                let _ = tx.send(line.clone());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    })
}

/// The address after `label` in the banner.
fn banner_addr(lines: &std::sync::mpsc::Receiver<String>, labels: &[&str]) -> Vec<String> {
    let mut found = vec![None; labels.len()];
    while found.iter().any(Option::is_none) {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the demo prints its banner");
        for (i, label) in labels.iter().enumerate() {
            if let Some(rest) = line.trim_start().strip_prefix(label) {
                let url = rest.split_whitespace().next().unwrap_or_default();
                found[i] = Some(url.trim_end_matches('/').to_owned());
            }
        }
    }
    found.into_iter().map(Option::unwrap).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_run_at_trace_level_logs_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = spawn_demo(&data_dir);
    let (tx, rx) = std::sync::mpsc::channel();
    let out = drain(child.stdout.take().unwrap(), Some(tx));
    let err = drain(child.stderr.take().unwrap(), None);
    let addrs = banner_addr(&rx, &["hub API:", "NBI:"]);
    let (hub, nbi) = (addrs[0].clone(), addrs[1].clone());
    let traffic = traffic::drive(&hub, &nbi, HUB_TOKEN, NBI_TOKEN, KUMA).await;
    // Ctrl-C, as an operator stops it; the demo shuts down cleanly and closes its pipes.
    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = child.wait().unwrap();
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "demo failed: {status}\n{stderr}");
    if let Err(e) = &traffic {
        panic!("the traffic did not happen as planned: {e}");
    }
    let issued_tech_token = traffic.unwrap();
    let verbose = stderr
        .lines()
        .filter(|l| l.contains("TRACE") || l.contains("DEBUG"))
        .count();
    assert!(verbose > 0, "debug and trace logging is on:\n{stderr}");

    let mut known = vec![
        ("hub staff token", HUB_TOKEN.to_owned()),
        ("NBI token", NBI_TOKEN.to_owned()),
        ("technician JWT key", TECH_KEY.to_owned()),
        ("issued technician token", issued_tech_token),
        ("Kuma secret", KUMA.to_owned()),
        ("CPE fleet secret", CPE_SECRET.to_owned()),
        ("SNMP community", format!("{LAB}-olt-community")),
        ("olt-sim control token", format!("{LAB}-olt-control")),
        ("modem password", format!("{LAB}-modem-0")),
        ("ERPNext API secret", format!("{LAB}-erp-api-secret")),
        (
            "NBI Basic header",
            STANDARD.encode(format!("nbi:{NBI_TOKEN}")),
        ),
    ]
    .into_iter()
    .map(|(n, v)| Known {
        name: n.to_owned(),
        value: v,
    })
    .collect::<Vec<_>>();
    let writer = acs_store::open(
        acs_store::EngineKind::Redb,
        &data_dir.join("fibreplane.redb"),
    )
    .unwrap();
    let store = writer.reader();
    for i in 0..DEVICES {
        let id = device(i);
        let cpe = acs::derive_password(&acs::Secret::new(CPE_SECRET), &id);
        known.push(Known {
            name: format!("CPE password of {id}"),
            value: cpe,
        });
        let dev = acs::DeviceId::parse(&id).unwrap();
        let meta = store.get(&dev).await.unwrap().expect("registered").value;
        assert!(!meta.cr_password.is_empty(), "the ACS set a CR password");
        known.push(Known {
            name: format!("connection-request password of {id}"),
            value: meta.cr_password,
        });
        let [_, _, (_, equipment)] = fibreplane_lab::erp::seed::device(1, i);
        for field in ["custom_wifi_password", "custom_sip_password"] {
            known.push(Known {
                name: format!("{field} of {id}"),
                value: equipment[field].as_str().unwrap().to_owned(),
            });
        }
    }
    let mut hits = Vec::new();
    for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        for (n, line) in text.lines().enumerate() {
            for k in &known {
                for (name, form) in forms(k) {
                    if line.contains(&form)
                        && !(stream == "stdout" && banner_may_show(line, &k.value))
                    {
                        hits.push(format!("{stream}:{}: {name}: {line}", n + 1));
                    }
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{} secret(s) in the output of a traced demo run:\n{}",
        hits.len(),
        hits.join("\n")
    );
}
