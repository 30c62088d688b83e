//! Connection requests: an HTTP GET to the CPE's ConnectionRequestURL, answered with Digest (or
//! Basic) using the credentials the ACS set, so the CPE opens a session now.

use cwmp::auth;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use std::time::Duration;
use tokio::net::TcpStream;

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
    /// Any other answer.
    #[error("unexpected answer: {0}")]
    Other(String),
}

/// Sends a connection request and waits for the CPE's 200/204.
pub async fn send(
    url: &str,
    username: &str,
    password: &str,
    timeout: Duration,
) -> Result<(), CrError> {
    tokio::time::timeout(timeout, attempt(url, username, password))
        .await
        .unwrap_or(Err(CrError::Timeout))
}

async fn attempt(url: &str, username: &str, password: &str) -> Result<(), CrError> {
    let uri: hyper::Uri = url.parse().map_err(|_| CrError::NoUrl)?;
    if uri.scheme_str() != Some("http") {
        return Err(CrError::NoUrl);
    }
    let host = uri
        .host()
        .ok_or(CrError::NoUrl)?
        .trim_matches(|c| c == '[' || c == ']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let authority = uri.authority().map_or(host.clone(), |a| a.to_string());

    let mut sender = connect(&host, port).await?;
    let first = get(&mut sender, &path, &authority, None).await?;
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
                auth::answer_digest(&c, "GET", &path, username, password, &cnonce, 1)
            }),
            Some("Basic") => Some(auth::basic_header(username, password)),
            _ => None,
        })
        .ok_or(CrError::AuthFailed)?;
    // Drain the 401's body so the connection can be reused; open a new one if the CPE closed it.
    let _ = first.into_body().collect().await;
    if sender.ready().await.is_err() {
        sender = connect(&host, port).await?;
    }
    let second = get(&mut sender, &path, &authority, Some(&challenge)).await?;
    match second.status() {
        s if s.is_success() => Ok(()),
        hyper::StatusCode::UNAUTHORIZED => Err(CrError::AuthFailed),
        s => Err(classify(s)),
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

async fn connect(host: &str, port: u16) -> Result<Sender, CrError> {
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|_| CrError::Offline)?;
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
