//! The 31 regional filing authorities (GB/T 2260 province codes and filing-number prefixes) and
//! region codes: the subject's province decides who reviews a filing and how its number starts.

use crate::{Rule, rule};

/// The 31 regional authorities: GB/T 2260 province code and filing-number prefix.
pub const PROVINCES: [(u32, char); 31] = [
    (11, '京'),
    (12, '津'),
    (13, '冀'),
    (14, '晋'),
    (15, '蒙'),
    (21, '辽'),
    (22, '吉'),
    (23, '黑'),
    (31, '沪'),
    (32, '苏'),
    (33, '浙'),
    (34, '皖'),
    (35, '闽'),
    (36, '赣'),
    (37, '鲁'),
    (41, '豫'),
    (42, '鄂'),
    (43, '湘'),
    (44, '粤'),
    (45, '桂'),
    (46, '琼'),
    (50, '渝'),
    (51, '蜀'),
    (52, '黔'),
    (53, '滇'),
    (54, '藏'),
    (61, '陕'),
    (62, '陇'),
    (63, '青'),
    (64, '宁'),
    (65, '新'),
];

/// The filing-number prefix of the authority for a six-digit region code.
pub fn province_prefix(region_code: u32) -> Option<char> {
    prefix_of_province(region_code / 10_000)
}

/// A six-digit GB/T 2260 region code whose province is one of the 31 authorities.
pub fn region_code(input: &str) -> Result<u32, Rule> {
    let input = input.trim();
    if input.len() != 6 || !input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(rule(
            "region_code.format",
            format!("{input:?} is not a six-digit region code"),
        ));
    }
    let code: u32 = input
        .parse()
        .map_err(|_| rule("region_code.format", "not a number"))?;
    region_code_number(code)
}

/// A region code already held as a number (as records carry it): six digits, in one of the 31
/// provinces with a filing authority. [`region_code`] is this for typed text.
pub fn region_code_number(code: u32) -> Result<u32, Rule> {
    if code > 999_999 {
        return Err(rule(
            "region_code.format",
            format!("{code} is not a six-digit region code"),
        ));
    }
    if province_prefix(code).is_none() {
        return Err(rule(
            "region_code.province",
            format!(
                "{code:06} is not in one of the 31 provinces with a filing authority (first two digits {:02})",
                code / 10_000
            ),
        ));
    }
    Ok(code)
}

/// The filing-number prefix of a two-digit province code, if it is one of the 31 authorities.
pub fn prefix_of_province(province: u32) -> Option<char> {
    PROVINCES
        .iter()
        .find(|(code, _)| *code == province)
        .map(|(_, prefix)| *prefix)
}

/// The province of a six-digit region code, if it names one of the 31 authorities.
pub fn province_of_region(region_code: u32) -> Option<u32> {
    let province = region_code / 10_000;
    ((100_000..=999_999).contains(&region_code) && prefix_of_province(province).is_some())
        .then_some(province)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    #[test]
    fn region_codes_pick_the_province() {
        assert_eq!(province_of_region(110_105), Some(11));
        assert_eq!(province_of_region(440_305), Some(44));
        assert_eq!(province_of_region(710_000), None, "no authority for 71");
        assert_eq!(province_of_region(11), None);
    }

    #[test]
    fn region_codes_as_numbers() {
        assert_eq!(region_code_number(330_106).unwrap(), 330_106);
        assert_eq!(broken(region_code_number(990_000)), "region_code.province");
        assert_eq!(broken(region_code_number(12_345)), "region_code.province");
        assert_eq!(broken(region_code_number(3_301_060)), "region_code.format");
        assert_eq!(broken(region_code("012345")), "region_code.province");
    }

    #[test]
    fn the_31_provinces_and_nothing_else() {
        assert_eq!(PROVINCES.len(), 31);
        assert_eq!(region_code("110105").unwrap(), 110105);
        assert_eq!(province_prefix(440305), Some('粤'));
        assert_eq!(province_prefix(510104), Some('蜀'));
        assert_eq!(broken(region_code("810000")), "region_code.province");
        assert_eq!(broken(region_code("71000")), "region_code.format");
    }
}
