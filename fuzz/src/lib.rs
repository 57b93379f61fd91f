//! Fixtures shared by the Sluice fuzz targets and the seed generator: fixed test keys, a real
//! keyset that trusts them, a few realistic records, and helpers that write valid bundles with
//! the library's own writer. Nothing here is secret: the keys come from fixed seeds and exist
//! only so that a fuzzer can get past the signature check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use bundle_format::header::{HEADER_V1_BYTES, Header};
use bundle_format::records::{
    Access, AccessMethod, Ack, ArrivalAck, BundleRefusal, CertificateRecord, CertificateType,
    Filing, ImportOutcome, IpRange, KeysetRecord, Person, RangeAck, ReceiptAck, Record,
    ReviewState, SequenceReport, ServiceType, StatusChange, Subject, SubjectNature, Submission,
    SubmissionVersion, Website, content_hash,
};
use bundle_format::{BundleId, BundleWriter, Expectation, Kind, SealedBundle, WriterConfig};
use keys::{ChannelId, KeyEntry, KeyId, Keyset, KeysetDocument, KeysetFile, Role, SecretKey};
use sha2::{Digest, Sha256};

/// The verifier's clock in every target: 2026-11-22T00:00:00Z.
pub const NOW: i64 = 1_795_305_600;
/// The one channel the test keys may sign for.
pub const CHANNEL: ChannelId = ChannelId(1);
/// The comment line written by [`seal`]; it is unsigned and never acted on.
pub const COMMENT: &str = "sluice fuzz bundle";

/// The fixed keys and the keyset that trusts them.
pub struct Fixture {
    /// Signs the keyset.
    pub root: SecretKey,
    /// May sign submissions, heartbeat and keyset bundles on [`CHANNEL`].
    pub outer_bundle: SecretKey,
    /// May sign return, heartbeat and keyset bundles on [`CHANNEL`].
    pub inner_return: SecretKey,
    /// Version 1, signed by `root`, anchored at [`NOW`].
    pub keyset: Keyset,
}

/// A key whose seed and key number are hashes of `name`.
pub fn named_key(name: &str) -> SecretKey {
    let seed: [u8; 32] = Sha256::digest(format!("sluice fuzz key seed: {name}")).into();
    let number = Sha256::digest(format!("sluice fuzz key number: {name}"));
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&number[..8]);
    SecretKey::from_seed(KeyId(key_id), &seed)
}

fn entry(key: &SecretKey, role: Role, channels: Vec<ChannelId>) -> KeyEntry {
    KeyEntry {
        public_key: key.public_key(),
        role,
        channels,
        not_before: 0,
        not_after: i64::MAX,
        revoked_at: None,
    }
}

/// The fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = named_key("root");
        let outer_bundle = named_key("outer-bundle");
        let inner_return = named_key("inner-return");
        let document = KeysetDocument::new(
            1,
            vec![
                entry(&root, Role::Root, vec![]),
                entry(&outer_bundle, Role::OuterBundle, vec![CHANNEL]),
                entry(&inner_return, Role::InnerReturn, vec![CHANNEL]),
            ],
        )
        .expect("the fixture keyset is well formed");
        let mut file = KeysetFile::unsigned(document);
        file.sign(&root).expect("root signs the fixture keyset");
        let keyset = Keyset::anchor(file, NOW).expect("the fixture keyset anchors");
        Fixture {
            root,
            outer_bundle,
            inner_return,
            keyset,
        }
    })
}

impl Fixture {
    /// The key that signs bundles for `role` (`OuterBundle` or `InnerReturn`).
    pub fn bundle_key(&self, role: Role) -> &SecretKey {
        match role {
            Role::InnerReturn => &self.inner_return,
            _ => &self.outer_bundle,
        }
    }
}

/// What a reader on [`CHANNEL`] expects from a signer of `role` at [`NOW`].
pub fn expectation(role: Role) -> Expectation {
    Expectation {
        role,
        channel: CHANNEL,
        at: NOW,
    }
}

