//! Reading an uploaded batch file into rows of cells, CSV (UTF-8) or XLSX told apart by the zip
//! signature, with the row limit applied as it reads; and mapping the header row to columns.

use super::error::BatchError;
use super::template::COLUMNS;
use super::xlsx::{MAX_XLSX_EXPANDED_BYTES, check_xlsx, read_xlsx_rows};

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

/// The optional column naming a row's scans in a batch archive (see `scans`).
pub(super) const SCANS_COLUMN: &str = "scans";

/// The position of the optional [`SCANS_COLUMN`], if the header has it (once).
pub(super) fn scans_position(header: &[String]) -> Result<Option<usize>, BatchError> {
    let found: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| h.trim().eq_ignore_ascii_case(SCANS_COLUMN))
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(BatchError::Header(format!(
            "column {SCANS_COLUMN:?} appears twice"
        ))),
    }
}

/// Maps header names to column positions; every column of [`COLUMNS`] must be present once.
pub(super) fn header_positions(header: &[String]) -> Result<Vec<usize>, BatchError> {
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    for name in &names {
        if !name.is_empty() && name != SCANS_COLUMN && !COLUMNS.iter().any(|(c, _)| c == name) {
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
