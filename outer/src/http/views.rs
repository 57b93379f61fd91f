//! Stored records in the API's shapes, where more than one handler shows them: a receipt's
//! status (the JSON status endpoint and the status page) and times as RFC 3339.

use crate::api;
use crate::store::ReceiptRecord;
use keys::time::rfc3339;

/// The status of a receipt in API form.
pub fn status_view(record: &ReceiptRecord) -> api::StatusView {
    let status = &record.status;
    api::StatusView {
        receipt: status.receipt.clone(),
        kind: status.kind.clone(),
        state: status.state.as_str().to_owned(),
        version: status.state_version,
        latest_version: status.latest_version,
        reason: status.reason.clone(),
        filing_number: status.filing_number.clone(),
        bundle_sequence: status.bundle_sequence,
        in_transit_since: status.in_transit_since.map(rfc3339),
        certificate_ready: status.certificate_ready,
        certificate_revoked: status.certificate_revoked,
        filing_revoked: status.filing_revoked,
        history: record
            .history
            .iter()
            .map(|h| api::HistoryView {
                version: h.version,
                state: h.state.as_str().to_owned(),
                at: rfc3339(h.at),
                reason: h.reason.clone(),
                filing_number: h.filing_number.clone(),
                bundle_sequence: h.bundle_sequence,
            })
            .collect(),
    }
}
