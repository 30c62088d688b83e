//! A GenieACS `devices` export generated on the fly: device `i` is cpe-sim's CPE #i (serial
//! `FPSIM` + 8 digits, its MAC, PON port tag `port-<i/64>`), discovered as far as GenieACS's
//! default provisions go, its last Inform spread over 720 hours. Used by `nbi-load` (imported
//! in process) and the `scale` proof (piped into `fibreplane import genieacs`).

use std::io::Read;

/// Devices per simulated PON port, tagged `port-<n>`.
pub const PER_PORT: usize = 64;
/// Last-inform times are spread over this many hours, device `i` in hour `i % SPREAD_HOURS`, so
/// an hour's window holds about `n / SPREAD_HOURS` devices (the "who went quiet" queries).
pub const SPREAD_HOURS: usize = 720;
/// 2026-10-26T00:00:00Z, the first hour of the spread.
pub const SPREAD_START_MS: i64 = 1_792_972_800_000;

/// A GenieACS device document as `mongoexport` writes it: a device discovered as far as the
/// default provisions go (identity, management server, a few interface values).
pub fn document(i: usize) -> String {
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
        // On loopback, where the lab's CPEs inform from: an imported device is adopted, and its
        // adoption is bound to the host of this URL.
        cr = leaf(
            &s(&format!("http://127.0.0.1:7547/cr/{i}")),
            "string",
            false
        ),
        pii = leaf("300", "unsignedInt", true),
        mac = leaf(&s(&mac), "string", false),
        ssid = leaf(&s(&format!("Gigafibre-{i}")), "string", true),
    )
}

/// A time inside hour `h` of the spread (minutes and seconds vary with `i`).
pub fn hour_iso(h: usize, i: usize) -> String {
    let ms = SPREAD_START_MS + h as i64 * 3_600_000 + (i as i64 * 7_919 % 3_600_000);
    nbi::date::iso(ms)
}

/// Device `i`'s MAC address (the one cpe-sim's CPE #i reports).
pub fn mac(i: usize) -> String {
    let b = (i as u64).to_be_bytes();
    format!("1C:61:B4:{:02X}:{:02X}:{:02X}", b[5], b[6], b[7])
}

/// Generates the export on the fly, so a million documents never sit in memory or on disk.
pub struct Export {
    next: usize,
    end: usize,
    buf: Vec<u8>,
    at: usize,
}

impl Export {
    /// The documents of devices `0..n`.
    pub fn new(n: usize) -> Self {
        Self {
            next: 0,
            end: n,
            buf: Vec::new(),
            at: 0,
        }
    }
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

/// Imports devices `0..n` into `acs` in process (the importer's own functions, batched store
/// writes) and returns the rate in devices per second.
pub async fn import(acs: &acs::Acs, n: usize) -> anyhow::Result<f64> {
    let start = std::time::Instant::now();
    let export = Export::new(n);
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
