//! The OLT's MIB view: the network rendered as Huawei- or ZTE-shaped tables, sorted by OID, each
//! varbind pre-encoded so a GETBULK response is a run of copies.
//!
//! The OIDs and encodings here are written from the vendors' MIBs (see the note cited in
//! lab's docs), independently of `olt-poller`'s profiles, so the poller is tested against a
//! second reading of the same facts rather than against itself.

use super::ber::{self, tag};
use super::network::{Network, SimCause, SimOnu, SimVendor};

/// A value served by the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Val {
    Int(i64),
    Octets(Vec<u8>),
    Oid(Vec<u32>),
    TimeTicks(u32),
}

impl Val {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(v) => ber::integer(out, *v),
            Self::Octets(b) => ber::tlv(out, tag::OCTETS, b),
            Self::Oid(o) => ber::oid_tlv(out, o),
            Self::TimeTicks(t) => ber::tlv(out, tag::TIMETICKS, &ber::uint_bytes(u64::from(*t))),
        }
    }
}

/// One instance: its OID and its whole varbind, encoded.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) oid: Box<[u32]>,
    pub(crate) varbind: Box<[u8]>,
}

/// Encodes one varbind SEQUENCE { oid, value }.
pub(crate) fn varbind(oid: &[u32], v: &Val) -> Vec<u8> {
    let mut inner = Vec::with_capacity(40);
    ber::oid_tlv(&mut inner, oid);
    v.encode(&mut inner);
    let mut out = Vec::with_capacity(inner.len() + 4);
    ber::tlv(&mut out, tag::SEQUENCE, &inner);
    out
}

/// The sorted view and the column (object) OIDs it serves.
#[derive(Debug, Default)]
pub(crate) struct MibView {
    pub(crate) entries: Vec<Entry>,
    pub(crate) objects: Vec<Vec<u32>>,
}

const HW_B: [u32; 12] = [1, 3, 6, 1, 4, 1, 2011, 6, 128, 1, 1, 2];
const ZTE_ONU: [u32; 10] = [1, 3, 6, 1, 4, 1, 3902, 1012, 3, 28];
const ZTE_OPT: [u32; 13] = [1, 3, 6, 1, 4, 1, 3902, 1012, 3, 50, 12, 1, 1];
const ZTE_OLT_RX: [u32; 12] = [1, 3, 6, 1, 4, 1, 3902, 1015, 1010, 11, 2, 1];
const IF_NAME: [u32; 11] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];
const SYSTEM: [u32; 7] = [1, 3, 6, 1, 2, 1, 1];

/// Sim port `p` → (slot, port): 16 ports per board, boards from slot 1 (Huawei ports 0-based,
/// ZTE ports 1-based, as the vendors number them).
pub fn slot_port(vendor: SimVendor, p: u32) -> (u32, u32) {
    match vendor {
        SimVendor::Huawei => (1 + p / 16, p % 16),
        SimVendor::Zte => (1 + p / 16, 1 + p % 16),
    }
}

/// The PON ifIndex of sim port `p`: Huawei `125 << 25 | frame << 19 | slot << 13 | port << 8`,
/// ZTE `1 << 28 | shelf << 24 | slot << 16 | port << 8`.
pub fn if_index(vendor: SimVendor, p: u32) -> u32 {
    let (slot, port) = slot_port(vendor, p);
    match vendor {
        SimVendor::Huawei => (125 << 25) | (slot << 13) | (port << 8),
        SimVendor::Zte => (1 << 28) | (slot << 16) | (port << 8),
    }
}

/// SNMPv2-TC DateAndTime (8 bytes, UTC) of Unix seconds; all zeros for 0 ("never").
pub(crate) fn date_and_time(secs: u64) -> Vec<u8> {
    if secs == 0 {
        return vec![0; 8];
    }
    let t = crate::time::utc(secs);
    // The calendar's years are 4 digits at most (≤ 9999), so they fit the field's two bytes.
    let [y0, y1] = u16::try_from(t.year()).unwrap_or(0).to_be_bytes();
    vec![
        y0,
        y1,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        0,
    ]
}

fn at(base: &[u32], more: &[u32]) -> Vec<u32> {
    let mut v = base.to_vec();
    v.extend_from_slice(more);
    v
}

