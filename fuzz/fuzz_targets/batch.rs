//! The outer service's batch upload path, minus storage: `batch::read_rows` on an arbitrary
//! file (XLSX when it starts with a zip signature, CSV otherwise), the header row mapped to
//! column positions, and every data row through `batch::row_to_request` and the service's
//! validation (`server::check_submission`) as an access provider.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outer::http::batch::{COLUMNS, read_rows, row_to_request};
use outer::http::check_submission;
use outer::store::{AccountKind, Principal};

/// Fewer rows than the service's default of 5000, so that one input stays fast; the limit
/// check itself is the same code for any value.
const MAX_ROWS: usize = 200;

/// Column positions as the service computes them (its `header_positions` is private): every
/// known column exactly once, unknown names refused.
fn positions(header: &[String]) -> Option<Vec<usize>> {
    let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if names
        .iter()
        .any(|n| !n.is_empty() && !COLUMNS.iter().any(|(c, _)| c == n))
    {
        return None;
    }
    COLUMNS
        .iter()
        .map(|(column, _)| {
            let mut found = names.iter().enumerate().filter(|(_, n)| n == column);
            match (found.next(), found.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        })
        .collect()
}

fuzz_target!(|file: &[u8]| {
    let Ok(rows) = read_rows(file, MAX_ROWS) else {
        return;
    };
    assert!(!rows.is_empty() && rows.len() <= MAX_ROWS + 1);
    let Some(positions) = positions(&rows[0]) else {
        return;
    };
    let principal = Principal {
        account_id: 1,
        account: "east_isp".to_owned(),
        kind: AccountKind::AccessProvider,
        token_id: 1,
    };
    for cells in &rows[1..] {
        if let Ok(request) = row_to_request(cells, &positions, &principal.account) {
            let _ = check_submission(
                &principal,
                &request,
                Vec::new(),
                outer::config::Limits::default().max_scan_bytes,
            );
        }
    }
});
