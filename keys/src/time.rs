//! The one way Sluice writes and reads times for people: Unix seconds (what headers, keysets,
//! ledgers and databases store) shown as RFC 3339 in UTC, `2026-12-03T07:41:38Z`.
//!
//! Every crate that prints a time uses these, so a time in a report, a certificate, a keyset
//! listing and a quarantine reason reads the same everywhere and can be compared by eye.

use ::time::OffsetDateTime;
use ::time::format_description::well_known::Rfc3339;

/// A point in time as Sluice stores it: seconds since the Unix epoch, UTC. Bundle headers,
/// keysets, ledgers and both stores all use this one representation.
pub type UnixSeconds = i64;

/// Formats Unix seconds as RFC 3339 UTC with whole seconds (`2026-12-03T07:41:38Z`).
///
/// A time RFC 3339 cannot express (before year 0 or after 9999) is shown as its number of
/// seconds rather than refused: these strings are for people reading a report, and a report
/// must not fail because one value in it is odd.
pub fn rfc3339(seconds: UnixSeconds) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| seconds.to_string())
}

/// Parses an RFC 3339 time (`2027-01-01T00:00:00Z`, or with an offset such as `+08:00`) into
/// Unix seconds; `None` if it is not one. Fractions of a second are dropped.
pub fn parse_rfc3339(text: &str) -> Option<UnixSeconds> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_whole_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_283_698), "2026-12-03T07:41:38Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn times_rfc3339_cannot_express_are_shown_as_numbers() {
        assert_eq!(rfc3339(253_402_300_800), "253402300800");
        assert_eq!(rfc3339(i64::MAX), i64::MAX.to_string());
        assert_eq!(rfc3339(i64::MIN), i64::MIN.to_string());
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for seconds in [0, 1_796_283_698, 253_402_300_799] {
            assert_eq!(parse_rfc3339(&rfc3339(seconds)), Some(seconds));
        }
        assert_eq!(
            parse_rfc3339("2026-12-03T15:41:38+08:00"),
            Some(1_796_283_698)
        );
        assert_eq!(parse_rfc3339("2026-12-03T07:41:38.9Z"), Some(1_796_283_698));
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("1796283698"), None);
    }
}
