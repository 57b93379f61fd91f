//! An approved filing's record on the account pages (issue 15 item 3): the filing as the inner
//! side approved it, for its owner and the access provider recorded for it
//! (`Store::approved_record_for`, the one check both this page and the API make; anyone else
//! is told there is none), and the change its owner starts from it: the new-filing form,
//! filled from the record, whose submission is the API's change of that filing number and goes
//! through the API's checks (`filing_form::file`), ownership included.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::filing_form::{
    self, CHANGE_KINDS, ChangeOf, FilingForm, FormRequest, Refused, change_request, choice_label,
    file_with_scans, may_file, render_form,
};
use super::{CurrentUser, PageError, html};
use crate::api;
use crate::convert;
use crate::http::AppState;
use crate::store::ApprovedRecordView;

/// One website as the page shows it.
struct WebsiteRows {
    number: String,
    /// The number as a query value.
    number_query: String,
    rows: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "approved_record.html")]
struct RecordPage<'a> {
    filing_number: &'a str,
    decided_at: String,
    owner: bool,
    change_base: String,
    subject: Vec<(&'static str, String)>,
    websites: Vec<WebsiteRows>,
    user: Option<&'a str>,
}

/// A path segment or query value, percent-encoded.
pub(super) fn encoded(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The record of `filing_number` the user may read, or the one not-found page for every other
/// case (no such record, withdrawn, or another account's).
async fn readable(
    state: &AppState,
    user: &CurrentUser,
    filing_number: &str,
) -> Result<ApprovedRecordView, PageError> {
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            "本账户没有该备案号的已备案信息 · There is no approved record of this filing number for this account",
        )
    };
    if filing_number.len() > bundle_format::records::MAX_TEXT_BYTES {
        return Err(not_found());
    }
    state
        .store
        .approved_record_for(filing_number, user.session.account.id)
        .await?
        .ok_or_else(not_found)
}

fn person_rows(rows: &mut Vec<(&'static str, String)>, person: &api::PersonBody) {
    rows.push(("负责人 Principal", person.name.clone()));
    rows.push((
        "负责人证件号码 Principal's certificate number",
        person.certificate_number.clone(),
    ));
    rows.push(("手机 Mobile phones", person.mobile_phones.join("，")));
    rows.push(("办公电话 Office phones", person.office_phones.join("，")));
    rows.push(("电子邮箱 E-mail", person.email.clone()));
}

fn name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A subject as the account pages show it: one labelled row per field.
pub(super) fn subject_rows(s: &api::SubjectBody) -> Vec<(&'static str, String)> {
    let mut subject = vec![
        ("主办单位名称 Subject name", s.name.clone()),
        (
            "单位性质 Nature",
            choice_label("subject.nature", &name(&s.nature)),
        ),
        (
            "证件类型 Certificate type",
            choice_label("subject.certificate_type", &name(&s.certificate_type)),
        ),
        ("证件号码 Certificate number", s.certificate_number.clone()),
        ("行政区划代码 Region code", s.region_code.clone()),
        ("通信地址 Address", s.address.clone()),
        (
            "投资人或主管单位 Investor or supervisor",
            s.investor.clone(),
        ),
    ];
    person_rows(&mut subject, &s.principal);
    subject
}

/// A website's access details as the account pages show them.
pub(super) fn access_rows(access: &api::AccessBody) -> Vec<(&'static str, String)> {
    vec![
        ("接入服务商 Access provider", access.provider.clone()),
        (
            "接入方式 Access method",
            choice_label("website.access.method", &name(&access.method)),
        ),
        (
            "服务器所在地 Server region code",
            access.server_region_code.clone(),
        ),
        ("IP 地址 IP addresses", access.ip_ranges.join("，")),
    ]
}

/// A website as the account pages show it: one labelled row per field.
pub(super) fn website_rows(site: &api::WebsiteBody) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("网站名称 Website name", site.name.clone()),
        ("首页网址 Home URLs", site.home_urls.join("，")),
        ("域名 Domains", site.domains.join("，")),
        (
            "服务内容 Service types",
            site.service_types
                .iter()
                .map(|t| choice_label("website.service_types", &name(t)))
                .collect::<Vec<_>>()
                .join("，"),
        ),
        (
            "前置审批 Pre-approvals",
            site.pre_approvals
                .iter()
                .map(|p| {
                    let item = choice_label("website.pre_approvals.item", &name(&p.item));
                    format!("{item} {}", p.document_number)
                })
                .collect::<Vec<_>>()
                .join("，"),
        ),
    ];
    rows.extend(access_rows(&site.access));
    person_rows(&mut rows, &site.principal);
    rows
}

