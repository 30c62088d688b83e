//! Dates as GenieACS's NBI shows them (`JSON.stringify` of a JavaScript `Date`:
//! `2026-11-22T10:53:03.604Z`) and the date strings its query language accepts.
//!
//! Civil-date arithmetic uses Howard Hinnant's days-from-civil algorithm, so no calendar crate is
//! needed for the one format in and the few ISO 8601 forms out.

/// The civil date (year, month 1–12, day 1–31) of a day number (days since 1970-01-01).
pub fn civil(days: i64) -> (i64, i64, i64) {
    civil_from_days(days)
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Parses the ISO 8601 forms GenieACS clients send in queries: `YYYY-MM-DD`, optionally followed
/// by `THH:MM`, `:SS`, a fraction, and `Z` or `±HH:MM` (no zone means UTC here, where JavaScript
/// would use the server's zone for date-times: an ACS server runs in UTC). Returns milliseconds
/// since the epoch, or `None` for anything else.
pub fn parse(s: &str) -> Option<i64> {
    parse_micros(s).map(|us| us.div_euclid(1000))
}

/// Like [`parse`], in microseconds: TR-143 diagnostics times (`BOMTime`, `EOMTime`) carry
/// microseconds, and a loopback transfer can last less than a millisecond. Digits past the
/// sixth are ignored.
pub fn parse_micros(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let (y, m, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&m) {
        return None;
    }
    if d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut us = days_from_civil(y, m, d) * 86_400_000_000;
    let mut i = 10;
    if i == b.len() {
        return Some(us);
    }
    if !matches!(b[i], b'T' | b't' | b' ') {
        return None;
    }
    let (h, min) = (num(i + 1, 2)?, num(i + 4, 2)?);
    if b.get(i + 3) != Some(&b':') || h > 23 || min > 59 {
        return None;
    }
    us += (h * 3600 + min * 60) * 1_000_000;
    i += 6;
    if b.get(i) == Some(&b':') {
        let sec = num(i + 1, 2)?;
        if sec > 59 {
            return None;
        }
        us += sec * 1_000_000;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            let frac = &s[i + 1..i + 1 + digits.min(6)];
            us += frac.parse::<i64>().ok()? * 10i64.pow(6 - frac.len() as u32);
            i += 1 + digits;
        }
    }
    match b.get(i) {
        None => Some(us),
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(us),
        Some(&sign @ (b'+' | b'-')) if b.len() == i + 6 && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            let offset = (oh * 60 + om) * 60_000_000;
            Some(if sign == b'+' {
                us - offset
            } else {
                us + offset
            })
        }
        _ => None,
    }
}

/// The year of a timestamp (for GenieACS's "a date after 1983" reading of query strings).
pub fn year(ms: i64) -> i64 {
    civil_from_days(ms.div_euclid(86_400_000)).0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_javascript() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        // The capture's `_lastInform` (fixtures/genieacs/nbi/01-*).
        assert_eq!(iso(1_795_344_783_604), "2026-11-22T10:53:03.604Z");
        assert_eq!(iso(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_the_forms_clients_send() {
        assert_eq!(parse("2026-11-22T10:53:03.604Z"), Some(1_795_344_783_604));
        assert_eq!(parse("2020-01-01"), Some(1_577_836_800_000));
        assert_eq!(parse("2020-01-01T01:00+01:00"), Some(1_577_836_800_000));
        assert_eq!(parse("2020-01-01T00:00:00.5Z"), Some(1_577_836_800_500));
        assert_eq!(
            parse_micros("2020-01-01T00:00:00.000042Z"),
            Some(1_577_836_800_000_042)
        );
        assert_eq!(
            parse_micros("2020-01-01T00:00:00.1234567Z"),
            Some(1_577_836_800_123_456)
        );
        assert_eq!(parse("1969-12-31T23:59:59.9995Z"), Some(-1));
        for bad in [
            "2020-13-01",
            "2020-02-30",
            "300",
            "V100R001",
            "2020-01-01T",
            "2020-01-01Zx",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn iso_round_trips(ms in -62_000_000_000_000i64..253_000_000_000_000) {
            prop_assert_eq!(parse(&iso(ms)), Some(ms));
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = parse(&s);
        }
    }
}
