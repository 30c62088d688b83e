//! One read through the page: load the login page, submit it, wait for the main page, run the
//! calls through `$.dm`, log out.

use std::time::Duration;

use chromiumoxide::Page;
use tracing::{debug, warn};

use super::script::{self, LoginState};
use crate::config::ModemTarget;
use crate::diag::{ObjectResult, Readout};
use crate::error::{BridgeError, ProtocolMismatch};
use crate::plan::Call;
use crate::proto::{dm, parse};
use crate::websession::WebSession;

/// How often the login state is polled.
const POLL: Duration = Duration::from_millis(20);

pub(super) async fn read(
    page: &Page,
    target: &ModemTarget,
    calls: &[Call],
    web: &WebSession,
) -> Result<Readout, BridgeError> {
    let base = format!("http://{}/", target.addr);
    page.goto(base.as_str()).await?;
    let creds = &target.credentials;
    // The click sends the login: from then on the modem may hold a session for this read,
    // whether or not the page gets to show it.
    web.opened();
    let submitted: bool = eval(
        page,
        &script::submit_login(&creds.username, creds.password.expose()),
    )
    .await?;
    if !submitted {
        web.closed();
        return Err(ProtocolMismatch::new("the page has no login form").into());
    }
    let logged_in = match wait_logged_in(page).await {
        Err(BridgeError::Busy) if web.may_take_over() => {
            web.taking_over(target.addr);
            // The page's own "log in anyway" button: whatever the firmware sends for it.
            if !eval::<bool>(page, script::CONFIRM_TAKEOVER).await? {
                return Err(ProtocolMismatch::new("the prompt has no confirm button").into());
            }
            wait_logged_in(page).await
        }
        other => other,
    };
    if let Err(e) = logged_in {
        web.login_failed(&e);
        return Err(e);
    }
    debug!(modem = %target.addr, "browser logged in");
    let result = run_calls(page, calls).await;
    // Logout always, even when the calls failed: the modem has one web session.
    match eval::<bool>(page, script::LOGOUT).await {
        Ok(true) => web.closed(),
        Ok(false) => warn!(modem = %target.addr, "browser logout refused"),
        Err(e) => warn!(modem = %target.addr, error = %e, "browser logout failed"),
    }
    result
}

async fn wait_logged_in(page: &Page) -> Result<(), BridgeError> {
    loop {
        // The page navigates after a successful login; an evaluation that races the navigation
        // fails, which only means "not yet".
        match eval::<LoginState>(page, script::LOGIN_STATE).await {
            Ok(LoginState::Ok) => return Ok(()),
            Ok(LoginState::Busy) => return Err(BridgeError::Busy),
            Ok(LoginState::Error { ret, times, forbid }) => {
                let text = format!(
                    "var currAuthTimes={times};\nvar currForbidTime={forbid};\n$.ret={ret};"
                );
                parse::login_result(&text)?;
                return Err(ProtocolMismatch::new("login error without a code").into());
            }
            Ok(LoginState::Wait) | Err(BridgeError::Browser(_)) => tokio::time::sleep(POLL).await,
            Err(e) => return Err(e),
        }
    }
}

async fn run_calls(page: &Page, calls: &[Call]) -> Result<Readout, BridgeError> {
    let text: String = eval(page, &script::read_calls(calls)).await?;
    if text.len() > dm::MAX_REPLY * calls.len().max(1) {
        return Err(ProtocolMismatch::new("page answer exceeds the size limit").into());
    }
    let answers: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
        .map_err(|_| ProtocolMismatch::new("page answer is not a JSON object"))?;
    let mut out = Readout::new();
    for c in calls {
        let answer = answers
            .get(c.oid)
            .ok_or_else(|| ProtocolMismatch::new(format!("no answer for {}", c.oid)))?;
        if let Some(err) = answer.get("error") {
            return Err(BridgeError::Browser(format!(
                "{}: {}",
                c.oid,
                err.as_str().unwrap_or("error")
            )));
        }
        let r = match dm::reply(c.oid, &answer.to_string()) {
            Ok(d) => ObjectResult::Data(d),
            Err(BridgeError::Refused { code, .. }) => ObjectResult::Refused(code),
            Err(e) => return Err(e),
        };
        out.insert(c.oid.to_owned(), r);
    }
    Ok(out)
}

async fn eval<T: serde::de::DeserializeOwned>(page: &Page, js: &str) -> Result<T, BridgeError> {
    let r = page.evaluate(js).await?;
    r.into_value::<T>().map_err(|e| {
        BridgeError::Browser(format!("unexpected script result: {}", e.classify_name()))
    })
}

trait Classify {
    fn classify_name(&self) -> &'static str;
}

impl Classify for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "io",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Eof => "eof",
        }
    }
}
