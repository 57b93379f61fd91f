//! Shared helpers: a store with one account of each kind and a minimal HTTP/1.1 client for
//! tests over a real socket. The sample filings are `testkit::api`'s.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;

use outer::store::{AccountKind, Store};
use serde_json::Value;

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
