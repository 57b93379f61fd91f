//! The filing manuals' rules (DESIGN.md, "Rules the filing manuals state"), one function per
//! field kind. Each returns the normalised value or a [`Rule`] broken; [`crate::convert`] walks a
//! submission, calls these and collects every problem at once.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bundle_format::records::{CertificateType, IpRange, SubjectNature};

/// A rule a value breaks: a stable code and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable code, e.g. `resident_id.check_digit`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

fn rule(code: &'static str, message: impl Into<String>) -> Rule {
    Rule {
        code,
        message: message.into(),
    }
}

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
    let province = region_code / 10_000;
    PROVINCES
        .iter()
        .find(|(code, _)| *code == province)
        .map(|(_, prefix)| *prefix)
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

/// Most characters of a domain name in ASCII form.
pub const MAX_DOMAIN_LEN: usize = 253;

/// A domain as typed: converted to lower-case punycode (IDNA/UTS 46), checked for a registrable
/// name under the public suffix list.
pub fn domain(input: &str) -> Result<String, Rule> {
    let ascii = domain_ascii(input)?;
    let known_suffix = psl::suffix(ascii.as_bytes()).is_some_and(|suffix| suffix.is_known());
    let registrable = psl::domain(ascii.as_bytes()).is_some();
    if !known_suffix || !registrable {
        let typed = input.trim().trim_end_matches('.');
        return Err(rule(
            "domain.not_registrable",
            format!("{typed:?} is not a registrable domain under the public suffix list"),
        ));
    }
    Ok(ascii)
}

/// [`domain`] without the public suffix list: a domain as typed, converted to lower-case
/// punycode and checked label by label. What a domain must be whatever the list's edition (the
/// import re-checks this; whether a suffix is registrable depends on when the list was built).
pub fn domain_ascii(input: &str) -> Result<String, Rule> {
    let typed = input.trim().trim_end_matches('.');
    if typed.is_empty() {
        return Err(rule("domain.empty", "the domain is empty"));
    }
    if typed.parse::<IpAddr>().is_ok() {
        return Err(rule(
            "domain.ip_literal",
            format!("{typed:?} is an IP address; list it under the access IP ranges"),
        ));
    }
    if typed.contains('*') {
        return Err(rule(
            "domain.wildcard",
            format!("{typed:?}: list every domain the site serves; wildcards are not filed"),
        ));
    }
    let ascii = idna::domain_to_ascii(typed).map_err(|_| {
        rule(
            "domain.invalid",
            format!("{typed:?} is not a valid internationalised domain name"),
        )
    })?;
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(rule(
            "domain.too_long",
            format!(
                "{typed:?} is {} characters in ASCII form; at most {MAX_DOMAIN_LEN}",
                ascii.len()
            ),
        ));
    }
    for label in ascii.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(rule(
                "domain.invalid",
                format!("{typed:?} has an invalid label {label:?}"),
            ));
        }
    }
    Ok(ascii)
}

/// The reserved IPv4 blocks (RFC 6890 and successors) a public website cannot be served from.
const RESERVED_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 0, 0, 0), 24),
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(192, 88, 99, 0), 24),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(224, 0, 0, 0), 4),
    (Ipv4Addr::new(240, 0, 0, 0), 4),
];

/// Reserved blocks inside IPv6 global unicast (2000::/3); everything outside it is refused too.
const RESERVED_V6: [(Ipv6Addr, u8); 4] = [
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20),
];

/// Most addresses one IPv4 range may span (a /16).
pub const MAX_V4_RANGE: u128 = 1 << 16;
/// Most addresses one IPv6 range may span (a /32).
pub const MAX_V6_RANGE: u128 = 1 << 96;

fn v4_block(base: Ipv4Addr, len: u8) -> (u128, u128) {
    let first = u128::from(u32::from(base));
    let size = 1u128 << (32 - u32::from(len));
    (first, first + size - 1)
}

