//! The native path: a thin tokio/reqwest driver around the sans-IO signer. One login, the
//! planned object reads, and a logout that runs whatever happened in between.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{COOKIE, HeaderMap, HeaderValue, REFERER, SET_COOKIE};
use tracing::{debug, warn};

use crate::config::ModemTarget;
use crate::diag::{ObjectResult, Readout};
use crate::error::{BridgeError, ProtocolMismatch};
use crate::plan::Call;
use crate::proto::cipher::AesSession;
use crate::proto::dm::{self, Operation};
use crate::proto::parse;
use crate::proto::signer::Signer;
use crate::websession::WebSession;

/// Largest HTTP body read from a modem.
const MAX_BODY: usize = 2 * 1024 * 1024;
/// Known firmware answers 500/406 intermittently; the web UI's clients retry.
const RETRIES: usize = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The native client. Cheap to clone; one HTTP connection pool shared by every modem.
#[derive(Debug, Clone)]
pub struct NativeClient {
    http: reqwest::Client,
}

impl NativeClient {
    /// A client whose single requests time out after `request_timeout`.
    pub fn new(request_timeout: Duration) -> Result<Self, BridgeError> {
        let http = reqwest::Client::builder()
            // reqwest is built without its gzip/brotli features, so it sends no Accept-Encoding:
            // the XX230v is reported to reject compressed exchanges.
            .timeout(request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()?;
        Ok(Self { http })
    }

    /// Logs in to `target`, runs `calls`, logs out; `web` follows the modem's web session (and
    /// says whether this read may take an open one over). The caller serialises reads per modem.
    pub async fn read(
        &self,
        target: &ModemTarget,
        calls: &[Call],
        web: &WebSession,
    ) -> Result<Readout, BridgeError> {
        let mut session = match self.login(target, false, web).await {
            Err(BridgeError::Busy) if web.may_take_over() => {
                web.taking_over(target.addr);
                self.login(target, true, web).await?
            }
            other => other?,
        };
        let result = session.read_all(calls).await;
        // Logout always: the modem has one web session, and leaving it open locks technicians
        // and the customer out until it expires.
        match session.logout().await {
            Ok(()) => web.closed(),
            Err(e) => warn!(modem = %target.addr, error = %e, "logout failed"),
        }
        result
    }

    async fn login<'a>(
        &'a self,
        target: &'a ModemTarget,
        takeover: bool,
        web: &WebSession,
    ) -> Result<Session<'a>, BridgeError> {
        let base = format!("http://{}", target.addr);
        let referer = HeaderValue::from_str(&format!("{base}/"))
            .map_err(|_| BridgeError::Config("address is not a valid header".into()))?;
        let mut s = Session {
            client: self,
            base,
            referer,
            cookie: None,
            token: None,
            signer: None,
        };
        let text = s
            .post(
                &format!("/cgi/getGDPRParm?_={}", millis()),
                String::new(),
                false,
            )
            .await?;
        let params = parse::gdpr_params(&text)?;
        let creds = &target.credentials;
        let signer = Signer::new(
            params,
            AesSession::random(target.profile.cipher),
            &creds.username,
            &creds.password,
        );
        let body = signer.login_body(&creds.username, &creds.password, takeover);
        s.signer = Some(signer);
        // From the moment the login is sent the modem may hold a session for this read, whether
        // or not its answer arrives.
        web.opened();
        let answer = match s.post("/cgi_gdpr?9", body, true).await {
            // A login the modem cannot even parse means it speaks another dialect (GCM vs CBC,
            // another sign): the browser path, which runs the modem's own JavaScript, may work.
            Err(BridgeError::Http(400)) => {
                return Err(ProtocolMismatch::new("login rejected as malformed (HTTP 400)").into());
            }
            other => other?,
        };
        if let Err(e) = parse::login_result(&answer) {
            web.login_failed(&e);
            return Err(e);
        }
        if s.cookie.is_none() {
            return Err(ProtocolMismatch::new("login set no JSESSIONID cookie").into());
        }
        let page = s.get(&format!("/?_={}", millis())).await?;
        s.token = Some(
            HeaderValue::from_str(&parse::token(&page)?)
                .map_err(|_| ProtocolMismatch::new("token"))?,
        );
        debug!(modem = %target.addr, "logged in");
        Ok(s)
    }
}

