//! The access provider's check in a real browser: headless Chromium, driven over its DevTools
//! pipe, logs in as the access provider an owner's new filing names, follows the link on its
//! account page to the filings awaiting its check, reads the filing there, and returns it with
//! a reason typed into the form; the page then shows the receipt of the check, which is stored
//! as the provider's own submission. The screenshots (`provider-check.png`,
//! `provider-check-forms.png`, `provider-check-sent.png`) stay under `target/tmp/` as the test's
//! artefacts.

mod web;

use std::path::Path;

use bundle_format::records::{ProviderDecision, ReviewState, StatusChange, Submission};
use keys::ChannelId;
use outer::http::{AppState, router};
use outer::store::{Store, apply_range_ack_on};
use testkit::browser::screenshot_ink;
use testkit::cdp::Tab;
use web::{Served, filed_through_api, intake, log_in, owner_and_provider};

const DOMAIN: &str = "qingshan-browser-check.example.cn";

/// The owner `青山_owner`'s new filing of [`DOMAIN`] (naming `provider_1`), sent inward,
/// acknowledged, and reported awaiting the provider's check; `provider_1` logs in. Returns the
/// receipt.
async fn awaiting_check(store: &Store, state: &AppState) -> String {
    owner_and_provider(store).await;
    let receipt = filed_through_api(store, &router(state.clone()), "青山_owner", DOMAIN).await;
    // Exported and acknowledged as `sluice-transfer` does, then reported by the inner side.
    let pending = store
        .read(|conn| outer::store::pending_versions(conn, 10))
        .await
        .unwrap();
    let range = outer::store::range_of(&pending).unwrap();
    store
        .record_export(ChannelId(1), 1, [1; 32], 10, 1_790_000_000)
        .await
        .unwrap();
    let ack = range.ack([1; 32], 1, 1, Vec::new());
    store
        .write(move |conn| apply_range_ack_on(conn, &ack, 1_790_000_100, None))
        .await
        .unwrap();
    let change = StatusChange {
        event_id: 1,
        receipt: receipt.clone(),
        version: 1,
        state: ReviewState::AwaitingProviderCheck,
        at: 1_790_000_200,
        reason: None,
        filing_number: None,
    };
    assert!(store.apply_status_change(change).await.unwrap());
    receipt
}

#[test]
fn the_provider_reads_the_filing_on_its_page_and_returns_it_with_a_reason_in_headless_chromium() {
    let (_dir, store, state, runtime) = intake();
    let receipt = runtime.block_on(awaiting_check(&store, &state));
    let served = Served::start(&runtime, state);
    let base = served.base.clone();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut tab = Tab::open();

    log_in(&mut tab, &base, "provider_1", "provider-2026");
    assert_eq!(tab.text_of("awaiting-checks").as_deref(), Some("1"));
    tab.eval("document.getElementById('provider-checks').click(); true");
    tab.wait_for(|tab| tab.url().ends_with("/account/provider-checks"));
    let text = tab.eval("document.body.innerText");
    let text = text.as_str().unwrap();
    for shown in [receipt.as_str(), DOMAIN, "202.96.128.86", "由贵单位接入"] {
        assert!(text.contains(shown), "{shown} is not shown: {text}");
    }
    let shot = tab.screenshot(shots, "provider-check.png");
    assert!(screenshot_ink(&shot).0 > 2000);
    // Below the filing: the confirm button and the return form.
    tab.eval(&format!(
        "document.getElementById('return-{receipt}').scrollIntoView(); true"
    ));
    let shot = tab.screenshot(shots, "provider-check-forms.png");
    assert!(screenshot_ink(&shot).0 > 2000);

    let reason = "IP 地址 202.96.128.86 不属于本公司 · not our address";
    tab.submit(
        &format!("return-{receipt}"),
        &[("reason", reason)],
        &format!("/account/provider-checks/{receipt}"),
    );
    let check_receipt = tab
        .text_of("check-receipt")
        .expect("the page shows the check's receipt");
    assert!(tab.text_of("notice").unwrap().contains(&check_receipt));
    // The filing stays listed as checked, without its forms.
    assert_eq!(
        tab.eval(&format!(
            "document.getElementById('return-{receipt}') === null \
             && document.querySelector('.check-sent') !== null"
        )),
        true
    );
    let shot = tab.screenshot(shots, "provider-check-sent.png");
    assert!(screenshot_ink(&shot).0 > 2000);

    let stored = runtime
        .block_on(store.receipt(&check_receipt))
        .unwrap()
        .expect("the check is stored under its receipt");
    assert_eq!(stored.status.kind, "provider_check");
    let version = stored.latest.unwrap();
    assert_eq!(version.submitter, "provider_1");
    let Submission::ProviderCheck {
        receipt: checked,
        decision,
        ..
    } = version.body
    else {
        panic!("not a provider check: {:?}", version.body)
    };
    assert_eq!(checked, receipt);
    assert_eq!(
        decision,
        ProviderDecision::Return {
            reason: reason.to_owned()
        }
    );

    drop(tab);
    served.stop(&runtime);
}
