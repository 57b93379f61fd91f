//! Properties of the validation rules over arbitrary input: no rule panics on any string (they
//! run on untrusted request fields), and what a rule accepts it accepts again unchanged.

use bundle_format::records::CertificateType;
use filing as validate;
use proptest::prelude::*;

/// Strings mixing ASCII, CJK, punctuation and multibyte characters at any byte position.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[0-9A-Za-z./:\\-\\[\\]@_中国-]{0,40}",
        "R[0-9]{0,9}[-中]{0,2}[0-9A-Z]{0,9}",
    ]
}

const CERTIFICATE_TYPES: [CertificateType; 10] = [
    CertificateType::UnifiedSocialCreditCode,
    CertificateType::BusinessLicense,
    CertificateType::OrganizationCode,
    CertificateType::PublicInstitutionCertificate,
    CertificateType::SocialGroupCertificate,
    CertificateType::MilitaryCode,
    CertificateType::ResidentId,
    CertificateType::Passport,
    CertificateType::HongKongMacaoPermit,
    CertificateType::TaiwanPermit,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn no_rule_panics_and_accepted_values_are_stable(input in field(), kind in 0usize..10) {
        let kind = CERTIFICATE_TYPES[kind];
        if let Ok(ascii) = validate::domain(&input) {
            prop_assert_eq!(validate::domain(&ascii), Ok(ascii.clone()));
        }
        if let Ok(range) = validate::ip_range(&input) {
            let shown = if range.first == range.last {
                range.first.to_string()
            } else {
                format!("{}-{}", range.first, range.last)
            };
            prop_assert_eq!(validate::ip_range(&shown), Ok(range));
        }
        if let Ok((url, _)) = validate::home_url(&input) {
            prop_assert_eq!(validate::home_url(&url).map(|(u, _)| u), Ok(url.clone()));
        }
        if let Ok(number) = validate::certificate_number(kind, &input) {
            prop_assert_eq!(validate::certificate_number(kind, &number), Ok(number.clone()));
        }
        if let Ok(name) = validate::person_name(&input, kind) {
            prop_assert_eq!(validate::person_name(&name, kind), Ok(name.clone()));
        }
        for result in [
            validate::mobile_phone(&input),
            validate::office_phone(&input),
            validate::email(&input),
            validate::filing_number(&input, None),
            validate::receipt_id(&input),
            validate::address(&input),
            validate::required_text(&input, 64),
        ]
        .into_iter()
        .flatten()
        {
            prop_assert!(!result.is_empty());
        }
        let _ = validate::region_code(&input);
        let _ = validate::looks_like_domain(&input);
    }
}
