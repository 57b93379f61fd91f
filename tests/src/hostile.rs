//! Hostile bundles for the real `sluice-transfer import`: fixed test keys, the keyset that
//! trusts them, the deterministic generator of the committed corpus in `tests/corpus/`, and a
//! checksum of everything in the inner database.
//!
//! Keys follow the scheme of `bundle-format/tests/vectors/` (seed = SHA-256 of
//! `sluice test key seed: NAME`, key number = first 8 bytes of SHA-256 of
//! `sluice test key number: NAME`), so the keyset written here also judges those vectors and the
//! import test reuses their files instead of copying them.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use bundle_format::records::{
    Access, AccessMethod, CertificateType, Filing, IpRange, Person, Record, SequenceReport,
    ServiceType, Subject, SubjectNature, Submission, SubmissionVersion, Website, content_hash,
};
use bundle_format::{BundleId, BundleWriter, Kind, SealedBundle, WriterConfig};
use keys::{ChannelId, KeyEntry, KeyId, KeysetDocument, KeysetFile, Role, SecretKey};
use sha2::{Digest, Sha256};

/// The instant the corpus was made (2026-11-22T00:00:00Z); bundles are created then.
pub const CORPUS_CREATED: i64 = 1_795_305_600;
/// When the corpus bundles that must stay importable expire (2036-01-01T00:00:00Z).
pub const CORPUS_EXPIRES: i64 = 2_082_758_400;
/// The channel every corpus bundle travels on.
pub const CHANNEL: u32 = 1;

/// The test key named `name`.
pub fn test_key(name: &str) -> SecretKey {
    let seed: [u8; 32] = Sha256::digest(format!("sluice test key seed: {name}")).into();
    let number = Sha256::digest(format!("sluice test key number: {name}"));
    let mut key_id = [0u8; 8];
    key_id.copy_from_slice(&number[..8]);
    SecretKey::from_seed(KeyId(key_id), &seed)
}

fn entry(name: &str, role: Role, window: (i64, i64), revoked_at: Option<i64>) -> KeyEntry {
    KeyEntry {
        public_key: test_key(name).public_key(),
        role,
        channels: if matches!(role, Role::OuterBundle | Role::InnerReturn) {
            vec![ChannelId(CHANNEL)]
        } else {
            vec![]
        },
        not_before: window.0,
        not_after: window.1,
        revoked_at,
    }
}

/// Writes the keyset the inner host trusts in the hostile-input tests to `path`: version 1,
/// signed by the test `root`, with `outer-bundle` and `inner-return` for channel 1, the
/// vectors' `outer-bundle-expired` (window ended 2026-11-21), `outer-bundle-revoked` (revoked
/// 2026-11-22) and `inner-cert`. `not-in-the-keyset` is, as its name says, left out.
pub fn write_keyset(path: &Path) -> anyhow::Result<()> {
    let always = (0, i64::MAX);
    let document = KeysetDocument::new(
        1,
        vec![
            entry("root", Role::Root, always, None),
            entry("outer-bundle", Role::OuterBundle, always, None),
            entry("inner-return", Role::InnerReturn, always, None),
            entry(
                "outer-bundle-expired",
                Role::OuterBundle,
                (0, CORPUS_CREATED - 86_400),
                None,
            ),
            entry(
                "outer-bundle-revoked",
                Role::OuterBundle,
                always,
                Some(CORPUS_CREATED),
            ),
            entry("inner-cert", Role::InnerCert, always, None),
        ],
    )?;
    let mut file = KeysetFile::unsigned(document);
    file.sign(&test_key("root"))?;
    file.write_file(path)?;
    Ok(())
}

