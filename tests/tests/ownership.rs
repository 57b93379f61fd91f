//! Attacks on who owns a receipt, across both sides on real SQLite and PostgreSQL: an intake
//! node signing, with its own channel's key, a withdrawal or a new version of a receipt another
//! channel created (DESIGN.md invariant 8).

mod common;

use bundle_format::records::{Record, Submission, SubmissionVersion, content_hash};
use bundle_format::{BundleId, Expectation, Kind, ReadLimits, WriterConfig};
use common::*;
use keys::{ChannelId, Role, SecretKey};
use serde_json::json;
use tests::Appliance;
use transfer::demo;
use transfer::outcome::FileResult;

/// Submits the demo's filing 1 at the first outer host (channel 1), carries it in, imports it
/// and brings the inner side's answer back out; returns its receipt.
fn owners_filing_under_review(app: &mut Appliance) -> String {
    let receipt = submit_and_export(app.outer(), [1]).remove(0);
    app.carry_in(0).unwrap();
    assert_eq!(app.import().unwrap().count(FileResult::Applied), 1);
    return_to_first_outer(app);
    receipt
}

/// Signs `versions` into channel 2's first submissions bundle with channel 2's own outer key
/// (a key the keyset trusts, for its own channel) and puts it in the inner inbox.
fn deliver_from_channel_2(app: &Appliance, versions: Vec<SubmissionVersion>) {
    let key = SecretKey::read_file(app.keys.outer_key(ChannelId(2)).unwrap(), None).unwrap();
    let now = demo::now();
    let config = WriterConfig {
        kind: Kind::Submissions,
        channel: ChannelId(2),
        epoch: 1,
        next_sequence: 1,
        previous: BundleId::ZERO,
        created: now,
        expires: now + 3600,
        part_content_bytes: bundle_format::bundle::DEFAULT_PART_CONTENT_BYTES,
        part_records: 1000,
    };
    let records: Vec<Record> = versions.into_iter().map(Record::Submission).collect();
    let file = sign_bundle(&key, config, &records).unwrap();
    std::fs::write(app.inner.spool.inbox.join("channel-2-forged.bundle"), file).unwrap();
}

/// The first version of the first outer host's first bundle, as the inner side received it.
fn owners_first_version(app: &Appliance) -> SubmissionVersion {
    let archived = transfer::spool::list_bundles(&app.inner.spool.archive)
        .unwrap()
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("submissions-")
        })
        .expect("the owner's bundle is archived inside");
    let bundle = bundle_format::read_bundle(
        &std::fs::read(archived).unwrap(),
        &app.keyset,
        &Expectation {
            role: Role::OuterBundle,
            channel: ChannelId(1),
            at: demo::now(),
        },
        &ReadLimits::default(),
    )
    .unwrap();
    match bundle.records.into_iter().next() {
        Some(Record::Submission(version)) => version,
        other => panic!("a submissions bundle holds submissions: {other:?}"),
    }
}

