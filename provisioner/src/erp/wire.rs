//! Frappe's REST wire format for `Service Equipment`, kept apart from the domain types.
//!
//! Frappe answers `{"data": [...]}` for listings and `{"data": {...}}` for one document; errors
//! carry `exc_type`, `exception` and `_server_messages` (a JSON string holding a list of JSON
//! strings). Listings take `fields`, `filters` (a JSON list of `[field, op, value]`), `order_by`,
//! `limit_start` and `limit_page_length`. Everything here is pure: bytes in, values out, with
//! the body size, row count and field length bounded before or while parsing.

use crate::error::ProvisionError;
use crate::model::{Equipment, EquipmentKind, EquipmentName, Mac, Serial, Sip, Wifi, truncate};
use acs::Secret;
use serde_json::{Map, Value as Json, json};

/// The DocType, as it appears in URLs (percent-encoded there).
pub const DOCTYPE: &str = "Service Equipment";

/// The fields the provisioner reads.
pub const FIELDS: &[&str] = &[
    "name",
    "serial_no",
    "mac_address",
    "equipment_type",
    "status",
    "service_location",
    "customer",
    "custom_wifi_ssid",
    "custom_wifi_password",
    "custom_sip_username",
    "custom_sip_password",
    "custom_sip_registrar",
    "modified",
];

/// The field the outcome is written to (`provisioned` or `failed: <reason>`).
pub const STATUS_FIELD: &str = "custom_provisioning_status";
/// The field the outcome's time is written to (Frappe `Datetime`).
pub const TIME_FIELD: &str = "custom_provisioned_on";

/// Bounds on what a response may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest body read.
    pub max_body: usize,
    /// Most rows in one listing page.
    pub max_rows: usize,
    /// Longest field value kept; longer values make the row unusable.
    pub max_field: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 16 << 20,
            max_rows: 10_000,
            max_field: 1024,
        }
    }
}

/// One row of a listing, as Frappe sent it: field name → text (numbers and booleans become
/// their JSON text, `null` and missing fields are absent). Its `Debug` shows field names only:
/// rows carry customers' passwords.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Row(pub Vec<(String, String)>);

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Row {
    /// The field's text, if present.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    }

    fn from_object(obj: &Map<String, Json>, limits: &Limits) -> Result<Self, ProvisionError> {
        let mut out = Vec::with_capacity(obj.len().min(FIELDS.len()));
        for (k, v) in obj {
            let text = match v {
                Json::Null => continue,
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Bool(b) => b.to_string(),
                // Child tables and the like: not fields we read.
                Json::Array(_) | Json::Object(_) => continue,
            };
            if text.len() > limits.max_field {
                return Err(ProvisionError::BadResponse(format!(
                    "field {} longer than {} bytes",
                    truncate(k),
                    limits.max_field
                )));
            }
            out.push((k.clone(), text));
        }
        Ok(Self(out))
    }
}

fn body_json(bytes: &[u8], limits: &Limits) -> Result<Json, ProvisionError> {
    if bytes.len() > limits.max_body {
        return Err(ProvisionError::BadResponse(format!(
            "body of {} bytes exceeds {}",
            bytes.len(),
            limits.max_body
        )));
    }
    // serde_json refuses nesting deeper than 128 levels, so depth is bounded too.
    serde_json::from_slice(bytes).map_err(|e| ProvisionError::BadResponse(e.to_string()))
}

/// Parses a listing (`{"data": [ {...}, ... ]}`). A row with an over-long field is an error for
/// the whole page: a truncated page could hide a record and so a conflict.
pub fn parse_list(bytes: &[u8], limits: &Limits) -> Result<Vec<Row>, ProvisionError> {
    let json = body_json(bytes, limits)?;
    let Some(Json::Array(rows)) = json.get("data") else {
        return Err(ProvisionError::BadResponse(
            "listing without a data list".into(),
        ));
    };
    if rows.len() > limits.max_rows {
        return Err(ProvisionError::BadResponse(format!(
            "{} rows exceed {}",
            rows.len(),
            limits.max_rows
        )));
    }
    rows.iter()
        .map(|r| match r {
            Json::Object(o) => Row::from_object(o, limits),
            _ => Err(ProvisionError::BadResponse("row is not an object".into())),
        })
        .collect()
}

