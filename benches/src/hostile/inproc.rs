//! In-process application of one input to the real parser entry points of its surface, under
//! `catch_unwind`: a panic is a finding; an `Err` or a valid value is the expected outcome.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use modem_bridge::proto::cipher::{AesSession, CipherVariant};
use nbi::doc::Node;
use nbi::query::{Collection, Query};
use olt_poller::{Profile, Role, VarBind};

/// The surfaces hostile input is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Surface {
    /// CWMP envelopes (ACS port 7547).
    Cwmp,
    /// NBI query strings: parse and evaluation.
    NbiQuery,
    /// NBI task bodies.
    NbiTask,
    /// Uptime Kuma webhook bodies.
    Kuma,
    /// SNMP GET/GETBULK responses (olt-poller).
    Snmp,
    /// TP-Link EX answers (modem-bridge).
    Modem,
}

/// Every surface, in report order.
pub(crate) const SURFACES: [Surface; 6] = [
    Surface::Cwmp,
    Surface::NbiQuery,
    Surface::NbiTask,
    Surface::Kuma,
    Surface::Snmp,
    Surface::Modem,
];

impl Surface {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cwmp => "CWMP envelopes",
            Self::NbiQuery => "NBI queries",
            Self::NbiTask => "NBI task bodies",
            Self::Kuma => "Kuma webhooks",
            Self::Snmp => "SNMP responses",
            Self::Modem => "TP-Link responses",
        }
    }
}

/// What one input did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Parsed into a valid value.
    Accepted,
    /// Refused with an error.
    Refused,
    /// Accepted, but the value broke an invariant (e.g. a parsed envelope that does not
    /// serialize and parse again).
    Invalid(String),
    /// Panicked, with the panic message.
    Panicked(String),
}

/// Shared, read-only state of the in-process appliers.
pub(crate) struct Appliers {
    limits: cwmp::Limits,
    device: Node,
    profile: Profile,
    aes: AesSession,
}

impl Appliers {
    /// Builds the appliers: the GenieACS device document queries are evaluated against, the
    /// Huawei profile SNMP rows are decoded with, a fixed AES session for modem answers.
    pub(crate) fn new() -> Self {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../../acs/nbi/tests/fixtures/genieacs/device-full.json"
        ))
        .unwrap_or(serde_json::Value::Null);
        let first = doc.get(0).cloned().unwrap_or(doc);
        Self {
            limits: cwmp::Limits::default(),
            device: Node::from_json(&first),
            profile: Profile::huawei(),
            aes: fixed_aes(),
        }
    }

    /// Applies `input` to `surface`'s entry points; `variant` picks among a surface's readings
    /// (collection of a query, body or query string of a webhook, ...).
    pub(crate) fn apply(&self, surface: Surface, input: &[u8], variant: u64) -> Outcome {
        let r = catch_unwind(AssertUnwindSafe(|| match surface {
            Surface::Cwmp => self.cwmp(input),
            Surface::NbiQuery => self.query(input, variant),
            Surface::NbiTask => task(input),
            Surface::Kuma => kuma(input, variant),
            Surface::Snmp => self.snmp(input),
            Surface::Modem => self.modem(input),
        }));
        match r {
            Ok(o) => o,
            Err(p) => Outcome::Panicked(panic_text(&p)),
        }
    }

    fn cwmp(&self, input: &[u8]) -> Outcome {
        match cwmp::parse_envelope(input, &self.limits) {
            Err(_) => Outcome::Refused,
            Ok(env) => {
                // A value the ACS accepted must be one it can write and read back.
                let bytes = cwmp::to_bytes(&env);
                match cwmp::parse_envelope(&bytes, &self.limits) {
                    Ok(_) => Outcome::Accepted,
                    Err(e) => Outcome::Invalid(format!("re-parse of the written envelope: {e}")),
                }
            }
        }
    }

    fn query(&self, input: &[u8], variant: u64) -> Outcome {
        let Ok(text) = std::str::from_utf8(input) else {
            // A query string is UTF-8 by the time it is decoded; the router refuses the rest.
            return Outcome::Refused;
        };
        let coll = [
            Collection::Devices,
            Collection::TasksOrFaults,
            Collection::Raw,
        ][(variant % 3) as usize];
        match Query::parse(text, coll) {
            Err(_) => Outcome::Refused,
            Ok(q) => {
                let _ = q.matches(&self.device);
                let _ = (q.plan(), q.needs_tree(), q.plan_is_exact());
                Outcome::Accepted
            }
        }
    }

    fn snmp(&self, input: &[u8]) -> Outcome {
        let Ok((status, index, varbinds)) = olt_poller::parse_response(input) else {
            return Outcome::Refused;
        };
        decode_snmp(&self.profile, status, index, varbinds)
    }

    fn modem(&self, input: &[u8]) -> Outcome {
        use modem_bridge::proto::{dm, parse};
        // reqwest's `text()` decodes lossily; the bridge sees what this gives.
        let text = String::from_utf8_lossy(input);
        let mut ok = false;
        ok |= parse::gdpr_params(&text).is_ok();
        ok |= parse::login_result(&text).is_ok();
        ok |= parse::token(&text).is_ok();
        let _ = (parse::ret_code(&text), parse::js_var(&text, "token"));
        ok |= dm::reply("DEV2_DEV_INFO", &text).is_ok();
        if let Ok(plain) = self.aes.open(&text) {
            ok |= dm::reply("DEV2_WIFI", &String::from_utf8_lossy(&plain)).is_ok();
        }
        if ok {
            Outcome::Accepted
        } else {
            Outcome::Refused
        }
    }
}

