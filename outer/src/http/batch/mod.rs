//! Batch upload for access providers: one CSV or XLSX file, one new filing (a subject with one
//! website) per row. Every row is validated and stored on its own, so a bad row never blocks a
//! good one; errors name the row as a spreadsheet numbers it (the header is row 1).
//!
//! Reading the file is kept apart from the handlers: `template` holds the columns and the
//! downloadable templates, `file` reads CSV or XLSX into rows (with `xlsx` checking an XLSX
//! upload before calamine sees it), and `row` turns one row into a submission request. This
//! module has the endpoints, which check each request with [`super::check_submission`].

mod error;
mod file;
mod row;
mod scans;
mod template;
mod xlsx;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState, Auth, SUBJECT_ALREADY_FILED, check_submission, new_receipt_id};
use crate::api::{BatchResponse, BatchRowResult, Problem};
use crate::store::{AccountKind, Inserted, NewSubmission, Principal, StoreError};

pub use error::BatchError;
pub use file::read_rows;
pub use row::row_to_request;
pub use scans::{BatchArchive, read_archive};
pub use template::{COLUMNS, XLSX_MEDIA_TYPE, template_csv_bytes, template_xlsx_bytes};
pub use xlsx::{MAX_XLSX_COLUMNS, MAX_XLSX_EXPANDED_BYTES, MAX_XLSX_PARTS, check_xlsx};

use file::header_positions;

/// `GET /api/v1/batches/template.csv`.
pub(super) async fn template_csv() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sluice-batch-template.csv\"",
            ),
        ],
        template_csv_bytes(),
    )
        .into_response()
}

/// `GET /api/v1/batches/template.xlsx`.
pub(super) async fn template_xlsx() -> Result<Response, AppError> {
    let bytes = template_xlsx_bytes().map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, XLSX_MEDIA_TYPE),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sluice-batch-template.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

fn row_number(index: usize) -> usize {
    // index 0 is the first data row; the header is spreadsheet row 1.
    index + 2
}

type RowsToStore = Vec<(usize, NewSubmission)>;

/// Validates every data row on its own; returns one result per row and the rows to store with
/// the index of their result.
fn check_rows(
    rows: &[Vec<String>],
    positions: &[usize],
    principal: &Principal,
    scans: &RowScans,
) -> (Vec<BatchRowResult>, RowsToStore) {
    let mut results: Vec<BatchRowResult> = Vec::with_capacity(rows.len().saturating_sub(1));
    let mut to_store = Vec::new();
    for (index, cells) in rows.iter().skip(1).enumerate() {
        let row = row_number(index);
        let checked = row_to_request(cells, positions, &principal.account)
            .and_then(|request| scans.attach(request, cells))
            .and_then(|request| {
                check_submission(principal, &request, Vec::new(), scans.max_scan_bytes)
            });
        match checked {
            Ok(prepared) => {
                let mut version = prepared.version;
                version.receipt = new_receipt_id();
                to_store.push((
                    results.len(),
                    NewSubmission {
                        account_id: principal.account_id,
                        kind: prepared.kind.to_owned(),
                        filing_number: prepared.filing_number,
                        subject_key: prepared.subject_key,
                        version,
                        idempotency: None,
                    },
                ));
                results.push(BatchRowResult {
                    row,
                    receipt: None,
                    problems: Vec::new(),
                });
            }
            Err(problems) => results.push(BatchRowResult {
                row,
                receipt: None,
                problems,
            }),
        }
    }
    (results, to_store)
}

/// Where a batch's rows find their scans.
struct RowScans {
    /// The `scans` column, if the header has one.
    column: Option<usize>,
    /// The archive's files, if the upload was an archive.
    files: Option<std::collections::BTreeMap<String, Vec<u8>>>,
    /// `limits.max_scan_bytes`.
    max_scan_bytes: usize,
}

impl RowScans {
    /// Adds the scans the row's `scans` cell names to its new filing.
    fn attach(
        &self,
        mut request: crate::api::SubmissionRequest,
        cells: &[String],
    ) -> Result<crate::api::SubmissionRequest, Vec<Problem>> {
        let cell = self
            .column
            .and_then(|column| cells.get(column))
            .map_or("", String::as_str);
        let attachments = scans::row_attachments(cell, self.files.as_ref())?;
        if let crate::api::SubmissionBody::NewFiling { filing } = &mut request.submission {
            filing.attachments = attachments;
        }
        Ok(request)
    }
}