/// Parses one document (`{"data": {...}}`).
pub fn parse_doc(bytes: &[u8], limits: &Limits) -> Result<Row, ProvisionError> {
    match body_json(bytes, limits)?.get("data") {
        Some(Json::Object(o)) => Row::from_object(o, limits),
        _ => Err(ProvisionError::BadResponse(
            "document without a data object".into(),
        )),
    }
}

/// Frappe's error body, reduced to what we log: the exception type and the first message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// `exc_type` (`DoesNotExistError`, `AuthenticationError`, `PermissionError`, …).
    pub exc_type: String,
    /// The first of `_server_messages`, or `exception`.
    pub message: String,
}

/// Reads an error body; anything unparseable gives an empty [`ErrorBody`].
pub fn parse_error(bytes: &[u8]) -> ErrorBody {
    let limits = Limits {
        max_body: 1 << 20,
        ..Limits::default()
    };
    let Ok(json) = body_json(bytes, &limits) else {
        return ErrorBody::default();
    };
    let text = |k: &str| json.get(k).and_then(Json::as_str).unwrap_or("").to_owned();
    // `_server_messages` is a JSON-encoded list of JSON-encoded objects with a `message`.
    let first_message = serde_json::from_str::<Vec<String>>(&text("_server_messages"))
        .ok()
        .and_then(|l| l.into_iter().next())
        .and_then(|m| serde_json::from_str::<Json>(&m).ok())
        .and_then(|m| m.get("message").and_then(Json::as_str).map(str::to_owned));
    ErrorBody {
        exc_type: text("exc_type"),
        message: truncate(&first_message.unwrap_or_else(|| text("exception"))),
    }
}

/// A `filters` query value: `[[field, op, value], ...]`.
pub fn filters(conditions: &[(&str, &str, Json)]) -> String {
    Json::Array(
        conditions
            .iter()
            .map(|(f, op, v)| json!([f, op, v]))
            .collect(),
    )
    .to_string()
}

/// The `fields` query value for [`FIELDS`].
pub fn fields() -> String {
    json!(FIELDS).to_string()
}

/// The body of the write-back `PUT`.
pub fn outcome_body(status: &str, at: &str) -> Vec<u8> {
    let mut m = Map::new();
    m.insert(STATUS_FIELD.into(), Json::String(status.to_owned()));
    m.insert(TIME_FIELD.into(), Json::String(at.to_owned()));
    Json::Object(m).to_string().into_bytes()
}

/// Frappe's `Datetime` text (`YYYY-MM-DD HH:MM:SS.ffffff`) for milliseconds since the epoch, UTC.
pub fn datetime(ms: i64) -> String {
    let iso = acs::genie::date::iso(ms);
    // `2026-11-25T10:00:00.123Z` → `2026-11-25 10:00:00.123000`.
    format!("{}000", iso.trim_end_matches('Z').replacen('T', " ", 1))
}

