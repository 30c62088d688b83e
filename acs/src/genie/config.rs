//! GenieACS's `config` collection: the `cwmp.*` settings of an installation being moved.
//!
//! GenieACS keeps its settings as documents `{"_id": "cwmp.sessionTimeout", "value": "30"}`
//! whose value is an expression in its expression language, evaluated per device. `fibreplane
//! import genieacs --config` stores them (collection [`COLLECTION`]) and the ACS applies, when it
//! opens, those that matter to sessions: the authentication expressions `cwmp.auth` and
//! `cwmp.connectionRequestAuth`, evaluated per device ([`crate::genie::auth`]), and the settings
//! below. `cwmp.sessionTimeout` may read what a session's first request shows (`DeviceID.*`,
//! `Tags.*`, `Events.*`) and `cwmp.connectionRequestTimeout` the stored device: both are then
//! evaluated per device ([`PerDevice`]). The other timing settings are read by code that takes
//! one value for every device (the session's retry policy, the task sweep, the NBI's wait), so
//! an expression of theirs that reads device parameters is reported and left out, as is any
//! setting Fibreplane does not have (each with the reason, in the log at start-up).
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
use crate::genie::auth::{self, AuthSetting, AuthSettings, CPE_AUTH, CR_AUTH};
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
    /// The timing settings evaluated per device.
    pub per_device: PerDevice,
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
        let expr = match setting(body) {
            Ok(e) => e,
            Err(why) => {
                report.ignored.push((key.to_owned(), why));
                continue;
            }
        };
        if !expr.params().is_empty() {
            // Two timing settings are taken where the device is at hand; the others are read
            // by code that holds one value for every device.
            let per_device = match key {
                "cwmp.sessionTimeout" if !auth::reads_tree(&expr) => {
                    Ok(&mut report.per_device.session_timeout)
                }
                "cwmp.sessionTimeout" => Err(
                    "reads stored parameters: a session's timeout is set from its Inform, before \
                     any of its tree is read (DeviceID.*, Tags.* and Events.* can be read)",
                ),
                "cwmp.connectionRequestTimeout" => Ok(&mut report.per_device.cr_timeout),
                _ => Err(
                    "reads device parameters: Fibreplane takes one value of this setting for \
                     every device",
                ),
            };
            match per_device {
                Ok(slot) => {
                    *slot = Some(expr);
                    report
                        .applied
                        .push((key.to_owned(), "evaluated per device".to_owned()));
                }
                Err(why) => report.ignored.push((key.to_owned(), why.to_owned())),
            }
            continue;
        }
        match millis(&expr.eval(&NoDevice(0)), ms_per_unit) {
            Ok(ms) => {
                *slot = Duration::from_millis(ms);
                report
                    .applied
                    .push((key.to_owned(), format!("{}", ms as f64 / ms_per_unit)));
            }
            Err(why) => report.ignored.push((key.to_owned(), why)),
        }
    }
    report
}

/// A setting's value in `ms_per_unit`s as milliseconds, or why it is not a time.
fn millis(value: &Val, ms_per_unit: f64) -> Result<u64, String> {
    let n = match value {
        Val::Num(n) if n.is_finite() && *n >= 0.0 => *n,
        Val::Str(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("{s:?} is not a number"))?,
        other => return Err(format!("{other:?} is not a non-negative number")),
    };
    if n * ms_per_unit < 1.0 {
        return Err(format!("{n} is too small to be a time"));
    }
    Ok((n * ms_per_unit) as u64)
}

/// The timing settings whose expressions read the device, evaluated per device.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PerDevice {
    /// `cwmp.sessionTimeout` (s), over what a session's first request shows.
    pub session_timeout: Option<Expr>,
    /// `cwmp.connectionRequestTimeout` (ms), over the device as stored.
    pub cr_timeout: Option<Expr>,
}

impl PerDevice {
    /// The session timeout for `device`, or `default` when there is no per-device expression
    /// or it gives no time for this device.
    pub fn session_timeout(&self, device: &auth::Device<'_>, default: Duration) -> Duration {
        Self::time(self.session_timeout.as_ref(), device, 1000.0, default)
    }

