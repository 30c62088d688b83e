//! A raw HTTP/1.1 client for hostile requests: exact bytes out, the status line back, and a
//! clear verdict when the server dropped the connection or did not answer in time.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// A response with this status.
    Status(u16),
    /// The connection closed (or reset) without a status line.
    Dropped,
    /// No status line within the time limit.
    TimedOut,
}

impl Reply {
    /// Clean: a 2xx or 4xx answer (a CWMP Fault travels in a 200 or a 4xx too).
    pub(crate) fn is_clean(self) -> bool {
        matches!(self, Self::Status(s) if (200..300).contains(&s) || (400..500).contains(&s))
    }
}

/// A request with a Content-Length body and `Connection: close`.
pub(crate) fn request(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method != "GET" {
        r.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    r.push_str("\r\n");
    let mut bytes = r.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `bytes` and reads until the status line (and the rest, until close).
pub(crate) async fn exchange(addr: SocketAddr, bytes: &[u8], limit: Duration) -> Reply {
    let fut = async {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            return Reply::Dropped;
        };
        // A server may answer (413, 400) before reading everything: a failed write is not yet
        // a verdict, the reply is.
        let _ = s.write_all(bytes).await;
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if out.len() > 64 * 1024 {
                        break;
                    }
                }
            }
        }
        status(&out).map_or(Reply::Dropped, Reply::Status)
    };
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or(Reply::TimedOut)
}

/// The status code of a response's first line.
pub(crate) fn status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split_whitespace();
    parts.next().filter(|v| v.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

/// Percent-encodes everything but unreserved characters (for a hostile query parameter).
pub(crate) fn percent(input: &[u8]) -> String {
    let mut s = String::with_capacity(input.len() * 3);
    for &b in input {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_and_encoding() {
        assert_eq!(status(b"HTTP/1.1 413 Payload Too Large\r\n"), Some(413));
        assert_eq!(status(b"garbage"), None);
        assert!(Reply::Status(202).is_clean() && Reply::Status(404).is_clean());
        assert!(!Reply::Status(503).is_clean() && !Reply::Dropped.is_clean());
        assert_eq!(percent(b"{\"a\" \xff}"), "%7B%22a%22%20%FF%7D");
        let r = request("POST", "/x", &[("A", "b")], b"hi");
        assert!(r.ends_with(b"Content-Length: 2\r\n\r\nhi"));
    }
}
