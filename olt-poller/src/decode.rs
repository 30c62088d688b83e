//! Varbinds → domain rows, sans-IO: value scaling, sentinels, DateAndTime, serials, state maps
//! and the ifIndex → frame/slot/port decoding.

use std::collections::BTreeMap;

use crate::model::{Dbm, OltTime, Onu, OnuKey, OnuState, PonPortInfo};
use crate::oid::Oid;
use crate::profile::{ColumnSpec, ColumnType, Profile, Role, StateMeaning};
use crate::value::{SnmpValue, VarBind};

/// A decoded cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer.
    Int(i64),
    /// A level in dBm.
    Dbm(Dbm),
    /// Text.
    Text(String),
    /// A timestamp.
    Time(OltTime),
    /// The agent's "no value" (a sentinel, an invalid date, a wrong type).
    Absent,
}

/// Decodes one raw value as a column of the given spec. Never panics on any input.
pub fn decode_cell(spec: &ColumnSpec, v: &SnmpValue) -> Cell {
    match spec.kind {
        ColumnType::Integer => v.as_i64().map_or(Cell::Absent, Cell::Int),
        ColumnType::Dbm => match v.as_i64() {
            Some(raw) if !spec.sentinels.contains(&raw) => {
                #[allow(clippy::cast_precision_loss)] // Raw levels are far below 2^52.
                let dbm = raw as f64 * spec.scale + spec.offset;
                Cell::Dbm(Dbm::rounded(dbm))
            }
            _ => Cell::Absent,
        },
        ColumnType::String => v
            .as_bytes()
            .map_or(Cell::Absent, |b| Cell::Text(printable(b))),
        ColumnType::Serial => v
            .as_bytes()
            .and_then(serial)
            .map_or(Cell::Absent, Cell::Text),
        ColumnType::DateAndTime => v
            .as_bytes()
            .and_then(date_and_time)
            .map_or(Cell::Absent, Cell::Time),
    }
}