    /// The connection-request timeout for `device`, or `default`.
    pub fn cr_timeout(&self, device: &auth::Device<'_>, default: Duration) -> Duration {
        Self::time(self.cr_timeout.as_ref(), device, 1.0, default)
    }

    fn time(
        expr: Option<&Expr>,
        device: &auth::Device<'_>,
        ms_per_unit: f64,
        default: Duration,
    ) -> Duration {
        let Some(expr) = expr else { return default };
        match millis(&auth::evaluate(expr, device).0, ms_per_unit) {
            Ok(ms) => Duration::from_millis(ms),
            Err(why) => {
                tracing::debug!(
                    device = device.id,
                    why,
                    "per-device setting gives no time: the default is used"
                );
                default
            }
        }
    }
}

/// The expression of a setting document, or why it has none.
fn setting(body: &[u8]) -> Result<Expr, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON document: {e}"))?;
    let src = match doc.get("value") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => return Err("no value".to_owned()),
    };
    Expr::parse(&src).map_err(|e| format!("expression {src:?}: {}", e.0))
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
                    "CASE WHEN Device.DeviceInfo.ModelName = 'X' THEN 60 ELSE 30 END",
                ),
                doc("cwmp.downloadTimeout", "COALESCE(Tags.slow, 0) * 600 + 600"),
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
                "cwmp.downloadTimeout",
                "cwmp.gpvBatchSize",
                "cwmp.retryDelay",
                "cwmp.connectionRequestTimeout",
                "ui.pageSize",
                "cwmp.debug"
            ]
        );
        assert!(r.ignored[0].1.contains("reads stored parameters"), "{r:?}");
        assert!(r.ignored[1].1.contains("reads device parameters"), "{r:?}");
    }

    #[test]
    fn session_and_connection_request_timeouts_may_differ_per_device() {
        let mut c = AcsConfig::default();
        let r = apply(
            &mut c,
            &[
                doc(
                    "cwmp.sessionTimeout",
                    "CASE WHEN DeviceID.ProductClass = 'Slow' OR Tags.far = TRUE THEN 90 END",
                ),
                doc(
                    "cwmp.connectionRequestTimeout",
                    "COALESCE(Device.X_Latency, 1) * 3000",
                ),
            ],
        );
        assert!(r.ignored.is_empty(), "{r:?}");
        assert_eq!(r.applied.len(), 2, "{r:?}");
        let identity = |class: &str| cwmp::DeviceIdStruct {
            manufacturer: "M".into(),
            oui: "1C61B4".into(),
            product_class: class.into(),
            serial_number: "S1".into(),
        };
        let slow = identity("Slow");
        let other = identity("Fast");
        let at = |id: &cwmp::DeviceIdStruct| {
            let d = auth::Device::informing("x", id, None, &[], None, 0);
            r.per_device.session_timeout(&d, c.session_timeout)
        };
        assert_eq!(at(&slow), Duration::from_secs(90));
        // NULL for this device: the configured value.
        assert_eq!(at(&other), c.session_timeout);
        let meta = acs_store::DeviceMeta::new(
            acs_store::DeviceId::parse("1C61B4-Fast-S1").unwrap(),
            acs_store::Identity::default(),
        );
        let mut tree = acs_store::ParamTree::default();
        let d = auth::Device::stored(&meta, Some(&tree), 0);
        assert_eq!(
            r.per_device.cr_timeout(&d, c.cr_timeout),
            Duration::from_secs(3)
        );
        tree.insert(
            "Device.X_Latency",
            acs_store::Param::leaf(Some(acs_store::Value::UnsignedInt(2)), Some(false), 0),
        );
        let d = auth::Device::stored(&meta, Some(&tree), 0);
        assert_eq!(
            r.per_device.cr_timeout(&d, c.cr_timeout),
            Duration::from_secs(6)
        );
    }
}
