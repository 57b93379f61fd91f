//! Hostile bundles for the real `sluice-transfer import`: the keyset that trusts testkit's
//! named keys, the deterministic generator of the committed corpus in `tests/corpus/`, and a
//! checksum of everything in the inner database.
//!
//! The keys are `testkit::keys::named_key`s, the scheme `bundle-format/tests/vectors/` is signed
//! with, so the keyset written here also judges those vectors and the import test reuses their
//! files instead of copying them. The filings are `testkit::records` samples with the values
//! the committed bundles were made from: changing one changes the corpus bytes.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use bundle_format::records::{
    Filing, IpRange, Person, Record, SequenceReport, Subject, Submission, SubmissionVersion,
};
use bundle_format::{BundleId, Kind, WriterConfig};
use keys::{ChannelId, KeyEntry, Role, SecretKey};
use testkit::keys::{appliance_entries, entry, named_key, signed_keyset};
use testkit::records::{self, credit_code, ipv4_range};

/// The instant the corpus was made (2026-11-22T00:00:00Z); bundles are created then.
pub const CORPUS_CREATED: i64 = 1_795_305_600;
/// When the corpus bundles that must stay importable expire (2036-01-01T00:00:00Z).
pub const CORPUS_EXPIRES: i64 = 2_082_758_400;
/// The channel every corpus bundle travels on.
pub const CHANNEL: u32 = 1;

/// Writes the keyset the inner host trusts in the hostile-input tests to `path`: version 1,
/// signed by the test root, with the appliance's `outer-bundle` and `inner-return` for
/// channel 1 and `inner-cert`, and the vectors' `outer-bundle-expired` (window ended
/// 2026-11-21) and `outer-bundle-revoked` (revoked 2026-11-22). `not-in-the-keyset` is, as its
/// name says, left out.
pub fn write_keyset(path: &Path) -> anyhow::Result<()> {
    let outer_bundle = |name: &str| {
        entry(
            named_key(name).public_key(),
            Role::OuterBundle,
            Some(CHANNEL),
        )
    };
    let mut members = appliance_entries(CHANNEL);
    members.push(KeyEntry {
        not_after: CORPUS_CREATED - 86_400,
        ..outer_bundle("outer-bundle-expired")
    });
    members.push(KeyEntry {
        revoked_at: Some(CORPUS_CREATED),
        ..outer_bundle("outer-bundle-revoked")
    });
    signed_keyset(members).write_file(path)?;
    Ok(())
}

/// A new filing whose subject and domains are numbered `n`: 杭州远山信息技术有限公司`n` in
/// Xihu, Hangzhou, filing its website 远山信息 on 华东云接入's cloud.
pub fn filing(n: u32) -> Filing {
    let person = |name: &str| Person {
        // The example printed in GB 11643.
        certificate_number: "11010519491231002X".to_owned(),
        email: "zhaomin@example.cn".to_owned(),
        ..records::person(name)
    };
    let company = "杭州远山信息技术有限公司";
    let subject = Subject {
        address: "浙江省杭州市西湖区文三路90号".to_owned(),
        investor: company.to_owned(),
        principal: person("赵敏"),
        ..records::subject(&format!("{company}{n}"), "91330106MA27XK5L3M", 330_106)
    };
    let (domain, www) = (format!("yuanshan{n}.cn"), format!("www.yuanshan{n}.cn"));
    let mut website = records::website("远山信息", &[&domain, &www], 0);
    website.home_urls = vec![format!("https://{www}/")];
    website.access.provider = "华东云接入".to_owned();
    website.access.server_region_code = 330_106;
    website.access.ip_ranges = vec![ipv4_range([202, 96, 128, 20], [202, 96, 128, 21])];
    website.principal = person("钱进");
    records::filing(subject, vec![website])
}

/// A new filing numbered `n` that the outer intake accepts as it is (check characters right,
/// domains canonical, public addresses): the base the filing-rule attacks change one field of.
pub fn accepted_filing(n: u32) -> Filing {
    let mut accepted = filing(n);
    accepted.subject.certificate_number = credit_code("91330106", 800_000_000 + n);
    let last_octet = u8::try_from(n % 250).unwrap_or(0) + 1;
    let address = [202, 96, 128, last_octet];
    accepted.websites[0].access.ip_ranges = vec![ipv4_range(address, address)];
    accepted
}

/// Submission version 1 of receipt number `n`, carrying `body`.
pub fn submission_of(n: u32, body: Submission) -> Record {
    Record::Submission(SubmissionVersion {
        submitted_at: CORPUS_CREATED - 600 + i64::from(n),
        submitter: "yuanshan_admin".to_owned(),
        access_provider: None,
        ..records::version(&format!("R20261122-H{n:07}"), 1, body)
    })
}

/// Submission version 1 of receipt number `n`, filing `filing`.
pub fn submission(n: u32, filing: Filing) -> Record {
    submission_of(n, Submission::NewFiling(filing))
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

/// Position `sequence` of `epoch`, after the bundle `previous`.
fn at(epoch: u64, sequence: u64, previous: BundleId) -> Position {
    Position {
        epoch,
        sequence,
        previous,
    }
}

/// Signs `records` as one submissions bundle at `at` with `key`, created at [`CORPUS_CREATED`]
/// and expiring at [`CORPUS_EXPIRES`]: with the `outer-bundle` key, what the outer host would
/// export.
fn submissions_bundle(
    key: &SecretKey,
    at: Position,
    records: &[Record],
) -> anyhow::Result<Vec<u8>> {
    bundle(
        key,
        Kind::Submissions,
        at,
        CORPUS_CREATED,
        CORPUS_EXPIRES,
        records,
    )
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
    crate::common::sign_bundle(key, config, records)
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
    let outer = named_key("outer-bundle");
    let (created, expires) = (CORPUS_CREATED, CORPUS_EXPIRES);
    let submissions =
        |n: u32| -> anyhow::Result<Vec<Record>> { Ok(vec![submission(n, filing(n))]) };
    let e1s1 = submissions_bundle(&outer, at(1, 1, BundleId::ZERO), &submissions(1)?)?;
    // Epoch 2 starts (the outer store was rebuilt): now epoch 1 is history.
    let e2s1 = submissions_bundle(&outer, at(2, 1, BundleId::ZERO), &submissions(2)?)?;
    let after_e2s1 = at(2, 2, id_of(&e2s1)?);
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
        submissions_bundle(&named_key("outer-bundle-revoked"), after_e2s1, &planted)?,
    );
    add(
        "certificate_key_signs_submissions",
        "expect: quarantined envelope.key-wrong-role",
        "the next bundle, signed by the inner-cert key (a key of another role)",
        Stage::Attack,
        submissions_bundle(&named_key("inner-cert"), after_e2s1, &planted)?,
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
        submissions_bundle(&outer, at(2, 1, BundleId::ZERO), &planted)?,
    );
    add(
        "rollback_old_epoch_new_content",
        "expect: quarantined chain.rollback",
        "epoch 1 sequence 2 with new content, after epoch 2 began",
        Stage::Attack,
        submissions_bundle(&outer, at(1, 2, id_of(&e1s1)?), &planted)?,
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
            &named_key("inner-return"),
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
    let mut edited = submissions_bundle(&outer, after_e2s1, &submissions(3)?)?;
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
        submissions_bundle(
            &outer,
            at(2, 3, edited_id),
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
    let outer = named_key("outer-bundle");
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
    let access_change = submission_of(106, access_change_body);
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
            bytes: submissions_bundle(&outer, next, &records)?,
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
