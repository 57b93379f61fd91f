//! The service over a real TCP socket: submissions, graceful shutdown, and the status page as
//! headless Chromium renders it.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use bundle_format::records::{ReviewState, StatusChange};
use common::{Running, Tokens, http, start_with, store_with_accounts};
use outer::config::Limits;
use outer::store::Store;
use serde_json::Value;
use testkit::api::{new_filing, new_filing_for};

async fn start(store: Store) -> Running {
    start_with(store, Limits::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submissions_over_a_socket_survive_a_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.db");
    let (store, tokens) = store_with_accounts(&path);
    let running = start(store).await;

    let (status, body) = http(running.addr, "GET", "/healthz", None, None)
        .await
        .unwrap();
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let mut receipts = Vec::new();
    for (n, domain) in (1..).zip(["example.cn", "example.com.cn", "例子.中国"]) {
        let (status, body) = http(
            running.addr,
            "POST",
            "/api/v1/submissions",
            Some(&tokens.owner),
            Some(&new_filing_for(domain, n)),
        )
        .await
        .unwrap();
        assert_eq!(status, 201, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        receipts.push(body["receipt"].as_str().unwrap().to_owned());
    }
    let (status, _) = http(
        running.addr,
        "POST",
        "/api/v1/submissions",
        None,
        Some(&new_filing("example.cn")),
    )
    .await
    .unwrap();
    assert_eq!(status, 401);

    let addr = running.addr;
    running.stop().await;
    assert!(
        http(addr, "GET", "/healthz", None, None).await.is_err(),
        "the listener is closed after shutdown"
    );

    let reopened = Store::open(&path).unwrap();
    for receipt in &receipts {
        let record = reopened.receipt(receipt).await.unwrap().unwrap();
        assert_eq!(record.status.state.as_str(), "received");
        assert!(record.latest.unwrap().hash_matches());
    }
}

/// Headless Chromium ([`testkit::browser::chromium`]) on a blocking thread, so that the
/// service under test keeps running on the runtime meanwhile.
async fn chromium(profile: &Path, extra: &[String]) -> std::process::Output {
    let (profile, extra) = (profile.to_owned(), extra.to_vec());
    tokio::task::spawn_blocking(move || testkit::browser::chromium(&profile, &extra))
        .await
        .expect("the browser's thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_renders_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tokens) = store_with_accounts(&dir.path().join("outer.db"));
    let running = start(store.clone()).await;
    let (status, body) = http(
        running.addr,
        "POST",
        "/api/v1/submissions",
        Some(&tokens.owner),
        Some(&new_filing("example.cn")),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let receipt = body["receipt"].as_str().unwrap().to_owned();
    store
        .record_export(keys::ChannelId(1), 12, [3; 32], 1, 1_790_000_000)
        .await
        .unwrap();
    store
        .apply_status_change(StatusChange {
            event_id: 8,
            receipt: receipt.clone(),
            version: 1,
            state: ReviewState::ReturnedToSubmitter,
            at: 1_790_000_500,
            reason: Some("网站名称与内容不符 <b>请修改</b>".into()),
            filing_number: None,
        })
        .await
        .unwrap();

    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{}/status?q={receipt}", running.addr);
    let output = chromium(profile.path(), &["--dump-dom".into(), url.clone()]).await;
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dom.contains(&receipt), "{dom}");
    assert!(
        dom.contains("已退回，请修改"),
        "Chinese state missing: {dom}"
    );
    assert!(
        dom.contains("Returned for changes"),
        "English state missing: {dom}"
    );
    assert!(dom.contains("传输中"), "history shows the transit: {dom}");
    assert!(dom.contains("#12"), "history shows the bundle: {dom}");
    assert!(
        dom.contains("&lt;b&gt;请修改&lt;/b&gt;") && !dom.contains("<b>请修改</b>"),
        "the reviewer's text is escaped: {dom}"
    );

    let unknown = format!("http://{}/status?q=R20261122-ZZZZZZZZ", running.addr);
    let output = chromium(profile.path(), &["--dump-dom".into(), unknown]).await;
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("未找到") && dom.contains("No record found"),
        "{dom}"
    );

    // SLUICE_KEEP_SCREENSHOT=FILE keeps the screenshot for a person to look at.
    let shot = std::env::var_os("SLUICE_KEEP_SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("status.png"));
    let output = chromium(
        profile.path(),
        &[format!("--screenshot={}", shot.display()), url],
    )
    .await;
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (dark, colours) = testkit::browser::screenshot_ink(&shot);
    assert!(
        dark > 2000,
        "the screenshot shows almost no text ({dark} dark pixels)"
    );
    assert!(
        colours >= 3,
        "the screenshot has {colours} colours; the page did not render"
    );

    running.stop().await;
}

/// Opens a connection and sends a request whose body never finishes, holding one request slot.
async fn stalled_request(addr: SocketAddr, token: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/v1/submissions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"submission\":"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// What the server has sent on `stream` within 300 ms, as text.
async fn read_briefly(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = vec![0u8; 4096];
    let read =
        tokio::time::timeout(std::time::Duration::from_millis(300), stream.read(&mut got)).await;
    let n = match read {
        Ok(Ok(n)) => n,
        _ => 0,
    };
    String::from_utf8_lossy(&got[..n]).into_owned()
}

/// The service with `limits` over a new store with one account of each kind (the directory
/// holding it goes with the first value).
async fn start_fresh(limits: Limits) -> (tempfile::TempDir, Tokens, Running) {
    let dir = tempfile::tempdir().unwrap();
    let (store, tokens) = store_with_accounts(&dir.path().join("outer.db"));
    (dir, tokens, start_with(store, limits).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_concurrency_limit_are_shed_with_503() {
    let (_dir, tokens, running) = start_fresh(Limits {
        max_concurrent_requests: 1,
        ..Limits::default()
    })
    .await;
    // The stalled request takes the only slot once the server has read its head; until then a
    // probe may still get through, so probe until one is shed. A probe can also win the race
    // for the slot, and then the stalled request is the one shed (it is answered 503 at once):
    // the server did right, and the test stalls a new request and tries again.
    let mut shed = false;
    let mut stalled = None;
    for _attempt in 0..5 {
        let mut stream = stalled_request(running.addr, &tokens.owner).await;
        for _ in 0..200 {
            let (status, body) = http(running.addr, "GET", "/healthz", None, None)
                .await
                .unwrap();
            if status == 503 {
                assert!(body.contains("busy"), "{body}");
                shed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if shed {
            stalled = Some(stream);
            break;
        }
        let answer = read_briefly(&mut stream).await;
        assert!(
            answer.starts_with("HTTP/1.1 503"),
            "no probe was shed and the stalled request was not either: {answer:?}"
        );
    }
    assert!(shed, "no request was shed while the only slot was taken");
    drop(stalled);
    let mut recovered = false;
    for _ in 0..200 {
        let (status, _) = http(running.addr, "GET", "/healthz", None, None)
            .await
            .unwrap();
        if status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        recovered,
        "the slot was never released after the client left"
    );
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_finishes_gets_408() {
    use tokio::io::AsyncReadExt;
    let limits = Limits {
        request_timeout_secs: 1,
        ..Limits::default()
    };
    let (_dir, tokens, running) = start_fresh(limits).await;
    let mut stalled = stalled_request(running.addr, &tokens.owner).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stalled.read(&mut buffer).await.unwrap();
        assert!(n > 0, "connection closed without an answer");
        answer.extend_from_slice(&buffer[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    running.stop().await;
}
