//! The demo's sample filings: synthetic subjects, websites and principals with valid check
//! characters and invented names, as JSON requests for the intake API and as a provider's batch.

use serde_json::{Value, json};

const SUBJECT_WORDS: [&str; 16] = [
    "青山", "绿水", "明月", "清风", "白云", "星河", "晨光", "远航", "春雨", "秋实", "松涛", "竹韵",
    "海潮", "峰峦", "溪流", "朝阳",
];

/// The name of sample subject `n` (distinct for n below 256).
pub fn subject_name(n: u32) -> String {
    let a = SUBJECT_WORDS[(n % 16) as usize];
    let b = SUBJECT_WORDS[((n / 16) % 16) as usize];
    format!("杭州{a}{b}网络科技有限公司")
}

/// A valid unified social credit code for sample subject `n`.
pub fn credit_code(n: u32) -> String {
    let first17 = format!("91330106{:09}", 700_000_000 + n);
    let check = filing::uscc_check_char(&first17).unwrap_or('0');
    format!("{first17}{check}")
}

/// The domain of sample subject `n`.
pub fn domain(n: u32) -> String {
    format!("qingshan{n}.cn")
}

/// The principal every sample names: a real-looking full name, GB 11643's example resident ID,
/// well-formed phones.
pub fn person() -> Value {
    json!({
        "name": "张三丰",
        "certificate_type": "resident_id",
        "certificate_number": "11010519491231002X",
        "mobile_phones": ["13905711234"],
        "office_phones": ["0571-88216688"],
        "email": "zhangsanfeng@example.cn"
    })
}

/// The website of sample subject `n` with the given site name.
pub fn website(n: u32, site_name: &str) -> Value {
    let ip = format!("202.96.{}.{}", 128 + n / 200, 1 + n % 200);
    website_serving(&domain(n), site_name, &ip)
}

/// A showcase website named `site_name` serving `domain` and `www.{domain}` from `ip`, hosted
/// in Xihu district, Hangzhou, by `provider_1`.
pub fn website_serving(domain: &str, site_name: &str, ip: &str) -> Value {
    json!({
        "name": site_name,
        "home_urls": [format!("https://www.{domain}/")],
        "domains": [domain, format!("www.{domain}")],
        "service_types": ["showcase"],
        "access": {
            "provider": "provider_1",
            "method": "cloud",
            "server_region_code": "330106",
            "ip_ranges": [ip]
        },
        "principal": person()
    })
}

/// An enterprise in Xihu district, Hangzhou, with its own name as investor.
pub fn subject(name: &str, credit_code: &str) -> Value {
    json!({
        "name": name,
        "nature": "enterprise",
        "certificate_type": "unified_social_credit_code",
        "certificate_number": credit_code,
        "region_code": "330106",
        "address": "浙江省杭州市西湖区文三路90号",
        "investor": name,
        "principal": person()
    })
}

/// A new-filing request for sample subject `n`.
pub fn new_filing(n: u32, site_name: &str) -> Value {
    json!({"submission": {"kind": "new_filing", "filing": {
        "subject": subject(&subject_name(n), &credit_code(n)),
        "websites": [website(n, site_name)]
    }}})
}

/// An access provider's batch (CSV) with one good row per entry of `good` and one row per
/// entry of `bad` whose credit code has a wrong check character.
pub fn batch_csv(good: &[u32], bad: &[u32]) -> String {
    let header = [
        "on_behalf_of",
        "subject_name",
        "subject_nature",
        "subject_certificate_type",
        "subject_certificate_number",
        "subject_region_code",
        "subject_address",
        "subject_investor",
        "principal_name",
        "principal_certificate_type",
        "principal_certificate_number",
        "principal_mobile_phones",
        "principal_office_phones",
        "principal_email",
        "website_name",
        "website_domains",
        "website_home_urls",
        "website_service_types",
        "website_pre_approvals",
        "access_method",
        "server_region_code",
        "ip_ranges",
    ];
    let mut out = header.join(",");
    out.push('\n');
    let mut rows: Vec<(u32, bool)> = good.iter().map(|&n| (n, true)).collect();
    rows.extend(bad.iter().map(|&n| (n, false)));
    for (n, ok) in rows {
        let mut code = credit_code(n);
        if !ok {
            let last = code.pop().unwrap_or('0');
            code.push(if last == '1' { '2' } else { '1' });
        }
        let domain = domain(n);
        let row = [
            format!("customer_{n}"),
            subject_name(n),
            "enterprise".into(),
            "unified_social_credit_code".into(),
            code,
            "330106".into(),
            "浙江省杭州市西湖区文三路90号".into(),
            subject_name(n),
            "张三丰".into(),
            "resident_id".into(),
            "11010519491231002X".into(),
            "13905711234".into(),
            "0571-88216688".into(),
            "zhangsanfeng@example.cn".into(),
            "企业展示网站".into(),
            format!("{domain};www.{domain}"),
            format!("https://www.{domain}/"),
            "showcase".into(),
            String::new(),
            "cloud".into(),
            "330106".into(),
            format!("202.96.{}.{}", 128 + n / 200, 1 + n % 200),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
