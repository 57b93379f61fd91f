//! Electronic filing certificates: a plain-text document naming the filing number, the subject,
//! its websites with their domains, the issue date and the expiry (one year after the last
//! approval), sealed as a signify embedded-signature file by an `inner-cert` key. The site owner
//! publishes it at `/cert/bazs.cert`; anyone checks it with the stock tool:
//! `signify-openbsd -V -e -p cert.pub -x bazs.cert -m bazs.txt` (which writes the signed text
//! to `bazs.txt`).
//!
//! One certificate per filing is current. A later approved change issues a new one and marks
//! the old one superseded; cancelling the filing revokes it. Nothing is ever deleted. The first
//! certificate a filing gets comes with its filing password ([`crate::filing_passwords`]), in
//! the same transaction.

use bundle_format::envelope;
use bundle_format::records::{
    CertificateRecord, CertificateRevocation, MAX_CERTIFICATE_BYTES, Record,
};
use keys::{KeyId, Role};
use postgres::{GenericClient, Transaction};

use filing::electronic_certificate::{CertifiedWebsite, ElectronicCertificate};

use crate::filing_number;

/// Seconds a certificate stays valid after the filing's last approval (365 days).
pub const VALIDITY_SECONDS: i64 = 365 * 24 * 60 * 60;

/// The unsigned comment line of every certificate.
pub const COMMENT: &str = "sluice filing certificate; verify with the inner-cert public key";

/// Why a certificate could not be issued, found or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The database failed.
    #[error("database error while {step}: {}", crate::store::describe(source))]
    Database {
        /// What was being done.
        step: &'static str,
        /// The error.
        #[source]
        source: postgres::Error,
    },
    /// The filing is not approved, so it gets no certificate.
    #[error("filing {filing} is not approved; no certificate can be issued")]
    NotApproved {
        /// Filing id or number.
        filing: String,
    },
    /// No certificate matches.
    #[error("no certificate for {what}")]
    NotFound {
        /// What was looked up.
        what: String,
    },
    /// Sealing or opening the signify envelope failed.
    #[error("certificate envelope: {0}")]
    Envelope(#[from] envelope::EnvelopeError),
    /// The document was signed by another key than the one given.
    #[error("certificate is signed by key {found}, not by {expected}")]
    WrongKey {
        /// Key id the certificate names.
        found: KeyId,
        /// Key id of the public key given.
        expected: KeyId,
    },
    /// The document is too large to be a certificate.
    #[error("certificate of {len} bytes is larger than {max} bytes")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Queueing the certificate for the outer side failed.
    #[error(transparent)]
    Queue(#[from] crate::store::StoreError),
}

fn db(step: &'static str) -> impl FnOnce(postgres::Error) -> CertificateError {
    move |source| CertificateError::Database { step, source }
}

/// A certificate as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// Its id (also printed in the document as its serial).
    pub certificate_id: i64,
    /// The subject's filing number.
    pub filing_number: String,
    /// The receipt whose approval issued it.
    pub receipt: String,
    /// Issue time, Unix seconds.
    pub issued_at: i64,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
    /// `current`, `superseded` or `revoked`.
    pub status: String,
    /// The certificate it replaced.
    pub supersedes: Option<i64>,
    /// The signed document, as published.
    pub document: Vec<u8>,
}

/// Issues a new current certificate for an approved filing, superseding the current one, and
/// the filing's password if it has none yet.
pub fn issue(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    receipt: &str,
    signer: &dyn keys::Signer,
    now: i64,
) -> Result<StoredCertificate, CertificateError> {
    let filing = tx
        .query_opt(
            "SELECT f.filing_number, f.last_approved_at, s.name
             FROM filings f JOIN subject_records s ON s.filing_id = f.filing_id AND s.status = 'active'
             WHERE f.filing_id = $1 AND f.status = 'active'",
            &[&filing_id],
        )
        .map_err(db("reading the filing"))?
        .ok_or_else(|| CertificateError::NotApproved {
            filing: filing_id.to_string(),
        })?;
    let number: String = filing.get(0);
    let last_approved: Option<i64> = filing.get(1);
    let subject: String = filing.get(2);
    let websites = tx
        .query(
            "SELECT w.website_seq, w.name,
                    coalesce(array_agg(d.domain ORDER BY d.domain) FILTER (WHERE d.domain IS NOT NULL), '{}')
             FROM website_records w
             LEFT JOIN website_domains d ON d.record_id = w.record_id AND d.active
             WHERE w.filing_id = $1 AND w.status = 'active'
             GROUP BY w.website_seq, w.name ORDER BY w.website_seq",
            &[&filing_id],
        )
        .map_err(db("reading the websites"))?;
    let certificate_id: i64 = tx
        .query_one("SELECT nextval('certificates_certificate_id_seq')", &[])
        .map_err(db("numbering the certificate"))?
        .get(0);
    let expires_at = last_approved
        .unwrap_or(now)
        .saturating_add(VALIDITY_SECONDS);

    let certificate = ElectronicCertificate {
        serial: certificate_id,
        filing_number: number.clone(),
        subject,
        websites: websites
            .iter()
            .map(|website| CertifiedWebsite {
                number: filing_number::website_number(&number, website.get(0)),
                name: website.get(1),
                domains: website.get(2),
            })
            .collect(),
        issued: now,
        expires: expires_at,
    };
    let text = certificate.render();
    let document = envelope::seal(signer, COMMENT, text.as_bytes())?;
    if document.len() > MAX_CERTIFICATE_BYTES {
        return Err(CertificateError::TooLarge {
            len: document.len(),
            max: MAX_CERTIFICATE_BYTES,
        });
    }

    let superseded: Option<i64> = tx
        .query_opt(
            "UPDATE certificates SET status = 'superseded'
             WHERE filing_id = $1 AND status = 'current' RETURNING certificate_id",
            &[&filing_id],
        )
        .map_err(db("superseding the current certificate"))?
        .map(|row| row.get(0));
    let key_id: &[u8] = &signer.key_id().0;
    tx.execute(
        "INSERT INTO certificates (certificate_id, filing_id, filing_number, receipt, issued_at,
             expires_at, status, supersedes, signer_key_id, document)
         VALUES ($1, $2, $3, $4, $5, $6, 'current', $7, $8, $9)",
        &[
            &certificate_id,
            &filing_id,
            &number,
            &receipt,
            &now,
            &expires_at,
            &superseded,
            &key_id,
            &document,
        ],
    )
    .map_err(db("storing the certificate"))?;
    let record = Record::Certificate(CertificateRecord {
        filing_number: number.clone(),
        receipt: receipt.to_owned(),
        issued_at: now,
        expires_at,
        supersedes: superseded.map(|_| number.clone()),
        document: document.clone(),
    });
    crate::returns::queue(tx, crate::returns::EntryKind::Certificate, &record, now)?;
    crate::filing_passwords::issue_if_none(tx, filing_id, &number, receipt, now)?;
    Ok(StoredCertificate {
        certificate_id,
        filing_number: number,
        receipt: receipt.to_owned(),
        issued_at: now,
        expires_at,
        status: "current".to_owned(),
        supersedes: superseded,
        document,
    })
}

