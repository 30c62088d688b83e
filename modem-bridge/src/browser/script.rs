//! The JavaScript the driver evaluates in the modem's page. It only fills the login form, clicks
//! the page's own button and calls the page's own data API (`$.dm`): the crypto is the page's.
//! Values are embedded with `serde_json`, so no input can break out of its string literal.

use serde::Deserialize;
use serde_json::json;

use crate::plan::Call;
use crate::proto::dm::Operation;

/// Fills the login form and clicks the button. Answers `false` when the page has no login form
/// (a firmware whose UI this driver does not know).
pub(crate) fn submit_login(username: &str, password: &str) -> String {
    format!(
        r#"(() => {{
  const pw = document.querySelector('#pc-login-password');
  const btn = document.querySelector('#pc-login-btn');
  if (!pw || !btn) return false;
  const user = document.querySelector('#pc-login-user');
  if (user) user.value = {user};
  pw.value = {pw};
  btn.click();
  return true;
}})()"#,
        user = json!(username),
        pw = json!(password),
    )
}

/// Where the login stands, as [`LoginState`] JSON.
pub(crate) const LOGIN_STATE: &str = r#"(() => {
  const shown = (el) => !!el && el.getClientRects().length > 0;
  if (document.querySelector('#topReboot') && window.$ && $.dm) return {state: 'ok'};
  const confirm = document.querySelector('#confirm-yes');
  if (shown(confirm)) return {state: 'busy'};
  const tips = document.querySelector('.content.error-tips-content');
  if (shown(tips)) return {
    state: 'error',
    ret: Number(tips.dataset.ret || 0),
    times: Number(tips.dataset.authTimes || 0),
    forbid: Number(tips.dataset.forbidTime || 0)
  };
  return {state: 'wait'};
})()"#;

/// Clicks the "log in anyway" button of the "another user is logged in" prompt; `false` when the
/// page has none.
pub(crate) const CONFIRM_TAKEOVER: &str = r#"(() => {
  const yes = document.querySelector('#confirm-yes');
  if (!yes) return false;
  yes.click();
  return true;
})()"#;

/// The state [`LOGIN_STATE`] reports.
#[derive(Debug, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub(crate) enum LoginState {
    /// Logged in: the main page and its data API are there.
    Ok,
    /// The "another user is logged in" prompt.
    Busy,
    /// The page shows a login error.
    Error {
        /// `$.ret` of the login.
        #[serde(default)]
        ret: i64,
        /// Failed attempts so far.
        #[serde(default)]
        times: u64,
        /// Seconds of lock-out left.
        #[serde(default)]
        forbid: u64,
    },
    /// Still working (or navigating).
    Wait,
}

/// Runs the planned calls through `$.dm` and answers one JSON string: OID → the call's answer in
/// the wire's own shape (`{"success":true,"data":…}` or `{"success":false,"errorcode":n}`), so
/// the Rust side parses both paths' answers with the same limits.
pub(crate) fn read_calls(calls: &[Call]) -> String {
    let list: Vec<_> = calls
        .iter()
        .map(|c| {
            let data: serde_json::Map<_, _> = c
                .attrs
                .iter()
                .map(|a| ((*a).to_owned(), json!("")))
                .collect();
            json!({"oid": c.oid, "list": c.op == Operation::Gl, "data": data})
        })
        .collect();
    format!(
        r#"(async () => {{
  const calls = {calls};
  const out = {{}};
  for (const c of calls) {{
    out[c.oid] = await new Promise((resolve) => {{
      const cb = {{
        success: (data) => resolve({{success: true, data: data}}),
        fail: (code) => resolve({{success: false, errorcode: Number(code)}}),
        error: (msg) => resolve({{error: String(msg)}})
      }};
      (c.list ? $.dm.getList : $.dm.get).call($.dm, {{oid: c.oid, data: c.data, callback: cb}});
    }});
  }}
  return JSON.stringify(out);
}})()"#,
        calls = serde_json::Value::Array(list)
    )
}

/// Logs out through the page's API; resolves `true` on the modem's empty answer.
pub(crate) const LOGOUT: &str = r#"(async () => {
  if (!(window.$ && $.dm && $.dm.cgi)) return false;
  return await new Promise((resolve) => {
    $.dm.cgi({oid: '/cgi/logout', data: {}, callback: {
      success: () => resolve(true), fail: () => resolve(false), error: () => resolve(false)
    }});
  });
})()"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_embedded_as_json_literals() {
        let s = submit_login("user", "a'\"</script>\\");
        assert!(s.contains(r#"pw.value = "a'\"</script>\\";"#));
    }

    #[test]
    fn login_states_parse() {
        let s: LoginState =
            serde_json::from_str(r#"{"state":"error","ret":71233,"times":2,"forbid":0}"#).unwrap();
        assert!(matches!(
            s,
            LoginState::Error {
                ret: 71233,
                times: 2,
                forbid: 0
            }
        ));
        assert!(matches!(
            serde_json::from_str(r#"{"state":"busy"}"#).unwrap(),
            LoginState::Busy
        ));
    }
}