fn v6_block(base: Ipv6Addr, len: u8) -> (u128, u128) {
    let first = u128::from(base);
    let size_minus_one = if len == 0 {
        u128::MAX
    } else {
        (1u128 << (128 - u32::from(len))) - 1
    };
    (first, first | size_minus_one)
}

fn overlaps(a: (u128, u128), b: (u128, u128)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// An address, a CIDR block or `first-last`, IPv4 or IPv6, entirely in public address space.
pub fn ip_range(input: &str) -> Result<IpRange, Rule> {
    let input = input.trim();
    let bad = || {
        rule(
            "ip.invalid",
            format!("{input:?} is not an IP address, CIDR block or first-last range"),
        )
    };
    let (first, last) = if let Some((a, b)) = input.split_once('-') {
        let first: IpAddr = a.trim().parse().map_err(|_| bad())?;
        let last: IpAddr = b.trim().parse().map_err(|_| bad())?;
        (first, last)
    } else if input.contains('/') {
        let net: ipnet::IpNet = input.parse().map_err(|_| bad())?;
        if net.network() != net.addr() {
            return Err(rule(
                "ip.invalid",
                format!(
                    "{input:?} has host bits set; the block starts at {}",
                    net.network()
                ),
            ));
        }
        (net.network(), net.broadcast())
    } else {
        let addr: IpAddr = input.parse().map_err(|_| bad())?;
        (addr, addr)
    };
    judge_ip_range(first, last, &Quoted(input))
}

/// An IP range already parsed (as records carry it): one family, ordered, not too large and
/// entirely in public address space, by the same rules as [`ip_range`].
pub fn parsed_ip_range(range: &IpRange) -> Result<(), Rule> {
    judge_ip_range(range.first, range.last, &ShownRange(range)).map(|_| ())
}

/// Text shown quoted in a rule's message, as typed.
struct Quoted<'a>(&'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A parsed range shown as `first-last` in a rule's message.
struct ShownRange<'a>(&'a IpRange);

impl std::fmt::Display for ShownRange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}-{}\"", self.0.first, self.0.last)
    }
}

/// The rules of [`ip_range`] after parsing; `input` names the range in messages, which are
/// only formatted when a rule is broken.
fn judge_ip_range(
    first: IpAddr,
    last: IpAddr,
    input: &dyn std::fmt::Display,
) -> Result<IpRange, Rule> {
    let span = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b))),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => {
            return Err(rule(
                "ip.mixed_families",
                format!("{input} mixes IPv4 and IPv6"),
            ));
        }
    };
    if span.0 > span.1 {
        return Err(rule(
            "ip.reversed",
            format!("{input}: the first address is above the last"),
        ));
    }
    // Addresses spanned minus one: the whole IPv6 space spans 2^128, one more than u128 holds.
    let extent = span.1 - span.0;
    let reserved = match first {
        IpAddr::V4(_) => {
            if extent >= MAX_V4_RANGE {
                let count = extent + 1;
                return Err(rule(
                    "ip.range_too_large",
                    format!("{input} spans {count} addresses; at most {MAX_V4_RANGE} per entry"),
                ));
            }
            RESERVED_V4
                .iter()
                .any(|(base, len)| overlaps(span, v4_block(*base, *len)))
        }
        IpAddr::V6(_) => {
            if extent >= MAX_V6_RANGE {
                return Err(rule(
                    "ip.range_too_large",
                    format!("{input} spans more than a /32; list the blocks actually used"),
                ));
            }
            let global = v6_block(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);
            !(global.0 <= span.0 && span.1 <= global.1)
                || RESERVED_V6
                    .iter()
                    .any(|(base, len)| overlaps(span, v6_block(*base, *len)))
        }
    };
    if reserved {
        return Err(rule(
            "ip.not_public",
            format!(
                "{input} lies in private or reserved address space; a public site needs public addresses"
            ),
        ));
    }
    Ok(IpRange { first, last })
}