/// A new filing whose subject and domains are numbered `n`.
pub fn filing(n: u32) -> Filing {
    let person = |name: &str| Person {
        name: name.to_owned(),
        certificate_type: CertificateType::ResidentId,
        // The example printed in GB 11643.
        certificate_number: "11010519491231002X".to_owned(),
        mobile_phones: vec!["13800138000".to_owned()],
        office_phones: vec!["010-62345678".to_owned()],
        email: "zhaomin@example.cn".to_owned(),
    };
    Filing {
        subject: Subject {
            name: format!("杭州远山信息技术有限公司{n}"),
            nature: SubjectNature::Enterprise,
            certificate_type: CertificateType::UnifiedSocialCreditCode,
            certificate_number: "91330106MA27XK5L3M".to_owned(),
            region_code: 330_106,
            address: "浙江省杭州市西湖区文三路90号".to_owned(),
            investor: "杭州远山信息技术有限公司".to_owned(),
            principal: person("赵敏"),
        },
        websites: vec![Website {
            name: "远山信息".to_owned(),
            home_urls: vec![format!("https://www.yuanshan{n}.cn/")],
            domains: vec![format!("yuanshan{n}.cn"), format!("www.yuanshan{n}.cn")],
            service_types: vec![ServiceType::Showcase],
            pre_approvals: vec![],
            access: Access {
                provider: "华东云接入".to_owned(),
                method: AccessMethod::Cloud,
                server_region_code: 330_106,
                ip_ranges: vec![IpRange {
                    first: IpAddr::V4(Ipv4Addr::new(202, 96, 128, 20)),
                    last: IpAddr::V4(Ipv4Addr::new(202, 96, 128, 21)),
                }],
            },
            principal: person("钱进"),
        }],
        attachments: vec![],
    }
}

/// A new filing numbered `n` that the outer intake accepts as it is (check characters right,
/// domains canonical, public addresses): the base the filing-rule attacks change one field of.
pub fn accepted_filing(n: u32) -> Filing {
    let first17 = format!("91330106{:09}", 800_000_000 + n);
    let check = filing::uscc_check_char(&first17).unwrap_or('0');
    let mut accepted = filing(n);
    accepted.subject.certificate_number = format!("{first17}{check}");
    for person in [
        &mut accepted.subject.principal,
        &mut accepted.websites[0].principal,
    ] {
        // The example printed in GB 11643.
        person.certificate_number = "11010519491231002X".to_owned();
    }
    let last_octet = u8::try_from(n % 250).unwrap_or(0) + 1;
    accepted.websites[0].access.ip_ranges = vec![IpRange {
        first: IpAddr::V4(Ipv4Addr::new(202, 96, 128, last_octet)),
        last: IpAddr::V4(Ipv4Addr::new(202, 96, 128, last_octet)),
    }];
    accepted
}

/// Submission version 1 of receipt number `n`, filing `filing`.
pub fn submission(n: u32, filing: Filing) -> Record {
    let body = Submission::NewFiling(filing);
    Record::Submission(SubmissionVersion {
        receipt: format!("R20261122-H{n:07}"),
        version: 1,
        content_hash: content_hash(&body),
        submitted_at: CORPUS_CREATED - 600 + i64::from(n),
        submitter: "yuanshan_admin".to_owned(),
        access_provider: None,
        body,
    })
}

/// Where a corpus bundle sits in channel 1's chain.
#[derive(Debug, Clone, Copy)]
pub struct Position {
    /// Epoch.
    pub epoch: u64,
    /// Sequence number.
    pub sequence: u64,
    /// The bundle before it.
    pub previous: BundleId,
}

/// Signs `records` as one bundle of `kind` with `key`.
pub fn bundle(
    key: &SecretKey,
    kind: Kind,
    at: Position,
    created: i64,
    expires: i64,
    records: &[Record],
) -> anyhow::Result<Vec<u8>> {
    let mut file = Vec::new();
    let config = WriterConfig {
        kind,
        channel: ChannelId(CHANNEL),
        epoch: at.epoch,
        next_sequence: at.sequence,
        previous: at.previous,
        created,
        expires,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 1000,
    };
    let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
        file = sealed.to_vec();
        Ok(())
    };
    let mut writer = BundleWriter::new(key, config, sink)?;
    for record in records {
        writer.push(record)?;
    }
    writer.finish()?;
    Ok(file)
}

/// The id of a bundle file (SHA-256 of its signed message).
pub fn id_of(file: &[u8]) -> anyhow::Result<BundleId> {
    let envelope = bundle_format::envelope::open(file, usize::MAX)?;
    Ok(BundleId::of_message(envelope.message))
}

/// In which import run of the test a corpus entry is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Builds the chain the attacks aim at; must apply.
    Setup,
    /// The attacks: each must change nothing.
    Attack,
    /// Runs after the attacks; applies and changes the database as expected.
    After,
}

