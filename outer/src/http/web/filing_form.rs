//! The owner's page for entering a new filing (issue 15 item 2, first part): one subject and
//! one website, as the manuals' form has them. The form is turned into the API's request and
//! goes through the very checks the API makes (`outer::http::prepare`), so every problem is the
//! API's own message, shown beside the field it concerns.
//!
//! Field names are the API's field paths under `submission.filing`, with `websites[0]` written
//! `website` and list indices left out; lists (domains, addresses, phones) are typed one per
//! line, service types ticked. The page sends the form as `multipart/form-data` with the scans
//! the API takes, one file input each (`form_scans`); a form with any problem stores nothing
//! and comes back with everything typed.

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::form_scans::{self, FormScans, ScanInput, Uploads};
use super::{CurrentUser, PageError, html};
use crate::api;
use crate::http::{AppError, AppState, new_receipt_id, prepare};
use crate::store::{AccountKind, Inserted, NewSubmission, Principal};

/// Most bytes of the new-filing form's body.
pub const MAX_FILING_FORM_BYTES: usize = 64 * 1024;
/// Most fields (name-value pairs, ticked boxes included) of the form.
pub const MAX_FILING_FORM_FIELDS: usize = 80;
/// Most characters of one field (a list typed one entry per line included).
pub const MAX_FILING_FIELD_CHARS: usize = 4096;

type Options = &'static [(&'static str, &'static str)];

const NATURES: Options = &[
    ("enterprise", "企业 Enterprise"),
    ("government", "政府机关 Government body"),
    ("public_institution", "事业单位 Public institution"),
    ("social_group", "社会团体 Social group"),
    ("individual", "个人 Individual"),
    ("military", "军队 Military"),
];

const CERTIFICATES: Options = &[
    (
        "unified_social_credit_code",
        "统一社会信用代码 Unified social credit code",
    ),
    ("business_license", "营业执照 Business licence"),
    ("organization_code", "组织机构代码 Organisation code"),
    (
        "public_institution_certificate",
        "事业单位法人证书 Public institution certificate",
    ),
    (
        "social_group_certificate",
        "社会团体法人登记证书 Social group certificate",
    ),
    ("military_code", "军队代号 Military code"),
    ("resident_id", "居民身份证 Resident ID"),
    ("passport", "护照 Passport"),
    (
        "hong_kong_macao_permit",
        "港澳居民来往内地通行证 Hong Kong/Macao permit",
    ),
    ("taiwan_permit", "台湾居民来往大陆通行证 Taiwan permit"),
];

const SERVICES: Options = &[
    ("showcase", "企业展示 Showcase"),
    ("portal", "综合门户 Portal"),
    ("news", "新闻 News"),
    ("forum", "论坛 Forum"),
    ("blog", "博客 Blog"),
    ("ecommerce", "网上商城 E-commerce"),
    ("education", "教育 Education"),
    ("medical", "医疗 Medical"),
    ("drugs", "药品 Drugs"),
    ("culture", "文化 Culture"),
    ("broadcasting", "广播电视 Broadcasting"),
    ("publishing", "出版 Publishing"),
    ("public_affairs", "政务 Public affairs"),
    ("other", "其他 Other"),
];

const PRE_APPROVALS: Options = &[
    ("", "无 None"),
    ("news", "新闻 News"),
    ("publishing", "出版 Publishing"),
    ("education", "教育 Education"),
    ("medical", "医疗 Medical"),
    ("drugs", "药品 Drugs"),
    ("culture", "文化 Culture"),
    ("broadcasting", "广播电视 Broadcasting"),
];

const ACCESS_METHODS: Options = &[
    ("cloud", "云主机 Cloud"),
    ("virtual_host", "虚拟主机 Virtual host"),
    ("colocation", "服务器托管 Colocation"),
    ("dedicated", "专线 Dedicated line"),
    ("other", "其他 Other"),
];

/// How a field is typed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Text,
    Lines,
    Select(Options),
    Ticks(Options),
}

/// One field of the form, with its section heading if it opens one.
struct Spec {
    name: &'static str,
    label: &'static str,
    input: Input,
    section: Option<&'static str>,
}

const fn spec(name: &'static str, label: &'static str, input: Input) -> Spec {
    Spec {
        name,
        label,
        input,
        section: None,
    }
}

