//! The filing password (备案密码) inside: issued with a filing's first certificate, in the
//! approval's transaction, and kept only as its salted hash (`filing_passwords`, migration 15;
//! `filing::password` gives the format and why the hash is what it is). The password itself is
//! queued once for the return channel, as a [`FilingPassword`] record for the intake node whose
//! channel created the receipt approved; [`crate::returns::mark_sent`] blanks it in the queue
//! once a return bundle carries it.
//!
//! A filing keeps its password when a change is approved or its certificate is issued again:
//! the manuals' system keeps one per filing, and the owner's copy stays valid. A filing approved
//! before passwords existed gets one with its next certificate.

use bundle_format::records::{FilingPassword, Record};
use filing::password::{self, RANDOM_BYTES, SALT_BYTES};
use postgres::Transaction;
use rand_core::{OsRng, RngCore};

use crate::returns::{self, EntryKind};
use crate::store::{StoreError, db};

/// Issues filing `filing_id` its password if it has none yet: stores the salted hash with
/// `receipt` (the receipt whose approval issued it) and queues the password for the return
/// channel. Returns whether one was issued. The caller's transaction is the approval's, so a
/// failed approval issues nothing.
pub fn issue_if_none(
    tx: &mut Transaction<'_>,
    filing_id: i64,
    filing_number: &str,
    receipt: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let mut random = [0u8; RANDOM_BYTES];
    OsRng.fill_bytes(&mut random);
    let mut salt = [0u8; SALT_BYTES];
    OsRng.fill_bytes(&mut salt);
    let issued = password::FilingPassword::from_random(random);
    let hash = issued.hash(&salt);
    let stored = tx
        .execute(
            "INSERT INTO filing_passwords (filing_id, receipt, salt, hash, issued_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (filing_id) DO NOTHING",
            &[&filing_id, &receipt, &&salt[..], &&hash[..], &now],
        )
        .map_err(db("storing a filing password's hash"))?;
    if stored == 0 {
        return Ok(false);
    }
    let record = Record::FilingPassword(FilingPassword {
        filing_number: filing_number.to_owned(),
        receipt: receipt.to_owned(),
        issued_at: now,
        password: issued.display(),
    });
    returns::queue(tx, EntryKind::FilingPassword, &record, now)?;
    Ok(true)
}

/// Whether `typed` is the password of the filing numbered `filing_number` (an active filing);
/// false for an unknown number, a filing without a password and a wrong password alike.
pub fn matches(
    client: &mut impl postgres::GenericClient,
    filing_number: &str,
    typed: &str,
) -> Result<bool, StoreError> {
    let row = client
        .query_opt(
            "SELECT p.salt, p.hash FROM filing_passwords p
             JOIN filings f ON f.filing_id = p.filing_id
             WHERE f.filing_number = $1",
            &[&filing_number],
        )
        .map_err(db("reading a filing password's hash"))?;
    let Some(row) = row else {
        return Ok(false);
    };
    let salt: Vec<u8> = row.get(0);
    let hash: Vec<u8> = row.get(1);
    let (Ok(salt), Some(typed)) = (
        <[u8; SALT_BYTES]>::try_from(salt.as_slice()),
        password::FilingPassword::parse(typed),
    ) else {
        return Ok(false);
    };
    Ok(typed.matches(&salt, &hash))
}
