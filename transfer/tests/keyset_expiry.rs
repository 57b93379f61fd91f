//! Keys expire without stopping the appliance: every keyset version is checked at the time it
//! was accepted, so once version 1's root keys are past their not-after date, a chain rotated in
//! time (version 2 brings new roots, version 3 is signed by them) still loads, and its keys
//! still verify, on a clock set ten years ahead.

use std::path::{Path, PathBuf};

use keys::{ChannelId, KeyEntry, KeyId, KeyLookup, KeysetDocument, KeysetFile, Role, SecretKey};
use transfer::keysets::{KeysetStore, Offer};

const T0: i64 = 1_767_225_600; // 2026-01-01
const YEAR: i64 = 365 * 24 * 3600;
const TEN_YEARS_ON: i64 = T0 + 10 * YEAR;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(KeyId([n; 8]), &[n; 32])
}

/// Key `n` for `role`, valid from T0 for `years`.
fn entry(n: u8, role: Role, channels: &[u32], years: i64) -> KeyEntry {
    KeyEntry {
        public_key: key(n).public_key(),
        role,
        channels: channels.iter().copied().map(ChannelId).collect(),
        not_before: T0,
        not_after: T0 + years * YEAR,
        revoked_at: None,
    }
}

fn signed(document: KeysetDocument, signers: &[u8]) -> Vec<u8> {
    let mut file = KeysetFile::unsigned(document);
    for &n in signers {
        file.sign(&key(n)).unwrap();
    }
    file.to_bytes()
}

/// Version 1 (roots 1 and 2, valid one year; bundle key 10), version 2 (roots 4 and 5 join,
/// valid thirty years; bundle key 11 joins, valid thirty years) and version 3 (roots 1 and 2
/// leave, signed by 4 and 5 only).
fn chain() -> [Vec<u8>; 3] {
    let v1 = KeysetDocument::new(
        2,
        vec![
            entry(1, Role::Root, &[], 1),
            entry(2, Role::Root, &[], 1),
            entry(10, Role::OuterBundle, &[1], 1),
        ],
    )
    .unwrap();
    let mut v2 = v1.next_version();
    v2.add_key(entry(4, Role::Root, &[], 30)).unwrap();
    v2.add_key(entry(5, Role::Root, &[], 30)).unwrap();
    v2.add_key(entry(11, Role::OuterBundle, &[1], 30)).unwrap();
    let mut v3 = v2.next_version();
    v3.remove_key(KeyId([1; 8])).unwrap();
    v3.remove_key(KeyId([2; 8])).unwrap();
    v3.remove_key(KeyId([10; 8])).unwrap();
    [
        signed(v1, &[1, 2]),
        signed(v2, &[1, 2, 4, 5]),
        signed(v3, &[4, 5]),
    ]
}

/// Installs versions 2 and 3 in `dir` on top of the configured version 1, in the appliance's
/// first months, as the transfer tool does when keyset bundles arrive.
fn rotate_in_time(configured: &[PathBuf], dir: &Path, [_, v2, v3]: &[Vec<u8>; 3]) {
    let mut store = KeysetStore::load(configured, Some(dir), T0 + 100).unwrap();
    for (file, at) in [(v2, T0 + 200), (v3, T0 + 300)] {
        let Offer::Next(next) = store.judge(file, at).unwrap() else {
            panic!("a new version is offered as the next one");
        };
        store.install(*next).unwrap();
    }
    assert_eq!(store.version(), 3);
}

fn setup() -> (tempfile::TempDir, Vec<PathBuf>, PathBuf) {
    let root = tempfile::tempdir().unwrap();
    let files = chain();
    let configured = root.path().join("keyset-v1.txt");
    std::fs::write(&configured, &files[0]).unwrap();
    let dir = root.path().join("keysets");
    let configured = vec![configured];
    rotate_in_time(&configured, &dir, &files);
    (root, configured, dir)
}

#[test]
fn a_rotated_keyset_keeps_working_ten_years_after_the_first_roots_expired() {
    let (_root, configured, dir) = setup();
    let store = KeysetStore::load(&configured, Some(&dir), TEN_YEARS_ON).unwrap();
    assert_eq!(store.version(), 3);
    // The current bundle key verifies ten years on; the expired one does not.
    let bundle_key = |n: u8| {
        let channel = Some(ChannelId(1));
        let keyset = store.current();
        keyset.verifying_key(KeyId([n; 8]), Role::OuterBundle, channel, TEN_YEARS_ON)
    };
    bundle_key(11).unwrap();
    assert!(bundle_key(10).is_err());
    // And the next rotation, signed by the current roots, is still accepted then.
    let mut v4 = store.current().document().next_version();
    v4.add_key(entry(12, Role::OuterBundle, &[1], 30)).unwrap();
    assert!(matches!(
        store.judge(&signed(v4, &[4, 5]), TEN_YEARS_ON).unwrap(),
        Offer::Next(_)
    ));
}

#[test]
fn without_the_recorded_acceptance_times_the_expired_anchor_stops_the_load() {
    // What an installation made by a release before the times were recorded looks like: the
    // chain is checked at the load's time, and version 1's roots are expired by then.
    let (_root, configured, dir) = setup();
    for version in [2, 3] {
        std::fs::remove_file(dir.join(format!("keyset-{version}.accepted"))).unwrap();
    }
    let error = KeysetStore::load(&configured, Some(&dir), TEN_YEARS_ON).unwrap_err();
    assert!(
        error.to_string().contains("keyset-v1.txt"),
        "the error names the configured file: {error}"
    );
    // Checked when the versions were installed, the same files load.
    KeysetStore::load(&configured, Some(&dir), T0 + 400).unwrap();
}

#[test]
fn a_recorded_time_cannot_be_moved_to_before_the_previous_version() {
    // Someone who can write the keyset directory sets version 3's time far back: it is checked
    // at version 2's time at the earliest, so the load still holds exactly the signed chain.
    let (_root, configured, dir) = setup();
    std::fs::write(dir.join("keyset-3.accepted"), "0\n").unwrap();
    let store = KeysetStore::load(&configured, Some(&dir), TEN_YEARS_ON).unwrap();
    assert_eq!(store.version(), 3);
    assert_eq!(store.current().accepted_at(), T0 + 200);
}
