//! Domain types: what a Service Equipment record means once parsed. Wire shapes (Frappe JSON)
//! live in `erp::wire` and are turned into these by [`Equipment::from_row`], which is where
//! "parse, don't validate" happens: a record that cannot identify a device never gets here.

use crate::error::ProvisionError;
use acs::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// An ERPNext Service Equipment name, `EQP-#####`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EquipmentName(String);

impl EquipmentName {
    /// Parses `EQP-` followed by at least five digits (Frappe's naming series `EQP-.#####`).
    pub fn parse(s: &str) -> Result<Self, ProvisionError> {
        let digits = s.strip_prefix("EQP-").unwrap_or("");
        if digits.len() >= 5 && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ProvisionError::BadRecord(format!(
                "equipment name {:?} is not EQP-#####",
                truncate(s)
            )))
        }
    }

    /// The name as ERPNext spells it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EquipmentName {
    type Error = ProvisionError;
    fn try_from(s: String) -> Result<Self, ProvisionError> {
        Self::parse(&s)
    }
}

impl From<EquipmentName> for String {
    fn from(n: EquipmentName) -> Self {
        n.0
    }
}

impl fmt::Display for EquipmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A device serial number in its canonical form: trimmed, upper case, inner separators removed,
/// and a GPON serial written in hex (`54504C4712345678`) turned into its printable form
/// (`TPLG12345678`), so that whatever the technician scanned compares equal to what the CPE or
/// the OLT reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Serial(String);

impl Serial {
    /// Normalises a scanned or reported serial; `None` when nothing identifying is left.
    pub fn normalize(raw: &str) -> Option<Self> {
        let s: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | ':' | '_'))
            .collect::<String>()
            .to_ascii_uppercase();
        if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        // A GPON serial is a four-letter vendor id and eight hex digits; scanners often print the
        // vendor id as hex too (16 hex digits whose first four bytes are letters).
        if s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            let vendor: Option<String> = (0..4)
                .map(|i| u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).ok())
                .map(|b| b.filter(u8::is_ascii_uppercase).map(char::from))
                .collect();
            if let Some(v) = vendor {
                return Some(Self(format!("{v}{}", &s[8..])));
            }
        }
        Some(Self(s))
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A MAC address in the ACS's canonical form `AA:BB:CC:DD:EE:FF` (the one its MAC index uses).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Mac(String);

impl Mac {
    /// Normalises `aa:bb:…`, `AA-BB-…`, `aabbcc…` or `aabb.ccdd.eeff` (see
    /// `acs::store::normalize_mac`: the same rule as the ACS, so both sides agree).
    pub fn normalize(raw: &str) -> Option<Self> {
        acs::store::normalize_mac(raw).map(Self)
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of equipment a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EquipmentKind {
    /// A GPON ONT (the XX230v is one, with a router inside).
    Ont,
    /// A separate router.
    Router,
    /// A TV set-top box.
    TvBox,
}

impl EquipmentKind {
    /// Parses ERPNext's `equipment_type` select values.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ont" => Some(Self::Ont),
            "router" => Some(Self::Router),
            "tv box" | "tvbox" | "stb" => Some(Self::TvBox),
            _ => None,
        }
    }
}

/// A customer's WiFi settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wifi {
    /// The network name, the same on both radios.
    pub ssid: String,
    /// The WPA passphrase.
    pub passphrase: Secret,
}

/// A customer's SIP account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sip {
    /// The SIP user (auth user name).
    pub username: String,
    /// The SIP password.
    pub password: Secret,
    /// The registrar (host or host:port); empty when the network default applies.
    pub registrar: String,
}

/// One Service Equipment record, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Equipment {
    /// `EQP-#####`.
    pub name: EquipmentName,
    /// The scanned serial, normalised.
    pub serial: Option<Serial>,
    /// The scanned MAC, normalised.
    pub mac: Option<Mac>,
    /// ONT, router or TV box.
    pub kind: Option<EquipmentKind>,
    /// ERPNext's status of the equipment (`Installed`, `In Stock`, `Returned`, …).
    pub status: String,
    /// `LOC-#####`.
    pub location: String,
    /// The customer.
    pub customer: String,
    /// WiFi settings, when the record has them.
    pub wifi: Option<Wifi>,
    /// SIP account, when the record has one.
    pub sip: Option<Sip>,
    /// Frappe's `modified` timestamp (`YYYY-MM-DD HH:MM:SS.ffffff`, the server's time).
    pub modified: String,
}

impl Equipment {
    /// Whether this record may be matched to a device at all: equipment that went back to
    /// stock or was written off must not pull a device onto a customer's settings.
    pub fn is_active(&self) -> bool {
        !matches!(
            self.status.trim().to_ascii_lowercase().as_str(),
            "returned" | "in stock" | "disposed" | "faulty" | "cancelled"
        )
    }

    /// A digest of everything the provisioner pushes (settings and identity), so a record whose
    /// `modified` changed for another reason (our own write-back) is recognised as unchanged.
    /// Salted with the name so equal passwords of two customers do not give equal digests.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        put(self.name.as_str());
        put(self.serial.as_ref().map_or("", Serial::as_str));
        put(self.mac.as_ref().map_or("", Mac::as_str));
        put(&self.status);
        if let Some(w) = &self.wifi {
            put(&w.ssid);
            put(w.passphrase.expose());
        }
        if let Some(s) = &self.sip {
            put(&s.username);
            put(s.password.expose());
            put(&s.registrar);
        }
        hex::encode(&h.finalize()[..8])
    }

    /// Every secret value of the record, for scrubbing text that came back from a device.
    pub fn secrets(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if let Some(w) = &self.wifi {
            out.push(w.passphrase.expose());
        }
        if let Some(s) = &self.sip {
            out.push(s.password.expose());
        }
        out.retain(|s| !s.is_empty());
        out
    }
}

/// Replaces every occurrence of a secret in `text` by `***` (CPE fault strings sometimes quote
/// the value they refused).
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s, "***");
        }
    }
    out
}

/// At most 64 characters of peer text, for error messages.
pub(crate) fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_normalise_scanned_forms() {
        let want = Serial::normalize("FPSIM00000001");
        assert_eq!(Serial::normalize(" fpsim00000001\n"), want);
        assert_eq!(Serial::normalize("FPSIM-0000-0001"), want);
        assert_eq!(
            Serial::normalize("54504C4712345678").unwrap().as_str(),
            "TPLG12345678"
        );
        assert_eq!(
            Serial::normalize("tplg12345678").unwrap().as_str(),
            "TPLG12345678"
        );
        // Sixteen hex digits that are not a vendor id stay as they are.
        assert_eq!(
            Serial::normalize("0011223344556677").unwrap().as_str(),
            "0011223344556677"
        );
        assert_eq!(Serial::normalize("  "), None);
        assert_eq!(Serial::normalize("a/b"), None);
    }

    #[test]
    fn names_are_eqp_series() {
        assert!(EquipmentName::parse("EQP-00001").is_ok());
        assert!(EquipmentName::parse("EQP-1").is_err());
        assert!(EquipmentName::parse("LOC-00001").is_err());
        assert!(EquipmentName::parse("EQP-0000x").is_err());
    }

    #[test]
    fn scrub_hides_secrets() {
        assert_eq!(scrub("bad value hunter2!", &["hunter2"]), "bad value ***!");
    }
}