const fn opens(section: &'static str, mut field: Spec) -> Spec {
    field.section = Some(section);
    field
}

/// The fields of a person (the subject's or the website's principal) under `at`.
macro_rules! person {
    ($at:literal) => {
        [
            spec(concat!($at, ".name"), "姓名 Full name", Input::Text),
            spec(
                concat!($at, ".certificate_type"),
                "证件类型 Certificate type",
                Input::Select(CERTIFICATES),
            ),
            spec(
                concat!($at, ".certificate_number"),
                "证件号码 Certificate number",
                Input::Text,
            ),
            spec(
                concat!($at, ".mobile_phones"),
                "手机号码（每行一个） Mobile phones, one per line",
                Input::Lines,
            ),
            spec(
                concat!($at, ".office_phones"),
                "办公电话（每行一个） Office phones, one per line",
                Input::Lines,
            ),
            spec(concat!($at, ".email"), "电子邮箱 E-mail", Input::Text),
        ]
    };
}

fn specs() -> Vec<Spec> {
    let mut all = vec![
        opens(
            "主办单位 Subject",
            spec("subject.name", "主办单位名称 Subject name", Input::Text),
        ),
        spec("subject.nature", "单位性质 Nature", Input::Select(NATURES)),
        spec(
            "subject.certificate_type",
            "证件类型 Certificate type",
            Input::Select(CERTIFICATES),
        ),
        spec(
            "subject.certificate_number",
            "证件号码 Certificate number",
            Input::Text,
        ),
        spec(
            "subject.region_code",
            "所在地行政区划代码 Region code (6 digits)",
            Input::Text,
        ),
        spec("subject.address", "通信地址 Address", Input::Text),
        spec(
            "subject.investor",
            "投资人或主管单位 Investor or supervisor",
            Input::Text,
        ),
    ];
    let mut principal = person!("subject.principal").into_iter();
    if let Some(first) = principal.next() {
        all.push(opens("主办单位负责人 Subject's principal", first));
    }
    all.extend(principal);
    all.extend([
        opens(
            "网站 Website",
            spec("website.name", "网站名称 Website name", Input::Text),
        ),
        spec(
            "website.home_urls",
            "首页网址（每行一个） Home URLs, one per line",
            Input::Lines,
        ),
        spec(
            "website.domains",
            "网站域名（每行一个，含 www.） Domains, one per line (www. included)",
            Input::Lines,
        ),
        spec(
            "website.service_types",
            "服务内容 Service types",
            Input::Ticks(SERVICES),
        ),
        spec(
            "website.pre_approvals.item",
            "前置审批 Pre-approval",
            Input::Select(PRE_APPROVALS),
        ),
        spec(
            "website.pre_approvals.document_number",
            "前置审批文号 Pre-approval document number",
            Input::Text,
        ),
        opens(
            "接入信息 Access",
            spec(
                "website.access.provider",
                "接入服务商账户名 Access provider's account name",
                Input::Text,
            ),
        ),
        spec(
            "website.access.method",
            "接入方式 Access method",
            Input::Select(ACCESS_METHODS),
        ),
        spec(
            "website.access.server_region_code",
            "服务器所在地行政区划代码 Server region code (6 digits)",
            Input::Text,
        ),
        spec(
            "website.access.ip_ranges",
            "IP 地址（每行一个） IP addresses or ranges, one per line",
            Input::Lines,
        ),
    ]);
    let mut principal = person!("website.principal").into_iter();
    if let Some(first) = principal.next() {
        all.push(opens("网站负责人 Website's principal", first));
    }
    all.extend(principal);
    all
}

/// The form's label of `value` for the choice field `field` (e.g. `subject.nature`,
/// `enterprise` → `企业 Enterprise`), or `value` itself if the form lists no such choice.
pub(super) fn choice_label(field: &str, value: &str) -> String {
    specs()
        .into_iter()
        .filter(|spec| spec.name == field)
        .find_map(|spec| match spec.input {
            Input::Select(options) | Input::Ticks(options) => options
                .iter()
                .find(|(option, _)| *option == value)
                .map(|(_, label)| (*label).to_owned()),
            _ => None,
        })
        .unwrap_or_else(|| value.to_owned())
}

/// A field as the page shows it.
struct Field {
    name: &'static str,
    label: &'static str,
    section: Option<&'static str>,
    kind: &'static str,
    value: String,
    options: Vec<(&'static str, &'static str, bool)>,
    problem: Option<String>,
}

