//! The CWMP HTTP server: hyper 1 over TCP (optionally TLS), keep-alive, session cookies, Digest
//! authentication, body limits and decompression, overload shedding and graceful shutdown.
//!
//! The server only moves bytes and maps outcomes to HTTP; the session logic lives in
//! [`crate::session`] and the protocol in the `cwmp` crate.

use crate::cpe_auth::{AuthOutcome, AuthRequest};
use crate::credentials::{self, Admission, Attempt, Denial};
use crate::registry::Refused;
use crate::session::{self, Input, Reply};
use crate::{Acs, DeviceEvent};
use acs_store::DeviceId;
use bytes::Bytes;
use cwmp::{AcsSession, AcsSessionConfig, Body, Envelope};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// Most TCP connections served at once; further ones wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 20_000;
/// How long shutdown waits for open connections to finish their current request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Per-TCP-connection state: requests on one connection are sequential.
#[derive(Default)]
struct ConnState {
    cookie: Option<String>,
    authenticated: bool,
    auth_failures: u32,
    /// The connection's source address: adoptions are bound to addresses.
    peer: Option<IpAddr>,
}

/// Loads a rustls acceptor from PEM files.
pub fn load_tls(files: &crate::TlsFiles) -> Result<TlsAcceptor, crate::AcsError> {
    use rustls_pki_types::pem::{self, PemObject};
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;
    let bad = |what: &str| crate::AcsError::Config(format!("TLS {what}"));
    // An unreadable file stays an I/O error (a wrong path); anything else is the PEM's fault.
    let pem_error = |e: pem::Error, what: &str| match e {
        pem::Error::Io(e) => crate::AcsError::from(e),
        pem::Error::NoItemsFound => bad(&format!("{what} file holds no {what}")),
        _ => bad(&format!("{what} is not valid PEM")),
    };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|items| items.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(e, "certificate"))?;
    if certs.is_empty() {
        return Err(pem_error(pem::Error::NoItemsFound, "certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| pem_error(e, "key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| bad("protocol versions"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| crate::AcsError::Config(format!("TLS certificate/key: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves CWMP on a pre-bound listener, on the calling runtime, until `shutdown` resolves; then
/// closes connections gracefully (each finishes its current request).
pub async fn serve(
    acs: Arc<Acs>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let background = Background::start(&acs, &stop_rx);
    let accept = tokio::spawn(accept_and_drain(acs.clone(), listener, tls, stop_rx));
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = accept.await;
    background.finish(&acs).await;
}

/// Serves CWMP on listeners bound by [`bind_shards`], each accepted and served by its own OS
/// thread running a single-threaded runtime (thread per core): a connection lives and dies on one
/// thread, with no work stealing, no cross-core wake-ups and warm caches, which measured about
/// 15 % less CPU per periodic session than one shared multi-threaded runtime (benches/README.md).
/// State shared by every session (registry, store, writer) is already thread-safe. Background
/// duties (session reaping, bookkeeping flushes) run on the calling runtime.
pub async fn serve_shards(
    acs: Arc<Acs>,
    shards: Shards,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let Shards {
        listeners,
        _claim: claim,
    } = shards;
    let (stop_tx, stop_rx) = watch::channel(false);
    let background = Background::start(&acs, &stop_rx);
    let mut done = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (acs, tls, stop) = (acs.clone(), tls.clone(), stop_rx.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("cwmp-{i}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(listener) {
                        Ok(l) => accept_and_drain(acs, l, tls, stop).await,
                        Err(e) => tracing::error!(error = %e, "CWMP listener unusable"),
                    }
                });
                let _ = tx.send(());
            })?;
        done.push(rx);
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    for rx in done {
        let _ = rx.await;
    }
    background.finish(&acs).await;
    // The port is given up only once no listener of this process is left.
    drop(claim);
    Ok(())
}

/// The listening sockets [`bind_shards`] made, and this process's claim on their port. They
/// dereference to the sockets; [`serve_shards`] keeps the claim for as long as it serves.
pub struct Shards {
    listeners: Vec<std::net::TcpListener>,
    /// Held for its lifetime only: see [`claim_port`].
    _claim: std::os::unix::net::UnixListener,
}

impl std::ops::Deref for Shards {
    type Target = [std::net::TcpListener];

    fn deref(&self) -> &Self::Target {
        &self.listeners
    }
}

/// Binds `shards` listening sockets to one address with `SO_REUSEPORT`, so that the kernel spreads
/// new connections over them; with port 0 the first picks the port and the rest join it. The
/// sockets carry `TCP_NODELAY`, which Linux copies to every accepted connection (one system call
/// per connection saved), and a backlog large enough for a boot storm's bursts.
///
/// `SO_REUSEPORT` would also let a second process of the same user join the group and take half
/// the CPEs into another store, so the port is claimed first ([`claim_port`]) and the sockets
/// listen only once the claim is held: a second process fails with "address in use" before any
/// of its sockets listens.
pub fn bind_shards(addr: SocketAddr, shards: usize) -> std::io::Result<Shards> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut sockets: Vec<Socket> = Vec::new();
    let mut addr = addr;
    for _ in 0..shards.max(1) {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.set_tcp_nodelay(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        if let Some(bound) = socket.local_addr()?.as_socket() {
            addr = bound;
        }
        sockets.push(socket);
    }
    let claim = claim_port(addr.port())?;
    let mut listeners = Vec::with_capacity(sockets.len());
    for socket in sockets {
        socket.listen(4096)?;
        listeners.push(socket.into());
    }
    Ok(Shards {
        listeners,
        _claim: claim,
    })
}

/// Claims a CWMP port for this process: an abstract Unix socket named after the port, which the
/// kernel lets one socket hold per network namespace (the scope of the TCP port itself) and frees
/// when its holder closes it or dies, so a crashed ACS leaves nothing to clean up.
fn claim_port(port: u16) -> std::io::Result<std::os::unix::net::UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("fibreplane-cwmp-port-{port}");
    let at = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    std::os::unix::net::UnixListener::bind_addr(&at).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("CWMP port {port} is already served by another fibreplane process"),
            )
        } else {
            e
        }
    })
}

