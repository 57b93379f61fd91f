//! The access provider's check (待接入商核验) done outside: the versions that wait for it keep
//! their payloads after their ack (flagged when stored, `receipts::insert_version`), so that the
//! provider their access details name is shown them; what a provider has to check, and which
//! checks it has sent; and the one place a kept payload goes, once its receipt no longer waits
//! on that version.

use bundle_format::records::SubmissionVersion;
use rusqlite::{Connection, params};

use super::receipts::decode_version;
use super::{ReceiptState, Store, StoreError, db, u32_col};

/// Most versions a provider's list holds.
pub const MAX_LISTED_CHECKS: i64 = 200;

/// A version awaiting the provider's check, as stored here.
#[derive(Clone, Debug)]
pub struct AwaitingCheck {
    /// The version as submitted (receipt, number, content hash, submitter, body).
    pub version: SubmissionVersion,
    /// The provider's own check of this version sent from here and not refused inside, if
    /// any: its receipt.
    pub sent: Option<String>,
}

/// The states in which a receipt still waits on a kept version: the outer side's own,
/// delivered (the inner side's review state follows) and awaiting the provider's check itself.
const STILL_WAITING: &str = "'received', 'in_transit', 'delivered', 'awaiting_provider_check'";

/// The kept payloads to release (as a condition on `submission_versions v`; with `one_receipt`,
/// `?1` is that receipt, else `?1` is NULL): acknowledged (never before: DESIGN.md invariant 3),
/// not refused inside (that one is kept anyway), and either superseded by a newer version
/// (stored here: the provider is shown only a receipt's latest version, so an older one is
/// never checked again) or of a receipt that moved past the check (checked, returned, rejected,
/// withdrawn, cancelled). The condition for one receipt names it alone (`v.receipt = ?1`), so that
/// SQLite looks the receipt up in `submission_versions_kept`: written as `?1 IS NULL OR
/// v.receipt = ?1` it read every kept version at each status change, and applying the status
/// changes of many filings awaiting the check grew with the square of their number.
pub(super) fn releasable(one_receipt: bool) -> String {
    let which = if one_receipt {
        "v.receipt = ?1"
    } else {
        "?1 IS NULL"
    };
    format!(
        "v.kept_for_provider_check = 1 AND v.payload_removed_at IS NULL
         AND v.acknowledged_at IS NOT NULL AND v.ack_outcome IS NOT 'rejected'
         AND {which}
         AND (EXISTS (SELECT 1 FROM submission_versions n
                      WHERE n.receipt = v.receipt AND n.version > v.version)
              OR EXISTS (SELECT 1 FROM receipts r
                         WHERE r.receipt = v.receipt AND r.state NOT IN ({STILL_WAITING})))"
    )
}

/// Deletes the kept payloads (of `receipt`, or of every receipt) that no provider will be shown
/// any more, recording when; returns how many went. Called after every ack and after every
/// status change that moves a receipt.
pub(super) fn release_kept_payloads_on(
    conn: &Connection,
    receipt: Option<&str>,
    at: i64,
) -> Result<usize, StoreError> {
    let condition = releasable(receipt.is_some());
    let removed = conn
        .prepare_cached(&format!(
            "DELETE FROM submission_payloads WHERE (receipt, version) IN (
                 SELECT v.receipt, v.version FROM submission_versions v WHERE {condition})"
        ))
        .and_then(|mut stmt| stmt.execute(params![receipt]))
        .map_err(db("removing payloads kept for a provider's check"))?;
    conn.prepare_cached(&format!(
        "UPDATE submission_versions SET payload_removed_at = ?2
         WHERE rowid IN (SELECT v.rowid FROM submission_versions v WHERE {condition})"
    ))
    .and_then(|mut stmt| stmt.execute(params![receipt, at]))
    .map_err(db("removing payloads kept for a provider's check"))?;
    Ok(removed)
}

impl Store {
    /// The versions awaiting the check of the provider account `provider` that this store
    /// holds, oldest first (at most [`MAX_LISTED_CHECKS`]): the current version of a receipt in
    /// `awaiting_provider_check` whose access details name the provider, with its payload.
    pub async fn provider_checks_awaiting(
        &self,
        provider: &str,
    ) -> Result<Vec<AwaitingCheck>, StoreError> {
        let provider = provider.to_owned();
        self.read(move |conn| {
            let rows: Vec<(String, u32, Vec<u8>, Option<String>)> = conn
                .prepare_cached(
                    "SELECT v.receipt, v.version, p.payload,
                            (SELECT s.check_receipt FROM provider_checks_sent s
                             JOIN receipts c ON c.receipt = s.check_receipt
                             WHERE s.receipt = n.receipt AND s.version = n.version
                               AND s.provider = n.provider
                               AND c.state NOT IN ('rejected', 'withdrawn')
                             ORDER BY c.created_at DESC LIMIT 1)
                     FROM provider_check_providers n
                     JOIN receipts r ON r.receipt = n.receipt
                     JOIN submission_versions v ON v.receipt = n.receipt AND v.version = n.version
                     JOIN submission_payloads p ON p.receipt = n.receipt AND p.version = n.version
                     WHERE n.provider = ?1 AND r.state = ?2
                       AND r.latest_version = n.version AND r.state_version = n.version
                     ORDER BY v.seq LIMIT ?3",
                )
                .and_then(|mut stmt| {
                    stmt.query_map(
                        params![
                            provider,
                            ReceiptState::Review(
                                bundle_format::records::ReviewState::AwaitingProviderCheck
                            )
                            .as_str(),
                            MAX_LISTED_CHECKS
                        ],
                        |row| Ok((row.get(0)?, u32_col(row.get(1)?), row.get(2)?, row.get(3)?)),
                    )?
                    .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db("listing what awaits a provider's check"))?;
            rows.into_iter()
                .map(|(receipt, version, payload, sent)| {
                    Ok(AwaitingCheck {
                        version: decode_version(&receipt, version, &payload)?,
                        sent,
                    })
                })
                .collect()
        })
        .await
    }

    /// The receipt of a check of `receipt` version `version` that the provider account
    /// `provider` sent from here and the inner side has not refused, if any.
    pub async fn provider_check_sent(
        &self,
        provider: &str,
        receipt: &str,
        version: u32,
    ) -> Result<Option<String>, StoreError> {
        let (provider, receipt) = (provider.to_owned(), receipt.to_owned());
        self.read(move |conn| {
            use rusqlite::OptionalExtension as _;
            conn.prepare_cached(
                "SELECT s.check_receipt FROM provider_checks_sent s
                 JOIN receipts c ON c.receipt = s.check_receipt
                 WHERE s.receipt = ?1 AND s.version = ?2 AND s.provider = ?3
                   AND c.state NOT IN ('rejected', 'withdrawn')
                 ORDER BY c.created_at DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![receipt, version, provider], |row| row.get(0))
                    .optional()
            })
            .map_err(db("reading the checks a provider sent"))
        })
        .await
    }
}
