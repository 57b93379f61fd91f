//! Test keys and a key table shared by the integration tests.
//!
//! Keys are derived from fixed seeds so that the committed test vectors stay byte-stable.
#![allow(dead_code)] // each test binary uses a different part of this module

use ed25519_dalek::{Signature, VerifyingKey};
use keys::{ChannelId, KeyId, KeyLookup, KeyRejection, PublicKey, Role, SecretKey, Signer};

/// The instant the test vectors are judged at (2026-11-22T00:00:00Z).
pub const NOW: i64 = 1_795_305_600;

/// A signing key from a fixed seed: a real `keys::SecretKey`, so the key files these tests
/// write are the ones `sluice-keys` writes.
pub struct TestSigner {
    pub secret: SecretKey,
    pub key_id: KeyId,
}

impl TestSigner {
    /// The key named `name` (`testkit::keys::named_key`: seed and key number are hashes of
    /// the name).
    pub fn named(name: &str) -> TestSigner {
        let secret = testkit::keys::named_key(name);
        TestSigner {
            key_id: secret.key_id(),
            secret,
        }
    }

    pub fn from_seed(key_id: KeyId, seed: &[u8; 32]) -> TestSigner {
        TestSigner {
            secret: SecretKey::from_seed(key_id, seed),
            key_id,
        }
    }

    pub fn public_key(&self) -> PublicKey {
        self.secret.public_key()
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.public_key().verifying_key()
    }

    /// The public key in signify's file format.
    pub fn signify_public_file(&self) -> String {
        self.public_key().to_signify_file("sluice test public key")
    }

    /// The public key as an OpenSSL SubjectPublicKeyInfo PEM.
    pub fn openssl_pem(&self) -> String {
        self.public_key().to_openssl_pem()
    }
}

impl Signer for TestSigner {
    fn key_id(&self) -> KeyId {
        self.secret.key_id()
    }

    fn sign(&self, message: &[u8]) -> Signature {
        self.secret.sign(message)
    }
}

/// One key the table trusts.
pub struct Entry {
    pub key_id: KeyId,
    pub key: VerifyingKey,
    pub role: Role,
    pub channel: Option<ChannelId>,
    pub not_before: i64,
    pub not_after: i64,
}

/// A fixed table of trusted keys with the same refusal rules as a keyset.
#[derive(Default)]
pub struct KeyTable(pub Vec<Entry>);

impl KeyTable {
    pub fn with(mut self, signer: &TestSigner, role: Role, channel: Option<u32>) -> Self {
        self.0.push(Entry {
            key_id: signer.key_id,
            key: signer.verifying_key(),
            role,
            channel: channel.map(ChannelId),
            not_before: 0,
            not_after: i64::MAX,
        });
        self
    }

    pub fn with_window(
        mut self,
        signer: &TestSigner,
        role: Role,
        channel: u32,
        window: (i64, i64),
    ) -> Self {
        self.0.push(Entry {
            key_id: signer.key_id,
            key: signer.verifying_key(),
            role,
            channel: Some(ChannelId(channel)),
            not_before: window.0,
            not_after: window.1,
        });
        self
    }
}

impl KeyLookup for KeyTable {
    fn verifying_key(
        &self,
        key_id: KeyId,
        role: Role,
        channel: Option<ChannelId>,
        at: i64,
    ) -> Result<VerifyingKey, KeyRejection> {
        let entry = self
            .0
            .iter()
            .find(|entry| entry.key_id == key_id)
            .ok_or(KeyRejection::UnknownKey { key_id })?;
        if entry.role != role {
            return Err(KeyRejection::WrongRole {
                key_id,
                actual: entry.role,
                wanted: role,
            });
        }
        if entry.channel != channel {
            return Err(KeyRejection::WrongChannel { key_id, channel });
        }
        if at < entry.not_before {
            return Err(KeyRejection::NotYetValid {
                key_id,
                not_before: entry.not_before,
                at,
            });
        }
        if at > entry.not_after {
            return Err(KeyRejection::Expired {
                key_id,
                not_after: entry.not_after,
                at,
            });
        }
        Ok(entry.key)
    }
}

pub mod samples {
    //! Realistic records: a new filing with one website (testkit's sample with this file's
    //! values, which the committed vectors are made of), and the return records that answer it.
    use bundle_format::records::*;
    use testkit::records;

