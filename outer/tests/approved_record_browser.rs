//! The approved record in a real browser: headless Chromium, driven over its DevTools pipe,
//! logs in as the owner of an approved filing whose record came back, follows the filings
//! page to the record, opens the change of its website (the form filled from the record),
//! changes one field and sends it; the change is stored as a change of that filing number.
//! Then the access provider recorded for it reads the record without the change links. The
//! screenshots stay under `target/tmp/` as the test's artefacts.

mod web;

use std::path::Path;

use bundle_format::records::{Change, Submission};
use outer::http::{AppState, router};
use outer::store::{Store, apply_approved_record_on};
use testkit::browser::screenshot_ink;
use testkit::cdp::Tab;
use web::{Approval, Served, file_approved, intake, log_in, owner_and_provider, record_of_filing};

const NUMBER: &str = "浙ICP备2026000654号";
const DOMAIN: &str = "qingshan-record.example.cn";

/// The owner `青山_owner` and the provider `provider_1`, both logging in, and the owner's
/// approved filing of [`DOMAIN`] with the record the inner side sent back for it.
async fn approved_with_record(store: &Store, state: &AppState) -> String {
    owner_and_provider(store).await;
    let approval = Approval {
        number: NUMBER,
        document: b"untrusted comment: sluice filing certificate\nrecord in the browser\n",
        password: "Q7M3-K9XD-2FHR-WT4B",
    };
    let receipt = file_approved(
        store,
        &router(state.clone()),
        "青山_owner",
        DOMAIN,
        &approval,
    )
    .await;
    let record = record_of_filing(store, &receipt, NUMBER, "青山_owner", 1).await;
    assert!(
        store
            .write(move |conn| apply_approved_record_on(conn, &record))
            .await
            .unwrap()
    );
    receipt
}

#[test]
fn the_owner_reads_the_record_and_sends_a_change_filled_from_it_in_headless_chromium() {
    let (_dir, store, state, runtime) = intake();
    runtime.block_on(approved_with_record(&store, &state));
    let served = Served::start(&runtime, state);
    let base = served.base.clone();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut tab = Tab::open();

    log_in(&mut tab, &base, "青山_owner", "qingshan-2026");
    tab.goto(&format!("{base}/account/filings"));
    tab.eval("document.querySelector('a.approved-record').click(); true");
    tab.wait_for(|tab| tab.url().contains("/account/records/"));
    assert_eq!(tab.text_of("filing-number").as_deref(), Some(NUMBER));
    let text = tab.eval("document.body.innerText");
    assert!(text.as_str().unwrap().contains(DOMAIN), "{text}");
    let shot = tab.screenshot(shots, "approved-record.png");
    assert!(screenshot_ink(&shot).0 > 2000);

    // The change of the website: the form comes filled from the record.
    tab.eval("document.querySelector('a.change[href*=\"what=website\"]').click(); true");
    tab.wait_for(|tab| tab.url().contains("/change?what=website"));
    let domains = tab.eval("document.getElementById('website.domains').value");
    assert_eq!(
        domains.as_str(),
        Some(format!("{DOMAIN}\nwww.{DOMAIN}").as_str())
    );
    assert_eq!(
        tab.eval("document.getElementById('website.access.provider').value"),
        "provider_1"
    );
    let shot = tab.screenshot(shots, "approved-record-change-form.png");
    assert!(screenshot_ink(&shot).0 > 2000);
    let changed = format!("{DOMAIN}\nwww.{DOMAIN}\nm.{DOMAIN}");
    tab.submit(
        "change-filing",
        &[("website.domains", &changed)],
        "/account/filings",
    );
    let changes = runtime
        .block_on(store.receipts_for_filing_number(NUMBER))
        .unwrap();
    let change = changes
        .iter()
        .find(|r| r.status.kind == "change")
        .expect("the change is stored");
    let Some(Submission::Change {
        filing_number,
        change: Change::Website { website, .. },
    }) = change.latest.as_ref().map(|v| &v.body)
    else {
        panic!("{:?}", change.latest)
    };
    assert_eq!(filing_number, NUMBER);
    assert_eq!(
        website.domains,
        [
            DOMAIN.to_owned(),
            format!("www.{DOMAIN}"),
            format!("m.{DOMAIN}")
        ]
    );

    // The access provider recorded for it reads it, without the change links.
    tab.goto(&format!("{base}/account"));
    tab.submit("logout", &[], "/account/login");
    tab.submit(
        "login",
        &[("name", "provider_1"), ("password", "provider-2026")],
        "/account",
    );
    tab.goto(&format!("{base}/account/filings"));
    tab.eval("document.querySelector('a.approved-record').click(); true");
    tab.wait_for(|tab| tab.url().contains("/account/records/"));
    assert!(tab.text_of("provider-view").is_some());
    assert_eq!(
        tab.eval("document.querySelector('a.change') === null"),
        true
    );
    let shot = tab.screenshot(shots, "approved-record-provider.png");
    assert!(screenshot_ink(&shot).0 > 2000);

    drop(tab);
    served.stop(&runtime);
}
