//! An approved filing's record as the inner side sent it back
//! (`GET /api/v1/filings/{filing_number}/record`): for the account that filed it, which may
//! start a change from it, and for the access provider recorded for one of its websites, which
//! reads it only. Anyone else, and any number this store holds no record of, gets one answer:
//! not found.

use axum::Json;
use axum::extract::{Path, State};

use super::{AppError, AppState, Auth};
use crate::api;
use crate::convert;
use crate::store::AccountKind;

/// `GET /api/v1/filings/{filing_number}/record`.
pub(super) async fn approved_record(
    State(state): State<AppState>,
    auth: Auth,
    Path(filing_number): Path<String>,
) -> Result<Json<api::ApprovedRecordView>, AppError> {
    auth.require(
        &[AccountKind::WebsiteOwner, AccountKind::AccessProvider],
        "read approved records",
    )?;
    let not_found = || {
        AppError::NotFound(format!(
            "no approved record of {filing_number} for this account"
        ))
    };
    if filing_number.len() > bundle_format::records::MAX_TEXT_BYTES {
        return Err(not_found());
    }
    let view = state
        .store
        .approved_record_for(&filing_number, auth.0.account_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(convert::approved_record_to_api(&view)))
}