fn non_empty(row: &Row, field: &str) -> Option<String> {
    row.get(field)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Equipment {
    /// Turns a row into a record; a row that could never match a device (no name, or neither
    /// serial nor MAC) is an error, and so is a half-filled secret (an SSID without passphrase).
    pub fn from_row(row: &Row) -> Result<Self, ProvisionError> {
        let name = EquipmentName::parse(row.get("name").unwrap_or(""))?;
        let serial = row.get("serial_no").and_then(Serial::normalize);
        let mac = row.get("mac_address").and_then(Mac::normalize);
        if serial.is_none() && mac.is_none() {
            return Err(ProvisionError::BadRecord(format!(
                "{name} has neither a usable serial nor a usable MAC"
            )));
        }
        let wifi = match (
            non_empty(row, "custom_wifi_ssid"),
            row.get("custom_wifi_password").filter(|p| !p.is_empty()),
        ) {
            (Some(ssid), Some(pw)) => Some(Wifi {
                ssid,
                passphrase: Secret::new(pw),
            }),
            (None, None) => None,
            _ => {
                return Err(ProvisionError::BadRecord(format!(
                    "{name} has a WiFi SSID or passphrase without the other"
                )));
            }
        };
        let sip = match (
            non_empty(row, "custom_sip_username"),
            row.get("custom_sip_password").filter(|p| !p.is_empty()),
        ) {
            (Some(username), Some(pw)) => Some(Sip {
                username,
                password: Secret::new(pw),
                registrar: non_empty(row, "custom_sip_registrar").unwrap_or_default(),
            }),
            (None, None) => None,
            _ => {
                return Err(ProvisionError::BadRecord(format!(
                    "{name} has a SIP user or password without the other"
                )));
            }
        };
        Ok(Self {
            name,
            serial,
            mac,
            kind: row.get("equipment_type").and_then(EquipmentKind::parse),
            status: row.get("status").unwrap_or("").to_owned(),
            location: row.get("service_location").unwrap_or("").to_owned(),
            customer: row.get("customer").unwrap_or("").to_owned(),
            wifi,
            sip,
            modified: row.get("modified").unwrap_or("").to_owned(),
        })
    }

    /// The record as a row again (for the provisioner's own durable copy).
    pub fn to_row(&self) -> Row {
        let mut r = vec![("name".to_owned(), self.name.to_string())];
        let mut put = |k: &str, v: &str| {
            if !v.is_empty() {
                r.push((k.to_owned(), v.to_owned()));
            }
        };
        put("serial_no", self.serial.as_ref().map_or("", Serial::as_str));
        put("mac_address", self.mac.as_ref().map_or("", Mac::as_str));
        put(
            "equipment_type",
            match self.kind {
                Some(EquipmentKind::Ont) => "ONT",
                Some(EquipmentKind::Router) => "Router",
                Some(EquipmentKind::TvBox) => "TV Box",
                None => "",
            },
        );
        put("status", &self.status);
        put("service_location", &self.location);
        put("customer", &self.customer);
        if let Some(w) = &self.wifi {
            put("custom_wifi_ssid", &w.ssid);
            put("custom_wifi_password", w.passphrase.expose());
        }
        if let Some(s) = &self.sip {
            put("custom_sip_username", &s.username);
            put("custom_sip_password", s.password.expose());
            put("custom_sip_registrar", &s.registrar);
        }
        put("modified", &self.modified);
        Row(r)
    }
}

impl Row {
    /// The row as a JSON object.
    pub fn to_json(&self) -> Json {
        Json::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frappe_error_bodies_give_type_and_message() {
        let body = br#"{"exc_type":"DoesNotExistError","exception":"frappe.exceptions.DoesNotExistError: x","_server_messages":"[\"{\\\"message\\\": \\\"Service Equipment EQP-09999 not found\\\"}\"]"}"#;
        let e = parse_error(body);
        assert_eq!(e.exc_type, "DoesNotExistError");
        assert_eq!(e.message, "Service Equipment EQP-09999 not found");
        assert_eq!(parse_error(b"<html>"), ErrorBody::default());
    }

    #[test]
    fn datetimes_are_frappe_shaped() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00.000000");
        assert_eq!(datetime(1_500), "1970-01-01 00:00:01.500000");
    }

    #[test]
    fn filters_are_json_lists() {
        assert_eq!(
            filters(&[("modified", ">=", json!("2026-01-01 00:00:00"))]),
            r#"[["modified",">=","2026-01-01 00:00:00"]]"#
        );
    }
}
