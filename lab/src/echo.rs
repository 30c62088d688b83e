//! An RFC 862 UDP echo service: the peer that simulated IPPing and TraceRoute probe (see
//! `diag/probe.rs`). Tests and lab set-ups run one on loopback and point the fleet's
//! `diag_echo_port` at it.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Binds `addr` and echoes every datagram back to its sender until the runtime ends; returns
/// the bound address (bind port 0 to get a free one).
pub async fn spawn_udp_echo(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let sock = UdpSocket::bind(addr).await?;
    let local = sock.local_addr()?;
    tokio::spawn(async move {
        // The largest UDP payload, so no datagram is cut short.
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            let _ = sock.send_to(&buf[..n], from).await;
        }
    });
    Ok(local)
}
