//! A small in-test ACS: `cwmp::AcsSession` on a hyper server bound to 127.0.0.1:0.
//!
//! Each TCP connection is one CWMP session. The ACS issues the requests queued in
//! [`TestAcs::queue`], records everything the CPE sent, optionally demands Digest (or accepts
//! Basic) credentials, sets a session cookie and checks that the CPE echoes it. `GET /file`
//! serves a small file for Download tests.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use cwmp::auth::{Credentials, DigestChallenge, parse_authorization, verify_digest};
use cwmp::{AcsEvent, AcsSession, AcsSessionConfig, Body, Fault, Inform, Limits};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How the test ACS authenticates CPEs.
#[derive(Clone)]
pub(crate) enum AcsAuth {
    /// No authentication.
    Open,
    /// Digest (or Basic) with a password computed from the username.
    Password(Arc<dyn Fn(&str) -> String + Send + Sync>),
}

/// What the ACS saw.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) informs: Vec<Inform>,
    pub(crate) cpe_requests: Vec<Body>,
    pub(crate) responses: Vec<Body>,
    pub(crate) faults: Vec<Fault>,
    pub(crate) unauthorized: usize,
    pub(crate) basic_logins: usize,
    /// For every POST after the InformResponse: whether the session cookie came back.
    pub(crate) cookie_echoed: Vec<bool>,
    pub(crate) violations: Vec<String>,
    pub(crate) sessions_done: usize,
    /// What the CPE answered to raw requests.
    pub(crate) raw_answers: Vec<Body>,
}

/// Shared ACS state.
pub(crate) struct TestAcs {
    pub(crate) addr: SocketAddr,
    /// Requests to issue, each for any CPE (`None`) or for the CPE with this serial number.
    pub(crate) queue: Mutex<VecDeque<(Option<String>, Body)>>,
    pub(crate) seen: Mutex<Seen>,
    /// Answer the next N Informs with fault 8005.
    pub(crate) reject_next: Mutex<usize>,
    /// Answer the next N POSTs with 503 and `Retry-After: 1`.
    pub(crate) busy_next: Mutex<usize>,
    /// Fail the next N sessions after their InformResponse: the CPE's following POST gets a 500,
    /// as when the ACS dies mid-session (the Inform's events were delivered, the session was not).
    pub(crate) fail_after_inform_next: Mutex<usize>,
    /// Raw XML sent once instead of the next queued request (for methods `cwmp` cannot model).
    pub(crate) raw_next: Mutex<Option<String>>,
    auth: AcsAuth,
}