/// One logged-in web session. Holds the cookie, token and signer; none of them is logged.
struct Session<'a> {
    client: &'a NativeClient,
    base: String,
    referer: HeaderValue,
    cookie: Option<HeaderValue>,
    token: Option<HeaderValue>,
    signer: Option<Signer>,
}

impl Session<'_> {
    async fn read_all(&mut self, calls: &[Call]) -> Result<Readout, BridgeError> {
        let mut out = Readout::new();
        for c in calls {
            let payload = dm::request_json(c.op, c.oid, "0,0,0,0,0,0", c.attrs);
            let text = self.call(&payload).await?;
            let r = match dm::reply(c.oid, &text) {
                Ok(d) => ObjectResult::Data(d),
                Err(BridgeError::Refused { code, .. }) => ObjectResult::Refused(code),
                Err(e) => return Err(e),
            };
            out.insert(c.oid.to_owned(), r);
        }
        Ok(out)
    }

    async fn logout(&mut self) -> Result<(), BridgeError> {
        let payload = dm::request_json(Operation::Cgi, "/cgi/logout", "0,0,0,0,0,0", &[]);
        let text = self.call(&payload).await?;
        if !text.trim().is_empty() {
            // Success is an empty body; anything else is reported but not fatal.
            return Err(ProtocolMismatch::new("logout answered a body").into());
        }
        Ok(())
    }

    async fn call(&mut self, payload: &str) -> Result<String, BridgeError> {
        let body = self.signer()?.request_body(payload);
        self.post(&format!("/cgi_gdpr?9?_={}", millis()), body, true)
            .await
    }

    fn signer(&self) -> Result<&Signer, BridgeError> {
        self.signer
            .as_ref()
            .ok_or_else(|| BridgeError::Config("no session".into()))
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(REFERER, self.referer.clone());
        if let Some(c) = &self.cookie {
            h.insert(COOKIE, c.clone());
        }
        if let Some(t) = &self.token {
            h.insert("TokenID", t.clone());
        }
        h
    }

    async fn get(&mut self, path: &str) -> Result<String, BridgeError> {
        let req = self
            .client
            .http
            .get(format!("{}{path}", self.base))
            .headers(self.headers());
        let resp = req.send().await?;
        self.finish(resp).await
    }

    async fn post(
        &mut self,
        path: &str,
        body: String,
        encrypted: bool,
    ) -> Result<String, BridgeError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        let resp = loop {
            let resp = self
                .client
                .http
                .post(&url)
                .headers(self.headers())
                .body(body.clone())
                .send()
                .await?;
            let status = resp.status().as_u16();
            attempt += 1;
            if (status == 500 || status == 406) && attempt < RETRIES {
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
            break resp;
        };
        let text = self.finish(resp).await?;
        if !encrypted || text.trim().is_empty() {
            return Ok(text);
        }
        Ok(self.signer()?.open(&text)?)
    }

    async fn finish(&mut self, mut resp: reqwest::Response) -> Result<String, BridgeError> {
        if !resp.status().is_success() {
            return Err(BridgeError::Http(resp.status().as_u16()));
        }
        for v in resp.headers().get_all(SET_COOKIE) {
            if let Some(c) = v.to_str().ok().and_then(jsessionid) {
                self.cookie = HeaderValue::from_str(&format!("JSESSIONID={c}")).ok();
            }
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if buf.len() + chunk.len() > MAX_BODY {
                return Err(ProtocolMismatch::new("answer exceeds the body limit").into());
            }
            buf.extend_from_slice(&chunk);
        }
        String::from_utf8(buf).map_err(|_| ProtocolMismatch::new("answer is not UTF-8").into())
    }
}

/// The value of `JSESSIONID=…` in a `Set-Cookie` header.
fn jsessionid(set_cookie: &str) -> Option<&str> {
    let first = set_cookie.split(';').next()?.trim();
    let v = first.strip_prefix("JSESSIONID=")?;
    (!v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(v)
}

fn millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_is_extracted_and_validated() {
        assert_eq!(
            jsessionid("JSESSIONID=4d786fede0164d76; Path=/; HttpOnly"),
            Some("4d786fede0164d76")
        );
        assert_eq!(jsessionid("other=1"), None);
        assert_eq!(jsessionid("JSESSIONID=a;b"), Some("a"));
        assert_eq!(jsessionid("JSESSIONID=a b"), None);
    }
}
