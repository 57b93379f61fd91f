//! Receipts and their versions: storing a new submission (with its idempotency key and the
//! one-subject-files-once check), adding an edit as the next version, and reading a receipt back
//! with its history and newest stored payload. Versions already stored are never changed here.

use bundle_format::records::{self, SubmissionVersion};
use rusqlite::{Connection, OptionalExtension, params};

use super::status::{
    EXPORTED_IN, Exported, add_history, add_transit_entries, parse_state, read_status,
};
use super::{
    HistoryEntry, MAX_STORED_VERSION_BYTES, ReceiptState, ReceiptStatus, Store, StoreError, db,
    hash_col, u32_col, u64_opt,
};

/// What the store knows about one version (without its payload).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    /// Version number.
    pub version: u32,
    /// Content hash of the body.
    pub content_hash: [u8; 32],
    /// Unix seconds.
    pub submitted_at: i64,
    /// Submitting account (or the customer an access provider named).
    pub submitter: String,
    /// The access provider that submitted it, if any.
    pub access_provider: Option<String>,
    /// Its sequence number in the store (its place in export order).
    pub seq: u64,
    /// Sequence of the bundle it was exported in (derived from the bundle ranges).
    pub exported_sequence: Option<u64>,
    /// When that bundle was made.
    pub in_transit_since: Option<i64>,
    /// When the inner side acknowledged it.
    pub acknowledged_at: Option<i64>,
    /// Whether the payload is still stored here.
    pub payload_stored: bool,
}

/// A receipt with its status, history and versions.
#[derive(Clone, Debug)]
pub struct ReceiptRecord {
    /// The status row.
    pub status: ReceiptStatus,
    /// Every state change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Every version, oldest first.
    pub versions: Vec<VersionInfo>,
    /// The newest version whose payload is still stored, decoded.
    pub latest: Option<SubmissionVersion>,
}

/// A new submission to store.
#[derive(Clone, Debug)]
pub struct NewSubmission {
    /// Account that submits.
    pub account_id: i64,
    /// Submission kind name (see [`crate::api::kind_name`]).
    pub kind: String,
    /// Filing number the submission names, if any.
    pub filing_number: Option<String>,
    /// For new filings, the subject's certificate type and number (see
    /// [`crate::convert::subject_key`]): one subject files once.
    pub subject_key: Option<String>,
    /// Version 1, with its receipt id and content hash filled in.
    pub version: SubmissionVersion,
    /// Idempotency key and a hash of the request it came with.
    pub idempotency: Option<(String, [u8; 32])>,
}

/// What storing a submission did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// A new receipt.
    Created {
        /// Receipt id.
        receipt: String,
        /// Version (1).
        version: u32,
    },
    /// The idempotency key was seen before with the same request: the first answer.
    Replayed {
        /// Receipt id of the first request.
        receipt: String,
        /// Version of the first request.
        version: u32,
    },
}

fn encode_version(version: &SubmissionVersion) -> Vec<u8> {
    bincode::encode_to_vec(version, records::wire_config()).unwrap_or_default()
}

/// Decodes a stored version and checks it (no trailing bytes, content hash matches the body).
pub(super) fn decode_version(
    receipt: &str,
    version: u32,
    bytes: &[u8],
) -> Result<SubmissionVersion, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        receipt: receipt.to_owned(),
        version,
        detail,
    };
    let config = records::wire_config().with_limit::<MAX_STORED_VERSION_BYTES>();
    let (decoded, used): (SubmissionVersion, usize) =
        bincode::decode_from_slice(bytes, config).map_err(|e| corrupt(e.to_string()))?;
    if used != bytes.len() {
        return Err(corrupt(format!("{} trailing bytes", bytes.len() - used)));
    }
    if !decoded.hash_matches() {
        return Err(corrupt("content hash does not match the body".into()));
    }
    Ok(decoded)
}

