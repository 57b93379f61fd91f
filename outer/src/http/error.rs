//! The one place errors become responses: every handler answers with [`AppError`], whose
//! [`IntoResponse`] keeps a client error's status and precise message, and logs a server error
//! in detail while answering it generically.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::{ErrorBody, Problem};
use crate::store::StoreError;

/// Problem code of a new filing for a subject that another live receipt of the same account
/// already files.
pub const SUBJECT_ALREADY_FILED: &str = "subject.already_filed";

/// Every error a handler can answer with; the only place errors become responses.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// No valid token.
    #[error("a valid API token is required: send `Authorization: Bearer <token>`")]
    Unauthorized,
    /// The token's kind may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing by that id.
    #[error("{0}")]
    NotFound(String),
    /// It existed and was withdrawn for good (a revoked certificate).
    #[error("{0}")]
    Gone(String),
    /// The submission breaks rules; every problem is listed.
    #[error("the submission has {} problem(s)", .0.len())]
    Validation(Vec<Problem>),
    /// The request itself is malformed.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The request conflicts with the stored state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The body is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The token made too many requests.
    #[error("too many requests for this token; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the token's rate allows its next request (sent as `Retry-After`).
        retry_after_secs: u64,
    },
    /// Too many wrong filing passwords for one filing number or from one address: nothing is
    /// checked until the window has passed.
    #[error(
        "too many wrong filing passwords for this filing number or from this address; retry in {retry_after_secs} s"
    )]
    TooManyFailures {
        /// Seconds until the window has passed (sent as `Retry-After`).
        retry_after_secs: u64,
    },
    /// The service is overloaded.
    #[error("the service is busy; retry shortly")]
    Busy,
    /// Something failed on our side; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        match error {
            StoreError::NoSuchReceipt(receipt) => {
                AppError::NotFound(format!("no receipt {receipt}"))
            }
            StoreError::NotOwner(receipt) => {
                AppError::Forbidden(format!("receipt {receipt} belongs to another account"))
            }
            error @ StoreError::Final { .. } => AppError::Conflict {
                code: "receipt_final",
                message: error.to_string(),
            },
            error @ StoreError::KindChanged { .. } => AppError::Conflict {
                code: "kind_changed",
                message: error.to_string(),
            },
            error @ StoreError::IdempotencyKeyReused(_) => AppError::Conflict {
                code: "idempotency_key_reused",
                message: error.to_string(),
            },
            error @ StoreError::SubjectAlreadyFiled { .. } => AppError::Validation(vec![Problem {
                field: "submission.filing.subject.certificate_number".into(),
                code: SUBJECT_ALREADY_FILED.into(),
                message: error.to_string(),
            }]),
            StoreError::Busy | StoreError::Closed => AppError::Busy,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge("the request body is larger than the limit".into())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::BadRequest {
                code: "content_type",
                message: "send the body as application/json".into(),
            },
            _ => AppError::BadRequest {
                code: "malformed_json",
                message: rejection.body_text(),
            },
        }
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> AppError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge("the uploaded file is larger than the limit".into())
        } else {
            AppError::BadRequest {
                code: "unreadable_body",
                message: rejection.body_text(),
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Gone(_) => (StatusCode::GONE, "gone"),
            AppError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            AppError::BadRequest { code, .. } => (StatusCode::BAD_REQUEST, *code),
            AppError::Conflict { code, .. } => (StatusCode::CONFLICT, *code),
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            AppError::TooManyFailures { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_failures")
            }
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::Internal(detail) => {
                tracing::error!(%detail, "request failed");
                let body = ErrorBody {
                    error: "internal".into(),
                    message: "something went wrong on our side; it has been logged".into(),
                    problems: Vec::new(),
                };
                return (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
            }
        };
        let problems = match &self {
            AppError::Validation(problems) => problems.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody {
            error: code.to_owned(),
            message: self.to_string(),
            problems,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let AppError::RateLimited { retry_after_secs }
        | AppError::TooManyFailures { retry_after_secs } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        } else if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
