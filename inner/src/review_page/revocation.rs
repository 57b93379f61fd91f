//! The revocation form of the review page (`POST /revocations`): an authority revokes an
//! approved filing of its province, or one of its websites, with a reason (撤销), through
//! [`crate::review::revoke`], so the page and `sluice-inner review revoke` make the same
//! checks.

use std::sync::Arc;

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::as_reviewer;
use super::{Failure, PageState, internal, message, now, same_origin};
use crate::review::ReviewError;

/// Longest text of a form field here (a reason is at most 1024 bytes; the rest far less).
const MAX_FIELD_BYTES: usize = 1024;

/// The revocation form.
#[derive(Debug, Deserialize)]
pub struct RevocationForm {
    /// The filing number.
    filing_number: String,
    /// The website's suffix, empty for the whole filing.
    #[serde(default)]
    website: String,
    /// Why.
    #[serde(default)]
    reason: String,
}

pub(super) async fn revoke(
    State(state): State<Arc<PageState>>,
    headers: HeaderMap,
    Form(form): Form<RevocationForm>,
) -> Response {
    if !same_origin(&headers) {
        return Failure::Forbidden(
            "表单须来自本页面。 A revocation is accepted from this page only.".to_owned(),
        )
        .into_response();
    }
    let filing_number = form.filing_number.trim().to_owned();
    let reason = form.reason.trim().to_owned();
    if filing_number.is_empty() || filing_number.len() > MAX_FIELD_BYTES {
        return Failure::BadRequest("请填写备案号 give the filing number".to_owned())
            .into_response();
    }
    if reason.is_empty() || reason.len() > MAX_FIELD_BYTES {
        return Failure::BadRequest(format!(
            "请填写撤销理由，不超过 {MAX_FIELD_BYTES} 字节 give the reason, at most \
             {MAX_FIELD_BYTES} bytes"
        ))
        .into_response();
    }
    let website = match form.website.trim() {
        "" => None,
        text => match text.parse::<i32>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Some(n),
            _ => {
                return Failure::BadRequest(
                    "网站序号须为正整数 the website is the number after the `-` of its website \
                     number, e.g. 2"
                        .to_owned(),
                )
                .into_response();
            }
        },
    };
    let done = as_reviewer(&state, &headers, move |client, reviewer, state| {
        let mut tx = client.transaction().map_err(internal)?;
        match crate::review::revoke(
            &mut tx,
            &filing_number,
            website,
            &reason,
            &reviewer,
            Some(&state.certifier),
            now(),
        ) {
            Ok(revocation) => {
                tx.commit().map_err(internal)?;
                Ok(revocation)
            }
            Err(e @ ReviewError::NotAllowedOnFiling { .. }) => {
                Err(Failure::Forbidden(e.to_string()))
            }
            Err(e @ (ReviewError::UnknownFiling { .. } | ReviewError::UnknownWebsite { .. })) => {
                Err(Failure::NotFound(e.to_string()))
            }
            Err(
                e @ (ReviewError::FilingNotActive { .. } | ReviewError::RevocationReason { .. }),
            ) => Err(Failure::Refused(e.to_string())),
            Err(other) => Err(internal(other)),
        }
    })
    .await;
    match done {
        Ok(revocation) => {
            let what = match &revocation.website_number {
                Some(website) if !revocation.whole_filing => {
                    format!("网站 {website} 已撤销。 Website {website} revoked.")
                }
                _ => format!(
                    "备案 {0} 已撤销，证书已吊销，域名已释放。 Filing {0} revoked; its certificate is revoked and its domains are free.",
                    revocation.filing_number
                ),
            };
            message(StatusCode::OK, "已撤销", "Revoked", &what, true)
        }
        Err(failure) => failure.into_response(),
    }
}