/// One committed corpus bundle.
pub struct CorpusEntry {
    /// File stem, named after the attack.
    pub name: &'static str,
    /// First line of the sidecar: `expect: applied`, `expect: duplicate` or
    /// `expect: quarantined <code>`; for applied bundles whose records are refused one by one,
    /// `expect: applied rejected=<reason>,…`.
    pub expect: String,
    /// What the attack is.
    pub attack: &'static str,
    /// For `expect: quarantined record.breaks-filing-rule`: the code of the filing rule the
    /// quarantine reason must name (the `filing` crate's, e.g. `ip.not_public`).
    pub rule: Option<&'static str>,
    /// Which run it belongs to.
    pub stage: Stage,
    /// The file.
    pub bytes: Vec<u8>,
}

/// The corpus, deterministically (Ed25519 signatures are deterministic and the compressor is
/// pinned by `Cargo.lock`).
pub fn generate() -> anyhow::Result<Vec<CorpusEntry>> {
    let outer = test_key("outer-bundle");
    let (created, expires) = (CORPUS_CREATED, CORPUS_EXPIRES);
    let submissions =
        |n: u32| -> anyhow::Result<Vec<Record>> { Ok(vec![submission(n, filing(n))]) };
    let e1s1 = bundle(
        &outer,
        Kind::Submissions,
        Position {
            epoch: 1,
            sequence: 1,
            previous: BundleId::ZERO,
        },
        created,
        expires,
        &submissions(1)?,
    )?;
    // Epoch 2 starts (the outer store was rebuilt): now epoch 1 is history.
    let e2s1 = bundle(
        &outer,
        Kind::Submissions,
        Position {
            epoch: 2,
            sequence: 1,
            previous: BundleId::ZERO,
        },
        created,
        expires,
        &submissions(2)?,
    )?;
    let after_e2s1 = Position {
        epoch: 2,
        sequence: 2,
        previous: id_of(&e2s1)?,
    };
    let planted = submissions(66)?;
    let mut v = Vec::new();
    let mut add = |name, expect: &str, attack, stage, bytes| {
        v.push(CorpusEntry {
            name,
            expect: expect.to_owned(),
            attack,
            rule: None,
            stage,
            bytes,
        });
    };
    add(
        "setup_epoch_1_sequence_1",
        "expect: applied",
        "none: the first bundle of epoch 1, which the bit flips and truncations start from",
        Stage::Setup,
        e1s1.clone(),
    );
    add(
        "setup_epoch_2_sequence_1",
        "expect: applied",
        "none: the first bundle of epoch 2, so epoch 1 is history",
        Stage::Setup,
        e2s1.clone(),
    );
    add(
        "revoked_key",
        "expect: quarantined envelope.key-revoked",
        "the next bundle, signed by an outer-bundle key revoked at 2026-11-22",
        Stage::Attack,
        bundle(
            &test_key("outer-bundle-revoked"),
            Kind::Submissions,
            after_e2s1,
            created,
            expires,
            &planted,
        )?,
    );
    add(
        "certificate_key_signs_submissions",
        "expect: quarantined envelope.key-wrong-role",
        "the next bundle, signed by the inner-cert key (a key of another role)",
        Stage::Attack,
        bundle(
            &test_key("inner-cert"),
            Kind::Submissions,
            after_e2s1,
            created,
            expires,
            &planted,
        )?,
    );
    add(
        "replayed_bundle",
        "expect: duplicate",
        "the first bundle of epoch 1 again, byte for byte, under another file name",
        Stage::Attack,
        e1s1.clone(),
    );
    add(
        "fork_two_bundles_one_sequence",
        "expect: quarantined chain.fork",
        "a second, different bundle for epoch 2 sequence 1, properly signed",
        Stage::Attack,
        bundle(
            &outer,
            Kind::Submissions,
            Position {
                epoch: 2,
                sequence: 1,
                previous: BundleId::ZERO,
            },
            created,
            expires,
            &planted,
        )?,
    );
    add(
        "rollback_old_epoch_new_content",
        "expect: quarantined chain.rollback",
        "epoch 1 sequence 2 with new content, after epoch 2 began",
        Stage::Attack,
        bundle(
            &outer,
            Kind::Submissions,
            Position {
                epoch: 1,
                sequence: 2,
                previous: id_of(&e1s1)?,
            },
            created,
            expires,
            &planted,
        )?,
    );
    add(
        "freeze_expired_heartbeat",
        "expect: quarantined chain.expired",
        "a heartbeat for the next sequence that expired on 2026-11-01 (held back to freeze the channel)",
        Stage::Attack,
        bundle(
            &outer,
            Kind::Heartbeat,
            after_e2s1,
            created - 30 * 86_400,
            created - 21 * 86_400,
            &[],
        )?,
    );
    add(
        "return_bundle_presented_for_import",
        "expect: quarantined envelope.key-wrong-role",
        "a genuine return bundle (acks and sequence reports, signed by inner-return) put in the \
         import inbox as if it were submissions",
        Stage::Attack,
        bundle(
            &test_key("inner-return"),
            Kind::Return,
            after_e2s1,
            created,
            expires,
            &[Record::SequenceReport(SequenceReport {
                channel: CHANNEL,
                epoch: 2,
                highest_contiguous: 1,
                missing: vec![],
            })],
        )?,
    );
    let mut edited = bundle(
        &outer,
        Kind::Submissions,
        after_e2s1,
        created,
        expires,
        &submissions(3)?,
    )?;
    let newline = edited.iter().position(|&b| b == b'\n').unwrap_or(0);
    edited.splice(
        ..newline,
        b"untrusted comment: edited on the medium; the comment is not signed"
            .iter()
            .copied(),
    );
    let edited_id = id_of(&edited)?;
    add(
        "comment_line_edited",
        "expect: applied",
        "the next bundle with its untrusted comment line rewritten: still verifies and imports",
        Stage::After,
        edited,
    );
    // Records a signed bundle may carry but the filing rules refuse: the outer intake never
    // signs them, so import re-checks them and quarantines the whole bundle.
    let mut duplicate_domain = filing(4);
    let again = duplicate_domain.websites[0].domains[0].to_uppercase();
    duplicate_domain.websites[0].domains.push(again);
    let mut reversed_range = filing(5);
    reversed_range.websites[0].access.ip_ranges[0] = IpRange {
        first: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 200)),
        last: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100)),
    };
    let mut unknown_province = filing(6);
    unknown_province.subject.region_code = 990_000;
    add(
        "records_break_filing_rules",
        "expect: quarantined record.breaks-filing-rule",
        "a valid bundle whose three submissions list one domain twice, an IP range that runs \
         backwards and a province that does not exist",
        Stage::After,
        bundle(
            &outer,
            Kind::Submissions,
            Position {
                epoch: 2,
                sequence: 3,
                previous: edited_id,
            },
            created,
            expires,
            &[
                submission(4, duplicate_domain),
                submission(5, reversed_range),
                submission(6, unknown_province),
            ],
        )?,
    );
    filing_rule_attacks(&mut v, after_e2s1)?;
    Ok(v)
}

