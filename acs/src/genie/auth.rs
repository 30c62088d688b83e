//! GenieACS's authentication settings, evaluated per device: `cwmp.auth`, which decides whether
//! a CPE's session is accepted, and `cwmp.connectionRequestAuth`, which gives the credentials of
//! a connection request to it.
//!
//! Both are expressions ([`crate::genie::expr`]) over the device's parameters. In `cwmp.auth`,
//! `AUTH(username, password)` is true when the request presented exactly these credentials
//! (Basic: the same username and password; Digest: a response computed with them on a nonce
//! this ACS issued), and the session is accepted only when the whole expression is true; false,
//! `NULL` or an expression that cannot be evaluated refuses it (401), as in GenieACS. It reads
//! `DeviceID.*` from the Inform (the identity being authenticated), `Tags.*`, `Events.*`, the
//! aliases `id`, `serialNumber`, `productClass`, `oui`, `remoteAddress` and `REMOTE_ADDRESS()`
//! (the peer's address), and any other parameter from the stored tree, which is read only when
//! the expression names such a parameter. Unlike GenieACS, the values of the Inform's own
//! parameter list are not used: they come from the request being authenticated, and a CPE that
//! reported `ManagementServer.Password` in its Inform would vouch for itself with it; the
//! stored values are what the ACS knew before the request. In `cwmp.connectionRequestAuth`, each `AUTH(u, p)` the
//! evaluation reaches is a pair of credentials to try, in order (GenieACS tries the next one
//! when the CPE refuses one); `username` and `password` there are the device's
//! ConnectionRequestUsername and Password and `remoteAddress` the host of its
//! ConnectionRequestURL. GenieACS's default is `AUTH(username, password)`, which is what
//! Fibreplane does without the setting.
//!
//! How the expression composes with Fibreplane's own credential states is the ACS's rule
//! (`credentials/admit.rs`): a device with an explicit or adopting record is judged by it
//! alone; a device without a record (derived credentials) is accepted with its derived
//! credentials or when `cwmp.auth` is true.
//!
//! Expression sources are never logged: `AUTH("user", "fixed-password")` holds a password.

use crate::genie::expr::{Expr, Facts, Val};
use acs_store::{DeviceMeta, ParamTree, Value};
use std::cell::{Cell, RefCell};

/// GenieACS's key of the CPE authentication expression.
pub const CPE_AUTH: &str = "cwmp.auth";
/// GenieACS's key of the connection-request credentials expression.
pub const CR_AUTH: &str = "cwmp.connectionRequestAuth";

/// One authentication setting as loaded from the imported `config` collection.
#[derive(Clone, Default, PartialEq)]
pub enum AuthSetting {
    /// Not configured.
    #[default]
    Absent,
    /// An expression to evaluate per device.
    Ready(Expr),
    /// Configured, but it cannot be evaluated (the reason, free of the source's literals): a
    /// `cwmp.auth` in this state refuses every session it decides.
    Broken(String),
}

impl std::fmt::Debug for AuthSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Absent => f.write_str("Absent"),
            Self::Ready(_) => f.write_str("Ready(***)"),
            Self::Broken(why) => f.debug_tuple("Broken").field(why).finish(),
        }
    }
}

impl AuthSetting {
    /// Reads a setting document (`{"_id": …, "value": …}`).
    pub fn from_doc(body: &[u8]) -> Self {
        match source(body).and_then(|src| parse(&src)) {
            Ok(e) => Self::Ready(e),
            Err(why) => Self::Broken(why),
        }
    }

    /// Whether the setting is configured (evaluable or not).
    pub fn is_set(&self) -> bool {
        !matches!(self, Self::Absent)
    }
}

/// The two settings together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthSettings {
    /// `cwmp.auth`.
    pub cpe: AuthSetting,
    /// `cwmp.connectionRequestAuth`.
    pub cr: AuthSetting,
}

/// The expression text of a setting document.
fn source(body: &[u8]) -> Result<String, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON document: {e}"))?;
    match doc.get("value") {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(serde_json::Value::Bool(b)) => Ok(b.to_string()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err("no value".to_owned()),
    }
}