/// What a change started from an approved record changes, for the form's header.
pub(super) struct ChangeOf {
    /// The subject's filing number.
    pub filing_number: String,
    /// `subject`, `website`, `access` or `added_website` ([`CHANGE_KINDS`]), with whether each
    /// is chosen.
    pub what: Vec<(&'static str, &'static str, bool)>,
    /// The kind chosen, for the links that fill the form from another website.
    pub what_chosen: &'static str,
    /// The number of the website the form is filled from and a website or access change
    /// changes.
    pub website: String,
    /// The filing's websites in service: number, the number as a query value, and whether it
    /// is the one chosen.
    pub websites: Vec<(String, String, bool)>,
}

/// What a change of an approved filing may change, as the form offers it.
pub(super) const CHANGE_KINDS: Options = &[
    ("website", "变更网站信息 Change the website"),
    ("access", "变更接入信息 Change the website's access"),
    ("subject", "变更主体信息 Change the subject"),
    ("added_website", "新增网站 Add a website"),
];

#[derive(Template)]
#[template(path = "new_filing.html")]
struct NewFilingPage<'a> {
    /// Where the form is sent.
    action: &'a str,
    /// Set for a change of an approved filing: its number, what changes, which website.
    change: Option<&'a ChangeOf>,
    csrf: &'a str,
    fields: &'a [Field],
    /// The file inputs of the scans.
    scans: &'a [ScanInput],
    /// `limits.max_scan_bytes` in KiB, for the hint beside the file inputs.
    max_scan_kib: usize,
    /// Files were sent with the form shown again: a browser cannot put them back, so the page
    /// asks for them again.
    files_not_kept: bool,
    /// Problems with no field of their own on the form, with the API's field path.
    others: &'a [(String, String)],
    /// Pre-approvals beyond the first (item, document number), kept as hidden fields: a
    /// website filled from an approved record keeps every one it holds.
    pre_approvals_kept: &'a [(String, String)],
    provider: bool,
    on_behalf_of: &'a str,
    on_behalf_of_problem: Option<&'a str>,
    message: Option<&'a str>,
    user: Option<&'a str>,
}

/// The form as sent: every name with every value (ticked boxes repeat a name), and the files
/// sent with it.
pub struct FilingForm {
    pairs: Vec<(String, String)>,
    uploads: Uploads,
}

impl FilingForm {
    /// A form filled with these names and values (a change's form, filled from an approved
    /// record).
    pub(super) fn from_pairs(pairs: Vec<(String, String)>) -> FilingForm {
        FilingForm {
            pairs,
            uploads: Uploads::default(),
        }
    }

    /// The files sent with the form.
    pub(super) fn uploads(&self) -> &Uploads {
        &self.uploads
    }

    pub(super) fn parse(bytes: &[u8]) -> Result<FilingForm, PageError> {
        let mut pairs = Vec::new();
        for (key, value) in form_urlencoded::parse(bytes) {
            if pairs.len() >= MAX_FILING_FORM_FIELDS {
                return Err(PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "表单字段过多 · The form has more than {MAX_FILING_FORM_FIELDS} fields"
                    ),
                ));
            }
            pairs.push((key.into_owned(), value.into_owned()));
        }
        Ok(FilingForm::from_pairs(pairs))
    }

    pub(super) fn first(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.trim())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .collect()
    }
}

/// The page's fields, filled with what was typed and the problems found.
fn fields(form: Option<&FilingForm>, problems: &[(String, String)]) -> Vec<Field> {
    specs()
        .into_iter()
        .map(|spec| {
            let typed = form.map_or("", |f| f.first(spec.name));
            let ticked = form.map(|f| f.all(spec.name)).unwrap_or_default();
            let (kind, options): (&'static str, Options) = match spec.input {
                Input::Text => ("text", &[]),
                Input::Lines => ("lines", &[]),
                Input::Select(options) => ("select", options),
                Input::Ticks(options) => ("ticks", options),
            };
            let problem: Vec<&str> = problems
                .iter()
                .filter(|(field, _)| field == spec.name)
                .map(|(_, message)| message.as_str())
                .collect();
            Field {
                name: spec.name,
                label: spec.label,
                section: spec.section,
                kind,
                value: typed.to_owned(),
                options: options
                    .iter()
                    .map(|(value, label)| {
                        let chosen = if kind == "ticks" {
                            ticked.contains(value)
                        } else {
                            typed == *value
                        };
                        (*value, *label, chosen)
                    })
                    .collect(),
                problem: (!problem.is_empty()).then(|| problem.join("；")),
            }
        })
        .collect()
}

