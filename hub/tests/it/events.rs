//! Live events: SSE subscribers see ONU changes after a fibre cut in olt-sim and a device's
//! sessions; the same events reach an MQTT subscriber through Debian's Mosquitto, also after the
//! broker restarts (the hub subscribes again on every reconnection).

use crate::harness::{self, Options, TOKEN};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WAIT: Duration = Duration::from_secs(20);

/// Opens `GET /events?topics=…` and returns a reader positioned after the headers.
async fn subscribe(t: &harness::TestStack, topics: &str) -> BufReader<tokio::net::TcpStream> {
    let mut s = tokio::net::TcpStream::connect(t.stack.addrs.hub)
        .await
        .unwrap();
    let req = format!(
        "GET /events?topics={topics} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    loop {
        line.clear();
        r.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            return r;
        }
    }
}

/// Reads SSE lines until an `event: <kind>` arrives; returns the data line that follows.
async fn next_event(r: &mut BufReader<tokio::net::TcpStream>, kind: &str) -> serde_json::Value {
    next_matching(r, kind, |_| true).await
}

/// Reads SSE events until one of `kind` whose data `want` accepts.
async fn next_matching(
    r: &mut BufReader<tokio::net::TcpStream>,
    kind: &str,
    accept: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let want = format!("event: {kind}");
    let found = tokio::time::timeout(WAIT, async {
        let mut line = String::new();
        let mut seen = false;
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap() == 0 {
                panic!("stream ended");
            }
            // Chunked framing puts sizes on their own lines; only SSE fields matter here.
            let l = line.trim();
            if l == want {
                seen = true;
            } else if seen && let Some(data) = l.strip_prefix("data: ") {
                let v = serde_json::from_str::<serde_json::Value>(data).unwrap();
                if accept(&v) {
                    return v;
                }
                seen = false;
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("no {kind} event within {WAIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_subscribers_see_a_fibre_cut_and_a_device_session() {
    let t = harness::start(Options {
        devices: 2,
        ..Options::default()
    })
    .await;
    t.polled().await;
    let mut network = subscribe(&t, "network").await;
    let device = "1C61B4-Device2-FPSIM00000001";
    let mut dev = subscribe(&t, &format!("device:{device}")).await;
    // Port 0 of the lab OLT holds every ONU of this small network.
    t.olt_control("/cut", json!({"port": 0})).await;
    let e = next_event(&mut network, "onu_offline").await;
    assert_eq!(e["topic"], "network");
    assert_eq!(e["data"]["cause"], "los", "{e}");
    t.fleet.inform(1, &["2 PERIODIC"]).await.unwrap();
    // (The provisioner may wake the device too: its sessions are `6 CONNECTION REQUEST`.)
    let e = next_matching(&mut dev, "informed", |e| {
        e["data"]["events"] == json!(["2 PERIODIC"])
    })
    .await;
    assert_eq!(e["topic"], format!("device:{device}"));
    assert_eq!(e["data"]["events"], json!(["2 PERIODIC"]));
    t.stop().await;
}

/// A Mosquitto broker on a loopback port, started from Debian's package with its own config.
struct Broker {
    child: std::process::Child,
    port: u16,
    dir: Option<tempfile::TempDir>,
}

impl Broker {
    fn start_on(port: u16, dir: tempfile::TempDir) -> Self {
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"),
        )
        .unwrap();
        let mut child = std::process::Command::new("/usr/sbin/mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mosquitto (installed by scripts/deps/mosquitto.sh)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Self {
                    child,
                    port,
                    dir: Some(dir),
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("mosquitto did not listen on {port}");
    }

    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port, tempfile::tempdir().unwrap())
    }

    /// Kills the broker and starts it again on the same port.
    fn restart(mut self) -> Self {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let dir = self.dir.take().expect("the broker's directory");
        Self::start_on(self.port, dir)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test subscriber: collects every message on `fptest/#`.
async fn mqtt_listener(
    port: u16,
) -> (
    rumqttc::AsyncClient,
    tokio::sync::mpsc::Receiver<(String, Vec<u8>)>,
) {
    let mut options = rumqttc::MqttOptions::new(format!("test-{}", rand_id()), "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 64);
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    let sub = client.clone();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = sub.subscribe("fptest/#", rumqttc::QoS::AtLeastOnce).await;
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec())).await;
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    (client, rx)
}

fn rand_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

async fn wait_for(rx: &mut tokio::sync::mpsc::Receiver<(String, Vec<u8>)>, topic: &str) -> Vec<u8> {
    tokio::time::timeout(WAIT, async {
        loop {
            let (t, payload) = rx.recv().await.expect("listener running");
            if t == topic {
                return payload;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("nothing on {topic} within {WAIT:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_subscribers_get_events_and_the_hub_resubscribes_after_the_broker_restarts() {
    let broker = Broker::start();
    let t = harness::start(Options {
        devices: 1,
        mqtt_port: Some(broker.port),
        ..Options::default()
    })
    .await;
    let (client, mut rx) = mqtt_listener(broker.port).await;
    let device = "1C61B4-Device2-FPSIM00000000";
    // Events of a session reach the device's topic.
    let mut got = None;
    for _ in 0..20 {
        t.fleet.inform(0, &["2 PERIODIC"]).await.unwrap();
        if let Ok(p) = tokio::time::timeout(
            Duration::from_secs(1),
            wait_for(&mut rx, &format!("fptest/device/{device}")),
        )
        .await
        {
            got = Some(p);
            break;
        }
    }
    let payload: serde_json::Value =
        serde_json::from_slice(&got.expect("a device event over MQTT")).unwrap();
    assert_eq!(payload["topic"], format!("device:{device}"));
    // The hub answers pings on its subscription...
    client
        .publish(
            "fptest/hub/ping",
            rumqttc::QoS::AtLeastOnce,
            false,
            b"one".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(wait_for(&mut rx, "fptest/hub/pong").await, b"one");
    // ...and again after the broker restarts: it reconnected and subscribed again.
    let broker = broker.restart();
    let mut answered = false;
    for _ in 0..40 {
        let _ = client.try_publish(
            "fptest/hub/ping",
            rumqttc::QoS::AtLeastOnce,
            false,
            b"two".to_vec(),
        );
        if tokio::time::timeout(
            Duration::from_millis(500),
            wait_for(&mut rx, "fptest/hub/pong"),
        )
        .await
        .is_ok()
        {
            answered = true;
            break;
        }
    }
    assert!(
        answered,
        "the hub subscribes again after the broker restarts"
    );
    assert!(
        t.stack
            .hub
            .bus
            .stats
            .mqtt_connects
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 2
    );
    drop(broker);
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fibre_cut_is_one_incident_on_sse_with_its_customers_and_kuma_reaches_the_correlator() {
    let t = harness::start(Options {
        devices: 4,
        locations: vec![(0, "LOC-00001"), (1, "LOC-00002")],
        ..Options::default()
    })
    .await;
    t.polled().await;
    let mut outages = subscribe(&t, "outages").await;
    let (_, olt) = t.get("/olt/olt-demo", Some(TOKEN)).await;
    let online = olt["snapshot"]["onus"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["state"] == "online")
        .count();
    // Port 0 holds the 32 ONUs of this network: a feeder cut takes down every one online.
    t.olt_control("/cut", json!({"port": 0})).await;
    let e = next_event(&mut outages, "opened").await;
    let incident = &e["data"]["incident"];
    assert_eq!(incident["kind"], "fibre_cut", "{e}");
    assert_eq!(
        incident["onus"].as_array().unwrap().len(),
        online,
        "{incident}"
    );
    let customers: Vec<&str> = incident["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(
        customers,
        ["CUST-00000", "CUST-00001"],
        "the directory's customers: {incident}"
    );
    let id = incident["id"].clone();
    let (status, list) = t.get("/outages?state=open", Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(list.to_string().contains(&id.to_string()), "{list}");
    assert_eq!(
        t.get("/outages", None).await.0,
        401,
        "the outage views are staff routes"
    );
    // Uptime Kuma's webhook is authenticated by its own secret.
    let kuma_down = include_str!("../../../incidents/testdata/kuma/down.json");
    let post = |secret: Option<&'static str>| {
        let mut req = t
            .client
            .post(t.url("/webhook/kuma"))
            .header("content-type", "application/json")
            .body(kuma_down);
        if let Some(s) = secret {
            req = req.bearer_auth(s);
        }
        req.send()
    };
    assert_eq!(post(None).await.unwrap().status().as_u16(), 401);
    assert_eq!(
        post(Some(TOKEN)).await.unwrap().status().as_u16(),
        401,
        "the staff token is not Kuma's"
    );
    assert_eq!(
        post(Some(harness::KUMA)).await.unwrap().status().as_u16(),
        202
    );
    let metrics = t.metrics().await;
    assert!(metrics.contains("incident"), "incident metrics exported");
    t.stop().await;
}