impl Default for Appliers {
    fn default() -> Self {
        Self::new()
    }
}

/// The AES session the modem corpus is sealed with (fixed digits; a test key, not a secret).
pub(crate) fn fixed_aes() -> AesSession {
    AesSession::from_digits(CipherVariant::Cbc, "1234567890123456", "6543210987654321")
        .unwrap_or_else(|| AesSession::random(CipherVariant::Cbc))
}

fn task(input: &[u8]) -> Outcome {
    let url = |f: &str| format!("http://127.0.0.1:7567/{f}");
    match nbi::task_body::parse(input, &|_| Some("xsd:string".into()), Some(&url)) {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::Refused,
    }
}

fn kuma(input: &[u8], variant: u64) -> Outcome {
    use incidents::kuma::{WebhookRequest, parse};
    let types = [
        Some("application/json"),
        Some("multipart/form-data; boundary=XyZ"),
        Some("application/x-www-form-urlencoded"),
        Some("text/plain"),
        None,
    ];
    let query = std::str::from_utf8(input).ok();
    let req = if variant % 6 == 5 && query.is_some() {
        // Kuma 2.x's GET: the notification in the query string.
        WebhookRequest {
            content_type: None,
            body: b"",
            query,
        }
    } else {
        WebhookRequest {
            content_type: types[(variant % 5) as usize],
            body: input,
            query: None,
        }
    };
    match parse(&req, Default::default()) {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::Refused,
    }
}

/// The poller's reading of a response: the GETBULK walker folds it in (OID order, row caps,
/// back-off) and the profile decodes every cell and row key, then the rows are built.
fn decode_snmp(profile: &Profile, status: u32, index: u32, varbinds: Vec<VarBind>) -> Outcome {
    for vb in &varbinds {
        for spec in profile.columns.values() {
            let _ = olt_poller::decode::decode_cell(spec, &vb.value);
            let _ = olt_poller::decode::row_key(spec, &vb.oid);
        }
    }
    let roles: Vec<Role> = profile.columns.keys().copied().collect();
    let roots = profile.columns.values().map(|c| c.oid.clone()).collect();
    let mut walk = olt_poller::walk::TableWalk::new(roots, Default::default());
    let Some(req) = walk.next_request() else {
        return Outcome::Refused;
    };
    if walk.on_response(&req, status, index, varbinds).is_err() {
        return Outcome::Refused;
    }
    let columns = roles
        .into_iter()
        .zip(walk.into_rows())
        .collect::<BTreeMap<_, _>>();
    match olt_poller::decode::build_rows(profile, None, &[], &columns) {
        Ok(_) => Outcome::Accepted,
        Err(_) => Outcome::Refused,
    }
}

/// The message of a caught panic.
pub(crate) fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// Silences the default panic printout while the run catches panics (a million inputs would
/// otherwise flood stderr), keeping the last location; restored by dropping the guard.
pub(crate) struct QuietPanics {
    previous: Option<PanicHook>,
}

/// A panic hook, as `std::panic::take_hook` returns it.
type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// Where the last caught panic happened.
pub(crate) static LAST_PANIC_AT: Mutex<String> = Mutex::new(String::new());

impl QuietPanics {
    /// Installs the quiet hook.
    pub(crate) fn install() -> Self {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            if let Some(l) = info.location()
                && let Ok(mut at) = LAST_PANIC_AT.lock()
            {
                *at = l.to_string();
            }
        }));
        Self {
            previous: Some(previous),
        }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(p) = self.previous.take() {
            std::panic::set_hook(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_seeds_are_accepted_and_garbage_refused() {
        let a = Appliers::new();
        for e in super::super::corpus::cwmp().iter().take(6) {
            assert_eq!(a.apply(Surface::Cwmp, e, 0), Outcome::Accepted);
        }
        assert_eq!(a.apply(Surface::Cwmp, b"<x", 0), Outcome::Refused);
        let q = br#"{"_tags":"vip"}"#;
        assert_eq!(a.apply(Surface::NbiQuery, q, 0), Outcome::Accepted);
        assert_eq!(
            a.apply(Surface::NbiTask, br#"{"name":"reboot"}"#, 0),
            Outcome::Accepted
        );
        assert_eq!(a.apply(Surface::Snmp, b"\x30\x00", 0), Outcome::Refused);
        let modem = super::super::corpus::modem_plain();
        assert_eq!(a.apply(Surface::Modem, &modem[4], 0), Outcome::Accepted);
        let sealed = fixed_aes().seal(&modem[5]).data;
        assert_eq!(
            a.apply(Surface::Modem, sealed.as_bytes(), 0),
            Outcome::Accepted
        );
    }
}
