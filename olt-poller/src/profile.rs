//! Vendor profiles: which columns to walk and how to read them, loaded from TOML data files
//! (`profiles/*.toml`), not code. The two built-in profiles are embedded; operators can load more.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::OltError;
use crate::model::{DownCause, OnuState, PonPort};
use crate::oid::Oid;

const HUAWEI: &str = include_str!("../profiles/huawei.toml");
const ZTE: &str = include_str!("../profiles/zte.toml");

/// What a column means in the domain model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Serial number.
    Serial,
    /// Operator description.
    Description,
    /// Run or phase state (mapped by the firmware's state map).
    State,
    /// Last down cause (Huawei).
    DownCause,
    /// Last up time.
    LastUpTime,
    /// Last down time.
    LastDownTime,
    /// Last dying-gasp time.
    DyingGaspTime,
    /// ONU receive level.
    Rx,
    /// ONU transmit level.
    Tx,
    /// Level received at the OLT from the ONU.
    OltRx,
}

/// How a column's raw value is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// An integer kept as is.
    Integer,
    /// An integer scaled to dBm: `raw * scale + offset`, unless it is a sentinel.
    Dbm,
    /// Text (lossy UTF-8, control characters dropped).
    String,
    /// A GPON serial (4 ASCII vendor bytes + 4 binary) or a printable serial string.
    Serial,
    /// SNMPv2-TC DateAndTime (8 or 11 bytes).
    DateAndTime,
}

/// One column of a per-ONU table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// The column's OID (the table entry's OID plus the column number).
    pub oid: Oid,
    /// How to decode it.
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// dBm per raw unit.
    #[serde(default = "one")]
    pub scale: f64,
    /// dBm added after scaling.
    #[serde(default)]
    pub offset: f64,
    /// Raw values that mean "no value" (checked before scaling).
    #[serde(default)]
    pub sentinels: Vec<i64>,
    /// Constant sub-identifiers after `<ifIndex>.<onuId>` (ZTE's ANI index `.1`).
    #[serde(default)]
    pub index_suffix: Vec<u32>,
}

fn one() -> f64 {
    1.0
}

/// A bit field of the PON ifIndex.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitField {
    /// Right shift.
    pub shift: u32,
    /// Width in bits.
    pub bits: u32,
    /// Accepted values (empty: any).
    #[serde(default)]
    pub accept: Vec<u32>,
}

impl BitField {
    fn get(&self, v: u32) -> u32 {
        let mask = if self.bits >= 32 {
            u32::MAX
        } else {
            (1 << self.bits) - 1
        };
        v.checked_shr(self.shift).unwrap_or(0) & mask
    }
}

/// How a PON ifIndex encodes frame/slot/port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexLayout {
    /// The interface-type field; values outside `accept` are not PON ports.
    pub kind: BitField,
    /// Frame (or shelf).
    pub frame: BitField,
    /// Slot.
    pub slot: BitField,
    /// Port.
    pub port: BitField,
}

impl IndexLayout {
    /// Decodes a PON ifIndex; `None` if it is not a PON port of this vendor.
    pub fn decode(&self, if_index: u32) -> Option<PonPort> {
        let kind = self.kind.get(if_index);
        if !self.kind.accept.is_empty() && !self.kind.accept.contains(&kind) {
            return None;
        }
        Some(PonPort {
            frame: self.frame.get(if_index),
            slot: self.slot.get(if_index),
            port: self.port.get(if_index),
        })
    }
}

/// What a raw state value means, as written in a profile: `online`, `registering`, `offline`
/// (cause from the down-cause column) or `offline:<cause>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateMeaning {
    /// A fixed state.
    Fixed(OnuState),
    /// Offline, cause from the down-cause column.
    OfflineFromCause,
}

impl<'de> Deserialize<'de> for StateMeaning {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_meaning(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown state {s:?}")))
    }
}

fn parse_meaning(s: &str) -> Option<StateMeaning> {
    Some(match s {
        "online" => StateMeaning::Fixed(OnuState::Online),
        "registering" => StateMeaning::Fixed(OnuState::Registering),
        "offline" => StateMeaning::OfflineFromCause,
        _ => {
            let cause = match s.strip_prefix("offline:")? {
                "los" => DownCause::Los,
                "dying_gasp" => DownCause::DyingGasp,
                "admin" => DownCause::Admin,
                "reset" => DownCause::Reset,
                "auth_failed" => DownCause::AuthFailed,
                "other" => DownCause::Other,
                "unknown" => DownCause::Unknown,
                _ => return None,
            };
            StateMeaning::Fixed(OnuState::Offline { cause })
        }
    })
}

