//! A browser's part in the account tests, over the intake's real router: a cookie jar, forms
//! sent URL-encoded with the CSRF token their page carried, and a client address per request.
//! Codes arrive through a real SMTP server (`testkit::smtp`).

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use outer::config::{AccountsConfig, Limits, MailConfig};
use outer::http::{AppState, router};
use outer::mail::Mailer;
use outer::store::Store;
use testkit::smtp::SmtpServer;
use tower::ServiceExt as _;

/// The intake with a real SMTP server behind it.
pub struct Site {
    pub router: Router,
    pub store: Store,
    pub smtp: SmtpServer,
    _dir: tempfile::TempDir,
}

/// The mail settings that send the intake's e-mails through the test SMTP server `smtp`.
pub fn mail_through(smtp: &SmtpServer) -> MailConfig {
    MailConfig {
        relay_host: "127.0.0.1".into(),
        relay_port: smtp.port,
        from: "备案系统 <noreply@beian.test>".into(),
        timeout_secs: 10,
        tls: "none".into(),
    }
}

pub fn site_with(accounts: AccountsConfig) -> Site {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outer.db");
    let store = std::thread::spawn(move || Store::open(&path).unwrap())
        .join()
        .unwrap();
    let mail = mail_through(&smtp);
    let state = AppState::with_accounts(
        store.clone(),
        Limits::default(),
        accounts,
        Some(Mailer::new(mail)),
    );
    Site {
        router: router(state),
        store,
        smtp,
        _dir: dir,
    }
}

pub fn site() -> Site {
    site_with(AccountsConfig::default())
}

impl Site {
    /// Sends `request` to the intake's router: the status and body of its answer.
    pub async fn call(&self, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, body.to_vec())
    }
}

/// One answer.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF field on the page: {}", self.body));
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }

    /// The problem shown beside a field (`id="FIELD-problem"`), as a person reads it.
    pub fn problem(&self, field: &str) -> Option<String> {
        let marker = format!("id=\"{field}-problem\">");
        let at = self.body.find(&marker)?;
        let rest = &self.body[at + marker.len()..];
        Some(unescape(&rest[..rest.find("</span>")?]))
    }
}

/// HTML text back to what it says.
pub fn unescape(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser: its cookies and its address.
pub struct Browser<'a> {
    site: &'a Site,
    pub cookies: BTreeMap<String, String>,
    pub address: IpAddr,
}

impl<'a> Browser<'a> {
    pub fn new(site: &'a Site) -> Browser<'a> {
        Browser::at(site, "198.51.100.7")
    }

    pub fn at(site: &'a Site, address: &str) -> Browser<'a> {
        Browser {
            site,
            cookies: BTreeMap::new(),
            address: address.parse().unwrap(),
        }
    }

    async fn send(&mut self, request: axum::http::request::Builder, body: Body) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let mut request = request
            .header(header::HOST, "beian.test")
            .extension(ConnectInfo(SocketAddr::new(self.address, 40000)));
        if !cookie.is_empty() {
            request = request.header(header::COOKIE, cookie.join("; "));
        }
        let response = self
            .site
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        for set in response.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        Page {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Request::get(path), Body::empty()).await
    }

    /// Sends a form as typed, with no CSRF token added.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.send(
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
            Body::from(body),
        )
        .await
    }

    /// Sends a form as `multipart/form-data`, as a browser sends a form with file inputs: the
    /// text fields as typed (no CSRF token added), then the files (input name, file name,
    /// declared type, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Page {
        let boundary = "----sluice-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n\
                     {value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (name, file_name, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                     filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            Request::post(path).header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            ),
            Body::from(body),
        )
        .await
    }

    /// Opens `page`, then sends its form to `action` with the page's CSRF token.
    pub async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(page).await.csrf();
        let mut all = fields.to_vec();
        all.push(("csrf", &csrf));
        self.post_raw(action, &all).await
    }

    /// Sends the registration form, typing `password` into both password fields.
    pub async fn send_registration(&mut self, name: &str, email: &str, password: &str) -> Page {
        self.submit(
            "/account/register",
            "/account/register",
            &[
                ("name", name),
                ("email", email),
                ("password", password),
                ("password2", password),
            ],
        )
        .await
    }

    /// Sends the verification form with the code e-mailed for `name`.
    pub async fn send_code(&mut self, name: &str, code: &str) -> Page {
        self.submit(
            "/account/verify",
            "/account/verify",
            &[("name", name), ("code", code)],
        )
        .await
    }

    /// Asks for a password-reset code for `name` at `email`.
    pub async fn ask_reset(&mut self, name: &str, email: &str) -> Page {
        self.submit(
            "/account/reset",
            "/account/reset",
            &[("name", name), ("email", email)],
        )
        .await
    }

    /// Sends the reset code for `name` with a new password typed into both password fields.
    pub async fn confirm_reset(&mut self, name: &str, code: &str, password: &str) -> Page {
        self.submit(
            "/account/reset/confirm",
            "/account/reset/confirm",
            &[
                ("name", name),
                ("code", code),
                ("password", password),
                ("password2", password),
            ],
        )
        .await
    }

    /// Registers an owner and returns the code e-mailed to them.
    pub async fn register(&mut self, name: &str, email: &str, password: &str) -> String {
        let before = self.site.smtp.count_to(email);
        let page = self.send_registration(name, email, password).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(page.location().starts_with("/account/verify?name="));
        let mail = self.site.smtp.wait_for_message_to(email, before);
        testkit::smtp::code_in(&mail, 6).unwrap_or_else(|| panic!("no code in {mail}"))
    }

    /// Registers, verifies and logs in an owner.
    pub async fn owner(&mut self, name: &str, email: &str, password: &str) {
        let code = self.register(name, email, password).await;
        let page = self.send_code(name, &code).await;
        assert_eq!(
            page.location(),
            "/account/login?verified=1",
            "{}",
            page.body
        );
        let page = self.login(name, password).await;
        assert_eq!(page.location(), "/account", "{}", page.body);
    }

    pub async fn login(&mut self, name: &str, password: &str) -> Page {
        self.submit(
            "/account/login",
            "/account/login",
            &[("name", name), ("password", password)],
        )
        .await
    }

    /// Sends a form of the logged-in account page with its CSRF token.
    pub async fn account_form(&mut self, action: &str, fields: &[(&str, &str)]) -> Page {
        self.submit("/account", action, fields).await
    }
}

