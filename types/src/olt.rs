//! The OLT model the poller publishes and the hub and the outage correlator consume: OLTs, PON
//! ports, ONUs, their states and optical levels, whole-poll snapshots and the events diffed from
//! them. Pure data: the SNMP wire types (varbinds, raw integers) stop in the poller's decoder, so
//! a consumer of these types links no SNMP code.

use std::fmt;

use serde::{Deserialize, Serialize};

mod event;

pub use event::{EventKind, OpticalLevel, PollerEvent};

/// An OLT's name in the configuration (unique in a fleet).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OltId(String);

impl OltId {
    /// Longest name accepted, in bytes (the optical history stores the length in one byte).
    pub const MAX_LEN: usize = 128;

    /// Wraps a name; refuses empty names and names with control characters (they key the store).
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidOltId> {
        let name = name.into();
        if name.is_empty() || name.len() > Self::MAX_LEN || name.chars().any(char::is_control) {
            return Err(InvalidOltId(name.chars().take(Self::MAX_LEN + 1).collect()));
        }
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OltId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A name that cannot be an [`OltId`] (empty, longer than 128 bytes, or with control
/// characters); holds the start of the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidOltId(pub String);

impl fmt::Display for InvalidOltId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad OLT id {:?}", self.0)
    }
}

impl std::error::Error for InvalidOltId {}

/// A PON port's physical position, decoded from its ifIndex (`frame/slot/port`; ZTE's shelf is
/// the frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PonPort {
    /// Frame (Huawei) or shelf (ZTE).
    pub frame: u32,
    /// Slot (board).
    pub slot: u32,
    /// Port on the board.
    pub port: u32,
}

impl fmt::Display for PonPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.frame, self.slot, self.port)
    }
}

/// Identifies one ONU on one OLT: the PON port's ifIndex and the ONU id on that port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OnuKey {
    /// The PON port's ifIndex (u32: Huawei's exceed 2^31).
    pub if_index: u32,
    /// The ONU id on the port.
    pub onu_id: u32,
}

/// An optical power level in dBm.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Dbm(pub f64);

impl Dbm {
    /// Rounds to 0.001 dB, the finest step any profile reports, so sums of float scaling do not
    /// print as 12.340000000000002.
    pub fn rounded(v: f64) -> Self {
        Self((v * 1000.0).round() / 1000.0)
    }
}

/// Why an ONU is offline, as the correlator classes it (see the note's cause table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DownCause {
    /// Loss of signal / frame family: the fibre.
    Los,
    /// The ONU announced a power loss.
    DyingGasp,
    /// Deactivated or shut down by an operator or the OLT.
    Admin,
    /// Reset (by command, button or software).
    Reset,
    /// Authentication or registration failed.
    AuthFailed,
    /// A cause the OLT reported that fits none of the above.
    Other,
    /// The OLT did not say.
    Unknown,
}

/// An ONU's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OnuState {
    /// Ranged and working.
    Online,
    /// Registering or synchronising (neither up nor down).
    Registering,
    /// Down, with the OLT's reason.
    Offline {
        /// Why.
        cause: DownCause,
    },
    /// The state column had no usable value for this ONU.
    Unknown,
}

impl OnuState {
    /// Whether the ONU is offline.
    pub fn is_offline(&self) -> bool {
        matches!(self, Self::Offline { .. })
    }
}

/// A timestamp as the OLT reports it (SNMPv2-TC DateAndTime), ISO 8601, with the OLT's zone
/// offset when it sends one. The OLT's clock, not ours: the correlator clusters on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OltTime(pub String);

/// A PON port as polled: position, ifIndex and the OLT's name for it (`ifName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PonPortInfo {
    /// The ifIndex.
    pub if_index: u32,
    /// The decoded position.
    pub port: PonPort,
    /// IF-MIB ifName (e.g. `GPON 0/1/3`), when the OLT has one.
    pub name: Option<String>,
}