/// The tasks that run beside the accept loops for the server's lifetime.
struct Background {
    reaper: tokio::task::JoinHandle<()>,
    flusher: tokio::task::JoinHandle<()>,
}

impl Background {
    fn start(acs: &Arc<Acs>, stop: &watch::Receiver<bool>) -> Self {
        Self {
            reaper: tokio::spawn(reap(acs.clone(), stop.clone())),
            flusher: tokio::spawn(flush_bookkeeping(acs.clone(), stop.clone())),
        }
    }

    async fn finish(self, acs: &Acs) {
        let _ = self.reaper.await;
        let _ = self.flusher.await;
        // Connections are closed: no more times can be noted, so this flush is the last one
        // needed.
        acs.flush_bookkeeping().await;
    }
}

/// Accepts connections and serves each on its own task of the current runtime until `stop`
/// turns true, then waits (up to the grace period) for open connections to finish their current
/// request.
async fn accept_and_drain(
    acs: Arc<Acs>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Whether accepted sockets still need TCP_NODELAY set (see `bind_shards`): checked on the
    // first connection rather than assumed.
    let mut set_nodelay = None;
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        if *set_nodelay.get_or_insert_with(|| !stream.nodelay().unwrap_or(false)) {
            let _ = stream.set_nodelay(true);
        }
        let acs = acs.clone();
        let stop = stop.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                Some(tls) => {
                    let hs =
                        tokio::time::timeout(acs.config.header_timeout, tls.accept(stream)).await;
                    if let Ok(Ok(s)) = hs {
                        serve_conn(acs, s, true, peer.ip(), stop).await;
                    }
                }
                None => serve_conn(acs, stream, false, peer.ip(), stop).await,
            }
        });
    }
    let _ =
        tokio::time::timeout(SHUTDOWN_GRACE, permits.acquire_many(MAX_CONNECTIONS as u32)).await;
}