/// The state maps, one per firmware family.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMaps {
    /// The firmware used when the OLT's configuration names none.
    pub default_firmware: String,
    /// Firmware name → raw value (as a string key) → meaning.
    pub firmware: BTreeMap<String, BTreeMap<String, StateMeaning>>,
}

/// Down-cause classes: lists of raw values per class; other values are [`DownCause::Other`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CauseMap {
    #[serde(default)]
    los: Vec<i64>,
    #[serde(default)]
    dying_gasp: Vec<i64>,
    #[serde(default)]
    admin: Vec<i64>,
    #[serde(default)]
    reset: Vec<i64>,
    #[serde(default)]
    auth_failed: Vec<i64>,
    #[serde(default)]
    unknown: Vec<i64>,
}

impl CauseMap {
    /// The class of a raw cause value.
    pub fn classify(&self, raw: i64) -> DownCause {
        let table = [
            (&self.los, DownCause::Los),
            (&self.dying_gasp, DownCause::DyingGasp),
            (&self.admin, DownCause::Admin),
            (&self.reset, DownCause::Reset),
            (&self.auth_failed, DownCause::AuthFailed),
            (&self.unknown, DownCause::Unknown),
        ];
        table
            .iter()
            .find(|(v, _)| v.contains(&raw))
            .map_or(DownCause::Other, |(_, c)| *c)
    }
}

/// A vendor profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name (`huawei`, `zte`), as used on the command line.
    pub name: String,
    /// Human description.
    pub description: String,
    /// sysObjectID prefixes that identify this vendor.
    pub sys_object_id_prefixes: Vec<Oid>,
    /// The column mapping ifIndex to the port's name (IF-MIB ifName).
    pub port_name_column: Option<Oid>,
    /// The PON ifIndex layout.
    pub index: IndexLayout,
    /// The per-ONU columns.
    pub columns: BTreeMap<Role, ColumnSpec>,
    /// State maps per firmware.
    pub state: StateMaps,
    /// Down-cause classes.
    #[serde(default)]
    pub down_causes: CauseMap,
}