/// The role whose key signs bundles of `kind` in the seeds.
pub fn signer_role(kind: Kind) -> Role {
    match kind {
        Kind::Return => Role::InnerReturn,
        _ => Role::OuterBundle,
    }
}

fn person(name: &str) -> Person {
    Person {
        name: name.to_owned(),
        certificate_type: CertificateType::ResidentId,
        certificate_number: "11010519491231002X".to_owned(),
        mobile_phones: vec!["13912345678".to_owned()],
        office_phones: vec!["021-63219876".to_owned()],
        email: "owner@example.cn".to_owned(),
    }
}

fn submission(i: u32) -> Record {
    let body = Submission::NewFiling(Filing {
        subject: Subject {
            name: format!("上海示例信息技术有限公司{i}"),
            nature: SubjectNature::Enterprise,
            certificate_type: CertificateType::UnifiedSocialCreditCode,
            certificate_number: "91310000MA1FL0XX0X".to_owned(),
            region_code: 310_101,
            address: "上海市黄浦区南京东路100号".to_owned(),
            investor: "上海示例信息技术有限公司".to_owned(),
            principal: person("王芳"),
        },
        websites: vec![Website {
            name: "示例资讯".to_owned(),
            home_urls: vec![format!("https://www.example{i}.cn/")],
            domains: vec![format!("example{i}.cn"), format!("www.example{i}.cn")],
            service_types: vec![ServiceType::Showcase],
            pre_approvals: vec![],
            access: Access {
                provider: "华东接入".to_owned(),
                method: AccessMethod::Cloud,
                server_region_code: 310_101,
                ip_ranges: vec![
                    IpRange {
                        first: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
                        last: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 4)),
                    },
                    IpRange {
                        first: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                        last: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                    },
                ],
            },
            principal: person("赵磊"),
        }],
        attachments: vec![],
    });
    Record::Submission(SubmissionVersion {
        receipt: format!("R20261122-FZ{i:06}"),
        version: 1,
        content_hash: content_hash(&body),
        submitted_at: NOW - 600,
        submitter: "example_admin".to_owned(),
        access_provider: Some("east_isp".to_owned()),
        body,
    })
}

fn return_records() -> Vec<Record> {
    let ack = Ack {
        bundle_id: [3; 32],
        channel: CHANNEL.0,
        sequence: 2,
        receipts: vec![ReceiptAck {
            receipt: "R20261122-FZ000001".to_owned(),
            version: 1,
            content_hash: [4; 32],
            outcome: ImportOutcome::Applied,
            reason: None,
        }],
    };
    vec![
        // The newer record types too (so the seed is a format version 11 bundle): a range ack,
        // the same with its import time, and a bundle refusal.
        Record::RangeAck(RangeAck::of_ack(&ack)),
        Record::ArrivalAck(ArrivalAck {
            ack: RangeAck::of_ack(&ack),
            imported_at: NOW - 120,
        }),
        Record::BundleRefusal(BundleRefusal {
            bundle_id: [5; 32],
            channel: CHANNEL.0,
            epoch: 1,
            sequence: 3,
            code: "envelope.key-revoked".to_owned(),
            reason: "signed by a revoked outer-bundle key".to_owned(),
        }),
        Record::Ack(ack),
        Record::SequenceReport(SequenceReport {
            channel: CHANNEL.0,
            epoch: 1,
            highest_contiguous: 2,
            missing: vec![4],
        }),
        Record::StatusChange(StatusChange {
            event_id: 1,
            receipt: "R20261122-FZ000001".to_owned(),
            version: 1,
            state: ReviewState::Approved,
            at: NOW - 60,
            reason: None,
            filing_number: Some("沪ICP备2026000001号".to_owned()),
        }),
        Record::Certificate(CertificateRecord {
            filing_number: "沪ICP备2026000001号".to_owned(),
            receipt: "R20261122-FZ000001".to_owned(),
            issued_at: NOW - 60,
            expires_at: NOW + 365 * 86_400,
            supersedes: None,
            document: b"untrusted comment: certificate\n".to_vec(),
        }),
    ]
}

