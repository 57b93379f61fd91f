//! Revocation by the authority (撤销): a provincial authority of the filing's province, or the
//! ministry, ends an approved filing or one of its websites with a reason. The revoked records
//! stay, marked `revoked`; their domains, IP ranges and home URLs become inactive, which frees
//! the domains for another filing. Revoking the whole filing (or its last website) revokes its
//! certificate; revoking one website of several re-issues the certificate without it. Either
//! way the filing's public register entry is sent again (or its removal), and the revocation
//! is kept in `revocations` with the account that made it.

use postgres::Transaction;

use super::{ReviewError, db};
use crate::certificates;
use crate::register;
use crate::reviewers::{NotAllowed, Reviewer};

/// Why a certificate was revoked when the authority revoked its filing (the reason a
/// `CertificateRevocation` carries; the outer status page shows it).
pub const REVOKED_BY_AUTHORITY: &str = "filing-revoked";

/// Longest filing number looked up; a real one (`京ICP备2026000123号`) is 25 bytes.
const MAX_FILING_NUMBER_BYTES: usize = 64;

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Revocation {
    /// Its id in `revocations`.
    pub revocation_id: i64,
    /// The filing's number.
    pub filing_number: String,
    /// The website revoked, with its suffix; `None` when the whole filing was.
    pub website_number: Option<String>,
    /// Whether the filing as a whole is now revoked (also when its last website was).
    pub whole_filing: bool,
    /// Whether its certificate was revoked.
    pub certificate_revoked: bool,
    /// The certificate re-issued without the revoked website, if one was.
    pub certificate_id: Option<i64>,
}

