//! Calendar dates: every CLS date is a UTC `YYYY-MM-DD`.

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};

/// The same month and day one year later; 29 February maps to 28 February (CLS-9 in docs/requirements/cls.md).
pub fn one_year_after(date: NaiveDate) -> NaiveDate {
    let year = date.year() + 1;
    NaiveDate::from_ymd_opt(year, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28))
        .unwrap_or(date)
}

/// `YYYY-MM-DD`.
pub fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Parses `YYYY-MM-DD` (surrounding blanks ignored); `None` for anything else.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// The UTC calendar date of an instant.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    now.date_naive()
}

/// An instant as RFC 3339 with whole seconds and `Z`, e.g. `2026-05-12T14:03:11Z`.
pub fn format_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn one_year_later_keeps_month_and_day() {
        assert_eq!(one_year_after(d("2026-05-12")), d("2027-05-12"));
        assert_eq!(one_year_after(d("2026-12-31")), d("2027-12-31"));
    }

    #[test]
    fn the_29th_of_february_expires_on_the_28th_of_february_next_year() {
        assert_eq!(one_year_after(d("2028-02-29")), d("2029-02-28"));
        assert_eq!(one_year_after(d("2027-02-28")), d("2028-02-28"));
    }

    #[test]
    fn dates_round_trip_and_junk_is_refused() {
        assert_eq!(format_date(d(" 2026-01-02 ")), "2026-01-02");
        assert_eq!(parse_date("02/01/2026"), None);
        assert_eq!(parse_date("2026-02-30"), None);
    }

    #[test]
    fn instants_are_formatted_with_whole_seconds_and_z() {
        let at = DateTime::parse_from_rfc3339("2026-05-12T14:03:11.789+00:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_instant(at), "2026-05-12T14:03:11Z");
        assert_eq!(today(at), d("2026-05-12"));
    }
}
