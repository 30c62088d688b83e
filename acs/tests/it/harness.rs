//! Starting an ACS on 127.0.0.1:0 with a fresh store, and a minimal HTTP/1.1 client that keeps
//! one TCP connection, so tests can speak CWMP exactly as a CPE would.

use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;

pub(crate) const SECRET: &str = "lab-secret";

/// A running ACS; dropping it shuts the server down.
pub(crate) struct TestAcs {
    pub(crate) acs: Arc<Acs>,
    pub(crate) addr: SocketAddr,
    pub(crate) dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestAcs {
    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the server and waits until it has let go of the store, so the directory can be
    /// opened again. (Dropping a `TestAcs` also stops its server: the dropped sender ends the
    /// shutdown future.)
    pub(crate) async fn stop(self) -> tempfile::TempDir {
        let Self {
            acs,
            dir,
            stop,
            task,
            ..
        } = self;
        if let Some(s) = stop {
            let _ = s.send(());
        }
        if let Some(t) = task {
            let _ = t.await;
        }
        // Connection tasks finish on their own after shutdown; once only this handle is left,
        // dropping it joins the writer thread and closes the store.
        for _ in 0..500 {
            if Arc::strong_count(&acs) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        tokio::task::spawn_blocking(move || drop(acs))
            .await
            .expect("close ACS");
        dir
    }
}

/// A config whose sessions end right after the Inform unless a task is queued: no tree
/// discovery and no connection-request credentials.
pub(crate) fn quiet(dir: &std::path::Path) -> AcsConfig {
    AcsConfig {
        refresh_on_bootstrap: false,
        manage_cr_credentials: false,
        ..config(dir)
    }
}

/// The id of a test device with this serial.
pub(crate) fn device(serial: &str) -> acs::DeviceId {
    acs::DeviceId::parse(&format!("1C61B4-Device2-{serial}")).unwrap()
}

/// A lab configuration: digest auth with [`SECRET`], short timeouts.
pub(crate) fn config(dir: &std::path::Path) -> AcsConfig {
    AcsConfig {
        data_dir: dir.to_owned(),
        cpe_auth: CpeAuthMode::Digest,
        cpe_secret: Secret::new(SECRET),
        session_timeout: std::time::Duration::from_secs(10),
        task_retry_base: std::time::Duration::from_millis(200),
        ..AcsConfig::default()
    }
}

pub(crate) async fn start(config: AcsConfig) -> TestAcs {
    let dir = tempfile::tempdir().expect("tempdir");
    start_in(dir, config).await
}

/// Starts an ACS whose store lives in `dir` (reused across restarts).
pub(crate) async fn start_in(dir: tempfile::TempDir, mut config: AcsConfig) -> TestAcs {
    config.data_dir = dir.path().to_owned();
    let acs = Acs::open(config).await.expect("open ACS");
    serve(acs, dir).await
}

/// Starts an ACS over a store opened by the test (a store that fails on demand, say).
pub(crate) async fn start_with_store(
    dir: tempfile::TempDir,
    mut config: AcsConfig,
    store: acs::store::StoreWriter,
) -> TestAcs {
    config.data_dir = dir.path().to_owned();
    let acs = Acs::with_store(config, store).await.expect("open ACS");
    serve(acs, dir).await
}

/// Serves `acs` on a loopback port.
async fn serve(acs: Arc<Acs>, dir: tempfile::TempDir) -> TestAcs {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let server = acs.clone();
    let task = tokio::spawn(async move {
        acs::server::serve(server, listener, None, async {
            let _ = rx.await;
        })
        .await;
    });
    TestAcs {
        acs,
        addr,
        dir,
        stop: Some(tx),
        task: Some(task),
    }
}

/// Starts an ACS served by `shards` single-threaded runtimes on `SO_REUSEPORT` listeners, as
/// `fibreplane acs` runs it.
pub(crate) async fn start_sharded(config: AcsConfig, shards: usize) -> TestAcs {
    let mut config = config;
    let dir = tempfile::tempdir().expect("tempdir");
    config.data_dir = dir.path().to_owned();
    let acs = Acs::open(config).await.expect("open ACS");
    let listeners =
        acs::server::bind_shards("127.0.0.1:0".parse().unwrap(), shards).expect("bind shards");
    let addr = listeners[0].local_addr().expect("addr");
    for l in listeners.iter() {
        assert_eq!(
            l.local_addr().unwrap(),
            addr,
            "every shard listens on one port"
        );
    }
    let (tx, rx) = oneshot::channel::<()>();
    let server = acs.clone();
    let task = tokio::spawn(async move {
        acs::server::serve_shards(server, listeners, None, async {
            let _ = rx.await;
        })
        .await
        .expect("CWMP threads start");
    });
    TestAcs {
        acs,
        addr,
        dir,
        stop: Some(tx),
        task: Some(task),
    }
}

/// One HTTP/1.1 connection to the ACS.
pub(crate) struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    pub(crate) cookie: Option<String>,
}

/// A response reduced to what tests look at.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn envelope(&self) -> cwmp::Envelope {
        cwmp::parse_envelope(&self.body, &cwmp::Limits::default())
            .expect("ACS sent a valid envelope")
    }
}

