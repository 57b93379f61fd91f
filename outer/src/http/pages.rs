//! The public status page at `/status`: plain server-rendered HTML, in Chinese and English, where
//! a person types a receipt id or a filing number and sees the status with its history. No
//! scripts; every value shown is escaped. The handler looks the query up in the store; the
//! rendering itself is pure.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::response::Html;

use super::{AppError, AppState, status_view};
use crate::api::StatusView;

/// Chinese and English labels of a state name.
pub fn state_label(state: &str) -> (&'static str, &'static str) {
    match state {
        "received" => ("已接收", "Received"),
        "in_transit" => ("传输中", "In transit"),
        "delivered" => ("已送达审核系统", "Delivered for review"),
        "awaiting_provider_check" => ("待接入商核验", "Awaiting access provider check"),
        "awaiting_pre_approval" => ("待前置审批确认", "Awaiting pre-approval"),
        "awaiting_regional_review" => ("待管局审核", "Awaiting regional review"),
        "returned_to_provider" => ("已退回接入商", "Returned to the access provider"),
        "returned_to_submitter" => ("已退回，请修改", "Returned for changes"),
        "approved" => ("已通过", "Approved"),
        "rejected" => ("未通过", "Rejected"),
        "cancelled" => ("已注销", "Cancelled"),
        "withdrawn" => ("已撤回", "Withdrawn"),
        _ => ("未知", "Unknown"),
    }
}

/// Chinese and English labels of a submission kind.
pub fn kind_label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "new_filing" => ("新增备案", "New filing"),
        "change" => ("变更备案", "Change"),
        "cancellation" => ("注销备案", "Cancellation"),
        "withdrawal" => ("撤回申请", "Withdrawal"),
        "provider_check" => ("接入商核验", "Provider check"),
        _ => ("其他", "Other"),
    }
}

/// Escapes text for HTML element content and attribute values: the operations page's escaping,
/// the same five characters.
pub use keys::ops::escape;

