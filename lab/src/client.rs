//! The HTTP/1.1 client side of a CWMP session: one keep-alive connection, cookies, and answers to
//! 401 challenges.
//!
//! The session protocol itself is `cwmp::CpeSession`; this module only moves bytes and keeps the
//! HTTP state a real CPE keeps (the session cookie and the Digest nonce count).

use std::time::Duration;

use bytes::Bytes;
use cwmp::auth::{DigestChallenge, answer_digest, basic_header, challenge_scheme, parse_challenge};
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HOST, RETRY_AFTER, SET_COOKIE};
use http::{HeaderMap, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::auth::CpeAuth;
use crate::error::SimError;

/// Largest ACS answer or downloaded file we read, in bytes.
pub(crate) const MAX_BODY: usize = 64 << 20;

/// A parsed `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `host:port` as sent in the Host header.
    pub(crate) authority: String,
    /// Path and query, at least `/`.
    pub(crate) path: String,
}

impl HttpUrl {
    /// Parses a plain-HTTP URL; anything else (https, userinfo, garbage) is refused.
    pub(crate) fn parse(url: &str) -> Result<Self, SimError> {
        let bad = || SimError::BadUrl(url.to_owned());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h, p.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(Self {
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// One HTTP answer from the ACS.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) retry_after: Option<Duration>,
}

/// Opens a TCP connection and an HTTP/1.1 client on it.
pub(crate) async fn connect(
    url: &HttpUrl,
    timeout: Duration,
) -> Result<SendRequest<Full<Bytes>>, SimError> {
    let tcp = tokio::time::timeout(timeout, TcpStream::connect((url.host.as_str(), url.port)))
        .await
        .map_err(|_| SimError::Timeout)??;
    tcp.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
    // The connection task ends when the sender is dropped or the peer closes.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// The HTTP side of one CWMP session.
pub(crate) struct Transport {
    url: HttpUrl,
    timeout: Duration,
    sender: Option<SendRequest<Full<Bytes>>>,
    cookies: Vec<(String, String)>,
    auth: CpeAuth,
    username: String,
    challenge: Option<DigestChallenge>,
    nc: u32,
    cnonce: String,
}

impl Transport {
    /// Prepares a session transport; nothing is connected until the first POST.
    pub(crate) fn new(url: HttpUrl, timeout: Duration, auth: CpeAuth, username: String) -> Self {
        Self {
            url,
            timeout,
            sender: None,
            cookies: Vec::new(),
            auth,
            username,
            challenge: None,
            nc: 0,
            cnonce: format!("{:016x}", rand::random::<u64>()),
        }
    }

    /// Resumes Digest with a challenge from an earlier session, so the first POST carries
    /// credentials (the nonce count continues, as RFC 7616 allows) and saves the 401 round trip.
    pub(crate) fn resume_digest(&mut self, state: Option<(DigestChallenge, u32)>) {
        if let Some((ch, nc)) = state {
            self.challenge = Some(ch);
            self.nc = nc;
        }
    }

    /// The Digest challenge and nonce count in use, to resume in the next session.
    pub(crate) fn digest_state(&self) -> Option<(DigestChallenge, u32)> {
        self.challenge.clone().map(|ch| (ch, self.nc))
    }

    /// The Authorization header for the next request, if we have something to send.
    fn authorization(&mut self) -> Option<String> {
        let cred = self.auth.credential()?;
        let password = cred.password_for(&self.username);
        match (&self.auth, &self.challenge) {
            (CpeAuth::Basic(_), _) => Some(basic_header(&self.username, &password)),
            (CpeAuth::Digest(_), Some(ch)) => {
                self.nc += 1;
                Some(answer_digest(
                    ch,
                    "POST",
                    &self.url.path,
                    &self.username,
                    &password,
                    &self.cnonce,
                    self.nc,
                ))
            }
            _ => None,
        }
    }

    /// POSTs `body` (empty for the "no more requests" POST) and returns the answer, answering
    /// up to two 401 challenges on the way.
    pub(crate) async fn post(&mut self, body: Bytes) -> Result<Answer, SimError> {
        let mut challenges = 0;
        loop {
            let (status, headers, answer) = self.send_once(body.clone()).await?;
            if status != 401 {
                let retry_after = headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                return Ok(Answer {
                    status,
                    body: answer,
                    retry_after,
                });
            }
            challenges += 1;
            let header = headers
                .get_all(http::header::WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| challenge_scheme(v) == Some("Digest"));
            let fresh = match (header.map(parse_challenge), &self.auth) {
                (Some(Ok(ch)), CpeAuth::Digest(_)) => {
                    // A new nonce (or a stale one) deserves an answer; the same nonce twice means
                    // our password is wrong.
                    let again = self
                        .challenge
                        .as_ref()
                        .is_some_and(|old| old.nonce == ch.nonce);
                    let fresh = !again || ch.stale;
                    self.challenge = Some(ch);
                    self.nc = 0;
                    fresh
                }
                _ => false,
            };
            if !fresh || challenges > 2 {
                return Err(SimError::Unauthorized);
            }
        }
    }

    /// One HTTP exchange, reconnecting if the ACS closed the previous connection. A request
    /// that failed on a reused keep-alive connection before reaching the ACS is sent once more
    /// on a fresh one: the ACS may close an idle connection just as we reuse it.
    async fn send_once(&mut self, body: Bytes) -> Result<(u16, HeaderMap, Bytes), SimError> {
        let mut reused = false;
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => {
                reused = true;
                s
            }
            _ => connect(&self.url, self.timeout).await?,
        };
        loop {
            let req = self.request(body.clone())?;
            let sent = async {
                sender.ready().await?;
                sender.send_request(req).await
            };
            let resp = match tokio::time::timeout(self.timeout, sent).await {
                Err(_) => return Err(SimError::Timeout),
                Ok(Err(e)) if reused && (e.is_canceled() || e.is_closed()) => {
                    reused = false;
                    sender = connect(&self.url, self.timeout).await?;
                    continue;
                }
                Ok(r) => r?,
            };
            let (parts, body) = resp.into_parts();
            let read = Limited::new(body, MAX_BODY).collect();
            let bytes = tokio::time::timeout(self.timeout, read)
                .await
                .map_err(|_| SimError::Timeout)?
                .map_err(|_| SimError::TooLarge)?
                .to_bytes();
            self.store_cookies(&parts.headers);
            self.sender = Some(sender);
            return Ok((parts.status.as_u16(), parts.headers, bytes));
        }
    }

    /// Builds a POST with the session's cookies and credentials.
    fn request(&mut self, body: Bytes) -> Result<Request<Full<Bytes>>, SimError> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(self.url.path.as_str())
            .header(HOST, self.url.authority.as_str());
        if !body.is_empty() {
            req = req
                .header(CONTENT_TYPE, "text/xml; charset=\"utf-8\"")
                .header("SOAPAction", "");
        }
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(COOKIE, c.join("; "));
        }
        if let Some(a) = self.authorization() {
            req = req.header(AUTHORIZATION, a);
        }
        req.body(Full::new(body))
            .map_err(|_| SimError::BadUrl(self.url.path.clone()))
    }

    /// Keeps `name=value` of every Set-Cookie, replacing cookies of the same name.
    fn store_cookies(&mut self, headers: &HeaderMap) {
        for v in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                let (k, val) = (k.trim().to_owned(), val.trim().to_owned());
                // A real CPE keeps a few cookies; a hostile ACS cannot make us keep thousands.
                self.cookies.retain(|(n, _)| *n != k);
                if self.cookies.len() < 16 {
                    self.cookies.push((k, val));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_and_non_http_refused() {
        let u = HttpUrl::parse("http://127.0.0.1:7547/acs?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 7547, "/acs?x=1")
        );
        let u = HttpUrl::parse("http://acs.example").unwrap();
        assert_eq!(
            (u.port, u.path.as_str(), u.authority.as_str()),
            (80, "/", "acs.example")
        );
        let u = HttpUrl::parse("http://[::1]:8080/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 8080));
        assert!(HttpUrl::parse("https://x/").is_err());
        assert!(HttpUrl::parse("http://u:p@x/").is_err());
        assert!(HttpUrl::parse("http://x:99999/").is_err());
    }
}