impl Profile {
    /// Parses and checks a profile.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, OltError> {
        let p: Self = toml::from_str(text).map_err(|e| OltError::Profile {
            name: origin.to_owned(),
            reason: e.to_string(),
        })?;
        p.check()?;
        Ok(p)
    }

    /// Loads a profile file.
    pub fn from_file(path: &Path) -> Result<Self, OltError> {
        let text = std::fs::read_to_string(path)?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The built-in Huawei MA56xx/MA58xx profile.
    pub fn huawei() -> Self {
        Self::from_toml(HUAWEI, "huawei.toml")
            .expect("the embedded huawei.toml is checked by tests")
    }

    /// The built-in ZTE C300/C320 profile.
    pub fn zte() -> Self {
        Self::from_toml(ZTE, "zte.toml").expect("the embedded zte.toml is checked by tests")
    }

    /// The built-in profiles.
    pub fn builtin() -> Vec<Self> {
        vec![Self::huawei(), Self::zte()]
    }

    /// A built-in profile by name.
    pub fn builtin_named(name: &str) -> Result<Self, OltError> {
        Self::builtin()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| OltError::Config(format!("no built-in vendor profile {name:?}")))
    }

    /// Picks the profile whose sysObjectID prefix matches; an unknown vendor is an error that
    /// names what was seen and what is known.
    pub fn detect<'a>(
        profiles: &'a [Self],
        sys_object_id: Option<&Oid>,
    ) -> Result<&'a Self, OltError> {
        sys_object_id
            .and_then(|s| {
                profiles.iter().find(|p| {
                    p.sys_object_id_prefixes
                        .iter()
                        .any(|pre| s == pre || s.is_under(pre))
                })
            })
            .ok_or_else(|| OltError::UnknownVendor {
                sys_object_id: sys_object_id.map_or_else(|| "none".to_owned(), Oid::to_string),
                known: profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The state map of a firmware (or the default one).
    pub fn state_map(
        &self,
        firmware: Option<&str>,
    ) -> Result<&BTreeMap<String, StateMeaning>, OltError> {
        let name = firmware.unwrap_or(&self.state.default_firmware);
        self.state.firmware.get(name).ok_or_else(|| {
            OltError::Config(format!(
                "profile {} has no firmware map {name:?}",
                self.name
            ))
        })
    }

    fn check(&self) -> Result<(), OltError> {
        let bad = |reason: String| OltError::Profile {
            name: self.name.clone(),
            reason,
        };
        if !self.columns.contains_key(&Role::State) {
            return Err(bad("no state column".into()));
        }
        if !self
            .state
            .firmware
            .contains_key(&self.state.default_firmware)
        {
            return Err(bad("default_firmware names no map".into()));
        }
        for (fw, map) in &self.state.firmware {
            for key in map.keys() {
                key.parse::<i64>().map_err(|_| {
                    bad(format!(
                        "firmware {fw}: state key {key:?} is not an integer"
                    ))
                })?;
            }
            let needs_cause = map.values().any(|m| *m == StateMeaning::OfflineFromCause);
            if needs_cause && !self.columns.contains_key(&Role::DownCause) {
                return Err(bad(format!(
                    "firmware {fw} maps \"offline\" but there is no down_cause column"
                )));
            }
        }
        for (role, c) in &self.columns {
            if c.kind == ColumnType::Dbm && !(c.scale.is_finite() && c.offset.is_finite()) {
                return Err(bad(format!("{role:?}: scale and offset must be finite")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_decode_the_notes_indexes() {
        let h = Profile::huawei();
        let p = |f, s, p| {
            Some(PonPort {
                frame: f,
                slot: s,
                port: p,
            })
        };
        assert_eq!(h.index.decode(4_194_304_000), p(0, 0, 0));
        assert_eq!(h.index.decode(4_194_304_256), p(0, 0, 1));
        assert_eq!(h.index.decode(4_194_312_192), p(0, 1, 0));
        assert_eq!(h.index.decode(4_194_312_960), p(0, 1, 3));
        assert_eq!(h.index.decode(4_194_321_664), p(0, 2, 5));
        // An Ethernet-style ifIndex is not a PON port.
        assert_eq!(h.index.decode(6), None);
        let z = Profile::zte();
        assert_eq!(z.index.decode(268_501_248), p(0, 1, 1));
        assert_eq!(z.index.decode(0x1002_0300), p(0, 2, 3));
        assert_eq!(z.index.decode(0x2001_0100), None);
    }

    #[test]
    fn cause_classes() {
        let h = Profile::huawei();
        assert_eq!(h.down_causes.classify(2), DownCause::Los);
        assert_eq!(h.down_causes.classify(13), DownCause::DyingGasp);
        assert_eq!(h.down_causes.classify(32), DownCause::Reset);
        assert_eq!(h.down_causes.classify(8), DownCause::Admin);
        assert_eq!(h.down_causes.classify(-1), DownCause::Unknown);
        assert_eq!(h.down_causes.classify(37), DownCause::Other);
    }

    #[test]
    fn detects_vendor_or_says_which_are_known() {
        let all = Profile::builtin();
        let hw: Oid = "1.3.6.1.4.1.2011.2.248".parse().unwrap();
        assert_eq!(Profile::detect(&all, Some(&hw)).unwrap().name, "huawei");
        let zte: Oid = "1.3.6.1.4.1.3902.1082.1001.320".parse().unwrap();
        assert_eq!(Profile::detect(&all, Some(&zte)).unwrap().name, "zte");
        let nokia: Oid = "1.3.6.1.4.1.637.61.1".parse().unwrap();
        let e = Profile::detect(&all, Some(&nokia)).unwrap_err().to_string();
        assert!(
            e.contains("1.3.6.1.4.1.637.61.1") && e.contains("huawei, zte"),
            "{e}"
        );
        assert!(Profile::detect(&all, None).is_err());
    }

    #[test]
    fn bad_profiles_are_refused_with_reasons() {
        let good = HUAWEI;
        // "offline" takes its cause from a column: a profile without one is refused.
        let a = good.find("[columns.down_cause]").unwrap();
        let b = good.find("[columns.dying_gasp_time]").unwrap();
        let no_cause = format!("{}{}", &good[..a], &good[b..]);
        let e = Profile::from_toml(&no_cause, "t").unwrap_err().to_string();
        assert!(e.contains("no down_cause column"), "{e}");
        let bad_state = good.replace("\"1\" = \"online\"", "\"1\" = \"sleeping\"");
        let e = Profile::from_toml(&bad_state, "t").unwrap_err().to_string();
        assert!(e.contains("sleeping"), "{e}");
        let bad_fw = good.replace("default_firmware = \"any\"", "default_firmware = \"v9\"");
        assert!(Profile::from_toml(&bad_fw, "t").is_err());
        assert!(Profile::from_toml("name = 1", "t").is_err());
    }

    #[test]
    fn zte_firmware_maps_differ() {
        let z = Profile::zte();
        let v2 = z.state_map(None).unwrap();
        let mib = z.state_map(Some("mib")).unwrap();
        assert_eq!(v2["4"], StateMeaning::Fixed(OnuState::Online));
        assert_eq!(mib["3"], StateMeaning::Fixed(OnuState::Online));
        assert!(z.state_map(Some("nope")).is_err());
    }
}
