//! Scans on the owner's filing forms (the new filing and the change from an approved record):
//! the forms are sent as `multipart/form-data`, with one file input for each scan the API takes
//! (`api::AttachmentBody`): the subject's certificate, the principal's identity document and
//! verification photo and any other document, which belong to the submission as a whole, and
//! the document of each pre-approval entry of the website on the form, which belongs to that
//! entry.
//!
//! The body is read part by part. Text fields count against [`MAX_FILING_FORM_BYTES`] and
//! [`MAX_FILING_FORM_FIELDS`] as in a URL-encoded form; a file is kept up to the configured
//! `limits.max_scan_bytes` and counted beyond it, so a file too large is named with its size
//! beside its input instead of refusing the form. The whole body is capped by
//! [`max_body_bytes`] (the route's limit): a file that runs past it is named as too large and
//! whatever follows it is not read. Each file is checked by `filing::scan::check`, the API's
//! one rule (JPEG or PNG by its bytes, the declared type agreeing), and at most
//! `bundle_format::records::MAX_ATTACHMENTS` are taken, the API's count limit.

use axum::extract::{FromRequest as _, Multipart, Request};
use axum::http::StatusCode;
use base64::Engine as _;
use bundle_format::records::MAX_ATTACHMENTS;

use super::PageError;
use super::filing_form::{MAX_FILING_FORM_BYTES, MAX_FILING_FORM_FIELDS};
use crate::api::{AttachmentBody, AttachmentKind, PreApprovalItem, PreApprovalRef};
use crate::config::Limits;
use crate::http::AppState;

/// The file input of the document of the pre-approval chosen in the form's pre-approval field.
pub(super) const PRE_APPROVAL_INPUT: &str = "scan.pre_approval";

/// The file inputs of scans that belong to the submission as a whole: name, label, kind.
const WHOLE_SUBMISSION_INPUTS: [(&str, &str, AttachmentKind); 4] = [
    (
        "scan.subject_certificate",
        "主办单位证件扫描件 Subject's certificate (scan)",
        AttachmentKind::SubjectCertificate,
    ),
    (
        "scan.principal_identity",
        "负责人身份证件扫描件 Principal's identity document (scan)",
        AttachmentKind::PrincipalIdentity,
    ),
    (
        "scan.principal_photo",
        "网站负责人核验照片 Website principal's verification photo",
        AttachmentKind::PrincipalPhoto,
    ),
    (
        "scan.other",
        "其他材料 Any other document",
        AttachmentKind::Other,
    ),
];

/// Most characters of a file name (or a part's name) a page shows; longer ones are cut.
const MAX_FILE_NAME_CHARS: usize = 200;

/// The body limit of a filing form's route: the text fields and [`MAX_ATTACHMENTS`] scans of
/// `limits.max_scan_bytes`, each with room for its part's headers.
pub fn max_body_bytes(limits: &Limits) -> usize {
    MAX_FILING_FORM_BYTES + MAX_ATTACHMENTS * (limits.max_scan_bytes + 1024)
}

/// The file input of the document of the kept pre-approval entry `item` (a website filled from
/// an approved record may list several; the first is the form's field).
pub(super) fn kept_pre_approval_input(item: &str) -> String {
    format!("{PRE_APPROVAL_INPUT}.{item}")
}

/// A file input as the page shows it.
pub(super) struct ScanInput {
    pub name: String,
    pub label: String,
    /// The file sent with the form shown again, which the browser cannot keep.
    pub sent: Option<String>,
    pub problem: Option<String>,
}

