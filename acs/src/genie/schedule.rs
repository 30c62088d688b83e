//! Preset schedules, as GenieACS writes them: `"<durationSeconds> <cron>"`. The preset is active
//! while the last time the cron expression fired is less than the duration ago. The cron
//! expression has six fields (seconds, minutes, hours, day of month, month, day of week); a
//! five-field one gets a leading `*` for seconds, as GenieACS does. Times are UTC.
//!
//! Each field accepts `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists; months
//! and weekdays also accept their three-letter English names. As in cron, when both the day of
//! month and the day of week are restricted, a day matching either fires.

use crate::genie::date;

/// Longest schedule window looked back over: a year and a day.
const MAX_LOOKBACK_DAYS: i64 = 367;

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    duration_ms: i64,
    fields: [u64; 6],
    dom_star: bool,
    dow_star: bool,
}

/// Why a schedule does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("schedule {text:?}: {why}")]
pub struct ScheduleError {
    text: String,
    why: String,
}

const RANGES: [(u32, u32); 6] = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    /// Parses `"<durationSeconds> <cron>"`.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let err = |why: String| ScheduleError {
            text: text.chars().take(200).collect(),
            why,
        };
        let mut parts = text.split_whitespace();
        let duration: f64 = parts
            .next()
            .and_then(|d| d.parse().ok())
            .filter(|d: &f64| d.is_finite() && *d > 0.0)
            .ok_or_else(|| err("no positive duration in seconds".into()))?;
        let mut cron: Vec<&str> = parts.collect();
        if cron.len() == 5 {
            cron.insert(0, "*");
        }
        if cron.len() != 6 {
            return Err(err(format!("{} cron fields, not 5 or 6", cron.len())));
        }
        let mut fields = [0u64; 6];
        for (i, f) in cron.iter().enumerate() {
            fields[i] = field(f, i).map_err(|why| err(format!("field {}: {why}", i + 1)))?;
        }
        // Day of week 7 is Sunday, like 0.
        if fields[5] & (1 << 7) != 0 {
            fields[5] |= 1;
        }
        Ok(Self {
            duration_ms: (duration * 1000.0).min(MAX_LOOKBACK_DAYS as f64 * 86_400_000.0) as i64,
            fields,
            dom_star: cron[3] == "*" || cron[3] == "?",
            dow_star: cron[5] == "*" || cron[5] == "?",
        })
    }

    /// Whether the schedule is active at `now_ms`: it fired less than its duration ago.
    pub fn active(&self, now_ms: i64) -> bool {
        self.last_fire(now_ms)
            .is_some_and(|t| now_ms < t + self.duration_ms)
    }

    /// The last second at or before `now_ms` when the cron expression fired, looking back no
    /// further than the duration.
    pub fn last_fire(&self, now_ms: i64) -> Option<i64> {
        let now_s = now_ms.div_euclid(1000);
        let oldest = (now_ms - self.duration_ms).div_euclid(1000);
        let today = now_s.div_euclid(86_400);
        for day in (oldest.div_euclid(86_400)..=today).rev() {
            if !self.day_matches(day) {
                continue;
            }
            for h in (0..24).rev() {
                if !self.has(2, h) {
                    continue;
                }
                for m in (0..60).rev() {
                    if !self.has(1, m) {
                        continue;
                    }
                    for s in (0..60).rev() {
                        let t = day * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + s;
                        if t <= now_s && self.has(0, s as u32) {
                            return (t >= oldest).then_some(t * 1000);
                        }
                    }
                }
            }
        }
        None
    }

    fn has(&self, field: usize, v: u32) -> bool {
        self.fields[field] & (1u64 << v) != 0
    }

    fn day_matches(&self, day: i64) -> bool {
        let (_, month, dom) = date::civil(day);
        if !self.has(4, month as u32) {
            return false;
        }
        // 1970-01-01 was a Thursday (4).
        let dow = (day + 4).rem_euclid(7) as u32;
        let (dom_ok, dow_ok) = (self.has(3, dom as u32), self.has(5, dow));
        match (self.dom_star, self.dow_star) {
            (true, true) => true,
            (true, false) => dow_ok,
            (false, true) => dom_ok,
            (false, false) => dom_ok || dow_ok,
        }
    }
}

