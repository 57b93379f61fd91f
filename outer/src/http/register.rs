//! The public query of the register outside (the manuals' 备案信息查询): anyone, without an
//! account, looks up approved websites by website name, domain or filing number, on a page
//! (`/register`, Chinese with English beside it) or in the API (`/api/v1/register`). It
//! answers from the register the inner side sends back (`outer::store`'s public register):
//! filing number, subject name and nature, website numbers, names and domains, approval date;
//! nothing personal. A cancelled or revoked filing is not found once its removal has crossed.

use askama::Template;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppError, AppState};
use crate::store::{
    MAX_REGISTER_QUERY_CHARS, MAX_REGISTER_RESULTS, RegisterQuery, RegisterWebsiteView,
};

/// What the query string may hold: `q`, the text looked for, and `by`, how to read it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RegisterParams {
    /// Website name, domain or filing number.
    #[serde(default)]
    pub q: String,
    /// `website_name`, `domain`, `filing_number`, or `auto` (the default: guessed from `q`).
    #[serde(default)]
    pub by: Option<String>,
}

/// Why a query cannot be answered; the page and the API say the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuery {
    code: &'static str,
    message: String,
}

/// Reads the parameters into a query, bounded: `q` non-empty and at most
/// [`MAX_REGISTER_QUERY_CHARS`] characters, `by` one of the four names.
pub fn parse(params: &RegisterParams) -> Result<RegisterQuery, BadQuery> {
    let q = params.q.trim();
    if q.is_empty() {
        return Err(BadQuery {
            code: "register.empty_query",
            message: "q is empty: give a website name, a domain or a filing number".to_owned(),
        });
    }
    let chars = q.chars().count();
    if chars > MAX_REGISTER_QUERY_CHARS {
        return Err(BadQuery {
            code: "register.query_too_long",
            message: format!(
                "q is {chars} characters long; at most {MAX_REGISTER_QUERY_CHARS} characters"
            ),
        });
    }
    let q = q.to_owned();
    match params.by.as_deref().unwrap_or("auto") {
        "website_name" => Ok(RegisterQuery::WebsiteName(q)),
        "domain" => Ok(RegisterQuery::Domain(q)),
        "filing_number" => Ok(RegisterQuery::FilingNumber(q)),
        "auto" | "" => Ok(guess(q)),
        other => Err(BadQuery {
            code: "register.unknown_by",
            message: format!(
                "by is {:?}; one of website_name, domain, filing_number, auto",
                other.chars().take(40).collect::<String>()
            ),
        }),
    }
}

/// A filing number holds `ICP备`; a domain is ASCII with a dot and no space; anything else is
/// a website name.
fn guess(q: String) -> RegisterQuery {
    if q.contains("ICP备") {
        RegisterQuery::FilingNumber(q)
    } else if q.is_ascii() && q.contains('.') && !q.contains(char::is_whitespace) {
        RegisterQuery::Domain(q)
    } else {
        RegisterQuery::WebsiteName(q)
    }
}

fn by_name(query: &RegisterQuery) -> &'static str {
    match query {
        RegisterQuery::WebsiteName(_) => "website_name",
        RegisterQuery::Domain(_) => "domain",
        RegisterQuery::FilingNumber(_) => "filing_number",
    }
}

/// The API's answer.
#[derive(Debug, serde::Serialize)]
pub struct RegisterAnswer {
    /// How the text was read: `website_name`, `domain` or `filing_number`.
    pub by: &'static str,
    /// The websites found, by filing and website number; at most `limit`.
    pub results: Vec<RegisterWebsiteView>,
    /// The most websites one answer holds.
    pub limit: usize,
}

/// `GET /api/v1/register?q=…&by=…`.
pub(super) async fn register_api(
    State(state): State<AppState>,
    params: Result<Query<RegisterParams>, QueryRejection>,
) -> Result<Json<RegisterAnswer>, AppError> {
    // A query string that does not parse (a field given twice, say) is answered in the API's
    // own error shape.
    let Query(params) = params.map_err(|rejection| AppError::BadRequest {
        code: "register.bad_query",
        message: format!(
            "{}; give q once, and by at most once",
            rejection.body_text()
        ),
    })?;
    let query = parse(&params).map_err(|bad| AppError::BadRequest {
        code: bad.code,
        message: bad.message,
    })?;
    let by = by_name(&query);
    let results = state.store.query_register(query).await?;
    Ok(Json(RegisterAnswer {
        by,
        results,
        limit: MAX_REGISTER_RESULTS,
    }))
}

