//! Oversized bodies are refused from their declared length, before any of the body is sent.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{TOKEN, start};

/// Sends only a request head and returns the status line the server answers with (the body is
/// never sent, so a server that waits for it answers nothing and the read times out).
async fn status_without_body(addr: std::net::SocketAddr, head: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 512];
    let read = async {
        while !out.windows(2).any(|w| w == b"\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
    let text = String::from_utf8_lossy(&out);
    text.lines().next().map(str::to_owned)
}

#[tokio::test]
async fn declared_lengths_over_the_limits_get_413_before_the_body() {
    let t = start().await;
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let task = format!(
        "POST /devices/x/tasks HTTP/1.1\r\nHost: a\r\n{auth}Content-Length: 1073741824\r\n\r\n"
    );
    let line = status_without_body(t.nbi, &task).await;
    assert_eq!(line.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    // A file upload has its own, larger limit (1 GiB), checked the same way.
    let file = format!(
        "PUT /files/fw.bin HTTP/1.1\r\nHost: a\r\n{auth}Content-Length: 2147483648\r\n\r\n"
    );
    let line = status_without_body(t.nbi, &file).await;
    assert_eq!(line.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    // Within the limit, the server waits for the body as it should: no early answer.
    let small =
        format!("POST /devices/x/tasks HTTP/1.1\r\nHost: a\r\n{auth}Content-Length: 100\r\n\r\n");
    assert_eq!(status_without_body(t.nbi, &small).await, None);
}
