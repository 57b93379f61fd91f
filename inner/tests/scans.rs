//! Scans on changes and on pre-approval entries (wire version 5) through the real import on a
//! real PostgreSQL: stored with the version, shown with what each belongs to, and refused at
//! import when over this side's limit or not the image they claim to be.

mod common;

use bundle_format::records::{
    AttachmentKind, Change, ImportOutcome, PreApproval, PreApprovalItem, Scan, ScanOf, ServiceType,
    Submission,
};
use common::*;
use inner::import::reason;
use testkit::pg::TestDatabase;
use testkit::records::png_scan as scan;

/// A `width` × `height` PNG of noise (which does not compress), about `3 × width × height`
/// bytes.
fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    let mut state = 0x2545_f491_u32;
    let pixels: Vec<u8> = (0..width * height * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    bytes
}

/// R1 (甲公司's 甲新闻) approved; returns its filing number.
fn approved_filing(db: &TestDatabase) -> String {
    apply_at(db, 1, &[jia_filing(1, &["jia.example.cn"], 1)]);
    approve(db, "R1").filing_number.expect("number")
}

/// A change of website 1 of `number` into a news site with its pre-approval, carrying
/// `scans`.
fn news_change(number: &str, scans: Vec<Scan>) -> Submission {
    let mut site = website("甲新闻", &["jia.example.cn"], 1);
    site.service_types = vec![ServiceType::News];
    site.pre_approvals = vec![PreApproval {
        item: PreApprovalItem::News,
        document_number: "京新闻审字〔2026〕第12号".to_owned(),
    }];
    Submission::ChangeWithScans {
        filing_number: number.to_owned(),
        change: Change::Website {
            website_number: format!("{number}-1"),
            website: site,
        },
        scans,
    }
}

fn outcome(report: &inner::import::ApplyReport, receipt: &str) -> (ImportOutcome, Option<String>) {
    let ack = report
        .outcomes
        .iter()
        .find(|a| a.receipt == receipt)
        .expect("outcome listed");
    (ack.outcome, ack.reason.clone())
}

#[test]
fn a_change_with_scans_is_imported_and_each_scan_says_what_it_shows() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_filing(&db);
    let document = noise_png(40, 30);
    let licence = noise_png(20, 20);
    let body = news_change(
        &number,
        vec![
            scan(
                AttachmentKind::PreApproval,
                ScanOf::PreApproval {
                    website: 0,
                    item: PreApprovalItem::News,
                },
                document.clone(),
            ),
            scan(
                AttachmentKind::SubjectCertificate,
                ScanOf::Submission,
                licence.clone(),
            ),
        ],
    );
    let report = apply_at(&db, 2, &[version("R2", 1, body)]);
    assert_eq!(outcome(&report, "R2"), (ImportOutcome::Applied, None));

    let mut client = db.connect().unwrap();
    let view = inner::filing_view::filing_view(&mut client, "R2").unwrap();
    assert_eq!(view.scans.len(), 2, "{:?}", view.scans);
    assert_eq!(view.scans[0].kind, "pre-approval");
    assert_eq!(
        view.scans[0].shows,
        "pre-approval news 京新闻审字〔2026〕第12号 of website 0 (甲新闻)"
    );
    assert_eq!(view.scans[0].bytes, document.len());
    assert_eq!(view.scans[1].shows, "submission");
    assert_eq!(
        inner::filing_view::scan(&mut client, "R2", 0).unwrap(),
        Some(("image/png".to_owned(), document))
    );
    assert_eq!(
        inner::filing_view::scan(&mut client, "R2", 1).unwrap(),
        Some(("image/png".to_owned(), licence))
    );
    assert_eq!(
        inner::filing_view::scan(&mut client, "R2", 2).unwrap(),
        None
    );

    // Approving the change (past its pre-approval, then the regional review) replaces the
    // website as any website change does.
    approve(&db, "R2");
    approve(&db, "R2");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM receipts WHERE receipt = 'R2' AND state = 'approved'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM website_pre_approvals p
             JOIN website_records w ON w.record_id = p.record_id
             WHERE w.status = 'active' AND p.document_number = '京新闻审字〔2026〕第12号'"
        ),
        1
    );
}

#[test]
fn a_scan_over_the_inner_limit_is_rejected_with_its_reason_and_nothing_of_it_is_applied() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_filing(&db);
    // 100 KB inside (one manual's limit), a scan of about 150 KB.
    let large = noise_png(250, 200);
    assert!(large.len() > 100_000 && large.len() < 512 * 1024);
    let over = news_change(
        &number,
        vec![scan(
            AttachmentKind::PreApproval,
            ScanOf::PreApproval {
                website: 0,
                item: PreApprovalItem::News,
            },
            large,
        )],
    );
    let fine = one_site_filing("R3", "乙公司", "C2", "乙网", &["yi.example.cn"], 2);
    let bundle = bundle_at(2, &[version("R2", 1, over), fine]);
    let incoming = inner::import::IncomingBundle {
        max_scan_bytes: 100_000,
        ..bundle.incoming()
    };
    let report = apply(&db, &incoming);
    assert_eq!(
        outcome(&report, "R2"),
        (
            ImportOutcome::Rejected,
            Some(reason::SCAN_TOO_LARGE.to_owned())
        )
    );
    assert_eq!(outcome(&report, "R3").0, ImportOutcome::Applied);
    // The refusal goes back to the submitter in the ack; nothing of R2 waits for review.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM receipts WHERE receipt = 'R2' AND state <> 'rejected'"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM review_events WHERE receipt = 'R2' AND to_state <> 'rejected'"
        ),
        0
    );
}

#[test]
fn scan_with_forged_media_type_is_refused_at_import() {
    let db = TestDatabase::with_schema().expect("db");
    let number = approved_filing(&db);
    let mut forged = scan(
        AttachmentKind::SubjectCertificate,
        ScanOf::Submission,
        b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec(),
    );
    forged.attachment.media_type = "image/png".to_owned();
    let report = apply_at(
        &db,
        2,
        &[version("R2", 1, news_change(&number, vec![forged]))],
    );
    assert_eq!(
        outcome(&report, "R2"),
        (
            ImportOutcome::Rejected,
            Some(reason::SCAN_NOT_IMAGE.to_owned())
        )
    );
}
