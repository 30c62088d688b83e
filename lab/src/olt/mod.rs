//! `olt-sim`: an SNMP agent (v2c and v3 USM authPriv) serving Huawei- or ZTE-shaped GPON OLT
//! tables for P ports × M ONUs generated from a seed, with a control API that changes the
//! network (fibre cut, power outage, drift) or the agent (stall, drop).
//!
//! Layout: `ber.rs` (BER with limits), `proto.rs` (datagram in → datagram out, sans-IO),
//! `v3.rs` (the v3 message layer: reports, MAC, time window, privacy), `usm.rs` (v3 keys, HMAC,
//! AES-CFB), `network.rs` (the simulated PON), `mib.rs` (the network as vendor tables),
//! `agent.rs` (the UDP driver), `control.rs` (the HTTP control API).
//!
//! Serials: by default ONU #i (global index = `serial_offset` + position) has serial
//! `FPSIM` + `{i:08}`, exactly what `cpe-sim` gives CPE #i, so a demo can tie an ONU to its CPE.

mod agent;
mod ber;
mod control;
mod mib;
mod network;
mod proto;
mod usm;
mod v3;

pub use agent::{Faults, OltSimConfig, OltSimHandle, start};
pub use control::serve as serve_control;
pub use mib::{if_index, slot_port};
pub use network::{Network, SerialStyle, SimCause, SimOnu, SimVendor};
pub use usm::SimAuth;

/// Fuzz-style entry for tests: answers one datagram with a fresh agent over `net` (v2c
/// community `public`, v3 user `fuzz`); never panics.
pub fn answer_once(net: &Network, dgram: &[u8]) -> Option<Vec<u8>> {
    let engine = b"\x80\x00\x1f\x88\x04fuzz".to_vec();
    let user = usm::UsmUser::new(
        "fuzz",
        SimAuth::Sha1,
        "authpass1",
        Some("privpass1"),
        &engine,
    );
    let mut r = proto::Responder::new(Some(b"public".to_vec()), Some(user), engine);
    let view = mib::render(net, 0, false);
    r.handle(&view, dgram, 1)
}
