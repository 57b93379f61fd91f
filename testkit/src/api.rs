//! Sample filings as the JSON bodies the outer intake's HTTP API takes (`POST /v1/submissions`).
//!
//! [`new_filing`] is a request the intake accepts as it is; tests that need a bad one change
//! one field of it (`body["submission"]["filing"]["subject"]["name"] = json!(…)`), so the
//! field under test is the only thing wrong.

use serde_json::{Value, json};

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

/// An enterprise in Xihu district, Hangzhou, with a valid credit code.
pub fn subject() -> Value {
    json!({
        "name": "杭州示例网络科技有限公司",
        "nature": "enterprise",
        "certificate_type": "unified_social_credit_code",
        "certificate_number": "91330100799655058B",
        "region_code": "330106",
        "address": "浙江省杭州市西湖区文三路90号",
        "investor": "杭州示例网络科技有限公司",
        "principal": person()
    })
}

/// A showcase website serving `domain` and `www.{domain}`, hosted by `provider_1`.
pub fn website(domain: &str) -> Value {
    json!({
        "name": "示例科技官网",
        "home_urls": [format!("https://www.{domain}/")],
        "domains": [domain, format!("www.{domain}")],
        "service_types": ["showcase"],
        "access": {
            "provider": "provider_1",
            "method": "cloud",
            "server_region_code": "330106",
            "ip_ranges": ["202.96.128.86"]
        },
        "principal": person()
    })
}

/// A valid unified social credit code for subject number `n` (check character per GB 32100).
pub fn credit_code(n: u32) -> String {
    crate::records::credit_code("91330100", n)
}

/// A new filing of [`subject`] for one [`website`] serving `domain`.
pub fn new_filing(domain: &str) -> Value {
    json!({"submission": {"kind": "new_filing", "filing": {
        "subject": subject(),
        "websites": [website(domain)]
    }}})
}

/// A new filing for subject number `n`: one subject files once, so distinct filings need
/// distinct subjects.
pub fn new_filing_for(domain: &str, n: u32) -> Value {
    let mut filing = new_filing(domain);
    filing["submission"]["filing"]["subject"]["certificate_number"] = json!(credit_code(n));
    filing
}
