//! Scans on the new-filing form in a real browser: headless Chromium, driven over its DevTools
//! pipe, logs in as a website owner, types a new filing and picks a scan of the subject's
//! certificate in the file input, as a person would in the file dialog. A scan over the
//! configured limit comes back named beside its input with everything typed still there and
//! nothing stored; the same form with a scan within the limit is stored with that scan's bytes.
//! The screenshots stay under `target/tmp/` as the test's artefacts.

mod web;

use std::path::Path;

use bundle_format::records::{AttachmentKind, Submission};
use outer::config::{AccountsConfig, Limits};
use outer::http::AppState;
use outer::store::{AccountKind, Store};
use testkit::browser::screenshot_ink;
use testkit::cdp::Tab;
use web::{Served, account_that_logs_in, typed_filing};

/// The scan limit of this test's intake, small enough for files made on the spot.
const MAX_SCAN_BYTES: usize = 4096;

/// A PNG's signature and header chunk, then `len` bytes in all.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len.max(bytes.len()), 7);
    bytes
}

#[test]
fn an_owner_uploads_a_scan_with_a_new_filing_in_headless_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("outer.db")).unwrap();
    let limits = Limits {
        max_scan_bytes: MAX_SCAN_BYTES,
        ..Limits::default()
    };
    let state = AppState::with_accounts(store.clone(), limits, AccountsConfig::default(), None);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let owner = runtime.block_on(account_that_logs_in(
        &store,
        "王五_owner",
        AccountKind::WebsiteOwner,
        "wangwu-2026",
    ));
    let served = Served::start(&runtime, state);
    let base = served.base.clone();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let too_large = dir.path().join("营业执照-高清.png");
    std::fs::write(&too_large, png(MAX_SCAN_BYTES + 1)).unwrap();
    let licence_bytes = png(3000);
    let licence = dir.path().join("营业执照.png");
    std::fs::write(&licence, &licence_bytes).unwrap();
    let mut tab = Tab::open();

    tab.goto(&format!("{base}/account/login"));
    tab.submit(
        "login",
        &[("name", "王五_owner"), ("password", "wangwu-2026")],
        "/account",
    );
    tab.goto(&format!("{base}/account/filings/new"));
    let fields = typed_filing("王五", "wangwu@example.cn", "wangwu-site.cn");
    let typed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();

    // Over the limit: named beside its input, the rest kept, nothing stored.
    tab.choose_files("scan.subject_certificate", &[&too_large]);
    tab.submit("new-filing", &typed, "/account/filings/new");
    let problem = tab
        .text_of("scan.subject_certificate-problem")
        .unwrap_or_else(|| panic!("no problem shown: {}", tab.eval("document.body.innerText")));
    assert!(
        problem.contains("营业执照-高清.png")
            && problem.contains(&format!("{} bytes", MAX_SCAN_BYTES + 1))
            && problem.contains(&format!("at most {MAX_SCAN_BYTES} bytes")),
        "{problem}"
    );
    assert_eq!(
        tab.eval("document.getElementById('subject.name').value"),
        "杭州示例网络科技有限公司"
    );
    assert_eq!(
        tab.eval("document.getElementById('website.domains').value"),
        "wangwu-site.cn\nwww.wangwu-site.cn"
    );
    assert!(tab.text_of("files-not-kept").is_some());
    tab.eval("document.getElementById('scans').scrollIntoView(); true");
    let shot = tab.screenshot(shots, "filing-form-scan-too-large.png");
    assert!(screenshot_ink(&shot).0 > 2000);
    assert!(
        runtime
            .block_on(store.receipts_of_account(owner, 10))
            .unwrap()
            .is_empty()
    );

    // Within the limit, on the form as it came back: stored with the scan.
    tab.choose_files("scan.subject_certificate", &[&licence]);
    assert_eq!(
        tab.eval("document.getElementById('scan.subject_certificate').files[0].name"),
        "营业执照.png"
    );
    tab.eval("document.getElementById('scans').scrollIntoView(); true");
    let shot = tab.screenshot(shots, "filing-form-with-scan.png");
    assert!(screenshot_ink(&shot).0 > 2000);
    tab.submit("new-filing", &[], "/account/filings");
    tab.wait_for(|tab| tab.url().ends_with("/account/filings"));
    let receipts = runtime
        .block_on(store.receipts_of_account(owner, 10))
        .unwrap();
    assert_eq!(receipts.len(), 1);
    let stored = runtime
        .block_on(store.receipt(&receipts[0].receipt))
        .unwrap()
        .unwrap();
    let Some(Submission::NewFiling(filing)) = stored.latest.map(|v| v.body) else {
        panic!("not a new filing")
    };
    assert_eq!(filing.attachments.len(), 1);
    assert_eq!(
        filing.attachments[0].kind,
        AttachmentKind::SubjectCertificate
    );
    assert_eq!(filing.attachments[0].media_type, "image/png");
    assert_eq!(filing.attachments[0].bytes, licence_bytes);

    drop(tab);
    served.stop(&runtime);
}
