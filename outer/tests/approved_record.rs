//! The approved record outside, through the intake's real router and a real SQLite store: a
//! record the inner side sent back is kept for a filing whose first receipt this store issued
//! to the filer it names, shown on the owner's pages and API and to the access provider
//! recorded for it, and to nobody else; a newer record replaces it, an older one does not, a
//! withdrawal hides it; a change started from it is filled from it, goes through the new
//! filing form's checks and messages, and is stored as a change of that filing number; a
//! filing of several websites changes each of them, the form filled from the one chosen.

mod web;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use bundle_format::records::{
    ApprovedRecord, ApprovedState, ApprovedWebsite, Change, Record, Subject, Submission,
};
use outer::api::ApprovedRecordView;
use outer::store::{AccountKind, ReceiptRecord, apply_approved_record_on};
use web::{
    Approval, Browser, Page, Site, account_that_logs_in, file_approved, record_of_filing, site,
    unescape,
};

const NUMBER: &str = "浙ICP备2026000456号";
const DOMAIN: &str = "jia-record.example.cn";
const PASSWORD: &str = "secret-2026";

/// The page and API paths of the record of [`NUMBER`].
fn record_path() -> String {
    format!("/account/records/{}", encoded(NUMBER))
}

/// The path the change form of [`NUMBER`]'s record is sent to.
fn change_path() -> String {
    format!("{}/change", record_path())
}

/// Sends the change form's `values` with `files` (as `multipart/form-data`) for [`NUMBER`].
async fn send_change(
    browser: &mut Browser<'_>,
    values: &[(String, String)],
    files: &[(&str, &str, &str, &[u8])],
) -> Page {
    browser
        .post_multipart(&change_path(), &pairs(values), files)
        .await
}

/// Opens the change form of [`NUMBER`]'s record for the change `what`.
async fn change_form(browser: &mut Browser<'_>, what: &str) -> Page {
    browser.get(&format!("{}?what={what}", change_path())).await
}

/// The change receipt stored for [`NUMBER`], if there is one.
async fn stored_change(site: &Site) -> Option<ReceiptRecord> {
    let receipts = site.store.receipts_for_filing_number(NUMBER).await.unwrap();
    receipts.into_iter().find(|r| r.status.kind == "change")
}

/// The subject and the websites of an approved `record`.
fn approved(record: &ApprovedRecord) -> (&Subject, &[ApprovedWebsite]) {
    let ApprovedState::Approved { subject, websites } = &record.state else {
        unreachable!()
    };
    (subject, websites)
}

fn api_path(number: &str) -> String {
    format!("/api/v1/filings/{}/record", encoded(number))
}

fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `owner_a`'s new filing of [`DOMAIN`], approved as [`NUMBER`], and the record the inner side
/// sends back for it (event `event`), built from what was filed; the accounts `owner_a`,
/// `owner_b`, `provider_1` (the access provider the filing names) and `provider_2`, each
/// logging in with [`PASSWORD`]. Returns the receipt and the record.
async fn approved_with_record(site: &Site) -> (String, ApprovedRecord) {
    for (name, kind) in [
        ("owner_a", AccountKind::WebsiteOwner),
        ("owner_b", AccountKind::WebsiteOwner),
        ("provider_1", AccountKind::AccessProvider),
        ("provider_2", AccountKind::AccessProvider),
    ] {
        account_that_logs_in(&site.store, name, kind, PASSWORD).await;
    }
    let approval = Approval {
        number: NUMBER,
        document: b"untrusted comment: sluice filing certificate\nrecord\n",
        password: "7K3Q-M9XD-2FHR-WT4B",
    };
    let receipt = file_approved(&site.store, &site.router, "owner_a", DOMAIN, &approval).await;
    let record = record_of_filing(&site.store, &receipt, NUMBER, "owner_a", 5).await;
    assert!(apply(site, &record).await);
    (receipt, record)
}