    pub fn person(name: &str) -> Person {
        Person {
            certificate_number: "110101199003074518".to_owned(),
            email: "zhangwei@example.cn".to_owned(),
            ..records::person(name)
        }
    }

    pub fn filing(i: u64) -> Filing {
        let domains = [format!("xinghe{i}.cn"), format!("www.xinghe{i}.cn")];
        let mut website = records::website("星河科技官网", &[&domains[0], &domains[1]], 10);
        website.home_urls = vec![format!("https://www.xinghe{i}.cn/")];
        website.access.provider = "华北云接入".to_owned();
        website.access.ip_ranges = vec![records::ipv4_range([203, 0, 113, 10], [203, 0, 113, 12])];
        website.principal = person("李娜");
        let subject = Subject {
            address: "北京市海淀区中关村大街27号".to_owned(),
            investor: "北京星河科技有限公司".to_owned(),
            principal: person("张伟"),
            ..records::subject(
                &format!("北京星河科技有限公司{i}"),
                "91110108MA01ABCD2X",
                110108,
            )
        };
        records::filing(subject, vec![website])
    }

    pub fn submission(i: u64) -> Record {
        let body = Submission::NewFiling(filing(i));
        Record::Submission(SubmissionVersion {
            submitted_at: 1_795_300_000 + i as i64,
            submitter: "xinghe_admin".to_owned(),
            access_provider: None,
            ..records::version(&format!("R20261122-{i:08}"), 1, body)
        })
    }

    pub fn return_records() -> Vec<Record> {
        vec![
            Record::Ack(Ack {
                bundle_id: [7; 32],
                channel: 1,
                sequence: 4,
                receipts: vec![ReceiptAck {
                    receipt: "R20261122-00000001".to_owned(),
                    version: 1,
                    content_hash: [8; 32],
                    outcome: ImportOutcome::Applied,
                    reason: None,
                }],
            }),
            Record::SequenceReport(SequenceReport {
                channel: 1,
                epoch: 1,
                highest_contiguous: 4,
                missing: vec![6, 7],
            }),
            Record::StatusChange(StatusChange {
                event_id: 12,
                receipt: "R20261122-00000001".to_owned(),
                version: 1,
                state: ReviewState::Approved,
                at: 1_795_301_000,
                reason: None,
                filing_number: Some("京ICP备2026000123号".to_owned()),
            }),
            Record::Certificate(CertificateRecord {
                filing_number: "京ICP备2026000123号".to_owned(),
                receipt: "R20261122-00000001".to_owned(),
                issued_at: 1_795_301_000,
                expires_at: 1_826_837_000,
                supersedes: None,
                document: b"untrusted comment: certificate\n...".to_vec(),
            }),
        ]
    }
}

pub mod bundles {
    //! Writing bundles in tests.
    use bundle_format::records::Record;
    use bundle_format::{BundleId, BundleWriter, Kind, WriterConfig, WrittenBundle};
    use keys::{ChannelId, Signer};

    pub const CHANNEL: u32 = 1;

    pub fn config(kind: Kind) -> WriterConfig {
        WriterConfig {
            kind,
            channel: ChannelId(CHANNEL),
            epoch: 1,
            next_sequence: 1,
            previous: BundleId::ZERO,
            created: super::NOW - 3600,
            expires: super::NOW + 7 * 86400,
            part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
            part_records: bundle_format::payload::MAX_RECORDS_PER_BUNDLE,
        }
    }

    /// Reads `file` as a bundle of the `outer-bundle` key [`super::TestSigner::named`] gives,
    /// on [`CHANNEL`], now.
    pub fn read_from_outer(file: &[u8]) -> bundle_format::VerifiedBundle {
        use super::{KeyTable, NOW, TestSigner};
        let keys = KeyTable::default().with(
            &TestSigner::named("outer-bundle"),
            keys::Role::OuterBundle,
            Some(CHANNEL),
        );
        let expect = bundle_format::Expectation {
            role: keys::Role::OuterBundle,
            channel: ChannelId(CHANNEL),
            at: NOW,
        };
        bundle_format::read_bundle(file, &keys, &expect, &bundle_format::ReadLimits::default())
            .unwrap()
    }

