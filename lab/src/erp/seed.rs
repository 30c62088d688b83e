//! The seeded ERPNext data: customer #i, service location `LOC-#####` and equipment
//! `EQP-#####` for lab device #i, with the serial and label MAC cpe-sim gives CPE #i (serial
//! `FPSIM` + 8 digits; MAC `1C:61:B4` + 24 bits of i × 8, its first LAN interface), which olt-sim
//! gives ONU #i and xx230v-sim `--index i`. Serials and MACs are written the many ways
//! technicians' scanners write them, so the provisioner's normalisation is exercised.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json, json};

/// The seeded documents of lab device `i`: (customer, location, equipment), each a Frappe field
/// map without the bookkeeping fields (`modified`, …) that the store adds.
pub fn device(seed: u64, i: u64) -> [(&'static str, Json); 3] {
    let mut rng = StdRng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let n = i + 1;
    let customer = format!("CUST-{n:05}");
    let location = format!("LOC-{n:05}");
    let mac = label_mac(i);
    let hex: String = mac.split(':').collect();
    let mac_text = match i % 4 {
        0 => mac.clone(),
        1 => mac.replace(':', "-").to_lowercase(),
        2 => hex.to_lowercase(),
        _ => format!("{}.{}.{}", &hex[0..4], &hex[4..8], &hex[8..12]).to_lowercase(),
    };
    let serial = format!("FPSIM{i:08}");
    let serial_text = match i % 5 {
        0 => serial,
        1 => serial.to_lowercase(),
        2 => format!(" {serial} "),
        3 => format!("{}-{}", &serial[..5], &serial[5..]),
        _ => serial,
    };
    [
        (
            "Customer",
            json!({"name": customer, "customer_name": format!("Lab Customer {n}"), "customer_type": "Individual"}),
        ),
        (
            "Service Location",
            json!({"name": location, "customer": customer, "address_line1": format!("{n} Fibre Street")}),
        ),
        (
            "Service Equipment",
            json!({
                "name": format!("EQP-{n:05}"),
                "serial_no": serial_text,
                "mac_address": mac_text,
                "equipment_type": "ONT",
                "status": "Installed",
                "service_location": location,
                "customer": customer,
                "custom_wifi_ssid": format!("Fibre-{n:05}-{}", word(&mut rng, 4)),
                "custom_wifi_password": word(&mut rng, 16),
                "custom_sip_username": format!("+3120{n:07}"),
                "custom_sip_password": word(&mut rng, 20),
                "custom_sip_registrar": "sip.voice.lab.invalid",
                "custom_provisioning_status": "",
                "custom_provisioned_on": Json::Null,
            }),
        ),
    ]
}

/// Device #i's label MAC, `1C:61:B4:xx:xx:xx`, as cpe-sim computes its first LAN interface's.
pub fn label_mac(i: u64) -> String {
    let base = (i.wrapping_mul(8) & 0xFF_FFFF) as u32;
    format!(
        "1C:61:B4:{:02X}:{:02X}:{:02X}",
        base >> 16,
        (base >> 8) & 0xFF,
        base & 0xFF
    )
}

fn word(rng: &mut StdRng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    (0..len)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}