/// The inner side's import outcome and reason for `receipt` version `version` from `channel`.
fn stored_outcome(
    app: &mut Appliance,
    receipt: &str,
    version: i64,
    channel: i64,
) -> (String, Option<String>) {
    let row = app
        .inner
        .client
        .query_one(
            "SELECT outcome, reason FROM submission_versions
             WHERE receipt = $1 AND version = $2 AND channel = $3",
            &[&receipt, &version, &channel],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

fn inner_state(app: &mut Appliance, receipt: &str) -> (String, i64) {
    let row = app
        .inner
        .client
        .query_one(
            "SELECT state, version FROM receipts WHERE receipt = $1",
            &[&receipt],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

#[test]
fn a_withdrawal_signed_by_another_channel_is_refused_and_the_owner_sees_nothing_change() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let receipt = owners_filing_under_review(&mut app);
    let before = app.outer().node.status(&receipt).unwrap();
    let inner_before = inner_state(&mut app, &receipt);

    let body = Submission::Withdrawal {
        receipt: receipt.clone(),
        reason: "不再需要备案".into(),
    };
    deliver_from_channel_2(
        &app,
        vec![SubmissionVersion {
            receipt: "R20261207-ATTACK01".into(),
            version: 1,
            content_hash: content_hash(&body),
            submitted_at: demo::now(),
            submitter: "attacker".into(),
            access_provider: None,
            body,
        }],
    );
    let import = app.import().unwrap();
    assert_eq!(import.count(FileResult::Applied), 1, "{import:#?}");
    assert_eq!(import.files[0].outcomes.get("rejected"), Some(&1));
    assert_eq!(
        stored_outcome(&mut app, "R20261207-ATTACK01", 1, 2),
        (
            "rejected".to_owned(),
            Some("receipt-of-another-channel".to_owned())
        )
    );
    assert_eq!(inner_state(&mut app, &receipt), inner_before);

    // Everything the inner side sends back reaches the owner's node, which shows nothing new.
    let applied = return_to_first_outer(&mut app);
    assert_eq!(applied.count(FileResult::Applied), 1, "{applied:#?}");
    assert_eq!(app.outer().node.status(&receipt).unwrap(), before);
}

#[test]
fn a_superseding_version_from_another_channel_does_not_reject_the_owners_edit() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let receipt = owners_filing_under_review(&mut app);

    // Channel 2 sends version 2 of the owner's receipt with other content.
    let mut planted = owners_first_version(&app);
    planted.version = 2;
    if let Submission::NewFiling(filing) = &mut planted.body {
        filing.websites[0].principal.email = "attacker@example.cn".into();
    }
    planted.content_hash = content_hash(&planted.body);
    deliver_from_channel_2(&app, vec![planted]);
    let import = app.import().unwrap();
    assert_eq!(import.files[0].outcomes.get("rejected"), Some(&1));
    assert_eq!(inner_state(&mut app, &receipt).1, 1);

    // The owner's own version 2, other content than the stranger's, applies inside; outside
    // it is acknowledged and the owner's status shows no rejection.
    let mut edit = demo::new_filing(1, "企业展示网站");
    edit["submission"]["filing"]["websites"][0]["access"]["ip_ranges"] = json!(["202.96.128.9"]);
    assert_eq!(app.outer().node.edit(&receipt, &edit).unwrap(), 2);
    app.outer().export().unwrap();
    app.carry_in(0).unwrap();
    let import = app.import().unwrap();
    assert_eq!(
        import.files[0].outcomes.get("applied"),
        Some(&1),
        "{import:#?}"
    );
    assert_eq!(
        stored_outcome(&mut app, &receipt, 2, 1),
        ("applied".to_owned(), None)
    );
    assert_eq!(
        stored_outcome(&mut app, &receipt, 2, 2),
        (
            "rejected".to_owned(),
            Some("receipt-of-another-channel".to_owned())
        )
    );
    assert_eq!(inner_state(&mut app, &receipt).1, 2);

    return_to_first_outer(&mut app);
    let status = app.outer().node.status(&receipt).unwrap();
    assert_eq!(status["version"], 2, "{status}");
    assert_ne!(status["state"], "rejected", "{status}");
    let history = status["history"].to_string();
    assert!(
        !history.contains("version-hash-conflict") && !history.contains("another-channel"),
        "{status}"
    );
    // Version 1's payload went when version 2 was stored; version 2, which waits for the
    // access provider's check, keeps its payload for the provider's page.
    assert_eq!(status["state"], "awaiting_provider_check", "{status}");
    let versions = tests::outer_versions(&app.outer().node.database).unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| (v.version, v.acknowledged, v.payload_stored))
            .collect::<Vec<_>>(),
        [(1, true, false), (2, true, true)],
        "{versions:?}"
    );
}

#[test]
fn an_intake_node_takes_from_the_shared_return_channel_only_what_concerns_its_own_receipts() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let first = submit_and_export(&app.outers[0], [1]).remove(0);
    let second = submit_and_export(&app.outers[1], [21]).remove(0);
    app.carry_in(0).unwrap();
    app.carry_in(1).unwrap();
    app.import().unwrap();
    let numbers = app.approve_all().unwrap();
    assert_eq!(numbers.len(), 2);
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    let mine = [&first, &second];
    for i in 0..2 {
        let applied = app.apply(i).unwrap();
        assert_eq!(applied.files[0].certificates, 1, "{applied:#?}");
        assert_eq!(applied.files[0].payloads_deleted, 1, "{applied:#?}");
        let other = mine[1 - i];
        let error = app.outers[i].node.status(other).unwrap_err();
        assert!(format!("{error:#}").contains("404"), "{error:#}");
        assert_eq!(
            app.outers[i].node.status(mine[i]).unwrap()["state"],
            "approved"
        );
    }
}