/// Stores a version with the store's next sequence number, in the caller's commit: the
/// single writer numbers versions in commit order, so export, which sends them in that order,
/// never finds a version numbered below one it already sent.
///
/// A version that waits for an access provider's check
/// ([`filing::provider_check::needs_provider_check`]) is flagged so that its payload outlives
/// its ack (see `acks`), with the providers it names beside it; a provider's check is recorded
/// by the receipt and version it checks.
///
/// The version's entry state ([`filing::arrival::entry_state`], as the receipt state name it
/// will show; NULL for a provider's check) is stored with it, so that the arrival ack of its
/// bundle moves its receipt there without reading the payload (see `acks`).
fn insert_version(conn: &Connection, version: &SubmissionVersion) -> Result<(), StoreError> {
    let kept = filing::provider_check::needs_provider_check(version);
    let entry_state =
        filing::arrival::entry_state(version).map(|state| ReceiptState::Review(state).as_str());
    conn.prepare_cached(
        "INSERT INTO submission_versions
           (receipt, version, content_hash, submitted_at, submitter, access_provider, seq,
            kept_for_provider_check, entry_state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6,
                 (SELECT coalesce(max(seq), 0) + 1 FROM submission_versions), ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            version.receipt,
            version.version,
            &version.content_hash[..],
            version.submitted_at,
            version.submitter,
            version.access_provider,
            kept,
            entry_state,
        ])
    })
    .map_err(db("storing a submission version"))?;
    if kept {
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO provider_check_providers (receipt, version, provider)
                 VALUES (?1, ?2, ?3)",
            )
            .map_err(db("storing the providers a version names"))?;
        for provider in filing::provider_check::named_providers(&version.body) {
            stmt.execute(params![version.receipt, version.version, provider])
                .map_err(db("storing the providers a version names"))?;
        }
    }
    if let records::Submission::ProviderCheck {
        receipt: checked,
        version: checked_version,
        ..
    } = &version.body
    {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO provider_checks_sent (check_receipt, receipt, version, provider)
             VALUES (?1, ?2, ?3, ?4)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                version.receipt,
                checked,
                checked_version,
                version
                    .access_provider
                    .as_deref()
                    .unwrap_or(&version.submitter)
            ])
        })
        .map_err(db("recording a provider's check"))?;
    }
    conn.prepare_cached(
        "INSERT INTO submission_payloads (receipt, version, payload) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            version.receipt,
            version.version,
            encode_version(version)
        ])
    })
    .map_err(db("storing a submission payload"))?;
    Ok(())
}

impl Store {
    /// Stores version 1 of a new receipt, or returns the first answer for a repeated
    /// idempotency key.
    pub async fn insert_submission(
        &self,
        submission: NewSubmission,
    ) -> Result<Inserted, StoreError> {
        self.write(move |conn| insert_submission(conn, submission))
            .await
    }

    /// Stores many new submissions in one transaction (each in its own savepoint), for batches.
    pub async fn insert_submissions(
        &self,
        submissions: Vec<NewSubmission>,
    ) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
        self.write(move |conn| {
            Ok(submissions
                .into_iter()
                .map(|submission| {
                    conn.execute_batch("SAVEPOINT row")
                        .map_err(db("opening a savepoint"))?;
                    let result = insert_submission(conn, submission);
                    let end = if result.is_ok() {
                        "RELEASE row"
                    } else {
                        "ROLLBACK TO row; RELEASE row"
                    };
                    conn.execute_batch(end).map_err(db("closing a savepoint"))?;
                    result
                })
                .collect())
        })
        .await
    }

    /// Adds version n+1 to a receipt owned by `account_id`. Versions already stored, exported
    /// or not, are never touched.
    pub async fn add_version(
        &self,
        account_id: i64,
        kind: String,
        subject_key: Option<String>,
        mut version: SubmissionVersion,
    ) -> Result<u32, StoreError> {
        self.write(move |conn| {
            let status = read_status(conn, &version.receipt)?
                .ok_or_else(|| StoreError::NoSuchReceipt(version.receipt.clone()))?;
            if status.account_id != account_id {
                return Err(StoreError::NotOwner(version.receipt.clone()));
            }
            if status.state.is_final() {
                return Err(StoreError::Final {
                    receipt: version.receipt.clone(),
                    state: status.state,
                });
            }
            if status.kind != kind {
                return Err(StoreError::KindChanged {
                    receipt: version.receipt.clone(),
                    stored: status.kind,
                    requested: kind,
                });
            }
            if let Some(subject_key) = &subject_key {
                check_subject_free(conn, account_id, subject_key, &version.receipt)?;
                conn.execute(
                    "UPDATE receipts SET subject_key = ?2 WHERE receipt = ?1",
                    params![version.receipt, subject_key],
                )
                .map_err(db("updating the subject"))?;
            }
            let next = status.latest_version.saturating_add(1);
            version.version = next;
            insert_version(conn, &version)?;
            conn.execute(
                "UPDATE receipts SET latest_version = ?2, state = ?3, state_version = ?2,
                        reason = NULL, bundle_sequence = NULL, in_transit_since = NULL, updated_at = ?4
                 WHERE receipt = ?1",
                params![version.receipt, next, ReceiptState::Received.as_str(), version.submitted_at],
            )
            .map_err(db("updating a status row"))?;
            add_received_history(conn, &version.receipt, next, version.submitted_at)?;
            // An earlier version kept for the provider's check is never shown again.
            super::provider_checks::release_kept_payloads_on(
                conn,
                Some(&version.receipt),
                version.submitted_at,
            )?;
            Ok(next)
        })
        .await
    }

    /// A receipt with its status, history, versions and newest stored payload.
    pub async fn receipt(&self, receipt: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        let receipt = receipt.to_owned();
        self.read(move |conn| read_receipt(conn, &receipt)).await
    }

    /// The account that filed the approved filing `filing_number` here: the account of the new
    /// filing's receipt that the inner side approved under that number, if this store issued
    /// it. `None` for a filing this store does not know (the inner side, which holds the
    /// register, then decides).
    pub async fn filing_owner(&self, filing_number: &str) -> Result<Option<i64>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT account_id FROM receipts
                 WHERE filing_number = ?1 AND kind = 'new_filing' AND state = 'approved'
                 ORDER BY updated_at DESC LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([&filing_number], |row| row.get(0))
                    .optional()
            })
            .map_err(db("finding who filed a filing number"))
        })
        .await
    }

    /// The receipts that name a filing number, newest first.
    pub async fn receipts_for_filing_number(
        &self,
        filing_number: &str,
    ) -> Result<Vec<ReceiptRecord>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            let receipts: Vec<String> = conn
                .prepare_cached(
                    "SELECT receipt FROM receipts WHERE filing_number = ?1
                     ORDER BY created_at DESC, receipt DESC LIMIT 50",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([&filing_number], |row| row.get(0))?
                        .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db("finding receipts by filing number"))?;
            let mut found = Vec::new();
            for receipt in receipts {
                if let Some(record) = read_receipt(conn, &receipt)? {
                    found.push(record);
                }
            }
            Ok(found)
        })
        .await
    }
}