/// The page for query `q` with the receipts found (none: a form, or "not found" if `q` is set);
/// a lookup by filing number shows each receipt's public fields only.
pub fn render(q: &str, found: &[StatusView], lookup: Lookup) -> String {
    let mut page = String::new();
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>备案进度查询 · Filing status</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 2em auto; max-width: 52em; color: #1a1a1a; background: #ffffff; }}
h1 {{ font-size: 1.6em; border-bottom: 3px solid #b22222; padding-bottom: .3em; }}
form {{ margin: 1em 0 2em; }}
input[type=text] {{ font-size: 1.1em; width: 24em; padding: .3em; }}
button {{ font-size: 1.1em; padding: .3em 1em; background: #b22222; color: #fff; border: 0; }}
.state {{ font-size: 1.5em; font-weight: bold; color: #0b5394; margin: .5em 0; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 1em; }}
th, td {{ border: 1px solid #999; padding: .4em; text-align: left; }}
th {{ background: #eeeeee; }}
.notfound {{ font-size: 1.3em; color: #b22222; }}
.en {{ color: #555; }}
</style>
</head>
<body>
<h1>备案进度查询 <span class="en">Filing status</span></h1>
<form method="get" action="/status">
<label for="q">受理编号或备案号 <span class="en">Receipt id or filing number</span></label><br>
<input type="text" id="q" name="q" value="{}" maxlength="200">
<button type="submit">查询 Search</button>
</form>
"#,
        escape(q)
    );
    if !q.is_empty() && found.is_empty() {
        let _ = writeln!(
            page,
            r#"<p class="notfound" id="result">未找到 {q} 的记录。<span class="en">No record found for {q}.</span></p>"#,
            q = escape(q)
        );
    }
    for view in found {
        if lookup == Lookup::FilingNumber {
            public_section(&mut page, view);
            continue;
        }
        let (state_zh, state_en) = state_label(&view.state);
        let (kind_zh, kind_en) = kind_label(&view.kind);
        let _ = write!(
            page,
            r#"<section id="result" data-receipt="{receipt}">
<h2>受理编号 <span class="en">Receipt</span> {receipt}</h2>
<p>{kind_zh} <span class="en">{kind_en}</span> · 第 {version} 版 <span class="en">version {version}</span></p>
<p class="state" id="state">{state_zh} <span class="en">{state_en}</span></p>
"#,
            receipt = escape(&view.receipt),
            version = view.version,
        );
        filing_number_line(&mut page, view);
        if let (Some(sequence), Some(since)) = (view.bundle_sequence, &view.in_transit_since) {
            let _ = writeln!(
                page,
                "<p>传输批次 <span class=\"en\">Bundle</span> #{sequence}，自 <span class=\"en\">since</span> {}</p>",
                escape(since)
            );
        }
        if let Some(reason) = &view.reason {
            let _ = writeln!(
                page,
                "<p>原因 <span class=\"en\">Reason</span>: {}</p>",
                escape(reason)
            );
        }
        certificate_lines(&mut page, view);
        let _ = writeln!(
            page,
            "<table><thead><tr><th>时间 <span class=\"en\">Time</span></th><th>版本 <span class=\"en\">Version</span></th><th>状态 <span class=\"en\">State</span></th><th>说明 <span class=\"en\">Note</span></th></tr></thead><tbody>"
        );
        for entry in &view.history {
            let (zh, en) = state_label(&entry.state);
            let mut note = Vec::new();
            if let Some(sequence) = entry.bundle_sequence {
                note.push(format!("#{sequence}"));
            }
            if let Some(number) = &entry.filing_number {
                note.push(escape(number));
            }
            if let Some(reason) = &entry.reason {
                note.push(escape(reason));
            }
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{zh} <span class=\"en\">{en}</span></td><td>{}</td></tr>",
                escape(&entry.at),
                entry.version,
                note.join(" · ")
            );
        }
        let _ = writeln!(page, "</tbody></table>\n</section>");
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// How a status lookup named what it looks for, which decides how much it may show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// By receipt id: the id is the submitter's own secret, so the whole status is shown.
    Receipt,
    /// By filing number, which is public (it is printed on the website): only public fields,
    /// never a receipt id (which would open the whole status), a reason or the history.
    FilingNumber,
}

/// One receipt's public fields: what kind of submission it is, its state, its filing number and
/// whether the certificate is ready.
fn public_section(page: &mut String, view: &StatusView) {
    let (state_zh, state_en) = state_label(&view.state);
    let (kind_zh, kind_en) = kind_label(&view.kind);
    let _ = writeln!(
        page,
        r#"<section id="result">
<p>{kind_zh} <span class="en">{kind_en}</span></p>
<p class="state" id="state">{state_zh} <span class="en">{state_en}</span></p>"#
    );
    filing_number_line(page, view);
    certificate_lines(page, view);
    page.push_str("</section>\n");
}

/// The receipt's filing number, once it has one (a line of both sections).
fn filing_number_line(page: &mut String, view: &StatusView) {
    if let Some(number) = &view.filing_number {
        let _ = writeln!(
            page,
            "<p>备案号 <span class=\"en\">Filing number</span>: {}</p>",
            escape(number)
        );
    }
}

/// Whether the certificate is ready, and whether the filing or the certificate was revoked
/// (the closing lines of both sections).
fn certificate_lines(page: &mut String, view: &StatusView) {
    if view.certificate_ready {
        let _ = writeln!(
            page,
            "<p>电子证书已可下载 <span class=\"en\">The certificate is ready for download</span></p>"
        );
    }
    if view.filing_revoked {
        let _ = writeln!(page, "{FILING_REVOKED}");
    }
    if view.certificate_revoked {
        let _ = writeln!(page, "{CERTIFICATE_REVOKED}");
    }
}

/// Query of the status page.
#[derive(Debug, serde::Deserialize)]
pub struct StatusQuery {
    /// Receipt id or filing number.
    #[serde(default)]
    pub q: String,
}

/// `GET /status?q=…`: the page, with what the query finds.
pub(super) async fn status_page(
    State(state): State<AppState>,
    Query(query): Query<StatusQuery>,
) -> Result<Html<String>, AppError> {
    let q = query.q.trim();
    if q.is_empty() {
        return Ok(Html(render(q, &[], Lookup::Receipt)));
    }
    if q.len() > 200 {
        return Ok(Html(render("", &[], Lookup::Receipt)));
    }
    let (found, lookup) = if filing::receipt_id(q).is_ok() {
        let found = state.store.receipt(q).await?.into_iter().collect();
        (found, Lookup::Receipt)
    } else {
        let found = state.store.receipts_for_filing_number(q).await?;
        (found, Lookup::FilingNumber)
    };
    let views: Vec<StatusView> = found.iter().map(status_view).collect();
    Ok(Html(render(q, &views, lookup)))
}

/// What a status page says of a revoked certificate.
const CERTIFICATE_REVOKED: &str = "<p class=\"revoked\">电子证书已撤销，不再提供下载 <span class=\"en\">The certificate was revoked and is no longer served</span></p>";

/// What a status page says of a filing the authority revoked.
const FILING_REVOKED: &str = "<p class=\"revoked\" id=\"filing-revoked\">备案已被管局撤销 <span class=\"en\">The filing was revoked by the authority</span></p>";
