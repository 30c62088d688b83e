//! Diagnostics end to end: `Acs::run_diagnostic` against cpe-sim CPEs (the XX230v, a TR-098
//! Huawei-style ONT, a generic TR-181 router) that really run the tests on loopback: UDP echo
//! for IPPing/TraceRoute, HTTP to a server this module starts for Download/Upload. Also the
//! fallback when `8 DIAGNOSTICS COMPLETE` never comes, a test lost to a reboot, refusals,
//! timeouts and an offline CPE.

use crate::e2e::{WAIT, id};
use crate::harness::{self, SECRET};
use crate::summary::{GENERIC, HUAWEI, ZTE};
use acs::diagnostics::{
    DiagError, DiagHost, DiagProgress, Diagnostic, Measurement, TestFailure, TestUrl,
};
use acs::{DeviceId, TaskStatus};
use bytes::Bytes;
use fibreplane_lab::{BaseModel, CpeAuth, Credential, Fleet, SimConfig};
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// An ACS that stops waiting for `8 DIAGNOSTICS COMPLETE` soon after a test's worst case.
fn config() -> acs::AcsConfig {
    acs::AcsConfig {
        diagnostic_margin: Duration::from_millis(500),
        diagnostic_poll_interval: Duration::from_millis(200),
        diagnostic_polls: 20,
        ..harness::config(std::path::Path::new("."))
    }
}

pub(crate) async fn sim(
    url: String,
    model: Option<&str>,
    echo_port: u16,
    drop_event: bool,
) -> Fleet {
    let mut config = SimConfig {
        acs_url: url,
        count: 1,
        auth: CpeAuth::Digest(Credential::Secret(SECRET.to_owned())),
        stagger: Duration::ZERO,
        diag_echo_port: echo_port,
        drop_diagnostics_complete: drop_event,
        ..SimConfig::default()
    };
    if let Some(csv) = model {
        config.model = Arc::new(BaseModel::from_csv(csv).expect("fixture model"));
    }
    let f = Fleet::start(config).await.expect("fleet");
    f.inform(0, &[]).await.expect("registration");
    f
}

/// An ACS and one registered CPE of a fleet serving `model` (default the XX230v).
async fn setup(
    cfg: acs::AcsConfig,
    model: Option<&str>,
    echo_port: u16,
    drop_event: bool,
) -> (harness::TestAcs, Fleet, DeviceId) {
    let t = harness::start(cfg).await;
    let f = sim(t.url(), model, echo_port, drop_event).await;
    let dev = id(&f, 0);
    (t, f, dev)
}

/// A UDP echo service (RFC 862) on loopback; returns its port.
async fn udp_echo() -> u16 {
    let lo = "127.0.0.1:0".parse().unwrap();
    fibreplane_lab::spawn_udp_echo(lo).await.unwrap().port()
}

/// A UDP port that swallows everything (a host that never answers).
async fn udp_silent() -> (UdpSocket, u16) {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sock.local_addr().unwrap().port();
    (sock, port)
}

/// A TR-143 test server: GET returns `size` bytes, PUT counts what it receives.
struct SpeedServer {
    addr: std::net::SocketAddr,
    gets: Arc<AtomicU64>,
    uploaded: Arc<AtomicU64>,
}

impl SpeedServer {
    async fn start(size: usize) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (gets, uploaded) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let file = Bytes::from(vec![0xA5u8; size]);
        let (g, u) = (gets.clone(), uploaded.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (file, g, u) = (file.clone(), g.clone(), u.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            let (file, g, u) = (file.clone(), g.clone(), u.clone());
                            async move {
                                let body = if req.method() == http::Method::PUT {
                                    let n = req
                                        .into_body()
                                        .collect()
                                        .await
                                        .map_or(0, |b| b.to_bytes().len());
                                    u.fetch_add(n as u64, Ordering::Relaxed);
                                    Bytes::new()
                                } else {
                                    g.fetch_add(1, Ordering::Relaxed);
                                    file
                                };
                                Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                    body,
                                )))
                            }
                        },
                    );
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Self {
            addr,
            gets,
            uploaded,
        }
    }

    fn url(&self) -> TestUrl {
        TestUrl::parse(&format!("http://{}/speedtest.bin", self.addr)).unwrap()
    }
}