/// Writes noted last-inform times every second.
async fn flush_bookkeeping(acs: Arc<Acs>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(crate::bookkeeping::FLUSH_EVERY) => acs.flush_bookkeeping().await,
            _ = stop.changed() => return,
        }
    }
}

/// Drops expired sessions once a second, and completed tasks' records once a minute.
async fn reap(acs: Arc<Acs>, mut stop: watch::Receiver<bool>) {
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        let now = Instant::now();
        let over = acs.sessions.sweep(|s| match s.poll_timeout() {
            None => true,
            Some(deadline) if deadline > now => false,
            Some(_) => {
                let expired = session::expire(&acs, s, now);
                if expired {
                    tracing::info!(device = %s.device, "session expired");
                }
                expired
            }
        });
        for (device, lease) in over {
            release_lease(&acs, &device, lease).await;
        }
        ticks += 1;
        if ticks.is_multiple_of(60) {
            if let Err(e) = acs.count_adoptions().await {
                tracing::warn!(error = %e, "could not count open adoptions");
            }
            match acs.purge_done_tasks().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(tasks = n, "purged completed tasks"),
                Err(e) => tracing::warn!(error = %e, "could not purge completed tasks"),
            }
        }
    }
}

async fn serve_conn<S>(
    acs: Arc<Acs>,
    stream: S,
    over_tls: bool,
    peer: IpAddr,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let state = Arc::new(Mutex::new(ConnState {
        peer: Some(peer),
        ..ConnState::default()
    }));
    let activity = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let svc = {
        let acs = acs.clone();
        let activity = activity.clone();
        service_fn(move |req| {
            let acs = acs.clone();
            let state = state.clone();
            let activity = activity.clone();
            async move {
                activity.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                let resp = handle(&acs, &state, over_tls, req).await;
                activity.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                Ok::<_, std::convert::Infallible>(resp)
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(acs.config.header_timeout)
        .keep_alive(true)
        .serve_connection(
            TokioIo::new(crate::reframe::Reframed::new(stream, acs.clone())),
            svc,
        );
    tokio::pin!(conn);
    let idle = acs.config.idle_timeout.as_millis() as u64;
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                let last = activity.load(Ordering::Relaxed);
                if !closing && started.elapsed().as_millis() as u64 - last > idle {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
            r = stop.changed(), if !closing => {
                let _ = r;
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

fn text(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(msg.to_owned())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn envelope(env: &Envelope) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(cwmp::to_bytes(env))));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=\"utf-8\""),
    );
    r.headers_mut()
        .insert("SOAPServer", HeaderValue::from_static("Fibreplane"));
    r
}

fn no_content() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// Finds `session=<value>` among the Cookie headers; some CPEs separate cookies with `,`.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([';', ',']))
        .find_map(|c| {
            c.trim()
                .strip_prefix("session=")
                .map(|v| v.trim_matches('"').to_owned())
        })
}

async fn handle(
    acs: &Arc<Acs>,
    state: &Mutex<ConnState>,
    over_tls: bool,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let now = Instant::now();
    let (parts, body) = req.into_parts();
    let (conn_cookie, conn_authed) = {
        let s = state.lock().unwrap_or_else(|e| e.into_inner());
        (s.cookie.clone(), s.authenticated)
    };
    let found = conn_cookie
        .and_then(|c| acs.sessions.get(&c).map(|s| (c, s)))
        .or_else(|| {
            session_cookie(&parts.headers).and_then(|c| acs.sessions.get(&c).map(|s| (c, s)))
        });
    // Until the CPE has authenticated, only a small body is read: an Inform is a few KiB.
    let trusted = found.is_some() || conn_authed || !acs.auth.required();
    let limit = if trusted {
        acs.config.limits.max_body_bytes
    } else {
        acs.config.max_unauthenticated_body
    };
    let bytes = match read_body(&parts.headers, body, limit, acs.config.session_timeout).await {
        Ok(b) => b,
        Err((status, msg)) => {
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                acs.metrics.oversized.inc();
            }
            if let Some((cookie, _)) = &found {
                end_session(acs, state, cookie).await;
            }
            return text(status, msg);
        }
    };
    let blank = bytes.iter().all(u8::is_ascii_whitespace);
    if !trusted
        && !blank
        && !parts.headers.contains_key(header::AUTHORIZATION)
        && !acs.adoption_open()
        && !acs.expression_may_admit_anonymous()
    {
        // A CPE that sent no credentials gets its challenge before any parsing or store read:
        // every Digest session starts this way, so this path stays cheap. While adoptions are
        // open, or an imported `cwmp.auth` may be true without credentials, the Inform is read
        // first: such a device is admitted without a challenge.
        return unauthorized(acs, state, now, AuthOutcome::Challenge);
    }
    let msg = if blank {
        None
    } else {
        match cwmp::parse_envelope(&bytes, &acs.config.limits) {
            Ok(env) => Some(env),
            Err(e) => {
                acs.metrics.parse_errors.inc();
                if let Some((cookie, _)) = &found {
                    end_session(acs, state, cookie).await;
                }
                let status =
                    StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
                return text(status, &format!("invalid CWMP envelope: {e}\n"));
            }
        }
    };
    match found {
        Some((cookie, session)) => {
            let mut session = session.lock().await;
            let reply = session::drive(acs, &mut session, Input::Message(msg)).await;
            let device = session.device.clone();
            let started = session.started;
            let adopting = session.is_adopting();
            drop(session);
            match reply {
                Reply::Envelope(env) => envelope(&env),
                Reply::End => {
                    acs.metrics.sessions_completed.inc();
                    // From the Inform to this 204, whichever connections the session used.
                    acs.metrics.observe_session(started.elapsed());
                    end_session(acs, state, &cookie).await;
                    if adopting {
                        tokio::spawn(credentials::confirm(acs.clone(), device.clone()));
                    }
                    acs.publish(DeviceEvent::SessionEnded { device });
                    // Like GenieACS: the session is over, so the connection is too; closing from
                    // our side spares a wake-up for the CPE's FIN.
                    let mut r = no_content();
                    r.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    r
                }
                Reply::BadRequest(why) => {
                    end_session(acs, state, &cookie).await;
                    acs.publish(DeviceEvent::SessionEnded { device });
                    text(StatusCode::BAD_REQUEST, &format!("{why}\n"))
                }
                Reply::Unavailable => {
                    end_session(acs, state, &cookie).await;
                    acs.publish(DeviceEvent::SessionEnded { device });
                    store_unavailable()
                }
            }
        }
        None => {
            let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            start_session(acs, state, over_tls, &parts.headers, target, msg, now).await
        }
    }
}

/// Forgets a session that is over and gives its device's lease back.
async fn end_session(acs: &Acs, state: &Mutex<ConnState>, cookie: &str) {
    let removed = acs.sessions.remove(cookie);
    {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        if s.cookie.as_deref() == Some(cookie) {
            s.cookie = None;
        }
    }
    if let Some((device, lease)) = removed {
        release_lease(acs, &device, lease).await;
    }
}

/// Gives a device's session lease back; a failure only delays the device's next session until
/// the lease expires, so it is logged, not fatal.
async fn release_lease(acs: &Acs, device: &DeviceId, lease: u64) {
    if let Err(e) = acs.writer.release(device, lease).await {
        tracing::warn!(%device, error = %e, "could not release the session lease; it expires");
    }
}

/// Reads a request body under a size limit and a time limit, decoding gzip or deflate.
async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    time_limit: Duration,
) -> Result<Bytes, (StatusCode, &'static str)> {
    const TOO_LARGE: (StatusCode, &str) = (StatusCode::PAYLOAD_TOO_LARGE, "413 body too large\n");
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(TOO_LARGE);
    }
    let collected = tokio::time::timeout(time_limit, Limited::new(body, limit).collect())
        .await
        .map_err(|_| {
            (
                StatusCode::REQUEST_TIMEOUT,
                "408 body not received in time\n",
            )
        })?;
    let raw = match collected {
        Ok(c) => c.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Err(TOO_LARGE);
        }
        Err(_) => return Err((StatusCode::BAD_REQUEST, "400 unreadable body\n")),
    };
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let decoded = match encoding.as_str() {
        "" | "identity" => return Ok(raw),
        "gzip" | "x-gzip" => inflate(flate2::read::GzDecoder::new(&raw[..]), limit),
        "deflate" => {
            // HTTP's "deflate" is zlib-wrapped, but some stacks send raw deflate: accept both.
            inflate(flate2::read::ZlibDecoder::new(&raw[..]), limit)
                .or_else(|_| inflate(flate2::read::DeflateDecoder::new(&raw[..]), limit))
        }
        _ => {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "415 unsupported content encoding\n",
            ));
        }
    };
    decoded.map(Bytes::from)
}

