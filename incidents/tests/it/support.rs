//! Shared helpers: the service with its routers on a loopback port, a raw HTTP/1.1 client (so
//! tests send exactly the bytes Kuma sends, chunked bodies included), waiting for events.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use incidents::http::{outages_router, webhook_router};
use incidents::{Directory, IncidentEvent, IncidentService, ServiceConfig};
use olt_poller::{PollerEvent, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

pub(crate) const SECRET: &str = "kuma-webhook-secret-0123456789abcdef";

/// The service and both routers served on 127.0.0.1:0.
pub(crate) async fn serve(
    config: ServiceConfig,
    dir: Arc<dyn Directory>,
    poller: Option<broadcast::Receiver<PollerEvent>>,
) -> (IncidentService, SocketAddr) {
    let service = IncidentService::spawn(config, dir, poller).unwrap();
    let app =
        webhook_router(service.clone(), Secret::new(SECRET)).merge(outages_router(service.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (service, addr)
}

/// Sends raw request bytes and returns (status, body). The request must say
/// `Connection: close`.
pub(crate) async fn http(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("response within 10 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_owned();
    (status, body)
}

/// A request with a Content-Length body.
pub(crate) fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A chunked POST, the way axios and form-data send multipart bodies.
pub(crate) fn chunked(path: &str, headers: &[(&str, &str)], body: &[u8], chunk: usize) -> Vec<u8> {
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    for c in body.chunks(chunk.max(1)) {
        bytes.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        bytes.extend_from_slice(c);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

/// The next event that satisfies `pred`, within `secs` seconds (a generous bound for a loaded
/// machine: tests assert what happens, never how fast).
pub(crate) async fn wait_for(
    rx: &mut broadcast::Receiver<IncidentEvent>,
    secs: u64,
    pred: impl Fn(&IncidentEvent) -> bool,
) -> IncidentEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("the expected incident event")
            .expect("event channel open");
        if pred(&ev) {
            return ev;
        }
    }
}

/// POSTs a Kuma body to the webhook with the right secret, as JSON.
pub(crate) async fn post_kuma(addr: SocketAddr, body: &[u8]) -> (u16, String) {
    let auth = format!("Bearer {SECRET}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    http(addr, &request("POST", "/webhook/kuma", &headers, body)).await
}
