//! Applying the records of one return bundle together with its ledger row, in the caller's
//! transaction, through the outer store's typed ledger functions.

use std::path::Path;

use bundle_format::chain::ChannelState;
use bundle_format::records::{self, ImportOutcome, RangeAck, ReceiptAck, Record};
use bundle_format::{BundleId, Header};
use keys::ChannelId;
use outer::store::ledger::{self, ReturnLedgerRow};
use outer::store::reconcile;
use outer::store::{self, AckEffect, RangeAckEffect, StoreError};
use rusqlite::Connection;

use crate::common::receive::contiguous_state;

/// The return channel's chain state and the bundle recorded at `header`'s place, if any.
pub(super) fn return_state(
    conn: &Connection,
    channel: ChannelId,
    header: &Header,
) -> Result<(ChannelState, Option<BundleId>), StoreError> {
    let chain = ledger::return_chain_on(conn, channel, header.epoch, header.sequence)?;
    let state = contiguous_state(chain.epoch, chain.applied.iter().copied());
    Ok((state, chain.recorded))
}

/// A range ack that did not match this store's range for its bundle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RangeFallback {
    /// The submissions bundle it acknowledges.
    pub bundle_id: String,
    /// Its sequence number.
    pub sequence: u64,
    /// What differed.
    pub reason: String,
    /// Whether the bundle's members were read from its retained copy and applied entry by
    /// entry (each deleting only a version whose stored hash matches); if not, nothing was
    /// deleted and the bundle stays unacknowledged.
    pub entry_by_entry: bool,
}

/// What applying the records of one return bundle did.
pub(super) struct AppliedReturn {
    pub(super) payloads_deleted: usize,
    pub(super) mismatched: Vec<(String, u32)>,
    pub(super) fallbacks: Vec<RangeFallback>,
    pub(super) status_changes: usize,
    pub(super) certificates: usize,
    pub(super) certificates_revoked: usize,
    pub(super) register_entries: usize,
    pub(super) register_removals: usize,
    pub(super) filing_passwords: usize,
    pub(super) approved_records: usize,
    pub(super) acknowledged_files: Vec<String>,
    pub(super) missing: Vec<u64>,
    pub(super) refused: Vec<outer::store::RefusedBundle>,
}