/// A few valid records for a bundle of `kind`.
pub fn sample_records(kind: Kind) -> Vec<Record> {
    match kind {
        Kind::Submissions => vec![submission(1), submission(2)],
        Kind::Return => return_records(),
        Kind::Keyset => vec![Record::Keyset(KeysetRecord {
            document: fixture().keyset.file().to_bytes(),
        })],
        // Heartbeats carry no records; a kind added later starts with none too.
        _ => vec![],
    }
}

/// Writes one valid bundle of `kind` holding `records` with the library's writer, signed by
/// the fixture key for `signer_role(kind)`. Returns the whole file.
pub fn write_bundle(kind: Kind, records: &[Record]) -> Vec<u8> {
    let signer = fixture().bundle_key(signer_role(kind));
    let config = WriterConfig {
        kind,
        channel: CHANNEL,
        epoch: 1,
        next_sequence: 1,
        previous: BundleId::ZERO,
        created: NOW - 3_600,
        expires: NOW + 7 * 86_400,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: bundle_format::payload::MAX_RECORDS_PER_BUNDLE,
    };
    let mut files = Vec::new();
    let mut writer = BundleWriter::new(signer, config, |sealed: &SealedBundle<'_>| {
        files.push(sealed.to_vec());
        Ok(())
    })
    .expect("the fixture writer configuration is valid");
    for record in records {
        writer.push(record).expect("sample records encode");
    }
    writer.finish().expect("the sample bundle seals");
    assert_eq!(files.len(), 1, "the samples fit one part");
    files.remove(0)
}

/// Splits a valid bundle file into its header bytes and its decompressed content.
pub fn header_and_content(file: &[u8]) -> ([u8; HEADER_V1_BYTES], Vec<u8>) {
    let opened = bundle_format::envelope::open(file, bundle_format::bundle::MAX_FILE_BYTES)
        .expect("a written bundle opens");
    let (header, payload) = Header::parse(opened.message, bundle_format::header::MAX_CONTENT_BYTES)
        .expect("a written header parses");
    let content = bundle_format::payload::decompress_version(
        payload,
        header.content_length,
        &header.content_sha256,
        header.format_version,
    )
    .expect("a written payload decompresses");
    (header.encode(), content)
}

/// Offsets of the three header fields the structure-aware target rewrites (SPEC.md §3.2).
pub mod offsets {
    /// `payload_length`, u64.
    pub const PAYLOAD_LENGTH: usize = 88;
    /// `content_length`, u64.
    pub const CONTENT_LENGTH: usize = 96;
    /// `content_sha256`, 32 bytes.
    pub const CONTENT_SHA256: usize = 104;
}

/// Builds the message `M` from a header template and the content it should carry: compresses
/// `content` with the library's compressor and writes the true payload length, content length
/// and content hash into the template, so the result gets past the header's length checks and
/// the payload's hash check and reaches record decoding.
pub fn message_from_parts(header: &[u8; HEADER_V1_BYTES], content: &[u8]) -> Vec<u8> {
    let payload = bundle_format::payload::compress(content).expect("zstd compresses");
    let mut message = Vec::with_capacity(HEADER_V1_BYTES + payload.len());
    message.extend_from_slice(header);
    let put = |message: &mut Vec<u8>, at: usize, bytes: &[u8]| {
        message[at..at + bytes.len()].copy_from_slice(bytes);
    };
    put(
        &mut message,
        offsets::PAYLOAD_LENGTH,
        &(payload.len() as u64).to_le_bytes(),
    );
    put(
        &mut message,
        offsets::CONTENT_LENGTH,
        &(content.len() as u64).to_le_bytes(),
    );
    let digest: [u8; 32] = Sha256::digest(content).into();
    put(&mut message, offsets::CONTENT_SHA256, &digest);
    message.extend_from_slice(&payload);
    message
}

/// Signs `message` with `key` into a whole bundle file.
pub fn seal(key: &SecretKey, message: &[u8]) -> Vec<u8> {
    bundle_format::envelope::seal(key, COMMENT, message).expect("the fixture comment is valid")
}
