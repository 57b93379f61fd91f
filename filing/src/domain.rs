//! Domain names as a website lists them: lower-case punycode (IDNA/UTS 46), registrable under
//! the public suffix list at intake, and each listed once per filing.

use std::net::IpAddr;

use crate::{Rule, rule};

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

/// Whether a text looks like a domain name or URL (names must not be one).
pub fn looks_like_domain(text: &str) -> bool {
    let lower = text.trim().to_lowercase();
    if lower.contains("://") || lower.starts_with("www.") {
        return true;
    }
    lower.contains('.') && !lower.contains(' ') && domain(&lower).is_ok()
}

/// The rule broken by listing `domain` a second time in one filing.
pub fn listed_twice(domain: &str) -> Rule {
    rule(
        "domain.duplicate",
        format!("{domain} is listed twice in this filing"),
    )
}

/// A domain listed in a submission: which website lists it, where in that website's list, and
/// the domain itself.
pub type Listing<'a> = (usize, usize, &'a str);

/// Every listing of a domain that an earlier listing of the same submission already holds (the
/// manuals: a subject lists each domain once), in listing order. Domains compare without regard
/// to ASCII case, so a record from a bypassed intake cannot list `A.cn` beside `a.cn`. Sorting
/// keeps this linear-logarithmic for the largest filings (64 websites of 256 domains).
pub fn repeated<'a>(listings: &mut [Listing<'a>]) -> Vec<Listing<'a>> {
    if listings.len() < 2 {
        return Vec::new();
    }
    listings.sort_by(|a, b| {
        let by_name =
            a.2.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.2.bytes().map(|c| c.to_ascii_lowercase()));
        by_name.then((a.0, a.1).cmp(&(b.0, b.1)))
    });
    let mut again: Vec<Listing<'a>> = listings
        .windows(2)
        .filter(|pair| pair[0].2.eq_ignore_ascii_case(pair[1].2))
        .map(|pair| pair[1])
        .collect();
    again.sort_by_key(|(website, index, _)| (*website, *index));
    again
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broken;

    #[test]
    fn a_domain_listed_again_is_named_at_each_later_listing_whatever_its_case() {
        let mut listed = vec![
            (0, 0, "example.cn"),
            (0, 1, "www.example.cn"),
            (1, 0, "shop.example.cn"),
            (1, 1, "WWW.example.cn"),
            (1, 2, "example.cn"),
        ];
        assert_eq!(
            repeated(&mut listed),
            [(1, 1, "WWW.example.cn"), (1, 2, "example.cn")]
        );
        assert!(repeated(&mut [(0, 0, "example.cn")]).is_empty());
    }

    #[test]
    fn idn_domains_become_punycode_and_must_be_registrable() {
        assert_eq!(
            domain("中国政府网.中国").unwrap(),
            "xn--fiqs8sirgfmhq98a.xn--fiqs8s"
        );
        assert_eq!(domain("WWW.Example.COM.").unwrap(), "www.example.com");
        assert_eq!(domain("例子.公司.cn").unwrap(), "xn--fsqu00a.xn--55qx5d.cn");
        assert_eq!(broken(domain("com.cn")), "domain.not_registrable");
        assert_eq!(broken(domain("example.notatld")), "domain.not_registrable");
        assert_eq!(broken(domain("exa_mple.com")), "domain.invalid");
        assert_eq!(broken(domain("-bad.com")), "domain.invalid");
        assert_eq!(broken(domain("1.2.3.4")), "domain.ip_literal");
        assert_eq!(broken(domain("*.example.com")), "domain.wildcard");
    }

    #[test]
    fn domain_ascii_checks_the_form_but_not_the_suffix_list() {
        assert_eq!(domain_ascii("WWW.Example.COM.").unwrap(), "www.example.com");
        assert_eq!(domain_ascii("example.notatld").unwrap(), "example.notatld");
        assert_eq!(broken(domain_ascii("exa_mple.com")), "domain.invalid");
        assert_eq!(broken(domain_ascii("1.2.3.4")), "domain.ip_literal");
    }
}
