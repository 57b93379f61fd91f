//! Certificate numbers and their check characters: resident IDs (GB 11643), unified social
//! credit codes (GB 32100), organisation codes (GB 11714) and the other documents the manuals
//! accept, and which certificate types fit which subject nature.

use bundle_format::records::{CertificateType, SubjectNature};

use crate::{Rule, privacy::masked, rule};

/// Weights of GB 11643 for the 17 digits before the check character.
pub const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check characters of GB 11643 by sum mod 11.
pub const RESIDENT_ID_CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The GB 11643 check character for the first 17 digits, or `None` if they are not 17 digits.
pub fn resident_id_check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, weight) in first17.chars().zip(RESIDENT_ID_WEIGHTS) {
        sum += c.to_digit(10)? * weight;
    }
    Some(RESIDENT_ID_CHECK[(sum % 11) as usize])
}

/// An 18-character resident identity number (GB 11643): region, birth date, sequence, check.
pub fn resident_id(input: &str) -> Result<String, Rule> {
    let id = input.trim().to_ascii_uppercase();
    let shown = masked(input);
    if id.len() != 18 || !id.is_ascii() {
        return Err(rule(
            "resident_id.format",
            format!("{shown:?} is not an 18-character resident ID number"),
        ));
    }
    let (first17, check) = id.split_at(17);
    let Some(expected) = resident_id_check_char(first17) else {
        return Err(rule(
            "resident_id.format",
            format!("{shown:?}: the first 17 characters must be digits"),
        ));
    };
    let year: i32 = first17[6..10].parse().unwrap_or(0);
    let month: u8 = first17[10..12].parse().unwrap_or(0);
    let day: u8 = first17[12..14].parse().unwrap_or(0);
    let date_ok = year >= 1850
        && time::Month::try_from(month)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(year, m, day).ok())
            .is_some();
    if !date_ok {
        return Err(rule(
            "resident_id.birth_date",
            format!("{shown:?} does not hold a valid birth date"),
        ));
    }
    if !check.starts_with(expected) {
        return Err(rule(
            "resident_id.check_digit",
            format!("{shown:?}: the check character should be {expected}; the number is mistyped"),
        ));
    }
    Ok(id)
}

/// Characters of GB 32100 codes, in value order (no I, O, S, V, Z).
pub const USCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of GB 32100 for the 17 characters before the check character.
pub const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn uscc_value(c: char) -> Option<u32> {
    USCC_CHARSET.find(c).and_then(|i| u32::try_from(i).ok())
}

/// The GB 32100 check character for the first 17 characters.
pub fn uscc_check_char(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, weight) in first17.chars().zip(USCC_WEIGHTS) {
        sum += uscc_value(c)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    USCC_CHARSET.chars().nth(check as usize)
}

/// An 18-character unified social credit code (GB 32100).
pub fn unified_social_credit_code(input: &str) -> Result<String, Rule> {
    let code = input.trim().to_ascii_uppercase();
    if code.len() != 18 || !code.is_ascii() {
        return Err(rule(
            "uscc.format",
            format!("{input:?} is not an 18-character unified social credit code"),
        ));
    }
    let (first17, check) = code.split_at(17);
    let Some(expected) = uscc_check_char(first17) else {
        return Err(rule(
            "uscc.format",
            format!("{input:?} has characters outside the code's alphabet (no I, O, S, V, Z)"),
        ));
    };
    if !first17[2..8].bytes().all(|b| b.is_ascii_digit()) {
        return Err(rule(
            "uscc.format",
            format!("{input:?}: characters 3 to 8 must be the region code"),
        ));
    }
    if !check.starts_with(expected) {
        return Err(rule(
            "uscc.check_digit",
            format!("{input:?}: the check character should be {expected}; the code is mistyped"),
        ));
    }
    Ok(code)
}

