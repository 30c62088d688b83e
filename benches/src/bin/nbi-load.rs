//! NBI benchmark: imports N GenieACS device documents through the migration path
//! (`nbi::import`, streamed, batched store writes), then measures the GenieACS-compatible NBI's
//! latency over loopback HTTP for the lookups operators and the seed gateway make: by serial
//! number, by MAC address, and a tag filter (the devices of one PON port).
//!
//! `cargo run -p fibreplane-benches --release --bin nbi-load -- [--devices 100000,1000000]
//! [--write-readme]`

use clap::Parser;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[derive(Debug, Parser)]
struct Args {
    /// Store sizes to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    devices: Vec<usize>,
    /// Requests per lookup kind.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Rewrite the results table in benches/README.md.
    #[arg(long)]
    write_readme: bool,
}

const TOKEN: &str = "bench-token";
/// Devices per simulated PON port, tagged `port-<n>`.
const PER_PORT: usize = 64;
/// Last-inform times are spread over this many hours, device `i` in hour `i % SPREAD_HOURS`, so
/// an hour's window holds about `n / SPREAD_HOURS` devices (the "who went quiet" queries).
const SPREAD_HOURS: usize = 720;
/// 2026-10-26T00:00:00Z, the first hour of the spread.
const SPREAD_START_MS: i64 = 1_792_972_800_000;

/// A GenieACS device document as `mongoexport` writes it: a device discovered as far as the
/// default provisions go (identity, management server, a few interface values).
fn document(i: usize) -> String {
    let serial = format!("FPSIM{i:08}");
    let mac = mac(i);
    let ts = "2026-11-20T08:00:00.000Z";
    let leaf = |v: &str, t: &str, w: bool| {
        format!(
            r#"{{"_object":false,"_writable":{w},"_value":{v},"_type":"xsd:{t}","_timestamp":"{ts}"}}"#
        )
    };
    let s = |v: &str| format!("\"{v}\"");
    format!(
        concat!(
            r#"{{"_id":"1C61B4-Device2-{serial}","_deviceId":{{"_Manufacturer":"TP-Link","_OUI":"1C61B4","_ProductClass":"Device2","_SerialNumber":"{serial}"}},"#,
            r#""_lastInform":{{"$date":"{last_inform}"}},"_registered":{{"$date":"2026-01-01T00:00:00.000Z"}},"_tags":["port-{port}"],"#,
            r#""Device":{{"_object":true,"_writable":false,"DeviceInfo":{{"_object":true,"_writable":false,"SerialNumber":{sn},"SoftwareVersion":{sw},"UpTime":{up}}},"#,
            r#""ManagementServer":{{"_object":true,"_writable":false,"ConnectionRequestURL":{cr},"PeriodicInformInterval":{pii}}},"#,
            r#""Ethernet":{{"_object":true,"_writable":false,"Interface":{{"_object":true,"_writable":false,"1":{{"_object":true,"_writable":false,"MACAddress":{mac}}}}}}},"#,
            r#""WiFi":{{"_object":true,"_writable":false,"SSID":{{"_object":true,"_writable":false,"1":{{"_object":true,"_writable":true,"SSID":{ssid}}}}}}}}}}}"#,
            "\n"
        ),
        serial = serial,
        last_inform = hour_iso(i % SPREAD_HOURS, i),
        port = i / PER_PORT,
        sn = leaf(&s(&serial), "string", false),
        sw = leaf(&s("1.1.0 Build 240315"), "string", false),
        up = leaf(&(i % 100_000).to_string(), "unsignedInt", false),
        cr = leaf(
            &s(&format!(
                "http://10.{}.{}.{}:7547/",
                i >> 16 & 255,
                i >> 8 & 255,
                i & 255
            )),
            "string",
            false
        ),
        pii = leaf("300", "unsignedInt", true),
        mac = leaf(&s(&mac), "string", false),
        ssid = leaf(&s(&format!("Gigafibre-{i}")), "string", true),
    )
}

/// A time inside hour `h` of the spread (minutes and seconds vary with `i`).
fn hour_iso(h: usize, i: usize) -> String {
    let ms = SPREAD_START_MS + h as i64 * 3_600_000 + (i as i64 * 7_919 % 3_600_000);
    nbi::date::iso(ms)
}

fn mac(i: usize) -> String {
    let b = (i as u64).to_be_bytes();
    format!("1C:61:B4:{:02X}:{:02X}:{:02X}", b[5], b[6], b[7])
}

/// Generates the export on the fly, so a million documents never sit in memory or on disk.
struct Export {
    next: usize,
    end: usize,
    buf: Vec<u8>,
    at: usize,
}

