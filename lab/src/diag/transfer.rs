//! The TR-143 transfers, over real HTTP to a loopback server: a GET (download) or a PUT of
//! `TestFileLength` bytes (upload), timed as TR-143 defines it.
//!
//! * `TCPOpenRequestTime`/`TCPOpenResponseTime`: before and after the TCP connect.
//! * `ROMTime`: when the request is sent. `BOMTime`: download, when the response head arrives;
//!   upload, when the first body byte is handed to the socket. `EOMTime`: download, when the
//!   last body byte arrives; upload, when the server's response head arrives (it has read the
//!   whole body).
//! * Byte counts come from the connection itself (a counting wrapper around the socket), so
//!   `TestBytes*` include HTTP headers as TR-181 says. The simulator has no interface counters:
//!   `TotalBytes*` are the test connection's bytes.
//!
//! A time-based download (`TimeBasedTestDuration` > 0) repeats the GET on the same connection
//! until the duration has passed, then stops reading.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::Request;
use http::header::{CONTENT_LENGTH, HOST};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::outcome::{Failure, Transfer};
use super::target::source_for;
use crate::client::HttpUrl;

/// Size of each upload body chunk.
const CHUNK: usize = 64 * 1024;

/// Bytes read and written on a connection.
#[derive(Debug, Default)]
struct Counters {
    rx: AtomicU64,
    tx: AtomicU64,
}

/// A TCP stream that counts what crosses it.
struct Counted {
    inner: TcpStream,
    counters: Arc<Counters>,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        this.counters.rx.fetch_add(n, Ordering::Relaxed);
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            this.counters.tx.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// An upload body: `left` zero bytes, noting when the first chunk is taken.
struct Zeros {
    left: u64,
    chunk: Bytes,
    first: Arc<Mutex<Option<SystemTime>>>,
}

impl Body for Zeros {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(None);
        }
        this.first
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_or_insert_with(SystemTime::now);
        let n = this.left.min(this.chunk.len() as u64) as usize;
        this.left -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(this.chunk.slice(..n)))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// An open test connection and its TR-143 open times.
struct Conn<B> {
    sender: SendRequest<B>,
    counters: Arc<Counters>,
    open_request: SystemTime,
    open_response: SystemTime,
}

impl<B> Conn<B> {
    /// The test's report: `[ROM, BOM, EOM]`, its bytes, and the connection's counters.
    fn transfer(&self, ip: IpAddr, [rom, bom, eom]: [SystemTime; 3], test_bytes: u64) -> Transfer {
        Transfer {
            source: source_for(ip),
            tcp_open_request: self.open_request,
            tcp_open_response: self.open_response,
            rom,
            bom,
            eom,
            test_bytes,
            total_received: self.counters.rx.load(Ordering::Relaxed),
            total_sent: self.counters.tx.load(Ordering::Relaxed),
        }
    }
}

async fn open<B>(ip: IpAddr, port: u16, limit: Duration) -> Result<Conn<B>, Failure>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let open_request = SystemTime::now();
    let tcp = tokio::time::timeout(limit, TcpStream::connect(SocketAddr::new(ip, port)))
        .await
        .map_err(|_| Failure::Timeout)?
        .map_err(|_| Failure::InitConnectionFailed)?;
    let open_response = SystemTime::now();
    let _ = tcp.set_nodelay(true);
    let counters = Arc::new(Counters::default());
    let io = TokioIo::new(Counted {
        inner: tcp,
        counters: counters.clone(),
    });
    let (sender, conn) = http1::handshake(io)
        .await
        .map_err(|_| Failure::InitConnectionFailed)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn {
        sender,
        counters,
        open_request,
        open_response,
    })
}

/// Runs a download test; `duration` makes it time-based. `limit` bounds the whole test.
pub(crate) async fn download(
    url: &HttpUrl,
    ip: IpAddr,
    duration: Option<Duration>,
    limit: Duration,
) -> Result<Transfer, Failure> {
    tokio::time::timeout(limit, download_inner(url, ip, duration, limit))
        .await
        .map_err(|_| Failure::Timeout)?
}

async fn download_inner(
    url: &HttpUrl,
    ip: IpAddr,
    duration: Option<Duration>,
    limit: Duration,
) -> Result<Transfer, Failure> {
    let mut c = open::<Empty<Bytes>>(ip, url.port, limit).await?;
    let rom = SystemTime::now();
    let started = Instant::now();
    let mut bom = None;
    let mut eom = rom;
    loop {
        let req = Request::get(url.path.as_str())
            .header(HOST, url.authority.as_str())
            .body(Empty::new())
            .map_err(|_| Failure::Internal)?;
        let sent = match c.sender.ready().await {
            Ok(()) => c.sender.send_request(req).await,
            Err(e) => Err(e),
        };
        let resp = match sent {
            Ok(r) => r,
            // A server that closes after a response ends a time-based test early, not badly.
            Err(_) if bom.is_some() => break,
            Err(_) => return Err(Failure::NoResponse),
        };
        bom.get_or_insert_with(SystemTime::now);
        if !resp.status().is_success() {
            return Err(Failure::TransferFailed);
        }
        let mut body = resp.into_body();
        let mut out_of_time = false;
        while let Some(frame) = body.frame().await {
            frame.map_err(|_| Failure::TransferFailed)?;
            eom = SystemTime::now();
            if duration.is_some_and(|d| started.elapsed() >= d) {
                out_of_time = true;
                break;
            }
        }
        if out_of_time || duration.is_none_or(|d| started.elapsed() >= d) {
            break;
        }
    }
    let received = c.counters.rx.load(Ordering::Relaxed);
    Ok(c.transfer(ip, [rom, bom.unwrap_or(rom), eom], received))
}

/// Runs an upload test of `length` bytes. `limit` bounds the whole test.
pub(crate) async fn upload(
    url: &HttpUrl,
    ip: IpAddr,
    length: u64,
    limit: Duration,
) -> Result<Transfer, Failure> {
    tokio::time::timeout(limit, upload_inner(url, ip, length, limit))
        .await
        .map_err(|_| Failure::Timeout)?
}

async fn upload_inner(
    url: &HttpUrl,
    ip: IpAddr,
    length: u64,
    limit: Duration,
) -> Result<Transfer, Failure> {
    let mut c = open::<Zeros>(ip, url.port, limit).await?;
    let first = Arc::new(Mutex::new(None));
    let body = Zeros {
        left: length,
        chunk: Bytes::from(vec![0u8; CHUNK]),
        first: first.clone(),
    };
    let req = Request::put(url.path.as_str())
        .header(HOST, url.authority.as_str())
        .header(CONTENT_LENGTH, length)
        .body(body)
        .map_err(|_| Failure::Internal)?;
    c.sender.ready().await.map_err(|_| Failure::NoResponse)?;
    let rom = SystemTime::now();
    let resp = c
        .sender
        .send_request(req)
        .await
        .map_err(|_| Failure::NoResponse)?;
    let eom = SystemTime::now();
    if !resp.status().is_success() {
        return Err(Failure::TransferFailed);
    }
    // The answer's body is not part of the test, but reading it keeps the exchange clean.
    let _ = resp.into_body().collect().await;
    let bom = first
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .unwrap_or(rom);
    let sent = c.counters.tx.load(Ordering::Relaxed);
    Ok(c.transfer(ip, [rom, bom, eom], sent))
}