/// Decompresses with a bound on the output, so a small compressed bomb cannot exhaust memory.
fn inflate(reader: impl Read, limit: usize) -> Result<Vec<u8>, (StatusCode, &'static str)> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| (StatusCode::BAD_REQUEST, "400 corrupt compressed body\n"))?;
    if out.len() > limit {
        return Err((StatusCode::PAYLOAD_TOO_LARGE, "413 body too large\n"));
    }
    Ok(out)
}

async fn start_session(
    acs: &Acs,
    state: &Mutex<ConnState>,
    over_tls: bool,
    headers: &HeaderMap,
    target: &str,
    msg: Option<Envelope>,
    now: Instant,
) -> Response<Full<Bytes>> {
    // An empty POST with no live session: the session already ended (or expired); telling the
    // CPE there is nothing to do ends it cleanly on its side.
    let Some(env) = msg else { return no_content() };
    let Body::Inform(inform) = &env.body else {
        return text(
            StatusCode::BAD_REQUEST,
            "a session must start with an Inform\n",
        );
    };
    let d = &inform.device_id;
    if d.oui.is_empty() || d.serial_number.is_empty() {
        return text(
            StatusCode::BAD_REQUEST,
            "Inform without OUI or SerialNumber\n",
        );
    }
    let Ok(device) = DeviceId::parse(&cwmp::device_id(&d.oui, &d.product_class, &d.serial_number))
    else {
        return text(StatusCode::BAD_REQUEST, "device id too long\n");
    };
    let previous = match acs.store.get(&device).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(%device, error = %e, "store read failed");
            return store_unavailable();
        }
    };
    let authed = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .authenticated;
    let mut admission = Admission::Normal;
    if acs.auth.required() && !authed {
        let authz = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let peer = state.lock().unwrap_or_else(|e| e.into_inner()).peer;
        let attempt = Attempt {
            identity: d,
            events: &inform.events,
            device: &device,
            known: previous.as_ref().map(|p| &p.value),
            request: AuthRequest {
                header: authz,
                method: "POST",
                target,
                over_tls,
            },
            source: peer,
            bootstrap: inform.events.iter().any(|e| e.code == "0 BOOTSTRAP"),
            now,
        };
        match credentials::authenticate(acs, attempt).await {
            Ok(a) => {
                admission = a;
                state
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .authenticated = true;
            }
            Err(Denial::Challenge(outcome)) => return unauthorized(acs, state, now, outcome),
            Err(Denial::Refused) => return refused(),
            Err(Denial::Unavailable) => return store_unavailable(),
        }
    }
    match acs.sessions.admit(&device, acs.config.max_sessions) {
        Ok(()) => {}
        Err(Refused::Busy) => {
            // An authenticated, fresh Inform on a new connection means the CPE left its old
            // session (it rebooted or crashed mid-session): that session is closed now rather
            // than at its timeout, and the CPE is served at once.
            let restarted = inform
                .events
                .iter()
                .any(|e| matches!(e.code.as_str(), "0 BOOTSTRAP" | "1 BOOT" | "M Reboot"));
            if let Err(e) = take_over(acs, &device, restarted).await {
                tracing::error!(%device, error = %e, "could not close the device's stale session");
                return store_unavailable();
            }
            if let Err(Refused::Full) = acs.sessions.admit(&device, acs.config.max_sessions) {
                return overloaded(acs);
            }
        }
        Err(Refused::Full) => return overloaded(acs),
    }
    // GenieACS's `cwmp.sessionTimeout` may differ per device (`genie/config.rs`).
    let session_timeout = acs.genie_per_device.session_timeout(
        &crate::genie::auth::Device::informing(
            device.as_str(),
            d,
            previous.as_ref().map(|p| &p.value),
            &inform.events,
            None,
            acs.clock_ms(),
        ),
        acs.config.session_timeout,
    );
    let mut machine = AcsSession::new(
        now,
        AcsSessionConfig {
            session_timeout,
            ..AcsSessionConfig::default()
        },
    );
    // Event codes are copied only when someone listens (the hub, the NBI, tests).
    let event_codes: Option<Vec<String>> = acs
        .has_subscribers()
        .then(|| inform.events.iter().map(|e| e.code.clone()).collect());
    // Presets look at the Inform's events; they are handed to the session only when some
    // exist (or scripts do, which a queued `provisions` task may run) and the Inform has events.
    let presets = match acs.presets().await {
        Ok(p) => ((!p.is_empty() || p.has_scripts()) && !inform.events.is_empty()).then_some(p),
        Err(e) => {
            tracing::error!(%device, error = %e, "could not read presets");
            return store_unavailable();
        }
    };
    let preset_events: Vec<String> = if presets.is_some() {
        inform.events.iter().map(|e| e.code.clone()).collect()
    } else {
        Vec::new()
    };
    if !matches!(machine.receive(now, Some(env)), cwmp::AcsEvent::Inform(_)) {
        return text(StatusCode::BAD_REQUEST, "invalid Inform\n");
    }
    // One session per device is the store's rule, through the device's lease (on one node and
    // across nodes alike), held for the session's idle timeout and renewed at every POST.
    let lease = rand::random::<u64>();
    match acs
        .writer
        .try_lease(&device, lease, session::lease_ttl_ms(&machine))
        .await
    {
        Ok(true) => {}
        Ok(false) => return already_in_session(acs),
        Err(e) => {
            tracing::error!(%device, error = %e, "could not take the session lease");
            return store_unavailable();
        }
    }
    let mut registered = match crate::register::register(
        acs,
        &device,
        previous,
        machine,
        now,
        preset_events,
        presets,
        lease,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(%device, error = %e, "could not record Inform");
            release_lease(acs, &device, lease).await;
            return store_unavailable();
        }
    };
    if let Admission::Adopting {
        username,
        password,
        record,
    } = admission
    {
        registered
            .session
            .credentials_only(&username, &password, record);
    }
    let cookie = hex::encode(rand::random::<[u8; 16]>());
    let new_device = registered.new_device;
    if acs
        .sessions
        .insert(
            cookie.clone(),
            device.clone(),
            lease,
            Arc::new(tokio::sync::Mutex::new(registered.session)),
        )
        .is_err()
    {
        release_lease(acs, &device, lease).await;
        return already_in_session(acs);
    }
    state.lock().unwrap_or_else(|e| e.into_inner()).cookie = Some(cookie.clone());
    acs.metrics.informs.inc();
    if new_device {
        acs.metrics.registrations.inc();
        tracing::info!(%device, "device registered");
    }
    if let Some(events) = event_codes {
        acs.publish(DeviceEvent::Informed { device, events });
    }
    let mut r = envelope(&registered.reply);
    if let Ok(v) = HeaderValue::from_str(&format!("session={cookie}; Path=/; HttpOnly")) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Closes the device's stale session on this node and settles the job whose RPC it left