/// Applies every record of one verified return bundle and its ledger row in the caller's
/// transaction (DESIGN.md invariant 1). `None` if the ledger already holds the bundle.
/// `retained` is the retained outbox, where a range ack that does not match the store's range
/// finds the bundle's members for the entry-by-entry fallback; `reported_at` is when the inner
/// side wrote the bundle (its header's `created`), kept with its sequence report for
/// `reconcile`.
pub(super) fn apply_return_records(
    conn: &Connection,
    records: &[Record],
    channel: ChannelId,
    row: &ReturnLedgerRow,
    retained: &Path,
    (reported_at, now): (i64, i64),
) -> Result<Option<AppliedReturn>, StoreError> {
    if ledger::return_ledger_holds_on(conn, &row.id)? {
        return Ok(None);
    }
    let mut applied = AppliedReturn {
        payloads_deleted: 0,
        mismatched: Vec::new(),
        fallbacks: Vec::new(),
        status_changes: 0,
        certificates: 0,
        certificates_revoked: 0,
        register_entries: 0,
        register_removals: 0,
        filing_passwords: 0,
        approved_records: 0,
        acknowledged_files: Vec::new(),
        missing: Vec::new(),
        refused: Vec::new(),
    };
    let epoch = ledger::send_state_on(conn, channel)?.epoch;
    for record in records {
        match record {
            Record::Ack(ack) if ack.channel == channel.0 => {
                apply_entries(conn, &ack.receipts, (now, None), &mut applied)?;
                let name = ledger::acknowledge_bundle_on(conn, &BundleId(ack.bundle_id), now)?;
                applied.acknowledged_files.extend(name);
            }
            Record::RangeAck(ack) if ack.channel == channel.0 => {
                apply_range(conn, ack, retained, (now, None), &mut applied)?;
            }
            // A range ack that also says when the inner side imported the bundle: the receipts
            // waiting on the versions it accepted move to their entry states at that time (it
            // sends no status change for those arrivals).
            Record::ArrivalAck(arrival) if arrival.ack.channel == channel.0 => {
                let times = (now, Some(arrival.imported_at));
                apply_range(conn, &arrival.ack, retained, times, &mut applied)?;
            }
            Record::SequenceReport(report)
                if report.channel == channel.0 && report.epoch == epoch =>
            {
                applied.missing.extend(report.missing.iter().copied());
                reconcile::record_inner_report_on(conn, report, reported_at, now)?;
            }
            Record::BundleRefusal(refusal) => {
                applied
                    .refused
                    .extend(store::refuse_bundle_on(conn, channel, refusal, now)?);
            }
            Record::StatusChange(change) => {
                let effect = store::apply_status_change_counting_on(conn, change)?;
                applied.status_changes += usize::from(effect.applied);
                // A payload kept for the provider's check goes once the receipt moved past it.
                applied.payloads_deleted += effect.payloads_released;
            }
            Record::Certificate(certificate) => {
                applied.certificates +=
                    usize::from(store::store_certificate_on(conn, certificate)?);
            }
            Record::CertificateRevocation(revocation) => {
                applied.certificates_revoked +=
                    usize::from(store::revoke_certificate_on(conn, revocation)?);
            }
            // The register is public and concerns every intake node alike.
            Record::RegisterEntry(entry) => {
                applied.register_entries +=
                    usize::from(store::apply_register_entry_on(conn, entry)?);
            }
            Record::RegisterRemoval(removal) => {
                applied.register_removals +=
                    usize::from(store::apply_register_removal_on(conn, removal)?);
            }
            // Stored only for a receipt this node issued (never another node's filing).
            Record::FilingPassword(password) => {
                applied.filing_passwords +=
                    usize::from(store::apply_filing_password_on(conn, password)?);
            }
            // Stored only for a filing whose first receipt this node issued to the filer.
            Record::ApprovedRecord(record) => {
                applied.approved_records +=
                    usize::from(store::apply_approved_record_on(conn, record)?);
            }
            _ => {}
        }
    }
    crate::failpoint::hit("apply.after-payloads-deleted");
    ledger::record_return_on(conn, row, now)?;
    Ok(Some(applied))
}

/// Applies per-version ack entries (the wire version 1 ack, and the fallback of a range ack) at
/// `now`; `arrived_at` is the import time of an arrival ack (`None` for any other ack).
fn apply_entries(
    conn: &Connection,
    entries: &[ReceiptAck],
    (now, arrived_at): (i64, Option<i64>),
    applied: &mut AppliedReturn,
) -> Result<(), StoreError> {
    let effects = store::apply_ack_entries_on(conn, entries, now, arrived_at)?;
    for (entry, effect) in entries.iter().zip(effects) {
        match effect {
            AckEffect::Removed => applied.payloads_deleted += 1,
            // Refused inside: acknowledged with its reason, its payload kept. Kept for the
            // access provider's check: deleted by the status change that moves it past.
            AckEffect::Already | AckEffect::Refused | AckEffect::Kept => {}
            AckEffect::Mismatch => applied
                .mismatched
                .push((entry.receipt.clone(), entry.version)),
        }
    }
    Ok(())
}

