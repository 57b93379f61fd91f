//! Keys rotated and revoked across the gap with keyset bundles, on real SQLite and PostgreSQL:
//! the next keyset version travels in the channel's own sequence, is checked against the one
//! each side trusts, installed, acknowledged, and judges every bundle after it.

mod common;

use bundle_format::records::{KeysetRecord, Record};
use bundle_format::{BundleId, BundleWriter, Kind, SealedBundle, WriterConfig};
use common::*;
use keys::{ChannelId, KeyEntry, KeysetDocument, KeysetFile, Role, SecretKey, Signer};
use rusqlite::OptionalExtension;
use tests::Appliance;
use transfer::demo;
use transfer::outcome::FileResult;

const YEAR: i64 = 366 * 24 * 3600;

/// A fresh key and its keyset entry for `role` on `channels`, valid from an hour ago.
fn new_key(role: Role, channels: &[u32]) -> (SecretKey, KeyEntry) {
    let key = SecretKey::generate();
    let now = demo::now();
    let entry = KeyEntry {
        public_key: key.public_key(),
        role,
        channels: channels.iter().copied().map(ChannelId).collect(),
        not_before: now - 3600,
        not_after: now + YEAR,
        revoked_at: None,
    };
    (key, entry)
}

/// The keyset file of `document`, signed by `signers`.
fn keyset_file(document: KeysetDocument, signers: &[&SecretKey]) -> Vec<u8> {
    let mut file = KeysetFile::unsigned(document);
    for signer in signers {
        file.sign(*signer).unwrap();
    }
    file.to_bytes()
}

fn outer_key(app: &Appliance) -> SecretKey {
    SecretKey::read_file(app.keys.outer_key(ChannelId(1)).unwrap(), None).unwrap()
}

fn root(app: &Appliance) -> SecretKey {
    SecretKey::read_file(&app.keys.root, None).unwrap()
}

/// Version 2 of the appliance's keyset: `add` added, `revoke` revoked a minute ago, signed by
/// the root key.
fn rotation(app: &Appliance, add: KeyEntry, revoke: keys::KeyId) -> Vec<u8> {
    let mut next = app.keyset.document().next_version();
    next.add_key(add).unwrap();
    next.revoke(revoke, demo::now() - 60).unwrap();
    keyset_file(next, &[&root(app)])
}

/// The outer-bundle key rotation both outer tests start from: the appliance's channel-1 key A,
/// a new key B for channel 1, and keyset version 2 adding B and revoking A.
fn outer_key_rotation(app: &Appliance) -> (SecretKey, SecretKey, Vec<u8>) {
    let key_a = outer_key(app);
    let (key_b, entry_b) = new_key(Role::OuterBundle, &[1]);
    let keyset_2 = rotation(app, entry_b, key_a.key_id());
    (key_a, key_b, keyset_2)
}

/// Signs a keyset bundle carrying `keyset` as the outer host's next bundle on channel 1 and
/// puts it in the inner inbox, advancing the outer host's send state as a (careless) outer
/// host would: what `publish-keyset` refuses to write, delivered anyway.
fn forge_keyset_bundle(app: &Appliance, signer: &dyn Signer, keyset: &[u8]) -> BundleId {
    let conn = rusqlite::Connection::open(&app.outer().node.database).unwrap();
    let (next, previous): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT next_sequence, previous FROM transfer_send_state WHERE channel = 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .unwrap()
        .unwrap_or((1, vec![0; 32]));
    let mut previous_id = [0u8; 32];
    previous_id.copy_from_slice(&previous);
    let now = demo::now();
    let config = WriterConfig {
        kind: Kind::Keyset,
        channel: ChannelId(1),
        epoch: 1,
        next_sequence: u64::try_from(next).unwrap(),
        previous: BundleId(previous_id),
        created: now,
        expires: now + 3600,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 1,
    };
    let inbox = app.inner.spool.inbox.clone();
    let mut id = BundleId::ZERO;
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        let name = transfer::spool::bundle_file_name(&sealed.header, &sealed.id);
        std::fs::write(inbox.join(name), sealed.to_vec())?;
        id = sealed.id;
        Ok(())
    };
    let mut writer = BundleWriter::new(signer, config, sink).unwrap();
    writer
        .push(&Record::Keyset(KeysetRecord {
            document: keyset.to_vec(),
        }))
        .unwrap();
    writer.finish().unwrap();
    conn.execute(
        "INSERT INTO transfer_send_state (channel, epoch, next_sequence, previous)
         VALUES (1, 1, ?1, ?2)
         ON CONFLICT (channel) DO UPDATE SET next_sequence = excluded.next_sequence,
             previous = excluded.previous",
        rusqlite::params![next + 1, &id.0[..]],
    )
    .unwrap();
    id
}

