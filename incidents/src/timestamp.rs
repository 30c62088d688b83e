//! Wall-clock instants as the correlator sees them: milliseconds since the Unix epoch, parsed
//! from Kuma's zone-less UTC times and from the OLT's DateAndTime strings, printed as RFC 3339.
//!
//! Nothing here reads a clock: the driver converts its own clock into a [`Timestamp`] and hands
//! it in, so tests run the correlator in virtual time.

use std::fmt;
use std::time::Duration;

use fibreplane_types::olt::OltTime;
use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::IncidentError;

/// An instant: milliseconds since 1970-01-01T00:00:00Z. Serialised as an RFC 3339 string with
/// milliseconds (`2026-11-22T10:15:03.412Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `ms` milliseconds after the epoch.
    pub const fn from_unix_ms(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// This instant plus `d` (saturating: durations from configuration may be huge).
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// How long after `earlier` this instant is (zero when it is not after).
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// Parses Kuma's heartbeat times: `YYYY-MM-DD HH:mm:ss.SSS` in UTC without a zone marker
    /// (the fraction is optional, as 1.23.x stored some rows without it). An RFC 3339 string is
    /// accepted too, in case a custom template formats the time itself.
    pub fn parse_kuma(s: &str) -> Result<Self, IncidentError> {
        let plain = format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"
        );
        if let Ok(t) = PrimitiveDateTime::parse(s, plain) {
            return Ok(Self::from_offset(t.assume_utc()));
        }
        OffsetDateTime::parse(s, &Rfc3339)
            .map(Self::from_offset)
            .map_err(|_| IncidentError::BadTime(s.chars().take(64).collect()))
    }

    /// Parses the poller's rendering of an OLT DateAndTime (`YYYY-MM-DDTHH:MM:SS`, with
    /// `±HH:MM` when the OLT sends its zone). A time without a zone is taken as UTC: within one
    /// OLT that does not matter (clustering compares an OLT's times with each other), across
    /// OLTs it needs OLT clocks in UTC or configured with their zone.
    pub fn parse_olt(t: &OltTime) -> Option<Self> {
        let with_zone = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
        );
        let plain = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        if let Ok(z) = OffsetDateTime::parse(&t.0, with_zone) {
            return Some(Self::from_offset(z));
        }
        PrimitiveDateTime::parse(&t.0, plain)
            .ok()
            .map(|p| Self::from_offset(p.assume_utc()))
    }

    fn from_offset(t: OffsetDateTime) -> Self {
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        Self(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    /// RFC 3339 in UTC with milliseconds.
    pub fn rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        let t = OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(UtcOffset::UTC);
        let fmt = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        t.format(fmt).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kuma_times_are_utc_without_a_zone() {
        let t = Timestamp::parse_kuma("2026-11-22 10:15:03.412").unwrap();
        assert_eq!(t.rfc3339(), "2026-11-22T10:15:03.412Z");
        let t = Timestamp::parse_kuma("2026-11-22 10:15:03").unwrap();
        assert_eq!(t.rfc3339(), "2026-11-22T10:15:03.000Z");
        let t = Timestamp::parse_kuma("2026-11-22T05:15:03.412-05:00").unwrap();
        assert_eq!(t.rfc3339(), "2026-11-22T10:15:03.412Z");
        assert!(Timestamp::parse_kuma("2026-13-22 10:15:03").is_err());
        assert!(Timestamp::parse_kuma("yesterday").is_err());
    }

    #[test]
    fn olt_times_with_and_without_zone() {
        let t = Timestamp::parse_olt(&OltTime("2026-11-20T03:14:00".into())).unwrap();
        assert_eq!(t.rfc3339(), "2026-11-20T03:14:00.000Z");
        let z = Timestamp::parse_olt(&OltTime("2026-11-20T03:14:00-05:00".into())).unwrap();
        assert_eq!(z.since(t), Duration::from_secs(5 * 3600));
        assert_eq!(Timestamp::parse_olt(&OltTime("garbage".into())), None);
    }
}
