//! The keyset trust rules, each tried as the attack it stops, plus the parser's limits and
//! round trips.

use std::fs;

use keys::keyset::{MAX_FILE_LEN, MAX_KEYS, MAX_SIGNATURES};
use keys::{
    ChannelId, KeyEntry, KeyId, KeyLookup, KeyRejection, Keyset, KeysetDocument, KeysetError,
    KeysetFile, Role, SecretKey, Signer,
};
use proptest::prelude::*;

const T0: i64 = 1_767_225_600; // 2026-01-01
const YEAR: i64 = 365 * 24 * 3600;
const NOW: i64 = T0 + 1000;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed(KeyId([n; 8]), &[n; 32])
}

fn entry(n: u8, role: Role, channels: &[u32]) -> KeyEntry {
    KeyEntry {
        public_key: key(n).public_key(),
        role,
        channels: channels.iter().copied().map(ChannelId).collect(),
        not_before: T0,
        not_after: T0 + YEAR,
        revoked_at: None,
    }
}

fn root(n: u8) -> KeyEntry {
    entry(n, Role::Root, &[])
}

/// Version 1: roots 1, 2, 3 with threshold 2, an outer-bundle key 10 on channels 1 and 2, an
/// inner-return key 11 on channel 7 and an inner-cert key 12.
fn anchor_document() -> KeysetDocument {
    KeysetDocument::new(
        2,
        vec![
            root(1),
            root(2),
            root(3),
            entry(10, Role::OuterBundle, &[1, 2]),
            entry(11, Role::InnerReturn, &[7]),
            entry(12, Role::InnerCert, &[]),
        ],
    )
    .unwrap()
}

fn signed(document: KeysetDocument, signers: &[u8]) -> KeysetFile {
    let mut file = KeysetFile::unsigned(document);
    for &n in signers {
        file.sign(&key(n)).unwrap();
    }
    file
}

fn installed_anchor() -> Keyset {
    Keyset::anchor(signed(anchor_document(), &[1, 2]), NOW).unwrap()
}

/// Reparses `file`'s bytes, as a verifier reading it from a medium would.
fn as_received(file: &KeysetFile) -> KeysetFile {
    KeysetFile::parse(&file.to_bytes()).unwrap()
}

#[test]
fn anchor_with_threshold_self_signatures_is_installed() {
    let keyset = Keyset::anchor(as_received(&signed(anchor_document(), &[1, 3])), NOW).unwrap();
    assert_eq!(keyset.version(), 1);
    assert_eq!(keyset.document().keys().len(), 6);
}

#[test]
fn anchor_below_threshold_is_refused() {
    for signers in [&[][..], &[1][..]] {
        let error =
            Keyset::anchor(as_received(&signed(anchor_document(), signers)), NOW).unwrap_err();
        assert!(
            matches!(
                error,
                KeysetError::ThresholdNotMet { offered: 1, roots_of: 1, needed: 2, found }
                    if found == signers.len()
            ),
            "{error:?}"
        );
    }
    let error = Keyset::anchor(signed(anchor_document(), &[2]), NOW).unwrap_err();
    assert_eq!(
        error.to_string(),
        "version 1 is signed by 1 distinct valid root keys of version 1; 2 are needed"
    );
}

#[test]
fn same_root_signing_twice_counts_once() {
    let file = signed(anchor_document(), &[1]);
    // sign() refuses a second signature by the same key, so an attacker would append the line.
    let mut again = file.clone();
    assert!(matches!(
        again.sign(&key(1)),
        Err(KeysetError::AlreadySigned { .. })
    ));
    let mut bytes = file.to_bytes();
    let signature_line = bytes[file.document_bytes().len()..].to_vec();
    bytes.extend_from_slice(&signature_line);
    bytes.extend_from_slice(&signature_line);
    let tampered = KeysetFile::parse(&bytes).unwrap();
    assert_eq!(tampered.signatures().len(), 3);
    let error = Keyset::anchor(tampered, NOW).unwrap_err();
    assert!(
        matches!(error, KeysetError::ThresholdNotMet { found: 1, .. }),
        "{error:?}"
    );
}

