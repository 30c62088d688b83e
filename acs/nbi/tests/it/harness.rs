//! An ACS with its CWMP server and NBI on 127.0.0.1:0, and a raw HTTP/1.1 client that shows
//! exactly what a GenieACS client would see (status line with reason phrase, headers, framing).

use acs::{Acs, AcsConfig, CpeAuthMode, Secret};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) const SECRET: &str = "lab-secret";
pub(crate) const TOKEN: &str = "nbi-test-token";

/// A running ACS + NBI; dropping it stops both.
pub(crate) struct TestNbi {
    pub(crate) acs: Arc<Acs>,
    pub(crate) cwmp: SocketAddr,
    pub(crate) nbi: SocketAddr,
    pub(crate) fs: SocketAddr,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::watch::Sender<bool>,
}

impl TestNbi {
    pub(crate) fn cwmp_url(&self) -> String {
        format!("http://{}/", self.cwmp)
    }
}

pub(crate) async fn start() -> TestNbi {
    start_with(nbi::Access::Token(nbi::Token::new(TOKEN))).await
}

pub(crate) async fn start_with(access: nbi::Access) -> TestNbi {
    start_custom(access, |_| {}).await
}

/// An NBI over an ACS whose configuration `tweak` adjusts (a short download timeout, …).
pub(crate) async fn start_custom(
    access: nbi::Access,
    tweak: impl FnOnce(&mut AcsConfig),
) -> TestNbi {
    let dir = tempfile::tempdir().expect("tempdir");
    let fs_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fs_addr = fs_l.local_addr().unwrap();
    let config = AcsConfig {
        data_dir: dir.path().to_owned(),
        cpe_auth: CpeAuthMode::Digest,
        cpe_secret: Secret::new(SECRET),
        session_timeout: std::time::Duration::from_secs(10),
        refresh_on_bootstrap: false,
        file_server_url: Some(format!("http://{fs_addr}")),
        ..AcsConfig::default()
    };
    let mut config = config;
    tweak(&mut config);
    let acs = Acs::open(config).await.expect("open ACS");
    let (stop, rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let cwmp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nbi_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (cwmp_addr, nbi_addr) = (cwmp.local_addr().unwrap(), nbi_l.local_addr().unwrap());
    tokio::spawn(acs::server::serve(
        acs.clone(),
        cwmp,
        None,
        stopped(rx.clone()),
    ));
    let files = nbi::files::FileStore::new(dir.path().join("files")).expect("files dir");
    let fs = nbi::serve_files(acs.clone(), files.clone(), fs_l, stopped(rx.clone()));
    tokio::spawn(async move { fs.await.expect("file server serves") });
    let config = nbi::NbiConfig {
        access,
        fs_base_url: Some(format!("http://{fs_addr}")),
        files: Some(files),
    };
    let server = nbi::serve(acs.clone(), config, nbi_l, stopped(rx));
    tokio::spawn(async move { server.await.expect("NBI serves") });
    TestNbi {
        acs,
        cwmp: cwmp_addr,
        nbi: nbi_addr,
        fs: fs_addr,
        _dir: dir,
        _stop: stop,
    }
}

/// What came back.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) reason: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
    pub(crate) chunked: bool,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The JSON documents of a GenieACS list body, checking its exact framing.
    pub(crate) fn list(&self) -> Vec<serde_json::Value> {
        if self.body == "[\n\n]" {
            return Vec::new();
        }
        let inner = self
            .body
            .strip_prefix("[\n")
            .and_then(|b| b.strip_suffix("\n]"))
            .unwrap_or_else(|| panic!("not GenieACS framing: {:?}", self.body));
        inner
            .split(",\n")
            .map(|d| serde_json::from_str(d).expect("each document is one JSON line"))
            .collect()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// Sends one request with the test token.
pub(crate) async fn call(t: &TestNbi, method: &str, target: &str, body: Option<&str>) -> Reply {
    let auth = format!("Bearer {TOKEN}");
    raw(
        t.nbi,
        method,
        target,
        body,
        &[("Authorization", auth.as_str())],
    )
    .await
}

/// Sends one request with exactly these headers.
pub(crate) async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: nbi\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n\r\n{b}", b.len()));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).expect("UTF-8 reply");
    let (head, rest) = text.split_once("\r\n\r\n").expect("header end");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status = parts.next().unwrap().parse().unwrap();
    let reason = parts.next().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Reply {
        status,
        reason,
        headers,
        body,
        chunked,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = s.split_once("\r\n").expect("chunk size line");
        let n = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
}

/// Writes a GenieACS device document into the store through the importer.
pub(crate) async fn import(t: &TestNbi, doc: &serde_json::Value) -> acs::DeviceId {
    let (meta, tree) = nbi::import::device(doc).expect("importable");
    let id = meta.id.clone();
    t.acs
        .write(nbi::import::store_ops(meta, &tree).into())
        .await
        .expect("stored");
    id
}

/// The captured GenieACS device (fixtures/genieacs/device-full.json).
pub(crate) fn genieacs_device() -> serde_json::Value {
    let text = include_str!("../fixtures/genieacs/device-full.json");
    let list: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
    list.into_iter().next().unwrap()
}

/// A captured exchange file.
pub(crate) fn capture(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/tests/fixtures/genieacs/nbi/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `?k=v&…` with each value percent-encoded.
pub(crate) fn qs(params: &serde_json::Value) -> String {
    let Some(map) = params.as_object() else {
        return String::new();
    };
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().unwrap_or("");
            if v.is_empty() {
                enc(k)
            } else {
                format!("{}={}", enc(k), enc(v))
            }
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// A CWMP session opened by hand for a device of the lab fleet, held open until `end`: what a
/// CPE in the middle of a long session looks like to the NBI.
pub(crate) struct HeldSession {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    cookie: String,
}

impl HeldSession {
    /// Informs as device `serial` of the default lab model, with Digest as the ACS asks.
    pub(crate) async fn open(t: &TestNbi, serial: &str) -> Self {
        let model = fibreplane_lab::SimConfig::default().model;
        let inform = cwmp::Inform {
            device_id: cwmp::DeviceIdStruct {
                manufacturer: "TP-Link".into(),
                oui: model.oui().into(),
                product_class: model.product_class().into(),
                serial_number: serial.into(),
            },
            events: vec![cwmp::EventStruct::new("2 PERIODIC")],
            max_envelopes: 1,
            current_time: "2026-12-07T10:00:00Z".into(),
            retry_count: 0,
            parameters: Vec::new(),
        };
        let body = cwmp::to_bytes(&cwmp::Envelope::new(
            cwmp::CwmpVersion::V1_0,
            "1",
            cwmp::Body::Inform(inform),
        ));
        let stream = tokio::net::TcpStream::connect(t.cwmp)
            .await
            .expect("connect");
        let mut s = Self {
            stream: tokio::io::BufReader::new(stream),
            cookie: String::new(),
        };
        let (status, head) = s.post(&body, None).await;
        assert_eq!(status, 401, "{head}");
        let www = header_in(&head, "www-authenticate").expect("a Digest challenge");
        let ch = cwmp::auth::parse_challenge(www).expect("digest challenge");
        let user = cwmp::device_id(model.oui(), model.product_class(), serial);
        let pw = acs::derive_password(&Secret::new(SECRET), &user);
        let auth = cwmp::auth::answer_digest(&ch, "POST", "/", &user, &pw, "0a4f113b", 1);
        let (status, head) = s.post(&body, Some(&auth)).await;
        assert_eq!(status, 200, "{head}");
        s.cookie = header_in(&head, "set-cookie")
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_owned();
        s
    }

    /// Ends the session with an empty POST; the ACS answers 204.
    pub(crate) async fn end(mut self) {
        let (status, head) = self.post(&[], None).await;
        assert_eq!(status, 204, "{head}");
    }

    async fn post(&mut self, body: &[u8], auth: Option<&str>) -> (u16, String) {
        use tokio::io::AsyncBufReadExt;
        let mut req = format!(
            "POST / HTTP/1.1\r\nHost: acs\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !self.cookie.is_empty() {
            req.push_str(&format!("Cookie: {}\r\n", self.cookie));
        }
        if let Some(a) = auth {
            req.push_str(&format!("Authorization: {a}\r\n"));
        }
        req.push_str("\r\n");
        let mut wire = req.into_bytes();
        wire.extend_from_slice(body);
        self.stream.get_mut().write_all(&wire).await.unwrap();
        let mut head = String::new();
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line.replace("\r\n", "\n"));
        }
        let length = header_in(&head, "content-length").map_or(0, |v| v.parse::<usize>().unwrap());
        let mut rest = vec![0; length];
        self.stream.read_exact(&mut rest).await.unwrap();
        (head[9..12].parse().unwrap(), head)
    }
}

/// The value of header `name` in a response head, its name matched in any case.
fn header_in<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}