/// `GET /account/records/{filing_number}`: the approved record, for its owner (with the
/// changes they may start from it) and the access provider recorded for it.
pub(in crate::http) async fn record_page(
    State(state): State<AppState>,
    Path(filing_number): Path<String>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let view = readable(&state, &user, &filing_number).await?;
    let shown = convert::approved_record_to_api(&view);
    let subject = shown.subject.as_ref().map(subject_rows).unwrap_or_default();
    let websites = shown
        .websites
        .iter()
        .map(|w| WebsiteRows {
            number: w.website_number.clone(),
            number_query: encoded(&w.website_number),
            rows: website_rows(&w.website),
        })
        .collect();
    let page = RecordPage {
        filing_number: &shown.filing_number,
        decided_at: shown.decided_at.clone(),
        owner: view.owner,
        change_base: format!("/account/records/{}/change", encoded(&shown.filing_number)),
        subject,
        websites,
        user: Some(&user.session.account.name),
    };
    Ok(html(&page).into_response())
}

/// The record only its owner may start a change from; the access provider recorded for it is
/// told so.
async fn owned(
    state: &AppState,
    user: &CurrentUser,
    filing_number: &str,
) -> Result<ApprovedRecordView, PageError> {
    may_file(user)?;
    let view = readable(state, user, filing_number).await?;
    if !view.owner {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "只有备案的主办者可以变更 · Only the account that filed it may change this filing",
        ));
    }
    Ok(view)
}

/// The change's header: `what` and `website` chosen among the record's websites (the first
/// if `website` is none of them).
fn change_of(shown: &api::ApprovedRecordView, what: &str, website: &str) -> ChangeOf {
    let what_chosen = CHANGE_KINDS
        .iter()
        .map(|(value, _)| *value)
        .find(|value| *value == what)
        .unwrap_or("website");
    let chosen = shown
        .websites
        .iter()
        .position(|w| w.website_number == website)
        .unwrap_or(0);
    ChangeOf {
        filing_number: shown.filing_number.clone(),
        what: CHANGE_KINDS
            .iter()
            .map(|(value, label)| (*value, *label, *value == what_chosen))
            .collect(),
        what_chosen,
        website: shown
            .websites
            .get(chosen)
            .map(|w| w.website_number.clone())
            .unwrap_or_default(),
        websites: shown
            .websites
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    w.website_number.clone(),
                    encoded(&w.website_number),
                    i == chosen,
                )
            })
            .collect(),
    }
}

/// `GET /account/records/{filing_number}/change?what=…&website=…`: the filing form filled from
/// the approved record (its subject, and the website chosen by its number), for its owner.
/// The form changes that website; the page links to the same form filled from each other
/// website of the filing.
pub(in crate::http) async fn change_page(
    State(state): State<AppState>,
    Path(filing_number): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    let view = owned(&state, &user, &filing_number).await?;
    let shown = convert::approved_record_to_api(&view);
    let what = query.get("what").map_or("website", String::as_str);
    let change = change_of(
        &shown,
        what,
        query.get("website").map_or("", String::as_str),
    );
    let website = shown
        .websites
        .iter()
        .find(|w| w.website_number == change.website)
        .map(|w| &w.website);
    let Some(subject) = &shown.subject else {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            "本账户没有该备案号的已备案信息 · There is no approved record of this filing number for this account",
        ));
    };
    let form = if what == "added_website" {
        FilingForm::from_pairs(prefilled(subject, website.map(new_website_like).as_ref()))
    } else {
        FilingForm::from_pairs(prefilled(subject, website))
    };
    let action = format!("/account/records/{}/change", encoded(&shown.filing_number));
    Ok(render_form(
        &state,
        &user,
        (StatusCode::OK, &action, Some(&change)),
        Some(&form),
        &[],
        None,
    ))
}

