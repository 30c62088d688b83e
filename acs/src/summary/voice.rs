//! SIP lines and whether they are registered: TR-104v2 (`CallControl.Line` → `SIP.Client` →
//! `SIP.Network`), TR-104v1 (`VoiceProfile.{i}.Line.{i}`) under either root, and the XX230v's
//! copy of v1 under `Device.X_TP_Services`. Passwords are never read: a secured `AuthPassword`
//! reads back empty anyway, so registration is judged by status, as the notes advise.

use super::{Fact, Reader};
use crate::datamodel::{DataModel, reference};
use serde::Serialize;

/// One SIP line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceLine {
    /// The line object.
    pub path: String,
    /// Whether the line is enabled.
    pub enabled: Option<Fact<bool>>,
    /// Registration status: the SIP client's (v2) or the line's (v1), e.g. `Up`, `Registering`.
    pub status: Option<Fact<String>>,
    /// Whether the status says registered (`Up`).
    pub registered: Option<bool>,
    /// The phone number.
    pub directory_number: Option<Fact<String>>,
    /// The SIP authentication user name.
    pub auth_username: Option<Fact<String>>,
    /// The SIP URI (v1 `SIP.URI`, v2 `RegisterURI`).
    pub uri: Option<Fact<String>>,
    /// The registrar the line registers with.
    pub registrar: Option<Fact<String>>,
}

/// Services that may hold voice lines, relative to the root.
const SERVICES: [&str; 2] = ["Services.VoiceService", "X_TP_Services.VoiceService"];

/// Reads every SIP line.
pub(super) fn lines(r: &mut Reader<'_>, model: DataModel) -> Vec<VoiceLine> {
    let view = r.view;
    let mut out = Vec::new();
    for service in SERVICES {
        let table = format!("{}.{service}", model.root());
        for s in view.instances(&table) {
            let svc = format!("{table}.{s}");
            let lines = format!("{svc}.CallControl.Line");
            for l in view.instances(&lines) {
                out.extend(v2_line(r, &format!("{lines}.{l}")));
            }
            let profiles = format!("{svc}.VoiceProfile");
            for p in view.instances(&profiles) {
                let profile = format!("{profiles}.{p}");
                for l in view.instances(&format!("{profile}.Line")) {
                    out.extend(v1_line(r, &profile, &format!("{profile}.Line.{l}")));
                }
            }
        }
    }
    out
}

fn registrar(r: &mut Reader<'_>, path: &str) -> Option<Fact<String>> {
    r.text(path).filter(|f| f.value != "0.0.0.0")
}

fn registered(status: Option<&Fact<String>>) -> Option<bool> {
    status.map(|s| s.value == "Up")
}

/// A line's own state and number; `None` for a line object without state (the XX230v's
/// standard copy of v1 carries only calling features).
fn line_state(r: &mut Reader<'_>, line: &str) -> Option<VoiceLine> {
    let enabled = r.bool(&format!("{line}.Enable"));
    let status = r.text(&format!("{line}.Status"));
    if enabled.is_none() && status.is_none() {
        return None;
    }
    Some(VoiceLine {
        path: line.to_owned(),
        registered: registered(status.as_ref()),
        enabled,
        status,
        directory_number: r.text(&format!("{line}.DirectoryNumber")),
        auth_username: None,
        uri: None,
        registrar: None,
    })
}

/// A TR-104v1 line: its SIP account under the line, the registrar under the profile.
fn v1_line(r: &mut Reader<'_>, profile: &str, line: &str) -> Option<VoiceLine> {
    let mut l = line_state(r, line)?;
    l.auth_username = r.text(&format!("{line}.SIP.AuthUserName"));
    l.uri = r.text(&format!("{line}.SIP.URI"));
    l.registrar = registrar(r, &format!("{profile}.SIP.RegistrarServer"));
    Some(l)
}

/// A TR-104v2 line, with its SIP client's registration and its network's registrar.
fn v2_line(r: &mut Reader<'_>, line: &str) -> Option<VoiceLine> {
    let mut l = line_state(r, line)?;
    let reference_at = |r: &Reader<'_>, path: String| {
        r.view
            .text(&path)
            .and_then(|t| reference(&t).map(str::to_owned))
    };
    let client = reference_at(r, format!("{line}.Provider")).filter(|c| c.contains(".SIP.Client."));
    if let Some(c) = &client {
        if let Some(s) = r.text(&format!("{c}.Status")) {
            l.registered = registered(Some(&s));
            l.status = Some(s);
        }
        l.auth_username = r.text(&format!("{c}.AuthUserName"));
        l.uri = r.text(&format!("{c}.RegisterURI"));
        if let Some(n) = reference_at(r, format!("{c}.Network")) {
            l.registrar = registrar(r, &format!("{n}.RegistrarServer"));
        }
    }
    Some(l)
}
