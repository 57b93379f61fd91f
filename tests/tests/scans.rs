//! Scans on a change across the gap, on real SQLite and PostgreSQL: a change with a
//! pre-approval document made over the API crosses in a format version 7 bundle and the
//! reviewer sees each scan with what it shows; a scan over the inner side's limit is refused at
//! import with a reason the submitter sees on its status.

mod common;

use base64::Engine as _;
use serde_json::{Value, json};
use transfer::outcome::FileResult;

use common::*;
use tests::Appliance;
use transfer::demo::website;

/// A PNG signature and header chunk, then `len` bytes in all.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(len.max(bytes.len()), 7);
    bytes
}

/// Demo subject 1's change of its website 1 into a news site with its news pre-approval,
/// carrying `document` as that entry's scan.
fn news_change(number: &str, document: &[u8]) -> Value {
    let mut site = website(1, "青山资讯");
    site["service_types"] = json!(["news"]);
    site["pre_approvals"] = json!([{"item": "news", "document_number": "浙新闻审字〔2026〕第7号"}]);
    json!({"submission": {"kind": "change", "filing_number": number,
        "change": {"what": "website", "website_number": format!("{number}-1"), "website": site},
        "attachments": [{"kind": "pre_approval", "media_type": "image/png",
            "base64": base64::engine::general_purpose::STANDARD.encode(document),
            "pre_approval": {"website": 0, "item": "news"}}]}})
}

/// Demo subject 1 filed, imported, approved and the approval returned; its filing number.
fn approved_filing(app: &mut Appliance) -> String {
    let receipts = imported_and_approved(app, [1]);
    return_to_first_outer(app);
    app.outer().node.status(&receipts[0]).unwrap()["filing_number"]
        .as_str()
        .expect("filing number")
        .to_owned()
}

/// Exports at the first outer host, carries the bundle in and imports it.
fn cross(app: &mut Appliance) -> transfer::inner_side::ImportReport {
    app.outer().export().unwrap();
    assert_eq!(app.carry_in(0).unwrap(), 1);
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1, "{import:?}");
    import
}

#[test]
fn a_change_with_scans_crosses_and_the_reviewer_sees_each_scan() {
    let mut app = Appliance::new(&[1]).unwrap();
    let number = approved_filing(&mut app);
    let document = png(3000);
    let receipt = app
        .outer()
        .node
        .submit(&news_change(&number, &document))
        .unwrap();
    let import = cross(&mut app);
    assert_eq!(import.files[0].outcomes.get("applied"), Some(&1));

    let view = inner::filing_view::filing_view(&mut app.inner.client, &receipt).unwrap();
    assert_eq!(view.scans.len(), 1, "{:?}", view.scans);
    assert_eq!(view.scans[0].kind, "pre-approval");
    assert_eq!(
        view.scans[0].shows,
        "pre-approval news 浙新闻审字〔2026〕第7号 of website 0 (青山资讯)"
    );
    assert_eq!(
        inner::filing_view::scan(&mut app.inner.client, &receipt, 0).unwrap(),
        Some(("image/png".to_owned(), document))
    );
    // The bundle that carried it is format version 7; the one before stayed version 1.
    let versions: Vec<i32> = app
        .inner
        .client
        .query(
            "SELECT get_byte(message, 8) + 256 * get_byte(message, 9) FROM bundles ORDER BY sequence",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(versions, [1, 7]);
}

#[test]
fn a_scan_over_the_inner_limit_is_refused_at_import_and_the_submitter_sees_why() {
    let mut app = Appliance::new(&[1]).unwrap();
    let number = approved_filing(&mut app);
    // The intake allows 512 KiB, the inner side one manual's 100 KB.
    app.inner.max_scan_bytes = 100_000;
    let receipt = app
        .outer()
        .node
        .submit(&news_change(&number, &png(150_000)))
        .unwrap();
    let import = cross(&mut app);
    assert_eq!(import.files[0].outcomes.get("rejected"), Some(&1));
    // Nothing of it waits for review inside.
    let waiting: i64 = app
        .inner
        .client
        .query_one(
            "SELECT count(*) FROM receipts WHERE receipt = $1 AND state <> 'rejected'",
            &[&receipt],
        )
        .unwrap()
        .get(0);
    assert_eq!(waiting, 0);

    return_to_first_outer(&mut app);
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["state"], "rejected", "{status}");
    assert!(status.to_string().contains("scan-too-large"), "{status}");
}
