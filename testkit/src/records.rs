//! Sample filings as the wire records that cross the gap (`bundle_format::records`).
//!
//! The builders take the knobs tests vary most (names, codes, region, domains, receipt,
//! version) as arguments and fill everything else with plausible fixed values. Everything they
//! return has public fields, so a test that needs one more difference changes that field, or
//! uses struct update syntax (`Person { email: …, ..person("张伟") }`), and says so where it
//! does it.
//!
//! The defaults follow the filing manuals where that is cheap (a real province, a full
//! address, a resident ID of the right shape), but only [`credit_code`] and [`resident_id`]
//! compute check characters; fixed codes elsewhere are whatever the test that first used them
//! chose, since committed vectors are made from them.

use std::net::{IpAddr, Ipv4Addr};

use bundle_format::records::{
    Access, AccessMethod, Attachment, AttachmentKind, CertificateRecord, CertificateType, Filing,
    IpRange, Person, ReviewState, Scan, ScanOf, ServiceType, StatusChange, Subject, SubjectNature,
    Submission, SubmissionVersion, Website, content_hash,
};

/// When [`version`] says a version was submitted: 2026-11-22T07:00:00Z.
pub const SUBMITTED_AT: i64 = 1_795_330_800;

/// The region code (GB/T 2260) the builders use unless told otherwise: Haidian, Beijing.
pub const REGION_CODE: u32 = 110_108;

/// The access provider the builders record for every website unless told otherwise.
pub const ACCESS_PROVIDER: &str = "北京云接入有限公司";

/// A principal (or other person) called `name` with a resident ID, one mobile and one office
/// phone and an e-mail address.
pub fn person(name: &str) -> Person {
    Person {
        name: name.to_owned(),
        certificate_type: CertificateType::ResidentId,
        certificate_number: "110105199001011234".to_owned(),
        mobile_phones: vec!["13800138000".to_owned()],
        office_phones: vec!["010-62345678".to_owned()],
        email: "admin@example.cn".to_owned(),
    }
}

/// The IPv4 range `first..=last`.
pub fn ipv4_range(first: [u8; 4], last: [u8; 4]) -> IpRange {
    IpRange {
        first: IpAddr::V4(Ipv4Addr::from(first)),
        last: IpAddr::V4(Ipv4Addr::from(last)),
    }
}

/// A showcase website called `name` serving `domains` (one home URL per domain) from the one
/// address `203.0.113.last_octet`, on the cloud of [`ACCESS_PROVIDER`] in [`REGION_CODE`], with
/// 张伟 as its principal.
pub fn website(name: &str, domains: &[&str], last_octet: u8) -> Website {
    let address = [203, 0, 113, last_octet];
    Website {
        name: name.to_owned(),
        home_urls: domains.iter().map(|d| format!("https://{d}/")).collect(),
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        service_types: vec![ServiceType::Showcase],
        pre_approvals: Vec::new(),
        access: Access {
            provider: ACCESS_PROVIDER.to_owned(),
            method: AccessMethod::Cloud,
            server_region_code: REGION_CODE,
            ip_ranges: vec![ipv4_range(address, address)],
        },
        principal: person("张伟"),
    }
}

/// An enterprise called `name`, identified by the unified social credit code `certificate`,
/// in region `region_code`; it is its own investor and 王芳 is its principal.
pub fn subject(name: &str, certificate: &str, region_code: u32) -> Subject {
    Subject {
        name: name.to_owned(),
        nature: SubjectNature::Enterprise,
        certificate_type: CertificateType::UnifiedSocialCreditCode,
        certificate_number: certificate.to_owned(),
        region_code,
        address: "北京市海淀区中关村大街1号".to_owned(),
        investor: name.to_owned(),
        principal: person("王芳"),
    }
}

/// The filing of `subject` for `websites`, without attachments.
pub fn filing(subject: Subject, websites: Vec<Website>) -> Filing {
    Filing {
        subject,
        websites,
        attachments: Vec::new(),
    }
}

/// A new filing of the enterprise `subject_name` (credit code `certificate`, region
/// `region_code`, see [`subject`]) for `websites`.
pub fn new_filing(
    subject_name: &str,
    certificate: &str,
    region_code: u32,
    websites: Vec<Website>,
) -> Submission {
    Submission::NewFiling(filing(
        subject(subject_name, certificate, region_code),
        websites,
    ))
}

/// Version `version` of receipt `receipt` carrying `body`, with its content hash, submitted at
/// [`SUBMITTED_AT`] by the account `owner1` through the access provider account `bjcloud`.
pub fn version(receipt: &str, version: u32, body: Submission) -> SubmissionVersion {
    SubmissionVersion {
        receipt: receipt.to_owned(),
        version,
        content_hash: content_hash(&body),
        submitted_at: SUBMITTED_AT,
        submitter: "owner1".to_owned(),
        access_provider: Some("bjcloud".to_owned()),
        body,
    }
}

