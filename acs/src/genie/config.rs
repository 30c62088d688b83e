//! GenieACS's `config` collection: the `cwmp.*` settings of an installation being moved.
//!
//! GenieACS keeps its settings as documents `{"_id": "cwmp.sessionTimeout", "value": "30"}`
//! whose value is an expression in its expression language, evaluated per device. `fibreplane
//! import genieacs --config` stores them (collection [`COLLECTION`]) and the ACS applies, when it
//! opens, those that matter to sessions: the authentication expressions `cwmp.auth` and
//! `cwmp.connectionRequestAuth`, evaluated per device ([`crate::genie::auth`]), and the settings
//! below when they hold one value for every device. A timing setting that reads device
//! parameters cannot become one number (the session and the task sweep take one value), so it
//! is reported and left out, as is any setting Fibreplane does not have (each with the reason,
//! in the log at start-up).
//!
//! | GenieACS key | Unit | Fibreplane |
//! |---|---|---|
//! | `cwmp.sessionTimeout` | s | [`AcsConfig::session_timeout`] |
//! | `cwmp.connectionRequestTimeout` | ms | [`AcsConfig::cr_timeout`] |
//! | `cwmp.retryDelay` | s | [`AcsConfig::task_retry_base`] (faulted tasks and channels) |
//! | `cwmp.deviceOnlineThreshold` | ms | [`AcsConfig::device_online_threshold`] (the NBI's wait) |
//! | `cwmp.downloadTimeout` | s | [`AcsConfig::download_timeout`] (unreported transfers fault) |
//!
//! Applying is pure: [`apply`] takes the documents and returns what it took and what it left.

use crate::AcsConfig;
use crate::genie::auth::{AuthSetting, AuthSettings, CPE_AUTH, CR_AUTH};
use crate::genie::expr::{Expr, Facts, Val};
use std::time::Duration;

/// The store collection holding imported GenieACS `config` documents.
pub const COLLECTION: &str = "config";

/// What applying the documents did, for the log and the tests.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    /// Settings applied, with the value used.
    pub applied: Vec<(String, String)>,
    /// Settings left out, with the reason.
    pub ignored: Vec<(String, String)>,
    /// Authentication settings in force that cannot be evaluated, with the reason: a
    /// `cwmp.auth` among them refuses every session it decides.
    pub refusing: Vec<(String, String)>,
    /// The authentication expressions, for the ACS to evaluate per device.
    pub auth: AuthSettings,
}

/// No device: a setting that reads a parameter gets `NULL`, and is then left out.
struct NoDevice(i64);

impl Facts for NoDevice {
    fn value(&self, _path: &str) -> Val {
        Val::Null
    }

    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// Applies the `cwmp.*` settings among `docs` (name, JSON body) to `config`.
pub fn apply(config: &mut AcsConfig, docs: &[(String, Vec<u8>)]) -> Report {
    let mut report = Report::default();
    for (name, body) in docs {
        let key = name.as_str();
        if key == CPE_AUTH || key == CR_AUTH {
            let setting = AuthSetting::from_doc(body);
            match &setting {
                AuthSetting::Broken(why) => report.refusing.push((key.to_owned(), why.clone())),
                _ => report.applied.push((
                    key.to_owned(),
                    "evaluated per device (the expression is not shown: it may hold passwords)"
                        .to_owned(),
                )),
            }
            if key == CPE_AUTH {
                report.auth.cpe = setting;
            } else {
                report.auth.cr = setting;
            }
            continue;
        }
        let number = |v: &Val| match v {
            Val::Num(n) if n.is_finite() && *n >= 0.0 => Ok(*n),
            Val::Str(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{s:?} is not a number")),
            other => Err(format!("{other:?} is not a non-negative number")),
        };
        let target: Option<(&mut Duration, f64)> = match key {
            "cwmp.sessionTimeout" => Some((&mut config.session_timeout, 1000.0)),
            "cwmp.connectionRequestTimeout" => Some((&mut config.cr_timeout, 1.0)),
            "cwmp.retryDelay" => Some((&mut config.task_retry_base, 1000.0)),
            "cwmp.deviceOnlineThreshold" => Some((&mut config.device_online_threshold, 1.0)),
            "cwmp.downloadTimeout" => Some((&mut config.download_timeout, 1000.0)),
            _ => None,
        };
        let Some((slot, ms_per_unit)) = target else {
            report.ignored.push((key.to_owned(), unsupported(key)));
            continue;
        };
        let value = match setting(body) {
            Ok(v) => v,
            Err(why) => {
                report.ignored.push((key.to_owned(), why));
                continue;
            }
        };
        match number(&value) {
            Ok(n) if n * ms_per_unit >= 1.0 => {
                *slot = Duration::from_millis((n * ms_per_unit) as u64);
                report.applied.push((key.to_owned(), format!("{n}")));
            }
            Ok(n) => report
                .ignored
                .push((key.to_owned(), format!("{n} is too small to be a time"))),
            Err(why) => report.ignored.push((key.to_owned(), why)),
        }
    }
    report
}

/// The constant value of a setting document, or why it has none.
fn setting(body: &[u8]) -> Result<Val, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON document: {e}"))?;
    let src = match doc.get("value") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => return Err("no value".to_owned()),
    };
    let expr = Expr::parse(&src).map_err(|e| format!("expression {src:?}: {}", e.0))?;
    if !expr.params().is_empty() {
        return Err(format!(
            "expression {src:?} reads device parameters: Fibreplane takes one value of this \
             setting for every device"
        ));
    }
    Ok(expr.eval(&NoDevice(0)))
}

