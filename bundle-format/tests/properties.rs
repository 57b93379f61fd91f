//! Property tests (SPEC.md §10): encode→decode round trips, every accepted message re-encodes to
//! the same bytes, and nothing panics on mutated or arbitrary input.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bundle_format::header::{HEADER_V1_BYTES, Header, MAX_CONTENT_BYTES};
use bundle_format::payload::{decode_records, decode_records_of_version, decompress, frame_info};
use bundle_format::records::*;
use bundle_format::{Expectation, Kind, ReadLimits, envelope, read_bundle};
use common::bundles::{CHANNEL, config, content_of, write_all};
use common::{KeyTable, NOW, TestSigner};
use keys::{ChannelId, Role};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._:/-]{0,12}|[\u{4e00}-\u{4e20}]{1,6}"
}

fn texts(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..max)
}

fn certificate_type() -> impl Strategy<Value = CertificateType> {
    prop_oneof![
        Just(CertificateType::UnifiedSocialCreditCode),
        Just(CertificateType::ResidentId),
        Just(CertificateType::TaiwanPermit),
    ]
}

fn person() -> impl Strategy<Value = Person> {
    (
        text(),
        certificate_type(),
        text(),
        texts(3),
        texts(3),
        text(),
    )
        .prop_map(
            |(name, certificate_type, certificate_number, mobile_phones, office_phones, email)| {
                Person {
                    name,
                    certificate_type,
                    certificate_number,
                    mobile_phones,
                    office_phones,
                    email,
                }
            },
        )
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    ]
}

fn access() -> impl Strategy<Value = Access> {
    (
        text(),
        prop_oneof![Just(AccessMethod::Cloud), Just(AccessMethod::Dedicated)],
        any::<u32>(),
        prop::collection::vec(
            (ip(), ip()).prop_map(|(first, last)| IpRange { first, last }),
            0..4,
        ),
    )
        .prop_map(|(provider, method, server_region_code, ip_ranges)| Access {
            provider,
            method,
            server_region_code,
            ip_ranges,
        })
}

fn website() -> impl Strategy<Value = Website> {
    (
        text(),
        texts(3),
        texts(4),
        prop::collection::vec(
            prop_oneof![Just(ServiceType::News), Just(ServiceType::Other)],
            0..3,
        ),
        prop::collection::vec(
            text().prop_map(|document_number| PreApproval {
                item: PreApprovalItem::News,
                document_number,
            }),
            0..2,
        ),
        access(),
        person(),
    )
        .prop_map(
            |(name, home_urls, domains, service_types, pre_approvals, access, principal)| Website {
                name,
                home_urls,
                domains,
                service_types,
                pre_approvals,
                access,
                principal,
            },
        )
}

fn subject() -> impl Strategy<Value = Subject> {
    (
        text(),
        certificate_type(),
        text(),
        any::<u32>(),
        text(),
        text(),
        person(),
    )
        .prop_map(
            |(
                name,
                certificate_type,
                certificate_number,
                region_code,
                address,
                investor,
                principal,
            )| {
                Subject {
                    name,
                    nature: SubjectNature::Enterprise,
                    certificate_type,
                    certificate_number,
                    region_code,
                    address,
                    investor,
                    principal,
                }
            },
        )
}

fn submission_body() -> impl Strategy<Value = Submission> {
    prop_oneof![
        (
            subject(),
            prop::collection::vec(website(), 1..3),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..2)
        )
            .prop_map(|(subject, websites, scans)| {
                Submission::NewFiling(Filing {
                    subject,
                    websites,
                    attachments: scans
                        .into_iter()
                        .map(|bytes| Attachment {
                            kind: AttachmentKind::SubjectCertificate,
                            media_type: "image/png".to_owned(),
                            bytes,
                        })
                        .collect(),
                })
            }),
        (text(), text(), access()).prop_map(|(filing_number, website_number, access)| {
            Submission::Change {
                filing_number,
                change: Change::Access {
                    website_number,
                    access,
                },
            }
        }),
        (text(), text()).prop_map(|(filing_number, reason)| Submission::Cancellation {
            filing_number,
            scope: CancellationScope::Website,
            reason,
        }),
        (text(), text()).prop_map(|(receipt, reason)| Submission::Withdrawal { receipt, reason }),
        (
            text(),
            website(),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..3)
        )
            .prop_map(|(filing_number, website, scans)| {
                // Each website the strategy makes may list a news pre-approval: its scan
                // names it, the others show the submission.
                let news = website
                    .pre_approvals
                    .iter()
                    .any(|p| p.item == PreApprovalItem::News);
                Submission::ChangeWithScans {
                    filing_number,
                    change: Change::AddedWebsite(website),
                    scans: scans
                        .into_iter()
                        .enumerate()
                        .map(|(i, bytes)| {
                            let (kind, shows) = if news && i == 0 {
                                let shows = ScanOf::PreApproval {
                                    website: 0,
                                    item: PreApprovalItem::News,
                                };
                                (AttachmentKind::PreApproval, shows)
                            } else {
                                (AttachmentKind::Other, ScanOf::Submission)
                            };
                            testkit::records::png_scan(kind, shows, bytes)
                        })
                        .collect(),
                }
            }),
    ]
}

