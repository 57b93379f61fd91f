//! Shared helpers: a store with one account of each kind, a valid filing, and a minimal
//! HTTP/1.1 client for tests over a real socket.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;

use outer::store::{AccountKind, Store};
use serde_json::{Value, json};

pub struct Tokens {
    pub owner: String,
    pub other_owner: String,
    pub provider: String,
    pub operator: String,
}

/// Opens a store at `path` with one account and token of each kind. Runs on its own thread so
/// async tests may call it (the account commands are the CLI's blocking calls).
pub fn store_with_accounts(path: &Path) -> (Store, Tokens) {
    let path = path.to_owned();
    std::thread::spawn(move || blocking_setup(&path))
        .join()
        .unwrap()
}

fn blocking_setup(path: &Path) -> (Store, Tokens) {
    let store = Store::open(path).unwrap();
    store
        .add_account("owner", AccountKind::WebsiteOwner)
        .unwrap();
    store
        .add_account("other_owner", AccountKind::WebsiteOwner)
        .unwrap();
    store
        .add_account("provider_1", AccountKind::AccessProvider)
        .unwrap();
    store.add_account("ops", AccountKind::Operator).unwrap();
    let tokens = Tokens {
        owner: store.issue_token("owner", "test").unwrap().secret,
        other_owner: store.issue_token("other_owner", "test").unwrap().secret,
        provider: store.issue_token("provider_1", "test").unwrap().secret,
        operator: store.issue_token("ops", "test").unwrap().secret,
    };
    (store, tokens)
}

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
    let first17 = format!("91330100{n:09}");
    let check = outer::validate::uscc_check_char(&first17).unwrap();
    format!("{first17}{check}")
}

/// A new filing for subject number `n`: one subject files once, so distinct filings need
/// distinct subjects.
pub fn new_filing_for(domain: &str, n: u32) -> Value {
    let mut filing = new_filing(domain);
    filing["submission"]["filing"]["subject"]["certificate_number"] = json!(credit_code(n));
    filing
}

pub fn new_filing(domain: &str) -> Value {
    json!({"submission": {"kind": "new_filing", "filing": {
        "subject": subject(),
        "websites": [website(domain)]
    }}})
}

/// One HTTP/1.1 request over a fresh connection; returns status and body.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