/// Renders the network. `zte_zero_based` numbers ZTE phase states as the MIB text does
/// (working = 3) instead of deployed V2.x firmware (working = 4).
pub(crate) fn render(net: &Network, uptime_ticks: u32, zte_zero_based: bool) -> MibView {
    let mut rows: Vec<(Vec<u32>, Val)> = Vec::with_capacity(net.onus.len() * 11 + 64);
    let (sys_oid, descr): (&[u32], &str) = match net.vendor {
        SimVendor::Huawei => (
            &[1, 3, 6, 1, 4, 1, 2011, 2, 248],
            "Huawei Integrated Access Software (olt-sim)",
        ),
        SimVendor::Zte => (
            &[1, 3, 6, 1, 4, 1, 3902, 1082, 1001, 320],
            "ZXA10 C320 (olt-sim)",
        ),
    };
    rows.push((at(&SYSTEM, &[1, 0]), Val::Octets(descr.as_bytes().to_vec())));
    rows.push((at(&SYSTEM, &[2, 0]), Val::Oid(sys_oid.to_vec())));
    rows.push((at(&SYSTEM, &[3, 0]), Val::TimeTicks(uptime_ticks)));
    rows.push((at(&SYSTEM, &[5, 0]), Val::Octets(b"olt-sim".to_vec())));
    for p in 0..net.ports {
        let (slot, port) = slot_port(net.vendor, p);
        let name = match net.vendor {
            SimVendor::Huawei => format!("GPON 0/{slot}/{port}"),
            SimVendor::Zte => format!("gpon-olt_1/{slot}/{port}"),
        };
        rows.push((
            at(&IF_NAME, &[if_index(net.vendor, p)]),
            Val::Octets(name.into_bytes()),
        ));
    }
    for o in &net.onus {
        match net.vendor {
            SimVendor::Huawei => huawei_rows(net, o, &mut rows),
            SimVendor::Zte => zte_rows(net, o, zte_zero_based, &mut rows),
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut objects: Vec<Vec<u32>> = rows.iter().map(|(o, _)| object_of(net.vendor, o)).collect();
    objects.dedup();
    let entries = rows
        .into_iter()
        .map(|(oid, v)| Entry {
            varbind: varbind(&oid, &v).into_boxed_slice(),
            oid: oid.into_boxed_slice(),
        })
        .collect();
    MibView { entries, objects }
}

/// The column (object type) an instance belongs to, for noSuchInstance vs noSuchObject.
fn object_of(vendor: SimVendor, oid: &[u32]) -> Vec<u32> {
    let index_len = if oid.starts_with(&SYSTEM) || oid.starts_with(&IF_NAME) {
        1
    } else if vendor == SimVendor::Zte && oid.starts_with(&ZTE_OPT[..12]) {
        3
    } else {
        2
    };
    oid[..oid.len().saturating_sub(index_len)].to_vec()
}

fn huawei_rows(net: &Network, o: &SimOnu, rows: &mut Vec<(Vec<u32>, Val)>) {
    const SENTINEL: i64 = 2_147_483_647;
    let ix = [if_index(net.vendor, o.port), o.id];
    let col = |t: u32, c: u32| at(&HW_B, &[t, 1, c, ix[0], ix[1]]);
    let online = o.down.is_none();
    let centi = |v: f64| (v * 100.0).round() as i64;
    let cause = match o.down {
        None => -1,
        Some(SimCause::Los) => 2,
        Some(SimCause::DyingGasp) => 13,
        Some(SimCause::Admin) => 8,
    };
    rows.push((col(43, 3), Val::Octets(net.serial(o))));
    rows.push((
        col(43, 9),
        Val::Octets(format!("onu-{}", o.index).into_bytes()),
    ));
    rows.push((col(46, 15), Val::Int(if online { 1 } else { 2 })));
    rows.push((col(46, 22), Val::Octets(date_and_time(o.last_up))));
    rows.push((col(46, 23), Val::Octets(date_and_time(o.last_down))));
    rows.push((col(46, 24), Val::Int(cause)));
    rows.push((col(46, 25), Val::Octets(date_and_time(o.dying_gasp))));
    let lvl = |v: i64| Val::Int(if online { v } else { SENTINEL });
    rows.push((col(51, 3), lvl(centi(o.tx_dbm))));
    rows.push((col(51, 4), lvl(centi(o.rx_dbm))));
    rows.push((col(51, 6), lvl(centi(o.olt_rx_dbm) + 10_000)));
}

fn zte_rows(net: &Network, o: &SimOnu, zero_based: bool, rows: &mut Vec<(Vec<u32>, Val)>) {
    let (ifx, onu) = (if_index(net.vendor, o.port), o.id + 1);
    let online = o.down.is_none();
    let phase = match o.down {
        None => 4,
        Some(SimCause::Los) => 2,
        Some(SimCause::DyingGasp) => 5,
        Some(SimCause::Admin) => 7,
    } - i64::from(zero_based);
    let (slot, port) = slot_port(net.vendor, o.port);
    rows.push((
        at(&ZTE_ONU, &[1, 1, 2, ifx, onu]),
        Val::Octets(format!("onu_{slot}/{port}/{onu}").into_bytes()),
    ));
    rows.push((
        at(&ZTE_ONU, &[1, 1, 3, ifx, onu]),
        Val::Octets(format!("onu-{}", o.index).into_bytes()),
    ));
    rows.push((
        at(&ZTE_ONU, &[1, 1, 5, ifx, onu]),
        Val::Octets(net.serial(o)),
    ));
    let admin = if o.down == Some(SimCause::Admin) {
        2
    } else {
        1
    };
    rows.push((at(&ZTE_ONU, &[2, 1, 1, ifx, onu]), Val::Int(admin)));
    rows.push((at(&ZTE_ONU, &[2, 1, 4, ifx, onu]), Val::Int(phase)));
    let raw = |dbm: f64| {
        if online {
            ((dbm + 30.0) / 0.002).round() as i64
        } else {
            65_535
        }
    };
    let opt = |c: u32| at(&ZTE_OPT, &[c, ifx, onu, 1]);
    rows.push((opt(10), Val::Int(raw(o.rx_dbm))));
    rows.push((opt(14), Val::Int(raw(o.tx_dbm))));
    let olt_rx = if online {
        (o.olt_rx_dbm * 1000.0).round() as i64
    } else {
        -80_000
    };
    rows.push((at(&ZTE_OLT_RX, &[2, ifx, onu]), Val::Int(olt_rx)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        // 2026-11-20T03:14:00Z
        assert_eq!(
            date_and_time(1_795_144_440),
            vec![0x07, 0xea, 11, 20, 3, 14, 0, 0]
        );
        assert_eq!(date_and_time(0), vec![0; 8]);
    }

    #[test]
    fn if_indexes_match_the_vendor_formulas() {
        assert_eq!(if_index(SimVendor::Huawei, 3), 4_194_312_960); // GPON 0/1/3
        assert_eq!(if_index(SimVendor::Zte, 0), 268_501_248); // slot 1 port 1
    }
}