/// Text with control characters dropped (descriptions end up in JSON lines and logs).
fn printable(b: &[u8]) -> String {
    String::from_utf8_lossy(b)
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// A GPON serial: 8 bytes of 4 ASCII vendor letters and 4 binary bytes print as `TPLG1A2B3C4D`
/// (the OLT CLI's form); other printable strings print as they are; anything else as hex.
pub fn serial(b: &[u8]) -> Option<String> {
    if b.is_empty() {
        return None;
    }
    let vendor_ok = |v: &[u8]| v.iter().all(u8::is_ascii_alphanumeric);
    if b.len() == 8 && vendor_ok(&b[..4]) && !b[4..].iter().all(u8::is_ascii_alphanumeric) {
        let mut s = String::from_utf8_lossy(&b[..4]).into_owned();
        for x in &b[4..] {
            s.push_str(&format!("{x:02X}"));
        }
        return Some(s);
    }
    if b.iter().all(|c| c.is_ascii_graphic()) {
        return Some(String::from_utf8_lossy(b).into_owned());
    }
    Some(b.iter().map(|x| format!("{x:02X}")).collect())
}

/// SNMPv2-TC DateAndTime: `year(2) month day hour min sec decisec [dir hours mins]`. Zero or
/// out-of-range fields (Huawei's "never") give `None`.
pub fn date_and_time(b: &[u8]) -> Option<OltTime> {
    if b.len() != 8 && b.len() != 11 {
        return None;
    }
    let year = u16::from_be_bytes([b[0], b[1]]);
    let (mo, d, h, mi, s) = (b[2], b[3], b[4], b[5], b[6]);
    let ok = year > 0
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && h < 24
        && mi < 60
        && s < 61
        && b[7] < 10;
    if !ok {
        return None;
    }
    let mut t = format!("{year:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    if b.len() == 11 {
        let dir = match b[8] {
            b'+' => '+',
            b'-' => '-',
            _ => return None,
        };
        if b[9] > 14 || b[10] > 59 {
            return None;
        }
        t.push_str(&format!("{dir}{:02}:{:02}", b[9], b[10]));
    }
    Some(OltTime(t))
}

/// Splits a column instance OID into the ONU key, checking the profile's constant suffix.
pub fn row_key(spec: &ColumnSpec, oid: &Oid) -> Option<OnuKey> {
    let rest = oid.suffix(&spec.oid)?;
    match rest {
        [if_index, onu_id, tail @ ..] if tail == spec.index_suffix.as_slice() => Some(OnuKey {
            if_index: *if_index,
            onu_id: *onu_id,
        }),
        _ => None,
    }
}

/// Builds ONUs and ports from walked columns. Rows that do not decode (a foreign ifIndex, a
/// wrong suffix) are skipped, never fatal: one odd row must not hide a port's ONUs.
pub fn build_rows(
    profile: &Profile,
    firmware: Option<&str>,
    port_names: &[VarBind],
    columns: &BTreeMap<Role, Vec<VarBind>>,
) -> Result<(Vec<PonPortInfo>, Vec<Onu>), crate::OltError> {
    let state_map = profile.state_map(firmware)?;
    let mut names = BTreeMap::new();
    if let Some(col) = &profile.port_name_column {
        for vb in port_names {
            if let (Some([ifx]), Some(b)) = (vb.oid.suffix(col), vb.value.as_bytes())
                && profile.index.decode(*ifx).is_some()
            {
                names.insert(*ifx, printable(b));
            }
        }
    }
    let mut cells: BTreeMap<OnuKey, BTreeMap<Role, Cell>> = BTreeMap::new();
    for (role, vbs) in columns {
        let Some(spec) = profile.columns.get(role) else {
            continue;
        };
        for vb in vbs {
            let Some(key) = row_key(spec, &vb.oid) else {
                continue;
            };
            if profile.index.decode(key.if_index).is_none() {
                continue;
            }
            cells
                .entry(key)
                .or_default()
                .insert(*role, decode_cell(spec, &vb.value));
        }
    }
    let mut onus = Vec::with_capacity(cells.len());
    for (key, row) in cells {
        let Some(port) = profile.index.decode(key.if_index) else {
            continue;
        };
        let int = |r: Role| match row.get(&r) {
            Some(Cell::Int(i)) => Some(*i),
            _ => None,
        };
        let dbm = |r: Role| match row.get(&r) {
            Some(Cell::Dbm(d)) => Some(*d),
            _ => None,
        };
        let text = |r: Role| match row.get(&r) {
            Some(Cell::Text(t)) => Some(t.clone()),
            _ => None,
        };
        let time = |r: Role| match row.get(&r) {
            Some(Cell::Time(t)) => Some(t.clone()),
            _ => None,
        };
        let raw_state = int(Role::State);
        let raw_cause = int(Role::DownCause);
        let state = match raw_state.and_then(|s| state_map.get(&s.to_string())) {
            Some(StateMeaning::Fixed(s)) => *s,
            Some(StateMeaning::OfflineFromCause) => OnuState::Offline {
                cause: raw_cause.map_or(crate::model::DownCause::Unknown, |c| {
                    profile.down_causes.classify(c)
                }),
            },
            None => OnuState::Unknown,
        };
        // Levels of an ONU that is not online are stale or sentinels on every OLT we know.
        let online = state == OnuState::Online;
        onus.push(Onu {
            key,
            port,
            port_name: names.get(&key.if_index).cloned(),
            serial: text(Role::Serial),
            description: text(Role::Description),
            state,
            raw_state,
            raw_cause,
            rx_dbm: dbm(Role::Rx).filter(|_| online),
            tx_dbm: dbm(Role::Tx).filter(|_| online),
            olt_rx_dbm: dbm(Role::OltRx).filter(|_| online),
            last_down_time: time(Role::LastDownTime),
            last_up_time: time(Role::LastUpTime),
            dying_gasp_time: time(Role::DyingGaspTime),
        });
    }
    let mut ports: BTreeMap<u32, PonPortInfo> = BTreeMap::new();
    for (ifx, name) in &names {
        if let Some(port) = profile.index.decode(*ifx) {
            ports.insert(
                *ifx,
                PonPortInfo {
                    if_index: *ifx,
                    port,
                    name: Some(name.clone()),
                },
            );
        }
    }
    for o in &onus {
        ports.entry(o.key.if_index).or_insert(PonPortInfo {
            if_index: o.key.if_index,
            port: o.port,
            name: None,
        });
    }
    Ok((ports.into_values().collect(), onus))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(
            serial(&[b'T', b'P', b'L', b'G', 0x1a, 0x2b, 0x3c, 0x4d]).unwrap(),
            "TPLG1A2B3C4D"
        );
        assert_eq!(serial(b"FPSIM00000042").unwrap(), "FPSIM00000042");
        assert_eq!(serial(b"ZTEGC0FFEE12").unwrap(), "ZTEGC0FFEE12");
        assert_eq!(serial(&[0, 1, 0xff]).unwrap(), "0001FF");
        assert_eq!(serial(&[]), None);
    }

    #[test]
    fn dates() {
        let t = date_and_time(&[0x07, 0xea, 0x0b, 0x14, 0x03, 0x0e, 0x00, 0x00]).unwrap();
        assert_eq!(t.0, "2026-11-20T03:14:00");
        let z = date_and_time(&[0x07, 0xea, 0x0b, 0x14, 0x03, 0x0e, 0x00, 0x00, b'-', 5, 0]);
        assert_eq!(z.unwrap().0, "2026-11-20T03:14:00-05:00");
        assert_eq!(date_and_time(&[0; 8]), None);
        assert_eq!(date_and_time(&[0x07, 0xea, 13, 1, 0, 0, 0, 0]), None);
        assert_eq!(date_and_time(&[1, 2, 3]), None);
    }
}