/// Revokes the approved filing `filing_number`, or only its website `website` (the `-n`
/// suffix), for `reason`, as `reviewer`. `certifier` (an `inner-cert` key) is needed when one
/// website of several is revoked, to re-issue the certificate without it.
pub fn revoke(
    tx: &mut Transaction<'_>,
    filing_number: &str,
    website: Option<i32>,
    reason: &str,
    reviewer: &Reviewer,
    certifier: Option<&dyn keys::Signer>,
    now: i64,
) -> Result<Revocation, ReviewError> {
    let filing = || filing_number.to_owned();
    if filing_number.len() > MAX_FILING_NUMBER_BYTES {
        return Err(ReviewError::UnknownFiling { filing: filing() });
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ReviewError::RevocationReason {
            filing: filing(),
            problem: "give the reason for the revocation (--reason); it is recorded and shown"
                .to_owned(),
        });
    }
    if reason.len() > bundle_format::records::MAX_TEXT_BYTES {
        return Err(ReviewError::RevocationReason {
            filing: filing(),
            problem: format!(
                "the reason is {} bytes long; at most {} bytes",
                reason.len(),
                bundle_format::records::MAX_TEXT_BYTES
            ),
        });
    }
    let row = tx
        .query_opt(
            "SELECT filing_id, province, status FROM filings WHERE filing_number = $1 FOR UPDATE",
            &[&filing_number],
        )
        .map_err(db("reading the filing"))?
        .ok_or_else(|| ReviewError::UnknownFiling { filing: filing() })?;
    let (filing_id, province, status): (i64, i16, String) = (row.get(0), row.get(1), row.get(2));
    // The account as it is now: one disabled since its login revokes nothing.
    let reviewer = crate::reviewers::current(tx, reviewer.account_id())
        .map_err(db("reading the reviewer account"))?
        .ok_or_else(|| ReviewError::NotAllowedOnFiling {
            filing: filing(),
            refused: NotAllowed {
                reviewer: reviewer.describe(),
                problem: "is disabled".to_owned(),
            },
        })?;
    reviewer
        .may_revoke(province)
        .map_err(|refused| ReviewError::NotAllowedOnFiling {
            filing: filing(),
            refused,
        })?;
    if status != "active" {
        return Err(ReviewError::FilingNotActive {
            filing: filing(),
            status,
        });
    }
    let revoked_websites: Vec<i64> = tx
        .query(
            "UPDATE website_records SET status = 'revoked'
             WHERE filing_id = $1 AND status = 'active'
               AND ($2::integer IS NULL OR website_seq = $2)
             RETURNING record_id",
            &[&filing_id, &website],
        )
        .map_err(db("revoking the website records"))?
        .into_iter()
        .map(|row| row.get(0))
        .collect();
    if let Some(seq) = website
        && revoked_websites.is_empty()
    {
        return Err(ReviewError::UnknownWebsite {
            filing: filing(),
            website: filing::number::website_number(filing_number, seq),
        });
    }
    for table in ["website_domains", "website_ips", "website_home_urls"] {
        tx.execute(
            &format!("UPDATE {table} SET active = false WHERE record_id = ANY($1)"),
            &[&revoked_websites],
        )
        .map_err(db("freeing the revoked websites' domains"))?;
    }
    let whole_filing = super::finalise::active_websites(tx, filing_id)? == 0;
    let mut certificate_revoked = false;
    let mut certificate_id = None;
    if whole_filing {
        tx.execute(
            "UPDATE subject_records SET status = 'revoked' WHERE filing_id = $1 AND status = 'active'",
            &[&filing_id],
        )
        .map_err(db("revoking the subject record"))?;
        tx.execute(
            "UPDATE filings SET status = 'revoked' WHERE filing_id = $1",
            &[&filing_id],
        )
        .map_err(db("revoking the filing"))?;
        certificate_revoked = certificates::revoke(tx, filing_id, REVOKED_BY_AUTHORITY, now)?;
    } else {
        let signer = certifier.ok_or_else(|| ReviewError::RevocationReason {
            filing: filing(),
            problem: "revoking one website re-issues the certificate without it: give the \
                      inner-cert key (--cert-key)"
                .to_owned(),
        })?;
        let receipt: String = tx
            .query_one(
                "SELECT coalesce(
                     (SELECT receipt FROM certificates WHERE filing_id = $1 AND status = 'current'),
                     (SELECT origin_receipt FROM filings WHERE filing_id = $1))",
                &[&filing_id],
            )
            .map_err(db("finding the certificate's receipt"))?
            .get(0);
        certificate_id =
            Some(certificates::issue(tx, filing_id, &receipt, signer, now)?.certificate_id);
    }
    let revocation_id: i64 = tx
        .query_one(
            "INSERT INTO revocations (filing_id, filing_number, website_seq, whole_filing, reason,
                                      reviewer, reviewer_account, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING revocation_id",
            &[
                &filing_id,
                &filing_number,
                &website,
                &whole_filing,
                &reason,
                &reviewer.name(),
                &reviewer.account_id(),
                &now,
            ],
        )
        .map_err(db("recording the revocation"))?
        .get(0);
    register::publish(tx, filing_id, now).map_err(ReviewError::Queue)?;
    crate::approved_records::publish(tx, filing_id, now).map_err(ReviewError::Queue)?;
    tracing::info!(target: "sluice::audit", event = "filing.revoked", filing = filing_number,
        website = ?website, whole_filing, reviewer = reviewer.name(), "filing revoked");
    Ok(Revocation {
        revocation_id,
        filing_number: filing(),
        website_number: website.map(|seq| filing::number::website_number(filing_number, seq)),
        whole_filing,
        certificate_revoked,
        certificate_id,
    })
}

/// One revocation recorded for a filing, for its history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedRevocation {
    /// Its id.
    pub revocation_id: i64,
    /// The website's number, when one website was revoked.
    pub website_number: Option<String>,
    /// Whether it ended the whole filing.
    pub whole_filing: bool,
    /// The reason given.
    pub reason: String,
    /// The reviewer account that revoked.
    pub reviewer: String,
    /// When, Unix seconds.
    pub at: i64,
}

/// The revocations recorded for `filing_number`, oldest first.
pub fn history(
    client: &mut impl postgres::GenericClient,
    filing_number: &str,
) -> Result<Vec<RecordedRevocation>, ReviewError> {
    Ok(client
        .query(
            "SELECT revocation_id, website_seq, whole_filing, reason, reviewer, at
             FROM revocations WHERE filing_number = $1 ORDER BY revocation_id",
            &[&filing_number],
        )
        .map_err(db("reading revocations"))?
        .into_iter()
        .map(|row| RecordedRevocation {
            revocation_id: row.get(0),
            website_number: row
                .get::<_, Option<i32>>(1)
                .map(|seq| filing::number::website_number(filing_number, seq)),
            whole_filing: row.get(2),
            reason: row.get(3),
            reviewer: row.get(4),
            at: row.get(5),
        })
        .collect())
}
