//! Signed certificates that came back from the inner side, kept by filing number for download,
//! and the "certificate ready" mark on their receipt.

use bundle_format::records::CertificateRecord;
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
            supersedes = excluded.supersedes, document = excluded.document",
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

impl Store {
    /// A stored certificate document by filing number.
    pub async fn certificate(
        &self,
        filing_number: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let filing_number = filing_number.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT filing_number, receipt, issued_at, expires_at, supersedes, document
                 FROM certificates WHERE filing_number = ?1",
                [&filing_number],
                |row| {
                    Ok(CertificateRecord {
                        filing_number: row.get(0)?,
                        receipt: row.get(1)?,
                        issued_at: row.get(2)?,
                        expires_at: row.get(3)?,
                        supersedes: row.get(4)?,
                        document: row.get(5)?,
                    })
                },
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