    /// Writes `records` into one return bundle signed with the `inner-return` key
    /// [`super::TestSigner::named`] gives, its payload encrypted to `identity` if one is given,
    /// and reads it back as the outer side does (with that identity): the file and what was
    /// read.
    pub fn return_round_trip(
        records: &[Record],
        identity: Option<&bundle_format::encryption::Identity>,
    ) -> (Vec<u8>, bundle_format::VerifiedBundle) {
        use super::{KeyTable, NOW, TestSigner};
        let signer = TestSigner::named("inner-return");
        let recipient = identity.map(|identity| identity.to_public());
        let file = write_one_to(&signer, config(Kind::Return), records, recipient.as_ref());
        let keys = KeyTable::default().with(&signer, keys::Role::InnerReturn, Some(CHANNEL));
        let expect = bundle_format::Expectation {
            role: keys::Role::InnerReturn,
            channel: ChannelId(CHANNEL),
            at: NOW,
        };
        let bundle = bundle_format::read_bundle_with(
            &file,
            &keys,
            &expect,
            &bundle_format::ReadLimits::default(),
            identity.map(std::slice::from_ref).unwrap_or_default(),
        )
        .unwrap();
        (file, bundle)
    }

    /// Asserts what a record type new in format `version` does to the return bundles holding
    /// it: one holding `record` beside the usual return records is written in `version` and
    /// reads back whole, one without it keeps an older version, and one encrypted on the medium
    /// is `version` too with `shown` (a value of the record) nowhere in the file.
    pub fn assert_return_record_needs_version(record: Record, version: u16, shown: &str) {
        let mut records = super::samples::return_records();
        records.push(record.clone());
        let (_, bundle) = return_round_trip(&records, None);
        assert_eq!(bundle.header.format_version, version);
        assert_eq!(bundle.records, records);

        let (_, bundle) = return_round_trip(&super::samples::return_records(), None);
        assert!(bundle.header.format_version < version);

        let identity = bundle_format::encryption::Identity::generate();
        let (file, bundle) = return_round_trip(std::slice::from_ref(&record), Some(&identity));
        assert!(bundle.header.encrypted);
        assert_eq!(bundle.header.format_version, version);
        assert_eq!(bundle.records, vec![record]);
        assert!(
            !file.windows(shown.len()).any(|w| w == shown.as_bytes()),
            "{shown} is readable on the medium"
        );
    }

    /// Asserts that only a return bundle may hold `record` (new in format `version`): a
    /// submissions, heartbeat or keyset bundle's content holding it is refused, and a writer of
    /// a submissions bundle refuses to take it.
    pub fn assert_only_return_bundles_hold(record: &Record, version: u16) {
        let content = content_of(std::slice::from_ref(record));
        for kind in [Kind::Submissions, Kind::Heartbeat, Kind::Keyset] {
            let refused =
                bundle_format::payload::decode_records_of_version(&content, kind, version)
                    .unwrap_err();
            assert!(
                matches!(
                    refused.code(),
                    "payload.record-not-allowed" | "payload.too-many-records"
                ),
                "{kind}: {refused}"
            );
        }
        let signer = super::TestSigner::named("outer-bundle");
        let mut writer = BundleWriter::new(
            &signer,
            config(Kind::Submissions),
            |_: &bundle_format::SealedBundle<'_>| Ok(()),
        )
        .unwrap();
        let refused = writer.push(record).unwrap_err();
        assert!(
            matches!(refused, bundle_format::WriteError::RecordNotAllowed { .. }),
            "{refused}"
        );
    }

    /// Asserts that a return bundle's content holding `record` is refused in each of the
    /// `older` format versions, naming the record, and read in `version`.
    pub fn assert_refused_before_its_version(record: &Record, older: &[u16], version: u16) {
        let content = content_of(std::slice::from_ref(record));
        for &old in older {
            let refused =
                bundle_format::payload::decode_records_of_version(&content, Kind::Return, old)
                    .unwrap_err();
            assert_eq!(
                refused.code(),
                "payload.record-newer-than-format",
                "{refused}"
            );
            assert!(
                refused.to_string().contains(record.kind_name()),
                "{refused}"
            );
        }
        assert!(
            bundle_format::payload::decode_records_of_version(&content, Kind::Return, version)
                .is_ok()
        );
    }

