//! `GET /ping/{host}`: GenieACS runs the system `ping -w 1 -i 0.2 -c 3 -- <host>` and answers
//! 200 with its output, or 500 with the error when it fails (no reply, unknown host, invalid
//! host). This sends the same three ICMP echoes itself, 200 ms apart within a one-second
//! deadline, and writes the same text (Linux `ping`'s format, which GenieACS's UI parses), so
//! no process is started and no host name reaches a shell.
//!
//! An ICMP socket needs a privilege: the unprivileged "ping socket" (`SOCK_DGRAM`, allowed by
//! `net.ipv4.ping_group_range`) is tried first, then a raw socket (`CAP_NET_RAW`); with
//! neither, the answer is a 500 saying so. IPv4 only.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

/// Echoes sent, as GenieACS's `-c 3`.
const COUNT: u16 = 3;
/// Pause between echoes, as `-i 0.2`.
const INTERVAL: Duration = Duration::from_millis(200);
/// The whole run's deadline, as `-w 1`.
const DEADLINE: Duration = Duration::from_secs(1);
/// Payload bytes, as `ping`'s default 56.
const PAYLOAD: usize = 56;

/// What a run found: the text to send and whether any echo came back.
#[derive(Debug, Clone, PartialEq)]
pub struct PingReport {
    /// Linux `ping`'s output for the run.
    pub text: String,
    /// Replies received.
    pub received: u16,
}

/// Why a ping could not run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PingError {
    /// The host is not a name or address (GenieACS's check: letters, digits, `-_.:`).
    #[error("Invalid host")]
    InvalidHost,
    /// The name did not resolve to an IPv4 address.
    #[error("ping: {0}: Name or service not known")]
    Unknown(String),
    /// No ICMP socket could be opened.
    #[error("ping: no ICMP socket (needs net.ipv4.ping_group_range or CAP_NET_RAW): {0}")]
    Socket(String),
}

/// GenieACS's route check (`/ping/([a-zA-Z0-9\-_.:]+)`): the characters of host names and
/// IPv4/IPv6 addresses, nothing a shell or a URL would read differently.
pub fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Pings `host` as GenieACS does; blocking IO runs on the blocking pool.
pub async fn ping(host: &str) -> Result<PingReport, PingError> {
    if !valid_host(host) {
        return Err(PingError::InvalidHost);
    }
    let name = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let addr = resolve(&name).await?;
    tokio::task::spawn_blocking(move || run(&name, addr))
        .await
        .map_err(|e| PingError::Socket(e.to_string()))?
}

async fn resolve(name: &str) -> Result<Ipv4Addr, PingError> {
    if let Ok(IpAddr::V4(a)) = name.parse::<IpAddr>() {
        return Ok(a);
    }
    let unknown = || PingError::Unknown(name.to_owned());
    tokio::net::lookup_host((name, 0))
        .await
        .map_err(|_| unknown())?
        .find_map(|a| match a {
            SocketAddr::V4(v4) => Some(*v4.ip()),
            SocketAddr::V6(_) => None,
        })
        .ok_or_else(unknown)
}

/// An ICMP socket: the unprivileged kind if allowed, else a raw one; whether it is raw (raw
/// sockets deliver the IP header and every ICMP packet, which must then be filtered).
fn open() -> Result<(Socket, bool), PingError> {
    match Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::ICMPV4)) {
        Ok(s) => Ok((s, false)),
        Err(_) => Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
            .map(|s| (s, true))
            .map_err(|e| PingError::Socket(e.to_string())),
    }
}