/// Re-issues the current certificate of an approved filing (e.g. after the signing key was
/// rotated). The receipt recorded is that of the certificate replaced.
pub fn reissue(
    tx: &mut Transaction<'_>,
    filing_number: &str,
    signer: &dyn keys::Signer,
    now: i64,
) -> Result<StoredCertificate, CertificateError> {
    let row = tx
        .query_opt(
            "SELECT f.filing_id, coalesce(c.receipt, f.origin_receipt)
             FROM filings f
             LEFT JOIN certificates c ON c.filing_id = f.filing_id AND c.status = 'current'
             WHERE f.filing_number = $1 AND f.status = 'active'",
            &[&filing_number],
        )
        .map_err(db("finding the filing"))?
        .ok_or_else(|| CertificateError::NotApproved {
            filing: filing_number.to_owned(),
        })?;
    let receipt: String = row.get(1);
    issue(tx, row.get(0), &receipt, signer, now)
}

/// Why a certificate was revoked when its filing was cancelled (the reason a
/// [`CertificateRevocation`] carries).
pub const REVOKED_FILING_CANCELLED: &str = "filing-cancelled";

/// Revokes the filing's current certificate, if it has one, and queues the revocation for the
/// return channel so that the outer side stops serving it. Returns whether one was revoked.
pub fn revoke(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    reason: &str,
    now: i64,
) -> Result<bool, CertificateError> {
    let Some(row) = tx
        .query_opt(
            "UPDATE certificates SET status = 'revoked'
             WHERE filing_id = $1 AND status = 'current'
             RETURNING filing_number, receipt",
            &[&filing_id],
        )
        .map_err(db("revoking the certificate"))?
    else {
        return Ok(false);
    };
    let record = Record::CertificateRevocation(CertificateRevocation {
        filing_number: row.get(0),
        receipt: row.get(1),
        revoked_at: now,
        reason: reason.to_owned(),
    });
    crate::returns::queue(
        tx,
        crate::returns::EntryKind::CertificateRevocation,
        &record,
        now,
    )?;
    Ok(true)
}

/// Every certificate of a filing number, newest first.
pub fn history(
    client: &mut impl GenericClient,
    filing_number: &str,
) -> Result<Vec<StoredCertificate>, CertificateError> {
    let rows = client
        .query(
            "SELECT certificate_id, filing_number, receipt, issued_at, expires_at, status,
                    supersedes, document
             FROM certificates WHERE filing_number = $1 ORDER BY certificate_id DESC",
            &[&filing_number],
        )
        .map_err(db("reading certificates"))?;
    Ok(rows
        .into_iter()
        .map(|row| StoredCertificate {
            certificate_id: row.get(0),
            filing_number: row.get(1),
            receipt: row.get(2),
            issued_at: row.get(3),
            expires_at: row.get(4),
            status: row.get(5),
            supersedes: row.get(6),
            document: row.get(7),
        })
        .collect())
}

/// Verifies a certificate document against an `inner-cert` public key and returns its signed
/// text.
pub fn verify(document: &[u8], key: &keys::PublicKey) -> Result<String, CertificateError> {
    if document.len() > MAX_CERTIFICATE_BYTES {
        return Err(CertificateError::TooLarge {
            len: document.len(),
            max: MAX_CERTIFICATE_BYTES,
        });
    }
    let opened = envelope::open(document, MAX_CERTIFICATE_BYTES)?;
    if opened.key_id != key.key_id() {
        return Err(CertificateError::WrongKey {
            found: opened.key_id,
            expected: key.key_id(),
        });
    }
    opened.verify(
        &keys::OneKey::new(key, Role::InnerCert),
        Role::InnerCert,
        None,
        0,
    )?;
    Ok(String::from_utf8_lossy(opened.message).into_owned())
}