/// The form field an API problem's path concerns: `submission.filing.websites[0].domains[1]`
/// is `website.domains`.
fn form_field(path: &str) -> String {
    let access;
    let path = if let Some(rest) = path.strip_prefix("submission.change.access.") {
        access = format!("website.access.{rest}");
        &access
    } else {
        path.strip_prefix("submission.filing.")
            .or_else(|| path.strip_prefix("submission.change."))
            .unwrap_or(path)
    };
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => in_index = true,
            ']' => in_index = false,
            c if !in_index => out.push(c),
            _ => {}
        }
    }
    match out.strip_prefix("websites") {
        Some(rest) => format!("website{rest}"),
        None => out,
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn person(form: &FilingForm, at: &str) -> Value {
    let get = |field: &str| form.first(&format!("{at}.{field}")).to_owned();
    json!({
        "name": get("name"),
        "certificate_type": get("certificate_type"),
        "certificate_number": get("certificate_number"),
        "mobile_phones": lines(&get("mobile_phones")),
        "office_phones": lines(&get("office_phones")),
        "email": get("email"),
    })
}

/// The problems of fields whose choices are not on the form's lists (only a hand-made form
/// sends those).
fn unlisted_choices(form: &FilingForm) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for spec in specs() {
        let allowed: Options = match spec.input {
            Input::Select(options) | Input::Ticks(options) => options,
            _ => continue,
        };
        for value in form.all(spec.name) {
            if !allowed.iter().any(|(option, _)| *option == value) {
                problems.push((
                    spec.name.to_owned(),
                    format!("请从列表中选择 · Choose one of the listed values, not {value:?}"),
                ));
            }
        }
    }
    problems
}

fn subject_json(form: &FilingForm) -> Value {
    let get = |name: &str| form.first(name).to_owned();
    json!({
        "name": get("subject.name"),
        "nature": get("subject.nature"),
        "certificate_type": get("subject.certificate_type"),
        "certificate_number": get("subject.certificate_number"),
        "region_code": get("subject.region_code"),
        "address": get("subject.address"),
        "investor": get("subject.investor"),
        "principal": person(form, "subject.principal"),
    })
}

fn access_json(form: &FilingForm) -> Value {
    let get = |name: &str| form.first(name).to_owned();
    json!({
        "provider": get("website.access.provider"),
        "method": get("website.access.method"),
        "server_region_code": get("website.access.server_region_code"),
        "ip_ranges": lines(&get("website.access.ip_ranges")),
    })
}

fn website_json(form: &FilingForm) -> Value {
    let get = |name: &str| form.first(name).to_owned();
    // The first pre-approval is the form's field; a website filled from an approved record
    // carries any further ones as hidden fields after it (`pre_approvals_kept`).
    let pre_approvals: Vec<Value> = form
        .all("website.pre_approvals.item")
        .into_iter()
        .zip(form.all("website.pre_approvals.document_number"))
        .filter(|(item, _)| !item.is_empty())
        .map(|(item, document_number)| json!({"item": item, "document_number": document_number}))
        .collect();
    json!({
        "name": get("website.name"),
        "home_urls": lines(&get("website.home_urls")),
        "domains": lines(&get("website.domains")),
        "service_types": form.all("website.service_types"),
        "pre_approvals": pre_approvals,
        "access": access_json(form),
        "principal": person(form, "website.principal"),
    })
}

/// The request with `submission` as its body, and the customer an access provider typed.
fn request_of(
    form: &FilingForm,
    submission: Value,
) -> Result<api::SubmissionRequest, Vec<(String, String)>> {
    let mut body = json!({ "submission": submission });
    let on_behalf_of = form.first("on_behalf_of");
    if !on_behalf_of.is_empty() {
        body["on_behalf_of"] = json!(on_behalf_of);
    }
    serde_json::from_value(body)
        .map_err(|error| vec![("subject.name".to_owned(), error.to_string())])
}