    /// Carries `versions` into one submissions bundle as a sender does with stored encodings:
    /// each encoded, checked as [`bundle_format::records::EncodedSubmission`] and pushed byte
    /// for byte, signed with the `outer-bundle` key; then read back. Also returns the format
    /// version each checked encoding declared.
    pub fn carried_verbatim(
        versions: &[bundle_format::records::SubmissionVersion],
    ) -> (Vec<u16>, bundle_format::VerifiedBundle) {
        use bundle_format::records::{EncodedSubmission, wire_config};
        let encoded: Vec<Vec<u8>> = versions
            .iter()
            .map(|version| bincode::encode_to_vec(version, wire_config()).unwrap())
            .collect();
        let checked: Vec<EncodedSubmission<'_>> = encoded
            .iter()
            .zip(versions)
            .map(|(bytes, v)| EncodedSubmission::new(bytes, &v.receipt, v.version).unwrap())
            .collect();
        let mut files = Vec::new();
        let sink = |sealed: &bundle_format::SealedBundle<'_>| {
            files.push(sealed.to_vec());
            Ok(())
        };
        let signer = super::TestSigner::named("outer-bundle");
        let mut writer = BundleWriter::new(&signer, config(Kind::Submissions), sink).unwrap();
        for version in &checked {
            writer.push_submission(version).unwrap();
        }
        writer.finish().unwrap();
        let declared = checked.iter().map(|c| c.format_version()).collect();
        (declared, read_from_outer(&files[0]))
    }

    /// Writes `records` with `config`, returning each file and what the writer reported.
    pub fn write_all(
        signer: &dyn Signer,
        config: WriterConfig,
        records: &[Record],
    ) -> (Vec<Vec<u8>>, Vec<WrittenBundle>) {
        write_all_to(signer, config, records, None)
    }

    /// [`write_all`], each payload encrypted to `recipient` if one is given.
    pub fn write_all_to(
        signer: &dyn Signer,
        config: WriterConfig,
        records: &[Record],
        recipient: Option<&bundle_format::encryption::Recipient>,
    ) -> (Vec<Vec<u8>>, Vec<WrittenBundle>) {
        let mut files = Vec::new();
        let mut writer = BundleWriter::new(
            signer,
            config,
            |sealed: &bundle_format::SealedBundle<'_>| {
                files.push(sealed.to_vec());
                Ok(())
            },
        )
        .unwrap();
        if let Some(recipient) = recipient {
            writer = writer.encrypt_to(vec![recipient.clone()]).unwrap();
        }
        for record in records {
            writer.push(record).unwrap();
        }
        let written = writer.finish().unwrap();
        (files, written)
    }

    /// One bundle file holding `records`.
    pub fn write_one(signer: &dyn Signer, config: WriterConfig, records: &[Record]) -> Vec<u8> {
        write_one_to(signer, config, records, None)
    }

    /// [`write_one`], its payload encrypted to `recipient` if one is given.
    pub fn write_one_to(
        signer: &dyn Signer,
        config: WriterConfig,
        records: &[Record],
        recipient: Option<&bundle_format::encryption::Recipient>,
    ) -> Vec<u8> {
        let (mut files, _) = write_all_to(signer, config, records, recipient);
        assert_eq!(files.len(), 1);
        files.remove(0)
    }

    /// The content (SPEC.md §5) of `records`, for bundles made by hand.
    pub fn content_of(records: &[Record]) -> Vec<u8> {
        let mut content = Vec::new();
        for record in records {
            bundle_format::payload::encode_record(record, &mut content).unwrap();
        }
        content
    }
}

/// One key of a real keyset: signer, role, channel, validity window, revocation time.
pub struct Member<'a> {
    pub signer: &'a TestSigner,
    pub role: Role,
    pub channel: Option<u32>,
    pub window: (i64, i64),
    pub revoked_at: Option<i64>,
}

impl<'a> Member<'a> {
    pub fn new(signer: &'a TestSigner, role: Role, channel: Option<u32>) -> Self {
        Member {
            signer,
            role,
            channel,
            window: (0, i64::MAX),
            revoked_at: None,
        }
    }
}

/// A real `keys::Keyset`: version 1 holding the test root key and `members`, signed by the root
/// key (`testkit::keys::signed_keyset`) and anchored at [`NOW`].
pub fn real_keyset(members: &[Member<'_>]) -> keys::Keyset {
    let entries = members
        .iter()
        .map(|member| keys::KeyEntry {
            not_before: member.window.0,
            not_after: member.window.1,
            revoked_at: member.revoked_at,
            ..testkit::keys::entry(member.signer.public_key(), member.role, member.channel)
        })
        .collect();
    keys::Keyset::anchor(testkit::keys::signed_keyset(entries), NOW).expect("the keyset anchors")
}