/// One cron field as a bit set of the values it allows.
fn field(text: &str, index: usize) -> Result<u64, String> {
    let (lo, hi) = RANGES[index];
    let mut bits = 0u64;
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step {s:?}"))?,
            ),
            None => (part, 1),
        };
        let (a, b) = if range == "*" || range == "?" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, index)?, value(b, index)?)
        } else {
            let v = value(range, index)?;
            (v, if part.contains('/') { hi } else { v })
        };
        if a > b || a < lo || b > hi {
            return Err(format!("{part:?} is outside {lo}-{hi}"));
        }
        bits |= (a..=b)
            .step_by(step as usize)
            .fold(0, |acc, v| acc | 1 << v);
    }
    Ok(bits)
}

fn value(text: &str, index: usize) -> Result<u32, String> {
    let names: &[&str] = match index {
        4 => &MONTHS,
        5 => &DAYS,
        _ => &[],
    };
    let upper = text.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Ok(i as u32 + if index == 4 { 1 } else { 0 });
    }
    text.parse().map_err(|_| format!("bad value {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        date::parse(s).unwrap()
    }

    #[test]
    fn a_nightly_window_is_active_only_inside_it() {
        // Two hours from 02:00:00 every night.
        let s = Schedule::parse("7200 0 0 2 * * *").unwrap();
        assert!(s.active(at("2026-12-04T02:00")));
        assert!(s.active(at("2026-12-04T03:59:59")));
        assert!(!s.active(at("2026-12-04T04:00")));
        assert!(!s.active(at("2026-12-04T01:59")));
        assert_eq!(
            s.last_fire(at("2026-12-04T03:00")),
            Some(at("2026-12-04T02:00"))
        );
    }

    #[test]
    fn five_fields_get_every_second_and_weekdays_and_names_work() {
        // Five fields: every second of minute 30 of 12:xx on weekdays, for one second.
        let s = Schedule::parse("1 30 12 * * MON-FRI").unwrap();
        // 2026-12-04 is a Friday, 2026-12-05 a Saturday.
        assert!(s.active(at("2026-12-04T12:30:45")));
        assert!(!s.active(at("2026-12-05T12:30:45")));
        let sunday = Schedule::parse("86400 0 0 0 * * 7").unwrap();
        assert!(sunday.active(at("2026-12-06T10:00")));
        assert!(!sunday.active(at("2026-12-07T10:00")));
        let steps = Schedule::parse("3600 0 */15 * * * *").unwrap();
        assert_eq!(
            steps.last_fire(at("2026-12-04T10:07:10")),
            Some(at("2026-12-04T10:00:00"))
        );
        // GenieACS's quirk: a five-field expression fires every second of its minute.
        let five = Schedule::parse("7200 0 2 * * *").unwrap();
        assert_eq!(
            five.last_fire(at("2026-12-04T04:00:30")),
            Some(at("2026-12-04T02:00:59"))
        );
        let months = Schedule::parse("86400 0 0 0 1 jan,Jul *").unwrap();
        assert!(months.active(at("2026-07-01T05:00")));
        assert!(!months.active(at("2026-08-01T05:00")));
    }

    #[test]
    fn bad_schedules_are_errors() {
        for bad in [
            "",
            "0 * * * * *",
            "-5 * * * * *",
            "60 * * * * * * *",
            "60 61 * * * *",
            "60 * * 0 * *",
            "60 */0 * * * *",
            "60 5-1 * * * *",
            "60 * * * FOO *",
            "abc * * * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "[0-9 */,A-Za-z?-]{0,40}", now in 0i64..4_000_000_000_000) {
            if let Ok(s) = Schedule::parse(&text) {
                let _ = s.active(now);
            }
        }
    }
}