/// The scans sent with `form` (the API's attachments, and the file input of each), for a
/// submission listing the form's website or (`website_listed` false) none, added to
/// `problems` when they do not fit it.
fn scans_of(
    form: &FilingForm,
    website_listed: bool,
    problems: &mut Vec<(String, String)>,
) -> FormScans {
    form.uploads
        .attachments(form.first("website.pre_approvals.item"), website_listed)
        .unwrap_or_else(|found| {
            problems.extend(found);
            FormScans::default()
        })
}

/// A request of the form, with the scans it carries and the file input of each.
pub(super) struct FormRequest {
    pub request: api::SubmissionRequest,
    /// The file input of each of the request's attachments, in order.
    pub scan_inputs: Vec<String>,
}

/// The API request the form stands for, with its scans, or the problems of fields whose
/// choices are not on the form's lists (only a hand-made form sends those) and of scans that
/// do not fit it.
fn api_request(form: &FilingForm) -> Result<FormRequest, Vec<(String, String)>> {
    let mut problems = unlisted_choices(form);
    let scans = scans_of(form, true, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let filing = json!({
        "subject": subject_json(form),
        "websites": [website_json(form)],
    });
    let mut request = request_of(form, json!({"kind": "new_filing", "filing": filing}))?;
    if let api::SubmissionBody::NewFiling { filing } = &mut request.submission {
        filing.attachments = scans.attachments;
    }
    Ok(FormRequest {
        request,
        scan_inputs: scans.inputs,
    })
}

/// The change of approved filing `filing_number` the form stands for: what its `what` field
/// names, from the form's subject fields, website fields or access fields, for the website its
/// `website_number` field names, with the scans sent. Problems as for [`api_request`].
pub(super) fn change_request(
    form: &FilingForm,
    filing_number: &str,
) -> Result<FormRequest, Vec<(String, String)>> {
    let mut problems = unlisted_choices(form);
    let what = form.first("what");
    let scans = scans_of(
        form,
        matches!(what, "website" | "added_website"),
        &mut problems,
    );
    let website_number = form.first("website_number");
    let change = match what {
        "subject" => json!({"what": "subject", "subject": subject_json(form)}),
        "website" => json!({"what": "website", "website_number": website_number,
            "website": website_json(form)}),
        "access" => json!({"what": "access", "website_number": website_number,
            "access": access_json(form)}),
        "added_website" => json!({"what": "added_website", "website": website_json(form)}),
        other => {
            problems.push((
                "what".to_owned(),
                format!("请从列表中选择 · Choose one of the listed values, not {other:?}"),
            ));
            Value::Null
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut request = request_of(
        form,
        json!({"kind": "change", "filing_number": filing_number, "change": change}),
    )?;
    if let api::SubmissionBody::Change {
        attachments: carried,
        ..
    } = &mut request.submission
    {
        *carried = scans.attachments;
    }
    Ok(FormRequest {
        request,
        scan_inputs: scans.inputs,
    })
}

pub(super) fn may_file(user: &CurrentUser) -> Result<(), PageError> {
    match user.session.account.kind {
        AccountKind::WebsiteOwner | AccountKind::AccessProvider => Ok(()),
        _ => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "只有网站主办者和接入服务商可以提交备案 · Only website owners and access providers \
             submit filings",
        )),
    }
}

fn render(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    form: Option<&FilingForm>,
    problems: &[(String, String)],
    message: Option<&str>,
) -> Response {
    render_form(
        state,
        user,
        (status, "/account/filings/new", None),
        form,
        problems,
        message,
    )
}

/// The filing form sent to `action` (a new filing, or the change `change` describes), filled
/// with `form` and with `problems` beside their fields.
pub(super) fn render_form(
    state: &AppState,
    user: &CurrentUser,
    (status, action, change): (StatusCode, &str, Option<&ChangeOf>),
    form: Option<&FilingForm>,
    problems: &[(String, String)],
    message: Option<&str>,
) -> Response {
    let fields = fields(form, problems);
    let pre_approvals_kept: Vec<(String, String)> = form.map_or_else(Vec::new, |form| {
        form.all("website.pre_approvals.item")
            .into_iter()
            .zip(form.all("website.pre_approvals.document_number"))
            .skip(1)
            .map(|(item, number)| (item.to_owned(), number.to_owned()))
            .collect()
    });
    let kept_labels: Vec<(String, String)> = pre_approvals_kept
        .iter()
        .map(|(item, number)| {
            let label = choice_label("website.pre_approvals.item", item);
            (item.clone(), format!("{label} {number}"))
        })
        .collect();
    let no_uploads = Uploads::default();
    let uploads = form.map_or(&no_uploads, FilingForm::uploads);
    let scans = form_scans::inputs(&kept_labels, uploads, problems);
    let others: Vec<(String, String)> = problems
        .iter()
        .filter(|(field, _)| {
            field != "on_behalf_of"
                && !fields.iter().any(|f| f.name == field)
                && !scans.iter().any(|input| input.name == *field)
        })
        .cloned()
        .collect();
    let page = NewFilingPage {
        action,
        change,
        pre_approvals_kept: &pre_approvals_kept,
        csrf: &user.session.csrf_token,
        fields: &fields,
        scans: &scans,
        max_scan_kib: state.limits.max_scan_bytes / 1024,
        files_not_kept: uploads.any_sent(),
        others: &others,
        provider: user.session.account.kind == AccountKind::AccessProvider,
        on_behalf_of: form.map_or("", |f| f.first("on_behalf_of")),
        on_behalf_of_problem: problems
            .iter()
            .find(|(field, _)| field == "on_behalf_of")
            .map(|(_, message)| message.as_str()),
        message,
        user: Some(&user.session.account.name),
    };
    (status, html(&page)).into_response()
}

/// `GET /account/filings/new`.
pub(in crate::http) async fn new_filing_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    may_file(&user)?;
    Ok(render(&state, &user, StatusCode::OK, None, &[], None))
}