fn ping(host: &str, count: u32, timeout_ms: u32) -> Diagnostic {
    Diagnostic::Ping {
        host: DiagHost::parse(host).unwrap(),
        count,
        timeout_ms,
        size: 64,
    }
}

fn trace(host: &str) -> Diagnostic {
    Diagnostic::TraceRoute {
        host: DiagHost::parse(host).unwrap(),
        max_hops: 5,
        timeout_ms: 1000,
    }
}

/// Runs a diagnostic, collecting its progress steps.
async fn run(
    t: &harness::TestAcs,
    dev: &DeviceId,
    d: Diagnostic,
    timeout: Duration,
) -> (
    Result<acs::diagnostics::DiagResult, DiagError>,
    Vec<DiagProgress>,
) {
    let (tx, mut rx) = mpsc::channel(16);
    let out = t.acs.run_diagnostic(dev, d, timeout, Some(tx)).await;
    let mut steps = Vec::new();
    while let Ok(p) = rx.try_recv() {
        steps.push(p);
    }
    (out, steps)
}

fn names(steps: &[DiagProgress]) -> Vec<&'static str> {
    steps.iter().map(DiagProgress::step).collect()
}

/// No task of the device is left pending (an abandoned diagnostic must not run later).
async fn no_pending_tasks(t: &harness::TestAcs, dev: &DeviceId) {
    let pending: Vec<_> = t
        .acs
        .store()
        .tasks(Some(dev))
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.status == TaskStatus::Pending)
        .collect();
    assert!(pending.is_empty(), "{pending:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_xx230v_pings_traces_and_downloads_for_real() {
    let (t, f, dev) = setup(config(), None, udp_echo().await, false).await;

    let (out, steps) = run(&t, &dev, ping("127.0.0.1", 3, 1000), WAIT).await;
    let r = out.unwrap();
    assert_eq!(
        names(&steps),
        ["queued", "cpe_contacted", "running", "complete"]
    );
    assert_eq!(
        (r.state.as_str(), r.via_poll),
        ("Completed", false),
        "the XX230v's spelling"
    );
    let Measurement::Ping(p) = r.measurement else {
        panic!("{r:?}")
    };
    assert_eq!((p.sent, p.ok, p.failed), (3, 3, 0));
    let (min, avg, max) = (p.min_ms.unwrap(), p.avg_ms.unwrap(), p.max_ms.unwrap());
    assert!(min <= avg && avg <= max, "{p:?}");
    assert_eq!(
        f.param(0, "Device.IP.Diagnostics.IPPing.SuccessCount")
            .as_deref(),
        Some("3")
    );

    let (out, _) = run(&t, &dev, trace("localhost"), WAIT).await;
    let Measurement::TraceRoute(tr) = out.unwrap().measurement else {
        panic!()
    };
    // Loopback is one hop; the dump's nine hops of an earlier run are gone from the store too.
    assert_eq!(tr.hops.len(), 1, "{tr:?}");
    assert_eq!(
        (tr.hops[0].host.as_str(), tr.hops[0].address.as_str()),
        ("localhost", "127.0.0.1")
    );
    assert_eq!(tr.hops[0].rtt_ms.len(), 3);

    let server = SpeedServer::start(512 * 1024).await;
    let d = Diagnostic::Download {
        url: server.url(),
        duration: None,
    };
    let (out, _) = run(&t, &dev, d, WAIT).await;
    let Measurement::Download(x) = out.unwrap().measurement else {
        panic!()
    };
    assert_eq!(server.gets.load(Ordering::Relaxed), 1);
    assert!(x.test_bytes >= 512 * 1024, "{x:?}");
    assert!(
        x.eom_us > x.bom_us && x.bom_us >= x.rom_us.unwrap(),
        "{x:?}"
    );
    let bps = x.throughput_bps.unwrap();
    assert_eq!(
        bps,
        x.test_bytes as f64 * 8e6 / (x.eom_us - x.bom_us) as f64
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tr098_ont_runs_all_four_tests() {
    let (t, f, dev) = setup(config(), Some(HUAWEI), udp_echo().await, false).await;
    let (out, _) = run(&t, &dev, ping("localhost", 2, 1000), WAIT).await;
    let r = out.unwrap();
    assert_eq!(
        (r.object.as_str(), r.state.as_str()),
        ("InternetGatewayDevice.IPPingDiagnostics", "Complete")
    );
    let Measurement::Ping(p) = r.measurement else {
        panic!()
    };
    assert_eq!(p.ok, 2);

    let (out, _) = run(&t, &dev, trace("127.0.0.1"), WAIT).await;
    let Measurement::TraceRoute(tr) = out.unwrap().measurement else {
        panic!()
    };
    assert_eq!(tr.hops[0].address, "127.0.0.1", "TR-098 HopHostAddress");

    let server = SpeedServer::start(64 * 1024).await;
    let d = Diagnostic::Download {
        url: server.url(),
        duration: None,
    };
    let (out, _) = run(&t, &dev, d, WAIT).await;
    let r = out.unwrap();
    assert_eq!(r.state, "Completed", "TR-098's TR-143 spelling");
    let Measurement::Download(x) = r.measurement else {
        panic!()
    };
    assert!(
        x.test_bytes >= 64 * 1024 && x.throughput_bps.is_some(),
        "{x:?}"
    );

    let d = Diagnostic::Upload {
        url: server.url(),
        length: 300_000,
    };
    let (out, _) = run(&t, &dev, d, WAIT).await;
    let Measurement::Upload(x) = out.unwrap().measurement else {
        panic!()
    };
    assert_eq!(server.uploaded.load(Ordering::Relaxed), 300_000);
    // TR-098 has no TestBytesSent: the connection's bytes, headers included.
    assert!(
        x.test_bytes > 300_000 && x.throughput_bps.is_some(),
        "{x:?}"
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_tr181_router_uploads_and_runs_a_time_based_download() {
    let (t, f, dev) = setup(config(), Some(GENERIC), udp_echo().await, false).await;
    let server = SpeedServer::start(32 * 1024).await;
    let d = Diagnostic::Upload {
        url: server.url(),
        length: 100_000,
    };
    let (out, _) = run(&t, &dev, d, WAIT).await;
    let r = out.unwrap();
    assert_eq!(r.state, "Complete");
    let Measurement::Upload(x) = r.measurement else {
        panic!()
    };
    assert!(
        x.test_bytes >= 100_000,
        "TestBytesSent includes the request head: {x:?}"
    );
    assert_eq!(server.uploaded.load(Ordering::Relaxed), 100_000);

    let d = Diagnostic::Download {
        url: server.url(),
        duration: Some(Duration::from_secs(1)),
    };
    let (out, _) = run(&t, &dev, d, WAIT).await;
    let Measurement::Download(x) = out.unwrap().measurement else {
        panic!()
    };
    assert!(server.gets.load(Ordering::Relaxed) >= 1);
    assert!(x.test_bytes >= 32 * 1024, "{x:?}");
    let written = f.param(
        0,
        "Device.IP.Diagnostics.DownloadDiagnostics.TimeBasedTestDuration",
    );
    assert_eq!(written.as_deref(), Some("1"));
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_outside_loopback_fail_with_the_models_error_states() {
    let (t, f, dev) = setup(config(), None, udp_echo().await, false).await;
    let (out, steps) = run(&t, &dev, ping("192.0.2.1", 1, 100), WAIT).await;
    assert!(
        matches!(out, Err(DiagError::Failed(TestFailure::NoRouteToHost))),
        "{out:?}"
    );
    assert_eq!(names(&steps).last(), Some(&"failed"));
    let (out, _) = run(&t, &dev, ping("speedtest.example", 1, 100), WAIT).await;
    assert!(
        matches!(
            out,
            Err(DiagError::Failed(TestFailure::CannotResolveHostName))
        ),
        "{out:?}"
    );
    let url = TestUrl::parse("http://198.51.100.7/file").unwrap();
    let (out, _) = run(
        &t,
        &dev,
        Diagnostic::Download {
            url,
            duration: None,
        },
        WAIT,
    )
    .await;
    assert!(
        matches!(out, Err(DiagError::Failed(TestFailure::NoRouteToHost))),
        "{out:?}"
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_event_the_acs_polls_the_state() {
    let (t, f, dev) = setup(config(), None, udp_echo().await, true).await;
    let (out, steps) = run(&t, &dev, ping("127.0.0.1", 2, 300), WAIT).await;
    let r = out.unwrap();
    assert!(r.via_poll);
    assert!(names(&steps).contains(&"polling"), "{steps:?}");
    let Measurement::Ping(p) = r.measurement else {
        panic!()
    };
    assert_eq!(p.ok, 2);
    let last = f.last_session(0).unwrap();
    assert!(
        !last.events.iter().any(|e| e == "8 DIAGNOSTICS COMPLETE"),
        "{:?}",
        last.events
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reboot_during_the_test_reports_it_lost() {
    let (_silent, port) = udp_silent().await;
    let (t, f, dev) = setup(config(), None, port, false).await;
    let (tx, mut rx) = mpsc::channel(16);
    let acs = t.acs.clone();
    let d = dev.clone();
    let job = tokio::spawn(async move {
        acs.run_diagnostic(&d, ping("127.0.0.1", 3, 5000), WAIT, Some(tx))
            .await
    });
    while let Some(p) = rx.recv().await {
        if p == DiagProgress::Running {
            break;
        }
    }
    f.power_cycle(0).await.unwrap();
    let out = job.await.unwrap();
    assert!(
        matches!(&out, Err(DiagError::Lost { state }) if state == "None"),
        "{out:?}"
    );
    no_pending_tasks(&t, &dev).await;
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_timeouts_and_offline_devices_leave_nothing_queued() {
    // An ACS that never discovered the tree asks a ZTE F660 (no TR-143 objects) to download.
    let cfg = acs::AcsConfig {
        refresh_on_bootstrap: false,
        ..config()
    };
    let (_silent, port) = udp_silent().await;
    let (t, f, dev) = setup(cfg, Some(ZTE), port, false).await;
    let server = SpeedServer::start(1024).await;
    let d = Diagnostic::Download {
        url: server.url(),
        duration: None,
    };
    let (out, _) = run(&t, &dev, d, WAIT).await;
    let Err(DiagError::Refused { code, detail, .. }) = out else {
        panic!("{out:?}")
    };
    assert_eq!(code, "cwmp.9003");
    assert!(detail.contains("9005"), "{detail}");
    no_pending_tasks(&t, &dev).await;

    // The test outlasts the caller's patience.
    let (out, _) = run(
        &t,
        &dev,
        ping("127.0.0.1", 3, 5000),
        Duration::from_millis(1500),
    )
    .await;
    assert!(matches!(out, Err(DiagError::Timeout(_))), "{out:?}");
    no_pending_tasks(&t, &dev).await;

    // Offline: the connection request fails and the request is withdrawn.
    f.shutdown().await;
    let (out, steps) = run(&t, &dev, ping("127.0.0.1", 1, 100), WAIT).await;
    assert!(
        matches!(out, Err(DiagError::ConnectionRequest(_))),
        "{out:?}"
    );
    assert_eq!(names(&steps), ["queued", "failed"]);
    no_pending_tasks(&t, &dev).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_tree_without_the_test_is_refused_before_any_traffic() {
    let (t, f, dev) = setup(config(), Some(ZTE), udp_echo().await, false).await;
    let before = f.sessions(0);
    let url = TestUrl::parse("http://127.0.0.1:9/x").unwrap();
    let d = Diagnostic::Upload { url, length: 10 };
    let out = t.acs.run_diagnostic(&dev, d, WAIT, None).await;
    let unsupported = "InternetGatewayDevice.UploadDiagnostics";
    assert!(
        matches!(&out, Err(DiagError::NotSupported(o)) if o == unsupported),
        "{out:?}"
    );
    assert_eq!(f.sessions(0), before);
    no_pending_tasks(&t, &dev).await;
    let unknown = DeviceId::parse("000000-X-nobody").unwrap();
    let out = t
        .acs
        .run_diagnostic(&unknown, ping("::1", 1, 1), WAIT, None)
        .await;
    assert!(matches!(out, Err(DiagError::UnknownDevice)), "{out:?}");
    f.shutdown().await;
}
