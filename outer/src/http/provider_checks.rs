//! `GET /api/v1/provider-checks`: what awaits the calling access provider's check
//! (待接入商核验) in this store. The check itself is sent as a submission of kind
//! `provider_check` through `POST /api/v1/submissions`, whose acceptance (`accept`) makes the
//! checks against the stored version.

use axum::Json;
use axum::extract::State;

use keys::time::rfc3339;

use super::{AppError, AppState, Auth};
use crate::api;
use crate::convert;
use crate::store::{AccountKind, AwaitingCheck, MAX_LISTED_CHECKS};

/// A version awaiting a check as the API shows it.
pub(crate) fn awaiting_view(check: &AwaitingCheck) -> api::AwaitingProviderCheckView {
    let version = &check.version;
    api::AwaitingProviderCheckView {
        receipt: version.receipt.clone(),
        version: version.version,
        content_hash: hex::encode(version.content_hash),
        submitted_at: rfc3339(version.submitted_at),
        submitter: version.submitter.clone(),
        submission: convert::submission_to_api(&version.body),
        check_sent: check.sent.clone(),
    }
}

/// `GET /api/v1/provider-checks`: the versions awaiting the caller's check, for an
/// access-provider token.
pub(super) async fn awaiting_checks(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<api::ProviderChecksView>, AppError> {
    auth.require(
        &[AccountKind::AccessProvider],
        "list provider checks (only access providers check filings)",
    )?;
    let checks = state
        .store
        .provider_checks_awaiting(&auth.0.account)
        .await?;
    Ok(Json(api::ProviderChecksView {
        checks: checks.iter().map(awaiting_view).collect(),
        limit: u32::try_from(MAX_LISTED_CHECKS).unwrap_or(u32::MAX),
    }))
}
