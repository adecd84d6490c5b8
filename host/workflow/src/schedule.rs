//! Cron schedules read in an IANA time zone.
//!
//! A schedule names wall-clock times (`30 2 * * *`: 02:30 every day) in a
//! zone. Where DST makes that mapping irregular the rule is simple and
//! the same for every pattern: a local time that does not exist (the hour
//! skipped when DST starts) is skipped, and a local time that occurs twice
//! (the hour repeated when DST ends) fires once, at its first occurrence.

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// The most candidate times [`Schedule::next_tick`] passes over (each a
/// local time skipped by DST) before giving up. A per-second schedule
/// across a day-long zone change (Samoa, 2011) needs 86,400.
const MAX_SKIPPED: usize = 100_000;

/// A compiled cron expression and the time zone it is read in.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    timezone: Tz,
}

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The cron expression does not parse.
    #[error(
        "`{pattern}` is not a cron expression ({reason}): write 5 fields (minute hour \
         day-of-month month day-of-week), or 6 with seconds first, like `0 9 * * 1-5`"
    )]
    Cron {
        /// The expression as written.
        pattern: String,
        /// The parser's reason.
        reason: String,
    },
    /// The time zone is not an IANA zone name.
    #[error(
        "`{name}` is not an IANA time zone: use a name such as `UTC`, `Europe/Paris` or \
         `America/New_York`"
    )]
    Timezone {
        /// The name as written.
        name: String,
    },
}

/// Parse a cron expression: 5 fields, or 6 with seconds first (no year
/// field); `@daily`-style nicknames are accepted.
pub fn parse_cron(pattern: &str) -> Result<Cron, ScheduleError> {
    CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build()
        .parse(pattern)
        .map_err(|e| ScheduleError::Cron {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })
}

/// Look up an IANA time zone by its exact name (`Europe/Paris`, `UTC`).
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>().map_err(|_| ScheduleError::Timezone {
        name: name.to_owned(),
    })
}

impl Schedule {
    /// Compile `cron` read in the zone `timezone`.
    pub fn new(cron: &str, timezone: &str) -> Result<Self, ScheduleError> {
        Ok(Schedule {
            cron: parse_cron(cron)?,
            timezone: parse_timezone(timezone)?,
        })
    }

    /// The zone the schedule is read in.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The first tick strictly after `after`, or `None` if the schedule
    /// never fires again (`0 0 30 2 *`). Local times that DST skips are
    /// passed over; a repeated local time fires at its first instant only.
    pub fn next_tick(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Walk the wall clock: every local time after `after`'s own is a
        // candidate. A repeated time at or before it is never one, which
        // is what makes a repeated hour fire once.
        let mut wall = after.with_timezone(&self.timezone).naive_local();
        for _ in 0..MAX_SKIPPED {
            wall = self.cron.find_next_occurrence(&wall, false).ok()?;
            if let Some(tick) = self.first_instant(wall).filter(|tick| *tick > after) {
                return Some(tick);
            }
        }
        None
    }