impl TestAcs {
    /// Binds 127.0.0.1:0 and serves until the test's runtime ends.
    pub(crate) async fn start(auth: AcsAuth) -> Arc<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let acs = Arc::new(Self {
            addr: listener.local_addr().unwrap(),
            queue: Mutex::new(VecDeque::new()),
            seen: Mutex::new(Seen::default()),
            reject_next: Mutex::new(0),
            raw_next: Mutex::new(None),
            busy_next: Mutex::new(0),
            fail_after_inform_next: Mutex::new(0),
            auth,
        });
        let a = acs.clone();
        tokio::spawn(async move {
            let mut conn_no = 0u64;
            while let Ok((stream, _)) = listener.accept().await {
                conn_no += 1;
                let conn = Arc::new(Mutex::new(Conn {
                    session: None,
                    serial: String::new(),
                    nonce: format!("nonce{conn_no}"),
                    cookie: format!("c{conn_no:08x}"),
                    awaiting_raw: false,
                }));
                let a = a.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let (a, conn) = (a.clone(), conn.clone());
                        async move { Ok::<_, Infallible>(a.handle(&conn, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        acs
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/acs", self.addr)
    }

    pub(crate) fn push(&self, body: Body) {
        self.queue.lock().unwrap().push_back((None, body));
    }

    /// Queues a request for the next session of the CPE with this serial number only, so other
    /// CPEs of a running fleet cannot take it.
    pub(crate) fn push_for(&self, serial: &str, body: Body) {
        self.queue
            .lock()
            .unwrap()
            .push_back((Some(serial.to_owned()), body));
    }

    pub(crate) fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    async fn handle(&self, conn: &Mutex<Conn>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() == http::Method::GET {
            return match req.uri().path() {
                "/file" => reply(StatusCode::OK, Bytes::from_static(b"firmware-bytes")),
                _ => reply(StatusCode::NOT_FOUND, Bytes::new()),
            };
        }
        let authz = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let cookie = req
            .headers()
            .get(http::header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = req.into_body().collect().await.unwrap().to_bytes();
        {
            let mut busy = self.busy_next.lock().unwrap();
            if *busy > 0 {
                *busy -= 1;
                let mut r = reply(StatusCode::SERVICE_UNAVAILABLE, Bytes::new());
                r.headers_mut()
                    .insert(http::header::RETRY_AFTER, "1".parse().unwrap());
                return r;
            }
        }
        let mut c = conn.lock().unwrap();
        if let AcsAuth::Password(pw) = &self.auth {
            let ok = match authz.as_deref().map(parse_authorization) {
                Some(Ok(Credentials::Digest(d))) => {
                    d.nonce == c.nonce && verify_digest(&d, "POST", &pw(&d.username))
                }
                Some(Ok(Credentials::Basic { username, password })) => {
                    let ok = password == pw(&username);
                    self.seen().basic_logins += usize::from(ok);
                    ok
                }
                _ => false,
            };
            if !ok {
                self.seen().unauthorized += 1;
                let ch = DigestChallenge {
                    realm: "GenieACS".into(),
                    nonce: c.nonce.clone(),
                    opaque: "op".into(),
                    qop: Some("auth,auth-int".into()),
                    algorithm: "MD5".into(),
                    stale: false,
                };
                let mut r = reply(StatusCode::UNAUTHORIZED, Bytes::new());
                r.headers_mut().insert(
                    http::header::WWW_AUTHENTICATE,
                    ch.to_header().parse().unwrap(),
                );
                return r;
            }
        }
        let now = Instant::now();
        let msg = if body.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match cwmp::parse_envelope(&body, &Limits::default()) {
                Ok(env) => Some(env),
                Err(e) => {
                    self.seen().violations.push(e.to_string());
                    return reply(StatusCode::BAD_REQUEST, Bytes::new());
                }
            }
        };
        if c.session.is_some() {
            let mut fail = self.fail_after_inform_next.lock().unwrap();
            if *fail > 0 {
                *fail -= 1;
                c.session = None;
                return reply(StatusCode::INTERNAL_SERVER_ERROR, Bytes::new());
            }
        }
        if c.session.is_some() {
            let echoed = cookie.is_some_and(|v| v.contains(&format!("session={}", c.cookie)));
            self.seen().cookie_echoed.push(echoed);
        }
        let cookie_value = c.cookie.clone();
        // The answer to a raw request bypasses the session machine, which never saw the request.
        let (msg, was_raw) = match (std::mem::take(&mut c.awaiting_raw), msg) {
            (true, Some(env)) => {
                self.seen().raw_answers.push(env.body);
                (None, true)
            }
            (_, msg) => (msg, false),
        };
        // Field by field, so the session and the serial can be borrowed at once.
        let cs = &mut *c;
        let session = cs
            .session
            .get_or_insert_with(|| AcsSession::new(now, AcsSessionConfig::default()));
        let event = if was_raw {
            AcsEvent::CpeIdle
        } else {
            session.receive(now, msg)
        };
        let env = match event {
            AcsEvent::Inform(inform) => {
                cs.serial = inform.device_id.serial_number.clone();
                self.seen().informs.push(inform);
                let reject = {
                    let mut r = self.reject_next.lock().unwrap();
                    let yes = *r > 0;
                    *r = r.saturating_sub(1);
                    yes
                };
                if reject {
                    let env = session.reject_inform(Fault::new(8005, "Retry request"));
                    cs.session = None;
                    return reply(StatusCode::OK, cwmp::to_bytes(&env).into());
                }
                let env = session.accept_inform(now);
                let mut r = reply(StatusCode::OK, cwmp::to_bytes(&env).into());
                r.headers_mut().insert(
                    http::header::SET_COOKIE,
                    format!("session={cookie_value}; Path=/").parse().unwrap(),
                );
                return r;
            }
            AcsEvent::CpeRequest(body) => {
                let answer = match &body {
                    Body::TransferComplete(_) => Body::TransferCompleteResponse,
                    _ => Body::GetRpcMethodsResponse { methods: vec![] },
                };
                self.seen().cpe_requests.push(body);
                session.respond(now, answer)
            }
            AcsEvent::Violation(e) => {
                self.seen().violations.push(e.to_string());
                cs.session = None;
                return reply(StatusCode::BAD_REQUEST, Bytes::new());
            }
            ev => {
                match ev {
                    AcsEvent::Response(b) => self.seen().responses.push(b),
                    AcsEvent::Fault(f) => self.seen().faults.push(f),
                    _ => {}
                }
                if let Some(raw) = self.raw_next.lock().unwrap().take() {
                    c.awaiting_raw = true;
                    return reply(StatusCode::OK, Bytes::from(raw));
                }
                let next = {
                    let mut q = self.queue.lock().unwrap();
                    q.iter()
                        .position(|(to, _)| to.as_ref().is_none_or(|s| *s == cs.serial))
                        .and_then(|i| q.remove(i))
                        .map(|(_, b)| b)
                };
                match next {
                    Some(b) => session.send_request(now, b, false).unwrap(),
                    None => {
                        session.finish();
                        cs.session = None;
                        self.seen().sessions_done += 1;
                        return reply(StatusCode::NO_CONTENT, Bytes::new());
                    }
                }
            }
        };
        reply(StatusCode::OK, cwmp::to_bytes(&env).into())
    }
}

struct Conn {
    session: Option<AcsSession>,
    /// The serial number of the CPE in session on this connection.
    serial: String,
    awaiting_raw: bool,
    nonce: String,
    cookie: String,
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r
}