impl Read for Export {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            if self.next == self.end {
                return Ok(0);
            }
            self.buf = document(self.next).into_bytes();
            self.at = 0;
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

async fn import(acs: &acs::Acs, n: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    let export = Export {
        next: 0,
        end: n,
        buf: Vec::new(),
        at: 0,
    };
    let mut batch = Vec::new();
    for doc in nbi::import::Documents::new(std::io::BufReader::new(export), 1 << 20) {
        let (meta, tree) = nbi::import::device(&doc?)?;
        let id = meta.id.clone();
        batch.push(acs_store::Op::PutDevice {
            meta,
            expect: acs_store::Expect::Any,
        });
        batch.push(acs_store::Op::UpdateTree {
            id,
            set: tree
                .iter()
                .map(|(p, v)| (p.to_owned(), v.clone()))
                .collect(),
            remove_subtrees: Vec::new(),
        });
        if batch.len() >= 1024 {
            acs.write(std::mem::take(&mut batch)).await?;
        }
    }
    acs.write(batch).await?;
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// One keep-alive HTTP/1.1 connection; reads chunked or sized bodies.
struct Client {
    r: BufReader<tokio::io::ReadHalf<tokio::net::TcpStream>>,
    w: tokio::io::WriteHalf<tokio::net::TcpStream>,
}

impl Client {
    async fn get(&mut self, target: &str) -> anyhow::Result<(u16, String)> {
        let req =
            format!("GET {target} HTTP/1.1\r\nHost: nbi\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
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

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// p50 and p99 in milliseconds of `requests` lookups built by `target(k)`, checking each answer
/// holds `want(k)` documents.
async fn measure(
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

struct Row {
    devices: usize,
    import_rate: f64,
    disk_mib: f64,
    serial: (f64, f64),
    mac: (f64, f64),
    tag: (f64, f64),
    inform: (f64, f64),
}

async fn run(n: usize, requests: usize) -> anyhow::Result<Row> {
    let dir = tempfile::tempdir()?;
    let config = acs::AcsConfig {
        data_dir: dir.path().to_owned(),
        cpe_auth: acs::CpeAuthMode::None,
        ..acs::AcsConfig::default()
    };
    let acs = acs::Acs::open(config)?;
    let import_rate = import(&acs, n).await?;
    let disk_mib = fibreplane_benches::procs::dir_bytes(dir.path()) as f64 / (1 << 20) as f64;
    println!("{n} devices imported at {import_rate:.0}/s; store {disk_mib:.0} MiB");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = nbi::NbiConfig {
        access: nbi::Access::Token(nbi::Token::new(TOKEN)),
        fs_base_url: None,
        files: None,
    };
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(nbi::serve(Arc::clone(&acs), config, listener, async {
        let _ = rx.await;
    }));
    let (r, w) = tokio::io::split(tokio::net::TcpStream::connect(addr).await?);
    let mut client = Client {
        r: BufReader::new(r),
        w,
    };
    let serial = measure(
        &mut client,
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
        &mut client,
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
        &mut client,
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
        &mut client,
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
    let _ = stop.send(());
    server.await??;
    Ok(Row {
        devices: n,
        import_rate,
        disk_mib,
        serial,
        mac,
        tag,
        inform,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut rows = Vec::new();
    for &n in &args.devices {
        let row = run(n, args.requests).await?;
        println!(
            "{n}: serial p50/p99 {:.2}/{:.2} ms, MAC {:.2}/{:.2} ms, tag ({PER_PORT} devices) {:.2}/{:.2} ms, last-inform hour {:.2}/{:.2} ms",
            row.serial.0,
            row.serial.1,
            row.mac.0,
            row.mac.1,
            row.tag.0,
            row.tag.1,
            row.inform.0,
            row.inform.1
        );
        rows.push(row);
    }
    let mut table = String::from(
        "| Stored devices | Import rate | Store size | Serial lookup p50 / p99 | MAC lookup p50 / p99 | Tag filter (64 devices) p50 / p99 | Last-inform hour (n/720 devices) p50 / p99 |\n|---|---|---|---|---|---|---|\n",
    );
    for r in &rows {
        table.push_str(&format!(
            "| {} | {:.0} devices/s | {:.0} MiB | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {:.2} / {:.2} ms |\n",
            r.devices, r.import_rate, r.disk_mib, r.serial.0, r.serial.1, r.mac.0, r.mac.1, r.tag.0, r.tag.1, r.inform.0, r.inform.1
        ));
    }
    print!("\n{table}");
    if args.write_readme {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let (start, end) = ("<!-- nbi-load:start -->", "<!-- nbi-load:end -->");
        let devices: Vec<String> = args.devices.iter().map(usize::to_string).collect();
        let body = format!(
            "{start}\nCommand: `cargo run -p fibreplane-benches --release --bin nbi-load -- --devices {} --requests {} --write-readme` (target: p99 ≤ 5 ms for indexed lookups at 1,000,000 devices).\n\n{table}{end}",
            devices.join(","),
            args.requests
        );
        let new = match (text.find(start), text.find(end)) {
            (Some(a), Some(b)) if a < b => {
                format!("{}{body}{}", &text[..a], &text[b + end.len()..])
            }
            _ => format!("{text}\n## NBI (`nbi-load`)\n\n{body}\n"),
        };
        std::fs::write(&path, new)?;
    }
    Ok(())
}
