//! Signed certificates that came back from the inner side, kept by filing number for download,
//! and the "certificate ready" mark on their receipt.

use bundle_format::records::{CertificateRecord, CertificateRevocation};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError, db};

/// Stores (or replaces) a signed certificate on `conn` and marks its receipt "certificate
/// ready"; false, storing nothing, for a receipt this store never issued.
pub fn store_certificate_on(
    conn: &Connection,
    certificate: &CertificateRecord,
) -> Result<bool, StoreError> {
    let known: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM receipts WHERE receipt = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&certificate.receipt], |row| row.get(0))
                .optional()
        })
        .map_err(db("reading a status row"))?;
    if known.is_none() {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO certificates (filing_number, receipt, issued_at, expires_at, supersedes, document)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (filing_number) DO UPDATE SET receipt = excluded.receipt,
            issued_at = excluded.issued_at, expires_at = excluded.expires_at,
            supersedes = excluded.supersedes, document = excluded.document,
            revoked_at = NULL, revocation_reason = NULL",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            certificate.filing_number,
            certificate.receipt,
            certificate.issued_at,
            certificate.expires_at,
            certificate.supersedes,
            certificate.document
        ])
    })
    .map_err(db("storing a certificate"))?;
    conn.prepare_cached(
        "UPDATE receipts SET certificate_ready = 1, filing_number = COALESCE(filing_number, ?2)
         WHERE receipt = ?1",
    )
    .and_then(|mut stmt| stmt.execute(params![certificate.receipt, certificate.filing_number]))
    .map_err(db("updating a status row"))?;
    Ok(true)
}

/// Marks the certificate `revocation` names as revoked on `conn`, so that it is no longer
/// served, and takes "certificate ready" off its receipt; false, changing nothing, when this
/// store holds no such certificate (another intake node's, or one never received).
pub fn revoke_certificate_on(
    conn: &Connection,
    revocation: &CertificateRevocation,
) -> Result<bool, StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE certificates SET revoked_at = ?3, revocation_reason = ?4
             WHERE filing_number = ?1 AND receipt = ?2",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                revocation.filing_number,
                revocation.receipt,
                revocation.revoked_at,
                revocation.reason
            ])
        })
        .map_err(db("revoking a certificate"))?;
    if changed == 0 {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE receipts SET certificate_ready = 0 WHERE receipt = ?1")
        .and_then(|mut stmt| stmt.execute([&revocation.receipt]))
        .map_err(db("updating a status row"))?;
    super::notifications::queue_on(
        conn,
        &format!(
            "revocation:{}:{}",
            revocation.filing_number, revocation.receipt
        ),
        &revocation.receipt,
        super::notifications::Outcome::Revoked,
        (
            Some(revocation.filing_number.as_str()),
            Some(revocation.reason.as_str()),
        ),
        revocation.revoked_at,
    )?;
    Ok(true)
}

/// The columns [`certificate_row`] reads, first in a query.
pub(super) const CERTIFICATE_COLUMNS: &str =
    "filing_number, receipt, issued_at, expires_at, supersedes, document";

/// A certificate from a row starting with [`CERTIFICATE_COLUMNS`].
pub(super) fn certificate_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CertificateRecord> {
    Ok(CertificateRecord {
        filing_number: row.get(0)?,
        receipt: row.get(1)?,
        issued_at: row.get(2)?,
        expires_at: row.get(3)?,
        supersedes: row.get(4)?,
        document: row.get(5)?,
    })
}

/// When and why a certificate was revoked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// Unix seconds.
    pub at: i64,
    /// The inner side's reason, e.g. `filing-cancelled`.
    pub reason: String,
}

/// What the store holds for `filing_number` compared with a published `document`: the
/// register check of [`crate::site_check`].
pub fn certificate_standing_on(
    conn: &Connection,
    filing_number: &str,
    document: &[u8],
) -> Result<crate::site_check::RegisterStanding, StoreError> {
    use crate::site_check::RegisterStanding;
    let stored: Option<(Vec<u8>, Option<String>, bool)> = conn
        .query_row(
            "SELECT document, revocation_reason, revoked_at IS NOT NULL FROM certificates
             WHERE filing_number = ?1",
            [filing_number],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(db("reading a certificate"))?;
    Ok(match stored {
        None => RegisterStanding::Unknown,
        Some((stored, reason, true)) if stored == document => {
            RegisterStanding::Revoked(reason.unwrap_or_default())
        }
        Some((stored, _, false)) if stored == document => RegisterStanding::Current,
        Some(_) => RegisterStanding::Superseded,
    })
}

impl Store {
    /// Whether the certificate stored under `filing_number` was revoked, and when and why.
    pub async fn certificate_revoked(
        &self,
        filing_number: &str,
    ) -> Result<Option<Revoked>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT revoked_at, coalesce(revocation_reason, '') FROM certificates
                 WHERE filing_number = ?1 AND revoked_at IS NOT NULL",
                [&filing_number],
                |row| {
                    Ok(Revoked {
                        at: row.get(0)?,
                        reason: row.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(db("reading a certificate"))
        })
        .await
    }

    /// Whether the certificate stored under `filing_number` (revoked or not) was issued for a
    /// receipt of account `account_id`: the account that filed it, which may download it by
    /// number alone.
    pub async fn certificate_filed_by(
        &self,
        filing_number: &str,
        account_id: i64,
    ) -> Result<bool, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT 1 FROM certificates c JOIN receipts r ON r.receipt = c.receipt
                 WHERE c.filing_number = ?1 AND r.account_id = ?2",
                params![filing_number, account_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(db("reading a certificate"))
        })
        .await
    }

    /// A stored certificate document by filing number, unless it was revoked.
    pub async fn certificate(
        &self,
        filing_number: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {CERTIFICATE_COLUMNS} FROM certificates
                     WHERE filing_number = ?1 AND revoked_at IS NULL"
                ),
                [&filing_number],
                certificate_row,
            )
            .optional()
            .map_err(db("reading a certificate"))
        })
        .await
    }

    /// Stores (or replaces) a signed certificate and marks its receipt "certificate ready".
    /// A certificate for a receipt this store never issued is an error.
    pub async fn store_certificate(
        &self,
        certificate: CertificateRecord,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            if store_certificate_on(conn, &certificate)? {
                Ok(())
            } else {
                Err(StoreError::NoSuchReceipt(certificate.receipt.clone()))
            }
        })
        .await
    }
}
