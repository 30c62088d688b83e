//! `dateTime` text: formatting the CPE clock and checking values the ACS writes.
//!
//! The calendar is the `time` crate's: the lab shares no date code with the ACS, whose reading of
//! these times (its GenieACS date module) is written independently.

use std::time::{SystemTime, UNIX_EPOCH};

use ::time::OffsetDateTime;

/// The current UTC time as `YYYY-MM-DDThh:mm:ssZ`.
pub(crate) fn now_datetime() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_unix(secs)
}

/// Formats a moment as a UTC `dateTime` with microseconds (`…T12:00:00.123456Z`), the
/// precision TR-143 asks of diagnostics times.
pub(crate) fn format_micros(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let whole = format_unix(d.as_secs());
    // `format_unix` always ends with `Z`; the fraction goes before it.
    format!("{}.{:06}Z", &whole[..whole.len() - 1], d.subsec_micros())
}

/// The UTC civil time of seconds since the epoch; a moment past the calendar's range (beyond the
/// year 9999) is the epoch, which no CPE clock reaches.
pub(crate) fn utc(secs: u64) -> OffsetDateTime {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Formats seconds since the epoch as a UTC `dateTime`.
pub(crate) fn format_unix(secs: u64) -> String {
    let t = utc(secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Whether `v` is an `xsd:dateTime`: `YYYY-MM-DDThh:mm:ss`, optional fraction, optional `Z` or
/// `±hh:mm`.
pub(crate) fn is_datetime(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 19 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| v[r].parse::<u32>().unwrap_or(99);
    let shape = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape
        || !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 24
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut rest = &v[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [] | [b'Z'] => true,
        [s, h1, h2, b':', m1, m2] => {
            matches!(s, b'+' | b'-') && [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_checks_datetimes() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix(1_700_000_000), "2023-11-14T22:13:20Z");
        // A leap day, and the last second of a century's leap year.
        assert_eq!(format_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_unix(978_307_199), "2000-12-31T23:59:59Z");
        assert_eq!(format_unix(u64::MAX), "1970-01-01T00:00:00Z");
        assert!(is_datetime("0001-01-01T00:00:00Z"));
        assert!(is_datetime("2023-04-26T18:51:36.577Z"));
        assert!(is_datetime("2023-04-26T18:51:36+02:00"));
        assert!(is_datetime("2023-04-26T18:51:36"));
        assert!(!is_datetime("2023-13-26T18:51:36Z"));
        assert!(!is_datetime("yesterday"));
        assert!(!is_datetime("2023-04-26T18:51:36.Z"));
        assert!(is_datetime(&now_datetime()));
        let t = UNIX_EPOCH + std::time::Duration::from_micros(1_700_000_000_000_042);
        assert_eq!(format_micros(t), "2023-11-14T22:13:20.000042Z");
        assert!(is_datetime(&format_micros(t)));
    }
}