/// [`approved_with_record`], then a newer record (event 6) of the same filing whose website
/// offers education and medical services with a pre-approval for each.
async fn approved_with_two_pre_approvals(site: &Site) -> ApprovedRecord {
    use bundle_format::records::{PreApproval, PreApprovalItem, ServiceType};

    let (_, mut record) = approved_with_record(site).await;
    if let ApprovedState::Approved { websites, .. } = &mut record.state {
        let website = &mut websites[0].website;
        website.service_types = vec![ServiceType::Education, ServiceType::Medical];
        website.pre_approvals = vec![
            PreApproval {
                item: PreApprovalItem::Education,
                document_number: "浙教审〔2026〕3号".into(),
            },
            PreApproval {
                item: PreApprovalItem::Medical,
                document_number: "浙卫审〔2026〕8号".into(),
            },
        ];
    }
    record.event = 6;
    assert!(apply(site, &record).await);
    record
}

async fn apply(site: &Site, record: &ApprovedRecord) -> bool {
    let record = record.clone();
    site.store
        .write(move |conn| apply_approved_record_on(conn, &record))
        .await
        .unwrap()
}

async fn token(site: &Site, account: &str) -> String {
    let store = site.store.clone();
    let account = account.to_owned();
    tokio::task::spawn_blocking(move || store.issue_token(&account, "test"))
        .await
        .unwrap()
        .unwrap()
        .secret
}

