//! Calendar months in UTC, named `YYYY-MM` as billing stores them: an
//! execution belongs to the month of its start.

use chrono::{DateTime, Datelike as _, Months, NaiveDate, TimeZone as _, Utc};

/// The month (UTC) of the instant `ms` (Unix milliseconds).
pub fn month_of(ms: i64) -> String {
    let at = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
    format!("{:04}-{:02}", at.year(), at.month())
}

/// The first day of `month`, if it names one.
fn first_day(month: &str) -> Option<NaiveDate> {
    let (year, mon) = month.split_once('-')?;
    if year.len() != 4 || mon.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, mon.parse().ok()?, 1)
}

/// Whether `text` names a month (`YYYY-MM`).
pub fn is_month(text: &str) -> bool {
    first_day(text).is_some()
}

/// The month before `month`.
pub fn previous(month: &str) -> Option<String> {
    let day = first_day(month)?.checked_sub_months(Months::new(1))?;
    Some(format!("{:04}-{:02}", day.year(), day.month()))
}

/// When `month` starts (Unix ms, UTC).
pub fn start_ms(month: &str) -> Option<i64> {
    let day = first_day(month)?;
    Some(
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?)
            .timestamp_millis(),
    )
}

/// When `month` ends: the start of the next (Unix ms, UTC).
pub fn end_ms(month: &str) -> Option<i64> {
    let next = first_day(month)?.checked_add_months(Months::new(1))?;
    Some(
        Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0)?)
            .timestamp_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_utc_calendar_months() {
        let jan_31_late = start_ms("2026-02").unwrap() - 1;
        assert_eq!(month_of(jan_31_late), "2026-01");
        assert_eq!(month_of(jan_31_late + 1), "2026-02");
        assert_eq!(previous("2026-01").as_deref(), Some("2025-12"));
        assert_eq!(end_ms("2025-12"), start_ms("2026-01"));
        assert!(is_month("2026-12"));
        assert!(!is_month("2026-13"));
        assert!(!is_month("26-01"));
        assert!(!is_month("2026-1"));
    }
}
