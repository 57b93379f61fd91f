//! The access provider's check done outside (待接入商核验): the provider's decision arrives as
//! a submission of its own (`Submission::ProviderCheck`) naming the receipt, version and content
//! hash it was shown. Three steps of the import:
//! - `record_waits`: a version that enters the provider check gets one `provider_checks` row
//!   per provider its access details name (`filing::provider_check`, the rule both sides use);
//! - `judge`: a check is refused when its receipt is unknown here, another channel's, not
//!   awaiting the check, or no longer at the version checked (the owner changed it since, in an
//!   earlier bundle or in this one), or when its sender is not a provider the version names or
//!   has confirmed it already;
//! - `apply`: a return sends the receipt back to its submitter at once; a confirmation is
//!   recorded, and the receipt moves on to its next stage once every provider named confirmed.
//!
//! A check is an instruction about another receipt, not a case: it gets its version row and an
//! ack entry like any submission, but no `receipts` row and no arrival event. The review events
//! it causes are the checked receipt's, by the provider, and go back out as every review step's.

use postgres::Transaction;
use postgres::types::Type;

use super::copier::Copier;
use super::staging::Staged;
use super::{ApplyError, db, reason};
use crate::store::events::record_transition;
use crate::workflow::{self, Action, Facts, ReturnTo};
use bundle_format::records::ReviewState;

/// Writes who must check each version this bundle stored that enters the provider check.
pub(super) fn record_waits(
    tx: &mut Transaction<'_>,
    staged: &Staged<'_>,
) -> Result<(), ApplyError> {
    // Most bundles hold none (a provider files for its customers itself): no statement then.
    if staged
        .locals
        .iter()
        .all(|local| local.named_providers.is_empty())
    {
        return Ok(());
    }
    let waiting = tx
        .query(
            "SELECT ord, receipt, version FROM stage_versions
             WHERE outcome IN ('applied', 'conflict') AND entry_state = 'awaiting-provider-check'
               AND kind <> 'provider-check'",
            &[],
        )
        .map_err(db("reading versions that wait for the provider check"))?;
    let mut copy = Copier::new(
        tx,
        "recording the providers each version waits for",
        "provider_checks",
        "receipt, version, provider",
        &[Type::TEXT, Type::INT8, Type::TEXT],
    )?;
    for row in waiting {
        let ord: i32 = row.get(0);
        let receipt: &str = row.get(1);
        let version: i64 = row.get(2);
        let local = usize::try_from(ord)
            .ok()
            .and_then(|i| staged.locals.get(i))
            .ok_or_else(|| ApplyError::Encode {
                what: "versions waiting for the provider check",
                message: format!("staged position {ord} is not in the bundle"),
            })?;
        for provider in &local.named_providers {
            copy.row(&[&receipt, &version, provider])?;
        }
    }
    copy.finish().map(|_| ())
}

/// Refuses every provider check of this bundle that may not apply (see the module's
/// documentation), setting its outcome to `rejected` with the reason code.
pub(super) fn judge(tx: &mut Transaction<'_>, channel: i64) -> Result<(), ApplyError> {
    let checks = tx
        .query(
            "SELECT ord, submitter, target_receipt, target_version, target_hash
             FROM stage_versions WHERE outcome = 'applied' AND kind = 'provider-check'
             ORDER BY ord",
            &[],
        )
        .map_err(db("reading provider checks"))?;
    for check in checks {
        let ord: i32 = check.get(0);
        let provider: &str = check.get(1);
        let receipt: &str = check.get(2);
        let version: i64 = check.get(3);
        let hash: &[u8] = check.get(4);
        if let Some(why) = refusal(tx, channel, provider, receipt, version, hash)? {
            tx.execute(
                "UPDATE stage_versions SET outcome = 'rejected', reason = $2 WHERE ord = $1",
                &[&ord, &why],
            )
            .map_err(db("refusing a provider check"))?;
        }
    }
    Ok(())
}

/// Why the check by `provider` of `receipt` at `version` (with content `hash`) may not apply.
fn refusal(
    tx: &mut Transaction<'_>,
    channel: i64,
    provider: &str,
    receipt: &str,
    version: i64,
    hash: &[u8],
) -> Result<Option<&'static str>, ApplyError> {
    let Some(target) = tx
        .query_opt(
            "SELECT r.state, r.version, r.content_hash,
                    (SELECT v.channel FROM submission_versions v
                     WHERE v.receipt = r.receipt
                       AND v.reason IS DISTINCT FROM 'receipt-of-another-channel'
                     ORDER BY v.received_at, v.version LIMIT 1)
             FROM receipts r WHERE r.receipt = $1",
            &[&receipt],
        )
        .map_err(db("reading a checked receipt"))?
    else {
        return Ok(Some(reason::UNKNOWN_RECEIPT));
    };
    let state: &str = target.get(0);
    let current: i64 = target.get(1);
    let current_hash: &[u8] = target.get(2);
    let created_on: Option<i64> = target.get(3);
    if created_on != Some(channel) {
        return Ok(Some(reason::RECEIPT_OF_ANOTHER_CHANNEL));
    }
    if workflow::parse_state(state) != Some(ReviewState::AwaitingProviderCheck) {
        return Ok(Some(reason::NOT_AWAITING_PROVIDER_CHECK));
    }
    let changed_in_this_bundle = tx
        .query_opt(
            "SELECT 1 FROM stage_versions
             WHERE receipt = $1 AND outcome IN ('applied', 'conflict') LIMIT 1",
            &[&receipt],
        )
        .map_err(db("looking for a newer version of a checked receipt"))?
        .is_some();
    if current != version || current_hash != hash || changed_in_this_bundle {
        return Ok(Some(reason::CHECKED_VERSION_OUTDATED));
    }
    let named = named_providers(tx, receipt, version, hash)?;
    match named.iter().find(|(name, _)| name == provider) {
        None => Ok(Some(reason::NOT_NAMED_PROVIDER)),
        Some((_, true)) => Ok(Some(reason::ALREADY_CHECKED)),
        Some((_, false)) => Ok(None),
    }
}

