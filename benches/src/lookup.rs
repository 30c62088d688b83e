//! NBI lookups over one keep-alive HTTP/1.1 connection, timed one by one: by serial, by MAC,
//! by tag (a PON port's devices) and by last-inform hour, over a store seeded by [`crate::seed`].

use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::seed::{PER_PORT, SPREAD_HOURS, SPREAD_START_MS, mac};

/// One keep-alive HTTP/1.1 connection; reads chunked or sized bodies.
pub struct Client {
    r: BufReader<tokio::io::ReadHalf<tokio::net::TcpStream>>,
    w: tokio::io::WriteHalf<tokio::net::TcpStream>,
    token: String,
}

impl Client {
    /// Connects to the NBI at `addr`, sending `token` as a bearer token.
    pub async fn connect(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<Self> {
        let (r, w) = tokio::io::split(tokio::net::TcpStream::connect(addr).await?);
        Ok(Self {
            r: BufReader::new(r),
            w,
            token: token.to_owned(),
        })
    }

    /// Sends one GET with the bearer token and reads the status and body.
    pub async fn get(&mut self, target: &str) -> anyhow::Result<(u16, String)> {
        let req = format!(
            "GET {target} HTTP/1.1\r\nHost: nbi\r\nAuthorization: Bearer {}\r\n\r\n",
            self.token
        );
        self.w.write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.r.read_line(&mut line).await?;
        let status: u16 = line.split(' ').nth(1).unwrap_or("0").parse()?;
        let (mut len, mut chunked) = (0usize, false);
        loop {
            line.clear();
            self.r.read_line(&mut line).await?;
            let l = line.trim_end().to_ascii_lowercase();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.strip_prefix("content-length:") {
                len = v.trim().parse()?;
            }
            if l == "transfer-encoding: chunked" {
                chunked = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.r.read_line(&mut line).await?;
                let n = usize::from_str_radix(line.trim(), 16)?;
                let mut chunk = vec![0; n + 2];
                self.r.read_exact(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            body.resize(len, 0);
            self.r.read_exact(&mut body).await?;
        }
        Ok((status, String::from_utf8(body)?))
    }
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// p50 and p99 in milliseconds of `requests` lookups built by `target(k)`, checking each answer
/// holds `want(k)` documents.
pub async fn measure(
    client: &mut Client,
    requests: usize,
    n: usize,
    target: impl Fn(usize) -> String,
    want: impl Fn(usize) -> usize,
) -> anyhow::Result<(f64, f64)> {
    let mut lat = Vec::with_capacity(requests);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..requests {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let k = (x % n as u64) as usize;
        let t = Instant::now();
        let (status, body) = client.get(&target(k)).await?;
        lat.push(t.elapsed());
        anyhow::ensure!(status == 200, "status {status}");
        let docs = body.matches("\"_id\"").count();
        anyhow::ensure!(docs == want(k), "{} documents, expected {}", docs, want(k));
    }
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok((ms(lat[lat.len() / 2]), ms(lat[lat.len() * 99 / 100])))
}

/// p50 and p99 (ms) of each lookup kind over a store of `n` seeded devices.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lookups {
    /// By serial number (`_deviceId._SerialNumber`).
    pub serial: (f64, f64),
    /// By MAC address (a parameter value).
    pub mac: (f64, f64),
    /// By tag: one PON port's devices.
    pub tag: (f64, f64),
    /// By last-inform hour: `n / 720` devices.
    pub inform: (f64, f64),
}

/// Times `requests` lookups of each kind, checking each answer's document count.
pub async fn measure_all(
    client: &mut Client,
    n: usize,
    requests: usize,
) -> anyhow::Result<Lookups> {
    let serial = measure(
        client,
        requests,
        n,
        |k| {
            format!(
                "/devices/?query={}&projection=_id,_lastInform",
                enc(&format!(r#"{{"_deviceId._SerialNumber":"FPSIM{k:08}"}}"#))
            )
        },
        |_| 1,
    )
    .await?;
    let mac = measure(
        client,
        requests,
        n,
        |k| {
            format!(
                "/devices/?query={}&projection=_id",
                enc(&format!(
                    r#"{{"Device.Ethernet.Interface.1.MACAddress":"{}"}}"#,
                    mac(k)
                ))
            )
        },
        |_| 1,
    )
    .await?;
    let ports = n.div_ceil(PER_PORT);
    let tag = measure(
        client,
        requests,
        ports,
        |k| {
            format!(
                "/devices/?query={}&projection=_id,_tags",
                enc(&format!(r#"{{"_tags":"port-{k}"}}"#))
            )
        },
        |k| PER_PORT.min(n - k * PER_PORT),
    )
    .await?;
    let hours = SPREAD_HOURS.min(n);
    let inform = measure(
        client,
        requests,
        hours,
        |h| {
            let from = SPREAD_START_MS + h as i64 * 3_600_000;
            format!(
                "/devices/?query={}&projection=_id",
                enc(&format!(
                    r#"{{"_lastInform":{{"$gte":"{}","$lt":"{}"}}}}"#,
                    nbi::date::iso(from),
                    nbi::date::iso(from + 3_600_000)
                ))
            )
        },
        |h| (h..n).step_by(SPREAD_HOURS).count(),
    )
    .await?;
    Ok(Lookups {
        serial,
        mac,
        tag,
        inform,
    })
}
