//! Batch upload for access providers: one CSV or XLSX file, one new filing (a subject with one
//! website) per row. Every row is validated and stored on its own, so a bad row never blocks a
//! good one; errors name the row as a spreadsheet numbers it (the header is row 1).

use std::io::Cursor;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::api::{self, BatchResponse, BatchRowResult, Problem};
use crate::convert::parse_name;
use crate::server::{AppError, AppState, Auth, check_submission, new_receipt_id};
use crate::store::{AccountKind, Inserted, NewSubmission, Principal, StoreError};

/// The columns of a batch file, with a note for the template.
pub const COLUMNS: [(&str, &str); 22] = [
    (
        "on_behalf_of",
        "customer account or subject the row is filed for (optional)",
    ),
    ("subject_name", "full registered name of the organiser"),
    (
        "subject_nature",
        "enterprise | government | public_institution | social_group | individual | military",
    ),
    (
        "subject_certificate_type",
        "unified_social_credit_code | resident_id | …",
    ),
    ("subject_certificate_number", "number of that certificate"),
    ("subject_region_code", "six-digit GB/T 2260 code"),
    ("subject_address", "street and number, or village"),
    ("subject_investor", "investor or supervising body"),
    (
        "principal_name",
        "responsible person's real name (subject and website)",
    ),
    (
        "principal_certificate_type",
        "resident_id | passport | hong_kong_macao_permit | taiwan_permit",
    ),
    ("principal_certificate_number", "identity document number"),
    ("principal_mobile_phones", "mobile numbers separated by ;"),
    (
        "principal_office_phones",
        "office numbers with area code separated by ;",
    ),
    ("principal_email", "e-mail address"),
    ("website_name", "the website's name (not a domain)"),
    ("website_domains", "every domain served, separated by ;"),
    ("website_home_urls", "home URLs separated by ;"),
    (
        "website_service_types",
        "showcase | portal | news | forum | blog | ecommerce | … separated by ;",
    ),
    (
        "website_pre_approvals",
        "item:document number pairs separated by ;, e.g. news:国新网2026001",
    ),
    (
        "access_method",
        "dedicated | colocation | virtual_host | cloud | other",
    ),
    (
        "server_region_code",
        "six-digit code where the servers stand",
    ),
    (
        "ip_ranges",
        "addresses, CIDR blocks or first-last ranges separated by ;",
    ),
];

const EXAMPLE_ROW: [&str; 22] = [
    "",
    "杭州示例网络科技有限公司",
    "enterprise",
    "unified_social_credit_code",
    "91330100799655058B",
    "330106",
    "浙江省杭州市西湖区文三路90号",
    "杭州示例网络科技有限公司",
    "张三丰",
    "resident_id",
    "11010519491231002X",
    "13905711234",
    "0571-88216688",
    "zhangsanfeng@example.cn",
    "示例科技官网",
    "example.cn;www.example.cn",
    "https://www.example.cn/",
    "showcase",
    "",
    "cloud",
    "330106",
    "202.96.128.86",
];

/// Media type of XLSX files.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The batch template as CSV.
pub fn template_csv_bytes() -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    let written = writer
        .write_record(&header)
        .and_then(|()| writer.write_record(EXAMPLE_ROW));
    if written.is_err() {
        return Vec::new();
    }
    writer.into_inner().unwrap_or_default()
}

/// The batch template as XLSX: the header row, one example row, and a notes sheet.
pub fn template_xlsx_bytes() -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("filings")?;
    for (col, ((name, _), example)) in COLUMNS.iter().zip(EXAMPLE_ROW).enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet.write_string_with_format(0, col, *name, &bold)?;
        sheet.write_string(1, col, example)?;
        sheet.set_column_width(col, 24)?;
    }
    let notes = workbook.add_worksheet();
    notes.set_name("notes")?;
    notes.write_string_with_format(0, 0, "column", &bold)?;
    notes.write_string_with_format(0, 1, "what to enter", &bold)?;
    for (row, (name, help)) in COLUMNS.iter().enumerate() {
        let row = u32::try_from(row + 1).unwrap_or(u32::MAX);
        notes.write_string(row, 0, *name)?;
        notes.write_string(row, 1, *help)?;
    }
    workbook.save_to_buffer()
}

