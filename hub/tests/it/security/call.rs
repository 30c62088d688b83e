//! Sends one cell of the table: a route of a surface with one credential, over loopback, and
//! returns the status. HTTP surfaces take headers or a query token; CWMP and a CPE's
//! connection-request URL take the Digest handshake their clients do.

use super::table::{Cred, Row, Surface};
use crate::harness::{self, CPE_SECRET, KUMA, NBI_TOKEN, TECH_KEY, TOKEN, TestStack};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::net::SocketAddr;

/// The device whose Informs the CWMP rows send (not one of the fleet's, so no session of the
/// fleet's CPEs gets in the way), and the device whose credentials it tries to borrow.
const CWMP_SERIAL: &str = "FPSECURITY0";
const OTHER_SERIAL: &str = "FPSECURITY1";

/// Everything a cell needs besides the row.
pub(crate) struct Ctx<'a> {
    pub(crate) t: &'a TestStack,
    /// Connects from 127.0.0.2, the trusted forward-auth proxy.
    pub(crate) trusted: reqwest::Client,
    pub(crate) bridge: SocketAddr,
    pub(crate) bridge_token: String,
    /// Device 0's connection-request credentials, as the ACS set them.
    pub(crate) cr_user: String,
    pub(crate) cr_pass: String,
    pub(crate) tech: TechTokens,
}

/// Technician tokens of every kind, for device 0's location `LOC-00001`.
pub(crate) struct TechTokens {
    right: String,
    other_job: String,
    other_loc: String,
    expired: String,
    bad_sig: String,
    alg_none: String,
}

impl TechTokens {
    pub(crate) fn new() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let claims = |job: &str, loc: &str, iat: i64, exp: i64| hub::auth::TechClaims {
            sub: "tech-1".into(),
            job: job.into(),
            loc: loc.into(),
            iat,
            exp,
        };
        let key = TECH_KEY.as_bytes();
        let issue = |c| hub::auth::issue_tech(key, &c).unwrap();
        let right = issue(claims("JOB-1", "LOC-00001", now, now + 600));
        let body = right.split('.').nth(1).unwrap().to_owned();
        Self {
            other_job: issue(claims("JOB-2", "LOC-00001", now, now + 600)),
            other_loc: issue(claims("JOB-1", "LOC-00002", now, now + 600)),
            expired: issue(claims("JOB-1", "LOC-00001", now - 700, now - 100)),
            bad_sig: hub::auth::issue_tech(
                b"another-key-another-key-another-key",
                &claims("JOB-1", "LOC-00001", now, now + 600),
            )
            .unwrap(),
            alg_none: format!(
                "{}.{body}.",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
            ),
            right,
        }
    }
}