/// Installed keyset files in a host's keyset directory (not the `keyset-N.accepted` records
/// of when each was accepted, nor temporary files).
fn installed(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.') && n.ends_with(".txt"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn inner_keyset_rows(app: &mut Appliance) -> i64 {
    app.inner
        .client
        .query_one("SELECT count(*) FROM transfer_keysets", &[])
        .unwrap()
        .get(0)
}

fn quarantine_codes(spool: &transfer::spool::Spool) -> Vec<String> {
    transfer::spool::list_bundles(&spool.quarantine)
        .unwrap()
        .iter()
        .filter_map(|path| transfer::spool::read_reason(path).map(|r| r.code))
        .collect()
}

/// What became of each file of an import run, with the kind of bundle it was when it verified.
fn results_and_kinds(import: &transfer::inner_side::ImportReport) -> Vec<(&str, Option<&str>)> {
    import
        .files
        .iter()
        .map(|f| (f.result.as_str(), f.kind.as_deref()))
        .collect()
}

#[test]
fn the_outer_bundle_key_is_rotated_across_the_gap_and_the_revoked_key_is_refused() {
    let mut app = Appliance::new(&[1]).unwrap();
    let (key_a, key_b, keyset_2) = outer_key_rotation(&app);

    // Outer host: version 2 is installed there and goes out as the channel's next bundle,
    // signed with key A (the key the inner side trusts until it has version 2).
    let published = app.outers[0].publish_keyset(&keyset_2).unwrap();
    assert_eq!(published.keyset.version, 2);
    assert_eq!(published.keyset.result, "installed");
    assert_eq!(published.keyset.changes.added.len(), 1);
    assert_eq!(
        published.keyset.changes.revoked,
        [format!("outer-bundle:{}", key_a.key_id())]
    );
    assert_eq!(published.bundle.sequence, 1);
    assert_eq!(published.bundle.kind, "keyset");
    assert_eq!(app.outers[0].keysets.version(), 2);
    let outer_keysets = app.dir().join("outer-1").join("keysets");
    assert_eq!(installed(&outer_keysets), ["keyset-2.txt"]);
    assert!(
        outer_keysets.join("keyset-2.accepted").is_file(),
        "the time of acceptance is recorded beside the installed version"
    );
    // The same file again is refused: it is trusted here already and already on its way.
    let again = app.outers[0].publish_keyset(&keyset_2).unwrap_err();
    assert!(
        format!("{again:#}").contains("nothing to publish"),
        "{again:#}"
    );

    // Then a bundle signed with B, and (a mistake) one still signed with A.
    app.outers[0].key = key_b;
    submit_filings(app.outer(), [1]);
    assert_eq!(app.outer().export().unwrap().written[0].sequence, 2);
    let key_b = std::mem::replace(&mut app.outers[0].key, key_a);
    let late = submit_filings(app.outer(), [2]);
    assert_eq!(app.outer().export().unwrap().written[0].sequence, 3);

    assert_eq!(app.carry_in(0).unwrap(), 3);
    let import = app.import().unwrap();
    let results = results_and_kinds(&import);
    assert_eq!(
        results,
        [
            ("applied", Some("keyset")),
            ("applied", Some("submissions")),
            // Refused before its kind could be trusted.
            ("quarantined", None)
        ],
        "{import:#?}"
    );
    let keyset = import.files[0].keyset.as_ref().unwrap();
    assert_eq!((keyset.previous, keyset.version), (1, 2));
    assert_eq!(keyset.result, "installed");
    assert_eq!(import.files[1].outcomes.get("applied"), Some(&1));
    assert!(
        import.files[2]
            .reason
            .as_deref()
            .unwrap()
            .contains("envelope.key-revoked"),
        "{:?}",
        import.files[2].reason
    );
    assert_eq!(quarantine_codes(&app.inner.spool), ["envelope.key-revoked"]);
    assert!(
        import.files[2].refusal_returned,
        "the refusal of a bundle its sender signed goes back: {:?}",
        import.files[2]
    );
    assert_eq!(app.inner.keysets.version(), 2);
    let inner_keysets = app.dir().join("inner").join("keysets");
    assert_eq!(installed(&inner_keysets), ["keyset-2.txt"]);
    assert_eq!(
        std::fs::read(inner_keysets.join("keyset-2.txt")).unwrap(),
        keyset_2
    );
    // Recorded with the bundle's ledger row, and the next run trusts version 2 from the files.
    let row = app
        .inner
        .client
        .query_one(
            "SELECT k.origin, k.sequence, i.kind FROM transfer_keysets k
             JOIN transfer_inbound i ON i.bundle_id = k.bundle_id WHERE k.version = 2",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "received");
    assert_eq!(row.get::<_, i64>(1), 1);
    assert_eq!(row.get::<_, String>(2), "keyset");
    let reloaded = app.keys.keyset_store(&inner_keysets, demo::now()).unwrap();
    assert_eq!(reloaded.version(), 2);

    // The ack of the keyset bundle reaches the outer host, which stops retaining it, and so
    // does the refusal of bundle 3: its filing waits again, the reason on its status.
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.count(FileResult::Applied), 1, "{applied:#?}");
    assert_eq!(applied.files[0].bundles_refused, [3]);
    let waiting = app.outer().node.status(&late[0]).unwrap();
    assert_eq!(waiting["state"], "received", "{waiting}");
    let reason = waiting["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("bundle 3 was refused inside") && reason.contains("envelope.key-revoked"),
        "{waiting}"
    );
    let conn = rusqlite::Connection::open(&app.outer().node.database).unwrap();
    let acknowledged: Vec<(i64, String, bool)> = conn
        .prepare(
            "SELECT sequence, kind, acknowledged_at IS NOT NULL FROM transfer_outbox
             ORDER BY sequence",
        )
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        acknowledged,
        [
            (1, "keyset".to_owned(), true),
            (2, "submissions".to_owned(), true),
            (3, "submissions".to_owned(), false)
        ]
    );
    let retained = transfer::spool::list_bundles(&app.outer().spool.retained).unwrap();
    assert_eq!(
        retained.len(),
        1,
        "only the refused bundle is kept, to be signed again: {retained:?}"
    );
    let recorded = transfer::outer_side::recorded_keysets(&app.outer().host).unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].origin, "published");
    assert_eq!(recorded[0].acknowledged, Some(true));

    // The same keyset bundle delivered again (its signer A is revoked by now) is a duplicate:
    // nothing changes, nothing is quarantined.
    let before = app.inner_counts().unwrap();
    deliver_archived_again(&app.inner.spool.archive, &app.inner.spool.inbox, "keyset-");
    let again = app.import().unwrap();
    assert_eq!(again.count(FileResult::Duplicate), 1, "{again:#?}");
    assert_eq!(app.inner_counts().unwrap(), before);
    assert_eq!(inner_keyset_rows(&mut app), 1);
    assert_eq!(installed(&inner_keysets), ["keyset-2.txt"]);
    assert_eq!(quarantine_codes(&app.inner.spool).len(), 1);

    // With key B configured again, the next export signs bundle 3's message again (its id,
    // sequence and range stay), and its filing reaches the inner side and is acknowledged.
    app.outers[0].key = key_b;
    let export = app.outer().export().unwrap();
    assert_eq!(export.signed_again, [3], "{export:#?}");
    assert!(export.not_signed_again.is_empty());
    assert_eq!(
        app.outer().node.status(&late[0]).unwrap()["state"],
        "in_transit"
    );
    app.carry_in(0).unwrap();
    let import = app.import().unwrap();
    let resent = import
        .files
        .iter()
        .find(|f| f.sequence == Some(3))
        .unwrap_or_else(|| panic!("bundle 3 arrives again: {import:#?}"));
    assert_eq!(resent.result, FileResult::Applied, "{import:#?}");
    assert_eq!(resent.outcomes.get("applied"), Some(&1));
    return_to_first_outer(&mut app);
    let delivered = app.outer().node.status(&late[0]).unwrap();
    assert!(
        !["received", "in_transit"].contains(&delivered["state"].as_str().unwrap()),
        "{delivered}"
    );
    assert!(delivered["reason"].is_null(), "{delivered}");
    let unacknowledged: i64 = conn
        .query_row(
            "SELECT count(*) FROM transfer_outbox WHERE acknowledged_at IS NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(unacknowledged, 0);
    assert!(
        transfer::spool::list_bundles(&app.outer().spool.retained)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_keyset_that_skips_a_version_or_lacks_root_signatures_is_quarantined_and_installs_nothing() {
    let mut app = Appliance::new(&[1]).unwrap();
    let key_a = outer_key(&app);
    let (_, entry_b) = new_key(Role::OuterBundle, &[1]);

    // Version 3 on top of version 1.
    let mut skipping = app.keyset.document().next_version().next_version();
    skipping.add_key(entry_b.clone()).unwrap();
    let skipping = keyset_file(skipping, &[&root(&app)]);
    // Version 2 adding a second root and raising the threshold to 2, signed by one root only.
    let (_, second_root) = new_key(Role::Root, &[]);
    let mut short = app.keyset.document().next_version();
    short.add_key(second_root).unwrap();
    short.add_key(entry_b).unwrap();
    short.set_threshold(2).unwrap();
    let short = keyset_file(short, &[&root(&app)]);

    // publish-keyset checks first and writes nothing for either.
    for (file, code) in [
        (&skipping, "keyset.not-next-version"),
        (&short, "keyset.threshold-not-met"),
    ] {
        let error = app.outers[0].publish_keyset(file).unwrap_err();
        assert!(format!("{error:#}").contains(code), "{error:#}");
    }
    assert!(
        transfer::spool::list_bundles(&app.outer().spool.outbox)
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.outers[0].keysets.version(), 1);

    // Delivered anyway (signed with the outer-bundle key, so only the keyset is wrong).
    forge_keyset_bundle(&app, &key_a, &skipping);
    forge_keyset_bundle(&app, &key_a, &short);
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Quarantined), 2, "{import:#?}");
    assert_eq!(
        quarantine_codes(&app.inner.spool),
        ["keyset.not-next-version", "keyset.threshold-not-met"]
    );
    assert_eq!(app.inner.keysets.version(), 1);
    assert!(installed(&app.dir().join("inner").join("keysets")).is_empty());
    assert_eq!(inner_keyset_rows(&mut app), 0);
    let ledger: i64 = app
        .inner
        .client
        .query_one("SELECT count(*) FROM transfer_inbound", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        ledger, 0,
        "a refused keyset bundle takes no place in the chain"
    );

    // Version 1 still rules: the next bundle signed with A imports (and reports the gap).
    submit_and_export(app.outer(), [1]);
    app.carry_in(0).unwrap();
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1, "{import:#?}");
    assert_eq!(import.files[0].gap, Some((1, 2)));
}