struct Row {
    filing_number: String,
    website_number: String,
    subject_name: String,
    nature_zh: &'static str,
    nature_en: &'static str,
    website_name: String,
    /// Each domain, with its check's address on this service (`/register/check`).
    domains: Vec<(String, String)>,
    approved: String,
}

#[derive(Template)]
#[template(path = "public_register.html")]
struct RegisterPage<'a> {
    q: &'a str,
    by: &'a str,
    problem: Option<String>,
    searched: bool,
    results: Vec<Row>,
    truncated: bool,
    max_query: usize,
    max_results: usize,
    /// Whether the crawler's check is offered beside each domain.
    checks: bool,
    user: Option<&'a str>,
}

/// Chinese and English names of a subject nature as stored.
pub fn nature_label(nature: &str) -> (&'static str, &'static str) {
    match nature {
        "enterprise" => ("企业", "enterprise"),
        "government" => ("政府机关", "government"),
        "public-institution" | "public_institution" => ("事业单位", "public institution"),
        "social-group" | "social_group" => ("社会团体", "social group"),
        "individual" => ("个人", "individual"),
        "military" => ("军队", "military"),
        _ => ("其他", "other"),
    }
}

/// `GET /register?q=…&by=…`: the page, with what the query finds.
pub(super) async fn register_page(
    State(state): State<AppState>,
    params: Result<Query<RegisterParams>, QueryRejection>,
) -> Result<Response, AppError> {
    // A query string that does not parse shows the empty form, as a page asked for nothing.
    let params = params.map(|Query(params)| params).unwrap_or_default();
    let by = params
        .by
        .as_deref()
        .filter(|by| matches!(*by, "website_name" | "domain" | "filing_number"))
        .unwrap_or("auto");
    // An over-long text is not echoed back whole into the form.
    let shown: String = params
        .q
        .trim()
        .chars()
        .take(MAX_REGISTER_QUERY_CHARS)
        .collect();
    let mut page = RegisterPage {
        q: &shown,
        by,
        problem: None,
        searched: !params.q.trim().is_empty(),
        results: Vec::new(),
        truncated: false,
        max_query: MAX_REGISTER_QUERY_CHARS,
        max_results: MAX_REGISTER_RESULTS,
        checks: state.site_checks.is_some(),
        user: None,
    };
    let mut status = StatusCode::OK;
    if page.searched {
        let normalised = RegisterParams {
            q: params.q.clone(),
            by: Some(by.to_owned()),
        };
        match parse(&normalised) {
            Ok(query) => {
                let found = state.store.query_register(query).await?;
                page.truncated = found.len() >= MAX_REGISTER_RESULTS;
                page.results = found.into_iter().map(row).collect();
            }
            Err(bad) => {
                status = StatusCode::BAD_REQUEST;
                page.problem = Some(format!("{} · {}", bad_zh(bad.code), bad.message));
            }
        }
    }
    match page.render() {
        Ok(body) => Ok((
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()),
        Err(error) => Err(AppError::Internal(format!(
            "rendering the register page: {error}"
        ))),
    }
}

fn bad_zh(code: &str) -> &'static str {
    match code {
        "register.query_too_long" => "查询内容过长",
        "register.unknown_by" => "查询方式无效",
        _ => "请输入查询内容",
    }
}

fn row(view: RegisterWebsiteView) -> Row {
    let (nature_zh, nature_en) = nature_label(&view.subject_nature);
    Row {
        nature_zh,
        nature_en,
        approved: keys::time::rfc3339(view.approved_at)
            .get(..10)
            .unwrap_or_default()
            .to_owned(),
        filing_number: view.filing_number,
        website_number: view.website_number,
        subject_name: view.subject_name,
        website_name: view.website_name,
        domains: view
            .domains
            .into_iter()
            .map(|domain| {
                let check = format!(
                    "/register/check?domain={}",
                    form_urlencoded::byte_serialize(domain.as_bytes()).collect::<String>()
                );
                (domain, check)
            })
            .collect(),
    }
}