/// The form's file inputs: the whole submission's, the form's pre-approval's, and one for each
/// kept pre-approval entry (item, label), with the files sent and the problems found.
pub(super) fn inputs(
    kept: &[(String, String)],
    uploads: &Uploads,
    problems: &[(String, String)],
) -> Vec<ScanInput> {
    let mut shown: Vec<(String, String)> = WHOLE_SUBMISSION_INPUTS
        .iter()
        .map(|(name, label, _)| ((*name).to_owned(), (*label).to_owned()))
        .collect();
    shown.push((
        PRE_APPROVAL_INPUT.to_owned(),
        "前置审批文件（上面所选的前置审批） Pre-approval document (of the pre-approval chosen above)"
            .to_owned(),
    ));
    for (item, label) in kept {
        shown.push((
            kept_pre_approval_input(item),
            format!("前置审批文件 Pre-approval document: {label}"),
        ));
    }
    shown
        .into_iter()
        .map(|(name, label)| {
            let sent: Vec<&str> = uploads
                .sent
                .iter()
                .filter(|(input, _)| *input == name)
                .map(|(_, file)| file.as_str())
                .collect();
            let problem: Vec<&str> = problems
                .iter()
                .filter(|(field, _)| *field == name)
                .map(|(_, message)| message.as_str())
                .collect();
            ScanInput {
                sent: (!sent.is_empty()).then(|| sent.join("，")),
                problem: (!problem.is_empty()).then(|| problem.join("；")),
                name,
                label,
            }
        })
        .collect()
}

/// Whether `name` is one of the form's file inputs.
fn is_scan_input(name: &str) -> bool {
    WHOLE_SUBMISSION_INPUTS
        .iter()
        .any(|(input, _, _)| *input == name)
        || name == PRE_APPROVAL_INPUT
        || name
            .strip_prefix(PRE_APPROVAL_INPUT)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|item| pre_approval_item(item).is_some())
}

fn pre_approval_item(item: &str) -> Option<PreApprovalItem> {
    serde_json::from_value(serde_json::Value::from(item)).ok()
}

/// One file taken from the form.
pub(super) struct Upload {
    /// The file input it came from.
    input: String,
    /// Its type by its bytes, which agrees with the one the browser declared.
    media_type: &'static str,
    bytes: Vec<u8>,
}

/// The scans of a submission as the API takes them, with the file input each came from (the
/// API's problems about `attachments[i]` are shown beside `inputs[i]`).
#[derive(Default)]
pub(super) struct FormScans {
    pub attachments: Vec<AttachmentBody>,
    pub inputs: Vec<String>,
}

/// The files a form carried: those taken, every one sent (input, file name), and the problems
/// of those refused, by input.
#[derive(Default)]
pub(super) struct Uploads {
    taken: Vec<Upload>,
    sent: Vec<(String, String)>,
    /// Problems found while reading, by form field: files too large, of another type, too
    /// many.
    pub problems: Vec<(String, String)>,
}

impl Uploads {
    /// Whether any file was sent.
    pub(super) fn any_sent(&self) -> bool {
        !self.sent.is_empty()
    }

    /// The scans as the API takes them, or the problems of scans that do not fit the
    /// submission: a pre-approval document needs the pre-approval it
    /// documents chosen on the form (`chosen_item`), and a website on the submission
    /// (`website_listed`).
    pub(super) fn attachments(
        &self,
        chosen_item: &str,
        website_listed: bool,
    ) -> Result<FormScans, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut scans = FormScans::default();
        for upload in &self.taken {
            let whole = WHOLE_SUBMISSION_INPUTS
                .iter()
                .find(|(name, _, _)| *name == upload.input)
                .map(|(_, _, kind)| *kind);
            let (kind, pre_approval) = match whole {
                Some(kind) => (kind, None),
                None => {
                    let item = if upload.input == PRE_APPROVAL_INPUT {
                        chosen_item
                    } else {
                        upload
                            .input
                            .strip_prefix(PRE_APPROVAL_INPUT)
                            .and_then(|rest| rest.strip_prefix('.'))
                            .unwrap_or_default()
                    };
                    let Some(item) = pre_approval_item(item) else {
                        problems.push((
                            upload.input.clone(),
                            "请先在上面选择该文件所批准的前置审批 · Choose above the pre-approval \
                             this document is for"
                                .to_owned(),
                        ));
                        continue;
                    };
                    if !website_listed {
                        problems.push((
                            upload.input.clone(),
                            "前置审批文件只随网站变更或新增网站提交 · A pre-approval document \
                             goes with a website change or an added website"
                                .to_owned(),
                        ));
                        continue;
                    }
                    (
                        AttachmentKind::PreApproval,
                        Some(PreApprovalRef { website: 0, item }),
                    )
                }
            };
            scans.attachments.push(AttachmentBody {
                kind,
                media_type: upload.media_type.to_owned(),
                base64: base64::engine::general_purpose::STANDARD.encode(&upload.bytes),
                pre_approval,
            });
            scans.inputs.push(upload.input.clone());
        }
        if problems.is_empty() {
            Ok(scans)
        } else {
            Err(problems)
        }
    }
}