#[test]
fn a_keyset_version_trusted_already_is_a_no_op_that_is_still_acknowledged() {
    let mut app = Appliance::new(&[1]).unwrap();
    let key_a = outer_key(&app);
    let (_, entry_b) = new_key(Role::OuterBundle, &[1]);
    let mut next = app.keyset.document().next_version();
    next.add_key(entry_b).unwrap();
    let keyset_2 = keyset_file(next, &[&root(&app)]);

    app.outers[0].publish_keyset(&keyset_2).unwrap();
    app.carry_in(0).unwrap();
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    // Version 2 again in a new bundle, and version 1 (the anchor) in another.
    let anchor = std::fs::read(&app.keys.keyset).unwrap();
    let second = forge_keyset_bundle(&app, &key_a, &keyset_2);
    let third = forge_keyset_bundle(&app, &key_a, &anchor);
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 2, "{import:#?}");
    for file in &import.files {
        let keyset = file.keyset.as_ref().unwrap();
        assert_eq!(keyset.result, "already-trusted", "{file:?}");
        assert_eq!(keyset.previous, 2);
    }
    assert_eq!(inner_keyset_rows(&mut app), 1);
    assert_eq!(
        installed(&app.dir().join("inner").join("keysets")),
        ["keyset-2.txt"]
    );
    // Each is acknowledged like any bundle.
    let acked: Vec<Vec<u8>> = app
        .inner
        .client
        .query("SELECT bundle_id FROM bundles ORDER BY sequence", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(acked.len(), 3);
    assert_eq!(acked[1], second.0.to_vec());
    assert_eq!(acked[2], third.0.to_vec());

    // A different document under a version trusted here is an alarm, not a no-op.
    let (_, entry_c) = new_key(Role::OuterBundle, &[1]);
    let mut other = app.keyset.document().next_version();
    other.add_key(entry_c).unwrap();
    forge_keyset_bundle(&app, &key_a, &keyset_file(other, &[&root(&app)]));
    app.import().unwrap();
    assert_eq!(
        quarantine_codes(&app.inner.spool),
        ["keyset.version-conflict"]
    );
}