/// The account's open receipt of a subject, other than the one being stored. The subject is
/// looked up through its own index (`receipts_subject_key`): the unary `+` keeps the planner
/// off `receipts_account`, which for an account holding many receipts (an access provider
/// filing for its customers) meant reading every one of them at each submission, a cost that
/// grew with the account (found by the round trip bench, whose 200,000 filings share one
/// account: populating them went from 13 s to over 20 minutes).
pub(super) const SUBJECT_FILED_BY_ACCOUNT: &str = "SELECT receipt, state FROM receipts
     WHERE subject_key = ?1 AND +account_id = ?3 AND receipt <> ?2
       AND state NOT IN ('rejected', 'cancelled', 'withdrawn')
     LIMIT 1";

/// Refuses a subject that another live receipt (not `except`) of the same account already
/// files: an account edits its receipt instead of filing twice.
///
/// Receipts of other accounts are not looked at. A stranger who files someone else's subject
/// first must not lock the real owner out, nor learn that the subject is filed, by whom or under
/// which receipt: both filings go inside, where the reviewer sees them side by side and the
/// register decides.
fn check_subject_free(
    conn: &Connection,
    account_id: i64,
    subject_key: &str,
    except: &str,
) -> Result<(), StoreError> {
    let found: Option<(String, String)> = conn
        .prepare_cached(SUBJECT_FILED_BY_ACCOUNT)
        .and_then(|mut stmt| {
            stmt.query_row(params![subject_key, except, account_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
        })
        .map_err(db("checking the subject"))?;
    match found {
        Some((receipt, state)) => Err(StoreError::SubjectAlreadyFiled {
            receipt,
            state: parse_state(&state),
        }),
        None => Ok(()),
    }
}

fn insert_submission(conn: &Connection, submission: NewSubmission) -> Result<Inserted, StoreError> {
    let version = &submission.version;
    if let Some((key, request_hash)) = &submission.idempotency {
        let seen: Option<(Vec<u8>, String, i64)> = conn
            .prepare_cached(
                "SELECT request_hash, receipt, version FROM idempotency_keys
                 WHERE account_id = ?1 AND key = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![submission.account_id, key], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })
                .optional()
            })
            .map_err(db("checking an idempotency key"))?;
        if let Some((hash, receipt, version)) = seen {
            if hash_col(hash) != *request_hash {
                return Err(StoreError::IdempotencyKeyReused(key.clone()));
            }
            return Ok(Inserted::Replayed {
                receipt,
                version: u32_col(version),
            });
        }
    }
    if let Some(subject_key) = &submission.subject_key {
        check_subject_free(conn, submission.account_id, subject_key, &version.receipt)?;
    }
    conn.prepare_cached(
        "INSERT INTO receipts (receipt, account_id, kind, latest_version, state, state_version,
                               filing_number, created_at, updated_at, subject_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?6, ?7, ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            version.receipt,
            submission.account_id,
            submission.kind,
            version.version,
            ReceiptState::Received.as_str(),
            submission.filing_number,
            version.submitted_at,
            submission.subject_key
        ])
    })
    .map_err(db("creating a status row"))?;
    insert_version(conn, version)?;
    add_received_history(
        conn,
        &version.receipt,
        version.version,
        version.submitted_at,
    )?;
    if let Some((key, request_hash)) = &submission.idempotency {
        conn.prepare_cached(
            "INSERT INTO idempotency_keys (account_id, key, request_hash, receipt, version, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                submission.account_id,
                key,
                &request_hash[..],
                version.receipt,
                version.version,
                version.submitted_at
            ])
        })
        .map_err(db("storing an idempotency key"))?;
    }
    Ok(Inserted::Created {
        receipt: version.receipt.clone(),
        version: version.version,
    })
}