/// One submission of filing `n` with `change` applied to an accepted filing.
fn broken_submission(n: u32, change: impl FnOnce(&mut Filing)) -> Record {
    let mut broken = accepted_filing(n);
    change(&mut broken);
    submission(n, broken)
}

/// Signed bundles for the next sequence number whose records each break one filing rule the
/// outer intake enforces (issue 6): each must be quarantined whole, naming that rule.
fn filing_rule_attacks(v: &mut Vec<CorpusEntry>, next: Position) -> anyhow::Result<()> {
    let outer = test_key("outer-bundle");
    let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
    let mut access_change = accepted_filing(106).websites[0].access.clone();
    access_change.ip_ranges = vec![IpRange {
        first: v4(192, 168, 10, 1),
        last: v4(192, 168, 10, 1),
    }];
    let access_change_body = Submission::Change {
        filing_number: "浙ICP备2026000106号".to_owned(),
        change: bundle_format::records::Change::Access {
            website_number: "浙ICP备2026000106号-1".to_owned(),
            access: access_change,
        },
    };
    let access_change = Record::Submission(SubmissionVersion {
        receipt: "R20261122-H0000106".to_owned(),
        version: 1,
        content_hash: content_hash(&access_change_body),
        submitted_at: CORPUS_CREATED - 600 + 106,
        submitter: "yuanshan_admin".to_owned(),
        access_provider: None,
        body: access_change_body,
    });
    let attacks: [(&'static str, &'static str, &'static str, Vec<Record>); 6] = [
        (
            "record_private_ip_range",
            "ip.not_public",
            "the next bundle, properly signed, whose third submission (after two the intake \
             accepts) serves its website from the private range 10.20.30.0-10.20.30.255",
            vec![
                submission(101, accepted_filing(101)),
                submission(102, accepted_filing(102)),
                broken_submission(103, |f| {
                    f.websites[0].access.ip_ranges[0] = IpRange {
                        first: v4(10, 20, 30, 0),
                        last: v4(10, 20, 30, 255),
                    };
                }),
            ],
        ),
        (
            "record_loopback_ipv6",
            "ip.not_public",
            "the next bundle, properly signed, whose submission serves its website from the IPv6 \
             loopback address ::1",
            vec![broken_submission(104, |f| {
                let loopback = IpAddr::V6(std::net::Ipv6Addr::LOCALHOST);
                f.websites[0].access.ip_ranges[0] = IpRange {
                    first: loopback,
                    last: loopback,
                };
            })],
        ),
        (
            "record_malformed_domain",
            "domain.invalid",
            "the next bundle, properly signed, whose submission lists the malformed domain \
             yuan_shan105.cn",
            vec![broken_submission(105, |f| {
                f.websites[0].domains[1] = "yuan_shan105.cn".to_owned();
            })],
        ),
        (
            "record_bad_credit_code_check_digit",
            "uscc.check_digit",
            "the next bundle, properly signed, whose subject's unified social credit code has a \
             wrong check character",
            vec![broken_submission(107, |f| {
                let code = &mut f.subject.certificate_number;
                let wrong = if code.ends_with('0') { "1" } else { "0" };
                code.replace_range(17.., wrong);
            })],
        ),
        (
            "record_bad_resident_id_check_digit",
            "resident_id.check_digit",
            "the next bundle, properly signed, whose website principal's resident ID number has \
             a wrong check digit",
            vec![broken_submission(108, |f| {
                f.websites[0].principal.certificate_number = "110105194912310021".to_owned();
            })],
        ),
        (
            "record_private_ip_in_access_change",
            "ip.not_public",
            "the next bundle, properly signed, whose change of a website's access moves it to \
             the private address 192.168.10.1",
            vec![access_change],
        ),
    ];
    for (name, rule, attack, records) in attacks {
        v.push(CorpusEntry {
            name,
            expect: format!(
                "expect: quarantined {}",
                transfer::recheck::BREAKS_FILING_RULE
            ),
            attack,
            rule: Some(rule),
            stage: Stage::Attack,
            bytes: bundle(
                &outer,
                Kind::Submissions,
                next,
                CORPUS_CREATED,
                CORPUS_EXPIRES,
                &records,
            )?,
        });
    }
    Ok(())
}

/// `tests/corpus/` in the source tree.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// `bundle-format/tests/vectors/` in the source tree.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../bundle-format/tests/vectors")
}

/// A sidecar's text.
pub fn sidecar(entry: &CorpusEntry) -> String {
    let stage = match entry.stage {
        Stage::Setup => "setup",
        Stage::Attack => "attack",
        Stage::After => "after",
    };
    let rule = entry
        .rule
        .map(|rule| format!("rule: {rule}\n"))
        .unwrap_or_default();
    format!(
        "{}\nattack: {}\nstage: {stage}\n{rule}",
        entry.expect, entry.attack
    )
}

/// A checksum of every row of every table in the `public` schema, table by table.
pub fn database_checksum(client: &mut postgres::Client) -> anyhow::Result<Vec<(String, String)>> {
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            &[],
        )?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut sums = Vec::new();
    for table in tables {
        let sum: String = client
            .query_one(
                &format!(
                    "SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-')
                     FROM \"{table}\" t"
                ),
                &[],
            )?
            .get(0);
        sums.push((table, sum));
    }
    Ok(sums)
}