#[test]
fn the_inner_return_key_is_rotated_across_the_gap_and_the_revoked_key_is_refused() {
    let mut app = Appliance::new(&[1]).unwrap();
    let old = SecretKey::read_file(&app.keys.inner_return, None).unwrap();
    let (new, entry) = new_key(Role::InnerReturn, &[demo::DEMO_RETURN_CHANNEL]);
    let keyset_2 = rotation(&app, entry, old.key_id());

    // Something to acknowledge and review.
    // Sent by the access provider: their acknowledgement deletes their payloads.
    submit_filings_as_provider(app.outer(), 1..=2);
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    app.import().unwrap();

    // Inner host: version 2 goes out on the return channel, signed with the old key.
    let published = app.inner.publish_keyset(&keyset_2).unwrap();
    assert_eq!(published.bundle.sequence, 1);
    assert_eq!(published.bundle.kind, "keyset");
    assert_eq!(app.inner.keysets.version(), 2);
    // Then the acks, signed with the new key; then status changes still signed with the old.
    app.inner.key = new;
    let first = app.inner.write_return().unwrap();
    assert_eq!(first.written[0].sequence, 2);
    assert_eq!(first.acks, 1);
    app.approve_all().unwrap();
    app.inner.key = old;
    let second = app.inner.write_return().unwrap();
    assert_eq!(second.written[0].sequence, 3);

    app.carry_out().unwrap();
    let applied = app.apply(0).unwrap();
    let results: Vec<&str> = applied.files.iter().map(|f| f.result.as_str()).collect();
    assert_eq!(
        results,
        ["applied", "applied", "quarantined"],
        "{applied:#?}"
    );
    let keyset = applied.files[0].keyset.as_ref().unwrap();
    assert_eq!(
        (keyset.previous, keyset.version, keyset.result.as_str()),
        (1, 2, "installed")
    );
    assert_eq!(applied.files[1].payloads_deleted, 2);
    assert_eq!(
        quarantine_codes(&app.outer().spool),
        ["envelope.key-revoked"]
    );
    assert_eq!(app.outers[0].keysets.version(), 2);
    let outer_keysets = app.dir().join("outer-1").join("keysets");
    assert_eq!(installed(&outer_keysets), ["keyset-2.txt"]);
    assert_eq!(
        std::fs::read(outer_keysets.join("keyset-2.txt")).unwrap(),
        keyset_2
    );
    let recorded = transfer::outer_side::recorded_keysets(&app.outer().host).unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].origin, "received");
    assert_eq!(recorded[0].sequence, Some(1));

    // Applying the keyset bundle again changes nothing.
    deliver_archived_again(
        &app.outer().spool.archive,
        &app.outer().spool.inbox,
        "keyset-",
    );
    let again = app.apply(0).unwrap();
    assert_eq!(again.count(FileResult::Duplicate), 1, "{again:#?}");
    assert_eq!(
        transfer::outer_side::recorded_keysets(&app.outer().host)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(installed(&outer_keysets), ["keyset-2.txt"]);
}