/// A home URL: `http` or `https`, a host (returned in punycode form), optional port and path.
/// Returns the URL with its host normalised, and the host.
pub fn home_url(input: &str) -> Result<(String, String), Rule> {
    let input = input.trim();
    let bad = |why: &str| rule("url.invalid", format!("{input:?} is not a home URL: {why}"));
    let (scheme, rest) = input.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad("only http and https are home URLs"));
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it contains spaces or control characters"));
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        return Err(bad("user names and passwords do not belong in a home URL"));
    }
    let parse_port = |port: &str| -> Result<u16, Rule> {
        match port.parse::<u16>() {
            Ok(0) => Err(bad("port 0")),
            Ok(port) => Ok(port),
            Err(_) => Err(bad("the port is not a number")),
        }
    };
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address opened with [ is not closed"))?;
        let port = match after {
            "" => None,
            after => Some(parse_port(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad("text after the IPv6 address"))?,
            )?),
        };
        (&authority[..inside.len() + 2], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let host_ascii = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let addr: Ipv6Addr = v6.parse().map_err(|_| bad("bad IPv6 literal"))?;
        addr.to_string()
    } else if let Ok(addr) = host.parse::<Ipv4Addr>() {
        addr.to_string()
    } else {
        domain(host).map_err(|r| bad(&r.message))?
    };
    let shown_host = if host_ascii.contains(':') {
        format!("[{host_ascii}]")
    } else {
        host_ascii.clone()
    };
    let url = match port {
        Some(port) => format!("{scheme}://{shown_host}:{port}{path}"),
        None => format!("{scheme}://{shown_host}{path}"),
    };
    Ok((url, host_ascii))
}

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
    if id.len() != 18 || !id.is_ascii() {
        return Err(rule(
            "resident_id.format",
            format!("{input:?} is not an 18-character resident ID number"),
        ));
    }
    let (first17, check) = id.split_at(17);
    let Some(expected) = resident_id_check_char(first17) else {
        return Err(rule(
            "resident_id.format",
            format!("{input:?}: the first 17 characters must be digits"),
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
            format!("{input:?} does not hold a valid birth date"),
        ));
    }
    if !check.starts_with(expected) {
        return Err(rule(
            "resident_id.check_digit",
            format!("{input:?}: the check character should be {expected}; the number is mistyped"),
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
                format!("{value:?} is not a valid {what} number"),
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
                        "{value:?} is not a Hong Kong/Macao permit number (H or M and 8 to 10 digits)"
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
                    format!("{value:?} is not a Taiwan permit number (8 or 10 digits)"),
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

fn is_cjk(c: char) -> bool {
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
            format!("{input:?} is not a mainland mobile number (11 digits starting 13 to 19)"),
        ));
    }
    if digits[3..].bytes().all(|b| b == digits.as_bytes()[3]) {
        return Err(rule(
            "phone.fake",
            format!("{input:?} is not a real number"),
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
                format!("{value:?} is not a real number"),
            ));
        }
        return Err(rule(
            "phone.office_format",
            format!(
                "{value:?} is not an office number like 010-65881234 (area code, dash, 7 or 8 digits)"
            ),
        ));
    }
    if is_fake_subscriber(subscriber) {
        return Err(rule(
            "phone.fake",
            format!("{value:?} is not a real number"),
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

/// Text that must be present and at most `max` characters.
pub fn required_text(input: &str, max_bytes: usize) -> Result<String, Rule> {
    let value = input.trim();
    if value.is_empty() {
        return Err(rule("text.required", "this field is required"));
    }
    if value.len() > max_bytes {
        return Err(rule(
            "text.too_long",
            format!("{} bytes; at most {max_bytes}", value.len()),
        ));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(rule(
            "text.control_characters",
            "contains control characters",
        ));
    }
    Ok(value.to_owned())
}

/// Whether a text looks like a domain name or URL (names must not be one).
pub fn looks_like_domain(text: &str) -> bool {
    let lower = text.trim().to_lowercase();
    if lower.contains("://") || lower.starts_with("www.") {
        return true;
    }
    lower.contains('.') && !lower.contains(' ') && domain(&lower).is_ok()
}

/// A complete address: long enough and, in Chinese, down to a street number (号) or a village
/// (村/组).
pub fn address(input: &str) -> Result<String, Rule> {
    let value = input.trim();
    let chars = value.chars().count();
    let has_cjk = value.chars().any(is_cjk);
    let complete = if has_cjk {
        chars >= 8
            && ["号", "村", "组", "栋", "室"]
                .iter()
                .any(|m| value.contains(m))
    } else {
        chars >= 12 && value.chars().any(|c| c.is_ascii_digit())
    };
    if !complete {
        return Err(rule(
            "address.incomplete",
            format!(
                "{value:?} is incomplete: give the street and number (or the village, in the country)"
            ),
        ));
    }
    Ok(value.to_owned())
}

/// Words in a website name reserved to government bodies.
pub const PUBLIC_AFFAIRS_WORDS: [&str; 7] =
    ["政府", "政务", "人民", "公安", "法院", "检察", "机关"];
/// Words that make a name company-style, which an individual's site may not use.
pub const COMPANY_WORDS: [&str; 6] = ["公司", "有限", "集团", "企业", "工厂", "商行"];
/// Words in a website name (and their pre-approval) that need the matching pre-approval.
pub const NAME_PRE_APPROVAL_WORDS: [(&str, bundle_format::records::PreApprovalItem); 9] = {
    use bundle_format::records::PreApprovalItem as P;
    [
        ("新闻", P::News),
        ("出版", P::Publishing),
        ("教育", P::Education),
        ("医疗", P::Medical),
        ("医院", P::Medical),
        ("药", P::Drugs),
        ("文化", P::Culture),
        ("影视", P::Broadcasting),
        ("电视", P::Broadcasting),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(resident_id(&id).unwrap_err().code, "resident_id.birth_date");
        assert_eq!(
            resident_id("1101051949").unwrap_err().code,
            "resident_id.format"
        );
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
            organization_code("19220382-2").unwrap_err().code,
            "organization_code.check_digit"
        );
    }

    #[test]
    fn idn_domains_become_punycode_and_must_be_registrable() {
        assert_eq!(
            domain("中国政府网.中国").unwrap(),
            "xn--fiqs8sirgfmhq98a.xn--fiqs8s"
        );
        assert_eq!(domain("WWW.Example.COM.").unwrap(), "www.example.com");
        assert_eq!(domain("例子.公司.cn").unwrap(), "xn--fsqu00a.xn--55qx5d.cn");
        assert_eq!(domain("com.cn").unwrap_err().code, "domain.not_registrable");
        assert_eq!(
            domain("example.notatld").unwrap_err().code,
            "domain.not_registrable"
        );
        assert_eq!(domain("exa_mple.com").unwrap_err().code, "domain.invalid");
        assert_eq!(domain("-bad.com").unwrap_err().code, "domain.invalid");
        assert_eq!(domain("1.2.3.4").unwrap_err().code, "domain.ip_literal");
        assert_eq!(domain("*.example.com").unwrap_err().code, "domain.wildcard");
    }

    #[test]
    fn public_addresses_pass_and_private_or_reserved_space_is_refused() {
        assert!(ip_range("202.96.128.86").is_ok());
        assert!(ip_range("202.96.128.0/24").is_ok());
        assert!(ip_range("202.96.128.10-202.96.128.20").is_ok());
        assert!(ip_range("240e:1:2::/48").is_ok());
        for private in [
            "10.1.2.3",
            "192.168.0.0/24",
            "172.20.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "203.0.113.5",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::1",
            "224.0.0.1",
        ] {
            assert_eq!(
                ip_range(private).unwrap_err().code,
                "ip.not_public",
                "{private}"
            );
        }
        // A range that only touches private space at one end is still refused.
        assert_eq!(
            ip_range("9.255.255.250-10.0.0.1").unwrap_err().code,
            "ip.not_public"
        );
        assert_eq!(
            ip_range("202.96.128.20-202.96.128.10").unwrap_err().code,
            "ip.reversed"
        );
        assert_eq!(
            ip_range("202.96.128.1-240e::1").unwrap_err().code,
            "ip.mixed_families"
        );
        assert_eq!(ip_range("202.96.0.0/8").unwrap_err().code, "ip.invalid");
        assert_eq!(
            ip_range("58.0.0.0/8").unwrap_err().code,
            "ip.range_too_large"
        );
        assert_eq!(ip_range("not an address").unwrap_err().code, "ip.invalid");
    }

    #[test]
    fn parsed_ranges_are_judged_like_typed_ones() {
        for typed in [
            "202.96.128.86",
            "202.96.128.10-202.96.128.20",
            "240e:1:2::/48",
            "10.1.2.3",
            "198.51.100.20-198.51.100.21",
            "::1",
            "fe80::1",
            "9.255.255.250-10.0.0.1",
            "202.96.128.20-202.96.128.10",
            "202.96.128.1-240e::1",
            "58.0.0.0-58.255.255.255",
        ] {
            let (a, b) = typed.split_once('-').unwrap_or((typed, typed));
            let range = match typed.parse::<ipnet::IpNet>() {
                Ok(net) => IpRange {
                    first: net.network(),
                    last: net.broadcast(),
                },
                Err(_) => IpRange {
                    first: a.parse().unwrap(),
                    last: b.parse().unwrap(),
                },
            };
            assert_eq!(
                parsed_ip_range(&range).map_err(|r| r.code),
                ip_range(typed).map(|_| ()).map_err(|r| r.code),
                "{typed}"
            );
        }
    }

    #[test]
    fn the_whole_address_space_is_refused_not_a_panic() {
        assert_eq!(ip_range("::/0").unwrap_err().code, "ip.range_too_large");
        assert_eq!(
            ip_range("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
                .unwrap_err()
                .code,
            "ip.range_too_large"
        );
        assert_eq!(
            ip_range("0.0.0.0/0").unwrap_err().code,
            "ip.range_too_large"
        );
    }

    #[test]
    fn region_codes_as_numbers() {
        assert_eq!(region_code_number(330_106).unwrap(), 330_106);
        assert_eq!(
            region_code_number(990_000).unwrap_err().code,
            "region_code.province"
        );
        assert_eq!(
            region_code_number(12_345).unwrap_err().code,
            "region_code.province"
        );
        assert_eq!(
            region_code_number(3_301_060).unwrap_err().code,
            "region_code.format"
        );
        assert_eq!(
            region_code("012345").unwrap_err().code,
            "region_code.province"
        );
    }

    #[test]
    fn domain_ascii_checks_the_form_but_not_the_suffix_list() {
        assert_eq!(domain_ascii("WWW.Example.COM.").unwrap(), "www.example.com");
        assert_eq!(domain_ascii("example.notatld").unwrap(), "example.notatld");
        assert_eq!(
            domain_ascii("exa_mple.com").unwrap_err().code,
            "domain.invalid"
        );
        assert_eq!(
            domain_ascii("1.2.3.4").unwrap_err().code,
            "domain.ip_literal"
        );
    }

    #[test]
    fn home_urls_are_http_with_a_normalised_host() {
        let (url, host) = home_url("https://例子.公司.cn:8443/index.html").unwrap();
        assert_eq!(host, "xn--fsqu00a.xn--55qx5d.cn");
        assert_eq!(url, "https://xn--fsqu00a.xn--55qx5d.cn:8443/index.html");
        assert_eq!(
            home_url("ftp://example.com").unwrap_err().code,
            "url.invalid"
        );
        assert_eq!(home_url("example.com").unwrap_err().code, "url.invalid");
        assert_eq!(
            home_url("http://user:pw@example.com/").unwrap_err().code,
            "url.invalid"
        );
        assert_eq!(
            home_url("http://202.96.128.86/").unwrap().1,
            "202.96.128.86"
        );
        assert_eq!(
            home_url("http://[240e:1::1]/").unwrap().0,
            "http://[240e:1::1]/"
        );
        assert_eq!(
            home_url("http://[240e:1::1]:8080/a").unwrap().1,
            "240e:1::1"
        );
        assert_eq!(
            home_url("http://[240e:1::1/").unwrap_err().code,
            "url.invalid"
        );
        assert_eq!(
            home_url("http://example.cn:0/").unwrap_err().code,
            "url.invalid"
        );
    }

    #[test]
    fn phones_and_emails() {
        assert_eq!(mobile_phone("+86 138 1234 5678").unwrap(), "13812345678");
        assert_eq!(
            mobile_phone("12812345678").unwrap_err().code,
            "phone.mobile_format"
        );
        assert_eq!(mobile_phone("13800000000").unwrap_err().code, "phone.fake");
        assert!(office_phone("010-65881234").is_ok());
        assert!(office_phone("0755-86013388-801").is_ok());
        assert_eq!(office_phone("010-00000000").unwrap_err().code, "phone.fake");
        assert_eq!(office_phone("010-12345678").unwrap_err().code, "phone.fake");
        assert_eq!(
            office_phone("65881234").unwrap_err().code,
            "phone.office_format"
        );
        assert_eq!(
            email("Zhang.San@例子.公司.cn").unwrap(),
            "Zhang.San@xn--fsqu00a.xn--55qx5d.cn"
        );
        assert_eq!(
            email("zhangsan.example.com").unwrap_err().code,
            "email.invalid"
        );
        assert_eq!(email("a..b@example.com").unwrap_err().code, "email.invalid");
    }

    #[test]
    fn the_31_provinces_and_nothing_else() {
        assert_eq!(PROVINCES.len(), 31);
        assert_eq!(region_code("110105").unwrap(), 110105);
        assert_eq!(province_prefix(440305), Some('粤'));
        assert_eq!(province_prefix(510104), Some('蜀'));
        assert_eq!(
            region_code("810000").unwrap_err().code,
            "region_code.province"
        );
        assert_eq!(region_code("71000").unwrap_err().code, "region_code.format");
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
        assert_eq!(person_name("张三1", id).unwrap_err().code, "name.digits");
        assert_eq!(
            person_name("张San", id).unwrap_err().code,
            "name.mixed_script"
        );
        assert_eq!(
            person_name("John Smith", id).unwrap_err().code,
            "name.invalid"
        );
        assert!(person_name("John Smith", CertificateType::Passport).is_ok());
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
            filing_number("港ICP备2026000123号", None).unwrap_err().code,
            "filing_number.format"
        );
        assert!(receipt_id("R20261122-3F9K2Q7M").is_ok());
        assert_eq!(
            receipt_id("R20261122-3F9K2Q7I").unwrap_err().code,
            "receipt.format"
        );
    }

    #[test]
    fn receipt_id_with_multibyte_characters_is_refused_not_a_panic() {
        // 18 bytes, but byte 9 falls inside a character.
        let tricky = "R2026112中-ABCDEF";
        assert_eq!(tricky.len(), 18);
        assert_eq!(receipt_id(tricky).unwrap_err().code, "receipt.format");
        assert_eq!(
            receipt_id("R中中中中中X").unwrap_err().code,
            "receipt.format"
        );
    }

    #[test]
    fn addresses_must_be_complete() {
        assert!(address("北京市朝阳区建国路88号").is_ok());
        assert!(address("浙江省杭州市余杭区径山镇小古城村").is_ok());
        assert_eq!(
            address("北京市朝阳区").unwrap_err().code,
            "address.incomplete"
        );
    }
}