/// Parses an authentication expression; the error never quotes the source's string literals.
pub fn parse(src: &str) -> Result<Expr, String> {
    Expr::parse(src).map_err(|e| redact(&e.0, src))
}

/// `message` with every string literal of `src` replaced by `***`.
fn redact(message: &str, src: &str) -> String {
    let mut out = message.to_owned();
    for quote in ['"', '\''] {
        for (i, part) in src.split(quote).enumerate() {
            // The odd parts of a split on a quote lie between quotes.
            if i % 2 == 1 && !part.is_empty() {
                out = out.replace(part, "***");
            }
        }
    }
    out
}

/// What the expressions may read of a device.
pub struct Device<'a> {
    /// The device id (`DeviceID.ID`, `id`).
    pub id: &'a str,
    /// `DeviceID.Manufacturer`.
    pub manufacturer: &'a str,
    /// `DeviceID.OUI`, `oui`.
    pub oui: &'a str,
    /// `DeviceID.ProductClass`, `productClass`.
    pub product_class: &'a str,
    /// `DeviceID.SerialNumber`, `serialNumber`.
    pub serial_number: &'a str,
    /// The device's record when it is known: its tags (`Tags.<tag>` is true for each) and the
    /// times of its last events (`Events.*`).
    pub meta: Option<&'a DeviceMeta>,
    /// The events of the Inform being authenticated: `Events.<code>` is the session's time for
    /// each, as is `Events.Inform` (and `Events.Registered` for a new device).
    pub events: &'a [cwmp::EventStruct],
    /// The stored tree, when the expression reads beyond the above.
    pub tree: Option<&'a ParamTree>,
    /// `remoteAddress` and `REMOTE_ADDRESS()`.
    pub remote_address: Option<String>,
    /// `username` and `password`: the connection-request credentials (connection requests
    /// only).
    pub cr_credentials: Option<(&'a str, &'a str)>,
    /// The session's time, for `NOW()`.
    pub now_ms: i64,
}

impl<'a> Device<'a> {
    /// A device as a session's first request shows it: the Inform's identity and events, the
    /// device's record when it is known, the peer's address.
    pub fn informing(
        id: &'a str,
        identity: &'a cwmp::DeviceIdStruct,
        meta: Option<&'a DeviceMeta>,
        events: &'a [cwmp::EventStruct],
        remote_address: Option<String>,
        now_ms: i64,
    ) -> Self {
        Self {
            id,
            manufacturer: &identity.manufacturer,
            oui: &identity.oui,
            product_class: &identity.product_class,
            serial_number: &identity.serial_number,
            meta,
            events,
            tree: None,
            remote_address,
            cr_credentials: None,
            now_ms,
        }
    }

    /// A known device as the ACS holds it, for a connection request: `username` and `password`
    /// are its connection-request credentials, `remoteAddress` the host of its
    /// ConnectionRequestURL.
    pub fn stored(meta: &'a DeviceMeta, tree: Option<&'a ParamTree>, now_ms: i64) -> Self {
        let host = meta
            .connection_request_url
            .parse::<hyper::Uri>()
            .ok()
            .and_then(|u| u.host().map(|h| h.trim_matches(['[', ']']).to_owned()));
        let id = &meta.identity;
        Self {
            id: meta.id.as_str(),
            manufacturer: &id.manufacturer,
            oui: &id.oui,
            product_class: &id.product_class,
            serial_number: &id.serial_number,
            meta: Some(meta),
            events: &[],
            tree,
            remote_address: host,
            cr_credentials: Some((&meta.cr_username, &meta.cr_password)),
            now_ms,
        }
    }
}