fn submission_record() -> impl Strategy<Value = Record> {
    (
        text(),
        any::<u32>(),
        any::<i64>(),
        text(),
        prop::option::of(text()),
        submission_body(),
    )
        .prop_map(
            |(receipt, version, submitted_at, submitter, access_provider, body)| {
                Record::Submission(SubmissionVersion {
                    receipt,
                    version,
                    content_hash: content_hash(&body),
                    submitted_at,
                    submitter,
                    access_provider,
                    body,
                })
            },
        )
}

fn return_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            prop::collection::vec(
                (
                    text(),
                    any::<u32>(),
                    any::<[u8; 32]>(),
                    prop::option::of(text())
                ),
                0..4
            )
        )
            .prop_map(|(bundle_id, sequence, receipts)| Record::Ack(Ack {
                bundle_id,
                channel: 1,
                sequence,
                receipts: receipts
                    .into_iter()
                    .map(|(receipt, version, content_hash, reason)| ReceiptAck {
                        receipt,
                        version,
                        content_hash,
                        outcome: ImportOutcome::Conflict,
                        reason,
                    })
                    .collect(),
            })),
        // A range ack (wire version 2: its bundle becomes format version 3).
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            prop::collection::vec((text(), any::<u32>(), any::<[u8; 32]>()), 0..3)
        )
            .prop_map(
                |(bundle_id, sequence, members, members_digest, exceptions)| {
                    Record::RangeAck(RangeAck {
                        bundle_id,
                        channel: 1,
                        sequence,
                        members: members % 100_000,
                        members_digest,
                        exceptions: exceptions
                            .into_iter()
                            .map(|(receipt, version, content_hash)| ReceiptAck {
                                receipt,
                                version,
                                content_hash,
                                outcome: ImportOutcome::Rejected,
                                reason: Some("domain-conflict".into()),
                            })
                            .collect(),
                    })
                }
            ),
        // The same with its bundle's import time (wire version 8: format version 11).
        (any::<[u8; 32]>(), any::<u64>(), any::<i64>()).prop_map(
            |(bundle_id, members, imported_at)| {
                Record::ArrivalAck(bundle_format::records::ArrivalAck {
                    ack: RangeAck {
                        bundle_id,
                        channel: 1,
                        sequence: 1,
                        members: members % 100_000,
                        members_digest: bundle_id,
                        exceptions: Vec::new(),
                    },
                    imported_at,
                })
            }
        ),
        (
            any::<u64>(),
            any::<u64>(),
            prop::collection::vec(any::<u64>(), 0..8)
        )
            .prop_map(
                |(epoch, highest_contiguous, missing)| Record::SequenceReport(SequenceReport {
                    channel: 1,
                    epoch,
                    highest_contiguous,
                    missing,
                })
            ),
        (
            any::<u64>(),
            text(),
            any::<u32>(),
            any::<i64>(),
            prop::option::of(text()),
            prop::option::of(text())
        )
            .prop_map(|(event_id, receipt, version, at, reason, filing_number)| {
                Record::StatusChange(StatusChange {
                    event_id,
                    receipt,
                    version,
                    state: ReviewState::AwaitingRegionalReview,
                    at,
                    reason,
                    filing_number,
                })
            }),
        (
            text(),
            text(),
            any::<i64>(),
            any::<i64>(),
            prop::option::of(text()),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(
                |(filing_number, receipt, issued_at, expires_at, supersedes, document)| {
                    Record::Certificate(CertificateRecord {
                        filing_number,
                        receipt,
                        issued_at,
                        expires_at,
                        supersedes,
                        document,
                    })
                }
            ),
        // A bundle refusal (wire version 3: its bundle becomes format version 4).
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            text(),
            text()
        )
            .prop_map(|(bundle_id, epoch, sequence, code, reason)| {
                Record::BundleRefusal(BundleRefusal {
                    bundle_id,
                    channel: 1,
                    epoch,
                    sequence,
                    code,
                    reason,
                })
            }),
        // A certificate revocation (wire version 3 too).
        (text(), text(), any::<i64>(), text()).prop_map(
            |(filing_number, receipt, revoked_at, reason)| {
                Record::CertificateRevocation(CertificateRevocation {
                    filing_number,
                    receipt,
                    revoked_at,
                    reason,
                })
            }
        ),
        // A public register entry (wire version 4: its bundle becomes format version 6).
        (
            any::<u64>(),
            text(),
            text(),
            text(),
            prop::collection::vec((text(), text(), texts(4)), 0..4),
            any::<i64>()
        )
            .prop_map(
                |(event, filing_number, subject_name, subject_nature, websites, approved_at)| {
                    Record::RegisterEntry(RegisterEntry {
                        event,
                        filing_number,
                        subject_name,
                        subject_nature,
                        websites: websites
                            .into_iter()
                            .map(|(website_number, name, domains)| RegisterWebsite {
                                website_number,
                                name,
                                domains,
                            })
                            .collect(),
                        approved_at,
                    })
                }
            ),
        // Its removal (wire version 4 too).
        (any::<u64>(), text(), any::<i64>(), text()).prop_map(
            |(event, filing_number, removed_at, reason)| {
                Record::RegisterRemoval(RegisterRemoval {
                    event,
                    filing_number,
                    removed_at,
                    reason,
                })
            }
        ),
        // A filing password (wire version 5: its bundle becomes format version 7).
        (text(), text(), any::<i64>(), "[0-9A-Z-]{1,19}").prop_map(
            |(filing_number, receipt, issued_at, password)| {
                Record::FilingPassword(FilingPassword {
                    filing_number,
                    receipt,
                    issued_at,
                    password,
                })
            }
        ),
    ]
}