/// Weights of GB 11714 organisation codes.
pub const ORGANIZATION_CODE_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A nine-character organisation code (GB 11714), with or without the dash before the check.
pub fn organization_code(input: &str) -> Result<String, Rule> {
    let code: String = input.trim().to_ascii_uppercase().replace('-', "");
    let value = |c: char| match c {
        '0'..='9' => c.to_digit(10),
        'A'..='Z' => Some(u32::from(c) - u32::from('A') + 10),
        _ => None,
    };
    if code.len() != 9 {
        return Err(rule(
            "organization_code.format",
            format!("{input:?} is not a nine-character organisation code"),
        ));
    }
    let mut sum = 0;
    for (c, weight) in code.chars().take(8).zip(ORGANIZATION_CODE_WEIGHTS) {
        let Some(v) = value(c) else {
            return Err(rule(
                "organization_code.format",
                format!("{input:?} has characters other than digits and letters"),
            ));
        };
        sum += v * weight;
    }
    let expected = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).unwrap_or('?'),
    };
    if !code.ends_with(expected) {
        return Err(rule(
            "organization_code.check_digit",
            format!("{input:?}: the check character should be {expected}"),
        ));
    }
    Ok(code)
}

/// A certificate number of the given type, normalised.
pub fn certificate_number(kind: CertificateType, input: &str) -> Result<String, Rule> {
    let value = input.trim();
    let alnum = |min: usize, max: usize, code: &'static str, what: &str| {
        let upper = value.to_ascii_uppercase();
        if (min..=max).contains(&upper.len()) && upper.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(upper)
        } else {
            Err(rule(
                code,
                format!("{:?} is not a valid {what} number", masked(value)),
            ))
        }
    };
    match kind {
        CertificateType::UnifiedSocialCreditCode => unified_social_credit_code(value),
        CertificateType::ResidentId => resident_id(value),
        CertificateType::OrganizationCode => organization_code(value),
        CertificateType::BusinessLicense => {
            if value.len() == 15 && value.bytes().all(|b| b.is_ascii_digit()) {
                Ok(value.to_owned())
            } else {
                Err(rule(
                    "business_license.format",
                    format!("{value:?} is not a 15-digit business registration number"),
                ))
            }
        }
        CertificateType::Passport => alnum(5, 17, "passport.format", "passport"),
        CertificateType::HongKongMacaoPermit => {
            let upper = value.to_ascii_uppercase();
            let ok = (upper.starts_with('H') || upper.starts_with('M'))
                && (9..=11).contains(&upper.len())
                && upper[1..].bytes().all(|b| b.is_ascii_digit());
            if ok {
                Ok(upper)
            } else {
                Err(rule(
                    "permit.format",
                    format!(
                        "{:?} is not a Hong Kong/Macao permit number (H or M and 8 to 10 digits)",
                        masked(value)
                    ),
                ))
            }
        }
        CertificateType::TaiwanPermit => {
            let ok = (value.len() == 8 || value.len() == 10)
                && value.bytes().all(|b| b.is_ascii_digit());
            if ok {
                Ok(value.to_owned())
            } else {
                Err(rule(
                    "permit.format",
                    format!(
                        "{:?} is not a Taiwan permit number (8 or 10 digits)",
                        masked(value)
                    ),
                ))
            }
        }
        CertificateType::PublicInstitutionCertificate
        | CertificateType::SocialGroupCertificate
        | CertificateType::MilitaryCode => {
            if value.chars().count() >= 4 {
                Ok(value.to_owned())
            } else {
                Err(rule(
                    "certificate_number.format",
                    format!("{value:?} is too short to be a certificate number"),
                ))
            }
        }
    }
}

/// The certificate types a subject of this nature may file with.
pub fn certificate_types_for(nature: SubjectNature) -> &'static [CertificateType] {
    use CertificateType as C;
    match nature {
        SubjectNature::Enterprise => &[C::UnifiedSocialCreditCode, C::BusinessLicense],
        SubjectNature::Government => &[C::UnifiedSocialCreditCode, C::OrganizationCode],
        SubjectNature::PublicInstitution => &[
            C::UnifiedSocialCreditCode,
            C::PublicInstitutionCertificate,
            C::OrganizationCode,
        ],
        SubjectNature::SocialGroup => &[
            C::UnifiedSocialCreditCode,
            C::SocialGroupCertificate,
            C::OrganizationCode,
        ],
        SubjectNature::Individual => &[
            C::ResidentId,
            C::Passport,
            C::HongKongMacaoPermit,
            C::TaiwanPermit,
        ],
        SubjectNature::Military => &[C::MilitaryCode],
    }
}

