//! Encrypted on the medium: when the keyset names age recipients, the bundles on the medium hold
//! no personal data in the clear, stock `signify` still verifies them, stock `age` and `zstd`
//! with the receiver's identity read them, the round trip works as before, and a bundle the
//! receiver cannot decrypt, or one sent in the clear on an encrypted channel, is quarantined with
//! its reason and applies nothing.

mod common;

use std::path::{Path, PathBuf};

use bundle_format::encryption::{Identities, Identity};
use transfer::outcome::FileResult;

use common::*;
use tests::Appliance;

/// The resident ID and mobile number of the demo's principal (`transfer::demo::person`).
const RESIDENT_ID: &str = "11010519491231002X";
const MOBILE: &str = "13905711234";

fn bundle_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn no_resident_id_appears_on_the_medium_and_the_round_trip_still_works() {
    let mut app = Appliance::encrypted(&[1]).unwrap();
    let receipts = submit_and_export(app.outer(), [1, 2]);
    let outbox = bundle_files(&app.outer().spool.outbox);
    assert_eq!(outbox.len(), 1, "one submissions bundle");
    let file = std::fs::read(&outbox[0]).unwrap();
    assert!(
        !contains(&file, RESIDENT_ID),
        "the resident ID is on the medium"
    );
    assert!(
        !contains(&file, MOBILE),
        "the mobile number is on the medium"
    );

    // Stock signify verifies the encrypted file, with no secret at all.
    let scratch = tempfile::tempdir().unwrap();
    let public = app.keys.dir.join("outer-bundle-1.pub");
    let output = testkit::tools::signify(
        &[
            "-V",
            "-e",
            "-p",
            public.to_str().unwrap(),
            "-x",
            outbox[0].to_str().unwrap(),
            "-m",
            "message",
        ],
        b"",
        scratch.path(),
    );
    testkit::tools::assert_success(&output, "signify -V -e on an encrypted bundle");

    // Stock age with the inner's identity opens the payload, and stock zstd decompresses it:
    // the data really is in there, for the receiver only.
    let message = std::fs::read(scratch.path().join("message")).unwrap();
    let header_bytes = bundle_format::header::HEADER_V1_BYTES;
    std::fs::write(scratch.path().join("payload.age"), &message[header_bytes..]).unwrap();
    let identity = app.keys.inner_identity.to_str().unwrap().to_owned();
    let output = testkit::tools::age(
        &["-d", "-i", &identity, "-o", "payload.zst", "payload.age"],
        scratch.path(),
    );
    testkit::tools::assert_success(&output, "age -d with the inner's identity");
    let output = testkit::tools::zstd(
        &["-d", "-q", "-o", "content", "payload.zst"],
        scratch.path(),
    );
    testkit::tools::assert_success(&output, "zstd -d of the decrypted payload");
    let content = std::fs::read(scratch.path().join("content")).unwrap();
    assert!(
        contains(&content, RESIDENT_ID),
        "decrypted content holds the filing"
    );

    // The outer's own identity does not open what it sent.
    let outer_identity = app.keys.outer_identity.to_str().unwrap().to_owned();
    let output = testkit::tools::age(
        &["-d", "-i", &outer_identity, "-o", "other", "payload.age"],
        scratch.path(),
    );
    assert!(!output.status.success(), "the outer's identity opened it");

    // The round trip: import, approval, return (encrypted too), apply.
    assert_eq!(app.carry_in(0).unwrap(), 1);
    let imported = app.import().unwrap();
    assert_eq!(
        imported.count(FileResult::Applied),
        1,
        "{:?}",
        imported.files
    );
    assert_eq!(app.approve_all().unwrap().len(), 2);
    let returned = app.inner.write_return().unwrap();
    let return_file = app.inner.spool.outbox.join(&returned.written[0].file);
    let return_bytes = std::fs::read(&return_file).unwrap();
    let (header, _) = transfer::examine::peek(&return_bytes).unwrap();
    assert!(header.encrypted, "the return bundle is encrypted");
    assert!(!contains(&return_bytes, "zhangsanfeng@example.cn"));
    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    assert_eq!(applied.count(FileResult::Applied), 1, "{:?}", applied.files);
    assert_approved_with_certificates(&app, &receipts);
}

#[test]
fn a_bundle_encrypted_to_another_recipient_is_quarantined_and_applies_nothing() {
    let mut app = Appliance::encrypted(&[1]).unwrap();
    submit_and_export(app.outer(), [1]);
    assert_eq!(app.carry_in(0).unwrap(), 1);
    // The inner host holds a wrong identity (a key rotated on one side only, a wrong file).
    app.inner.identities = Identities(vec![Identity::generate()]);
    let reason = import_quarantining_one(&mut app);
    assert!(
        reason.contains("encryption.no-matching-identity") && reason.contains("other recipients"),
        "{reason}"
    );
    let counts = app.inner_counts().unwrap();
    assert_eq!(counts.receipts, 0, "nothing was applied: {counts:?}");
    assert!(app.inner.awaiting_review().unwrap().is_empty());
}

#[test]
fn a_plaintext_bundle_on_an_encrypted_channel_is_refused() {
    let mut app = Appliance::encrypted(&[1]).unwrap();
    common::submit_filings(app.outer(), [1]);
    // An outer host that ignores the keyset's recipients (an old keyset, a patched build).
    let outer = app.outer();
    let settings =
        transfer::outer_side::ExportSettings::defaults(outer.channel, transfer::demo::now());
    assert!(settings.recipients.is_empty());
    transfer::outer_side::export(&outer.host, &outer.spool, &outer.key, &settings).unwrap();
    assert_eq!(app.carry_in(0).unwrap(), 1);
    let reason = import_quarantining_one(&mut app);
    assert!(reason.contains("bundle.not-encrypted"), "{reason}");
    assert_eq!(app.inner_counts().unwrap().receipts, 0);
}

#[test]
fn inspect_reads_an_encrypted_bundle_only_with_the_receivers_identity() {
    let app = Appliance::encrypted(&[1]).unwrap();
    submit_and_export(app.outer(), [1]);
    let file = std::fs::read(&bundle_files(&app.outer().spool.outbox)[0]).unwrap();
    let (without, records) = transfer::examine::inspect(&file, &[]).unwrap();
    assert!(without.encrypted);
    assert!(records.is_empty());
    let problem = without.payload_problem.unwrap_or_default();
    assert!(problem.contains("encryption.no-identity"), "{problem}");
    let identities = keys::age_identity::read_identity_file(&app.keys.inner_identity).unwrap();
    let (with, records) = transfer::examine::inspect(&file, &identities).unwrap();
    assert_eq!(with.records.get("submission"), Some(&1), "{with:?}");
    assert_eq!(records.len(), 1);
}

/// Imports what the inner host's inbox holds, checks that it quarantined exactly one file and
/// returns the reason it gave.
fn import_quarantining_one(app: &mut Appliance) -> String {
    let report = app.import().unwrap();
    assert_eq!(
        report.count(FileResult::Quarantined),
        1,
        "{:?}",
        report.files
    );
    report.files[0]
        .reason
        .as_deref()
        .unwrap_or_default()
        .to_owned()
}
