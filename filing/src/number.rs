//! Filing numbers (province prefix + `ICP备` + year + serial + `号`, websites suffixed `-1`,
//! `-2`…) and receipt ids: their form, and formatting and splitting them.

use crate::{
    Rule,
    province::{PROVINCES, prefix_of_province},
    rule,
};

/// A filing number: province prefix, `ICP备`, year and serial, `号`, and for a website a `-n`
/// suffix. `website` says whether the suffix is required (`Some(true)`), forbidden
/// (`Some(false)`) or either.
pub fn filing_number(input: &str, website: Option<bool>) -> Result<String, Rule> {
    let value = input.trim();
    let bad = |why: String| rule("filing_number.format", why);
    let mut chars = value.chars();
    let prefix = chars.next().unwrap_or(' ');
    if !PROVINCES.iter().any(|(_, p)| *p == prefix) {
        return Err(bad(format!(
            "{value:?} does not start with a province prefix such as 京"
        )));
    }
    let rest = chars.as_str();
    let Some(rest) = rest.strip_prefix("ICP备") else {
        return Err(bad(format!(
            "{value:?} is not a filing number like 京ICP备2026000123号"
        )));
    };
    let Some((serial, suffix)) = rest.split_once('号') else {
        return Err(bad(format!("{value:?} does not end its serial with 号")));
    };
    if !(8..=12).contains(&serial.len()) || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("{value:?}: the serial must be 8 to 12 digits")));
    }
    let has_suffix = !suffix.is_empty();
    if has_suffix {
        let n = suffix.strip_prefix('-').unwrap_or("");
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
            return Err(bad(format!("{value:?}: a website suffix is -1, -2, …")));
        }
    }
    match website {
        Some(true) if !has_suffix => Err(rule(
            "filing_number.website_suffix_missing",
            format!("{value:?} names a subject; a website's filing number ends in -n"),
        )),
        Some(false) if has_suffix => Err(rule(
            "filing_number.website_suffix_unexpected",
            format!("{value:?} names a website; give the subject's filing number"),
        )),
        _ => Ok(value.to_owned()),
    }
}

/// A receipt id as issued here: `R` + date `YYYYMMDD` + `-` + 8 characters of Crockford base32.
pub fn receipt_id(input: &str) -> Result<String, Rule> {
    let value = input.trim();
    // ASCII first: the byte slices below must fall on character boundaries.
    let ok = value.len() == 18
        && value.is_ascii()
        && value.starts_with('R')
        && value[1..9].bytes().all(|b| b.is_ascii_digit())
        && value.as_bytes()[9] == b'-'
        && value[10..].bytes().all(|b| RECEIPT_ALPHABET.contains(&b));
    if ok {
        Ok(value.to_owned())
    } else {
        Err(rule(
            "receipt.format",
            format!("{value:?} is not a receipt id like R20261122-3F9K2Q7M"),
        ))
    }
}

/// Characters of the random part of receipt ids (Crockford base32).
pub const RECEIPT_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Largest serial a year can hold in six digits.
pub const MAX_SERIAL: u32 = 999_999;

/// Formats a subject's filing number, e.g. province 11, 2026, serial 123: `京ICP备2026000123号`.
/// `None` if the province has no authority or the year or serial do not fit.
pub fn format_filing_number(province: u32, year: i32, serial: u32) -> Option<String> {
    let prefix = prefix_of_province(province)?;
    if !(1..=MAX_SERIAL).contains(&serial) || !(1000..=9999).contains(&year) {
        return None;
    }
    Some(format!("{prefix}ICP备{year}{serial:06}号"))
}

/// Formats a website's number: the subject's number with its `-n` suffix.
pub fn website_number(filing_number: &str, website_seq: i32) -> String {
    format!("{filing_number}-{website_seq}")
}

/// Splits a website number into the subject's filing number and the website's suffix, e.g.
/// `京ICP备2026000123号-2` into (`京ICP备2026000123号`, 2). `None` if it has no valid suffix.
pub fn split_website_number(website_number: &str) -> Option<(&str, i32)> {
    let (filing, seq) = website_number.rsplit_once('-')?;
    if !filing.ends_with('号') || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: i32 = seq.parse().ok()?;
    (seq >= 1).then_some((filing, seq))
}

/// A website number must belong to the subject's filing number it is given with.
pub fn website_of(website_number: &str, filing_number: &str) -> Result<(), Rule> {
    let base = website_number
        .rsplit_once('-')
        .map(|(base, _)| base)
        .unwrap_or(website_number);
    if base == filing_number {
        Ok(())
    } else {
        Err(rule(
            "filing_number.other_subject",
            format!("{website_number:?} is not a website of {filing_number:?}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    #[test]
    fn numbers_look_like_the_manuals_say() {
        assert_eq!(
            format_filing_number(11, 2026, 123).as_deref(),
            Some("京ICP备2026000123号")
        );
        assert_eq!(
            format_filing_number(44, 2026, 999_999).as_deref(),
            Some("粤ICP备2026999999号")
        );
        assert_eq!(format_filing_number(44, 2026, 1_000_000), None);
        assert_eq!(format_filing_number(99, 2026, 1), None);
        assert_eq!(
            website_number("京ICP备2026000123号", 2),
            "京ICP备2026000123号-2"
        );
        let formatted = format_filing_number(33, 2026, 42).unwrap();
        assert_eq!(
            filing_number(&formatted, Some(false)),
            Ok(formatted.clone())
        );
    }

    #[test]
    fn website_numbers_split_only_with_a_real_suffix() {
        assert_eq!(
            split_website_number("京ICP备2026000123号-2"),
            Some(("京ICP备2026000123号", 2))
        );
        assert_eq!(split_website_number("京ICP备2026000123号"), None);
        assert_eq!(split_website_number("京ICP备2026000123号-0"), None);
        assert_eq!(split_website_number("京ICP备2026000123号-x"), None);
        assert_eq!(split_website_number("京ICP备2026000123号-+1"), None);
        assert!(website_of("京ICP备2026000123号-2", "京ICP备2026000123号").is_ok());
        assert_eq!(
            website_of("京ICP备2026000124号-2", "京ICP备2026000123号")
                .unwrap_err()
                .code,
            "filing_number.other_subject"
        );
    }

    #[test]
    fn filing_numbers_and_receipts() {
        assert!(filing_number("京ICP备2026000123号", Some(false)).is_ok());
        assert!(filing_number("京ICP备2026000123号-2", Some(true)).is_ok());
        assert_eq!(
            filing_number("京ICP备2026000123号", Some(true))
                .unwrap_err()
                .code,
            "filing_number.website_suffix_missing"
        );
        assert_eq!(
            broken(filing_number("港ICP备2026000123号", None)),
            "filing_number.format"
        );
        assert!(receipt_id("R20261122-3F9K2Q7M").is_ok());
        assert_eq!(broken(receipt_id("R20261122-3F9K2Q7I")), "receipt.format");
    }

    #[test]
    fn receipt_id_with_multibyte_characters_is_refused_not_a_panic() {
        // 18 bytes, but byte 9 falls inside a character.
        let tricky = "R2026112中-ABCDEF";
        assert_eq!(tricky.len(), 18);
        assert_eq!(broken(receipt_id(tricky)), "receipt.format");
        assert_eq!(broken(receipt_id("R中中中中中X")), "receipt.format");
    }
}