/// Identity documents a person may give.
pub const PERSON_CERTIFICATE_TYPES: [CertificateType; 4] = [
    CertificateType::ResidentId,
    CertificateType::Passport,
    CertificateType::HongKongMacaoPermit,
    CertificateType::TaiwanPermit,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    /// GB 11643 check character computed here from the standard's weights 2^(17-i) mod 11,
    /// independently of the table in the module.
    fn gb11643_check(first17: &str) -> char {
        let sum: u32 = first17
            .chars()
            .enumerate()
            .map(|(i, c)| c.to_digit(10).unwrap() * ((1u32 << (17 - i)) % 11))
            .sum();
        let value = (12 - sum % 11) % 11;
        if value == 10 {
            'X'
        } else {
            char::from_digit(value, 10).unwrap()
        }
    }

    /// GB 32100 check character computed from the standard's weights 3^i mod 31.
    fn gb32100_check(first17: &str) -> char {
        let alphabet: Vec<char> = "0123456789ABCDEFGHJKLMNPQRTUWXY".chars().collect();
        let mut weight = 1u32;
        let mut sum = 0;
        for c in first17.chars() {
            sum += u32::try_from(alphabet.iter().position(|a| *a == c).unwrap()).unwrap() * weight;
            weight = weight * 3 % 31;
        }
        alphabet[((31 - sum % 31) % 31) as usize]
    }

    #[test]
    fn resident_ids_from_the_standard_are_accepted() {
        // The two examples printed in GB 11643-1999.
        assert_eq!(
            resident_id("11010519491231002x").unwrap(),
            "11010519491231002X"
        );
        assert!(resident_id("440524188001010014").is_ok());
    }

    #[test]
    fn resident_id_with_computed_check_digit_is_accepted_and_every_other_digit_refused() {
        let first17 = "32010619850315241";
        let good = gb11643_check(first17);
        assert!(resident_id(&format!("{first17}{good}")).is_ok());
        for wrong in "0123456789X".chars().filter(|c| *c != good) {
            let err = resident_id(&format!("{first17}{wrong}")).unwrap_err();
            assert_eq!(err.code, "resident_id.check_digit", "{wrong}");
            assert!(err.message.contains(good));
        }
    }

    #[test]
    fn resident_id_with_impossible_birth_date_is_refused() {
        let first17 = "11010519490231002"; // 31 February
        let id = format!("{first17}{}", gb11643_check(first17));
        assert_eq!(broken(resident_id(&id)), "resident_id.birth_date");
        assert_eq!(broken(resident_id("1101051949")), "resident_id.format");
    }

    #[test]
    fn credit_codes_of_real_companies_are_accepted() {
        for code in [
            "914403001922038216",
            "9144030071526726XG",
            "91330100799655058B",
        ] {
            assert!(unified_social_credit_code(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn credit_code_with_wrong_check_character_is_refused() {
        let first17 = "91110108MA01ABCD1";
        let good = gb32100_check(first17);
        assert!(unified_social_credit_code(&format!("{first17}{good}")).is_ok());
        let wrong = if good == '0' { '1' } else { '0' };
        assert_eq!(
            unified_social_credit_code(&format!("{first17}{wrong}"))
                .unwrap_err()
                .code,
            "uscc.check_digit"
        );
        // I, O, S, V and Z are not in the alphabet.
        assert_eq!(
            unified_social_credit_code("91110108MA01ABCO1X")
                .unwrap_err()
                .code,
            "uscc.format"
        );
    }

    #[test]
    fn organization_codes_are_checked() {
        assert!(organization_code("19220382-1").is_ok());
        assert!(organization_code("71526726-X").is_ok());
        assert_eq!(
            broken(organization_code("19220382-2")),
            "organization_code.check_digit"
        );
    }

    #[test]
    fn nature_decides_certificate_types() {
        assert!(
            certificate_types_for(SubjectNature::Enterprise)
                .contains(&CertificateType::UnifiedSocialCreditCode)
        );
        assert!(
            !certificate_types_for(SubjectNature::Enterprise)
                .contains(&CertificateType::ResidentId)
        );
        assert!(
            certificate_types_for(SubjectNature::Individual).contains(&CertificateType::ResidentId)
        );
        assert!(
            !certificate_types_for(SubjectNature::Individual)
                .contains(&CertificateType::BusinessLicense)
        );
    }
}