/// unanswered: a Reboot or FactoryReset the CPE came back `restarted` from is done; anything
/// else is a lost attempt under the task's retry rules (`tasks::lost_ops`).
async fn take_over(acs: &Acs, device: &DeviceId, restarted: bool) -> Result<(), crate::AcsError> {
    let Some((cookie, stale)) = acs.sessions.of_device(device) else {
        return Ok(());
    };
    // A request of the old session still being handled finishes first (its write lands).
    let job = stale.lock().await.abandon();
    if let Some((device, lease)) = acs.sessions.remove(&cookie) {
        release_lease(acs, &device, lease).await;
    }
    acs.metrics.sessions_taken_over.inc();
    tracing::info!(%device, "a fresh Inform closed the device's stale session");
    acs.publish(DeviceEvent::SessionEnded {
        device: device.clone(),
    });
    let Some(job) = job.filter(|j| !j.task_ids().is_empty()) else {
        return Ok(());
    };
    let now_ms = acs.clock_ms();
    let stored = acs.store.tasks(Some(device)).await?;
    let mut ops = Vec::new();
    for id in job.task_ids() {
        let Some(task) = stored.iter().find(|t| t.id == *id).cloned() else {
            continue;
        };
        if restarted && job.restarts_cpe() {
            acs.metrics.tasks_done.inc();
            ops.push(crate::tasks::finish_op(task, false, now_ms));
            ops.push(acs_store::Op::DeleteFault {
                device: device.clone(),
                channel: crate::tasks::channel(*id),
            });
        } else {
            acs.metrics.task_faults.inc();
            ops.extend(crate::tasks::lost_ops(
                task,
                now_ms,
                acs.session_policy.retry,
            ));
        }
    }
    acs.writer.apply(ops).await?;
    for id in job.task_ids() {
        acs.tasks.notify(*id);
    }
    Ok(())
}