/// `POST /api/v1/batches`: the file itself as the body, or a zip archive
/// (`Content-Type: application/zip`) holding the sheet and the scans its rows name; one result
/// per data row.
pub(super) async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchResponse>, AppError> {
    auth.require(&[AccountKind::AccessProvider], "upload batches")?;
    let bytes = body?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("multipart/") {
        return Err(AppError::BadRequest {
            code: "batch_format",
            message: "send the file itself as the body (text/csv or XLSX), not a multipart form"
                .into(),
        });
    }
    let max_rows = state.limits.max_batch_rows;
    let max_scan_bytes = state.limits.max_scan_bytes;
    let is_archive = content_type.starts_with("application/zip");
    type Read = (
        Vec<Vec<String>>,
        Option<std::collections::BTreeMap<String, Vec<u8>>>,
    );
    let read = tokio::task::spawn_blocking(move || -> Result<Read, BatchError> {
        if is_archive {
            let archive = read_archive(&bytes, max_scan_bytes)?;
            Ok((read_rows(&archive.sheet, max_rows)?, Some(archive.files)))
        } else {
            Ok((read_rows(&bytes, max_rows)?, None))
        }
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let (rows, files) = read.map_err(|e| match e {
        BatchError::TooManyRows { .. } | BatchError::TooLarge(_) => {
            AppError::PayloadTooLarge(e.to_string())
        }
        other => AppError::BadRequest {
            code: "batch_format",
            message: other.to_string(),
        },
    })?;
    let positions = header_positions(&rows[0]).map_err(|e| AppError::BadRequest {
        code: "batch_format",
        message: e.to_string(),
    })?;
    let scans = RowScans {
        column: file::scans_position(&rows[0]).map_err(|e| AppError::BadRequest {
            code: "batch_format",
            message: e.to_string(),
        })?,
        files,
        max_scan_bytes,
    };
    // Validation is CPU work on up to max_batch_rows rows: keep it off the async workers.
    let principal = auth.0.clone();
    let (mut results, to_store) =
        tokio::task::spawn_blocking(move || check_rows(&rows, &positions, &principal, &scans))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
    for result in &results {
        if !result.problems.is_empty() {
            state.metrics.submission("new_filing", "invalid");
            for problem in &result.problems {
                state.metrics.validation_failure(&problem.code);
            }
        }
    }
    let (indexes, submissions): (Vec<usize>, Vec<NewSubmission>) = to_store.into_iter().unzip();
    let stored = state.store.insert_submissions(submissions).await?;
    for (index, outcome) in indexes.into_iter().zip(stored) {
        match outcome {
            Ok(Inserted::Created { receipt, .. } | Inserted::Replayed { receipt, .. }) => {
                state.metrics.submission("new_filing", "created");
                results[index].receipt = Some(receipt);
            }
            Err(error) => {
                let (field, code, message) = match &error {
                    StoreError::SubjectAlreadyFiled { .. } => (
                        "subject_certificate_number",
                        SUBJECT_ALREADY_FILED,
                        error.to_string(),
                    ),
                    StoreError::Database { .. } => {
                        tracing::error!(%error, "storing a batch row failed");
                        (
                            "row",
                            "batch.store_failed",
                            "the row could not be stored; retry it".to_owned(),
                        )
                    }
                    other => ("row", "batch.store_failed", other.to_string()),
                };
                state.metrics.validation_failure(code);
                results[index].problems.push(Problem {
                    field: field.into(),
                    code: code.into(),
                    message,
                });
            }
        }
    }
    let accepted = results.iter().filter(|r| r.receipt.is_some()).count();
    Ok(Json(BatchResponse {
        rows: results.len(),
        accepted,
        rejected: results.len() - accepted,
        results,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_template_round_trips_through_the_reader() {
        let rows = read_rows(&template_csv_bytes(), 10).unwrap();
        assert_eq!(rows.len(), 2);
        let positions = header_positions(&rows[0]).unwrap();
        let request = row_to_request(&rows[1], &positions, "provider_1").unwrap();
        let context = crate::convert::Context {
            access_provider: Some("provider_1".into()),
            max_scan_bytes: filing::scan::DEFAULT_MAX_SCAN_BYTES,
        };
        crate::convert::submission(&request.submission, &context).unwrap();
    }

    #[test]
    fn xlsx_template_reads_back_the_same_rows_as_the_csv_template() {
        let xlsx = read_rows(&template_xlsx_bytes().unwrap(), 10).unwrap();
        let csv = read_rows(&template_csv_bytes(), 10).unwrap();
        assert_eq!(xlsx, csv);
    }

    #[test]
    fn xlsx_that_expands_beyond_the_limit_is_refused_before_it_is_parsed() {
        let xlsx = template_xlsx_bytes().unwrap();
        assert_eq!(check_xlsx(&xlsx, MAX_XLSX_EXPANDED_BYTES), Ok(()));
        let err = check_xlsx(&xlsx, 2 * 1024 * 1024 / 1024).unwrap_err();
        assert!(matches!(err, BatchError::TooLarge(_)), "{err}");
        let mut truncated = xlsx.clone();
        truncated.truncate(xlsx.len() / 2);
        assert!(matches!(
            check_xlsx(&truncated, MAX_XLSX_EXPANDED_BYTES),
            Err(BatchError::Unreadable(_))
        ));
    }

    #[test]
    fn too_many_rows_and_bad_headers_are_refused_whole() {
        let mut file = template_csv_bytes();
        for _ in 0..3 {
            file.extend_from_slice(
                &template_csv_bytes()[template_csv_bytes()
                    .iter()
                    .position(|b| *b == b'\n')
                    .unwrap()
                    + 1..],
            );
        }
        assert_eq!(
            read_rows(&file, 3),
            Err(BatchError::TooManyRows { limit: 3 })
        );
        let rows = read_rows(b"subject_name,colour\nx,y\n", 10).unwrap();
        let err = header_positions(&rows[0]).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
        assert_eq!(read_rows(b"", 10), Err(BatchError::Empty));
        assert!(matches!(
            read_rows(b"\xff\xfe", 10),
            Err(BatchError::Unreadable(_))
        ));
    }
}