fn read_receipt(conn: &Connection, receipt: &str) -> Result<Option<ReceiptRecord>, StoreError> {
    let Some(status) = read_status(conn, receipt)? else {
        return Ok(None);
    };
    let mut history = conn
        .prepare_cached(
            "SELECT version, state, at, reason, filing_number, bundle_sequence
             FROM status_history WHERE receipt = ?1 ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([receipt], |row| {
                Ok(HistoryEntry {
                    version: u32_col(row.get(0)?),
                    state: parse_state(&row.get::<_, String>(1)?),
                    at: row.get(2)?,
                    reason: row.get(3)?,
                    filing_number: row.get(4)?,
                    bundle_sequence: u64_opt(row.get(5)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(db("reading status history"))?;
    let mut latest_payload: Option<(u32, Vec<u8>)> = None;
    let mut exported: Vec<(u32, Exported)> = Vec::new();
    let mut seqs: Vec<(u32, u64)> = Vec::new();
    let versions = conn
        .prepare_cached(&format!(
            "SELECT v.version, v.content_hash, v.submitted_at, v.submitter,
                        v.access_provider, o.sequence, o.created, v.acknowledged_at, p.payload,
                        v.seq, o.last_seq
                 FROM submission_versions v
                 LEFT JOIN transfer_outbox o ON o.rowid = {EXPORTED_IN} AND o.first_seq <= v.seq
                 LEFT JOIN submission_payloads p
                   ON p.receipt = v.receipt AND p.version = v.version
                 WHERE v.receipt = ?1 ORDER BY v.version"
        ))
        .and_then(|mut stmt| {
            let mut rows = stmt.query([receipt])?;
            let mut versions = Vec::new();
            while let Some(row) = rows.next()? {
                let payload: Option<Vec<u8>> = row.get(8)?;
                let version = u32_col(row.get(0)?);
                let payload_stored = payload.is_some();
                if let Some(payload) = payload {
                    latest_payload = Some((version, payload));
                }
                let seq = u64_opt(row.get(9)?).unwrap_or(0);
                let exported_sequence = u64_opt(row.get(5)?);
                let in_transit_since: Option<i64> = row.get(6)?;
                if let (Some(bundle_sequence), Some(at), Some(last_seq)) =
                    (exported_sequence, in_transit_since, u64_opt(row.get(10)?))
                {
                    exported.push((
                        version,
                        Exported {
                            bundle_sequence,
                            at,
                            last_seq,
                        },
                    ));
                }
                seqs.push((version, seq));
                versions.push(VersionInfo {
                    version,
                    content_hash: hash_col(row.get(1)?),
                    submitted_at: row.get(2)?,
                    submitter: row.get(3)?,
                    access_provider: row.get(4)?,
                    seq,
                    exported_sequence,
                    in_transit_since,
                    acknowledged_at: row.get(7)?,
                    payload_stored,
                });
            }
            Ok(versions)
        })
        .map_err(db("reading versions"))?;
    add_transit_entries(&mut history, &exported, &seqs);
    let latest = match latest_payload {
        Some((version, payload)) => Some(decode_version(receipt, version, &payload)?),
        None => None,
    };
    Ok(Some(ReceiptRecord {
        status,
        history,
        versions,
        latest,
    }))
}

/// A new version's first history entry: received at `at`, with no reason, filing number or bundle.
fn add_received_history(
    conn: &Connection,
    receipt: &str,
    version: u32,
    at: i64,
) -> Result<(), StoreError> {
    add_history(
        conn,
        receipt,
        version,
        ReceiptState::Received,
        at,
        None,
        None,
        None,
    )
}
