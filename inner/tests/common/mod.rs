//! Builders for submissions bundles used by the store tests.
#![allow(dead_code)] // each test binary uses a different part

use std::net::{IpAddr, Ipv4Addr};

use bundle_format::records::{
    Access, AccessMethod, CertificateType, Filing, IpRange, Person, ServiceType, Subject,
    SubjectNature, Submission, SubmissionVersion, Website, content_hash,
};
use inner::import::{ApplyReport, IncomingBundle, apply_bundle};
use inner::testing::TestDatabase;

/// 2026-11-22T08:00:00Z.
pub const NOW: i64 = 1_795_334_400;

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

pub fn website(name: &str, domains: &[&str], last_octet: u8) -> Website {
    Website {
        name: name.to_owned(),
        home_urls: domains.iter().map(|d| format!("https://{d}/")).collect(),
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        service_types: vec![ServiceType::Showcase],
        pre_approvals: Vec::new(),
        access: Access {
            provider: "北京云接入有限公司".to_owned(),
            method: AccessMethod::Cloud,
            server_region_code: 110_108,
            ip_ranges: vec![IpRange {
                first: IpAddr::V4(Ipv4Addr::new(203, 0, 113, last_octet)),
                last: IpAddr::V4(Ipv4Addr::new(203, 0, 113, last_octet)),
            }],
        },
        principal: person("张伟"),
    }
}

pub fn filing(subject: &str, certificate: &str, region: u32, websites: Vec<Website>) -> Submission {
    Submission::NewFiling(Filing {
        subject: Subject {
            name: subject.to_owned(),
            nature: SubjectNature::Enterprise,
            certificate_type: CertificateType::UnifiedSocialCreditCode,
            certificate_number: certificate.to_owned(),
            region_code: region,
            address: "北京市海淀区中关村大街1号".to_owned(),
            investor: subject.to_owned(),
            principal: person("王芳"),
        },
        websites,
        attachments: Vec::new(),
    })
}

pub fn version(receipt: &str, version: u32, body: Submission) -> SubmissionVersion {
    SubmissionVersion {
        receipt: receipt.to_owned(),
        version,
        content_hash: content_hash(&body),
        submitted_at: NOW - 3600,
        submitter: "owner1".to_owned(),
        access_provider: Some("bjcloud".to_owned()),
        body,
    }
}

pub fn bundle_id(channel: u32, sequence: u64, salt: u8) -> [u8; 32] {
    let mut id = [salt; 32];
    id[..4].copy_from_slice(&channel.to_le_bytes());
    id[4..12].copy_from_slice(&sequence.to_le_bytes());
    id
}

pub fn incoming(sequence: u64, submissions: &[SubmissionVersion]) -> IncomingBundle<'_> {
    IncomingBundle {
        bundle_id: bundle_id(7, sequence, 0xab),
        channel: 7,
        epoch: 1,
        sequence,
        signer: keys::KeyId(*b"outerkey"),
        created: NOW - 60,
        submissions,
    }
}

/// Applies and commits one bundle.
pub fn apply(db: &TestDatabase, bundle: &IncomingBundle<'_>) -> ApplyReport {
    let mut client = db.connect().expect("connect");
    let mut tx = client.transaction().expect("begin");
    let report = apply_bundle(&mut tx, bundle, NOW).expect("apply");
    tx.commit().expect("commit");
    report
}

pub fn count(db: &TestDatabase, sql: &str) -> i64 {
    db.connect()
        .expect("connect")
        .query_one(sql, &[])
        .expect("count query")
        .get(0)
}

pub fn signer() -> keys::SecretKey {
    keys::SecretKey::generate()
}
