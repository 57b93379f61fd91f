//! The submission endpoints: create, edit (a new version of the same receipt), read back, and
//! the status anyone with the receipt id may see.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use keys::time::rfc3339;

use super::{AppError, AppState, Auth, new_receipt_id, prepare, status_view};
use crate::api::{self, ReceiptResponse};
use crate::convert;
use crate::store::{AccountKind, Inserted, NewSubmission, ReceiptRecord};

/// Most bytes of an `Idempotency-Key` header.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 128;

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_BYTES)
        .ok_or(AppError::BadRequest {
            code: "idempotency_key",
            message: format!(
                "the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} visible ASCII characters"
            ),
        })?;
    Ok(Some(key.to_owned()))
}

/// `POST /api/v1/submissions`: a new receipt, answered 201 only once it is durable.
pub(super) async fn create_submission(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Json<api::SubmissionRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    auth.require(
        &[AccountKind::WebsiteOwner, AccountKind::AccessProvider],
        "submit filings",
    )?;
    let key = idempotency_key(&headers)?;
    let Json(request) = body?;
    let prepared = prepare(&state, &auth.0, &request).await?;
    let request_hash: [u8; 32] =
        Sha256::digest(serde_json::to_vec(&request).unwrap_or_default()).into();
    let mut version = prepared.version;
    version.receipt = new_receipt_id();
    let inserted = state
        .store
        .insert_submission(NewSubmission {
            account_id: auth.0.account_id,
            kind: prepared.kind.to_owned(),
            filing_number: prepared.filing_number,
            subject_key: prepared.subject_key,
            version,
            idempotency: key.map(|k| (k, request_hash)),
        })
        .await?;
    let (receipt, version, outcome) = match inserted {
        Inserted::Created { receipt, version } => (receipt, version, "created"),
        Inserted::Replayed { receipt, version } => (receipt, version, "replayed"),
    };
    state.metrics.submission(prepared.kind, outcome);
    let url = status_url(&receipt);
    let mut response = (
        StatusCode::CREATED,
        Json(ReceiptResponse {
            receipt,
            version,
            status_url: url.clone(),
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if outcome == "replayed" {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

fn checked_receipt(receipt: &str) -> Result<&str, AppError> {
    filing::receipt_id(receipt)
        .map(|_| receipt)
        .map_err(|_| AppError::NotFound(format!("no receipt {receipt:?}")))
}

/// The stored receipt named in a path, or not found (a malformed id too).
async fn stored_receipt(state: &AppState, receipt: &str) -> Result<ReceiptRecord, AppError> {
    let receipt = checked_receipt(receipt)?;
    state
        .store
        .receipt(receipt)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no receipt {receipt}")))
}

/// `PUT /api/v1/submissions/{receipt}`: the next version of the caller's own receipt.
pub(super) async fn edit_submission(
    State(state): State<AppState>,
    auth: Auth,
    Path(receipt): Path<String>,
    body: Result<Json<api::SubmissionRequest>, JsonRejection>,
) -> Result<Json<ReceiptResponse>, AppError> {
    auth.require(
        &[AccountKind::WebsiteOwner, AccountKind::AccessProvider],
        "edit submissions",
    )?;
    let receipt = checked_receipt(&receipt)?.to_owned();
    let Json(request) = body?;
    if let api::SubmissionBody::ProviderCheck { .. } = &request.submission {
        // A check names the exact version it checked; a changed mind is a new check (refused
        // while the first is on its way) or, once the first is decided, nothing.
        return Err(AppError::Validation(vec![api::Problem {
            field: "submission.kind".into(),
            code: "provider_check.not_editable".into(),
            message: format!(
                "a provider's check is not edited; receipt {receipt} stays as it was sent"
            ),
        }]));
    }
    let prepared = prepare(&state, &auth.0, &request).await?;
    let mut version = prepared.version;
    version.receipt = receipt.clone();
    let number = state
        .store
        .add_version(
            auth.0.account_id,
            prepared.kind.to_owned(),
            prepared.subject_key,
            version,
        )
        .await?;
    state.metrics.submission(prepared.kind, "edited");
    Ok(Json(ReceiptResponse {
        status_url: status_url(&receipt),
        receipt,
        version: number,
    }))
}

/// `GET /api/v1/submissions/{receipt}`: the receipt with its versions, for its owner or an
/// operator.
pub(super) async fn get_submission(
    State(state): State<AppState>,
    auth: Auth,
    Path(receipt): Path<String>,
) -> Result<Json<api::SubmissionView>, AppError> {
    let record = stored_receipt(&state, &receipt).await?;
    if record.status.account_id != auth.0.account_id && auth.0.kind != AccountKind::Operator {
        return Err(AppError::Forbidden(format!(
            "receipt {receipt} belongs to another account"
        )));
    }
    let latest = record
        .latest
        .as_ref()
        .map(|version| api::SubmissionRequest {
            on_behalf_of: version
                .access_provider
                .as_ref()
                .filter(|provider| **provider != version.submitter)
                .map(|_| version.submitter.clone()),
            submission: convert::submission_to_api(&version.body),
        });
    Ok(Json(api::SubmissionView {
        receipt: record.status.receipt.clone(),
        kind: record.status.kind.clone(),
        latest_version: record.status.latest_version,
        state: record.status.state.as_str().to_owned(),
        latest,
        versions: record
            .versions
            .iter()
            .map(|v| api::VersionView {
                version: v.version,
                content_hash: hex::encode(v.content_hash),
                submitted_at: rfc3339(v.submitted_at),
                submitter: v.submitter.clone(),
                access_provider: v.access_provider.clone(),
                exported_in_bundle: v.exported_sequence,
                acknowledged: v.acknowledged_at.is_some(),
                payload_stored: v.payload_stored,
            })
            .collect(),
    }))
}

/// `GET /api/v1/submissions/{receipt}/status`: the status anyone with the receipt id may see.
pub(super) async fn submission_status(
    State(state): State<AppState>,
    Path(receipt): Path<String>,
) -> Result<Json<api::StatusView>, AppError> {
    let record = stored_receipt(&state, &receipt).await?;
    Ok(Json(status_view(&record)))
}

fn status_url(receipt: &str) -> String {
    format!("/api/v1/submissions/{receipt}/status")
}
