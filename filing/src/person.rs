//! People named in a filing: real full names, mainland mobile and office phones, e-mail.

use bundle_format::records::CertificateType;

use crate::{Rule, domain::domain, privacy::masked, rule};

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{20000}'..='\u{2a6df}')
}

/// Titles that make a name a placeholder when they follow a bare surname ("王先生").
const PLACEHOLDER_TITLES: [&str; 8] =
    ["先生", "小姐", "女士", "老师", "经理", "总", "师傅", "同学"];
/// Words that are never a person's name.
const PLACEHOLDER_NAMES: [&str; 10] = [
    "个人",
    "本人",
    "无",
    "测试",
    "某某",
    "未知",
    "管理员",
    "站长",
    "test",
    "admin",
];

/// A person's real full name: no placeholders ("王先生", "个人"), no digits, no Latin letters
/// mixed with Chinese characters. Holders of passports may give a Latin-script name.
pub fn person_name(input: &str, certificate_type: CertificateType) -> Result<String, Rule> {
    let name = input.trim();
    let chars: Vec<char> = name.chars().collect();
    if chars.is_empty() {
        return Err(rule("name.empty", "the name is empty"));
    }
    if name.chars().any(|c| c.is_ascii_digit()) {
        return Err(rule(
            "name.digits",
            format!("{name:?} contains digits; give the real full name"),
        ));
    }
    let lower = name.to_lowercase();
    if PLACEHOLDER_NAMES.contains(&lower.as_str())
        || name.contains('某')
        || (chars.len() <= 4
            && chars.len() >= 2
            && PLACEHOLDER_TITLES
                .iter()
                .any(|title| name.ends_with(title) && chars.len() - title.chars().count() == 1))
    {
        return Err(rule(
            "name.placeholder",
            format!("{name:?} is a placeholder, not a real full name"),
        ));
    }
    let has_cjk = chars.iter().any(|c| is_cjk(*c));
    let has_latin = chars.iter().any(|c| c.is_ascii_alphabetic());
    if has_cjk && has_latin {
        return Err(rule(
            "name.mixed_script",
            format!("{name:?} mixes Chinese characters and Latin letters"),
        ));
    }
    if has_cjk {
        let allowed = chars.iter().all(|c| is_cjk(*c) || *c == '·' || *c == '•');
        if !allowed || chars.len() < 2 {
            return Err(rule(
                "name.invalid",
                format!("{name:?} is not a full name in Chinese characters"),
            ));
        }
    } else if has_latin {
        let foreign_document = certificate_type != CertificateType::ResidentId;
        let allowed = chars
            .iter()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'));
        if !foreign_document || !allowed {
            return Err(rule(
                "name.invalid",
                format!("{name:?}: a resident ID holder gives the name in Chinese characters"),
            ));
        }
    } else {
        return Err(rule("name.invalid", format!("{name:?} is not a name")));
    }
    Ok(name.to_owned())
}

/// A mainland mobile number: 11 digits starting 13 to 19, optionally with `+86`.
pub fn mobile_phone(input: &str) -> Result<String, Rule> {
    let compact: String = input
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '-')
        .collect();
    let digits = compact
        .strip_prefix("+86")
        .or_else(|| compact.strip_prefix("0086"))
        .unwrap_or(&compact);
    let well_formed = digits.len() == 11
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.starts_with('1')
        && (b'3'..=b'9').contains(&digits.as_bytes()[1]);
    if !well_formed {
        return Err(rule(
            "phone.mobile_format",
            format!(
                "{:?} is not a mainland mobile number (11 digits starting 13 to 19)",
                masked(input)
            ),
        ));
    }
    if digits[3..].bytes().all(|b| b == digits.as_bytes()[3]) {
        return Err(rule(
            "phone.fake",
            format!("{:?} is not a real number", masked(input)),
        ));
    }
    Ok(digits.to_owned())
}

fn is_fake_subscriber(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    let all_same = bytes.windows(2).all(|w| w[0] == w[1]);
    let ascending = bytes.windows(2).all(|w| w[1] == w[0] + 1);
    let descending = bytes.windows(2).all(|w| w[0] == w[1] + 1);
    all_same || ascending || descending
}

