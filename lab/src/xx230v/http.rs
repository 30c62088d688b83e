//! The emulator's HTTP surface (axum): pages, static JavaScript, `getGDPRParm` and `cgi_gdpr`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use rand::Rng as _;
use serde_json::{Value, json};

use super::SimOptions;
use super::crypto::{self, ClientKey, KeyPair, SimCipher};
use super::data::Dev2;
use super::state::{LoginOutcome, Logins, RET_OTHER_USER};

/// Largest request body (a real call is well under 4 KiB).
const MAX_BODY: usize = 64 * 1024;

const LOGIN_HTML: &str = include_str!("assets/login.html");
const MAIN_HTML: &str = include_str!("assets/main.html");
const TPWEB_JS: &str = include_str!("assets/tpweb.js");
const CRYPTOJS: [(&str, &str); 5] = [
    ("core.js", include_str!("assets/cryptojs/core.js")),
    (
        "enc-base64.js",
        include_str!("assets/cryptojs/enc-base64.js"),
    ),
    ("md5.js", include_str!("assets/cryptojs/md5.js")),
    (
        "cipher-core.js",
        include_str!("assets/cryptojs/cipher-core.js"),
    ),
    ("aes.js", include_str!("assets/cryptojs/aes.js")),
];

/// Shared state of one emulated modem.
pub(crate) struct SimState {
    opts: SimOptions,
    hash: String,
    keys: KeyPair,
    seq: u64,
    dev2: Dev2,
    started: Instant,
    logins: Mutex<Logins>,
    pub(crate) stats: SimStats,
    /// Milliseconds every data-model read waits before its answer (a slow modem).
    pub(crate) read_delay_ms: AtomicU64,
}