async fn api_get(site: &Site, token: &str, path: &str) -> (StatusCode, serde_json::Value) {
    let request = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = site.call(request).await;
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

async fn logged_in<'a>(site: &'a Site, name: &str) -> Browser<'a> {
    let mut browser = Browser::new(site);
    let page = browser.login(name, PASSWORD).await;
    assert_eq!(page.location(), "/account", "{}", page.body);
    browser
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_and_the_recorded_provider_read_the_approved_record() {
    let site = site();
    let (_, record) = approved_with_record(&site).await;

    let (status, body) = api_get(&site, &token(&site, "owner_a").await, &api_path(NUMBER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view: ApprovedRecordView = serde_json::from_value(body).unwrap();
    assert_eq!(view.filing_number, NUMBER);
    assert!(view.may_change);
    let (subject, websites) = approved(&record);
    assert_eq!(
        view.subject.unwrap().certificate_number,
        subject.certificate_number
    );
    assert_eq!(view.websites.len(), 1);
    assert_eq!(view.websites[0].website_number, format!("{NUMBER}-1"));
    assert_eq!(
        view.websites[0].website.domains,
        websites[0].website.domains
    );

    let (status, body) = api_get(&site, &token(&site, "provider_1").await, &api_path(NUMBER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["may_change"], false);

    let mut owner = logged_in(&site, "owner_a").await;
    let list = owner.get("/account/filings").await;
    assert!(list.body.contains(&record_path()), "{}", list.body);
    let page = owner.get(&record_path()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(&subject.certificate_number),
        "{}",
        page.body
    );
    assert!(page.body.contains(DOMAIN));
    assert!(page.body.contains("/change?what=website"), "{}", page.body);

    let mut provider = logged_in(&site, "provider_1").await;
    let list = provider.get("/account/filings").await;
    assert!(list.body.contains(&record_path()), "{}", list.body);
    let page = provider.get(&record_path()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(DOMAIN));
    assert!(!page.body.contains("/change?"), "read only: {}", page.body);
}

/// What a reader who may not see [`NUMBER`]'s record gets, on the page, the API, the list and
/// the change form: the answers a number without any record gets.
async fn refused_everywhere(site: &Site, name: &str) {
    let token = token(site, name).await;
    let (status, body) = api_get(site, &token, &api_path(NUMBER)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (unknown_status, unknown) = api_get(site, &token, &api_path("浙ICP备2026999999号")).await;
    assert_eq!(unknown_status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"].as_str().unwrap().replace(NUMBER, "N"),
        unknown["message"]
            .as_str()
            .unwrap()
            .replace("浙ICP备2026999999号", "N"),
        "one answer for another's and for none"
    );
    assert!(!body.to_string().contains(DOMAIN));

    let mut browser = logged_in(site, name).await;
    let page = browser.get(&record_path()).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    assert!(!page.body.contains(DOMAIN));
    let list = browser.get("/account/filings").await;
    assert!(!list.body.contains(NUMBER), "{}", list.body);
    let change = change_form(&mut browser, "website").await;
    assert_eq!(change.status, StatusCode::NOT_FOUND, "{}", change.body);
    assert!(!change.body.contains(DOMAIN));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_owner_cannot_read_an_approved_record() {
    let site = site();
    approved_with_record(&site).await;
    refused_everywhere(&site, "owner_b").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unrelated_provider_cannot_read_an_approved_record() {
    let site = site();
    approved_with_record(&site).await;
    refused_everywhere(&site, "provider_2").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_recorded_provider_cannot_start_a_change_of_an_owners_filing() {
    let site = site();
    approved_with_record(&site).await;
    let mut provider = logged_in(&site, "provider_1").await;
    let page = change_form(&mut provider, "website").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    let csrf = provider.get("/account").await.csrf();
    let page = provider
        .post_raw(&change_path(), &[("csrf", &csrf), ("what", "subject")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_of_another_nodes_receipt_or_naming_another_filer_is_not_stored() {
    let site = site();
    let (receipt, record) = approved_with_record(&site).await;
    let other_node = ApprovedRecord {
        event: 9,
        filing_number: "浙ICP备2026000999号".into(),
        origin_receipt: "R20261207-ZZZZZZZZ".into(),
        ..record.clone()
    };
    assert!(!apply(&site, &other_node).await);
    let other_filer = ApprovedRecord {
        event: 9,
        filer: "owner_b".into(),
        ..record.clone()
    };
    assert!(!apply(&site, &other_filer).await, "{receipt}");
    let (status, _) = api_get(&site, &token(&site, "owner_b").await, &api_path(NUMBER)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_record_never_replaces_a_newer_one_and_a_withdrawal_hides_it() {
    let site = site();
    let (_, record) = approved_with_record(&site).await;
    let owner = token(&site, "owner_a").await;
    let mut renamed = record.clone();
    renamed.event = 7;
    if let ApprovedState::Approved { websites, .. } = &mut renamed.state {
        websites[0].website.name = "甲网新名".into();
    }
    assert!(apply(&site, &renamed).await);
    assert!(!apply(&site, &record).await, "event 5 is older than 7");
    let (_, body) = api_get(&site, &owner, &api_path(NUMBER)).await;
    assert_eq!(body["websites"][0]["website"]["name"], "甲网新名");

    let withdrawn = ApprovedRecord {
        event: 8,
        state: ApprovedState::Withdrawn {
            reason: "filing-revoked".into(),
        },
        ..record.clone()
    };
    assert!(apply(&site, &withdrawn).await);
    let (status, _) = api_get(&site, &owner, &api_path(NUMBER)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !apply(&site, &renamed).await,
        "an older record does not bring it back"
    );
    let (status, _) = api_get(&site, &owner, &api_path(NUMBER)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (held, reason): (Option<Vec<u8>>, Option<String>) = site
        .store
        .read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT record, withdrawn_reason FROM approved_records",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap())
        })
        .await
        .unwrap();
    assert_eq!((held, reason.as_deref()), (None, Some("filing-revoked")));
}

/// Every field of the form on `page` with its value, as a browser sends it: text inputs,
/// textareas, chosen options and ticked boxes (the hidden CSRF token included).
fn form_values(page: &str) -> Vec<(String, String)> {
    let attribute = |tag: &str, name: &str| -> Option<String> {
        let marker = format!(" {name}=\"");
        let at = tag.find(&marker)? + marker.len();
        Some(unescape(&tag[at..at + tag[at..].find('"')?]))
    };
    let mut values = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        if tag.starts_with("<input") {
            let checkbox = tag.contains("type=\"checkbox\"");
            if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value"))
                && (!checkbox || tag.contains(" checked"))
            {
                values.push((name, value));
            }
        } else if tag.starts_with("<textarea") {
            let name = attribute(tag, "name").unwrap();
            let body = &rest[end + 1..];
            values.push((name, unescape(&body[..body.find("</textarea>").unwrap()])));
        } else if tag.starts_with("<select") {
            let name = attribute(tag, "name").unwrap();
            let options = &rest[..rest.find("</select>").unwrap()];
            let chosen = options
                .split("<option")
                .find(|option| option.contains(" selected"))
                .and_then(|option| attribute(option, "value"))
                .unwrap_or_default();
            values.push((name, chosen));
        }
        rest = &rest[1..];
    }
    values
}

/// The value of the field `name` among a form's `values` (empty if it has none).
fn value(values: &[(String, String)], name: &str) -> String {
    values
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// A form's `values` as the name and value pairs a browser sends.
fn pairs(values: &[(String, String)]) -> Vec<(&str, &str)> {
    values
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

fn set(values: &mut [(String, String)], name: &str, value: &str) {
    let field = values
        .iter_mut()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no field {name}"));
    field.1 = value.to_owned();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_started_from_the_record_is_filled_from_it_and_goes_in_as_a_change_of_its_number()
{
    let site = site();
    let (_, record) = approved_with_record(&site).await;
    let (subject, websites) = approved(&record);
    let mut owner = logged_in(&site, "owner_a").await;
    let website_number = format!("{NUMBER}-1");
    let page = owner
        .get(&format!(
            "{}/change?what=website&website={}",
            record_path(),
            encoded(&website_number)
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut values = form_values(&page.body);
    // Filled from the record, nothing typed.
    assert_eq!(value(&values, "subject.name"), subject.name);
    assert_eq!(
        value(&values, "subject.principal.mobile_phones"),
        subject.principal.mobile_phones.join("\n")
    );
    assert_eq!(value(&values, "website.name"), websites[0].website.name);
    assert_eq!(
        value(&values, "website.domains"),
        websites[0].website.domains.join("\n")
    );
    assert_eq!(value(&values, "website.access.provider"), "provider_1");
    assert_eq!(value(&values, "website.access.method"), "cloud");
    assert_eq!(value(&values, "website.service_types"), "showcase");
    assert_eq!(value(&values, "what"), "website");
    assert_eq!(value(&values, "website_number"), website_number);

    // A domain the manuals refuse: the new-filing form's message, beside the same field.
    set(&mut values, "website.domains", "not a domain!");
    let refused = owner.post_raw(&change_path(), &pairs(&values)).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let change_problem = refused
        .problem("website.domains")
        .expect("beside the field");
    // The same fields on the new-filing page.
    let new_filing_pairs: Vec<(&str, &str)> = values
        .iter()
        .filter(|(n, _)| n != "what" && n != "website_number")
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let new_refused = owner
        .post_raw("/account/filings/new", &new_filing_pairs)
        .await;
    assert_eq!(new_refused.problem("website.domains"), Some(change_problem));

    // One domain added, everything else as filled: stored as a change of that number.
    let domains = format!("{}\nm.{DOMAIN}", websites[0].website.domains.join("\n"));
    set(&mut values, "website.domains", &domains);
    let sent = owner.post_raw(&change_path(), &pairs(&values)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(sent.location(), "/account/filings");
    let change = stored_change(&site).await.expect("a change receipt");
    let Some(latest) = &change.latest else {
        panic!("no payload")
    };
    let Submission::Change {
        filing_number,
        change:
            Change::Website {
                website_number: changed_number,
                website,
            },
    } = &latest.body
    else {
        panic!("{:?}", latest.body)
    };
    assert_eq!(filing_number, NUMBER);
    assert_eq!(*changed_number, website_number);
    let mut expected = websites[0].website.clone();
    expected.domains.push(format!("m.{DOMAIN}"));
    assert_eq!(
        *website, expected,
        "the record's website with the domain added"
    );
    assert!(matches!(Record::Submission(latest.clone()).check(), Ok(())));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_filled_from_a_website_with_several_pre_approvals_keeps_every_one() {
    let site = site();
    let record = approved_with_two_pre_approvals(&site).await;
    let (_, websites) = approved(&record);
    let mut owner = logged_in(&site, "owner_a").await;
    let page = change_form(&mut owner, "website").await;
    assert!(page.body.contains("浙卫审〔2026〕8号"), "{}", page.body);
    let values = form_values(&page.body);
    let sent = owner.post_raw(&change_path(), &pairs(&values)).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let change = stored_change(&site).await.unwrap();
    let Some(Submission::Change {
        change: Change::Website { website, .. },
        ..
    }) = change.latest.as_ref().map(|v| &v.body)
    else {
        panic!("{:?}", change.latest)
    };
    assert_eq!(website.pre_approvals, websites[0].website.pre_approvals);
    assert_eq!(*website, websites[0].website, "sent back unchanged");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_change_of_a_second_website_is_filled_from_it_and_stored_as_its_change_with_its_scan() {
    use bundle_format::records::{AttachmentKind, ScanOf};

    let site = site();
    let (_, mut record) = approved_with_record(&site).await;
    let second_number = format!("{NUMBER}-2");
    let second_domain = "yi-record.example.cn";
    if let ApprovedState::Approved { websites, .. } = &mut record.state {
        let mut second = websites[0].website.clone();
        second.name = "甲乙网上课堂".into();
        second.domains = vec![second_domain.into(), format!("www.{second_domain}")];
        second.home_urls = vec![format!("https://www.{second_domain}/")];
        second.principal.name = "李乙".into();
        websites.push(ApprovedWebsite {
            website_number: second_number.clone(),
            website: second,
        });
    }
    record.event = 6;
    assert!(apply(&site, &record).await);
    let (_, websites) = approved(&record);
    let second = &websites[1].website;

    // The record page has a change link for each website.
    let mut owner = logged_in(&site, "owner_a").await;
    let page = owner.get(&record_path()).await;
    let link = format!(
        "{}/change?what=website&amp;website={}",
        record_path(),
        encoded(&second_number)
    );
    assert!(page.body.contains(&link), "{}", page.body);

    // The first website's form links to the second's, which is filled from the second.
    let first = change_form(&mut owner, "website").await;
    assert!(
        first.body.contains("id=\"other-websites\""),
        "{}",
        first.body
    );
    assert!(first.body.contains(&link), "{}", first.body);
    let page = owner.get(&link.replace("&amp;", "&")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut values = form_values(&page.body);
    assert_eq!(value(&values, "website_number"), second_number);
    assert_eq!(value(&values, "website.name"), second.name);
    assert_eq!(value(&values, "website.domains"), second.domains.join("\n"));
    assert_eq!(
        value(&values, "website.home_urls"),
        second.home_urls.join("\n")
    );
    assert_eq!(value(&values, "website.principal.name"), "李乙");

    // Sent as the page sends it, multipart with a scan: a change of the second website.
    let domains = format!("{}\nm.{second_domain}", second.domains.join("\n"));
    set(&mut values, "website.domains", &domains);
    let mut identity = b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec();
    identity.resize(4000, 3);
    let scan = (
        "scan.principal_identity",
        "李乙身份证.jpg",
        "image/jpeg",
        &identity[..],
    );
    let sent = send_change(&mut owner, &values, &[scan]).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let change = stored_change(&site).await.expect("a change receipt");
    let Some(Submission::ChangeWithScans {
        filing_number,
        change: Change::Website {
            website_number,
            website,
        },
        scans,
    }) = change.latest.as_ref().map(|v| &v.body)
    else {
        panic!("{:?}", change.latest)
    };
    assert_eq!(filing_number, NUMBER);
    assert_eq!(*website_number, second_number);
    let mut expected = second.clone();
    expected.domains.push(format!("m.{second_domain}"));
    assert_eq!(*website, expected, "the second website, one domain added");
    assert_eq!(scans.len(), 1);
    assert_eq!(scans[0].shows, ScanOf::Submission);
    assert_eq!(scans[0].attachment.kind, AttachmentKind::PrincipalIdentity);
    assert_eq!(scans[0].attachment.media_type, "image/jpeg");
    assert_eq!(scans[0].attachment.bytes, identity);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_naming_a_website_the_filing_does_not_have_is_refused_and_stores_nothing() {
    let site = site();
    approved_with_record(&site).await;
    let mut owner = logged_in(&site, "owner_a").await;
    let page = change_form(&mut owner, "website").await;
    let mut values = form_values(&page.body);
    let other = format!("{NUMBER}-5");
    set(&mut values, "website_number", &other);
    let refused = send_change(&mut owner, &values, &[]).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("is not a website of this filing"),
        "{}",
        refused.body
    );
    let changes = site.store.receipts_for_filing_number(NUMBER).await.unwrap();
    assert!(changes.iter().all(|r| r.status.kind != "change"));
}

#[tokio::test(flavor = "multi_thread")]
async fn each_pre_approval_document_is_tied_to_its_entry_and_none_goes_with_a_subject_change() {
    use bundle_format::records::{AttachmentKind, PreApprovalItem, ScanOf};

    let site = site();
    approved_with_two_pre_approvals(&site).await;
    let mut owner = logged_in(&site, "owner_a").await;
    let page = change_form(&mut owner, "website").await;
    // The form's pre-approval (education) and the one kept beside it (medical) each have a
    // file input for their document.
    for input in ["scan.pre_approval", "scan.pre_approval.medical"] {
        assert!(
            page.body.contains(&format!("type=\"file\" id=\"{input}\"")),
            "{input}: {}",
            page.body
        );
    }
    let mut values = form_values(&page.body);
    let education = png_of(3000);
    let medical = png_of(4000);
    let scans: [(&str, &str, &str, &[u8]); 2] = [
        ("scan.pre_approval", "教育审批.png", "image/png", &education),
        (
            "scan.pre_approval.medical",
            "卫生审批.png",
            "image/png",
            &medical,
        ),
    ];

    // With a subject change, a pre-approval document has no website to go with: refused
    // beside its input, nothing stored.
    set(&mut values, "what", "subject");
    let refused = send_change(&mut owner, &values, &scans).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    for input in ["scan.pre_approval", "scan.pre_approval.medical"] {
        let problem = refused.problem(input).expect("beside its input");
        assert!(problem.contains("goes with a website change"), "{problem}");
    }
    let changes = site.store.receipts_for_filing_number(NUMBER).await.unwrap();
    assert!(changes.iter().all(|r| r.status.kind != "change"));

    // With the website's change, each document is stored with the entry it documents.
    set(&mut values, "what", "website");
    let sent = send_change(&mut owner, &values, &scans).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let change = stored_change(&site).await.unwrap();
    let Some(Submission::ChangeWithScans { scans, .. }) = change.latest.as_ref().map(|v| &v.body)
    else {
        panic!("{:?}", change.latest)
    };
    let shown: Vec<(ScanOf, AttachmentKind, &[u8])> = scans
        .iter()
        .map(|s| (s.shows, s.attachment.kind, &s.attachment.bytes[..]))
        .collect();
    assert_eq!(
        shown,
        [
            (
                ScanOf::PreApproval {
                    website: 0,
                    item: PreApprovalItem::Education
                },
                AttachmentKind::PreApproval,
                &education[..]
            ),
            (
                ScanOf::PreApproval {
                    website: 0,
                    item: PreApprovalItem::Medical
                },
                AttachmentKind::PreApproval,
                &medical[..]
            ),
        ]
    );
}

/// A PNG's signature and header chunk, then `len` bytes in all.
fn png_of(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len.max(bytes.len()), 7);
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn the_form_to_add_a_website_keeps_its_access_and_principal_but_none_of_the_websites_names() {
    let site = site();
    let (_, record) = approved_with_record(&site).await;
    let (subject, websites) = approved(&record);
    let mut owner = logged_in(&site, "owner_a").await;
    let page = change_form(&mut owner, "added_website").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let values = form_values(&page.body);
    assert_eq!(value(&values, "what"), "added_website");
    assert_eq!(value(&values, "subject.name"), subject.name);
    for field in [
        "website.name",
        "website.domains",
        "website.home_urls",
        "website.access.ip_ranges",
        "website.service_types",
    ] {
        assert_eq!(value(&values, field), "", "{field} starts empty");
    }
    let website = &websites[0].website;
    assert_eq!(
        value(&values, "website.access.provider"),
        website.access.provider
    );
    assert_eq!(
        value(&values, "website.principal.name"),
        website.principal.name
    );
    assert!(
        !page.body.contains(DOMAIN),
        "the approved website's domain is not offered again: {}",
        page.body
    );
}