/// What a return bundle's apply leaves for an approved new filing: its number, certificate and
/// filing password.
pub struct Approval<'a> {
    pub number: &'a str,
    pub document: &'a [u8],
    pub password: &'a str,
}

/// Files the sample new filing for `domain` through the API as `account` (which must exist),
/// with a token issued for it; returns the receipt.
pub async fn filed_through_api(
    store: &Store,
    router: &Router,
    account: &str,
    domain: &str,
) -> String {
    let owner = store.clone();
    let name = account.to_owned();
    let token = tokio::task::spawn_blocking(move || owner.issue_token(&name, "test"))
        .await
        .unwrap()
        .unwrap()
        .secret;
    let request = Request::post("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(testkit::api::new_filing(domain).to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&body).unwrap()["receipt"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Files the sample new filing for `domain` through the API as `account` (which must exist),
/// then applies its approval, certificate and filing password as `apply` would. Returns the
/// receipt.
pub async fn file_approved(
    store: &Store,
    router: &Router,
    account: &str,
    domain: &str,
    approval: &Approval<'_>,
) -> String {
    use bundle_format::records::{CertificateRecord, FilingPassword, ReviewState, StatusChange};
    use outer::store::{apply_filing_password_on, apply_status_change_on, store_certificate_on};

    let receipt = filed_through_api(store, router, account, domain).await;
    let (filed, number) = (receipt.clone(), approval.number.to_owned());
    let (document, password) = (approval.document.to_vec(), approval.password.to_owned());
    let stored = store
        .write(move |conn| {
            apply_status_change_on(
                conn,
                &StatusChange {
                    event_id: 1,
                    receipt: filed.clone(),
                    version: 1,
                    state: ReviewState::Approved,
                    at: 1_790_000_100,
                    reason: None,
                    filing_number: Some(number.clone()),
                },
            )?;
            store_certificate_on(
                conn,
                &CertificateRecord {
                    filing_number: number.clone(),
                    receipt: filed.clone(),
                    issued_at: 1_790_000_100,
                    expires_at: 1_821_536_100,
                    supersedes: None,
                    document,
                },
            )?;
            apply_filing_password_on(
                conn,
                &FilingPassword {
                    filing_number: number,
                    receipt: filed,
                    issued_at: 1_790_000_100,
                    password,
                },
            )
        })
        .await
        .unwrap();
    assert!(stored);
    receipt
}

/// The record the inner side sends back, as event `event`, for the new filing `receipt` by
/// `filer` approved as `number`: what was filed, its websites numbered `number-1`, `number-2`, ….
pub async fn record_of_filing(
    store: &Store,
    receipt: &str,
    number: &str,
    filer: &str,
    event: u64,
) -> bundle_format::records::ApprovedRecord {
    use bundle_format::records::{ApprovedRecord, ApprovedState, ApprovedWebsite, Submission};

    let stored = store.receipt(receipt).await.unwrap().unwrap();
    let Submission::NewFiling(filing) = stored.latest.unwrap().body else {
        panic!("not a new filing")
    };
    ApprovedRecord {
        event,
        filing_number: number.into(),
        origin_receipt: receipt.into(),
        filer: filer.into(),
        at: 1_790_000_100,
        state: ApprovedState::Approved {
            subject: filing.subject,
            websites: filing
                .websites
                .into_iter()
                .enumerate()
                .map(|(i, website)| ApprovedWebsite {
                    website_number: format!("{number}-{}", i + 1),
                    website,
                })
                .collect(),
        },
    }
}

/// The owner `青山_owner` (password `qingshan-2026`) and the access provider `provider_1`
/// (password `provider-2026`), both logging in at once, as the browser tests use them.
pub async fn owner_and_provider(store: &Store) {
    account_that_logs_in(
        store,
        "青山_owner",
        outer::store::AccountKind::WebsiteOwner,
        "qingshan-2026",
    )
    .await;
    account_that_logs_in(
        store,
        "provider_1",
        outer::store::AccountKind::AccessProvider,
        "provider-2026",
    )
    .await;
}

/// An account of `kind` that logs in with `password` at once (its e-mail address confirmed),
/// as the account pages leave one after registration or the first password; returns its id.
pub async fn account_that_logs_in(
    store: &Store,
    name: &str,
    kind: outer::store::AccountKind,
    password: &str,
) -> i64 {
    let hash = outer::accounts::hash_password(password).unwrap();
    let account = store
        .create_web_account(outer::store::NewWebAccount {
            name: name.into(),
            kind,
            email: format!(
                "{}@example.cn",
                name.replace(|c: char| !c.is_ascii_alphanumeric(), "x")
            ),
            province: (kind == outer::store::AccountKind::AccessProvider).then(|| "33".into()),
            created_by: None,
            password_hash: Some(hash),
        })
        .await
        .unwrap();
    let id = account.id;
    store
        .write(move |conn| {
            conn.execute(
                "UPDATE accounts SET email_verified_at = 1 WHERE id = ?1",
                [id],
            )
            .unwrap();
            Ok(())
        })
        .await
        .unwrap();
    id
}

/// The intake's routes served on a loopback port by `runtime` until [`Served::stop`], for the
/// tests that drive a real browser. Its address is named `localhost`: browsers count that as a
/// secure context, where `Secure` cookies are kept over plain HTTP, as they are over HTTPS in
/// production.
pub struct Served {
    /// `http://localhost:PORT`.
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    /// Starts serving `state` on a free loopback port.
    pub fn start(runtime: &tokio::runtime::Runtime, state: AppState) -> Served {
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://localhost:{}", listener.local_addr().unwrap().port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = runtime.spawn(outer::http::serve(listener, state, async {
            let _ = stopped.await;
        }));
        Served { base, stop, server }
    }

    /// Stops serving and waits until the server has shut down cleanly.
    pub fn stop(self, runtime: &tokio::runtime::Runtime) {
        let _ = self.stop.send(());
        runtime.block_on(self.server).unwrap().unwrap();
    }
}

