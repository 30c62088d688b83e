//! Outward TLS from the hub, against servers on loopback with certificates from a test CA: MQTT
//! to Debian's Mosquitto on a TLS listener (`mqtts://`, `mqtt.ca_file`), and the modem bridge
//! read remotely over HTTPS (`modem.ca_file`). Without the CA, neither trusts the server.

use crate::harness::{self, Options, TOKEN};
use fibreplane_lab::tls::TestCa;
use hub::events::{EventBus, MqttConfig};
use std::sync::atomic::Ordering;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// Mosquitto with a plain listener (for the test's subscriber) and a TLS listener presenting a
/// certificate the test CA signed for 127.0.0.1.
struct TlsBroker {
    child: std::process::Child,
    plain: u16,
    tls: u16,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TlsBroker {
    fn start(ca: &TestCa) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = ca.issue(&["127.0.0.1"]).unwrap().write(dir.path()).unwrap();
        let (plain, tls) = (free_port(), free_port());
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "allow_anonymous true\npersistence false\n\
                 listener {plain} 127.0.0.1\n\
                 listener {tls} 127.0.0.1\ncertfile {}\nkeyfile {}\n",
                cert.display(),
                key.display()
            ),
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
            let up = |p| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok();
            if up(plain) && up(tls) {
                return Self {
                    child,
                    plain,
                    tls,
                    _dir: dir,
                };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("mosquitto did not listen on {plain} and {tls}");
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A subscriber on the plain listener: every message on `fptls/#`.
async fn subscriber(port: u16) -> tokio::sync::mpsc::Receiver<(String, Vec<u8>)> {
    let mut options = rumqttc::MqttOptions::new("tls-test-subscriber", "127.0.0.1", port);
    options.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 64);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = client.subscribe("fptls/#", rumqttc::QoS::AtLeastOnce).await;
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec())).await;
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    rx
}

/// The hub's MQTT publisher on `mqtts://127.0.0.1:<tls>`, trusting `ca_file` (or only the
/// system's roots); stopped by dropping the returned sender.
fn publisher(
    bus: &EventBus,
    port: u16,
    ca_file: Option<&std::path::Path>,
) -> tokio::sync::oneshot::Sender<()> {
    let url = format!("mqtts://127.0.0.1:{port}");
    let (host, port, tls) = MqttConfig::from_url(&url).unwrap();
    assert!(tls);
    let config = MqttConfig {
        host,
        port,
        tls: Some(acs::client_tls::verified(ca_file).unwrap()),
        prefix: "fptls".into(),
        client_id: "fibreplane-hub-tls".into(),
        credentials: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(hub::events::run_mqtt(bus.clone(), config, async {
        let _ = stopped.await;
    }));
    stop
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_over_tls_reaches_mosquitto_with_the_ca_and_not_without() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("broker CA").unwrap();
    let ca_file = ca.write_ca(dir.path(), "broker-ca.pem").unwrap();
    let broker = TlsBroker::start(&ca);
    let mut rx = subscriber(broker.plain).await;

    // Without the CA the broker's certificate is refused: no connection, ever.
    let refused = EventBus::new();
    let stop = publisher(&refused, broker.tls, None);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(refused.stats.mqtt_connects.load(Ordering::Relaxed), 0);
    drop(stop);

    // With it, events published on the bus arrive through the TLS listener.
    let bus = EventBus::new();
    let _stop = publisher(&bus, broker.tls, Some(&ca_file));
    let got = tokio::time::timeout(WAIT, async {
        loop {
            if bus.stats.mqtt_connected.load(Ordering::Relaxed) == 1 {
                bus.publish("network", "tls_probe", serde_json::json!({"n": 1}));
            }
            if let Ok(Some((topic, payload))) =
                tokio::time::timeout(Duration::from_millis(300), rx.recv()).await
            {
                return (topic, payload);
            }
        }
    })
    .await
    .expect("an event over mqtts:// within the wait");
    assert_eq!(got.0, "fptls/network");
    let event: serde_json::Value = serde_json::from_slice(&got.1).unwrap();
    assert_eq!(event["kind"], "tls_probe", "{event}");
    assert!(bus.stats.mqtt_connects.load(Ordering::Relaxed) >= 1);
}

#[test]
fn an_mqtt_tls_failure_is_said_plainly() {
    let refused = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        acs::client_tls::rustls::Error::InvalidCertificate(
            acs::client_tls::rustls::CertificateError::UnknownIssuer,
        ),
    );
    let e = rumqttc::ConnectionError::Tls(rumqttc::TlsError::Io(refused));
    let said = hub::events::mqtt_failure(&e);
    assert!(
        said.starts_with("TLS: invalid peer certificate") && said.contains("mqtt.ca_file"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_modem_bridge_is_read_over_https_only_with_its_ca() {
    for trust in [true, false] {
        let t = harness::start(Options {
            devices: 1,
            modems: 1,
            remote_modem_https: Some(trust),
            ..Options::default()
        })
        .await;
        assert!(
            t.config
                .modem
                .url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        );
        let (status, body) = t.get("/modem/FPSIM00000000/device", Some(TOKEN)).await;
        if trust {
            assert_eq!(status, 200, "{body}");
            assert_eq!(
                body["diagnostics"]["DeviceInfo"]["SerialNumber"], "FPSIM00000000",
                "{body}"
            );
        } else {
            assert_eq!(status, 502, "{body}");
            let said = body.to_string();
            assert!(
                said.contains("modem bridge: TLS: invalid peer certificate"),
                "{said}"
            );
        }
        t.stop().await;
    }
}
