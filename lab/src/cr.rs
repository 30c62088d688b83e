//! The connection-request server of a fleet (TR-069 §3.2.2): one listener, path `/cr/<index>`.
//!
//! The ACS GETs a CPE's ConnectionRequestURL; the CPE challenges with Digest (qop `auth`, MD5),
//! checks the answer against the ConnectionRequestUsername/Password in its own model (as the ACS
//! set them), answers 200 with an empty body and then opens a session with
//! `6 CONNECTION REQUEST`. A CPE that is in a session or rebooting answers 503. With a TLS
//! configuration the server speaks HTTPS, as CPEs with a (usually self-signed) certificate do.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use cwmp::auth::{Credentials, DigestChallenge, parse_authorization, verify_digest};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use crate::fleet::Shared;

/// The Digest realm of the CPE's challenge.
pub const REALM: &str = "Fibreplane CPE";

/// Most connection-request connections served at once; more are closed at accept.
const MAX_CONNECTIONS: usize = 1024;

/// Nonces a CPE remembers, so that two ACS workers racing a challenge both succeed.
const NONCES_KEPT: usize = 4;

/// How long a TLS client may take over its handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves connection requests until `shutdown` flips to true, over TLS when `tls` is set.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else {
            // Accept errors (EMFILE, aborted handshakes) are transient; keep serving.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            continue;
        };
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_conn(stream, shared).await,
                Some(tls) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await
                    {
                        serve_conn(stream, shared).await;
                    }
                }
            }
            drop(permit);
        });
    }
}

/// Serves HTTP/1.1 connection requests on one connection, plain or TLS.
async fn serve_conn<S>(stream: S, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(&shared, &req)) }
    });
    let conn = http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10))
        .serve_connection(TokioIo::new(stream), service);
    let _ = conn.await;
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

/// Answers one connection request.
fn handle(shared: &Shared, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return empty(StatusCode::METHOD_NOT_ALLOWED);
    }
    let path = req.uri().path();
    let cpe = path
        .strip_prefix("/cr/")
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| shared.cpes.get(i));
    let Some(cpe) = cpe else {
        shared.lock_stats().cr_refused += 1;
        return empty(StatusCode::NOT_FOUND);
    };
    let mut st = cpe.lock();
    if st.in_session || st.down_until.is_some_and(|t| t > Instant::now()) {
        drop(st);
        shared.lock_stats().cr_refused += 1;
        return empty(StatusCode::SERVICE_UNAVAILABLE);
    }
    let user = st
        .model
        .get(&st.model.rel("ManagementServer.ConnectionRequestUsername"));
    let pass = st
        .model
        .get(&st.model.rel("ManagementServer.ConnectionRequestPassword"));
    let (user, pass) = (user.unwrap_or_default(), pass.unwrap_or_default());
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    // A CPE without configured credentials accepts any request, as real firmware does.
    let mut ok = user.is_empty() && pass.is_empty();
    if let (false, Some(Ok(Credentials::Digest(d)))) = (ok, header.map(parse_authorization)) {
        let known = st.cr_nonces.iter().any(|n| *n == d.nonce);
        ok = known
            && d.username == user
            && d.realm == REALM
            // Some ACSs put the absolute URL in `uri`; the path is what must match.
            && d.uri.ends_with(req.uri().path())
            && verify_digest(&d, "GET", &pass);
        if ok {
            st.cr_nonces.retain(|n| *n != d.nonce);
        }
    }
    if ok {
        st.cr_requested = true;
        drop(st);
        cpe.wake.notify_one();
        shared.lock_stats().cr_ok += 1;
        return empty(StatusCode::OK);
    }
    let nonce = format!("{:032x}", rand::random::<u128>());
    if st.cr_nonces.len() >= NONCES_KEPT {
        st.cr_nonces.pop_front();
    }
    st.cr_nonces.push_back(nonce.clone());
    drop(st);
    if header.is_some() {
        shared.lock_stats().cr_refused += 1;
    }
    let challenge = DigestChallenge {
        realm: REALM.to_owned(),
        nonce,
        opaque: format!("{:016x}", rand::random::<u64>()),
        qop: Some("auth".to_owned()),
        algorithm: "MD5".to_owned(),
        stale: false,
    };
    let mut r = empty(StatusCode::UNAUTHORIZED);
    if let Ok(v) = challenge.to_header().parse() {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    r
}
