//! Certificate download: the signed document the inner side issued, as the file the site owner
//! publishes at `/cert/bazs.cert`.
//!
//! Anyone holding a filing number and its filing password downloads the certificate without an
//! account, as the filing manuals describe (`POST /api/v1/certificates` here, the `/certificate`
//! page in [`super::web`]); both go through [`by_password`]. A wrong password and an unknown
//! number get one answer, and each is counted against the filing number and the client's
//! address: at the accounts' login limits, nothing more is checked until the window has
//! passed. The account that filed the approved receipt also downloads its own certificate by
//! number alone, with its token (`GET /api/v1/certificates/{filing_number}`) or its session (the
//! filings page); anyone else asking by number alone is told there is no such certificate.

use std::net::IpAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bundle_format::records::{self, CertificateRecord};

use super::web::ClientAddress;
use super::{AppError, AppState, Auth};
use crate::api;
use crate::store::{PasswordDownload, Revoked};

/// The one answer for an unknown filing number, a filing without a password and a wrong
/// password.
pub(super) const NO_MATCH: &str =
    "no certificate for this filing number and filing password; check both and try again";

/// The certificate of `filing_number` if `typed` is its filing password, counting a failure
/// against the number and `address`. Refused without looking while either is over its limit.
pub(super) async fn by_password(
    state: &AppState,
    address: IpAddr,
    filing_number: &str,
    typed: &str,
) -> Result<CertificateRecord, AppError> {
    let filing_number = filing_number.trim();
    if let Some(wait) = state
        .throttle
        .filing_password_blocked(filing_number, address)
    {
        return Err(AppError::TooManyFailures {
            retry_after_secs: wait,
        });
    }
    let found = if filing_number.len() > records::MAX_TEXT_BYTES
        || typed.chars().count() > filing::password::MAX_TYPED_CHARS
    {
        PasswordDownload::NoMatch
    } else {
        state
            .store
            .certificate_by_password(filing_number, typed)
            .await?
    };
    match found {
        PasswordDownload::Certificate(certificate) => Ok(certificate),
        // Said only to someone who knows the password.
        PasswordDownload::Revoked(revoked) => Err(gone(filing_number, &revoked)),
        PasswordDownload::NoMatch => {
            state
                .throttle
                .filing_password_failed(filing_number, address);
            Err(AppError::NotFound(NO_MATCH.into()))
        }
    }
}

/// The answer for a revoked certificate: when and why.
fn gone(filing_number: &str, revoked: &Revoked) -> AppError {
    AppError::Gone(format!(
        "the certificate for {filing_number} was revoked at {} ({})",
        keys::time::rfc3339(revoked.at),
        revoked.reason
    ))
}

/// The certificate as the file to publish.
pub(super) fn bazs_cert(certificate: CertificateRecord) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bazs.cert\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Bytes::from(certificate.document),
    )
        .into_response()
}

/// `POST /api/v1/certificates`: the certificate for a filing number and its filing password.
pub(super) async fn download(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    body: Result<Json<api::CertificateDownload>, JsonRejection>,
) -> Result<Response, AppError> {
    let Json(request) = body?;
    let certificate = by_password(
        &state,
        address,
        &request.filing_number,
        &request.filing_password,
    )
    .await?;
    Ok(bazs_cert(certificate))
}

/// `GET /api/v1/certificates/{filing_number}`: the certificate, for the account that filed the
/// receipt it was issued for. Anyone else is told there is none.
pub(super) async fn certificate(
    State(state): State<AppState>,
    auth: Auth,
    Path(filing_number): Path<String>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound(format!("no certificate for {filing_number} here"));
    if filing_number.len() > records::MAX_TEXT_BYTES
        || !state
            .store
            .certificate_filed_by(&filing_number, auth.0.account_id)
            .await?
    {
        return Err(not_found());
    }
    let Some(certificate) = state.store.certificate(&filing_number).await? else {
        if let Some(revoked) = state.store.certificate_revoked(&filing_number).await? {
            return Err(gone(&filing_number, &revoked));
        }
        return Err(not_found());
    };
    Ok(bazs_cert(certificate))
}