/// Applies a range ack at `now`: the whole range in one go when the store's range matches;
/// otherwise entry by entry from the bundle's retained copy, if that copy has the ack's digest.
/// `arrived_at` is the import time of an arrival ack (`None` for a plain range ack); both ways
/// the receipts waiting on the versions the import accepted then move to their entry states at
/// that time.
fn apply_range(
    conn: &Connection,
    ack: &RangeAck,
    retained: &Path,
    (now, arrived_at): (i64, Option<i64>),
    applied: &mut AppliedReturn,
) -> Result<(), StoreError> {
    let bundle = BundleId(ack.bundle_id);
    let reason = match store::apply_range_ack_on(conn, ack, now, arrived_at)? {
        RangeAckEffect::Applied { removed, .. } => {
            applied.payloads_deleted += removed;
            let name = ledger::acknowledge_bundle_on(conn, &bundle, now)?;
            applied.acknowledged_files.extend(name);
            return Ok(());
        }
        RangeAckEffect::Mismatch { reason } => reason,
    };
    let members = match ledger::bundle_file_on(conn, &bundle)? {
        Some(name) => retained_members(&retained.join(&name), ack),
        None => Err("the bundle is not in the outbox index".to_owned()),
    };
    let entry_by_entry = match members {
        Ok(entries) => {
            apply_entries(conn, &entries, (now, arrived_at), applied)?;
            let name = ledger::acknowledge_bundle_on(conn, &bundle, now)?;
            applied.acknowledged_files.extend(name);
            tracing::warn!(target: "sluice::audit", event = "ack.range-fallback",
                bundle = %bundle, sequence = ack.sequence, reason = %reason,
                "range ack does not match the store's range; applied entry by entry from the \
                 retained bundle");
            Some(reason)
        }
        Err(why) => {
            tracing::error!(target: "sluice::audit", event = "ack.range-refused",
                bundle = %bundle, sequence = ack.sequence, reason = %reason, fallback = %why,
                "range ack does not match the store's range and the retained bundle cannot \
                 stand in; nothing deleted, the bundle stays unacknowledged");
            applied.fallbacks.push(RangeFallback {
                bundle_id: bundle.to_string(),
                sequence: ack.sequence,
                reason: format!("{reason}; no entry-by-entry fallback: {why}"),
                entry_by_entry: false,
            });
            None
        }
    };
    if let Some(reason) = entry_by_entry {
        applied.fallbacks.push(RangeFallback {
            bundle_id: bundle.to_string(),
            sequence: ack.sequence,
            reason,
            entry_by_entry: true,
        });
    }
    Ok(())
}