/// The file input an API problem's path names, if it is about scan `i` of the submission
/// (`submission.filing.attachments[i]…` or `submission.attachments[i]…`).
pub(super) fn input_of_problem(path: &str, inputs: &[String]) -> Option<String> {
    let rest = path
        .strip_prefix("submission.filing.attachments[")
        .or_else(|| path.strip_prefix("submission.attachments["))?;
    let index: usize = rest[..rest.find(']')?].parse().ok()?;
    inputs.get(index).cloned()
}

/// The page for a form that cannot be read: too large for the route's limit (before any of
/// it could be shown again), or malformed.
fn unreadable(error: &axum::extract::multipart::MultipartError, limits: &Limits) -> PageError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "表单超过 {limit} 字节；扫描件每个不超过 {max} 字节 · The form is larger than \
                 {limit} bytes; scans are at most {max} bytes each",
                limit = max_body_bytes(limits),
                max = limits.max_scan_bytes
            ),
        )
    } else {
        PageError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "表单无法读取 · The form could not be read: {}",
                error.body_text()
            ),
        )
    }
}

fn too_many_fields() -> PageError {
    PageError::new(
        StatusCode::BAD_REQUEST,
        format!(
            "表单字段过多 · The form has more than {} fields",
            MAX_FILING_FORM_FIELDS + MAX_ATTACHMENTS
        ),
    )
}

fn text_too_large() -> PageError {
    PageError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("表单过大 · The form's text is larger than {MAX_FILING_FORM_BYTES} bytes"),
    )
}

/// A file name as sent, without any directory a browser may have put before it, within
/// [`MAX_FILE_NAME_CHARS`].
fn shown_file_name(sent: &str) -> String {
    let base = sent.rsplit(['/', '\\']).next().unwrap_or(sent);
    base.chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILE_NAME_CHARS)
        .collect()
}

/// What a file too large is told: its name, its size (or the size read when the body's limit
/// stopped it) and the limit.
fn too_large(file: &str, size: usize, cut: bool, max: usize) -> String {
    let at_least = if cut { "至少 " } else { "" };
    let more_than = if cut { "more than " } else { "" };
    format!(
        "文件“{file}”{at_least}{size} 字节，超过扫描件上限 {max} 字节（{kib} KiB） · The file \
         “{file}” is {more_than}{size} bytes; scans are at most {max} bytes ({kib} KiB)",
        kib = max / 1024
    )
}

