//! Scans on changes and pre-approval entries (wire version 5, format version 7): the writer
//! picks version 7 only for a bundle holding one, an older reader's version refuses them, and
//! their shape limits name the field.

mod common;

use bundle_format::Kind;
use bundle_format::header::{FORMAT_VERSION_1, FORMAT_VERSION_6, FORMAT_VERSION_7};
use bundle_format::payload::{PayloadError, decode_records_of_version, encode_record};
use bundle_format::records::{
    AttachmentKind, Change, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, PreApproval, PreApprovalItem,
    Record, Scan, ScanOf, Submission, SubmissionVersion,
};
use common::TestSigner;
use common::bundles::{carried_verbatim, config, read_from_outer, write_one};
use common::samples::{filing, submission};

fn outer() -> TestSigner {
    TestSigner::named("outer-bundle")
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

fn news_scan(website: u32) -> Scan {
    testkit::records::png_scan(
        AttachmentKind::PreApproval,
        ScanOf::PreApproval {
            website,
            item: PreApprovalItem::News,
        },
        PNG.to_vec(),
    )
}

/// A change of website 1 into a news site with its pre-approval, carrying `scans`.
fn change_with_scans(scans: Vec<Scan>) -> Submission {
    let mut website = filing(1).websites.remove(0);
    website.pre_approvals = vec![PreApproval {
        item: PreApprovalItem::News,
        document_number: "京新闻审字〔2026〕第12号".to_owned(),
    }];
    Submission::ChangeWithScans {
        filing_number: "京ICP备2026000001号".to_owned(),
        change: Change::Website {
            website_number: "京ICP备2026000001号-1".to_owned(),
            website,
        },
        scans,
    }
}

fn record(body: Submission) -> Record {
    let Record::Submission(version) = submission(9) else {
        unreachable!()
    };
    Record::Submission(SubmissionVersion {
        content_hash: bundle_format::records::content_hash(&body),
        body,
        ..version
    })
}

#[test]
fn a_bundle_with_a_scanned_change_is_version_7_and_one_without_stays_version_1() {
    let records = vec![
        submission(1),
        record(change_with_scans(vec![news_scan(0)])),
        submission(2),
    ];
    let bundle = read_from_outer(&write_one(&outer(), config(Kind::Submissions), &records));
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_7);
    assert_eq!(bundle.records, records);

    let plain = vec![submission(1), submission(2)];
    let bundle = read_from_outer(&write_one(&outer(), config(Kind::Submissions), &plain));
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_1);
}

#[test]
fn a_stored_scanned_change_carried_verbatim_makes_the_bundle_version_7() {
    let Record::Submission(version) = record(change_with_scans(vec![news_scan(0)])) else {
        unreachable!()
    };
    let Record::Submission(plain) = submission(1) else {
        unreachable!()
    };
    let (declared, bundle) = carried_verbatim(&[plain.clone(), version.clone()]);
    assert_eq!(declared, [FORMAT_VERSION_1, FORMAT_VERSION_7]);
    assert_eq!(bundle.header.format_version, FORMAT_VERSION_7);
    assert_eq!(
        bundle.records,
        vec![Record::Submission(plain), Record::Submission(version)]
    );
}

#[test]
fn scanned_submission_in_a_version_6_bundle_is_refused() {
    let new_filing = Submission::NewFilingWithScans {
        filing: {
            let mut filing = filing(3);
            filing.websites[0].pre_approvals = vec![PreApproval {
                item: PreApprovalItem::News,
                document_number: "京新闻审字〔2026〕第12号".to_owned(),
            }];
            filing
        },
        scans: vec![news_scan(0)],
    };
    for body in [change_with_scans(vec![news_scan(0)]), new_filing] {
        let mut content = Vec::new();
        encode_record(&record(body), &mut content).unwrap();
        assert!(matches!(
            decode_records_of_version(&content, Kind::Submissions, FORMAT_VERSION_6),
            Err(PayloadError::RecordNewerThanFormat { index: 0, .. })
        ));
        assert!(decode_records_of_version(&content, Kind::Submissions, FORMAT_VERSION_7).is_ok());
        assert!(matches!(
            decode_records_of_version(&content, Kind::Return, FORMAT_VERSION_7),
            Err(PayloadError::RecordNotAllowed { .. })
        ));
    }
}

fn shape_error(body: Submission) -> bundle_format::records::ShapeError {
    record(body).check().unwrap_err()
}

#[test]
fn scan_of_an_unlisted_website_is_refused_by_its_shape() {
    let error = shape_error(change_with_scans(vec![news_scan(1)]));
    assert_eq!(
        error.field,
        "submission.body.change_with_scans.scans[0].shows.website"
    );
}

#[test]
fn scan_of_a_pre_approval_the_website_does_not_list_is_refused_by_its_shape() {
    let mut scan = news_scan(0);
    scan.shows = ScanOf::PreApproval {
        website: 0,
        item: PreApprovalItem::Medical,
    };
    let error = shape_error(change_with_scans(vec![scan]));
    assert_eq!(
        error.field,
        "submission.body.change_with_scans.scans[0].shows.item"
    );
}

#[test]
fn pre_approval_scan_of_another_kind_is_refused_by_its_shape() {
    let mut scan = news_scan(0);
    scan.attachment.kind = AttachmentKind::PrincipalPhoto;
    let error = shape_error(change_with_scans(vec![scan]));
    assert_eq!(
        error.field,
        "submission.body.change_with_scans.scans[0].attachment.kind"
    );
}

#[test]
fn too_many_or_too_large_scans_are_refused_by_their_shape() {
    let error = shape_error(change_with_scans(vec![news_scan(0); MAX_ATTACHMENTS + 1]));
    assert_eq!(error.field, "submission.body.change_with_scans.scans");
    let mut large = news_scan(0);
    large.attachment.bytes = vec![0; MAX_ATTACHMENT_BYTES + 1];
    let error = shape_error(change_with_scans(vec![large]));
    assert_eq!(
        error.field,
        "submission.body.change_with_scans.scans[0].attachment.bytes"
    );
}

#[test]
fn new_filing_with_scans_carries_no_attachments_beside_them() {
    let mut filing = filing(4);
    filing.attachments = vec![news_scan(0).attachment];
    let error = shape_error(Submission::NewFilingWithScans {
        filing,
        scans: Vec::new(),
    });
    assert_eq!(
        error.field,
        "submission.body.new_filing_with_scans.filing.attachments"
    );
}

#[test]
fn scans_are_listed_with_what_they_show_from_either_carrier() {
    let mut old = filing(5);
    old.attachments = vec![news_scan(0).attachment];
    let body = Submission::NewFiling(old);
    let shown: Vec<ScanOf> = body.scans().map(|s| s.shows).collect();
    assert_eq!(shown, vec![ScanOf::Submission]);
    let body = change_with_scans(vec![news_scan(0)]);
    let shown: Vec<ScanOf> = body.scans().map(|s| s.shows).collect();
    assert_eq!(
        shown,
        vec![ScanOf::PreApproval {
            website: 0,
            item: PreApprovalItem::News
        }]
    );
    assert_eq!(body.format_version(), FORMAT_VERSION_7);
}