/// Login counters, for tests and benchmarks.
#[derive(Debug, Default)]
pub struct SimStats {
    /// Successful logins.
    pub logins: AtomicU64,
    /// Successful logins whose `User-Agent` is headless Chromium's.
    pub browser_logins: AtomicU64,
    /// Rejected logins (wrong credentials or locked out).
    pub failed_logins: AtomicU64,
    /// Logouts.
    pub logouts: AtomicU64,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password and its hash stay out of debug output.
        f.debug_struct("SimState")
            .field("cipher", &self.opts.cipher)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl SimState {
    pub(crate) fn new(opts: SimOptions, dev2: Dev2) -> Self {
        let hash = crypto::credential_hash(&opts.username, &opts.password);
        let seq = rand::rng().random_range(100_000_000..999_999_999);
        let logins = Mutex::new(Logins::new(opts.limits.clone()));
        Self {
            opts,
            hash,
            keys: KeyPair::fixed(),
            seq,
            dev2,
            started: Instant::now(),
            logins,
            stats: SimStats::default(),
            read_delay_ms: AtomicU64::new(0),
        }
    }
}

pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/js/tpweb.js", get(|| async { js(TPWEB_JS) }))
        .route("/js/cryptojs/{file}", get(cryptojs))
        .route("/cgi/getGDPRParm", post(gdpr_parm))
        .route("/cgi_gdpr", post(cgi_gdpr))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            encoding_rules,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// No compression either way: compressed bodies get 415, and with `strict_accept_encoding`
/// a `cgi_gdpr` request advertising gzip gets 406. Answers are never compressed.
async fn encoding_rules(State(s): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let h = req.headers();
    if h.get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes() != b"identity")
    {
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let gzip = h
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    if s.opts.strict_accept_encoding && gzip && req.uri().path() == "/cgi_gdpr" {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    }
    next.run(req).await
}

fn js(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/javascript")], body).into_response()
}

async fn cryptojs(Path(file): Path<String>) -> Response {
    match CRYPTOJS.iter().find(|(name, _)| *name == file) {
        Some((_, body)) => js(body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::COOKIE)?.to_str().ok()?;
    raw.split(';')
        .filter_map(|c| c.trim().strip_prefix("JSESSIONID="))
        .next_back()
        .map(str::to_owned)
}

/// The firmware answers 403 unless the Referer is the UI's own origin (a page URL, or the bare
/// origin, which is what the GCM-family client sends).
fn referer_ok(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let referer = headers.get(header::REFERER).and_then(|h| h.to_str().ok());
    let (Some(h), Some(r)) = (host, referer) else {
        return false;
    };
    let origin = format!("http://{h}");
    r == origin || r.starts_with(&format!("{origin}/"))
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn cipher_name(c: SimCipher) -> &'static str {
    match c {
        SimCipher::Cbc => "cbc",
        SimCipher::Gcm => "gcm",
    }
}

async fn index(State(s): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    let c = cookie(&headers);
    let token = s.logins.lock().ok().and_then(|mut l| {
        l.session(Instant::now(), c.as_deref())
            .map(|x| x.token.clone())
    });
    let page = match token {
        Some(t) => MAIN_HTML.replace("{{TOKEN}}", &t),
        None => LOGIN_HTML.to_owned(),
    };
    html(page.replace("{{CIPHER}}", cipher_name(s.opts.cipher)))
}

async fn gdpr_parm(State(s): State<Arc<SimState>>, headers: HeaderMap) -> Response {
    if !referer_ok(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let body = format!(
        "var adminSetting=1;\nvar userSetting=1;\nvar logoUrl=\"\";\nvar ee=\"{}\";\nvar nn=\"{}\";\nvar seq=\"{}\";\n$.ret=0;\n",
        crypto::E_HEX,
        s.keys.modulus_hex(),
        s.seq
    );
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

fn random_id() -> String {
    let mut rng = rand::rng();
    (0..30)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

async fn cgi_gdpr(State(s): State<Arc<SimState>>, headers: HeaderMap, body: Bytes) -> Response {
    if !referer_ok(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(text) = std::str::from_utf8(&body).ok() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(b) = crypto::parse_body(text) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Some(sign) = s
        .keys
        .decrypt_sign(b.sign)
        .and_then(|t| crypto::parse_sign(&t))
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let seq_ok = sign.s == s.seq + b.data.len() as u64;
    if let (Some(key), Some(iv)) = (&sign.key, &sign.iv) {
        let Some(ck) = ClientKey::from_sign(s.opts.cipher, key, iv) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        return login(&s, &headers, ck, b.data, b.tag, &sign.h, seq_ok);
    }
    // A data call: the session cookie, its token and the credential hash must all match.
    let c = cookie(&headers);
    let now = Instant::now();
    let session = s
        .logins
        .lock()
        .ok()
        .and_then(|mut l| l.session(now, c.as_deref()).cloned());
    let Some(session) = session else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let token_ok = headers
        .get("TokenID")
        .is_some_and(|t| t.as_bytes() == session.token.as_bytes());
    if !token_ok || sign.h != s.hash || !seq_ok {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(plain) = session.key.open(b.data, b.tag) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(req) = serde_json::from_str::<Value>(&plain) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let op = req["operation"].as_str().unwrap_or_default();
    let oid = req["oid"].as_str().unwrap_or_default();
    if op == "cgi" && oid == "/cgi/logout" {
        if let Ok(mut l) = s.logins.lock() {
            l.logout(&session.cookie);
        }
        s.stats.logouts.fetch_add(1, Ordering::Relaxed);
        // Success is an empty body.
        return StatusCode::OK.into_response();
    }
    let wanted: Vec<String> = req["data"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| *k != "stack" && *k != "pstack")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let delay = s.read_delay_ms.load(Ordering::Relaxed);
    if delay > 0 && matches!(op, "go" | "gl") {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let uptime = s.dev2.base_uptime + s.started.elapsed().as_secs();
    let answer = match op {
        "go" | "gl" => match s.dev2.answer(op, oid, &wanted, uptime) {
            Some(data) => json!({"data": data, "operation": op, "oid": oid, "success": true}),
            None => json!({"success": false, "errorcode": 9804}),
        },
        // Writes are acknowledged and ignored: the emulator is for reads.
        "so" | "op" | "add" | "del" | "do" => json!({"operation": op, "oid": oid, "success": true}),
        _ => json!({"success": false, "errorcode": 9804}),
    };
    encrypted(&session.key, &answer.to_string(), None)
}

fn encrypted(key: &ClientKey, text: &str, set_cookie: Option<String>) -> Response {
    let mut resp = ([(header::CONTENT_TYPE, "text/plain")], key.seal(text)).into_response();
    if let Some(c) = set_cookie
        .and_then(|c| HeaderValue::from_str(&format!("JSESSIONID={c}; Path=/; HttpOnly")).ok())
    {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

fn login(
    s: &SimState,
    headers: &HeaderMap,
    ck: ClientKey,
    data: &str,
    tag: Option<&str>,
    h: &str,
    seq_ok: bool,
) -> Response {
    let Some(payload) = ck
        .open(data, tag)
        .and_then(|p| serde_json::from_str::<Value>(&p).ok())
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !seq_ok || payload["oid"] != "/cgi/login" {
        return encrypted(&ck, "$.ret=71234;\n", None);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let field = |k: &str| {
        payload["data"][k]
            .as_str()
            .and_then(|v| b64.decode(v).ok())
            .and_then(|v| String::from_utf8(v).ok())
    };
    let good = h == s.hash
        && field("UserName").as_deref() == Some(s.opts.username.as_str())
        && field("Passwd").as_deref() == Some(s.opts.password.as_str());
    let force = payload["data"]["Action"].as_str() == Some("2");
    let c = cookie(headers);
    let outcome = match s.logins.lock() {
        Ok(mut l) => l.login(
            Instant::now(),
            good,
            force,
            c.as_deref(),
            ck.clone(),
            (random_id(), random_id()),
        ),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    match outcome {
        LoginOutcome::Ok(cookie) => {
            s.stats.logins.fetch_add(1, Ordering::Relaxed);
            let agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if agent.contains("HeadlessChrome") {
                s.stats.browser_logins.fetch_add(1, Ordering::Relaxed);
            }
            encrypted(&ck, "$.ret=0;\n", Some(cookie))
        }
        LoginOutcome::BadPassword { times, forbid } | LoginOutcome::Locked { times, forbid } => {
            s.stats.failed_logins.fetch_add(1, Ordering::Relaxed);
            encrypted(
                &ck,
                &format!(
                    "var currAuthTimes={times};\nvar currForbidTime={forbid};\n$.ret=71233;\n"
                ),
                None,
            )
        }
        LoginOutcome::OtherUser => encrypted(&ck, &format!("$.ret={RET_OTHER_USER};\n"), None),
    }
}