    /// The first instant a wall-clock time names in the zone: `None` when
    /// DST skips it, the earlier instant when DST repeats it.
    fn first_instant(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.timezone.from_local_datetime(&wall) {
            LocalResult::Single(instant) | LocalResult::Ambiguous(instant, _) => {
                Some(instant.with_timezone(&Utc))
            }
            LocalResult::None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn ticks(schedule: &Schedule, mut after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        for _ in 0..n {
            let tick = schedule.next_tick(after).expect("fires");
            out.push(tick);
            after = tick;
        }
        out
    }

    #[test]
    fn five_or_six_fields() {
        assert!(parse_cron("*/5 * * * *").is_ok());
        assert!(parse_cron("30 0 9 * * MON-FRI").is_ok());
        assert!(parse_cron("@daily").is_ok());
        for bad in ["", "* * *", "0 0 0 * * * 2030", "61 * * * *", "every day"] {
            let err = parse_cron(bad).unwrap_err();
            assert!(err.to_string().contains("5 fields"), "{bad}: {err}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(parse_timezone("UTC").is_ok());
        assert!(parse_timezone("America/New_York").is_ok());
        let err = parse_timezone("Europe/Pariss").unwrap_err();
        assert!(err.to_string().contains("Europe/Paris"), "{err}");
        assert!(Schedule::new("* * * * *", "CEST").is_err());
    }

    #[test]
    fn seconds_come_first_when_given() {
        let s = Schedule::new("15 * * * * *", "UTC").unwrap();
        assert_eq!(
            s.next_tick(utc(2025, 1, 1, 0, 0, 20)),
            Some(utc(2025, 1, 1, 0, 1, 15))
        );
    }

    #[test]
    fn ticks_are_strictly_after() {
        let s = Schedule::new("0 * * * *", "UTC").unwrap();
        assert_eq!(
            s.next_tick(utc(2025, 1, 1, 10, 0, 0)),
            Some(utc(2025, 1, 1, 11, 0, 0))
        );
        let later = utc(2025, 1, 1, 10, 0, 0) + chrono::Duration::milliseconds(1);
        assert_eq!(s.next_tick(later), Some(utc(2025, 1, 1, 11, 0, 0)));
    }

    #[test]
    fn a_schedule_that_never_fires_has_no_tick() {
        let s = Schedule::new("0 0 30 2 *", "UTC").unwrap();
        assert_eq!(s.next_tick(utc(2025, 1, 1, 0, 0, 0)), None);
    }

    #[test]
    fn paris_skips_the_missing_hour_and_fires_the_repeated_one_once() {
        // 2025-03-30: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
        let daily = Schedule::new("30 2 * * *", "Europe/Paris").unwrap();
        assert_eq!(
            ticks(&daily, utc(2025, 3, 28, 12, 0, 0), 2),
            vec![utc(2025, 3, 29, 1, 30, 0), utc(2025, 3, 31, 0, 30, 0)]
        );
        // 2025-10-26: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
        assert_eq!(
            ticks(&daily, utc(2025, 10, 25, 12, 0, 0), 2),
            vec![utc(2025, 10, 26, 0, 30, 0), utc(2025, 10, 27, 1, 30, 0)]
        );
        // An hourly job: no 02:00 in March, one 02:00 in October.
        let hourly = Schedule::new("0 * * * *", "Europe/Paris").unwrap();
        assert_eq!(
            ticks(&hourly, utc(2025, 3, 29, 23, 30, 0), 3),
            vec![
                utc(2025, 3, 30, 0, 0, 0), // 01:00 CET
                utc(2025, 3, 30, 1, 0, 0), // 03:00 CEST
                utc(2025, 3, 30, 2, 0, 0), // 04:00 CEST
            ]
        );
        assert_eq!(
            ticks(&hourly, utc(2025, 10, 25, 23, 30, 0), 3),
            vec![
                utc(2025, 10, 26, 0, 0, 0), // 02:00 CEST
                utc(2025, 10, 26, 2, 0, 0), // 03:00 CET (02:00 CET is a repeat)
                utc(2025, 10, 26, 3, 0, 0), // 04:00 CET
            ]
        );
    }

    #[test]
    fn new_york_skips_the_missing_hour_and_fires_the_repeated_one_once() {
        // 2025-03-09: 02:00 EST becomes 03:00 EDT.
        let daily = Schedule::new("30 2 * * *", "America/New_York").unwrap();
        assert_eq!(
            ticks(&daily, utc(2025, 3, 8, 0, 0, 0), 2),
            vec![utc(2025, 3, 8, 7, 30, 0), utc(2025, 3, 10, 6, 30, 0)]
        );
        // 2025-11-02: 02:00 EDT becomes 01:00 EST; 01:00-01:59 happens twice.
        let half_hourly = Schedule::new("*/30 * * * *", "America/New_York").unwrap();
        assert_eq!(
            ticks(&half_hourly, utc(2025, 11, 2, 4, 45, 0), 4),
            vec![
                utc(2025, 11, 2, 5, 0, 0),  // 01:00 EDT
                utc(2025, 11, 2, 5, 30, 0), // 01:30 EDT
                utc(2025, 11, 2, 7, 0, 0),  // 02:00 EST (01:00 and 01:30 EST are repeats)
                utc(2025, 11, 2, 7, 30, 0), // 02:30 EST
            ]
        );
        // Asked from inside the repeated hour's second pass, the repeats
        // are still not fired.
        assert_eq!(
            half_hourly.next_tick(utc(2025, 11, 2, 6, 10, 0)), // 01:10 EST
            Some(utc(2025, 11, 2, 7, 0, 0))
        );
        let at_one_thirty = Schedule::new("30 1 * * *", "America/New_York").unwrap();
        assert_eq!(
            ticks(&at_one_thirty, utc(2025, 11, 1, 12, 0, 0), 2),
            vec![utc(2025, 11, 2, 5, 30, 0), utc(2025, 11, 3, 6, 30, 0)]
        );
    }
}
