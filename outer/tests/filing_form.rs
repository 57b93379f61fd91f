//! The owner's filing pages: a filing entered in the form goes through the API's own checks
//! and into the owner's list, and each problem the API would report comes back as the API's
//! message beside the field it concerns; from the list, a submission not yet reviewed is
//! withdrawn and an approved filing's cancellation requested, by its owner only. The form is
//! sent as `multipart/form-data` with its scans: each is stored with what it shows, and a scan
//! too large or of another type, or a form without its CSRF token, stores nothing.

mod web;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bundle_format::records::{
    AttachmentKind, PreApprovalItem, ReviewState, ScanOf, StatusChange, Submission,
};
use outer::config::Limits;
use outer::store::{AccountKind, ReceiptStatus};
use web::{Browser, Site, site};

/// The form's fields for the sample filing the API tests use (`testkit::api::new_filing`).
fn sample_form(domain: &str) -> Vec<(String, String)> {
    let mut fields = web::typed_filing("张三丰", "zhangsanfeng@example.cn", domain);
    fields.push(("website.pre_approvals.item".into(), String::new()));
    fields.push((
        "website.pre_approvals.document_number".into(),
        String::new(),
    ));
    fields
}

/// `fields` as the name and value pairs a form sends.
fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn send_form(browser: &mut Browser<'_>, fields: &[(String, String)]) -> web::Page {
    browser
        .submit(
            "/account/filings/new",
            "/account/filings/new",
            &pairs(fields),
        )
        .await
}

/// A browser of the owner `owner_a`, registered and logged in.
async fn owner_a(site: &Site) -> Browser<'_> {
    let mut owner = Browser::new(site);
    owner.owner("owner_a", "a@example.cn", "secret-1").await;
    owner
}

/// The receipts of the account `account_id`, at most ten.
async fn receipts_of(site: &Site, account_id: i64) -> Vec<ReceiptStatus> {
    site.store
        .receipts_of_account(account_id, 10)
        .await
        .unwrap()
}