/// What a browser test serves: a temporary directory with the store `outer.db`, the intake's
/// state over that store (default limits and accounts, no mailer), and a runtime to drive them.
pub fn intake() -> (tempfile::TempDir, Store, AppState, tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let state = AppState::with_accounts(
        store.clone(),
        Limits::default(),
        AccountsConfig::default(),
        None,
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    (dir, store, state, runtime)
}

/// Opens the login page of the site at `base` in `tab` and logs in as `name`.
pub fn log_in(tab: &mut testkit::cdp::Tab, base: &str, name: &str, password: &str) {
    tab.goto(&format!("{base}/account/login"));
    tab.submit(
        "login",
        &[("name", name), ("password", password)],
        "/account",
    );
}

/// The new-filing form's fields as a person types them: the sample enterprise of
/// `testkit::api::new_filing`, its website at `domain` (and `www.`), and `person` with `email`
/// as both principals.
pub fn typed_filing(person: &str, email: &str, domain: &str) -> Vec<(String, String)> {
    let principal = |at: &str| {
        [
            (format!("{at}.name"), person.to_owned()),
            (format!("{at}.certificate_type"), "resident_id".to_owned()),
            (
                format!("{at}.certificate_number"),
                "11010519491231002X".to_owned(),
            ),
            (format!("{at}.mobile_phones"), "13905711234".to_owned()),
            (format!("{at}.office_phones"), "0571-88216688".to_owned()),
            (format!("{at}.email"), email.to_owned()),
        ]
    };
    let mut fields: Vec<(String, String)> = [
        ("subject.name", "杭州示例网络科技有限公司"),
        ("subject.nature", "enterprise"),
        ("subject.certificate_type", "unified_social_credit_code"),
        ("subject.certificate_number", "91330100799655058B"),
        ("subject.region_code", "330106"),
        ("subject.address", "浙江省杭州市西湖区文三路90号"),
        ("subject.investor", "杭州示例网络科技有限公司"),
        ("website.name", "示例科技官网"),
        ("website.service_types", "showcase"),
        ("website.access.provider", "provider_1"),
        ("website.access.method", "cloud"),
        ("website.access.server_region_code", "330106"),
        ("website.access.ip_ranges", "202.96.128.86"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    fields.push(("website.home_urls".into(), format!("https://www.{domain}/")));
    fields.push(("website.domains".into(), format!("{domain}\nwww.{domain}")));
    fields.extend(principal("subject.principal"));
    fields.extend(principal("website.principal"));
    fields
}
