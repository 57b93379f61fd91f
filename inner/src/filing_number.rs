//! Filing numbers: province prefix + `ICP备` + year + six-digit serial + `号`, e.g.
//! `京ICP备2026000123号`; a website's number adds `-1`, `-2`… The serials are handed out by the
//! database (see [`crate::review`]); this module only formats and parses.

/// The 31 regional authorities: GB/T 2260 province code and filing-number prefix.
pub const PROVINCES: [(u32, &str); 31] = [
    (11, "京"),
    (12, "津"),
    (13, "冀"),
    (14, "晋"),
    (15, "蒙"),
    (21, "辽"),
    (22, "吉"),
    (23, "黑"),
    (31, "沪"),
    (32, "苏"),
    (33, "浙"),
    (34, "皖"),
    (35, "闽"),
    (36, "赣"),
    (37, "鲁"),
    (41, "豫"),
    (42, "鄂"),
    (43, "湘"),
    (44, "粤"),
    (45, "桂"),
    (46, "琼"),
    (50, "渝"),
    (51, "蜀"),
    (52, "黔"),
    (53, "滇"),
    (54, "藏"),
    (61, "陕"),
    (62, "陇"),
    (63, "青"),
    (64, "宁"),
    (65, "新"),
];

/// Largest serial a year can hold in six digits.
pub const MAX_SERIAL: u32 = 999_999;

/// The prefix of a province code, if it is one of the 31 authorities.
pub fn province_prefix(province: u32) -> Option<&'static str> {
    PROVINCES
        .iter()
        .find(|(code, _)| *code == province)
        .map(|(_, prefix)| *prefix)
}

/// The province of a six-digit region code, if it names one of the 31 authorities.
pub fn province_of_region(region_code: u32) -> Option<u32> {
    let province = region_code / 10_000;
    ((100_000..=999_999).contains(&region_code) && province_prefix(province).is_some())
        .then_some(province)
}

/// Formats a subject's filing number.
pub fn format(province: u32, year: i32, serial: u32) -> Option<String> {
    let prefix = province_prefix(province)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_look_like_the_manuals_say() {
        assert_eq!(
            format(11, 2026, 123).as_deref(),
            Some("京ICP备2026000123号")
        );
        assert_eq!(
            format(44, 2026, 999_999).as_deref(),
            Some("粤ICP备2026999999号")
        );
        assert_eq!(format(44, 2026, 1_000_000), None);
        assert_eq!(format(99, 2026, 1), None);
        assert_eq!(
            website_number("京ICP备2026000123号", 2),
            "京ICP备2026000123号-2"
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
    }

    #[test]
    fn region_codes_pick_the_province() {
        assert_eq!(province_of_region(110_105), Some(11));
        assert_eq!(province_of_region(440_305), Some(44));
        assert_eq!(province_of_region(710_000), None, "no authority for 71");
        assert_eq!(province_of_region(11), None);
    }
}