/// 400 for an Inform of a device that has a session already (GenieACS answers the same).
fn already_in_session(acs: &Acs) -> Response<Full<Bytes>> {
    acs.metrics.concurrent_session_refused.inc();
    text(StatusCode::BAD_REQUEST, "CPE already in session\n")
}

/// 403 for an adopting device's session from where its adoption does not admit it: the alert
/// is raised already; the connection is closed so the CPE does not try again on it.
fn refused() -> Response<Full<Bytes>> {
    let mut r = text(
        StatusCode::FORBIDDEN,
        "403 adoption not admitted from this address\n",
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// 503 for a store that failed: the CPE retries its session later, and nothing it had sent is
/// lost (what was not stored is asked for again).
fn store_unavailable() -> Response<Full<Bytes>> {
    text(StatusCode::SERVICE_UNAVAILABLE, "503 store unavailable\n")
}

fn unauthorized(
    acs: &Acs,
    state: &Mutex<ConnState>,
    now: Instant,
    outcome: AuthOutcome,
) -> Response<Full<Bytes>> {
    let mut r = text(StatusCode::UNAUTHORIZED, "401 Unauthorized\n");
    let stale = outcome == AuthOutcome::Stale;
    if outcome == AuthOutcome::Denied {
        acs.metrics.auth_failures.inc();
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.auth_failures += 1;
        if s.auth_failures >= 2 {
            // Like GenieACS: a second failure on one connection closes it.
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    acs.metrics.auth_challenges.inc();
    if let Ok(v) = HeaderValue::from_str(&acs.auth.challenge(now, stale)) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// 503 with a Retry-After drawn at random between the configured minimum and the time the ACS
/// needs to serve what it refused lately (at most the configured maximum), so a herd of CPEs
/// refused together comes back spread over exactly that time.
fn overloaded(acs: &Acs) -> Response<Full<Bytes>> {
    acs.metrics.overload_503.inc();
    let secs = acs.backpressure.retry_after(
        Instant::now(),
        crate::overload::Load {
            completed: acs.metrics.sessions_completed.get(),
            refused: acs.metrics.overload_503.get(),
            max_sessions: acs.config.max_sessions,
            range: acs.config.retry_after_secs,
        },
        rand::random::<f64>(),
    );
    let mut r = text(StatusCode::SERVICE_UNAVAILABLE, "503 too many sessions\n");
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}