/// The filing form a page posted: `multipart/form-data` with its scans
/// ([`form_scans::read_multipart`]), or URL-encoded without any, within
/// [`MAX_FILING_FORM_BYTES`] of text; parsed. Anything else is refused with a page saying why.
pub(super) async fn read_form(
    state: &AppState,
    headers: &HeaderMap,
    body: Request,
) -> Result<FilingForm, PageError> {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("multipart/form-data") {
        let (pairs, uploads) = form_scans::read_multipart(state, body).await?;
        if pairs.len() > MAX_FILING_FORM_FIELDS {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                format!("表单字段过多 · The form has more than {MAX_FILING_FORM_FIELDS} fields"),
            ));
        }
        return Ok(FilingForm { pairs, uploads });
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(PageError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "请通过本站页面上的表单提交 · Send this from the form on the site's page",
        ));
    }
    // The route's body limit leaves room for scans; a form without any is held to the text's.
    let bytes = axum::body::to_bytes(body.into_body(), MAX_FILING_FORM_BYTES)
        .await
        .map_err(|_| {
            PageError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("表单过大 · The form is larger than {MAX_FILING_FORM_BYTES} bytes"),
            )
        })?;
    FilingForm::parse(&bytes)
}

/// The problems found before the API's checks: fields too long and files not taken.
pub(super) fn form_problems(form: &FilingForm) -> Vec<(String, String)> {
    let mut problems = overlong(form).unwrap_or_default();
    problems.extend(form.uploads.problems.iter().cloned());
    problems
}

/// `POST /account/filings/new`: the API's checks, then the store, as `POST
/// /api/v1/submissions` does; problems come back beside their fields. A form with any problem
/// stores nothing.
pub(in crate::http) async fn submit_new_filing(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    body: Request,
) -> Result<Response, PageError> {
    may_file(&user)?;
    // A form from another site is refused before its files are read; the token, in the
    // body, is checked once it is read.
    super::same_origin(&headers)?;
    let form = read_form(&state, &headers, body).await?;
    let csrf = super::FormFields::single("csrf", form.first("csrf"));
    user.check_csrf(&headers, &csrf)?;
    let again = |status: StatusCode, problems: &[(String, String)], message: Option<&str>| {
        render(&state, &user, status, Some(&form), problems, message)
    };
    let mut problems = form_problems(&form);
    let request = api_request(&form).map_err(|found| problems.extend(found));
    let request = match request {
        Ok(request) if problems.is_empty() => request,
        _ => return Ok(again(StatusCode::UNPROCESSABLE_ENTITY, &problems, None)),
    };
    match file_with_scans(&state, &user, &request.request, &request.scan_inputs).await {
        Ok(_) => Ok(Redirect::to("/account/filings").into_response()),
        Err(Refused::Problems(problems)) => {
            Ok(again(StatusCode::UNPROCESSABLE_ENTITY, &problems, None))
        }
        Err(Refused::Conflict(message)) => Ok(again(StatusCode::CONFLICT, &[], Some(&message))),
        Err(Refused::Page(error)) => Err(error),
    }
}