fn set(fields: &mut [(String, String)], name: &str, value: &str) {
    for (key, current) in fields.iter_mut() {
        if key == name {
            *current = value.to_owned();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_enters_a_new_filing_in_the_form_and_sees_it_in_their_list() {
    let site = site();
    let mut owner = owner_a(&site).await;
    let page = owner.get("/account/filings/new").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("主办单位名称 Subject name"));

    let page = send_form(&mut owner, &sample_form("owner-a.example.cn")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/account/filings");
    let page = owner.get("/account/filings").await;
    assert!(page.body.contains("新增备案"), "{}", page.body);
    assert!(
        page.body
            .contains("已接收 <span class=\"en\">Received</span>")
    );
    let receipts = receipts_of(&site, 1).await;
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].kind, "new_filing");

    // The same subject again is refused as the API refuses it, with its message on the page.
    let page = send_form(&mut owner, &sample_form("owner-a2.example.cn")).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let problem = page.problem("subject.certificate_number").unwrap();
    assert!(problem.contains(&receipts[0].receipt), "{problem}");
    assert_eq!(receipts_of(&site, 1).await.len(), 1);
}

/// Registers an owner with an API token, and returns the API's problems for `body`.
async fn api_problems(site: &Site, token: &str, body: serde_json::Value) -> Vec<(String, String)> {
    let request = Request::post("/api/v1/submissions")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, bytes) = site.call(request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_owned(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_forms_problems_are_the_apis_own_messages_beside_their_fields() {
    let site = site();
    let mut owner = owner_a(&site).await;
    let page = owner
        .account_form("/account/tokens", &[("label", "api")])
        .await;
    let token = page.body.split("id=\"secret\">").nth(1).unwrap();
    let token = token[..token.find('<').unwrap()].to_owned();

    let mut fields = sample_form("owner-a.example.cn");
    set(&mut fields, "subject.name", "王先生");
    set(
        &mut fields,
        "website.domains",
        "owner-a.example.cn\nnot a domain",
    );
    set(&mut fields, "website.access.ip_ranges", "10.0.0.1");
    set(&mut fields, "subject.principal.mobile_phones", "1234");
    let page = send_form(&mut owner, &fields).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );

    let mut body = testkit::api::new_filing("owner-a.example.cn");
    let filing = &mut body["submission"]["filing"];
    filing["subject"]["name"] = serde_json::json!("王先生");
    filing["websites"][0]["domains"] = serde_json::json!(["owner-a.example.cn", "not a domain"]);
    filing["websites"][0]["access"]["ip_ranges"] = serde_json::json!(["10.0.0.1"]);
    filing["subject"]["principal"]["mobile_phones"] = serde_json::json!(["1234"]);
    let problems = api_problems(&site, &token, body).await;
    assert!(problems.len() >= 4, "{problems:?}");
    for (path, message) in &problems {
        // The form names a field by its API path under the filing, `websites[0]` written
        // `website` and list indices left out.
        let mut field = String::new();
        let mut in_index = false;
        for c in path.trim_start_matches("submission.filing.").chars() {
            match c {
                '[' => in_index = true,
                ']' => in_index = false,
                c if !in_index => field.push(c),
                _ => {}
            }
        }
        let field = field.replacen("websites", "website", 1);
        let shown = page
            .problem(&field)
            .unwrap_or_else(|| panic!("no problem shown beside {field} for {path}: {}", page.body));
        assert!(
            shown.contains(message.as_str()),
            "{field}: the page says {shown:?}, the API {message:?}"
        );
    }
    // Nothing was stored, and what was typed is kept.
    assert!(receipts_of(&site, 1).await.is_empty());
    assert!(page.body.contains("value=\"王先生\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn only_owners_and_providers_file_and_a_hand_made_choice_is_refused() {
    let site = site();
    let store = site.store.clone();
    std::thread::spawn(move || {
        store
            .add_account("ministry_1", AccountKind::Ministry)
            .unwrap();
    })
    .join()
    .unwrap();
    let mut owner = owner_a(&site).await;
    let mut fields = sample_form("owner-a.example.cn");
    set(&mut fields, "subject.nature", "pirate");
    let page = send_form(&mut owner, &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.problem("subject.nature").unwrap().contains("pirate"));
    // Without the session's CSRF token nothing is filed.
    let page = owner
        .post_raw("/account/filings/new", &pairs(&fields))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(receipts_of(&site, 2).await.is_empty());
}

/// Files the sample through the form as `browser` and returns its receipt.
async fn filed(
    site: &Site,
    browser: &mut Browser<'_>,
    account_id: i64,
    domain: &str,
    n: u32,
) -> String {
    let mut fields = sample_form(domain);
    set(
        &mut fields,
        "subject.certificate_number",
        &testkit::api::credit_code(n),
    );
    let page = send_form(browser, &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    site.store.receipts_of_account(account_id, 1).await.unwrap()[0]
        .receipt
        .clone()
}

async fn review(
    site: &Site,
    receipt: &str,
    event_id: u64,
    state: ReviewState,
    number: Option<&str>,
) {
    site.store
        .apply_status_change(StatusChange {
            event_id,
            receipt: receipt.to_owned(),
            version: 1,
            state,
            at: 1_790_000_000 + i64::try_from(event_id).unwrap(),
            reason: None,
            filing_number: number.map(str::to_owned),
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_withdraws_a_submission_not_yet_reviewed_and_not_one_under_review() {
    let site = site();
    let mut owner = owner_a(&site).await;
    let receipt = filed(&site, &mut owner, 1, "owner-a.example.cn", 1).await;
    let page = owner.get("/account/filings").await;
    assert!(
        page.body
            .contains(&format!("/account/filings/{receipt}/withdraw"))
    );

    let action = format!("/account/filings/{receipt}/withdraw");
    let page = owner.account_form(&action, &[("reason", "填错了")]).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(page.body.contains("Sent; its receipt is"), "{}", page.body);
    assert!(
        page.body.contains("撤回申请"),
        "the withdrawal is listed: {}",
        page.body
    );
    assert_eq!(receipts_of(&site, 1).await.len(), 2);

    // Once a reviewer has it, it can no longer be withdrawn, only cancelled: no button, and
    // the API's refusal if sent anyway.
    let second = filed(&site, &mut owner, 1, "owner-a2.example.cn", 2).await;
    review(&site, &second, 1, ReviewState::AwaitingRegionalReview, None).await;
    let page = owner.get("/account/filings").await;
    assert!(
        !page
            .body
            .contains(&format!("/account/filings/{second}/withdraw"))
    );
    let action = format!("/account/filings/{second}/withdraw");
    let page = owner.account_form(&action, &[("reason", "改主意")]).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("submission.receipt"), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_asks_to_cancel_an_approved_filing_and_nobody_else_can() {
    let site = site();
    let mut owner = owner_a(&site).await;
    let receipt = filed(&site, &mut owner, 1, "owner-a.example.cn", 1).await;
    review(
        &site,
        &receipt,
        1,
        ReviewState::Approved,
        Some("浙ICP备2026000123号"),
    )
    .await;
    let page = owner.get("/account/filings").await;
    assert!(
        page.body.contains("action=\"/account/filings/cancel\""),
        "{}",
        page.body
    );

    // Another owner: neither the withdrawal of my receipt nor the cancellation of my filing.
    let mut other = Browser::at(&site, "198.51.100.9");
    other.owner("owner_b", "b@example.cn", "secret-2").await;
    let page = ask_cancel(&mut other, "恶意注销").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("another account"), "{}", page.body);
    let action = format!("/account/filings/{receipt}/withdraw");
    let page = other.account_form(&action, &[("reason", "恶意撤回")]).await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(receipts_of(&site, 2).await.is_empty());

    let page = ask_cancel(&mut owner, "网站停办").await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
    assert!(
        page.body.contains("注销备案"),
        "the cancellation is listed: {}",
        page.body
    );

    // The application may be withdrawn while it is pending, even once a reviewer has it.
    let receipts = receipts_of(&site, 1).await;
    let application = receipts
        .iter()
        .find(|r| r.kind == "cancellation")
        .expect("the cancellation's receipt")
        .receipt
        .clone();
    review(
        &site,
        &application,
        1,
        ReviewState::AwaitingRegionalReview,
        None,
    )
    .await;
    let action = format!("/account/filings/{application}/withdraw");
    let page = owner.get("/account/filings").await;
    assert!(page.body.contains(&action), "{}", page.body);
    let page = owner.account_form(&action, &[("reason", "继续运营")]).await;
    assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
}

/// Sends the account page's cancellation form for the whole of 浙ICP备2026000123号.
async fn ask_cancel(browser: &mut Browser<'_>, reason: &str) -> web::Page {
    browser
        .account_form(
            "/account/filings/cancel",
            &[
                ("filing_number", "浙ICP备2026000123号"),
                ("scope", "subject"),
                ("reason", reason),
            ],
        )
        .await
}

/// A PNG's signature and header chunk, then `len` bytes in all.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len.max(bytes.len()), 7);
    bytes
}

/// `fields` and the CSRF token as the pairs a form sends.
fn with_csrf<'a>(fields: &'a [(String, String)], csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut pairs = pairs(fields);
    pairs.push(("csrf", csrf));
    pairs
}

/// Sends the new-filing form as `multipart/form-data`: `fields` with the CSRF token `csrf`,
/// then `files`.
async fn send_with_scans(
    browser: &mut Browser<'_>,
    fields: &[(String, String)],
    csrf: &str,
    files: &[(&str, &str, &str, &[u8])],
) -> web::Page {
    browser
        .post_multipart("/account/filings/new", &with_csrf(fields, csrf), files)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filing_sent_with_scans_is_stored_with_each_scan_and_what_it_shows() {
    let site = site();
    let mut owner = owner_a(&site).await;
    let page = owner.get("/account/filings/new").await;
    assert!(
        page.body.contains("enctype=\"multipart/form-data\""),
        "{}",
        page.body
    );
    for input in ["scan.subject_certificate", "scan.pre_approval"] {
        assert!(
            page.body
                .contains(&format!("type=\"file\" id=\"{input}\" name=\"{input}\"")),
            "{input}: {}",
            page.body
        );
    }
    let csrf = page.csrf();
    let mut fields = sample_form("scans-a.example.cn");
    set(&mut fields, "website.name", "示例科技资讯");
    set(&mut fields, "website.service_types", "news");
    set(&mut fields, "website.pre_approvals.item", "news");
    set(
        &mut fields,
        "website.pre_approvals.document_number",
        "浙新闻审字〔2026〕第7号",
    );
    let licence = png(3000);
    let document = png(5000);
    let page = send_with_scans(
        &mut owner,
        &fields,
        &csrf,
        &[
            (
                "scan.subject_certificate",
                "营业执照.png",
                "image/png",
                &licence,
            ),
            (
                "scan.pre_approval",
                "news-licence.png",
                "image/png",
                &document,
            ),
            // An input left empty is sent as an empty part, and is no scan.
            ("scan.other", "", "application/octet-stream", b""),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/account/filings");

    let receipts = receipts_of(&site, 1).await;
    assert_eq!(receipts.len(), 1);
    let stored = site
        .store
        .receipt(&receipts[0].receipt)
        .await
        .unwrap()
        .unwrap();
    let Submission::NewFilingWithScans { filing, scans } = stored.latest.unwrap().body else {
        panic!("not a new filing with scans")
    };
    assert_eq!(filing.websites[0].name, "示例科技资讯");
    assert_eq!(scans.len(), 2, "{scans:?}");
    assert_eq!(scans[0].shows, ScanOf::Submission);
    assert_eq!(scans[0].attachment.kind, AttachmentKind::SubjectCertificate);
    assert_eq!(scans[0].attachment.media_type, "image/png");
    assert_eq!(scans[0].attachment.bytes, licence);
    assert_eq!(
        scans[1].shows,
        ScanOf::PreApproval {
            website: 0,
            item: PreApprovalItem::News
        }
    );
    assert_eq!(scans[1].attachment.kind, AttachmentKind::PreApproval);
    assert_eq!(scans[1].attachment.bytes, document);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_too_large_or_not_an_image_is_named_beside_its_input_and_nothing_is_stored() {
    let site = site();
    let mut owner = owner_a(&site).await;
    let csrf = owner.get("/account/filings/new").await.csrf();
    let fields = sample_form("scans-b.example.cn");
    let max = Limits::default().max_scan_bytes;
    let too_large = png(max + 1);
    let not_an_image = b"%PDF-1.7 a scanned identity card".to_vec();
    let page = send_with_scans(
        &mut owner,
        &fields,
        &csrf,
        &[
            (
                "scan.subject_certificate",
                "licence-600dpi.png",
                "image/png",
                &too_large,
            ),
            (
                "scan.principal_identity",
                "身份证.png",
                "image/png",
                &not_an_image,
            ),
            ("scan.other", "fine.png", "image/png", &png(2000)),
        ],
    )
    .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    let problem = page.problem("scan.subject_certificate").expect("beside it");
    assert!(
        problem.contains("licence-600dpi.png")
            && problem.contains(&format!("is {} bytes", max + 1))
            && problem.contains(&format!("at most {max} bytes ({} KiB)", max / 1024)),
        "{problem}"
    );
    let problem = page.problem("scan.principal_identity").expect("beside it");
    assert!(
        problem.contains("身份证.png") && problem.contains("scans are JPEG or PNG images"),
        "{problem}"
    );
    assert_eq!(page.problem("scan.other"), None);
    // Everything typed comes back, and the page asks for the files again.
    assert!(page.body.contains("value=\"91330100799655058B\""));
    assert!(
        page.body
            .contains("scans-b.example.cn\nwww.scans-b.example.cn</textarea>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"files-not-kept\""));
    assert!(page.body.contains("fine.png"), "the file sent is named");
    assert!(
        receipts_of(&site, 1).await.is_empty(),
        "a refused form stores nothing"
    );

    // A form larger than the route takes at all is refused with the limits, storing nothing.
    let huge = png(9 * 1024 * 1024);
    let page = send_with_scans(
        &mut owner,
        &fields,
        &csrf,
        &[("scan.other", "whole-archive.png", "image/png", &huge)],
    )
    .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", page.body);
    assert!(
        page.body
            .contains(&format!("scans are at most {max} bytes each")),
        "{}",
        page.body
    );
    assert!(receipts_of(&site, 1).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_multipart_filing_form_without_its_csrf_token_is_refused() {
    let site = site();
    let mut owner = owner_a(&site).await;
    let fields = sample_form("scans-c.example.cn");
    let scan = png(2000);
    let files = [(
        "scan.subject_certificate",
        "licence.png",
        "image/png",
        &scan[..],
    )];
    let page = owner
        .post_multipart("/account/filings/new", &pairs(&fields), &files)
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(
        page.body.contains("did not come from this site"),
        "{}",
        page.body
    );
    let page = send_with_scans(&mut owner, &fields, &"0".repeat(64), &files).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(receipts_of(&site, 1).await.is_empty());
}
