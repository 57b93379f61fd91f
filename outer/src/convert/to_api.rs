//! Outbound: a stored (wire) record shown in API form, lossless, so that converting the result
//! back yields the same record.

use base64::Engine as _;
use bundle_format::records as rec;

use super::{
    access_method_api, attachment_kind_api, cancellation_scope_api, certificate_type_api,
    pre_approval_item_api, service_type_api, subject_nature_api,
};
use crate::api;

/// Shows a stored submission in API form. Converting the result back with [`submission`](super::submission)
/// yields an equal record: every stored value is already normalised.
pub fn submission_to_api(body: &rec::Submission) -> api::SubmissionBody {
    match body {
        rec::Submission::NewFiling(filing) => api::SubmissionBody::NewFiling {
            filing: api::FilingBody {
                subject: subject_to_api(&filing.subject),
                websites: filing.websites.iter().map(website_to_api).collect(),
                attachments: attachments_to_api(body),
            },
        },
        rec::Submission::NewFilingWithScans { filing, .. } => api::SubmissionBody::NewFiling {
            filing: api::FilingBody {
                subject: subject_to_api(&filing.subject),
                websites: filing.websites.iter().map(website_to_api).collect(),
                attachments: attachments_to_api(body),
            },
        },
        rec::Submission::Change {
            filing_number,
            change,
        }
        | rec::Submission::ChangeWithScans {
            filing_number,
            change,
            ..
        } => api::SubmissionBody::Change {
            filing_number: filing_number.clone(),
            attachments: attachments_to_api(body),
            change: match change {
                rec::Change::Subject(subject) => api::ChangeBody::Subject {
                    subject: subject_to_api(subject),
                },
                rec::Change::Website {
                    website_number,
                    website,
                } => api::ChangeBody::Website {
                    website_number: website_number.clone(),
                    website: website_to_api(website),
                },
                rec::Change::Access {
                    website_number,
                    access,
                } => api::ChangeBody::Access {
                    website_number: website_number.clone(),
                    access: access_to_api(access),
                },
                rec::Change::AddedWebsite(website) => api::ChangeBody::AddedWebsite {
                    website: website_to_api(website),
                },
            },
        },
        rec::Submission::Cancellation {
            filing_number,
            scope,
            reason,
        } => api::SubmissionBody::Cancellation {
            filing_number: filing_number.clone(),
            scope: cancellation_scope_api(*scope),
            reason: reason.clone(),
        },
        rec::Submission::Withdrawal { receipt, reason } => api::SubmissionBody::Withdrawal {
            receipt: receipt.clone(),
            reason: reason.clone(),
        },
        rec::Submission::ProviderCheck {
            receipt,
            version,
            content_hash,
            decision,
        } => {
            let (decision, reason) = match decision {
                rec::ProviderDecision::Confirm => (api::ProviderDecision::Confirm, None),
                rec::ProviderDecision::Return { reason } => {
                    (api::ProviderDecision::Return, Some(reason.clone()))
                }
            };
            api::SubmissionBody::ProviderCheck {
                receipt: receipt.clone(),
                version: *version,
                content_hash: hex::encode(content_hash),
                decision,
                reason,
            }
        }
    }
}

/// The scans of a stored submission in API form, each with the pre-approval entry it shows.
fn attachments_to_api(body: &rec::Submission) -> Vec<api::AttachmentBody> {
    body.scans()
        .map(|scan| api::AttachmentBody {
            kind: attachment_kind_api(scan.attachment.kind),
            media_type: scan.attachment.media_type.clone(),
            base64: base64::engine::general_purpose::STANDARD.encode(&scan.attachment.bytes),
            pre_approval: match scan.shows {
                rec::ScanOf::Submission => None,
                rec::ScanOf::PreApproval { website, item } => Some(api::PreApprovalRef {
                    website,
                    item: pre_approval_item_api(item),
                }),
            },
        })
        .collect()
}

/// A subject record in the API's shape.
pub fn subject_to_api(subject: &rec::Subject) -> api::SubjectBody {
    api::SubjectBody {
        name: subject.name.clone(),
        nature: subject_nature_api(subject.nature),
        certificate_type: certificate_type_api(subject.certificate_type),
        certificate_number: subject.certificate_number.clone(),
        region_code: format!("{:06}", subject.region_code),
        address: subject.address.clone(),
        investor: subject.investor.clone(),
        principal: person_to_api(&subject.principal),
    }
}

fn person_to_api(person: &rec::Person) -> api::PersonBody {
    api::PersonBody {
        name: person.name.clone(),
        certificate_type: certificate_type_api(person.certificate_type),
        certificate_number: person.certificate_number.clone(),
        mobile_phones: person.mobile_phones.clone(),
        office_phones: person.office_phones.clone(),
        email: person.email.clone(),
    }
}

/// A website record in the API's shape (what a change of it sends back, unchanged).
pub fn website_to_api(website: &rec::Website) -> api::WebsiteBody {
    api::WebsiteBody {
        name: website.name.clone(),
        home_urls: website.home_urls.clone(),
        domains: website.domains.clone(),
        service_types: website
            .service_types
            .iter()
            .map(|s| service_type_api(*s))
            .collect(),
        pre_approvals: website
            .pre_approvals
            .iter()
            .map(|p| api::PreApprovalBody {
                item: pre_approval_item_api(p.item),
                document_number: p.document_number.clone(),
            })
            .collect(),
        access: access_to_api(&website.access),
        principal: person_to_api(&website.principal),
    }
}

fn access_to_api(access: &rec::Access) -> api::AccessBody {
    api::AccessBody {
        provider: access.provider.clone(),
        method: access_method_api(access.method),
        server_region_code: format!("{:06}", access.server_region_code),
        ip_ranges: access
            .ip_ranges
            .iter()
            .map(|r| {
                if r.first == r.last {
                    r.first.to_string()
                } else {
                    format!("{}-{}", r.first, r.last)
                }
            })
            .collect(),
    }
}

/// An approved record in the API's shape, for the answer of
/// `GET /api/v1/filings/{filing_number}/record`: its subject and websites are the bodies a
/// change of them takes.
pub fn approved_record_to_api(view: &crate::store::ApprovedRecordView) -> api::ApprovedRecordView {
    let record = &view.record;
    let (subject, websites) = match &record.state {
        rec::ApprovedState::Approved { subject, websites } => (Some(subject), &websites[..]),
        rec::ApprovedState::Withdrawn { .. } => (None, &[][..]),
    };
    api::ApprovedRecordView {
        filing_number: record.filing_number.clone(),
        decided_at: keys::time::rfc3339(record.at),
        may_change: view.owner,
        subject: subject.map(subject_to_api),
        websites: websites
            .iter()
            .map(|w| api::ApprovedWebsiteView {
                website_number: w.website_number.clone(),
                website: website_to_api(&w.website),
            })
            .collect(),
    }
}