/// The providers `version` of `receipt` waits for, each with whether it confirmed. A version
/// stored before migration 17 has no rows yet: they are made from its stored record.
fn named_providers(
    tx: &mut Transaction<'_>,
    receipt: &str,
    version: i64,
    hash: &[u8],
) -> Result<Vec<(String, bool)>, ApplyError> {
    let read = |tx: &mut Transaction<'_>| {
        tx.query(
            "SELECT provider, confirmed_by IS NOT NULL FROM provider_checks
             WHERE receipt = $1 AND version = $2 ORDER BY provider",
            &[&receipt, &version],
        )
        .map(|rows| {
            rows.iter()
                .map(|row| (row.get::<_, String>(0), row.get::<_, bool>(1)))
                .collect::<Vec<_>>()
        })
        .map_err(db("reading the providers a version waits for"))
    };
    let named = read(tx)?;
    if !named.is_empty() {
        return Ok(named);
    }
    let stored = crate::store::versions::read_version(tx, receipt, version, hash)?;
    for provider in filing::provider_check::named_providers(&stored.body) {
        tx.execute(
            "INSERT INTO provider_checks (receipt, version, provider) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&receipt, &version, &provider],
        )
        .map_err(db("recording the providers a version waits for"))?;
    }
    read(tx)
}

/// The reviewer name a provider's decision is recorded under in review events.
fn actor(provider: &str) -> String {
    format!("provider:{provider}")
}

/// Applies the accepted provider checks in bundle order. Returns the review events written,
/// for the return channel.
pub(super) fn apply(tx: &mut Transaction<'_>, now: i64) -> Result<Vec<i64>, ApplyError> {
    let checks = tx
        .query(
            "SELECT receipt, submitter, target_receipt, target_version, submitter_reason
             FROM stage_versions WHERE outcome = 'applied' AND kind = 'provider-check'
             ORDER BY ord",
            &[],
        )
        .map_err(db("reading accepted provider checks"))?;
    let mut events = Vec::new();
    for check in checks {
        let check_receipt: &str = check.get(0);
        let provider: &str = check.get(1);
        let receipt: &str = check.get(2);
        let version: i64 = check.get(3);
        let returned: Option<&str> = check.get(4);
        let Some(target) = tx
            .query_opt(
                "SELECT state, version, needs_pre_approval FROM receipts
                 WHERE receipt = $1 FOR UPDATE",
                &[&receipt],
            )
            .map_err(db("locking a checked receipt"))?
        else {
            continue;
        };
        // An earlier check in this bundle may have returned it already.
        let state = workflow::parse_state(target.get(0));
        if state != Some(ReviewState::AwaitingProviderCheck) || target.get::<_, i64>(1) != version {
            continue;
        }
        let facts = Facts {
            needs_provider_check: false,
            needs_pre_approval: target.get(2),
            is_cancellation: false,
        };
        let action = if returned.is_some() {
            Action::Return(ReturnTo::Submitter)
        } else {
            tx.execute(
                "UPDATE provider_checks SET confirmed_by = $4, confirmed_at = $5
                 WHERE receipt = $1 AND version = $2 AND provider = $3 AND confirmed_by IS NULL",
                &[&receipt, &version, &provider, &check_receipt, &now],
            )
            .map_err(db("recording a provider's confirmation"))?;
            let waiting: i64 = tx
                .query_one(
                    "SELECT count(*) FROM provider_checks
                     WHERE receipt = $1 AND version = $2 AND confirmed_by IS NULL",
                    &[&receipt, &version],
                )
                .map_err(db("counting the providers still to confirm"))?
                .get(0);
            if waiting > 0 {
                continue;
            }
            Action::Approve
        };
        let from = ReviewState::AwaitingProviderCheck;
        let Ok(to) = workflow::transition(Some(from), action, facts) else {
            continue;
        };
        events.push(record_transition(
            tx,
            receipt,
            from,
            to,
            &actor(provider),
            None,
            returned,
            None,
            now,
        )?);
    }
    Ok(events)
}