fn run(host: &str, addr: Ipv4Addr) -> Result<PingReport, PingError> {
    let (socket, raw) = open()?;
    let to = SockAddr::from(SocketAddr::from((addr, 0)));
    // A ping socket's identifier is the kernel's; a raw socket's must tell our replies apart.
    let ident = (std::process::id() as u16) ^ rand::random::<u16>();
    let start = Instant::now();
    let mut text = format!(
        "PING {host} ({addr}) {PAYLOAD}({}) bytes of data.\n",
        PAYLOAD + 28
    );
    let mut rtts: Vec<f64> = Vec::new();
    let mut sent = 0u16;
    for seq in 1..=COUNT {
        let slot_end = start + INTERVAL * u32::from(seq);
        let deadline = slot_end.min(start + DEADLINE);
        if Instant::now() >= start + DEADLINE {
            break;
        }
        let packet = echo_request(ident, seq);
        let sent_at = Instant::now();
        if socket.send_to(&packet, &to).is_err() {
            break;
        }
        sent += 1;
        // The last echo may wait for its reply until the deadline, as `ping -w` does.
        let wait_until = if seq == COUNT {
            start + DEADLINE
        } else {
            deadline
        };
        if let Some(ttl) = await_reply(&socket, raw, addr, ident, seq, wait_until) {
            let ms = sent_at.elapsed().as_secs_f64() * 1000.0;
            rtts.push(ms);
            let ttl = ttl.map(|t| format!(" ttl={t}")).unwrap_or_default();
            text.push_str(&format!(
                "{} bytes from {addr}: icmp_seq={seq}{ttl} time={ms:.3} ms\n",
                PAYLOAD + 8
            ));
        }
        let now = Instant::now();
        if seq < COUNT && now < slot_end {
            std::thread::sleep(slot_end - now);
        }
    }
    let received = u16::try_from(rtts.len()).unwrap_or(u16::MAX);
    let loss = if sent == 0 {
        100
    } else {
        100 - u32::from(received) * 100 / u32::from(sent)
    };
    text.push_str(&format!(
        "\n--- {host} ping statistics ---\n{sent} packets transmitted, {received} received, {loss}% packet loss, time {}ms\n",
        start.elapsed().as_millis()
    ));
    if !rtts.is_empty() {
        let n = rtts.len() as f64;
        let min = rtts.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rtts.iter().copied().fold(0.0, f64::max);
        let avg = rtts.iter().sum::<f64>() / n;
        let mdev = (rtts.iter().map(|r| (r - avg) * (r - avg)).sum::<f64>() / n).sqrt();
        text.push_str(&format!(
            "rtt min/avg/max/mdev = {min:.3}/{avg:.3}/{max:.3}/{mdev:.3} ms\n"
        ));
    }
    Ok(PingReport { text, received })
}

/// Waits for the reply to echo `seq` until `until`; its TTL when the socket shows it.
fn await_reply(
    socket: &Socket,
    raw: bool,
    from: Ipv4Addr,
    ident: u16,
    seq: u16,
    until: Instant,
) -> Option<Option<u8>> {
    let mut buf = [0u8; 1500];
    loop {
        let left = until.checked_duration_since(Instant::now())?;
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            return None;
        }
        let n = (&*socket).read(&mut buf).ok()?;
        let packet = &buf[..n];
        let (icmp, ttl) = if raw {
            // Raw sockets deliver the IPv4 header first; its length is in its first byte.
            let ihl = usize::from(packet.first()? & 0x0f) * 4;
            let source = Ipv4Addr::new(
                *packet.get(12)?,
                *packet.get(13)?,
                *packet.get(14)?,
                *packet.get(15)?,
            );
            if source != from {
                continue;
            }
            (packet.get(ihl..)?, Some(*packet.get(8)?))
        } else {
            (packet, None)
        };
        if is_reply(icmp, raw.then_some(ident), seq) {
            return Some(ttl);
        }
    }
}

/// An ICMP echo request with a checksum (a ping socket rewrites the identifier itself).
fn echo_request(ident: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![0u8; 8 + PAYLOAD];
    p[0] = 8;
    p[4..6].copy_from_slice(&ident.to_be_bytes());
    p[6..8].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in p[8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let sum = checksum(&p);
    p[2..4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// Whether `icmp` is the echo reply to `seq` (and, on a raw socket, to our identifier).
fn is_reply(icmp: &[u8], ident: Option<u16>, seq: u16) -> bool {
    let field = |i: usize| icmp.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    icmp.first() == Some(&0) && field(6) == Some(seq) && ident.is_none_or(|id| field(4) == Some(id))
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hosts_are_checked_as_genieacs_checks_them() {
        for ok in ["127.0.0.1", "cpe-1.lab", "cpe_2", "fe80::1"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in ["", "a b", "x;rm", "$(id)", "a/b", "[::1]"] {
            assert!(!valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn an_echo_request_checks_out_and_its_reply_is_recognised() {
        let p = echo_request(0x1234, 2);
        assert_eq!(checksum(&p), 0, "a packet with its checksum sums to zero");
        let mut reply = p.clone();
        reply[0] = 0;
        assert!(is_reply(&reply, Some(0x1234), 2));
        assert!(is_reply(&reply, None, 2));
        assert!(!is_reply(&reply, Some(0x1235), 2));
        assert!(!is_reply(&reply, None, 3));
        assert!(!is_reply(&p, None, 2), "our own request is not a reply");
        assert!(!is_reply(&[0, 0], None, 2));
    }

    proptest! {
        #[test]
        fn reply_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = is_reply(&bytes, Some(1), 1);
        }
    }
}
