//! The device identifier `OUI-ProductClass-Serial`, compatible with GenieACS.
//!
//! GenieACS escapes each part separately: every character outside `[A-Za-z0-9_]` becomes `%`
//! followed by the upper-case hex of each of its UTF-8 bytes, *without* zero padding (byte 0x09
//! becomes `%9`). We reproduce that quirk exactly so that ids of devices migrated from GenieACS
//! stay the same; the padding ambiguity is theirs and harmless in practice.

use std::fmt::Write as _;

/// Builds the device id from the Inform's DeviceId fields: `OUI-ProductClass-Serial`, or
/// `OUI-Serial` when the product class is empty.
pub fn device_id(oui: &str, product_class: &str, serial: &str) -> String {
    let mut out = String::with_capacity(oui.len() + product_class.len() + serial.len() + 2);
    escape_into(&mut out, oui);
    if !product_class.is_empty() {
        out.push('-');
        escape_into(&mut out, product_class);
    }
    out.push('-');
    escape_into(&mut out, serial);
    out
}

/// Appends `part` to `out` with GenieACS's escaping.
fn escape_into(out: &mut String, part: &str) {
    for c in part.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{b:X}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_genieacs_ids() {
        assert_eq!(
            device_id("1C61B4", "Device2", "22275A7000395"),
            "1C61B4-Device2-22275A7000395"
        );
        assert_eq!(
            device_id("9CA2F4", "EC220-G5", "22275K2000315"),
            "9CA2F4-EC220%2DG5-22275K2000315"
        );
        assert_eq!(
            device_id("C0B101", "ZXHN H199A", "ZTEYH86LCN10105"),
            "C0B101-ZXHN%20H199A-ZTEYH86LCN10105"
        );
    }

    #[test]
    fn escapes_utf8_bytes_without_padding() {
        assert_eq!(device_id("A", "é", "B"), "A-%C3%A9-B");
        assert_eq!(device_id("A", "", "x\ty"), "A-x%9y");
        assert_eq!(device_id("A_1", "", "S"), "A_1-S");
    }
}
