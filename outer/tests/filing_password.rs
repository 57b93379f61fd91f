//! The filing password outside: what a return bundle brings is stored as a hash and shown to
//! the owner of the approved receipt once; with the filing number it downloads the certificate
//! without an account, on the page and in the API; a wrong password and an unknown number get
//! one answer, and guessing is throttled per filing number and per address. Over the intake's
//! real router and a real store.

mod web;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bundle_format::records::{CertificateRevocation, FilingPassword};
use outer::config::AccountsConfig;
use outer::store::{apply_filing_password_on, revoke_certificate_on};
use web::{Approval, Browser, Site, file_approved, site, site_with};

const NUMBER: &str = "浙ICP备2026000123号";
const PASSWORD: &str = "7K3Q-M9XD-2FHR-WT4B";
const DOCUMENT: &[u8] = b"untrusted comment: sluice filing certificate\nRWQ...\nbazs\n";

/// An owner logged in with one new filing approved: its status change, certificate and
/// password applied as a return bundle's apply would. Returns the receipt.
async fn approved_filing(site: &Site, owner: &mut Browser<'_>, name: &str) -> String {
    owner
        .owner(name, &format!("{name}@example.cn"), "secret-1")
        .await;
    let approval = Approval {
        number: NUMBER,
        document: DOCUMENT,
        password: PASSWORD,
    };
    file_approved(
        &site.store,
        &site.router,
        name,
        "password.example.cn",
        &approval,
    )
    .await
}

fn password_record(receipt: &str) -> FilingPassword {
    FilingPassword {
        filing_number: NUMBER.into(),
        receipt: receipt.into(),
        issued_at: 1_790_000_100,
        password: PASSWORD.into(),
    }
}

/// A site whose download throttle allows three wrong passwords per filing number and five
/// per address, with the owner's filing approved.
async fn throttled_site() -> Site {
    let site = site_with(AccountsConfig {
        max_failed_logins_per_account: 3,
        max_failed_logins_per_address: 5,
        ..AccountsConfig::default()
    });
    let mut owner = Browser::new(&site);
    approved_filing(&site, &mut owner, "owner_a").await;
    site
}

/// `POST /api/v1/certificates` from `address`: status and body.
async fn api_download(site: &Site, number: &str, password: &str) -> (StatusCode, Vec<u8>) {
    let body = serde_json::json!({"filing_number": number, "filing_password": password});
    let request = Request::post("/api/v1/certificates")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    site.call(request).await
}

