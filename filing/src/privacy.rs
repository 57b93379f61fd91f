//! Personal numbers in what the rules say: a resident ID, a passport or permit number or a
//! phone number is shown with only its last four characters, so that a refusal can be logged,
//! kept in a quarantine report or carried in an audit line without spreading the number. The
//! submitter still recognises which entry is meant.

/// `personal` with every character but the last four replaced by `*` (all of them, when it has
/// four or fewer), trimmed first; quoted when shown with `{:?}` like the value it stands for.
pub fn masked(personal: &str) -> String {
    let chars: Vec<char> = personal.trim().chars().collect();
    let hidden = if chars.len() > 4 {
        chars.len() - 4
    } else {
        chars.len()
    };
    std::iter::repeat_n('*', hidden)
        .chain(chars[hidden..].iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use bundle_format::records::CertificateType;

    use super::*;
    use crate::{certificate_number, mobile_phone, office_phone, resident_id};

    #[test]
    fn only_the_last_four_characters_are_shown() {
        assert_eq!(masked(" 11010519491231002X "), "**************002X");
        assert_eq!(masked("13912345678"), "*******5678");
        assert_eq!(masked("1234"), "****");
        assert_eq!(masked("王"), "*");
        assert_eq!(masked(""), "");
    }

    /// A refusal echoed into logs and quarantine reports must not carry a person's number: every
    /// rule over identity documents and phones names the entry by its last four characters.
    #[test]
    fn personal_numbers_never_appear_whole_in_a_refusal() {
        let refusals = [
            ("110105194912310021", resident_id("110105194912310021")),
            ("110105199913310027", resident_id("110105199913310027")),
            ("11010519491231002", resident_id("11010519491231002")),
            ("1101051949123100A2", resident_id("1101051949123100A2")),
            (
                "E1234_5678",
                certificate_number(CertificateType::Passport, "E1234_5678"),
            ),
            (
                "X12345678",
                certificate_number(CertificateType::HongKongMacaoPermit, "X12345678"),
            ),
            (
                "123456789",
                certificate_number(CertificateType::TaiwanPermit, "123456789"),
            ),
            ("1391234567", mobile_phone("1391234567")),
            ("13900000000", mobile_phone("13900000000")),
            ("010-6588123A", office_phone("010-6588123A")),
            ("010-00000000", office_phone("010-00000000")),
            ("0101-12345678", office_phone("0101-12345678")),
        ];
        for (number, refused) in refusals {
            let rule = refused.expect_err(number);
            assert!(!rule.message.contains(number), "{number}: {}", rule.message);
            let last_four: String = number.chars().skip(number.chars().count() - 4).collect();
            assert!(
                rule.message.contains(&last_four),
                "{number}: {}",
                rule.message
            );
        }
    }
}