/// A unified social credit code the intake accepts: `first8` (registration authority,
/// organisation type and region, e.g. `"91330100"`), `serial` as nine digits, and the GB 32100
/// check character.
///
/// # Panics
///
/// If `first8` is not eight characters of the code's alphabet.
pub fn credit_code(first8: &str, serial: u32) -> String {
    let first17 = format!("{first8}{serial:09}");
    let check = filing::uscc_check_char(&first17)
        .unwrap_or_else(|| panic!("{first17:?} is not the start of a credit code"));
    format!("{first17}{check}")
}

/// A resident ID the intake accepts: `first17` (region, birth date, sequence) and the
/// GB 11643 check character.
///
/// # Panics
///
/// If `first17` is not 17 digits.
pub fn resident_id(first17: &str) -> String {
    let check = filing::resident_id_check_char(first17)
        .unwrap_or_else(|| panic!("{first17:?} is not the start of a resident ID"));
    format!("{first17}{check}")
}

/// Writes a chain of signed submissions bundles on channel 1 into `dir`, one per entry of
/// `filings` holding that many filings from [`inner::bench_support::filing`] (distinct across
/// bundles), signed by a fresh key; returns the files in order. For carriers, which move the
/// files without reading them: the chain and the signature are real, the key is trusted
/// nowhere.
pub fn signed_bundle_files(dir: &std::path::Path, filings: &[usize]) -> Vec<std::path::PathBuf> {
    use bundle_format::{BundleId, BundleWriter, Kind, SealedBundle, WriterConfig};
    std::fs::create_dir_all(dir).expect("creating the bundle folder");
    let key = keys::SecretKey::generate();
    let mut previous = BundleId::ZERO;
    let mut paths = Vec::new();
    let mut first = 0;
    for (sequence, &count) in (1u64..).zip(filings) {
        let config = WriterConfig {
            kind: Kind::Submissions,
            channel: keys::ChannelId(1),
            epoch: 1,
            next_sequence: sequence,
            previous,
            created: SUBMITTED_AT,
            expires: SUBMITTED_AT + 3600,
            part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
            part_records: bundle_format::payload::MAX_RECORDS_PER_BUNDLE,
        };
        let sink = |sealed: &SealedBundle<'_>| -> std::io::Result<()> {
            let name = transfer::spool::bundle_file_name(&sealed.header, &sealed.id);
            std::fs::write(dir.join(&name), sealed.to_vec())?;
            paths.push(dir.join(name));
            previous = sealed.id;
            Ok(())
        };
        let mut writer = BundleWriter::new(&key, config, sink).expect("a bundle writer");
        for i in first..first + count {
            let filing = inner::bench_support::filing(i, SUBMITTED_AT);
            writer
                .push(&bundle_format::records::Record::Submission(filing))
                .expect("a sample filing fits a bundle");
        }
        writer.finish().expect("sealing the bundle");
        first += count;
    }
    paths
}

/// The inner side's status change (event `event_id`) approving version 1 of `receipt` at `at`
/// under `filing_number`.
pub fn approval(event_id: u64, receipt: &str, at: i64, filing_number: &str) -> StatusChange {
    StatusChange {
        event_id,
        receipt: receipt.to_owned(),
        version: 1,
        state: ReviewState::Approved,
        at,
        reason: None,
        filing_number: Some(filing_number.to_owned()),
    }
}

/// A stand-in certificate for `receipt` under `filing_number`, issued at `issued_at` for a year
/// (365 days); its document is one line of text, not a signed certificate.
pub fn certificate(filing_number: &str, receipt: &str, issued_at: i64) -> CertificateRecord {
    CertificateRecord {
        filing_number: filing_number.to_owned(),
        receipt: receipt.to_owned(),
        issued_at,
        expires_at: issued_at + 365 * 86_400,
        supersedes: None,
        document: b"untrusted comment: test certificate\n".to_vec(),
    }
}

/// A PNG scan (`bytes` as given, declared `image/png`) of `kind`, showing `shows`.
pub fn png_scan(kind: AttachmentKind, shows: ScanOf, bytes: Vec<u8>) -> Scan {
    Scan {
        shows,
        attachment: Attachment {
            kind,
            media_type: "image/png".to_owned(),
            bytes,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_codes_carry_the_check_characters_the_standards_print() {
        // GB 11643's own example.
        assert_eq!(resident_id("11010519491231002"), "11010519491231002X");
        let code = credit_code("91330100", 1);
        assert_eq!(code.len(), 18);
        assert_eq!(filing::uscc_check_char(&code[..17]), code.chars().last());
    }

    #[test]
    fn a_version_hashes_the_body_it_carries() {
        let body = new_filing(
            "甲公司",
            "91110108MA01AAAA1X",
            REGION_CODE,
            vec![website("甲网", &["jia.cn"], 1)],
        );
        let stored = version("R1", 2, body.clone());
        assert_eq!(stored.content_hash, content_hash(&body));
        assert_eq!(stored.version, 2);
    }
}