/// One ONU as polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onu {
    /// Its key on the OLT.
    pub key: OnuKey,
    /// Its PON port.
    pub port: PonPort,
    /// The port's ifName.
    pub port_name: Option<String>,
    /// Serial number: `TPLG1A2B3C4D` for 8-byte GPON serials, else the printable string.
    pub serial: Option<String>,
    /// The operator's description.
    pub description: Option<String>,
    /// State (with the down cause when offline).
    #[serde(flatten)]
    pub state: OnuState,
    /// The raw state value, for firmware-mapping checks.
    pub raw_state: Option<i64>,
    /// The raw down-cause value (Huawei), when the profile has one.
    pub raw_cause: Option<i64>,
    /// ONU receive level (downstream, 1490 nm).
    pub rx_dbm: Option<Dbm>,
    /// ONU transmit level (upstream, 1310 nm).
    pub tx_dbm: Option<Dbm>,
    /// Level of the ONU's signal received at the OLT.
    pub olt_rx_dbm: Option<Dbm>,
    /// When the ONU last went down (OLT clock).
    pub last_down_time: Option<OltTime>,
    /// When it last came up (OLT clock).
    pub last_up_time: Option<OltTime>,
    /// When it last sent a dying gasp (OLT clock).
    pub dying_gasp_time: Option<OltTime>,
}

impl Onu {
    /// The OLT's time of the last state change: the last down time for an offline ONU, the last
    /// up time for an online one.
    pub fn last_change(&self) -> Option<&OltTime> {
        if self.state.is_offline() {
            self.last_down_time.as_ref()
        } else {
            self.last_up_time.as_ref()
        }
    }
}

/// Counters of one poll, for logs and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollStats {
    /// Requests sent (including retries).
    pub requests: u64,
    /// Requests that timed out.
    pub timeouts: u64,
    /// Replies discarded as stale, duplicated or unparsable.
    pub discarded: u64,
    /// tooBig answers and oversized responses that made the walker back off.
    pub backoffs: u64,
    /// Varbinds received.
    pub varbinds: u64,
    /// Max-repetitions at the end of the walk.
    pub max_repetitions: u32,
    /// Wall time of the whole poll, milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
}

/// Everything one poll of one OLT returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OltSnapshot {
    /// The OLT.
    pub olt: OltId,
    /// The vendor profile used.
    pub vendor: String,
    /// The OLT's sysObjectID.
    pub sys_object_id: Option<String>,
    /// When the poll finished (Unix milliseconds, our clock).
    pub polled_at_ms: u64,
    /// PON ports seen (from ifName and the ONU tables).
    pub ports: Vec<PonPortInfo>,
    /// ONUs, ordered by key.
    pub onus: Vec<Onu>,
    /// Poll counters.
    pub stats: PollStats,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn olt_ids_refuse_what_cannot_key_the_store() {
        assert_eq!(OltId::new("olt-01").unwrap().as_str(), "olt-01");
        assert!(OltId::new("").is_err());
        assert!(OltId::new("a\nb").is_err());
        assert!(OltId::new("x".repeat(128)).is_ok());
        let e = OltId::new("x".repeat(500)).unwrap_err();
        assert_eq!(e.0.len(), 129);
        assert!(e.to_string().starts_with("bad OLT id \"xxx"));
    }

    #[test]
    fn events_serialise_flat() {
        let ev = PollerEvent {
            olt: OltId::new("olt1").unwrap(),
            onu: Some(OnuKey {
                if_index: 4_194_304_000,
                onu_id: 3,
            }),
            port: Some(PonPort {
                frame: 0,
                slot: 1,
                port: 2,
            }),
            serial: None,
            kind: EventKind::OnuOffline {
                cause: DownCause::DyingGasp,
                at: None,
            },
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["event"], "onu_offline");
        assert_eq!(json["cause"], "dying_gasp");
        assert_eq!(json["olt"], "olt1");
        assert_eq!(
            PonPort {
                frame: 0,
                slot: 1,
                port: 2
            }
            .to_string(),
            "0/1/2"
        );
        assert_eq!(Dbm::rounded(-12.340_000_000_000_002), Dbm(-12.34));
    }
}
