//! Shared helpers: a store with one account of each kind, the intake's router over it for tests
//! through `oneshot`, and a minimal HTTP/1.1 client for tests over a real socket. The sample
//! filings are `testkit::api`'s.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::Path;
use std::process::Command;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use outer::config::Limits;
use outer::http::{AppState, router};
use outer::store::{AccountKind, Store};
use serde_json::Value;
use tower::ServiceExt;

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

/// The intake's real router over a store in a temporary directory (removed with the app), with
/// one account and token of each kind.
pub struct App {
    _dir: tempfile::TempDir,
    pub router: Router,
    pub store: Store,
    pub tokens: Tokens,
}

/// An [`App`] with these limits.
pub fn app_with(limits: Limits) -> App {
    let dir = tempfile::tempdir().unwrap();
    let (store, tokens) = store_with_accounts(&dir.path().join("outer.db"));
    let router = router(AppState::new(store.clone(), limits));
    App {
        _dir: dir,
        router,
        store,
        tokens,
    }
}

/// An [`App`] with the default limits.
pub fn app() -> App {
    app_with(Limits::default())
}

impl App {
    /// Sends `request` through the router; returns the status, the body (up to 64 MiB) and the
    /// headers.
    pub async fn raw(&self, request: Request<Body>) -> (StatusCode, Vec<u8>, HeaderMap) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap();
        (status, body.to_vec(), headers)
    }
}

/// `sluice-outer serve` for the store at `database` on a loopback port the system picks (its
/// first line on stdout names it), logging warnings only.
pub fn serve(database: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sluice-outer"));
    command
        .arg("serve")
        .arg("--database")
        .arg(database)
        .args(["--listen", "127.0.0.1:0"])
        .env("SLUICE_LOG", "warn");
    command
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
    let mut request =
        testkit::api::request_head(addr, method, path, token, "application/json", body.len());
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

/// `POST /api/v1/submissions` of `body` with `token`: the status and the JSON answer.
pub async fn submit(app: &App, token: &str, body: &Value) -> (StatusCode, Value) {
    let request = Request::post("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, bytes, _) = app.raw(request).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The intake served over a real socket on a free loopback port, until [`Running::stop`].
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `store` with `limits` on a free loopback port.
pub async fn start_with(store: Store, limits: Limits) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(outer::http::serve(
        listener,
        AppState::new(store, limits),
        async move {
            let _ = stopped.await;
        },
    ));
    Running { addr, stop, task }
}

impl Running {
    /// Shuts the server down gracefully and checks that it stopped without an error.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// The DOM headless Chromium builds from `url` with the profile in `profile`, off the async
/// runtime's threads.
pub async fn dom_in_chromium(profile: &Path, url: &str) -> String {
    let (profile, url) = (profile.to_owned(), url.to_owned());
    tokio::task::spawn_blocking(move || testkit::browser::dump_dom(&profile, &url))
        .await
        .unwrap()
}

/// Takes Chromium's screenshot of `url` into the tests' scratch directory as `name`, off the
/// async runtime's threads, and returns its ink as `testkit::browser::screenshot_ink` counts it.
pub async fn screenshot_ink_in_chromium(profile: &Path, url: &str, name: &str) -> (usize, usize) {
    let (profile, url, name) = (profile.to_owned(), url.to_owned(), name.to_owned());
    let shot = tokio::task::spawn_blocking(move || {
        testkit::browser::screenshot(
            &profile,
            &url,
            Path::new(env!("CARGO_TARGET_TMPDIR")),
            &name,
        )
    })
    .await
    .unwrap();
    testkit::browser::screenshot_ink(&shot)
}

/// The address a `sluice-outer serve` started as `child` (its stdout piped) says it listens on,
/// in its first line; its stdout is drained from then on so that the server never blocks on a
/// full pipe.
pub fn listening_address(child: &mut std::process::Child) -> std::net::SocketAddr {
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    addr
}