pub(crate) async fn template_csv() -> Response {
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

pub(crate) async fn template_xlsx() -> Result<Response, AppError> {
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

/// What is wrong with a batch file as a whole.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchError {
    /// Not CSV or XLSX.
    #[error("the file is neither CSV (UTF-8) nor XLSX: {0}")]
    Unreadable(String),
    /// No header row.
    #[error("the file is empty; start from the template")]
    Empty,
    /// Header problems.
    #[error("the header row is wrong: {0}")]
    Header(String),
    /// The file expands beyond its limits.
    #[error("{0}")]
    TooLarge(String),
    /// Too many rows.
    #[error(
        "the file has more than {limit} data rows; split it into files of at most {limit} rows"
    )]
    TooManyRows {
        /// The limit.
        limit: usize,
    },
}

/// Most bytes an uploaded XLSX file may expand to, all its parts together.
pub const MAX_XLSX_EXPANDED_BYTES: u64 = 64 * 1024 * 1024;
/// Most parts (zip entries) in an uploaded XLSX file.
pub const MAX_XLSX_PARTS: usize = 1000;

/// The checks made on an uploaded XLSX file before calamine reads it, in one pass over its
/// parts (each decompressed once, into memory bounded by what is left of `max_expanded`):
///
/// - a file that expands beyond `max_expanded` bytes is refused. The sizes the archive declares
///   are not trusted: the bytes are counted as they come out;
/// - a shared-string cell whose index is past the end of the shared-string table is refused
///   with the cell named. calamine 0.26 indexes the table with the cell's value unchecked and
///   panics on such a file (found by the `batch` fuzz target; the input is kept as
///   `fuzz/regressions/batch/xlsx_shared_string_index_out_of_range.xlsx`). Every XML part is
///   scanned, not only the sheets the workbook names, since a crafted workbook can point a
///   sheet anywhere.
pub fn check_xlsx(bytes: &[u8], max_expanded: u64) -> Result<(), BatchError> {
    let unreadable = |e: &dyn std::fmt::Display| BatchError::Unreadable(format!("XLSX: {e}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if archive.len() > MAX_XLSX_PARTS {
        return Err(BatchError::TooLarge(format!(
            "the XLSX file has {} parts; at most {MAX_XLSX_PARTS}",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    let mut part = Vec::new();
    // Reads one part into `part`, counting it against the limit.
    let mut read_part = |entry: zip::read::ZipFile<'_>, part: &mut Vec<u8>| {
        let room = max_expanded - total;
        part.clear();
        let expanded = std::io::Read::read_to_end(&mut std::io::Read::take(entry, room + 1), part)
            .map_err(|e| unreadable(&e))? as u64;
        if expanded > room {
            return Err(BatchError::TooLarge(format!(
                "the XLSX file expands to more than {max_expanded} bytes; split it"
            )));
        }
        total += expanded;
        Ok(())
    };
    // The shared-string table first, so that each sheet is judged as it is read.
    const SHARED_STRINGS: &str = "xl/sharedStrings.xml";
    let strings = match archive.by_name(SHARED_STRINGS) {
        Ok(entry) => {
            read_part(entry, &mut part)?;
            count_shared_strings(&part[..]).map_err(|e| unreadable(&e))?
        }
        Err(zip::result::ZipError::FileNotFound) => 0,
        Err(e) => return Err(unreadable(&e)),
    };
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| unreadable(&e))?;
        let name = entry.name().to_owned();
        if name == SHARED_STRINGS {
            continue;
        }
        read_part(entry, &mut part)?;
        if name.ends_with(".xml")
            && let Some((cell, index)) =
                first_shared_string_past(&part[..], strings).map_err(|e| unreadable(&e))?
        {
            return Err(BatchError::Unreadable(format!(
                "XLSX: cell {cell} in {name} refers to shared string {index}, but the file has \
                 {strings}"
            )));
        }
    }
    Ok(())
}

/// The number of `si` entries in a shared-string table part.
fn count_shared_strings(part: impl std::io::BufRead) -> Result<usize, quick_xml::Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(part);
    let mut buf = Vec::new();
    let mut count = 0;
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"si" => count += 1,
            Event::Eof => return Ok(count),
            _ => {}
        }
        buf.clear();
    }
}