fn keyset() -> KeyTable {
    KeyTable::default()
        .with(
            &TestSigner::named("outer-bundle"),
            Role::OuterBundle,
            Some(CHANNEL),
        )
        .with(
            &TestSigner::named("inner-return"),
            Role::InnerReturn,
            Some(CHANNEL),
        )
}

fn read(
    file: &[u8],
    role: Role,
) -> Result<bundle_format::VerifiedBundle, bundle_format::BundleError> {
    let expect = Expectation {
        role,
        channel: ChannelId(CHANNEL),
        at: NOW,
    };
    read_bundle(file, &keyset(), &expect, &ReadLimits::default())
}

/// Re-encodes an accepted bundle from what the reader returned and checks it is byte for byte
/// the message that was received: header, content, and the content's hash and length.
fn assert_reencodes(file: &[u8], bundle: &bundle_format::VerifiedBundle) {
    let opened = envelope::open(file, usize::MAX).unwrap();
    let message = opened.message;
    assert_eq!(&bundle.header.encode()[..], &message[..HEADER_V1_BYTES]);
    let content = decompress(
        &message[HEADER_V1_BYTES..],
        bundle.header.content_length,
        &bundle.header.content_sha256,
    )
    .unwrap();
    assert_eq!(content_of(&bundle.records), content);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn submissions_round_trip_through_split_bundles(
        records in prop::collection::vec(submission_record(), 0..12),
        part_bytes in 300usize..4000,
    ) {
        let signer = TestSigner::named("outer-bundle");
        let mut cfg = config(Kind::Submissions);
        cfg.part_content_bytes = part_bytes;
        let (files, written) = write_all(&signer, cfg, &records);
        let (again, _) = write_all(&signer, cfg, &records);
        prop_assert_eq!(&files, &again, "the writer is deterministic");
        let mut decoded = Vec::new();
        for (file, written) in files.iter().zip(&written) {
            let bundle = read(file, Role::OuterBundle).unwrap();
            prop_assert_eq!(bundle.id, written.id);
            assert_reencodes(file, &bundle);
            decoded.extend(bundle.records);
        }
        prop_assert_eq!(decoded, records);
    }

    #[test]
    fn return_records_round_trip(records in prop::collection::vec(return_record(), 0..12)) {
        let signer = TestSigner::named("inner-return");
        let (files, _) = write_all(&signer, config(Kind::Return), &records);
        prop_assert_eq!(files.len(), 1);
        let bundle = read(&files[0], Role::InnerReturn).unwrap();
        assert_reencodes(&files[0], &bundle);
        prop_assert_eq!(bundle.records, records);
    }

    /// Any content the record decoder accepts is the canonical encoding of what it returned.
    #[test]
    fn accepted_content_is_canonical(
        records in prop::collection::vec(return_record(), 1..4),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut content = content_of(&records);
        for (index, value) in flips {
            let i = index.index(content.len());
            content[i] = value;
        }
        let latest = bundle_format::header::FORMAT_VERSION_3;
        if let Ok(decoded) = decode_records_of_version(&content, Kind::Return, latest) {
            prop_assert_eq!(content_of(&decoded), content);
        }
    }

    /// A bundle with any byte changed is refused, unless the change is in the unsigned comment;
    /// either way nothing panics.
    #[test]
    fn mutated_bundles_are_refused_without_panicking(
        index in any::<prop::sample::Index>(),
        value in 1u8..=255,
    ) {
        let signer = TestSigner::named("outer-bundle");
        let records: Vec<Record> = (0..3).map(common::samples::submission).collect();
        let (files, _) = write_all(&signer, config(Kind::Submissions), &records);
        let mut file = files[0].clone();
        let i = index.index(file.len());
        file[i] ^= value;
        let comment_end = files[0].iter().position(|&b| b == b'\n').unwrap();
        if let Ok(bundle) = read(&file, Role::OuterBundle) {
            prop_assert!(i >= envelope::COMMENT_PREFIX.len() && i < comment_end);
            prop_assert_eq!(bundle.records, records);
        }
    }

    /// A message changed anywhere and signed again by a trusted key gets past the signature, so
    /// this explores the header, frame and record parsers: they refuse or accept without
    /// panicking, and whatever they accept re-encodes to the bytes received.
    #[test]
    fn resigned_mutations_reach_the_deep_parsers_safely(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let signer = TestSigner::named("outer-bundle");
        let records: Vec<Record> = (0..3).map(common::samples::submission).collect();
        let (files, _) = write_all(&signer, config(Kind::Submissions), &records);
        let mut message = envelope::open(&files[0], usize::MAX).unwrap().message.to_vec();
        for (index, value) in flips {
            let i = index.index(message.len());
            message[i] = value;
        }
        let file = envelope::seal(&signer, "mutated", &message).unwrap();
        if let Ok(bundle) = read(&file, Role::OuterBundle) {
            assert_reencodes(&file, &bundle);
        }
    }

    /// Decoding the records as the frame is decompressed (the reader's way, and the record
    /// reader's) gives what decompressing the whole content and then decoding it gives: the
    /// same records, or the same refusal, whatever bytes of the frame or the content changed.
    #[test]
    fn decoding_while_decompressing_agrees_with_decompressing_first(
        records in prop::collection::vec(return_record(), 0..6),
        content_flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        frame_flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..2),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut content = content_of(&records);
        for (index, value) in content_flips {
            if !content.is_empty() {
                let i = index.index(content.len());
                content[i] = value;
            }
        }
        let digest: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(&content).into();
        let mut frame = bundle_format::payload::compress(&content).unwrap();
        for (index, value) in frame_flips {
            let i = index.index(frame.len());
            frame[i] ^= value;
        }
        if let Some(cut) = cut {
            frame.truncate(cut.index(frame.len() + 1));
        }
        let latest = bundle_format::header::FORMAT_VERSION_3;
        let length = content.len() as u64;
        let whole = decompress(&frame, length, &digest)
            .and_then(|content| decode_records_of_version(&content, Kind::Return, latest));
        let streamed = bundle_format::payload::decode_payload(
            &frame, length, &digest, Kind::Return, latest,
        );
        prop_assert_eq!(&streamed, &whole);
        let read: Result<Vec<Record>, _> =
            bundle_format::payload::RecordReader::new(&frame, length, &digest, Kind::Return, latest)
                .and_then(|reader| reader.map(|r| r.map(|(_, record)| record)).collect());
        if let Ok(whole) = &whole {
            prop_assert_eq!(read.as_ref().ok(), Some(whole));
        } else {
            prop_assert!(read.is_err());
        }
    }

    /// The parsers of untrusted bytes return errors, never panic, on arbitrary input.
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = envelope::open(&bytes, 1 << 20);
        let _ = Header::parse(&bytes, MAX_CONTENT_BYTES);
        let _ = frame_info(&bytes);
        let _ = decompress(&bytes, 64, &[0; 32]);
        let _ = decode_records(&bytes, Kind::Submissions);
        let _ = read(&bytes, Role::OuterBundle);
    }
}