/// Reads a `multipart/form-data` filing form: its text fields as name-value pairs, and its
/// files, each checked as the module documentation says. A form that cannot be read at all
/// (malformed, too many fields, too much text) is refused with a page saying why; a file that
/// cannot be taken is a problem beside its input.
pub(super) async fn read_multipart(
    state: &AppState,
    request: Request,
) -> Result<(Vec<(String, String)>, Uploads), PageError> {
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|rejection| {
            PageError::new(
                StatusCode::BAD_REQUEST,
                format!("表单无法读取 · The form could not be read: {rejection}"),
            )
        })?;
    let max = state.limits.max_scan_bytes;
    let mut pairs = Vec::new();
    let mut uploads = Uploads::default();
    let mut text_bytes = 0usize;
    let mut parts = 0usize;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE && parts > 0 => {
                // The limit fell between two parts: what came before is kept.
                uploads.problems.push((
                    "scans".to_owned(),
                    format!(
                        "表单超过 {limit} 字节，其后的内容未读取 · The form is larger than \
                         {limit} bytes; what came after that was not read",
                        limit = max_body_bytes(&state.limits)
                    ),
                ));
                break;
            }
            Err(error) => return Err(unreadable(&error, &state.limits)),
        };
        parts += 1;
        if parts > MAX_FILING_FORM_FIELDS + MAX_ATTACHMENTS {
            return Err(too_many_fields());
        }
        let name = field.name().unwrap_or_default().to_owned();
        let Some(file_name) = field.file_name().map(shown_file_name) else {
            let mut text = Vec::new();
            while let Some(chunk) = field
                .chunk()
                .await
                .map_err(|e| unreadable(&e, &state.limits))?
            {
                text_bytes += chunk.len();
                if text_bytes > MAX_FILING_FORM_BYTES {
                    return Err(text_too_large());
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text).map_err(|_| {
                let name = shown_file_name(&name);
                PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("字段 {name} 不是 UTF-8 文本 · Field {name} is not UTF-8 text"),
                )
            })?;
            pairs.push((name, text));
            continue;
        };
        if !is_scan_input(&name) {
            let name = shown_file_name(&name);
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "表单没有名为 {name:?} 的文件栏目 · The form has no file input named {name:?}"
                ),
            ));
        }
        let declared = field
            .content_type()
            .map(|t| {
                t.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let mut bytes = Vec::new();
        let mut size = 0usize;
        let mut cut = false;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len();
                    let room = (max + 1).saturating_sub(bytes.len());
                    bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    cut = true;
                    break;
                }
                Err(error) => return Err(unreadable(&error, &state.limits)),
            }
        }
        if file_name.is_empty() && size == 0 {
            continue; // an input left empty
        }
        uploads.sent.push((name.clone(), file_name.clone()));
        let problem = if size > max || cut {
            Some(too_large(&file_name, size, cut, max))
        } else if uploads.taken.len() >= MAX_ATTACHMENTS {
            Some(format!(
                "文件“{file_name}”未收：一次提交最多 {MAX_ATTACHMENTS} 个扫描件 · The file \
                 “{file_name}” was not taken: a submission carries at most {MAX_ATTACHMENTS} scans"
            ))
        } else {
            match filing::scan::check(&declared, &bytes, max) {
                Ok(()) => None,
                Err(problem) => Some(format!(
                    "文件“{file_name}”类型不对，扫描件须为 JPEG 或 PNG 图片 · The file \
                     “{file_name}” is of the wrong type ({problem}); scans are JPEG or PNG images"
                )),
            }
        };
        match problem {
            Some(problem) => uploads.problems.push((name, problem)),
            None => uploads.taken.push(Upload {
                input: name,
                media_type: filing::scan::media_type_of(&bytes).unwrap_or_default(),
                bytes,
            }),
        }
        if cut {
            break;
        }
    }
    Ok((pairs, uploads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_problems_of_a_scan_name_its_input() {
        let inputs = vec!["scan.other".to_owned(), "scan.pre_approval".to_owned()];
        assert_eq!(
            input_of_problem("submission.filing.attachments[1].base64", &inputs).as_deref(),
            Some("scan.pre_approval")
        );
        assert_eq!(
            input_of_problem("submission.attachments[0].pre_approval.item", &inputs).as_deref(),
            Some("scan.other")
        );
        assert_eq!(
            input_of_problem("submission.attachments[7].kind", &inputs),
            None
        );
        assert_eq!(input_of_problem("submission.filing.subject", &inputs), None);
        assert!(is_scan_input("scan.pre_approval.news"));
        assert!(!is_scan_input("scan.pre_approval.gambling"));
        assert!(!is_scan_input("website.name"));
        assert_eq!(shown_file_name("C:\\Users\\me\\证件.png"), "证件.png");
    }
}