/// The first cell of type `s` whose value is an index `>= strings`: its reference (or `?`)
/// and the index.
fn first_shared_string_past(
    part: impl std::io::BufRead,
    strings: usize,
) -> Result<Option<(String, usize)>, quick_xml::Error> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(part);
    let mut buf = Vec::new();
    // The reference of the shared-string cell being read, and whether its `v` is open.
    let mut cell: Option<String> = None;
    let mut in_value = false;
    loop {
        match reader.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == b"c" => {
                let mut shared = false;
                let mut reference = String::from("?");
                for attribute in e.attributes().flatten() {
                    match attribute.key.local_name().as_ref() {
                        b"t" => shared = attribute.value.as_ref() == b"s",
                        b"r" => reference = String::from_utf8_lossy(&attribute.value).into_owned(),
                        _ => {}
                    }
                }
                cell = shared.then_some(reference);
            }
            Event::Start(e) if e.local_name().as_ref() == b"v" => in_value = cell.is_some(),
            Event::Text(text) if in_value => {
                let index = std::str::from_utf8(&text)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok());
                if let (Some(index), Some(reference)) = (index, &cell)
                    && index >= strings
                {
                    return Ok(Some((reference.clone(), index)));
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"v" => in_value = false,
            Event::End(e) if e.local_name().as_ref() == b"c" => cell = None,
            Event::Eof => return Ok(None),
            _ => {}
        }
        buf.clear();
    }
}

/// Most columns a batch sheet may use: the template's columns and a few spare. A non-empty cell
/// further right is refused before any sheet is built in memory.
#[allow(clippy::cast_possible_truncation)] // 22 columns fit any integer type
pub const MAX_XLSX_COLUMNS: u32 = COLUMNS.len() as u32 + 8;

/// Reads the first sheet of an XLSX batch cell by cell. calamine's `worksheet_range` sets aside
/// memory for the sheet's whole declared area at once, so one cell at XFD1048576 in a 7 KB file
/// asks for 512 GiB; reading cells one at a time and refusing any non-empty cell outside
/// `MAX_XLSX_COLUMNS` columns or `max_rows` + 1 rows bounds memory by what the file really holds.
fn read_xlsx_rows(bytes: &[u8], max_rows: usize) -> Result<Vec<Vec<String>>, BatchError> {
    use calamine::Reader as _;
    let unreadable = |e: calamine::XlsxError| BatchError::Unreadable(e.to_string());
    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(unreadable)?;
    let sheet = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(BatchError::Empty)?;
    let mut reader = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(unreadable)?;
    let max_row = u32::try_from(max_rows)
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let mut cells: Vec<((u32, u32), String)> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let text = calamine::Data::from(cell.get_value().clone()).to_string();
        if text.trim().is_empty() {
            continue;
        }
        let (row, column) = cell.get_position();
        if column >= MAX_XLSX_COLUMNS {
            return Err(BatchError::Unreadable(format!(
                "XLSX: a value in column {} of row {}; the batch template has {} columns",
                column + 1,
                row + 1,
                COLUMNS.len()
            )));
        }
        if row > max_row || cells.len() > (max_rows + 1) * MAX_XLSX_COLUMNS as usize {
            return Err(BatchError::TooManyRows { limit: max_rows });
        }
        cells.push(((row, column), text));
    }
    // Like a calamine range, the sheet starts at its first used row and column.
    let first_row = cells.iter().map(|((row, _), _)| *row).min().unwrap_or(0);
    let first_column = cells.iter().map(|((_, col), _)| *col).min().unwrap_or(0);
    let last_row = cells.iter().map(|((row, _), _)| *row).max().unwrap_or(0);
    let width = cells
        .iter()
        .map(|((_, col), _)| col - first_column + 1)
        .max()
        .unwrap_or(0);
    let height = if cells.is_empty() {
        0
    } else {
        last_row - first_row + 1
    };
    let mut rows = vec![vec![String::new(); width as usize]; height as usize];
    for ((row, column), text) in cells {
        rows[(row - first_row) as usize][(column - first_column) as usize] = text;
    }
    Ok(rows)
}

