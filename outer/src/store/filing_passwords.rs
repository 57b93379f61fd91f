//! Filing passwords outside (outer migration 14): the salted hash of each filing's password,
//! for the download of its certificate by filing number and password without an account, and
//! the password itself until the owner of the receipt that was approved has seen it once.
//! `filing::password` gives the format and the hash.

use bundle_format::records::{CertificateRecord, FilingPassword};
use filing::password::{self, RANDOM_BYTES, SALT_BYTES};
use rand_core::{OsRng, RngCore};
use rusqlite::{Connection, OptionalExtension, params};

use super::certificates::{CERTIFICATE_COLUMNS, Revoked, certificate_row};
use super::{Store, StoreError, db, now};

/// Stores the password a return bundle carried for a receipt this store issued: its own
/// salted hash, and the password until its owner has seen it. A password issued later than the
/// one held replaces it; an older one changes nothing. False, storing nothing, for a receipt
/// this store never issued (another intake node's) or a password that is not in the issued
/// format (which no download could then match).
pub fn apply_filing_password_on(
    conn: &Connection,
    record: &FilingPassword,
) -> Result<bool, StoreError> {
    let Some(parsed) = password::FilingPassword::parse(&record.password) else {
        tracing::warn!(target: "sluice::audit", event = "filing-password.malformed",
            filing_number = %record.filing_number, receipt = %record.receipt,
            "a filing password from the inner side is not in the issued format; not stored");
        return Ok(false);
    };
    let known = conn
        .prepare_cached("SELECT 1 FROM receipts WHERE receipt = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&record.receipt], |row| row.get::<_, i64>(0))
                .optional()
        })
        .map_err(db("reading a status row"))?;
    if known.is_none() {
        return Ok(false);
    }
    let mut salt = [0u8; SALT_BYTES];
    OsRng.fill_bytes(&mut salt);
    let hash = parsed.hash(&salt);
    let changed = conn
        .prepare_cached(
            "INSERT INTO filing_passwords (filing_number, receipt, issued_at, salt, hash, unseen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (filing_number) DO UPDATE SET receipt = excluded.receipt,
                issued_at = excluded.issued_at, salt = excluded.salt, hash = excluded.hash,
                unseen = excluded.unseen, shown_at = NULL
             WHERE excluded.issued_at > filing_passwords.issued_at",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                record.filing_number,
                record.receipt,
                record.issued_at,
                &salt[..],
                &hash[..],
                parsed.display()
            ])
        })
        .map_err(db("storing a filing password's hash"))?;
    Ok(changed > 0)
}

/// A filing password the owner is shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct UnseenPassword {
    /// The filing number it opens.
    pub filing_number: String,
    /// The receipt whose approval issued it.
    pub receipt: String,
    /// The password, as issued.
    pub password: String,
}

impl std::fmt::Debug for UnseenPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnseenPassword")
            .field("filing_number", &self.filing_number)
            .field("receipt", &self.receipt)
            .finish_non_exhaustive()
    }
}

/// What a download by filing number and password finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordDownload {
    /// The password is the filing's: its current certificate.
    Certificate(CertificateRecord),
    /// The password is the filing's, but its certificate was revoked.
    Revoked(Revoked),
    /// No such filing number here, no password for it, or another password: one answer for
    /// all three, so that the answer tells nothing about the number.
    NoMatch,
}

/// A salt for the hash made when no filing matches, so that an unknown number costs the same
/// work as a wrong password.
const DECOY_SALT: [u8; SALT_BYTES] = [0x5a; SALT_BYTES];

impl Store {
    /// Takes the passwords the account has not seen yet, clearing them in the same
    /// transaction: whatever this returns is never returned again.
    pub async fn take_unseen_passwords(
        &self,
        account_id: i64,
    ) -> Result<Vec<UnseenPassword>, StoreError> {
        self.write(move |conn| {
            // RETURNING gives the values after the update, so read first: the write job's
            // transaction makes the two one.
            let taken = conn
                .prepare_cached(
                    "SELECT filing_number, receipt, unseen FROM filing_passwords
                     WHERE unseen IS NOT NULL
                       AND receipt IN (SELECT receipt FROM receipts WHERE account_id = ?1)
                     ORDER BY issued_at, filing_number",
                )
                .and_then(|mut stmt| {
                    stmt.query_map([account_id], |row| {
                        Ok(UnseenPassword {
                            filing_number: row.get(0)?,
                            receipt: row.get(1)?,
                            password: row.get(2)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()
                })
                .map_err(db("reading unseen filing passwords"))?;
            let mut clear = conn
                .prepare_cached(
                    "UPDATE filing_passwords SET unseen = NULL, shown_at = ?2
                     WHERE filing_number = ?1",
                )
                .map_err(db("clearing a shown filing password"))?;
            let at = now();
            for shown in &taken {
                clear
                    .execute(params![shown.filing_number, at])
                    .map_err(db("clearing a shown filing password"))?;
            }
            Ok(taken)
        })
        .await
    }

    /// The certificate of `filing_number` if `typed` is its filing password. The hash is
    /// computed and compared (in constant time) whether or not the number is known.
    pub async fn certificate_by_password(
        &self,
        filing_number: &str,
        typed: &str,
    ) -> Result<PasswordDownload, StoreError> {
        let filing_number = filing_number.to_owned();
        let typed = typed.to_owned();
        self.read(move |conn| {
            let stored: Option<(Vec<u8>, Vec<u8>)> = conn
                .prepare_cached("SELECT salt, hash FROM filing_passwords WHERE filing_number = ?1")
                .and_then(|mut stmt| {
                    stmt.query_row([&filing_number], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                })
                .map_err(db("reading a filing password's hash"))?;
            let (salt, hash) = match &stored {
                Some((salt, hash)) => (
                    <[u8; SALT_BYTES]>::try_from(salt.as_slice()).unwrap_or(DECOY_SALT),
                    hash.as_slice(),
                ),
                None => (DECOY_SALT, &[0u8; 32][..]),
            };
            let parsed = password::FilingPassword::parse(&typed);
            let candidate = parsed
                .clone()
                .unwrap_or_else(|| password::FilingPassword::from_random([0; RANDOM_BYTES]));
            let matches = candidate.matches(&salt, hash);
            if stored.is_none() || parsed.is_none() || !matches {
                return Ok(PasswordDownload::NoMatch);
            }
            conn.query_row(
                &format!(
                    "SELECT {CERTIFICATE_COLUMNS}, revoked_at, coalesce(revocation_reason, '')
                     FROM certificates WHERE filing_number = ?1"
                ),
                [&filing_number],
                |row| {
                    Ok(match row.get::<_, Option<i64>>(6)? {
                        Some(at) => PasswordDownload::Revoked(Revoked {
                            at,
                            reason: row.get(7)?,
                        }),
                        None => PasswordDownload::Certificate(certificate_row(row)?),
                    })
                },
            )
            .optional()
            .map(|found| found.unwrap_or(PasswordDownload::NoMatch))
            .map_err(db("reading a certificate"))
        })
        .await
    }
}