#[test]
fn signature_by_a_non_root_key_is_refused() {
    let mut file = signed(anchor_document(), &[1]);
    file.sign(&key(10)).unwrap(); // the outer-bundle key
    let error = Keyset::anchor(as_received(&file), NOW).unwrap_err();
    assert!(
        matches!(
            error,
            KeysetError::SignerNotRoot {
                role: Role::OuterBundle,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the signature by key 0a0a0a0a0a0a0a0a does not count: its role is outer-bundle, not root"
    );
}

#[test]
fn signature_by_a_key_outside_the_keyset_is_refused() {
    let mut file = signed(anchor_document(), &[1, 2]);
    file.sign(&key(99)).unwrap();
    let error = Keyset::anchor(as_received(&file), NOW).unwrap_err();
    assert!(
        matches!(error, KeysetError::UnknownSigner { key_id } if key_id == KeyId([99; 8])),
        "{error:?}"
    );
}

#[test]
fn changed_document_fails_the_signatures() {
    let file = signed(anchor_document(), &[1, 2]);
    // Widen the outer-bundle key to channel 3 after the roots signed.
    let bytes = String::from_utf8(file.to_bytes())
        .unwrap()
        .replace("channels=1,2", "channels=1,2,3");
    let tampered = KeysetFile::parse(bytes.as_bytes()).unwrap();
    let error = Keyset::anchor(tampered, NOW).unwrap_err();
    assert!(
        matches!(error, KeysetError::BadSignature { .. }),
        "{error:?}"
    );
}

#[test]
fn expired_revoked_or_future_roots_do_not_count() {
    let mut document = anchor_document();
    document.revoke(KeyId([2; 8]), NOW - 10).unwrap();
    let file = signed(document, &[1, 2, 3]);
    // Roots 1 and 3 are enough; 2 is revoked but its signature still verifies.
    Keyset::anchor(file.clone(), NOW).unwrap();
    // Before the revocation, all three count; after the window nobody does.
    Keyset::anchor(file.clone(), NOW - 20).unwrap();
    let error = Keyset::anchor(file.clone(), T0 + YEAR).unwrap_err();
    assert!(
        matches!(error, KeysetError::ThresholdNotMet { found: 0, .. }),
        "{error:?}"
    );
    let error = Keyset::anchor(file, T0 - 1).unwrap_err();
    assert!(
        matches!(error, KeysetError::ThresholdNotMet { found: 0, .. }),
        "{error:?}"
    );

    let only_revoked_and_one = signed(
        {
            let mut document = anchor_document();
            document.revoke(KeyId([2; 8]), NOW - 10).unwrap();
            document
        },
        &[1, 2],
    );
    let error = Keyset::anchor(only_revoked_and_one, NOW).unwrap_err();
    assert!(
        matches!(error, KeysetError::ThresholdNotMet { found: 1, .. }),
        "{error:?}"
    );
}

#[test]
fn anchor_must_be_version_one() {
    let file = signed(anchor_document().next_version(), &[1, 2]);
    let error = Keyset::anchor(file, NOW).unwrap_err();
    assert!(
        matches!(error, KeysetError::NotAnAnchor { version: 2 }),
        "{error:?}"
    );
}

/// Version 2 rotates the roots: 1 leaves, 4 and 5 join, threshold stays 2; 10 is revoked.
fn rotated_document() -> KeysetDocument {
    let mut document = anchor_document().next_version();
    document.add_key(root(4)).unwrap();
    document.add_key(root(5)).unwrap();
    document.remove_key(KeyId([1; 8])).unwrap();
    document.revoke(KeyId([10; 8]), NOW + 500).unwrap();
    document
}

/// Offers `document` signed by the roots `signers` as the next version; returns the refusal.
fn refused_next(keyset: &Keyset, document: KeysetDocument, signers: &[u8]) -> KeysetError {
    keyset
        .accept_next(signed(document, signers), NOW)
        .unwrap_err()
}

#[test]
fn next_version_needs_threshold_of_old_and_of_new_roots() {
    let anchor = installed_anchor();
    // Old roots 1 and 2 (1 is gone from version 2), new roots 4 and 5.
    let next = as_received(&signed(rotated_document(), &[1, 2, 4, 5]));
    let keyset = anchor.accept_next(next, NOW).unwrap();
    assert_eq!(keyset.version(), 2);

    // Old roots only: the new roots have not agreed.
    let error = refused_next(&anchor, rotated_document(), &[1, 3]);
    assert!(
        matches!(
            error,
            KeysetError::ThresholdNotMet {
                offered: 2,
                roots_of: 2,
                needed: 2,
                found: 1
            }
        ),
        "{error:?}"
    );
    // New roots only: a stolen pair of new keys cannot install themselves.
    let error = refused_next(&anchor, rotated_document(), &[4, 5]);
    assert!(
        matches!(
            error,
            KeysetError::ThresholdNotMet {
                offered: 2,
                roots_of: 1,
                needed: 2,
                found: 0
            }
        ),
        "{error:?}"
    );
    // Root 2 is a root of both versions; its one signature counts once for each.
    anchor
        .accept_next(signed(rotated_document(), &[2, 3]), NOW)
        .unwrap();
    let error = refused_next(&anchor, rotated_document(), &[2, 4]);
    assert!(
        matches!(
            error,
            KeysetError::ThresholdNotMet {
                roots_of: 1,
                found: 1,
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn versions_only_go_up_one_at_a_time() {
    let anchor = installed_anchor();
    let keyset = anchor
        .accept_next(signed(rotated_document(), &[2, 3, 4]), NOW)
        .unwrap();
    // Going back to version 1, or offering version 2 again, is refused.
    let error = refused_next(&keyset, anchor_document(), &[1, 2]);
    assert!(
        matches!(
            error,
            KeysetError::VersionNotNewer {
                installed: 2,
                offered: 1
            }
        ),
        "{error:?}"
    );
    let error = refused_next(&keyset, rotated_document(), &[2, 3, 4]);
    assert!(
        matches!(
            error,
            KeysetError::VersionNotNewer {
                installed: 2,
                offered: 2
            }
        ),
        "{error:?}"
    );
    // Skipping from 1 to 3 is refused even with every signature.
    let error = refused_next(&anchor, rotated_document().next_version(), &[1, 2, 3, 4, 5]);
    assert!(
        matches!(
            error,
            KeysetError::VersionSkipped {
                installed: 1,
                offered: 3
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "version 3 does not follow the installed version 1; install version 2 first"
    );
    // A chain from the anchor works in one call.
    let chain = Keyset::verify_chain(
        [
            signed(anchor_document(), &[1, 2]),
            signed(rotated_document(), &[2, 3, 4]),
        ],
        NOW,
    )
    .unwrap();
    assert_eq!(chain.version(), 2);
}

#[test]
fn key_number_cannot_change_its_key_and_revocations_stay() {
    let anchor = installed_anchor();
    // Version 2 gives number 10's slot to another key.
    let mut keys: Vec<KeyEntry> = anchor_document().keys().to_vec();
    keys[3] = KeyEntry {
        public_key: keys::PublicKey::from_parts(
            KeyId([10; 8]),
            key(77).public_key().verifying_key().to_bytes(),
        )
        .unwrap(),
        ..keys[3].clone()
    };
    let document = KeysetDocument::new(2, keys).unwrap().next_version();
    let error = refused_next(&anchor, document, &[1, 2]);
    assert!(
        matches!(error, KeysetError::KeyIdReused { key_id } if key_id == KeyId([10; 8])),
        "{error:?}"
    );

    // Once revoked, version 3 cannot un-revoke.
    let keyset = anchor
        .accept_next(signed(rotated_document(), &[2, 3, 4]), NOW)
        .unwrap();
    let mut keys: Vec<KeyEntry> = rotated_document().keys().to_vec();
    for entry in &mut keys {
        entry.revoked_at = None;
    }
    let mut document = KeysetDocument::new(2, keys).unwrap();
    for _ in 0..2 {
        document = document.next_version();
    }
    assert_eq!(document.version(), 3);
    let error = refused_next(&keyset, document, &[2, 3, 4]);
    assert!(
        matches!(error, KeysetError::Unrevoked { revoked_at, .. } if revoked_at == NOW + 500),
        "{error:?}"
    );
}

#[test]
fn lookup_refuses_with_the_specific_reason() {
    let keyset = installed_anchor();
    let outer = KeyId([10; 8]);
    let cert = KeyId([12; 8]);
    let outer_key = key(10).public_key().verifying_key();

    assert_eq!(
        keyset.verifying_key(outer, Role::OuterBundle, Some(ChannelId(2)), NOW),
        Ok(outer_key)
    );
    assert_eq!(
        keyset.verifying_key(KeyId([42; 8]), Role::OuterBundle, Some(ChannelId(1)), NOW),
        Err(KeyRejection::UnknownKey {
            key_id: KeyId([42; 8])
        })
    );
    // An ack (inner-return) key cannot sign a submissions bundle, nor the other way round.
    assert_eq!(
        keyset.verifying_key(KeyId([11; 8]), Role::OuterBundle, Some(ChannelId(7)), NOW),
        Err(KeyRejection::WrongRole {
            key_id: KeyId([11; 8]),
            actual: Role::InnerReturn,
            wanted: Role::OuterBundle
        })
    );
    for channel in [Some(ChannelId(3)), None] {
        assert_eq!(
            keyset.verifying_key(outer, Role::OuterBundle, channel, NOW),
            Err(KeyRejection::WrongChannel {
                key_id: outer,
                channel
            })
        );
    }
    assert_eq!(
        keyset.verifying_key(cert, Role::InnerCert, Some(ChannelId(1)), NOW),
        Err(KeyRejection::WrongChannel {
            key_id: cert,
            channel: Some(ChannelId(1))
        })
    );
    assert!(
        keyset
            .verifying_key(cert, Role::InnerCert, None, NOW)
            .is_ok()
    );
    assert_eq!(
        keyset.verifying_key(outer, Role::OuterBundle, Some(ChannelId(1)), T0 - 1),
        Err(KeyRejection::NotYetValid {
            key_id: outer,
            not_before: T0,
            at: T0 - 1
        })
    );
    assert!(
        keyset
            .verifying_key(outer, Role::OuterBundle, Some(ChannelId(1)), T0)
            .is_ok()
    );
    assert_eq!(
        keyset.verifying_key(outer, Role::OuterBundle, Some(ChannelId(1)), T0 + YEAR),
        Err(KeyRejection::Expired {
            key_id: outer,
            not_after: T0 + YEAR,
            at: T0 + YEAR
        })
    );

    // Version 2 revokes key 10 at NOW + 500: fine before, refused from then on.
    let keyset = keyset
        .accept_next(signed(rotated_document(), &[2, 3, 4]), NOW)
        .unwrap();
    assert!(
        keyset
            .verifying_key(outer, Role::OuterBundle, Some(ChannelId(1)), NOW + 499)
            .is_ok()
    );
    for at in [NOW + 500, NOW + 10_000] {
        assert_eq!(
            keyset.verifying_key(outer, Role::OuterBundle, Some(ChannelId(1)), at),
            Err(KeyRejection::Revoked {
                key_id: outer,
                revoked_at: NOW + 500
            })
        );
    }
}

fn parse_error(text: &str) -> KeysetError {
    KeysetFile::parse(text.as_bytes()).unwrap_err()
}

fn valid_text() -> String {
    String::from_utf8(signed(anchor_document(), &[1, 2]).to_bytes()).unwrap()
}

#[test]
fn malformed_files_name_the_line_and_field() {
    let text = valid_text();
    KeysetFile::parse(text.as_bytes()).unwrap();
    let cases: Vec<(String, &str)> = vec![
        (
            text.replace("sluice keyset v1", "sluice keyset v3"),
            "line 1: expected `sluice keyset v1` or `sluice keyset v2`, found \"sluice keyset v3\"",
        ),
        (
            text.replace("version 1", "version 01"),
            "line 2: version: expected a decimal number without sign or leading zeros, found \"01\"",
        ),
        (
            text.replace("version 1", "version 0"),
            "line 2: version: versions start at 1",
        ),
        (
            text.replace("threshold 2", "threshold 0"),
            "line 3: threshold: the threshold must be at least 1",
        ),
        (
            text.replace("threshold 2", "threshold 4"),
            "threshold 4 is more than the 3 root keys listed",
        ),
        (
            text.replace("threshold 2", "threshold 300"),
            "line 3: threshold: the threshold is at most 255",
        ),
        (
            text.replacen("key role=root channels=-", "key role=root channels=5", 1),
            "line 4: root keys are not bound to channels",
        ),
        (
            text.replace("channels=1,2", "channels=-"),
            "line 7: outer-bundle keys must list at least one channel",
        ),
        (
            text.replace("channels=1,2", "channels=2,1"),
            "line 7: channels: channels must be strictly ascending",
        ),
        (
            text.replace("channels=1,2", "channels=1,4294967296"),
            "line 7: channels: channel 4294967296 is larger than 4294967295",
        ),
        (
            text.replacen("role=root", "role=admin", 1),
            "line 4: role: unknown role \"admin\"; expected root, outer-bundle, inner-return or inner-cert",
        ),
        (
            text.replacen(" channels=", "  channels=", 1),
            "line 4: channels: expected `channels=…` here, found \"\"",
        ),
        (
            text.replacen(
                &format!("not-after={}", T0 + YEAR),
                &format!("not-after={T0}"),
                1,
            ),
            "line 4: not-before 1767225600 is not before not-after 1767225600",
        ),
        (
            text.replace("end\n", ""),
            "line 10: line: expected `key …` or `end`",
        ),
        (text.replace("\n", "\r\n"), "line 1: line: carriage returns"),
        (
            text.trim_end().to_owned(),
            "line 12: line: the file must end with a newline",
        ),
        (
            format!("{text}trailing words\n"),
            "line 13: signature: expected `signature <base64>` after `end`",
        ),
        (
            text.replace("signature RW", "signature XW"),
            "line 11: signature",
        ),
        (text.replacen("public=RW", "public=XX", 1), "line 4: public"),
    ];
    for (bad, expected) in cases {
        let error = parse_error(&bad);
        assert!(
            error.to_string().starts_with(expected),
            "expected {expected:?}, got {:?} ({error:?})",
            error.to_string()
        );
    }
    // Only the format line: the document ends before `end`.
    assert!(matches!(
        parse_error("sluice keyset v1\nversion 1\nthreshold 1\n"),
        KeysetError::MissingEnd { line: 4 }
    ));
    assert!(matches!(
        parse_error(""),
        KeysetError::MissingEnd { line: 1 }
    ));
}

#[test]
fn duplicate_keys_in_one_document_are_refused() {
    let text = valid_text();
    let lines: Vec<&str> = text.lines().collect();
    // Key line 4 (root 1) repeated.
    let mut repeated = lines.clone();
    repeated.insert(4, lines[3]);
    let error = parse_error(&(repeated[..11].join("\n") + "\n"));
    assert!(
        matches!(error, KeysetError::DuplicateKeyId { line: 5, .. }),
        "{error:?}"
    );
    // The same public key under two numbers.
    let error = KeysetDocument::new(
        1,
        vec![
            root(1),
            KeyEntry {
                public_key: keys::PublicKey::from_parts(
                    KeyId([50; 8]),
                    key(1).public_key().verifying_key().to_bytes(),
                )
                .unwrap(),
                ..root(1)
            },
        ],
    )
    .unwrap_err();
    assert!(
        matches!(error, KeysetError::DuplicatePublicKey { first, .. } if first == KeyId([1; 8])),
        "{error:?}"
    );
}

#[test]
fn size_key_count_and_signature_count_are_limited() {
    let error = KeysetFile::parse(&vec![b'a'; MAX_FILE_LEN + 1]).unwrap_err();
    assert!(matches!(error, KeysetError::TooLarge { .. }), "{error:?}");

    let text = valid_text();
    let document_end = text.find("end\n").unwrap();
    let key_line = text.lines().nth(3).unwrap();
    let too_many_keys = format!(
        "{}{}end\n",
        &text[..document_end],
        format!("{key_line}\n").repeat(MAX_KEYS)
    );
    let error = parse_error(&too_many_keys);
    assert!(
        matches!(error, KeysetError::TooManyKeys { .. }),
        "{error:?}"
    );

    let signature_line = text.lines().last().unwrap();
    let too_many_signatures = format!(
        "{}end\n{}",
        &text[..document_end],
        format!("{signature_line}\n").repeat(MAX_SIGNATURES + 1)
    );
    let error = parse_error(&too_many_signatures);
    assert!(
        matches!(error, KeysetError::TooManySignatures { .. }),
        "{error:?}"
    );
}

#[test]
fn keyset_file_round_trips_through_disk_and_names_the_file_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyset-1");
    let file = signed(anchor_document(), &[1, 2]);
    file.write_file(&path).unwrap();
    let read = keys::KeysetFile::read_file(&path).unwrap();
    assert_eq!(read.to_bytes(), file.to_bytes());
    Keyset::anchor(read, NOW).unwrap();

    fs::write(&path, "sluice keyset v9\n").unwrap();
    let error = keys::KeysetFile::read_file(&path).unwrap_err();
    assert_eq!(error.to_string(), format!("keyset {}", path.display()));
    assert!(matches!(
        error.innermost(),
        KeysetError::UnknownFormat { .. }
    ));
}

#[test]
fn keyset_signatures_verify_with_signify() {
    let dir = tempfile::tempdir().unwrap();
    let file = signed(anchor_document(), &[1]);
    fs::write(dir.path().join("document"), file.document_bytes()).unwrap();
    let text = String::from_utf8(file.to_bytes()).unwrap();
    let signature = text
        .lines()
        .last()
        .unwrap()
        .strip_prefix("signature ")
        .unwrap();
    fs::write(
        dir.path().join("document.sig"),
        format!("untrusted comment: keyset signature\n{signature}\n"),
    )
    .unwrap();
    key(1)
        .public_key()
        .write_file(&dir.path().join("root.pub"), "root 1")
        .unwrap();
    let output = testkit::tools::signify(
        &[
            "-V",
            "-p",
            "root.pub",
            "-m",
            "document",
            "-x",
            "document.sig",
        ],
        b"",
        dir.path(),
    );
    testkit::tools::assert_success(&output, "signify -V of a keyset signature");
}

fn arbitrary_entry() -> impl Strategy<Value = KeyEntry> {
    (
        1u8..=200,
        prop::sample::select(Role::ALL.to_vec()),
        prop::collection::btree_set(any::<u32>(), 1..5),
        0i64..=i64::MAX / 2,
        1i64..=1_000_000_000,
        prop::option::of(0i64..=i64::MAX),
    )
        .prop_map(|(n, role, channels, not_before, length, revoked_at)| {
            let bound = keys::keyset::role_is_channel_bound(role);
            KeyEntry {
                public_key: key(n).public_key(),
                role,
                channels: if bound {
                    channels.into_iter().map(ChannelId).collect()
                } else {
                    Vec::new()
                },
                not_before,
                not_after: not_before + length,
                revoked_at,
            }
        })
}

fn arbitrary_document() -> impl Strategy<Value = KeysetDocument> {
    (
        prop::collection::vec(arbitrary_entry(), 1..8),
        1u64..=u64::MAX,
    )
        .prop_filter_map("needs distinct keys and a root", |(entries, version)| {
            let mut keys: Vec<KeyEntry> = Vec::new();
            for mut entry in entries {
                if keys.iter().any(|k| k.key_id() == entry.key_id()) {
                    continue;
                }
                if keys.is_empty() {
                    entry.role = Role::Root;
                    entry.channels.clear();
                }
                keys.push(entry);
            }
            let mut document = KeysetDocument::new(1, keys).ok()?;
            for _ in 1..version.min(4) {
                document = document.next_version();
            }
            Some(document)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// encode → parse gives the same document, and re-encodes to the same bytes.
    #[test]
    fn document_round_trips(document in arbitrary_document()) {
        let file = KeysetFile::unsigned(document.clone());
        let parsed = KeysetFile::parse(&file.to_bytes()).unwrap();
        prop_assert_eq!(parsed.document(), &document);
        prop_assert_eq!(parsed.document_bytes(), &document.encode()[..]);
        prop_assert_eq!(parsed.to_bytes(), file.to_bytes());
    }

    /// Any single changed byte in a signed anchor makes it fail to install, and nothing panics.
    #[test]
    fn every_single_byte_change_is_refused(position in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let bytes = signed(anchor_document(), &[1, 2]).to_bytes();
        let mut tampered = bytes.clone();
        let index = position.index(tampered.len());
        tampered[index] ^= flip;
        let accepted = KeysetFile::parse(&tampered)
            .and_then(|file| Keyset::anchor(file, NOW));
        prop_assert!(accepted.is_err(), "byte {} changed and still accepted", index);
    }
}

#[test]
fn signer_trait_objects_sign_keysets() {
    // Another crate's signer (e.g. one holding the key elsewhere) works through the trait.
    let signer: Box<dyn Signer> = Box::new(key(1));
    let mut file = KeysetFile::unsigned(anchor_document());
    file.sign(signer.as_ref()).unwrap();
    file.sign(&key(3)).unwrap();
    Keyset::anchor(file, NOW).unwrap();
}

#[test]
fn a_revoked_key_dropped_and_listed_again_stays_revoked() {
    // Version 2 revokes key 10 from NOW + 500; version 3 drops it; version 4 lists it again.
    let v2 = installed_anchor()
        .accept_next(signed(rotated_document(), &[2, 3, 4]), NOW)
        .unwrap();
    let mut dropped = rotated_document().next_version();
    dropped.remove_key(KeyId([10; 8])).unwrap();
    let v3 = v2
        .accept_next(signed(dropped.clone(), &[2, 3, 4]), NOW)
        .unwrap();
    let listed_again = |key_entry: KeyEntry| {
        let mut document = dropped.next_version();
        document.add_key(key_entry).unwrap();
        signed(document, &[2, 3, 4])
    };
    let bundle_key = entry(10, Role::OuterBundle, &[1, 2]);

    // Under its old key number, unrevoked: refused.
    let error = v3
        .accept_next(listed_again(bundle_key.clone()), NOW)
        .unwrap_err();
    assert!(
        matches!(error, KeysetError::Unrevoked { key_id, revoked_at }
            if key_id == KeyId([10; 8]) && revoked_at == NOW + 500),
        "{error:?}"
    );
    // The same Ed25519 key under a new key number: still the revoked key, still refused.
    let renumbered = KeyEntry {
        public_key: keys::PublicKey::from_parts(
            KeyId([99; 8]),
            key(10).public_key().verifying_key().to_bytes(),
        )
        .unwrap(),
        ..bundle_key.clone()
    };
    let error = v3.accept_next(listed_again(renumbered), NOW).unwrap_err();
    assert!(
        matches!(error, KeysetError::Unrevoked { key_id, revoked_at }
            if key_id == KeyId([99; 8]) && revoked_at == NOW + 500),
        "{error:?}"
    );
    // Revoked later than before: the revocation may not move later either.
    let later = KeyEntry {
        revoked_at: Some(NOW + 501),
        ..bundle_key.clone()
    };
    assert!(matches!(
        v3.accept_next(listed_again(later), NOW).unwrap_err(),
        KeysetError::Unrevoked { .. }
    ));
    // Listed again with its revocation, the version is accepted and the key refused from then.
    let revoked = KeyEntry {
        revoked_at: Some(NOW + 500),
        ..bundle_key
    };
    let v4 = v3.accept_next(listed_again(revoked), NOW).unwrap();
    assert_eq!(v4.version(), 4);
    assert!(matches!(
        v4.verifying_key(
            KeyId([10; 8]),
            Role::OuterBundle,
            Some(ChannelId(1)),
            NOW + 600
        ),
        Err(KeyRejection::Revoked { .. })
    ));
}

#[test]
fn an_accepted_version_remembers_when_it_was_accepted() {
    let anchor = installed_anchor();
    assert_eq!(anchor.accepted_at(), NOW);
    let next = anchor
        .accept_next(signed(rotated_document(), &[2, 3, 4]), NOW + 7)
        .unwrap();
    assert_eq!(next.accepted_at(), NOW + 7);
}