/// The problem of the first field longer than [`MAX_FILING_FIELD_CHARS`], if one is.
fn overlong(form: &FilingForm) -> Option<Vec<(String, String)>> {
    let (name, _) = form
        .pairs
        .iter()
        .find(|(_, value)| value.chars().count() > MAX_FILING_FIELD_CHARS)?;
    Some(vec![(
        name.clone(),
        format!(
            "过长，最多 {MAX_FILING_FIELD_CHARS} 个字符 · Longer than {MAX_FILING_FIELD_CHARS} characters"
        ),
    )])
}

/// Why a submission from a page was not stored.
pub(super) enum Refused {
    /// The API's problems, each with the form field its path names.
    Problems(Vec<(String, String)>),
    /// It conflicts with what is stored (the API's 409), with its message.
    Conflict(String),
    /// Anything else, as an error page.
    Page(PageError),
}

/// Checks `request` for the logged-in account exactly as `POST /api/v1/submissions` does
/// (`outer::http::prepare`) and stores it as a new receipt, whose id is returned.
pub(super) async fn file(
    state: &AppState,
    user: &CurrentUser,
    request: &api::SubmissionRequest,
) -> Result<String, Refused> {
    file_with_scans(state, user, request, &[]).await
}

/// [`file`] for a request carrying scans, whose problems are shown beside the file input each
/// came from (`scan_inputs`, in the order of the request's attachments).
pub(super) async fn file_with_scans(
    state: &AppState,
    user: &CurrentUser,
    request: &api::SubmissionRequest,
    scan_inputs: &[String],
) -> Result<String, Refused> {
    let account = &user.session.account;
    let principal = Principal {
        account_id: account.id,
        account: account.name.clone(),
        kind: account.kind,
        token_id: 0,
    };
    let refused = |error: AppError| match error {
        AppError::Validation(problems) => Refused::Problems(
            problems
                .into_iter()
                .map(|p| {
                    let field = form_scans::input_of_problem(&p.field, scan_inputs)
                        .unwrap_or_else(|| form_field(&p.field));
                    (field, p.message)
                })
                .collect(),
        ),
        AppError::Conflict { message, .. } => Refused::Conflict(message),
        error => Refused::Page(error.into()),
    };
    let prepared = prepare(state, &principal, request).await.map_err(refused)?;
    let mut version = prepared.version;
    version.receipt = new_receipt_id();
    let inserted = state
        .store
        .insert_submission(NewSubmission {
            account_id: account.id,
            kind: prepared.kind.to_owned(),
            filing_number: prepared.filing_number,
            subject_key: prepared.subject_key,
            version,
            idempotency: None,
        })
        .await
        .map_err(|error| refused(AppError::from(error)))?;
    state.metrics.submission(prepared.kind, "created");
    Ok(match inserted {
        Inserted::Created { receipt, .. } | Inserted::Replayed { receipt, .. } => receipt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_name_the_form_fields() {
        assert_eq!(
            form_field("submission.filing.websites[0].domains[1]"),
            "website.domains"
        );
        assert_eq!(
            form_field("submission.filing.subject.principal.mobile_phones[0]"),
            "subject.principal.mobile_phones"
        );
        assert_eq!(
            form_field("submission.filing.websites[0].pre_approvals[0].document_number"),
            "website.pre_approvals.document_number"
        );
        // A change's paths name the same fields.
        assert_eq!(
            form_field("submission.change.website.domains[0]"),
            "website.domains"
        );
        assert_eq!(
            form_field("submission.change.access.ip_ranges[1]"),
            "website.access.ip_ranges"
        );
        assert_eq!(form_field("submission.change.subject.name"), "subject.name");
        assert_eq!(
            form_field("submission.change.website_number"),
            "website_number"
        );
        assert_eq!(form_field("submission.receipt"), "submission.receipt");
        let names: Vec<&str> = specs().iter().map(|s| s.name).collect();
        for name in &names {
            assert_eq!(names.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
    }
}
