//! The arithmetic behind the sandbox's `Date.now(interval[, variance])`: GenieACS spreads a
//! fleet's schedules by a per-device offset drawn from the MD5 of the device id.

use md5::{Digest, Md5};

/// GenieACS's `md532`: the MD5 digest of the UTF-8 string as four little-endian 32-bit words,
/// XOR-ed together.
pub fn md532(text: &str) -> u32 {
    let digest = Md5::digest(text.as_bytes());
    digest
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .fold(0, |acc, w| acc ^ w)
}

/// The device's offset within `variance` ms (`md532 mod variance`, 0 for a zero variance), as
/// JavaScript's `%` computes it on doubles.
pub fn variance_offset(device_id: &str, variance: f64) -> f64 {
    if variance == 0.0 || variance.is_nan() {
        return 0.0;
    }
    f64::from(md532(device_id)) % variance
}

/// The start of the interval containing `timestamp + offset`, shifted back by `offset`:
/// `trunc((t + offset) / interval) · interval − offset`.
pub fn interval(timestamp: f64, interval: f64, offset: f64) -> f64 {
    ((timestamp + offset) / interval).trunc() * interval - offset
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by Node.js 20 running GenieACS's own formula (`lib/scheduling.ts`).
    #[test]
    fn md532_and_offsets_match_genieacs() {
        assert_eq!(md532("202BC1-BM632w-000000"), 3_533_824_625);
        assert_eq!(
            variance_offset("202BC1-BM632w-000000", 300_000.0),
            124_625.0
        );
        assert_eq!(variance_offset("202BC1-BM632w-000000", 0.0), 0.0);
        assert_eq!(md532(""), 997_549_406);
    }

    #[test]
    fn intervals_are_aligned_on_the_device_offset() {
        let t = 1_700_000_123_456.0;
        assert_eq!(interval(t, 3_600_000.0, 0.0), 1_699_999_200_000.0);
        assert_eq!(interval(t, 3_600_000.0, 1_000.0), 1_699_999_199_000.0);
    }
}
