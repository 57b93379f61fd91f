//! The directory carrier on real bundles: a complete bundle is copied and its source removed;
//! a truncated or damaged file is left where it is with the reason, and never reaches the
//! other side.

mod common;

use std::path::Path;

use common::{export_settings, names};
use keys::SecretKey;
use outer::store::{AccountKind, NewSubmission};
use transfer::carry;
use transfer::outer_side::{self, OuterHost};
use transfer::spool::Spool;

const NOW: i64 = 1_795_334_400;

/// Exports three filings into one submissions bundle; returns its bytes and file name.
fn exported_bundle(dir: &Path) -> (Vec<u8>, String) {
    let host = OuterHost::open(&dir.join("outer.sqlite")).unwrap();
    let account = host
        .store()
        .add_account("owner", AccountKind::WebsiteOwner)
        .unwrap()
        .id;
    let filings = (0..3)
        .map(|i| NewSubmission {
            account_id: account,
            kind: "new_filing".into(),
            filing_number: None,
            subject_key: None,
            version: inner::bench_support::filing(i, NOW),
            idempotency: None,
        })
        .collect();
    for inserted in host
        .block_on(host.store().insert_submissions(filings))
        .unwrap()
    {
        inserted.unwrap();
    }
    let spool = Spool::under(&dir.join("spool"));
    let settings = export_settings(NOW);
    let report = outer_side::export(&host, &spool, &SecretKey::generate(), &settings).unwrap();
    assert_eq!(report.versions, 3);
    let name = report.written[0].file.clone();
    (std::fs::read(spool.outbox.join(&name)).unwrap(), name)
}

#[test]
fn only_complete_bundles_cross_and_damaged_ones_stay_in_the_source_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (bundle, name) = exported_bundle(dir.path());
    let from = dir.path().join("medium");
    let to = dir.path().join("inbox");
    std::fs::create_dir_all(&from).unwrap();
    std::fs::create_dir_all(&to).unwrap();
    std::fs::write(from.join(&name), &bundle).unwrap();
    // Cut short, as a copy interrupted on removable media leaves it.
    let truncated = "submissions-truncated-copy.bundle";
    std::fs::write(from.join(truncated), &bundle[..bundle.len() - 100]).unwrap();
    // One bit flipped near the end of the compressed payload, as a bad medium returns it.
    let damaged = "submissions-damaged-copy.bundle";
    let mut flipped = bundle.clone();
    let at = flipped.len() - 10;
    flipped[at] ^= 0x10;
    std::fs::write(from.join(damaged), &flipped).unwrap();

    let report = carry::carry(&from, &to, false).unwrap();

    assert_eq!(report.carried, vec![name.clone()]);
    assert_eq!(names(&to), vec![name.clone()]);
    assert_eq!(std::fs::read(to.join(&name)).unwrap(), bundle);
    let mut left: Vec<&str> = report.incomplete.iter().map(|(n, _)| n.as_str()).collect();
    left.sort_unstable();
    assert_eq!(left, vec![damaged, truncated]);
    for (file, reason) in &report.incomplete {
        assert!(!reason.is_empty(), "{file} left without a reason");
    }
    assert_eq!(
        names(&from),
        vec![damaged.to_owned(), truncated.to_owned()],
        "the complete bundle's source is removed, the damaged files stay"
    );

    // Carried again (the source still had it): the same bytes are there already.
    std::fs::write(from.join(&name), &bundle).unwrap();
    let again = carry::carry(&from, &to, true).unwrap();
    assert_eq!(again.already_there, vec![name.clone()]);
    assert!(again.carried.is_empty());
    assert!(from.join(&name).exists(), "--keep leaves the source");
}