/// An office number with area code: `0AA-NNNNNNNN` or `0AAA-NNNNNNN`, optional `-extension`;
/// obviously fake subscriber numbers ("010-00000000", "010-12345678") are refused.
pub fn office_phone(input: &str) -> Result<String, Rule> {
    let value = input.trim();
    let mut parts = value.split('-');
    let area = parts.next().unwrap_or("");
    let subscriber = parts.next().unwrap_or("");
    let extension = parts.next();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let well_formed = parts.next().is_none()
        && digits(area)
        && area.starts_with('0')
        && (3..=4).contains(&area.len())
        && digits(subscriber)
        && (7..=8).contains(&subscriber.len())
        && !subscriber.starts_with('0')
        && extension.is_none_or(|e| digits(e) && e.len() <= 6);
    if !well_formed {
        if digits(subscriber) && subscriber.starts_with('0') && is_fake_subscriber(subscriber) {
            return Err(rule(
                "phone.fake",
                format!("{:?} is not a real number", masked(value)),
            ));
        }
        return Err(rule(
            "phone.office_format",
            format!(
                "{:?} is not an office number like 010-65881234 (area code, dash, 7 or 8 digits)",
                masked(value)
            ),
        ));
    }
    if is_fake_subscriber(subscriber) {
        return Err(rule(
            "phone.fake",
            format!("{:?} is not a real number", masked(value)),
        ));
    }
    Ok(value.to_owned())
}

/// Most bytes of an e-mail address.
pub const MAX_EMAIL_LEN: usize = 254;

/// An e-mail address: one `@`, a plausible local part, and a domain with a public suffix.
pub fn email(input: &str) -> Result<String, Rule> {
    let value = input.trim();
    let bad = |why: &str| {
        rule(
            "email.invalid",
            format!("{value:?} is not an e-mail address: {why}"),
        )
    };
    if value.len() > MAX_EMAIL_LEN {
        return Err(bad("too long"));
    }
    let (local, host) = value.rsplit_once('@').ok_or_else(|| bad("no @"))?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if !local_ok {
        return Err(bad("the part before @ is not valid"));
    }
    let host = domain(host).map_err(|r| bad(&r.message))?;
    Ok(format!("{local}@{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    #[test]
    fn phones_and_emails() {
        assert_eq!(mobile_phone("+86 138 1234 5678").unwrap(), "13812345678");
        assert_eq!(broken(mobile_phone("12812345678")), "phone.mobile_format");
        assert_eq!(broken(mobile_phone("13800000000")), "phone.fake");
        assert!(office_phone("010-65881234").is_ok());
        assert!(office_phone("0755-86013388-801").is_ok());
        assert_eq!(broken(office_phone("010-00000000")), "phone.fake");
        assert_eq!(broken(office_phone("010-12345678")), "phone.fake");
        assert_eq!(broken(office_phone("65881234")), "phone.office_format");
        assert_eq!(
            email("Zhang.San@例子.公司.cn").unwrap(),
            "Zhang.San@xn--fsqu00a.xn--55qx5d.cn"
        );
        assert_eq!(broken(email("zhangsan.example.com")), "email.invalid");
        assert_eq!(broken(email("a..b@example.com")), "email.invalid");
    }

    #[test]
    fn placeholder_and_mixed_names_are_refused() {
        let id = CertificateType::ResidentId;
        assert!(person_name("张三丰", id).is_ok());
        assert!(person_name("阿依古丽·买买提", id).is_ok());
        for placeholder in ["王先生", "李小姐", "个人", "张某", "测试"] {
            assert_eq!(
                person_name(placeholder, id).unwrap_err().code,
                "name.placeholder",
                "{placeholder}"
            );
        }
        assert_eq!(broken(person_name("张三1", id)), "name.digits");
        assert_eq!(broken(person_name("张San", id)), "name.mixed_script");
        assert_eq!(broken(person_name("John Smith", id)), "name.invalid");
        assert!(person_name("John Smith", CertificateType::Passport).is_ok());
    }
}