/// `POST /account/records/{filing_number}/change`: the change the form stands for, with the
/// scans sent, through the API's checks as `POST /api/v1/submissions` with kind `change`;
/// problems come back beside their fields, and a form with any stores nothing.
pub(in crate::http) async fn submit_change(
    State(state): State<AppState>,
    Path(filing_number): Path<String>,
    user: CurrentUser,
    headers: HeaderMap,
    body: Request,
) -> Result<Response, PageError> {
    let view = owned(&state, &user, &filing_number).await?;
    let shown = convert::approved_record_to_api(&view);
    // A form from another site is refused before its files are read; the token, in the
    // body, is checked once it is read.
    super::same_origin(&headers)?;
    let form = filing_form::read_form(&state, &headers, body).await?;
    let csrf = super::FormFields::single("csrf", form.first("csrf"));
    user.check_csrf(&headers, &csrf)?;
    let change = change_of(&shown, form.first("what"), form.first("website_number"));
    let action = format!("/account/records/{}/change", encoded(&shown.filing_number));
    let again = |status: StatusCode, problems: &[(String, String)], message: Option<&str>| {
        render_form(
            &state,
            &user,
            (status, &action, Some(&change)),
            Some(&form),
            problems,
            message,
        )
    };
    let mut problems = filing_form::form_problems(&form);
    let number = form.first("website_number");
    if matches!(form.first("what"), "website" | "access")
        && !shown.websites.iter().any(|w| w.website_number == number)
    {
        problems.push((
            "website_number".to_owned(),
            format!(
                "{number:?} 不是该备案在用的网站 · {number:?} is not a website of this filing \
                 in service"
            ),
        ));
    }
    let request = change_request(&form, &shown.filing_number).map_err(|found| {
        problems.extend(found);
    });
    let FormRequest {
        request,
        scan_inputs,
    } = match request {
        Ok(request) if problems.is_empty() => request,
        _ => return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, &problems, None)),
    };
    match file_with_scans(&state, &user, &request, &scan_inputs).await {
        Ok(_) => Ok(Redirect::to("/account/filings").into_response()),
        Err(Refused::Problems(problems)) => {
            Ok(again(StatusCode::UNPROCESSABLE_ENTITY, &problems, None))
        }
        Err(Refused::Conflict(message)) => Ok(again(StatusCode::CONFLICT, &[], Some(&message))),
        Err(Refused::Page(error)) => Err(error),
    }
}

/// The form's fields filled with `subject` and `website` (a change's form, from an approved
/// record): the names and values a browser would send for them.
/// The start of a website to add beside `website`: its access (provider, method, server
/// region) and principal, which an owner's websites usually share, and nothing that names the
/// website itself (name, home pages, domains, addresses, services, pre-approvals): those of an
/// approved website filed again would conflict with the website that holds them.
fn new_website_like(website: &api::WebsiteBody) -> api::WebsiteBody {
    api::WebsiteBody {
        name: String::new(),
        home_urls: Vec::new(),
        domains: Vec::new(),
        service_types: Vec::new(),
        pre_approvals: Vec::new(),
        access: api::AccessBody {
            ip_ranges: Vec::new(),
            ..website.access.clone()
        },
        principal: website.principal.clone(),
    }
}

fn prefilled(
    subject: &api::SubjectBody,
    website: Option<&api::WebsiteBody>,
) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut put = |field: &str, value: String| pairs.push((field.to_owned(), value));
    let person = |at: &str, p: &api::PersonBody, put: &mut dyn FnMut(&str, String)| {
        put(&format!("{at}.name"), p.name.clone());
        put(&format!("{at}.certificate_type"), name(&p.certificate_type));
        put(
            &format!("{at}.certificate_number"),
            p.certificate_number.clone(),
        );
        put(&format!("{at}.mobile_phones"), p.mobile_phones.join("\n"));
        put(&format!("{at}.office_phones"), p.office_phones.join("\n"));
        put(&format!("{at}.email"), p.email.clone());
    };
    put("subject.name", subject.name.clone());
    put("subject.nature", name(&subject.nature));
    put("subject.certificate_type", name(&subject.certificate_type));
    put(
        "subject.certificate_number",
        subject.certificate_number.clone(),
    );
    put("subject.region_code", subject.region_code.clone());
    put("subject.address", subject.address.clone());
    put("subject.investor", subject.investor.clone());
    person("subject.principal", &subject.principal, &mut put);
    if let Some(website) = website {
        put("website.name", website.name.clone());
        put("website.home_urls", website.home_urls.join("\n"));
        put("website.domains", website.domains.join("\n"));
        for service in &website.service_types {
            put("website.service_types", name(service));
        }
        for pre_approval in &website.pre_approvals {
            put("website.pre_approvals.item", name(&pre_approval.item));
            put(
                "website.pre_approvals.document_number",
                pre_approval.document_number.clone(),
            );
        }
        put("website.access.provider", website.access.provider.clone());
        put("website.access.method", name(&website.access.method));
        put(
            "website.access.server_region_code",
            website.access.server_region_code.clone(),
        );
        put(
            "website.access.ip_ranges",
            website.access.ip_ranges.join("\n"),
        );
        person("website.principal", &website.principal, &mut put);
    }
    pairs
}
