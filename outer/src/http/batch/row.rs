//! One data row of a batch file as a submission request: cells parsed into the API's types, and
//! every cell that cannot be is reported as a problem of that row.

use super::template::COLUMNS;
use crate::api::{self, Problem};
use crate::convert::parse_name;

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