/// Why a setting Fibreplane does not take from GenieACS's config is left out.
fn unsupported(key: &str) -> String {
    match key {
        "cwmp.gpvBatchSize" | "cwmp.gpnNextLevel" | "cwmp.skipRootGpn" => {
            "discovery picks its batches and walk per model by itself (GET /discovery/)"
        }
        "cwmp.maxCommitIterations" => {
            "not yet taken from GenieACS's config: set it in Fibreplane's configuration"
        }
        k if k.starts_with("cwmp.") => "no Fibreplane equivalent",
        _ => "not a CWMP session setting",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(key: &str, value: &str) -> (String, Vec<u8>) {
        let body = serde_json::json!({"_id": key, "value": value});
        (key.to_owned(), serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn constant_cwmp_settings_are_applied_in_their_units() {
        let mut c = AcsConfig::default();
        let r = apply(
            &mut c,
            &[
                doc("cwmp.sessionTimeout", "45"),
                doc("cwmp.connectionRequestTimeout", "2000"),
                doc("cwmp.retryDelay", "60 * 2"),
                doc("cwmp.deviceOnlineThreshold", "'6000'"),
                doc("cwmp.downloadTimeout", "600"),
            ],
        );
        assert_eq!(c.download_timeout, Duration::from_secs(600));
        assert_eq!(c.session_timeout, Duration::from_secs(45));
        assert_eq!(c.cr_timeout, Duration::from_millis(2000));
        assert_eq!(c.task_retry_base, Duration::from_secs(120));
        assert_eq!(c.device_online_threshold, Duration::from_secs(6));
        assert_eq!(r.applied.len(), 5, "{r:?}");
        assert!(r.ignored.is_empty(), "{r:?}");
    }

    #[test]
    fn authentication_expressions_are_taken_per_device_and_broken_ones_refuse() {
        let mut c = AcsConfig::default();
        let r = apply(
            &mut c,
            &[
                doc("cwmp.auth", "AUTH(DeviceID.SerialNumber, \"s3cret\")"),
                doc(
                    "cwmp.connectionRequestAuth",
                    "AUTH(username, EXT('x', 'y'))",
                ),
            ],
        );
        assert_eq!(r.applied.len(), 1, "{r:?}");
        assert_eq!(r.applied[0].0, "cwmp.auth");
        assert!(!r.applied[0].1.contains("s3cret"), "{r:?}");
        assert!(matches!(r.auth.cpe, AuthSetting::Ready(_)));
        assert_eq!(r.refusing.len(), 1, "{r:?}");
        assert!(r.refusing[0].1.contains("unknown function EXT"), "{r:?}");
        assert!(matches!(r.auth.cr, AuthSetting::Broken(_)));
        assert!(r.ignored.is_empty(), "{r:?}");
        assert!(!format!("{r:?}").contains("s3cret"));
    }

    #[test]
    fn what_cannot_be_one_value_or_has_no_equivalent_is_left_out_with_a_reason() {
        let mut c = AcsConfig::default();
        let before = c.session_timeout;
        let r = apply(
            &mut c,
            &[
                doc(
                    "cwmp.sessionTimeout",
                    "CASE WHEN DeviceID.ProductClass = 'X' THEN 60 ELSE 30 END",
                ),
                doc("cwmp.gpvBatchSize", "16"),
                doc("cwmp.retryDelay", "'soon'"),
                doc("cwmp.connectionRequestTimeout", "0"),
                doc("ui.pageSize", "10"),
                ("cwmp.debug".to_owned(), b"not json".to_vec()),
            ],
        );
        assert_eq!(c.session_timeout, before);
        assert!(r.applied.is_empty(), "{r:?}");
        let reasons: Vec<&str> = r.ignored.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "cwmp.sessionTimeout",
                "cwmp.gpvBatchSize",
                "cwmp.retryDelay",
                "cwmp.connectionRequestTimeout",
                "ui.pageSize",
                "cwmp.debug"
            ]
        );
        assert!(r.ignored[0].1.contains("reads device parameters"), "{r:?}");
    }
}