impl Ctx<'_> {
    /// Sends `row` with `cred`; the status, or why there is none.
    pub(crate) async fn send(&self, row: &Row, cred: Cred) -> Result<u16, String> {
        match row.surface {
            Surface::Cwmp => self.cwmp(row, cred).await,
            Surface::CpeCr => self.connection_request(row, cred).await,
            _ => self.http(row, cred).await,
        }
    }

    fn base(&self, surface: Surface) -> String {
        let a = &self.t.stack.addrs;
        match surface {
            Surface::Hub => format!("http://{}", a.hub),
            Surface::Nbi => format!("http://{}", a.nbi.expect("the NBI runs")),
            Surface::Files => format!("http://{}", a.fs.expect("the file server runs")),
            Surface::Bridge => format!("http://{}", self.bridge),
            Surface::Cwmp => format!("http://{}", a.cwmp),
            Surface::CpeCr => {
                let url = self.t.fleet.cr_url(0);
                url[..url.find("/cr/").unwrap()].to_owned()
            }
        }
    }

    fn target(&self, row: &Row) -> String {
        let modem = &self.t.lab.modems[0].serial;
        row.target
            .replace("{dev0}", &harness::device(0))
            .replace("{dev1}", &harness::device(1))
            .replace("{modem}", modem)
    }

    /// Bearer-style surfaces: headers, a query token or the trusted proxy's address.
    async fn http(&self, row: &Row, cred: Cred) -> Result<u16, String> {
        let mut url = format!("{}{}", self.base(row.surface), self.target(row));
        let query = |url: &mut String, token: &str| {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str("token=");
            url.push_str(token);
        };
        let basic = |pw: &str| format!("Basic {}", STANDARD.encode(format!("nbi:{pw}")));
        let bearer = |t: &str| format!("Bearer {t}");
        let tech = &self.tech;
        let (client, header): (&reqwest::Client, Option<(&str, String)>) = match cred {
            Cred::None => (&self.t.client, None),
            Cred::Malformed => (&self.t.client, Some(("authorization", "Bearer".into()))),
            Cred::WrongBearer => (&self.t.client, Some(auth(bearer("not-a-token-0123")))),
            Cred::Staff => (&self.t.client, Some(auth(bearer(TOKEN)))),
            Cred::StaffQuery => {
                query(&mut url, TOKEN);
                (&self.t.client, None)
            }
            Cred::NbiToken => (&self.t.client, Some(auth(bearer(NBI_TOKEN)))),
            Cred::BasicWrong => (&self.t.client, Some(auth(basic("wrong")))),
            Cred::BasicRight => (&self.t.client, Some(auth(basic(NBI_TOKEN)))),
            Cred::TechRight => (&self.t.client, Some(auth(bearer(&tech.right)))),
            Cred::TechOtherJob => (&self.t.client, Some(auth(bearer(&tech.other_job)))),
            Cred::TechOtherLoc => (&self.t.client, Some(auth(bearer(&tech.other_loc)))),
            Cred::TechExpired => (&self.t.client, Some(auth(bearer(&tech.expired)))),
            Cred::TechBadSig => (&self.t.client, Some(auth(bearer(&tech.bad_sig)))),
            Cred::TechAlgNone => (&self.t.client, Some(auth(bearer(&tech.alg_none)))),
            Cred::ProxyTrusted => (&self.trusted, Some(("x-forwarded-user", "alice".into()))),
            Cred::ProxyUntrusted => (&self.t.client, Some(("x-forwarded-user", "alice".into()))),
            Cred::KumaWrong => (&self.t.client, Some(auth(bearer("not-the-kuma-secret")))),
            Cred::KumaBearer => (&self.t.client, Some(auth(bearer(KUMA)))),
            Cred::KumaHeader => (&self.t.client, Some(("x-kuma-token", KUMA.into()))),
            Cred::KumaQueryWrong => {
                query(&mut url, "not-the-kuma-secret");
                (&self.t.client, None)
            }
            Cred::KumaQuery => {
                query(&mut url, KUMA);
                (&self.t.client, None)
            }
            Cred::BridgeToken => (&self.t.client, Some(auth(bearer(&self.bridge_token)))),
            Cred::BasicPlain | Cred::DigestWrong | Cred::DigestOtherDevice | Cred::DigestRight => {
                return Err(format!("{cred:?} is not a credential of {:?}", row.surface));
            }
        };
        let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
        let mut req = client
            .request(method, &url)
            .timeout(std::time::Duration::from_secs(60));
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        if let Some(b) = row.body {
            req = req.header("content-type", "application/json").body(b);
        }
        // Only the status matters; an SSE stream is dropped unread.
        let resp = req.send().await.map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }

    /// An Inform from [`CWMP_SERIAL`] on a fresh connection, answered with `cred`.
    async fn cwmp(&self, row: &Row, cred: Cred) -> Result<u16, String> {
        let url = format!("{}{}", self.base(Surface::Cwmp), self.target(row));
        // A new client per cell: one TCP connection per attempt, as a CPE makes.
        let client = reqwest::Client::new();
        let post = |auth: Option<String>, body: Vec<u8>| {
            let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
            let mut req = client
                .request(method, &url)
                .header("content-type", "text/xml")
                .body(body);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            async move { req.send().await.map_err(|e| e.to_string()) }
        };
        let user = |serial: &str| format!("1C61B4-Device2-{serial}");
        let password = |u: &str| acs::derive_password(&acs::Secret::new(CPE_SECRET), u);
        let me = user(CWMP_SERIAL);
        let header = match cred {
            Cred::None => None,
            Cred::Malformed => Some("Digest realm=".to_owned()),
            Cred::BasicPlain => Some(cwmp::auth::basic_header(&me, &password(&me))),
            Cred::DigestWrong | Cred::DigestOtherDevice | Cred::DigestRight => {
                let first = post(None, inform(CWMP_SERIAL)).await?;
                let Some(ch) = challenge(first.headers()) else {
                    // A route that answers before authenticating (405) never challenges.
                    return Ok(first.status().as_u16());
                };
                let (u, pw) = match cred {
                    Cred::DigestWrong => (me.clone(), "wrong-password".to_owned()),
                    Cred::DigestOtherDevice => {
                        let other = user(OTHER_SERIAL);
                        let pw = password(&other);
                        (other, pw)
                    }
                    _ => (me.clone(), password(&me)),
                };
                Some(cwmp::auth::answer_digest(
                    &ch, "POST", "/", &u, &pw, "5ec0", 1,
                ))
            }
            other => return Err(format!("{other:?} is not a credential of CWMP")),
        };
        // A session that opens is left to expire: the ACS's first RPC (the connection-request
        // credentials) would need a CPE to answer it.
        Ok(post(header, inform(CWMP_SERIAL)).await?.status().as_u16())
    }

    /// A connection request to CPE 0, answered with `cred`.
    async fn connection_request(&self, row: &Row, cred: Cred) -> Result<u16, String> {
        let path = self.target(row);
        let url = format!("{}{path}", self.base(Surface::CpeCr));
        let client = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(row.method.as_bytes()).unwrap();
        let send = |auth: Option<String>| {
            let mut req = client.request(method.clone(), &url);
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            async move { req.send().await.map_err(|e| e.to_string()) }
        };
        let header = match cred {
            Cred::None => None,
            Cred::Malformed => Some("Digest realm=".to_owned()),
            Cred::BasicPlain => Some(cwmp::auth::basic_header(&self.cr_user, &self.cr_pass)),
            Cred::DigestWrong | Cred::DigestRight => {
                let first = send(None).await?;
                let Some(ch) = challenge(first.headers()) else {
                    return Ok(first.status().as_u16());
                };
                let pw = if cred == Cred::DigestRight {
                    self.cr_pass.as_str()
                } else {
                    "wrong-password"
                };
                Some(cwmp::auth::answer_digest(
                    &ch,
                    row.method,
                    &path,
                    &self.cr_user,
                    pw,
                    "5ec0",
                    1,
                ))
            }
            other => return Err(format!("{other:?} is not a credential of a CPE")),
        };
        Ok(send(header).await?.status().as_u16())
    }
}

fn auth(value: String) -> (&'static str, String) {
    ("authorization", value)
}

fn challenge(headers: &reqwest::header::HeaderMap) -> Option<cwmp::auth::DigestChallenge> {
    let www = headers.get("www-authenticate")?.to_str().ok()?;
    cwmp::auth::parse_challenge(www).ok()
}

/// A minimal Inform of lab-style device `serial`.
fn inform(serial: &str) -> Vec<u8> {
    let inform = cwmp::Inform {
        device_id: cwmp::DeviceIdStruct {
            manufacturer: "TP-Link".into(),
            oui: "1C61B4".into(),
            product_class: "Device2".into(),
            serial_number: serial.into(),
        },
        events: vec![cwmp::EventStruct::new("2 PERIODIC")],
        max_envelopes: 1,
        current_time: "2026-12-04T10:00:00Z".into(),
        retry_count: 0,
        parameters: vec![cwmp::ParameterValue::new(
            "Device.ManagementServer.ConnectionRequestURL",
            "http://127.0.0.1:9/cr",
            cwmp::XsdType::String,
        )],
    };
    cwmp::to_bytes(&cwmp::Envelope::new(
        cwmp::CwmpVersion::V1_0,
        "1",
        cwmp::Body::Inform(inform),
    ))
}