impl Conn {
    pub(crate) async fn open(addr: SocketAddr) -> Self {
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let (sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .expect("handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Self {
            sender,
            cookie: None,
        }
    }

    /// POSTs `body` with extra headers; remembers a session cookie the ACS sets.
    pub(crate) async fn post(
        &mut self,
        body: impl Into<Bytes>,
        headers: &[(&str, String)],
    ) -> Resp {
        self.request("POST", body.into(), headers).await
    }

    pub(crate) async fn request(
        &mut self,
        method: &str,
        body: Bytes,
        headers: &[(&str, String)],
    ) -> Resp {
        let mut req = http::Request::builder()
            .method(method)
            .uri("/")
            .header("host", "acs");
        if !body.is_empty() {
            req = req
                .header("content-type", "text/xml; charset=\"utf-8\"")
                .header("soapaction", "");
        }
        if let Some(c) = &self.cookie {
            req = req.header("cookie", format!("session={c}"));
        }
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let resp = self
            .sender
            .send_request(req.body(Full::new(body)).expect("request"))
            .await
            .expect("response");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if let Some(v) = headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|c| c.split(';').next())
            .and_then(|kv| kv.strip_prefix("session="))
        {
            self.cookie = Some(v.to_owned());
        }
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    }
}

/// A minimal Inform for a device, as bytes.
pub(crate) fn inform(serial: &str, events: &[&str]) -> Vec<u8> {
    let inform = cwmp::Inform {
        device_id: cwmp::DeviceIdStruct {
            manufacturer: "TP-Link".into(),
            oui: "1C61B4".into(),
            product_class: "Device2".into(),
            serial_number: serial.into(),
        },
        events: events.iter().map(|e| cwmp::EventStruct::new(*e)).collect(),
        max_envelopes: 1,
        current_time: "2026-11-25T10:00:00Z".into(),
        retry_count: 0,
        parameters: vec![cwmp::ParameterValue::new(
            "Device.ManagementServer.ConnectionRequestURL",
            "http://127.0.0.1:9/cr",
            cwmp::XsdType::String,
        )],
    };
    cwmp::to_bytes(&cwmp::Envelope::new(
        cwmp::CwmpVersion::V1_0,
        "1",
        cwmp::Body::Inform(inform),
    ))
}

/// The Digest `Authorization` header answering the challenge in `resp` for device `serial`.
pub(crate) fn answer(resp: &Resp, serial: &str, password: Option<&str>) -> String {
    let www = resp
        .headers
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .expect("challenge");
    let ch = cwmp::auth::parse_challenge(www).expect("digest challenge");
    let user = format!("1C61B4-Device2-{serial}");
    let pw = password
        .map(str::to_owned)
        .unwrap_or_else(|| acs::derive_password(&Secret::new(SECRET), &user));
    cwmp::auth::answer_digest(&ch, "POST", "/", &user, &pw, "0a4f113b", 1)
}

/// Opens an authenticated session for `serial`: returns the connection after InformResponse.
pub(crate) async fn session(t: &TestAcs, serial: &str, events: &[&str]) -> (Conn, Resp) {
    let mut c = Conn::open(t.addr).await;
    let first = c.post(inform(serial, events), &[]).await;
    assert_eq!(first.status, 401, "an unauthenticated Inform is challenged");
    let auth = answer(&first, serial, None);
    let resp = c
        .post(inform(serial, events), &[("authorization", auth)])
        .await;
    assert_eq!(
        resp.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    (c, resp)
}

/// Queues a GetParameterValues of the device's uptime, the simplest task there is.
pub(crate) async fn enqueue_uptime(t: &TestAcs, dev: &acs::DeviceId) -> acs::TaskRecord {
    t.acs
        .enqueue(
            dev,
            acs::TaskKind::GetParameterValues {
                names: vec![UPTIME.into()],
            },
        )
        .await
        .expect("enqueue")
}

/// The path [`enqueue_uptime`] reads.
pub(crate) const UPTIME: &str = "Device.DeviceInfo.UpTime";

/// A CPE's answer to that read.
pub(crate) fn uptime_answer(seconds: &str) -> cwmp::Body {
    cwmp::Body::GetParameterValuesResponse {
        parameters: vec![cwmp::ParameterValue::new(
            UPTIME,
            seconds,
            cwmp::XsdType::UnsignedInt,
        )],
    }
}

/// Answers the ACS's request `req` with `body`, echoing its ID.
pub(crate) async fn reply(c: &mut Conn, req: &cwmp::Envelope, body: cwmp::Body) -> Resp {
    let id = req.header.id.clone().unwrap_or_default();
    c.post(
        cwmp::to_bytes(&cwmp::Envelope::new(req.version, id, body)),
        &[],
    )
    .await
}

/// A tiny HTTP file server for Download tests: serves one body at any path, counts requests.
pub(crate) struct FileServer {
    addr: SocketAddr,
    hits: Arc<std::sync::atomic::AtomicUsize>,
}

impl FileServer {
    pub(crate) async fn start(content: Vec<u8>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let content = Bytes::from(content);
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let content = content.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let body = Full::new(content.clone());
                        async move { Ok::<_, std::convert::Infallible>(http::Response::new(body)) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Self { addr, hits }
    }

    pub(crate) fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    pub(crate) fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::Relaxed)
    }
}
