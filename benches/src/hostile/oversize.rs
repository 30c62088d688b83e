//! Oversized bodies: a `Content-Length` far over a service's limit must be answered 413 before
//! any of the body is sent, and a chunked body must be cut with 413 soon after it passes the
//! limit, not read to its end.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::http::status;

/// A declared length no service accepts (1 GiB).
const DECLARED: u64 = 1 << 30;
/// How long to wait for the early answer.
const WAIT: Duration = Duration::from_secs(5);
/// A chunked sender gives up after this many bytes: the limit was not enforced.
const CHUNKED_CAP: u64 = 64 << 20;

/// One service's answers to oversized bodies.
#[derive(Debug, Clone)]
pub struct OversizeResult {
    /// The service (`ACS 7547`, `NBI task`, `Kuma webhook`).
    pub service: &'static str,
    /// Its body limit in bytes, as configured.
    pub limit: u64,
    /// The status answered to the headers alone (None: no answer within the wait).
    pub declared_status: Option<u16>,
    /// The status answered to the growing chunked body.
    pub chunked_status: Option<u16>,
    /// Body bytes written before that answer arrived (includes what sits in socket buffers).
    pub chunked_sent: u64,
}

impl OversizeResult {
    /// Both answered 413, the chunked one before the sender's cap.
    pub fn rejected_early(&self) -> bool {
        self.declared_status == Some(413)
            && self.chunked_status == Some(413)
            && self.chunked_sent < CHUNKED_CAP
    }
}

/// Sends both oversized requests to one service.
pub(crate) async fn probe(
    service: &'static str,
    addr: SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
    limit: u64,
) -> OversizeResult {
    let mut head = format!("POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let declared = format!("{head}Content-Length: {DECLARED}\r\n\r\n");
    let chunked = format!("{head}Transfer-Encoding: chunked\r\n\r\n");
    let declared_status = headers_only(addr, declared.as_bytes()).await;
    let (chunked_status, chunked_sent) = growing(addr, chunked.as_bytes()).await;
    OversizeResult {
        service,
        limit,
        declared_status,
        chunked_status,
        chunked_sent,
    }
}

/// Sends only the headers and waits for the status line.
async fn headers_only(addr: SocketAddr, head: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(addr).await.ok()?;
    s.write_all(head).await.ok()?;
    read_status(&mut s).await
}

async fn read_status(s: &mut (impl AsyncReadExt + Unpin)) -> Option<u16> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let fut = async {
        while !out.windows(2).any(|w| w == b"\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(WAIT, fut).await;
    status(&out)
}

/// Sends a chunked body, 16 KiB per millisecond, until the status line arrives.
async fn growing(addr: SocketAddr, head: &[u8]) -> (Option<u16>, u64) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return (None, 0);
    };
    if s.write_all(head).await.is_err() {
        return (None, 0);
    }
    let (mut rd, mut wr) = s.into_split();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let data = vec![b'x'; 16 * 1024];
        let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
        chunk.extend_from_slice(&data);
        chunk.extend_from_slice(b"\r\n");
        while counter.load(Ordering::Relaxed) < CHUNKED_CAP {
            if wr.write_all(&chunk).await.is_err() {
                break;
            }
            counter.fetch_add(data.len() as u64, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let status = {
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        let fut = async {
            while !out.windows(2).any(|w| w == b"\r\n") {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(30), fut).await;
        status(&out)
    };
    let at = sent.load(Ordering::Relaxed);
    writer.abort();
    (status, at)
}