/// With a return channel of its own (`return_for_channel`), each intake node's return bundles
/// carry its own channel's acks, status changes, certificates, filing passwords, approved
/// records and sequence report, and nothing
/// about another node's receipts; the public register, which is everyone's, goes to each.
#[test]
fn return_bundles_for_an_intake_node_carry_only_its_own_channels_receipts() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let own = [
        submit_and_export(&app.outers[0], [1]),
        submit_and_export(&app.outers[1], [21]),
    ];
    app.carry_in(0).unwrap();
    app.carry_in(1).unwrap();
    app.import().unwrap();
    assert_eq!(app.approve_all().unwrap().len(), 2);
    for (node, own) in [1u32, 2].into_iter().zip(&own) {
        let report = write_return_on(&mut app, ChannelId(100 + node), Some(ChannelId(node)), 1000);
        let (mut acks, mut reports, mut receipts, mut certificates, mut register) =
            (Vec::new(), Vec::new(), Vec::new(), 0, Vec::new());
        let (mut passwords, mut approved) = (0, 0);
        for written in &report.written {
            let file = std::fs::read(app.inner.spool.outbox.join(&written.file)).unwrap();
            let (inspection, records) = transfer::examine::inspect(&file, &[]).unwrap();
            assert_eq!(inspection.channel, 100 + node);
            for record in records {
                match record {
                    Record::ArrivalAck(arrival) => acks.push(arrival.ack.channel),
                    Record::SequenceReport(report) => reports.push(report.channel),
                    Record::StatusChange(change) => receipts.push(change.receipt),
                    Record::Certificate(certificate) => {
                        receipts.push(certificate.receipt);
                        certificates += 1;
                    }
                    Record::FilingPassword(password) => {
                        receipts.push(password.receipt);
                        passwords += 1;
                    }
                    Record::ApprovedRecord(record) => {
                        receipts.push(record.origin_receipt);
                        approved += 1;
                    }
                    // The public register concerns every node: each gets both filings.
                    Record::RegisterEntry(entry) => register.push(entry.filing_number),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(
            (acks, reports, certificates, passwords, approved),
            (vec![node], vec![node], 1, 1, 1)
        );
        assert_eq!(register.len(), 2, "channel {node}: {register:?}");
        assert!(
            receipts.len() > 1 && receipts.iter().all(|r| own.contains(r)),
            "channel {node}: {receipts:?}, its own {own:?}"
        );
    }
    assert_eq!(
        inner::returns::pending_count(&mut app.inner.client).unwrap(),
        0
    );
}

/// An intake node that does not know a filing accepts a cancellation of it; the inner side
/// re-checks who filed it and refuses, and the refusal reaches the submitter's status while the
/// refused version's payload stays outside.
#[test]
fn a_cancellation_of_another_nodes_filing_is_refused_inside_and_its_submitter_sees_why() {
    let mut app = Appliance::new(&[1, 2]).unwrap();
    let owners = submit_and_export(&app.outers[0], [1]).remove(0);
    app.carry_in(0).unwrap();
    app.import().unwrap();
    let number = app.approve_all().unwrap().remove(0);

    let cancel = json!({"submission": {"kind": "cancellation", "filing_number": number,
        "scope": "subject", "reason": "公司注销"}});
    let strangers = app.outers[1].node.submit(&cancel).unwrap();
    app.outers[1].export().unwrap();
    app.carry_in(1).unwrap();
    let import = app.import().unwrap();
    assert_eq!(
        import.files[0].outcomes.get("rejected"),
        Some(&1),
        "{import:#?}"
    );
    app.inner.write_return().unwrap();
    app.carry_out().unwrap();
    app.apply(0).unwrap();
    app.apply(1).unwrap();

    let status = app.outers[1].node.status(&strangers).unwrap();
    assert_eq!(status["state"], "rejected", "{status}");
    assert_eq!(status["reason"], "filing-of-another-owner", "{status}");
    let versions = tests::outer_versions(&app.outers[1].node.database).unwrap();
    assert!(
        versions.iter().all(|v| v.acknowledged && v.payload_stored),
        "{versions:?}"
    );
    let filing: String = app
        .inner
        .client
        .query_one(
            "SELECT status FROM filings WHERE filing_number = $1",
            &[&number],
        )
        .unwrap()
        .get(0);
    assert_eq!(filing, "active");
    assert_eq!(
        app.outers[0].node.status(&owners).unwrap()["state"],
        "approved"
    );
}
