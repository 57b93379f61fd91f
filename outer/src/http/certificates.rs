//! Certificate download by filing number: the signed document the inner side issued, as the
//! file the site owner publishes at `/cert/bazs.cert`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bundle_format::records;

use super::{AppError, AppState};

/// `GET /api/v1/certificates/{filing_number}`.
pub(super) async fn certificate(
    State(state): State<AppState>,
    Path(filing_number): Path<String>,
) -> Result<Response, AppError> {
    if filing_number.len() > records::MAX_TEXT_BYTES {
        return Err(AppError::NotFound("no such certificate".into()));
    }
    let Some(certificate) = state.store.certificate(&filing_number).await? else {
        if let Some(revoked) = state.store.certificate_revoked(&filing_number).await? {
            return Err(AppError::Gone(format!(
                "the certificate for {filing_number} was revoked at {} ({})",
                keys::time::rfc3339(revoked.at),
                revoked.reason
            )));
        }
        return Err(AppError::NotFound(format!(
            "no certificate for {filing_number} yet"
        )));
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bazs.cert\"",
            ),
        ],
        Bytes::from(certificate.document),
    )
        .into_response())
}
