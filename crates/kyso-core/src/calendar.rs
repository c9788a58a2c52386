//! Working days: weekends and public holidays are not counted in deadlines such as the
//! 5-working-day device return (NĐ 130 Art. 71).

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::BTreeSet;

/// A calendar of non-working days besides Saturdays and Sundays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    holidays: BTreeSet<NaiveDate>,
}

#[derive(Deserialize)]
struct HolidayFile {
    holidays: Vec<NaiveDate>,
}

impl WorkCalendar {
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        WorkCalendar { holidays: holidays.into_iter().collect() }
    }
    /// The holidays kyso ships with (`rules/holidays.toml`): the fixed-date ones of Labour
    /// Code 2019 Art. 112 and the announced Tết and Hùng Kings days for recent years. A
    /// deployment adds its own in its configuration.
    pub fn builtin() -> Self {
        let f: HolidayFile = toml::from_str(include_str!("../rules/holidays.toml")).expect("shipped holidays.toml is valid");
        Self::new(f.holidays)
    }
    pub fn with_extra(mut self, extra: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(extra);
        self
    }
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }
    /// The date on which `n` working days after `start` have passed: the deadline of an act
    /// that must happen "within n working days" of `start` (the start day is not counted).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d.checked_add_days(Days::new(1)).expect("date in range");
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }
    pub fn holidays_in_year(&self, year: i32) -> impl Iterator<Item = &NaiveDate> {
        self.holidays.iter().filter(move |d| d.year() == year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn working_day_deadlines() {
        let cal = WorkCalendar::new([d("2026-04-30"), d("2026-05-01")]);
        let cases = [
            ("2026-11-16", 5, "2026-11-23"), // Monday -> next Monday
            ("2026-11-20", 5, "2026-11-27"), // Friday -> next Friday
            ("2026-11-21", 5, "2026-11-27"), // Saturday -> Friday
            ("2026-04-28", 5, "2026-05-07"), // over 30/4 and 1/5 and a weekend
            ("2026-11-16", 0, "2026-11-16"),
        ];
        for (start, n, want) in cases {
            assert_eq!(cal.add_working_days(d(start), n), d(want), "{start} + {n}");
        }
    }

    #[test]
    fn builtin_has_fixed_holidays() {
        let cal = WorkCalendar::builtin();
        for day in ["2026-01-01", "2026-04-30", "2026-05-01", "2026-09-02", "2026-02-17"] {
            assert!(!cal.is_working_day(d(day)), "{day}");
        }
        assert!(cal.is_working_day(d("2026-11-20")));
    }
}