#[test]
fn a_keyset_recorded_but_not_yet_written_is_installed_by_the_next_run() {
    let mut app = Appliance::new(&[1]).unwrap();
    let (_, _, keyset_2) = outer_key_rotation(&app);
    app.outers[0].publish_keyset(&keyset_2).unwrap();
    app.carry_in(0).unwrap();
    app.import().unwrap();
    let inner_keysets = app.dir().join("inner").join("keysets");

    // As if the run had stopped between its commit and writing the file: the file is gone and
    // the host restarts trusting version 1 only.
    std::fs::remove_file(inner_keysets.join("keyset-2.txt")).unwrap();
    app.inner.keysets = app.keys.keyset_store(&inner_keysets, demo::now()).unwrap();
    assert_eq!(app.inner.keysets.version(), 1);
    let import = app.import().unwrap();
    assert!(import.files.is_empty());
    assert_eq!(app.inner.keysets.version(), 2);
    assert_eq!(
        std::fs::read(inner_keysets.join("keyset-2.txt")).unwrap(),
        keyset_2
    );
}

/// The import verifies the next inbox file while it imports one (`import_with_progress`). A
/// bundle signed with a key that the keyset bundle just before it in the same run revokes
/// verifies under the keyset trusted when that read-ahead began; it must still be refused,
/// verified again with the version the keyset bundle installed, and nothing of it applied.
#[test]
fn a_bundle_signed_with_a_key_revoked_by_the_keyset_just_before_it_is_refused_in_the_same_run() {
    let mut app = Appliance::new(&[1]).unwrap();
    let (key_a, _key_b, keyset_2) = outer_key_rotation(&app);
    let published = app.outers[0].publish_keyset(&keyset_2).unwrap();
    assert_eq!(published.bundle.sequence, 1);
    // Still signed with A, which version 2 revokes.
    assert_eq!(app.outers[0].key.key_id(), key_a.key_id());
    let filed = submit_filings(app.outer(), [1]);
    assert_eq!(app.outer().export().unwrap().written[0].sequence, 2);
    assert_eq!(app.carry_in(0).unwrap(), 2);
    let before = app.inner_counts().unwrap();

    let import = app.import().unwrap();

    let results = results_and_kinds(&import);
    assert_eq!(
        results,
        [("applied", Some("keyset")), ("quarantined", None)],
        "{import:#?}"
    );
    assert_eq!(app.inner.keysets.version(), 2);
    assert_eq!(quarantine_codes(&app.inner.spool), ["envelope.key-revoked"]);
    let after = app.inner_counts().unwrap();
    assert_eq!(
        after.submission_versions, before.submission_versions,
        "nothing of the refused bundle is stored"
    );
    assert_eq!(
        app.outer().node.status(&filed[0]).unwrap()["state"],
        "in_transit"
    );
}