/// The per-version entries a range ack stands for, from the bundle's retained copy: each of
/// its submission versions with the ack's exception for it, or a plain `Applied`. Refused
/// (with why) when the copy is missing or unreadable, or its members do not give the ack's
/// count and digest.
fn retained_members(path: &Path, ack: &RangeAck) -> Result<Vec<ReceiptAck>, String> {
    let file = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let versions = crate::examine::own_submissions(&file)
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    let digest = records::members_digest(
        versions
            .iter()
            .map(|v| (v.receipt.as_str(), v.version, &v.content_hash)),
    );
    if versions.len() as u64 != ack.members || digest != ack.members_digest {
        return Err(format!(
            "the retained copy {} holds {} versions with another members digest",
            path.display(),
            versions.len()
        ));
    }
    let mut exceptions: std::collections::HashMap<(&str, u32), &ReceiptAck> = ack
        .exceptions
        .iter()
        .map(|e| ((e.receipt.as_str(), e.version), e))
        .collect();
    Ok(versions
        .iter()
        .map(|v| {
            // The retained copy's hash, never the ack's: each entry then deletes only a version
            // whose stored hash is the one this bundle carried.
            let exception = exceptions.remove(&(v.receipt.as_str(), v.version));
            ReceiptAck {
                receipt: v.receipt.clone(),
                version: v.version,
                content_hash: v.content_hash,
                outcome: exception.map_or(ImportOutcome::Applied, |e| e.outcome),
                reason: exception.and_then(|e| e.reason.clone()),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use bundle_format::BundleId;
    use bundle_format::records::{ArrivalAck, RangeAck, Record};
    use keys::ChannelId;
    use outer::store::ledger::ReturnLedgerRow;
    use outer::store::{AccountKind, NewSubmission, ReceiptState, Store};

    use super::apply_return_records;

    const IMPORTED_AT: i64 = 1_790_000_300;
    const NOW: i64 = 1_790_000_500;

    /// A store holding one new filing (sent by its access provider) exported as bundle 1 of
    /// channel 1, and the range ack the inner side sends for that bundle.
    fn one_filing_shipped(dir: &std::path::Path) -> (Store, RangeAck) {
        let store = Store::open(&dir.join("outer.db")).unwrap();
        let account = store
            .add_account("owner", AccountKind::WebsiteOwner)
            .unwrap();
        let body = testkit::records::new_filing(
            "杭州青山网络科技有限公司",
            &testkit::records::credit_code("91330106", 1),
            330_106,
            vec![testkit::records::website(
                "青山官网",
                &["qingshan.example.cn"],
                9,
            )],
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(store.insert_submission(NewSubmission {
            account_id: account.id,
            kind: "new_filing".into(),
            filing_number: None,
            subject_key: None,
            version: testkit::records::version("R-1", 1, body),
            idempotency: None,
        }))
        .unwrap();
        let pending = store
            .read_blocking(|conn| outer::store::pending_versions(conn, 10))
            .unwrap();
        let range = outer::store::range_of(&pending).unwrap();
        rt.block_on(store.record_export(ChannelId(1), 1, [1; 32], 10, 1_790_000_000))
            .unwrap();
        let ack = range.ack([1; 32], 1, 1, Vec::new());
        (store, ack)
    }

    /// Applies `records` as return bundle 1 of channel 101 (paired with channel 1); returns the
    /// outbox files it acknowledged and the receipt's state, update time and last history time.
    fn apply(
        store: &Store,
        retained: &std::path::Path,
        records: Vec<Record>,
    ) -> (Vec<String>, String, i64) {
        let retained = retained.to_owned();
        let acknowledged = store
            .write_blocking(move |conn| {
                let row = ReturnLedgerRow {
                    id: BundleId([9; 32]),
                    channel: ChannelId(101),
                    epoch: 1,
                    sequence: 1,
                    previous: BundleId([0; 32]),
                    file_name: "return.bundle".into(),
                };
                let applied = apply_return_records(
                    conn,
                    &records,
                    ChannelId(1),
                    &row,
                    &retained,
                    (NOW, NOW),
                )?
                .unwrap();
                Ok(applied.acknowledged_files)
            })
            .unwrap();
        let status = store
            .read_blocking(|conn| {
                conn.query_row(
                    "SELECT state, updated_at FROM receipts WHERE receipt = 'R-1'",
                    [],
                    |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)),
                )
                .map_err(|e| outer::store::StoreError::Database {
                    operation: "reading the test receipt",
                    source: e,
                })
            })
            .unwrap();
        (acknowledged, status.0, status.1)
    }

    #[test]
    fn an_arrival_ack_acknowledges_its_bundle_and_puts_the_filing_in_review_from_its_import_time() {
        let dir = tempfile::tempdir().unwrap();
        let (store, ack) = one_filing_shipped(dir.path());
        let (acknowledged, state, at) = apply(
            &store,
            dir.path(),
            vec![Record::ArrivalAck(ArrivalAck {
                ack,
                imported_at: IMPORTED_AT,
            })],
        );
        assert_eq!(acknowledged.len(), 1, "{acknowledged:?}");
        assert_eq!(
            (state.as_str(), at),
            (
                ReceiptState::Review(bundle_format::records::ReviewState::AwaitingRegionalReview)
                    .as_str(),
                IMPORTED_AT
            )
        );
    }

    #[test]
    fn an_arrival_ack_for_another_channel_changes_nothing_here() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut ack) = one_filing_shipped(dir.path());
        ack.channel = 2;
        let (acknowledged, state, _) = apply(
            &store,
            dir.path(),
            vec![Record::ArrivalAck(ArrivalAck {
                ack,
                imported_at: IMPORTED_AT,
            })],
        );
        assert!(acknowledged.is_empty(), "{acknowledged:?}");
        assert_eq!(state, "received");
    }

    #[test]
    fn a_plain_range_ack_still_shows_the_filing_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let (store, ack) = one_filing_shipped(dir.path());
        let (acknowledged, state, at) = apply(&store, dir.path(), vec![Record::RangeAck(ack)]);
        assert_eq!(acknowledged.len(), 1, "{acknowledged:?}");
        assert_eq!((state.as_str(), at), ("delivered", NOW));
    }
}