/// Reads the rows of a batch file (header first), at most `max_rows` data rows.
pub fn read_rows(bytes: &[u8], max_rows: usize) -> Result<Vec<Vec<String>>, BatchError> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    if bytes.starts_with(b"PK\x03\x04") {
        check_xlsx(bytes, MAX_XLSX_EXPANDED_BYTES)?;
        rows = read_xlsx_rows(bytes, max_rows)?;
    } else {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            BatchError::Unreadable(format!("not UTF-8 at byte {}", e.valid_up_to()))
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for record in reader.records() {
            if rows.len() > max_rows {
                return Err(BatchError::TooManyRows { limit: max_rows });
            }
            let record = record.map_err(|e| BatchError::Unreadable(e.to_string()))?;
            rows.push(record.iter().map(str::to_owned).collect());
        }
    }
    // Trailing blank rows (spreadsheets keep them) are not data.
    while rows
        .last()
        .is_some_and(|row| row.iter().all(|cell| cell.trim().is_empty()))
    {
        rows.pop();
    }
    if rows.is_empty() {
        return Err(BatchError::Empty);
    }
    if rows.len() - 1 > max_rows {
        return Err(BatchError::TooManyRows { limit: max_rows });
    }
    Ok(rows)
}

/// Maps header names to column positions; every column of [`COLUMNS`] must be present once.
fn header_positions(header: &[String]) -> Result<Vec<usize>, BatchError> {
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    for name in &names {
        if !name.is_empty() && !COLUMNS.iter().any(|(c, _)| c == name) {
            return Err(BatchError::Header(format!("unknown column {name:?}")));
        }
    }
    let mut positions = Vec::new();
    let mut missing = Vec::new();
    for (column, _) in COLUMNS {
        let found: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| *n == column)
            .map(|(i, _)| i)
            .collect();
        match found.as_slice() {
            [one] => positions.push(*one),
            [] => missing.push(column),
            _ => {
                return Err(BatchError::Header(format!(
                    "column {column:?} appears twice"
                )));
            }
        }
    }
    if !missing.is_empty() {
        return Err(BatchError::Header(format!(
            "missing columns {}",
            missing.join(", ")
        )));
    }
    Ok(positions)
}

