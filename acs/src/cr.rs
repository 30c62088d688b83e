//! Connection requests: an HTTP GET to the CPE's ConnectionRequestURL, answered with Digest (or
//! Basic) using the credentials the ACS set, so the CPE opens a session now. An `https://` URL
//! is reached over TLS, the CPE's certificate checked as [`CrTls`] says.

use crate::config::CrTls;
use crate::{AcsError, client_tls};
use cwmp::auth;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::{TlsConnector, rustls};

/// Why a connection request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrError {
    /// The device is not in the store.
    #[error("no such device")]
    UnknownDevice,
    /// The device never reported a usable ConnectionRequestURL.
    #[error("no connection request URL")]
    NoUrl,
    /// Connection refused or reset: the device is offline or unreachable.
    #[error("device is offline")]
    Offline,
    /// No answer in time.
    #[error("connection request timed out")]
    Timeout,
    /// The CPE refused our credentials.
    #[error("connection request authentication failed")]
    AuthFailed,
    /// The CPE is busy (503): it may already be in a session.
    #[error("device is busy (503)")]
    Busy,
    /// The TLS handshake with an `https://` URL failed: most often a certificate that no
    /// configured CA signed (`acs.cr_tls_ca_file`).
    #[error("connection request TLS handshake failed: {0}")]
    Tls(String),
    /// Any other answer.
    #[error("unexpected answer: {0}")]
    Other(String),
}

/// Sends connection requests with the ACS's TLS settings. Cheap to clone; the TLS
/// configuration (system roots read once) is shared.
#[derive(Debug, Clone)]
pub struct CrClient {
    tls: Arc<rustls::ClientConfig>,
    skip_verify: bool,
    /// Whether an unverified request has been logged yet: the first one is, at warn.
    warned: Arc<AtomicBool>,
}

impl CrClient {
    /// Builds the TLS configuration `tls` asks for; a bad CA file is an error naming it.
    /// Skipping verification is logged here, at warn, so it is never a silent choice.
    pub fn new(tls: &CrTls) -> Result<Self, AcsError> {
        let config = if tls.skip_verify {
            tracing::warn!(
                "acs.cr_tls_skip_verify is set: connection requests over HTTPS accept any CPE \
                 certificate"
            );
            client_tls::unverified()?
        } else {
            client_tls::verified(tls.ca_file.as_deref())?
        };
        Ok(Self {
            tls: config,
            skip_verify: tls.skip_verify,
            warned: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Sends a connection request and waits for the CPE's 200/204.
    pub async fn send(
        &self,
        url: &str,
        username: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<(), CrError> {
        tokio::time::timeout(timeout, self.attempt(url, username, password))
            .await
            .unwrap_or(Err(CrError::Timeout))
    }

    async fn attempt(&self, url: &str, username: &str, password: &str) -> Result<(), CrError> {
        let uri: hyper::Uri = url.parse().map_err(|_| CrError::NoUrl)?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(CrError::NoUrl),
        };
        let host = uri
            .host()
            .ok_or(CrError::NoUrl)?
            .trim_matches(|c| c == '[' || c == ']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let target = Target {
            host,
            port,
            tls: tls.then(|| TlsConnector::from(Arc::clone(&self.tls))),
        };
        if tls && self.skip_verify && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                host = %target.host,
                "connection request over HTTPS without certificate verification \
                 (acs.cr_tls_skip_verify); later ones are not logged again"
            );
        }
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let authority = uri
            .authority()
            .map_or(target.host.clone(), |a| a.to_string());
        exchange(&target, &path, &authority, username, password).await
    }
}

/// Sends a connection request and waits for the CPE's 200/204, with the default TLS settings
/// (an `https://` URL is verified against the system's roots only).
pub async fn send(
    url: &str,
    username: &str,
    password: &str,
    timeout: Duration,
) -> Result<(), CrError> {
    static DEFAULT: OnceLock<Result<CrClient, String>> = OnceLock::new();
    let client =
        DEFAULT.get_or_init(|| CrClient::new(&CrTls::default()).map_err(|e| e.to_string()));
    match client {
        Ok(c) => c.send(url, username, password, timeout).await,
        Err(e) => Err(CrError::Tls(e.clone())),
    }
}

/// Where a connection request goes.
struct Target {
    host: String,
    port: u16,
    /// Set for `https://`.
    tls: Option<TlsConnector>,
}

/// The GET, a 401's challenge answered on the same connection (or a new one if the CPE closed
/// it), and the outcome.
async fn exchange(
    target: &Target,
    path: &str,
    authority: &str,
    username: &str,
    password: &str,
) -> Result<(), CrError> {
    let mut sender = connect(target).await?;
    let first = get(&mut sender, path, authority, None).await?;
    let status = first.status();
    if status.is_success() {
        return Ok(());
    }
    if status != hyper::StatusCode::UNAUTHORIZED {
        return Err(classify(status));
    }
    let challenge = first
        .headers()
        .get_all(hyper::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| match auth::challenge_scheme(v) {
            Some("Digest") => auth::parse_challenge(v).ok().map(|c| {
                let cnonce = hex::encode(rand::random::<[u8; 8]>());
                auth::answer_digest(&c, "GET", path, username, password, &cnonce, 1)
            }),
            Some("Basic") => Some(auth::basic_header(username, password)),
            _ => None,
        })
        .ok_or(CrError::AuthFailed)?;
    // Drain the 401's body so the connection can be reused; open a new one if the CPE closed it.
    let _ = first.into_body().collect().await;
    if sender.ready().await.is_err() {
        sender = connect(target).await?;
    }
    let second = get(&mut sender, path, authority, Some(&challenge)).await?;
    match second.status() {
        s if s.is_success() => Ok(()),
        hyper::StatusCode::UNAUTHORIZED => Err(CrError::AuthFailed),
        s => Err(classify(s)),
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// Opens a connection (TLS for `https://`) and its HTTP/1.1 client half.
async fn connect(target: &Target) -> Result<Sender, CrError> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|_| CrError::Offline)?;
    match &target.tls {
        None => handshake(stream).await,
        Some(connector) => {
            let name =
                client_tls::server_name(&target.host).map_err(|e| CrError::Tls(e.to_string()))?;
            let stream = connector.connect(name, stream).await.map_err(|e| {
                CrError::Tls(client_tls::tls_failure(&e).unwrap_or_else(|| e.to_string()))
            })?;
            handshake(stream).await
        }
    }
}

async fn handshake<S>(stream: S) -> Result<Sender, CrError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|_| CrError::Offline)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn get(
    sender: &mut Sender,
    path: &str,
    authority: &str,
    authorization: Option<&str>,
) -> Result<hyper::Response<hyper::body::Incoming>, CrError> {
    let mut req = hyper::Request::get(path).header(hyper::header::HOST, authority);
    if let Some(a) = authorization {
        req = req.header(hyper::header::AUTHORIZATION, a);
    }
    let req = req
        .body(Empty::new())
        .map_err(|e| CrError::Other(e.to_string()))?;
    sender.send_request(req).await.map_err(|_| CrError::Offline)
}

fn classify(status: hyper::StatusCode) -> CrError {
    if status == hyper::StatusCode::SERVICE_UNAVAILABLE {
        CrError::Busy
    } else {
        CrError::Other(status.to_string())
    }
}