impl Device<'_> {
    /// The value at `path`, `None` when the device has none.
    fn lookup(&self, path: &str) -> Option<Val> {
        let text = |s: &str| Some(Val::Str(s.to_owned()));
        let path = match path {
            "id" => "DeviceID.ID",
            "serialNumber" => "DeviceID.SerialNumber",
            "productClass" => "DeviceID.ProductClass",
            "oui" => "DeviceID.OUI",
            "remoteAddress" => return self.remote_address.as_deref().and_then(text),
            "username" | "password" => {
                let (u, p) = self.cr_credentials?;
                return text(if path == "username" { u } else { p });
            }
            other => other,
        };
        if let Some(field) = path.strip_prefix("DeviceID.") {
            return match field {
                "ID" => text(self.id),
                "Manufacturer" => text(self.manufacturer),
                "OUI" => text(self.oui),
                "ProductClass" => text(self.product_class),
                "SerialNumber" => text(self.serial_number),
                _ => None,
            };
        }
        if let Some(tag) = path.strip_prefix("Tags.") {
            let tags = &self.meta?.tags;
            return tags.contains(&decode_tag(tag)).then_some(Val::Bool(true));
        }
        if let Some(event) = path.strip_prefix("Events.") {
            return self.event_ms(event).map(|ms| Val::Num(ms as f64));
        }
        self.tree?.get(path)?.value.as_ref().map(typed)
    }
}

impl Device<'_> {
    /// When the event named by an `Events.<name>` path last happened (ms), if known.
    fn event_ms(&self, name: &str) -> Option<i64> {
        let code = decode_tag(name).replace('_', " ");
        let now = Some(self.now_ms);
        if self.events.iter().any(|e| e.code == code) {
            return now;
        }
        let meta = self.meta;
        let stored = match name {
            // An Inform being authenticated happens now; without one, the last recorded.
            "Inform" if !self.events.is_empty() || meta.is_none() => now,
            "Inform" => meta.map(|m| m.last_inform_ms),
            // A device the store does not know registers with this session.
            "Registered" => meta.map_or(now, |m| Some(m.registered_ms)),
            "1_BOOT" => meta.and_then(|m| m.last_boot_ms),
            "0_BOOTSTRAP" => meta.and_then(|m| m.last_bootstrap_ms),
            _ => None,
        };
        stored.filter(|t| *t > 0)
    }
}

/// Whether evaluating `expr` needs the stored tree: it names a parameter that is neither an
/// alias, `DeviceID.*`, `Tags.*` nor `Events.*`.
pub fn reads_tree(expr: &Expr) -> bool {
    expr.params().into_iter().any(|p| {
        !matches!(
            p,
            "id" | "serialNumber"
                | "productClass"
                | "oui"
                | "remoteAddress"
                | "username"
                | "password"
        ) && !["DeviceID.", "Tags.", "Events."]
            .iter()
            .any(|prefix| p.starts_with(prefix))
    })
}

/// A stored value as the expression language sees it: numbers and booleans typed, dates as
/// milliseconds, the rest as text.
fn typed(value: &Value) -> Val {
    match value {
        Value::Boolean(b) => Val::Bool(*b),
        Value::Int(n) | Value::Long(n) => Val::Num(*n as f64),
        Value::UnsignedInt(n) | Value::UnsignedLong(n) => Val::Num(*n as f64),
        Value::DateTime(s) => crate::genie::date::parse(s)
            .map_or_else(|| Val::Str(s.clone()), |ms| Val::Num(ms as f64)),
        other => Val::Str(other.text().into_owned()),
    }
}

