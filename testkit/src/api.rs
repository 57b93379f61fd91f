//! Sample filings as the JSON bodies the outer intake's HTTP API takes (`POST /v1/submissions`).
//!
//! [`new_filing`] is a request the intake accepts as it is; tests that need a bad one change
//! one field of it (`body["submission"]["filing"]["subject"]["name"] = json!(…)`), so the
//! field under test is the only thing wrong. The JSON shapes are the demo's
//! (`transfer::demo`), with this module's fixed values.

use serde_json::{Value, json};

pub use transfer::demo::{person, request_head};

/// An enterprise in Xihu district, Hangzhou, with a valid credit code.
pub fn subject() -> Value {
    transfer::demo::subject("杭州示例网络科技有限公司", "91330100799655058B")
}

/// A showcase website serving `domain` and `www.{domain}`, hosted by `provider_1`.
pub fn website(domain: &str) -> Value {
    transfer::demo::website_serving(domain, "示例科技官网", "202.96.128.86")
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