/// The download page's form sent by `browser`.
async fn page_download(browser: &mut Browser<'_>, number: &str, password: &str) -> web::Page {
    browser
        .submit(
            "/certificate",
            "/certificate",
            &[("filing_number", number), ("filing_password", password)],
        )
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_sees_the_password_once_and_anyone_downloads_the_certificate_with_it() {
    let site = site();
    let mut owner = Browser::new(&site);
    let receipt = approved_filing(&site, &mut owner, "owner_a").await;

    // Shown once, with its note, on the owner's filings page.
    let page = owner.get("/account/filings").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(PASSWORD), "{}", page.body);
    assert!(page.body.contains("只显示这一次"), "{}", page.body);
    assert!(page.body.contains("shown only this once"), "{}", page.body);
    // The store no longer holds it, only its hash.
    let held: (Option<String>, Vec<u8>) = site
        .store
        .read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT unseen, hash FROM filing_passwords WHERE filing_number = ?1",
                    [NUMBER],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap())
        })
        .await
        .unwrap();
    assert_eq!(held.0, None);
    assert_eq!(held.1.len(), 32);
    let page = owner.get("/account/filings").await;
    assert!(!page.body.contains(PASSWORD), "{}", page.body);
    assert!(!page.body.contains("只显示这一次"), "{}", page.body);

    // Anyone, without an account, downloads bazs.cert with number and password, however the
    // password is typed.
    let mut anyone = Browser::at(&site, "203.0.113.9");
    let page = page_download(&mut anyone, NUMBER, "7k3q m9xd 2fhr wt4b").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.body.as_bytes(), DOCUMENT);
    assert!(
        page.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("bazs.cert")
    );
    let (status, body) = api_download(&site, NUMBER, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, DOCUMENT);

    // The owner downloads their own by their session alone; another account does not.
    let page = owner
        .get(&format!("/account/filings/{receipt}/bazs.cert"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.as_bytes(), DOCUMENT);
    let mut other = Browser::at(&site, "203.0.113.10");
    other.owner("owner_b", "b@example.cn", "secret-2").await;
    let page = other
        .get(&format!("/account/filings/{receipt}/bazs.cert"))
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("bazs"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_reveals_nothing_about_the_number() {
    let site = site();
    let mut owner = Browser::new(&site);
    approved_filing(&site, &mut owner, "owner_a").await;

    // The API: a wrong password, a malformed one and an unknown number, byte for byte alike.
    let wrong = api_download(&site, NUMBER, "0000-0000-0000-0000").await;
    assert_eq!(wrong.0, StatusCode::NOT_FOUND);
    let malformed = api_download(&site, NUMBER, "not a password").await;
    let unknown = api_download(&site, "浙ICP备2026999999号", PASSWORD).await;
    assert_eq!(wrong, malformed);
    assert_eq!(wrong, unknown);
    let text = String::from_utf8_lossy(&wrong.1);
    assert!(!text.contains(NUMBER), "{text}");

    // The page: the same status and the same words.
    let mut anyone = Browser::at(&site, "203.0.113.9");
    let wrong = page_download(&mut anyone, NUMBER, "0000-0000-0000-0000").await;
    let unknown = page_download(&mut anyone, "浙ICP备2026999999号", PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::NOT_FOUND);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.problem("certificate"), unknown.problem("certificate"));
    assert!(wrong.problem("certificate").unwrap().contains("不正确"));
}

#[tokio::test(flavor = "multi_thread")]
async fn password_guessing_is_throttled() {
    let site = throttled_site().await;

    // Per filing number: three wrong guesses, from three addresses, and even the right
    // password is not checked until the window has passed.
    for (i, address) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .into_iter()
        .enumerate()
    {
        let mut guesser = Browser::at(&site, address);
        let page = page_download(&mut guesser, NUMBER, &format!("0000-0000-0000-000{i}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "guess {i}");
    }
    let mut rightful = Browser::at(&site, "203.0.113.50");
    let page = page_download(&mut rightful, NUMBER, PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.body.contains("错误次数过多"), "{}", page.body);
    let (status, body) = api_download(&site, NUMBER, PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        String::from_utf8_lossy(&body).contains("too_many_failures"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    // Per address: five wrong guesses at other numbers, and this address is refused for every
    // number.
    let site = throttled_site().await;
    let mut walker = Browser::at(&site, "2001:db8::1");
    for serial in 0..5 {
        let number = format!("浙ICP备20269000{serial:02}号");
        let page = page_download(&mut walker, &number, PASSWORD).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    }
    // Another address of the same /64 is the same subscriber.
    let mut walker = Browser::at(&site, "2001:db8::2");
    let page = page_download(&mut walker, NUMBER, PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    let mut elsewhere = Browser::at(&site, "198.51.100.200");
    let page = page_download(&mut elsewhere, NUMBER, PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_certificate_does_not_download_with_its_password() {
    let site = site();
    let mut owner = Browser::new(&site);
    let receipt = approved_filing(&site, &mut owner, "owner_a").await;
    site.store
        .write(move |conn| {
            revoke_certificate_on(
                conn,
                &CertificateRevocation {
                    filing_number: NUMBER.into(),
                    receipt,
                    revoked_at: 1_790_100_000,
                    reason: "filing-revoked".into(),
                },
            )
        })
        .await
        .unwrap();
    let (status, body) = api_download(&site, NUMBER, PASSWORD).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(String::from_utf8_lossy(&body).contains("filing-revoked"));
    let mut anyone = Browser::at(&site, "203.0.113.9");
    let page = page_download(&mut anyone, NUMBER, PASSWORD).await;
    assert_eq!(page.status, StatusCode::GONE);
    assert!(!page.body.contains("bazs\n"), "{}", page.body);
    // A wrong password still hears only that there is nothing.
    let (status, _) = api_download(&site, NUMBER, "0000-0000-0000-0000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn another_nodes_password_is_not_stored_here() {
    let site = site();
    let stored = site
        .store
        .write(|conn| apply_filing_password_on(conn, &password_record("R20261207-AAAAAAAA")))
        .await
        .unwrap();
    assert!(!stored, "a receipt this store never issued");
    let (status, _) = api_download(&site, NUMBER, PASSWORD).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_is_in_no_api_answer_and_in_no_other_accounts_page() {
    let site = site();
    let mut owner = Browser::new(&site);
    let receipt = approved_filing(&site, &mut owner, "owner_a").await;
    // Another account looks first: nothing of it there, and it stays unseen for the owner.
    let mut other = Browser::at(&site, "203.0.113.10");
    other.owner("owner_b", "b@example.cn", "secret-2").await;
    let page = other.get("/account/filings").await;
    assert!(!page.body.contains(PASSWORD));
    for path in [
        format!("/api/v1/submissions/{receipt}/status"),
        format!("/status?q={receipt}"),
    ] {
        let page = other.get(&path).await;
        assert!(!page.body.contains(PASSWORD), "{path}: {}", page.body);
        assert!(!page.body.contains("7K3Q"), "{path}: {}", page.body);
    }
    let page = owner.get("/account/filings").await;
    assert!(page.body.contains(PASSWORD));
}