/// GenieACS writes a byte of a tag that cannot appear in a path as `0x` and two hex digits.
fn decode_tag(encoded: &str) -> String {
    let b = encoded.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let byte = b
            .get(i..i + 4)
            .filter(|w| w.starts_with(b"0x"))
            .and_then(|w| std::str::from_utf8(&w[2..]).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match byte {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What `AUTH()` does in an evaluation.
enum Mode<'a> {
    /// Checks a request's credentials.
    Check(&'a Check<'a>),
    /// Collects the pairs a connection request may try; each call is false, so the evaluation
    /// goes on to the next.
    Collect,
}

/// The [`Facts`] of one evaluation, noting what it lacked.
struct Eval<'a> {
    device: &'a Device<'a>,
    mode: Mode<'a>,
    missing: RefCell<Vec<String>>,
    pairs: RefCell<Vec<(String, String)>>,
    auth_calls: Cell<u32>,
    auth_unusable: Cell<u32>,
}

impl<'a> Eval<'a> {
    fn new(device: &'a Device<'a>, mode: Mode<'a>) -> Self {
        Self {
            device,
            mode,
            missing: RefCell::new(Vec::new()),
            pairs: RefCell::new(Vec::new()),
            auth_calls: Cell::new(0),
            auth_unusable: Cell::new(0),
        }
    }
}

impl Facts for Eval<'_> {
    fn value(&self, path: &str) -> Val {
        self.device.lookup(path).unwrap_or_else(|| {
            let mut missing = self.missing.borrow_mut();
            if !missing.iter().any(|m| m == path) {
                missing.push(path.to_owned());
            }
            Val::Null
        })
    }

    fn now_ms(&self) -> i64 {
        self.device.now_ms
    }

    fn auth(&self, username: &Val, password: &Val) -> Val {
        self.auth_calls.set(self.auth_calls.get() + 1);
        match self.mode {
            Mode::Check(check) => match (username, password) {
                // GenieACS compares strings only: a missing or typed value matches nothing.
                (Val::Str(u), Val::Str(p)) => Val::Bool(check(u, p)),
                _ => {
                    self.auth_unusable.set(self.auth_unusable.get() + 1);
                    Val::Bool(false)
                }
            },
            Mode::Collect => {
                // As GenieACS (`value || ""`): a missing or false username or password is empty.
                let text = |v: &Val| match v {
                    Val::Str(s) => s.clone(),
                    Val::Num(n) if v.truthy() => n.to_string(),
                    Val::Bool(true) => "true".to_owned(),
                    _ => String::new(),
                };
                self.pairs
                    .borrow_mut()
                    .push((text(username), text(password)));
                Val::Bool(false)
            }
        }
    }

    fn remote_address(&self) -> Val {
        self.device
            .remote_address
            .as_ref()
            .map_or(Val::Null, |a| Val::Str(a.clone()))
    }
}

/// Whether the request being judged presented this username and password.
pub type Check<'a> = dyn Fn(&str, &str) -> bool + 'a;

/// Evaluates `cwmp.auth` for a request, given the [`Check`] of its credentials.
pub type Judge<'a> = dyn Fn(&Check<'_>) -> Verdict + 'a;

/// The outcome of `cwmp.auth` for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the session is accepted.
    pub accepted: bool,
    /// Why not, for the log (no secrets).
    pub reason: String,
}

/// Evaluates `cwmp.auth` for a request whose credentials `check` verifies (`check(u, p)`: did
/// the request present `u` and `p`?).
pub fn judge(expr: &Expr, device: &Device<'_>, check: &Check<'_>) -> Verdict {
    let eval = Eval::new(device, Mode::Check(check));
    let value = expr.eval(&eval);
    if value.truthy() {
        return Verdict {
            accepted: true,
            reason: String::new(),
        };
    }
    let mut reason = format!(
        "{CPE_AUTH} is {}",
        match value {
            Val::Null => "NULL (unknown)",
            _ => "false",
        }
    );
    let missing = eval.missing.into_inner();
    if !missing.is_empty() {
        reason.push_str(&format!(
            "; the device has no value for {}",
            missing.join(", ")
        ));
    }
    let unusable = eval.auth_unusable.get();
    if unusable > 0 {
        reason.push_str(&format!(
            "; {unusable} AUTH() call(s) had no string username or password"
        ));
    } else if eval.auth_calls.get() > 0 {
        reason.push_str("; the credentials presented match no AUTH() call");
    }
    Verdict {
        accepted: false,
        reason,
    }
}

/// The value of a setting's expression for a device (`AUTH()` is false), and the parameters
/// it lacked.
pub fn evaluate(expr: &Expr, device: &Device<'_>) -> (Val, Vec<String>) {
    let eval = Eval::new(device, Mode::Collect);
    let value = expr.eval(&eval);
    (value, eval.missing.into_inner())
}

/// The credential pairs `cwmp.connectionRequestAuth` gives for a device, in the order to try
/// them, and the parameters it lacked.
pub fn cr_credentials(expr: &Expr, device: &Device<'_>) -> (Vec<(String, String)>, Vec<String>) {
    let eval = Eval::new(device, Mode::Collect);
    let _ = expr.eval(&eval);
    (eval.pairs.into_inner(), eval.missing.into_inner())
}

#[cfg(test)]
mod tests;