fn list(cell: &str) -> Vec<String> {
    cell.split([';', '；', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Turns one data row into a submission request, or the problems of its cells.
pub fn row_to_request(
    cells: &[String],
    positions: &[usize],
    provider: &str,
) -> Result<api::SubmissionRequest, Vec<Problem>> {
    let cell = |column: &str| -> String {
        COLUMNS
            .iter()
            .position(|(c, _)| *c == column)
            .and_then(|i| positions.get(i))
            .and_then(|p| cells.get(*p))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let nature: Option<api::SubjectNature> =
        enum_cell(&mut problems, "subject_nature", &cell("subject_nature"));
    let subject_certificate: Option<api::CertificateType> = enum_cell(
        &mut problems,
        "subject_certificate_type",
        &cell("subject_certificate_type"),
    );
    let principal_certificate: Option<api::CertificateType> = enum_cell(
        &mut problems,
        "principal_certificate_type",
        &cell("principal_certificate_type"),
    );
    let method: Option<api::AccessMethod> =
        enum_cell(&mut problems, "access_method", &cell("access_method"));
    let mut service_types = Vec::new();
    for name in list(&cell("website_service_types")) {
        match parse_name::<api::ServiceType>(&name) {
            Some(service) => service_types.push(service),
            None => problems.push(Problem {
                field: "website_service_types".into(),
                code: "batch.unknown_value".into(),
                message: format!("{name:?} is not a service type"),
            }),
        }
    }
    let mut pre_approvals = Vec::new();
    for entry in list(&cell("website_pre_approvals")) {
        let parsed = entry.split_once([':', '：']).and_then(|(item, number)| {
            Some((parse_name::<api::PreApprovalItem>(item)?, number.trim()))
        });
        match parsed {
            Some((item, number)) => pre_approvals.push(api::PreApprovalBody {
                item,
                document_number: number.to_owned(),
            }),
            None => problems.push(Problem {
                field: "website_pre_approvals".into(),
                code: "batch.unknown_value".into(),
                message: format!("{entry:?} is not item:document-number"),
            }),
        }
    }
    let (Some(nature), Some(subject_certificate), Some(principal_certificate), Some(method)) =
        (nature, subject_certificate, principal_certificate, method)
    else {
        return Err(problems);
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let principal = api::PersonBody {
        name: cell("principal_name"),
        certificate_type: principal_certificate,
        certificate_number: cell("principal_certificate_number"),
        mobile_phones: list(&cell("principal_mobile_phones")),
        office_phones: list(&cell("principal_office_phones")),
        email: cell("principal_email"),
    };
    let on_behalf_of = Some(cell("on_behalf_of")).filter(|s| !s.is_empty());
    Ok(api::SubmissionRequest {
        on_behalf_of,
        submission: api::SubmissionBody::NewFiling {
            filing: api::FilingBody {
                subject: api::SubjectBody {
                    name: cell("subject_name"),
                    nature,
                    certificate_type: subject_certificate,
                    certificate_number: cell("subject_certificate_number"),
                    region_code: cell("subject_region_code"),
                    address: cell("subject_address"),
                    investor: cell("subject_investor"),
                    principal: principal.clone(),
                },
                websites: vec![api::WebsiteBody {
                    name: cell("website_name"),
                    home_urls: list(&cell("website_home_urls")),
                    domains: list(&cell("website_domains")),
                    service_types,
                    pre_approvals,
                    access: api::AccessBody {
                        provider: provider.to_owned(),
                        method,
                        server_region_code: cell("server_region_code"),
                        ip_ranges: list(&cell("ip_ranges")),
                    },
                    principal,
                }],
                attachments: Vec::new(),
            },
        },
    })
}

fn enum_cell<T: serde::de::DeserializeOwned>(
    problems: &mut Vec<Problem>,
    column: &str,
    value: &str,
) -> Option<T> {
    let parsed = parse_name(value);
    if parsed.is_none() {
        problems.push(Problem {
            field: column.to_owned(),
            code: "batch.unknown_value".into(),
            message: format!("{value:?} is not a known value; see the template's notes"),
        });
    }
    parsed
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
) -> (Vec<BatchRowResult>, RowsToStore) {
    let mut results: Vec<BatchRowResult> = Vec::with_capacity(rows.len().saturating_sub(1));
    let mut to_store = Vec::new();
    for (index, cells) in rows.iter().skip(1).enumerate() {
        let row = row_number(index);
        let checked = row_to_request(cells, positions, &principal.account)
            .and_then(|request| check_submission(principal, &request, Vec::new()));
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

pub(crate) async fn upload(
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
    let rows = tokio::task::spawn_blocking(move || read_rows(&bytes, max_rows))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| match e {
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
    // Validation is CPU work on up to max_batch_rows rows: keep it off the async workers.
    let principal = auth.0.clone();
    let (mut results, to_store) =
        tokio::task::spawn_blocking(move || check_rows(&rows, &positions, &principal))
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
                        crate::server::SUBJECT_ALREADY_FILED,
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
