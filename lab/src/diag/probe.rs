//! What the simulator measures for IPPing and TraceRoute, without raw sockets (which need
//! privileges a lab run does not have): UDP datagrams to a loopback echo port.
//!
//! * IPPing sends `NumberOfRepetitions` datagrams of `DataBlockSize` bytes, one after the other,
//!   to `Host:echo_port` (default 7, the RFC 862 echo service). A reply carrying the same bytes
//!   within `Timeout` ms counts as a success with its round-trip time; silence or an ICMP port
//!   unreachable (no echo service listening) counts as a failure.
//! * TraceRoute sends `NumberOfTries` probes per hop with the IP TTL set to the hop number
//!   (IPv4; IPv6 probes keep the default hop limit). As in classic UDP traceroute, an echo or a
//!   port-unreachable answer means the probe reached the host and the trace ends at that hop;
//!   silence for every try leaves the hop unanswered and the trace goes on, up to `MaxHopCount`.
//!   On loopback the host is always hop 1.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::outcome::{Failure, Hop, PingStats, TraceStats};
use super::target::source_for;

/// Largest datagram read back; `DataBlockSize` is at most 65,535.
const MAX_DATAGRAM: usize = 65_536;

/// How one probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The echo came back after this long.
    Echo(Duration),
    /// The host answered that nothing listens on the port (ICMP port unreachable).
    Refused(Duration),
    /// Nothing came back in time.
    Silent,
}

async fn socket(target: IpAddr, port: u16) -> Result<UdpSocket, Failure> {
    let sock = UdpSocket::bind(SocketAddr::new(source_for(target), 0))
        .await
        .map_err(|_| Failure::Internal)?;
    // A connected socket receives only the target's datagrams and its ICMP errors.
    sock.connect(SocketAddr::new(target, port))
        .await
        .map_err(|_| Failure::Internal)?;
    Ok(sock)
}

/// The payload of probe `seq`: its number, then filler up to `size` bytes.
fn payload(seq: u32, size: usize) -> Vec<u8> {
    let mut p: Vec<u8> = seq
        .to_be_bytes()
        .iter()
        .copied()
        .cycle()
        .take(size)
        .collect();
    if p.is_empty() {
        p.push(0);
    }
    p
}

/// Sends one probe and waits for its echo; a stale echo of an earlier probe is skipped.
async fn probe(sock: &UdpSocket, data: &[u8], timeout: Duration) -> Result<Answer, Failure> {
    let start = Instant::now();
    match sock.send(data).await {
        Ok(_) => {}
        // The error of an earlier probe's ICMP answer can surface on this send.
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
            return Ok(Answer::Refused(start.elapsed()));
        }
        Err(_) => return Err(Failure::Internal),
    }
    let deadline = tokio::time::Instant::from_std(start + timeout);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
            Err(_) => return Ok(Answer::Silent),
            Ok(Ok(n)) if buf[..n] == *data => return Ok(Answer::Echo(start.elapsed())),
            Ok(Ok(_)) => continue,
            Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => {
                return Ok(Answer::Refused(start.elapsed()));
            }
            Ok(Err(_)) => return Err(Failure::Internal),
        }
    }
}

/// Pings `target` on the echo port.
pub(crate) async fn ping(
    target: IpAddr,
    port: u16,
    count: u32,
    timeout: Duration,
    size: usize,
) -> Result<PingStats, Failure> {
    let sock = socket(target, port).await?;
    let mut rtts = Vec::with_capacity(count as usize);
    for seq in 0..count {
        let rtt = match probe(&sock, &payload(seq, size), timeout).await? {
            Answer::Echo(d) => Some(d),
            Answer::Refused(_) | Answer::Silent => None,
        };
        rtts.push(rtt);
    }
    Ok(PingStats {
        source: source_for(target),
        rtts,
    })
}

/// Traces the route to `target` (named `host` in the results).
pub(crate) async fn trace(
    target: IpAddr,
    host: &str,
    port: u16,
    tries: u32,
    timeout: Duration,
    size: usize,
    max_hops: u32,
) -> Result<TraceStats, Failure> {
    let sock = socket(target, port).await?;
    let mut hops = Vec::new();
    let mut seq = 0u32;
    for ttl in 1..=max_hops {
        if target.is_ipv4() {
            sock.set_ttl(ttl).map_err(|_| Failure::Internal)?;
        }
        let mut hop = Hop {
            address: None,
            rtts: Vec::new(),
        };
        for _ in 0..tries {
            seq = seq.wrapping_add(1);
            let rtt = match probe(&sock, &payload(seq, size), timeout).await? {
                Answer::Echo(d) | Answer::Refused(d) => Some(d),
                Answer::Silent => None,
            };
            if rtt.is_some() {
                hop.address = Some(target);
            }
            hop.rtts.push(rtt);
        }
        let reached = hop.address.is_some();
        hops.push(hop);
        if reached {
            return Ok(TraceStats {
                source: source_for(target),
                host: host.to_owned(),
                hops,
                reached: true,
            });
        }
    }
    Ok(TraceStats {
        source: source_for(target),
        host: host.to_owned(),
        hops,
        reached: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    async fn echo() -> u16 {
        let lo = SocketAddr::new(LO, 0);
        crate::spawn_udp_echo(lo).await.unwrap().port()
    }

    /// A port nothing listens on (bound, then closed).
    fn closed_port() -> u16 {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn ping_counts_echoes_and_port_unreachable_as_failures() {
        let port = echo().await;
        let p = ping(LO, port, 3, Duration::from_secs(2), 64).await.unwrap();
        assert_eq!(p.rtts.len(), 3);
        assert!(p.rtts.iter().all(Option::is_some), "{p:?}");
        let p = ping(LO, closed_port(), 2, Duration::from_secs(2), 8)
            .await
            .unwrap();
        assert_eq!(p.rtts, vec![None, None]);
    }

    #[tokio::test]
    async fn trace_reaches_loopback_at_the_first_hop() {
        let t = trace(
            LO,
            "localhost",
            closed_port(),
            2,
            Duration::from_secs(2),
            38,
            5,
        )
        .await
        .unwrap();
        assert!(t.reached);
        assert_eq!(t.hops.len(), 1);
        assert_eq!(t.hops[0].address, Some(LO));
        // A silent port: every hop goes unanswered until the hop limit.
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let t = trace(LO, "localhost", port, 1, Duration::from_millis(20), 8, 3)
            .await
            .unwrap();
        assert!(!t.reached);
        assert_eq!(t.hops.len(), 3);
        drop(silent);
    }
}
