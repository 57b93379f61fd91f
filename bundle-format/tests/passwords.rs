//! Filing passwords (wire version 5, format version 7): only a return bundle holds one, a
//! bundle holding one is version 7 (encrypted or not) and every other bundle keeps its old
//! version, an older version's reader refuses one, and its shape has limits.

mod common;

use bundle_format::header::{FORMAT_VERSION_4, FORMAT_VERSION_6, FORMAT_VERSION_7};
use bundle_format::payload::encode_record;
use bundle_format::records::{FilingPassword, MAX_FILING_PASSWORD_BYTES, MAX_TEXT_BYTES, Record};
use common::bundles::{
    assert_only_return_bundles_hold, assert_refused_before_its_version,
    assert_return_record_needs_version,
};

fn password() -> Record {
    Record::FilingPassword(FilingPassword {
        filing_number: "京ICP备2026000001号".into(),
        receipt: "R20261207-3F9K2Q7M".into(),
        issued_at: 1_796_000_000,
        password: "7K3Q-M9XD-2FHR-WT4B".into(),
    })
}

#[test]
fn a_return_bundle_with_a_password_is_version_7_encrypted_or_not_and_one_without_keeps_its_version()
{
    assert_return_record_needs_version(password(), FORMAT_VERSION_7, "7K3Q-M9XD-2FHR-WT4B");
}

#[test]
fn a_password_in_a_bundle_older_than_version_7_is_refused() {
    assert_refused_before_its_version(
        &password(),
        &[FORMAT_VERSION_4, FORMAT_VERSION_6],
        FORMAT_VERSION_7,
    );
}

#[test]
fn a_password_smuggled_into_a_submissions_bundle_or_heartbeat_is_refused() {
    assert_only_return_bundles_hold(&password(), FORMAT_VERSION_7);
}

#[test]
fn an_oversized_or_empty_password_breaks_its_shape() {
    let with = |change: &dyn Fn(&mut FilingPassword)| {
        let Record::FilingPassword(mut record) = password() else {
            unreachable!()
        };
        change(&mut record);
        Record::FilingPassword(record).check().unwrap_err().field
    };
    assert_eq!(
        with(&|r| r.password = "A".repeat(MAX_FILING_PASSWORD_BYTES + 1)),
        "filing_password.password"
    );
    assert_eq!(with(&|r| r.password.clear()), "filing_password.password");
    assert_eq!(
        with(&|r| r.filing_number = "号".repeat(MAX_TEXT_BYTES)),
        "filing_password.filing_number"
    );
    assert_eq!(
        with(&|r| r.receipt = "R".repeat(MAX_TEXT_BYTES + 1)),
        "filing_password.receipt"
    );
    // The writer checks the shape before it encodes.
    let mut content = Vec::new();
    let Record::FilingPassword(mut record) = password() else {
        unreachable!()
    };
    record.password = "A".repeat(MAX_FILING_PASSWORD_BYTES + 1);
    assert!(encode_record(&Record::FilingPassword(record), &mut content).is_err());
}

#[test]
fn its_debug_form_hides_the_password() {
    let shown = format!("{:?}", password());
    assert!(shown.contains("京ICP备2026000001号"), "{shown}");
    assert!(!shown.contains("7K3Q"), "{shown}");
}
