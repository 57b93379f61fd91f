//! What a website's name and services commit it to: words reserved to government bodies or
//! national subjects, company-style names, and the pre-approvals that services and name words need.

use std::net::IpAddr;

use bundle_format::records::{IpRange, PreApprovalItem, ServiceType, SubjectNature};

use crate::{Rule, domain::looks_like_domain, ip::contains, rule};

/// Words in a website name reserved to government bodies.
pub const PUBLIC_AFFAIRS_WORDS: [&str; 7] =
    ["政府", "政务", "人民", "公安", "法院", "检察", "机关"];
/// Words that make a name company-style, which an individual's site may not use.
pub const COMPANY_WORDS: [&str; 6] = ["公司", "有限", "集团", "企业", "工厂", "商行"];
/// Words in a website name (and their pre-approval) that need the matching pre-approval.
pub const NAME_PRE_APPROVAL_WORDS: [(&str, PreApprovalItem); 9] = {
    use PreApprovalItem as P;
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

/// The pre-approval a service type needs before the site may offer it, if any.
pub fn pre_approval_for(service: ServiceType) -> Option<PreApprovalItem> {
    use PreApprovalItem as P;
    use ServiceType as S;
    match service {
        S::News => Some(P::News),
        S::Publishing => Some(P::Publishing),
        S::Education => Some(P::Education),
        S::Medical => Some(P::Medical),
        S::Drugs => Some(P::Drugs),
        S::Culture => Some(P::Culture),
        S::Broadcasting => Some(P::Broadcasting),
        S::Showcase
        | S::Portal
        | S::Forum
        | S::Blog
        | S::Ecommerce
        | S::PublicAffairs
        | S::Other => None,
    }
}

/// The rules a website's name breaks for a subject of this nature (`None` when the subject is
/// not part of the submission, as in a website change): not a domain, no company-style name for
/// an individual, public-affairs words and the 中国/中华 prefix for government bodies only.
pub fn name_rules(name: &str, nature: Option<SubjectNature>) -> Vec<Rule> {
    let mut broken = Vec::new();
    if looks_like_domain(name) {
        broken.push(rule(
            "website.name_is_domain",
            "a website's name is not a domain",
        ));
    }
    let Some(nature) = nature else {
        return broken;
    };
    if nature == SubjectNature::Individual && COMPANY_WORDS.iter().any(|w| name.contains(w)) {
        broken.push(rule(
            "website.company_name_for_individual",
            "an individual's site must not use a company-style name",
        ));
    }
    if nature != SubjectNature::Government && PUBLIC_AFFAIRS_WORDS.iter().any(|w| name.contains(w))
    {
        broken.push(rule(
            "website.public_affairs_name",
            "only government bodies may use public-affairs words in a site name",
        ));
    }
    // Whether a subject is national-level is not in the filing; only government bodies may claim
    // it, and the authority checks the rest.
    if nature != SubjectNature::Government && (name.starts_with("中国") || name.starts_with("中华"))
    {
        broken.push(rule(
            "website.national_prefix",
            "only national-level subjects may start a site name with 中国 or 中华",
        ));
    }
    broken
}

/// A home URL's host must be one of the website's domains or lie in one of its IP ranges.
pub fn home_url_host_listed(
    host: &str,
    domains: &[String],
    ip_ranges: &[IpRange],
) -> Result<(), Rule> {
    let by_domain = domains.iter().any(|d| d == host);
    let by_ip = host
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip_ranges.iter().any(|r| contains(r, ip)));
    if by_domain || by_ip {
        Ok(())
    } else {
        Err(rule(
            "url.host_not_listed",
            format!("{host} is not among this website's domains or IP ranges"),
        ))
    }
}

/// A website is reached by domain or, for a site without one, by IP address: it lists one or
/// the other.
pub fn has_address(domains: &[String], ip_ranges: &[IpRange]) -> Result<(), Rule> {
    if domains.is_empty() && ip_ranges.is_empty() {
        Err(rule(
            "website.no_address",
            "list the website's domains (or, for a site reachable only by IP, its IP ranges)",
        ))
    } else {
        Ok(())
    }
}

/// Public-affairs services are offered by government bodies only.
pub fn public_affairs_service(
    service_types: &[ServiceType],
    nature: Option<SubjectNature>,
) -> Result<(), Rule> {
    if service_types.contains(&ServiceType::PublicAffairs)
        && nature.is_some_and(|n| n != SubjectNature::Government)
    {
        Err(rule(
            "service_type.public_affairs",
            "only government bodies offer public-affairs services",
        ))
    } else {
        Ok(())
    }
}

/// Every pre-approval the site's services and name words need and `held` lacks, each once, in
/// the order services then name words give them.
pub fn missing_pre_approvals(
    name: &str,
    service_types: &[ServiceType],
    held: &[PreApprovalItem],
    service_name: impl Fn(ServiceType) -> &'static str,
    item_name: impl Fn(PreApprovalItem) -> &'static str,
) -> Vec<Rule> {
    let mut needed: Vec<(PreApprovalItem, String)> = Vec::new();
    for service in service_types {
        if let Some(item) = pre_approval_for(*service) {
            needed.push((item, format!("service type {}", service_name(*service))));
        }
    }
    for (word, item) in NAME_PRE_APPROVAL_WORDS {
        if name.contains(word) {
            needed.push((item, format!("the word {word:?} in the site name")));
        }
    }
    let mut reported = Vec::new();
    let mut broken = Vec::new();
    for (item, why) in needed {
        if !held.contains(&item) && !reported.contains(&item) {
            reported.push(item);
            broken.push(rule(
                "pre_approval.required",
                format!("{why} needs a {} pre-approval", item_name(item)),
            ));
        }
    }
    broken
}

/// A site named as a forum (论坛), or with "bbs" in a label of one of its domains, declares the
/// forum service type.
pub fn forum_declared(
    name: &str,
    domains: &[String],
    service_types: &[ServiceType],
) -> Result<(), Rule> {
    let forum = name.contains("论坛")
        || domains
            .iter()
            .any(|d| d.split('.').any(|label| label.contains("bbs")));
    if forum && !service_types.contains(&ServiceType::Forum) {
        Err(rule(
            "service_type.forum_required",
            "a site named as a forum, or with \"bbs\" in a domain, declares the forum service type",
        ))
    } else {
        Ok(())
    }
}
