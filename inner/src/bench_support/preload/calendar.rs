//! The preload's calendar: when each preloaded filing was approved, and the filing numbers and
//! serial counters that follows from.

use super::PROVINCE;
use crate::filing_number;

/// When preloaded filing `k` of `n` was approved: evenly from years back (far enough that no
/// year hands out more serials than a province has) to two days before `now`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Calendar {
    n: usize,
    start: i64,
    span: i64,
}

impl Calendar {
    pub(super) fn new(n: usize, now: i64) -> Calendar {
        let end = now - 2 * 86_400;
        // At most about 800,000 approvals a year in the province (999,999 serials).
        let span = (i64::try_from(n).unwrap_or(i64::MAX) / 800_000 + 1) * 365 * 86_400;
        Calendar {
            n,
            start: end - span,
            span,
        }
    }

    pub(super) fn approved_at(&self, k: usize) -> i64 {
        let k = i128::try_from(k).unwrap_or(0);
        let n = i128::try_from(self.n.max(1)).unwrap_or(1);
        self.start + i64::try_from(k * i128::from(self.span) / n).unwrap_or(0)
    }

    /// The first filing approved at or after `at`.
    pub(super) fn first_at(&self, at: i64) -> usize {
        if at <= self.start {
            return 0;
        }
        let n = i128::try_from(self.n).unwrap_or(0);
        let num = i128::from(at - self.start) * n;
        let span = i128::from(self.span);
        let k = (num + span - 1) / span;
        usize::try_from(k).unwrap_or(usize::MAX).min(self.n)
    }

    pub(super) fn year_of(at: i64) -> i32 {
        time::OffsetDateTime::from_unix_timestamp(at).map_or(1970, |t| t.year())
    }

    pub(super) fn year_start(year: i32) -> i64 {
        time::Date::from_calendar_date(year, time::Month::January, 1)
            .map(|d| d.midnight().assume_utc().unix_timestamp())
            .unwrap_or(0)
    }

    /// Filing `k`'s number.
    pub(super) fn filing_number(&self, k: usize) -> String {
        let year = Self::year_of(self.approved_at(k));
        let serial = k - self.first_at(Self::year_start(year)) + 1;
        filing_number::format(
            u32::try_from(PROVINCE).unwrap_or(0),
            year,
            u32::try_from(serial).unwrap_or(0),
        )
        .unwrap_or_default()
    }

    /// The serial counters the approvals left: (year, last serial) for every year with one.
    pub(super) fn serials(&self) -> Vec<(i32, i32)> {
        if self.n == 0 {
            return Vec::new();
        }
        let first = Self::year_of(self.approved_at(0));
        let last = Self::year_of(self.approved_at(self.n - 1));
        (first..=last)
            .filter_map(|year| {
                let from = self.first_at(Self::year_start(year));
                let to = self.first_at(Self::year_start(year + 1));
                (to > from).then(|| (year, i32::try_from(to - from).unwrap_or(i32::MAX)))
            })
            .collect()
    }
}
