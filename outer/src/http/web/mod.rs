//! The account pages under `/account`: registration with an e-mailed code, login and logout,
//! password change and reset, deletion, the accounts the ministry and the authorities create,
//! API tokens, the owner's list of filings, and the access provider's list of filings awaiting
//! its check. Server-rendered with askama templates (in `outer/templates/`, escaped by
//! default), in Chinese with English beside it, no script.
//!
//! What every page shares lives here: the session cookie (`Secure`, `HttpOnly`,
//! `SameSite=Strict`, only the SHA-256 of its secret stored), the CSRF check every form passes
//! (the session's token once logged in, a double-submit cookie before), the form reader with a
//! limit on every field, the client's address for throttling, and the error page.

mod certificate;
mod filing_form;
mod filings;
mod form_scans;
mod home;
mod login;
mod provider_checks;
mod records;
mod register;
pub mod throttle;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use askama::Template;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::{AppError, AppState};
use crate::accounts::{self, FieldProblem};
use crate::store::{CodeOutcome, CodePurpose, Session, StoreError};

pub(super) use certificate::{certificate_download, certificate_page};
pub(super) use filing_form::{new_filing_page, submit_new_filing};
pub(super) use filings::{cancel, filings_page, own_certificate, withdraw};
pub(super) use form_scans::max_body_bytes as filing_form_body_limit;
pub(super) use home::{
    account_page, change_password, create_account, delete_account, issue_token, revoke_token,
};
pub(super) use login::{
    login, login_page, logout, reset_confirm, reset_confirm_page, reset_page, reset_request,
};
pub(super) use provider_checks::{provider_checks_page, submit_provider_check};
pub(super) use records::{change_page, record_page, submit_change};
pub(super) use register::{register, register_page, resend_code, verify, verify_page};

/// Most bytes of an account form's body.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// Most fields of an account form.
pub const MAX_FORM_FIELDS: usize = 16;

/// The session cookie's name: the `__Host-` prefix makes the browser refuse it unless it is
/// `Secure`, has `Path=/` and no `Domain`, so a neighbouring host cannot plant one.
fn session_cookie(state: &AppState) -> &'static str {
    if state.accounts.secure_cookies {
        "__Host-sluice-session"
    } else {
        "sluice-session"
    }
}

/// The anonymous forms' double-submit cookie.
fn csrf_cookie(state: &AppState) -> &'static str {
    if state.accounts.secure_cookies {
        "__Host-sluice-csrf"
    } else {
        "sluice-csrf"
    }
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let secure = if state.accounts.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let age = max_age.map_or(String::new(), |secs| format!("; Max-Age={secs}"));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The value of cookie `name` in the request, if it looks like one of ours (64 hex digits).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What a page shows for an error, and with which status.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl PageError {
    fn new(status: StatusCode, message: impl Into<String>) -> PageError {
        PageError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn csrf() -> PageError {
        PageError::new(
            StatusCode::FORBIDDEN,
            "表单已失效或并非来自本站，请重新打开页面后再提交 · \
             The form has expired or did not come from this site: open the page again and resend it",
        )
    }

    fn login_required() -> PageError {
        PageError::new(StatusCode::UNAUTHORIZED, "请先登录 · Log in first")
    }
}

impl From<StoreError> for PageError {
    fn from(error: StoreError) -> PageError {
        PageError::from(AppError::from(error))
    }
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> PageError {
        let message = error.to_string();
        // The one mapping of errors to statuses is AppError's (which also logs server errors).
        let status = error.into_response().status();
        if status.is_server_error() {
            PageError::new(
                status,
                "服务暂时无法完成请求，请稍后再试 · The service could not do this just now; try again shortly",
            )
        } else {
            PageError::new(status, message)
        }
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage<'a> {
    title: &'a str,
    message: &'a str,
    secret: Option<&'a str>,
    link: Option<(&'a str, &'a str)>,
    user: Option<&'a str>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = NoticePage {
            title: "出错了 · Something is wrong",
            message: &self.message,
            secret: None,
            link: Some(("/account", "返回账户 · Back to the account")),
            user: None,
        };
        let mut response = (self.status, html(&page)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Renders a page; a template that fails to render is a server error, logged.
fn html(page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering an account page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
        }
    }
}

/// A notice page with a status.
fn notice(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
    user: Option<&str>,
) -> Response {
    let page = NoticePage {
        title,
        message,
        secret: None,
        link,
        user,
    };
    (status, html(&page)).into_response()
}

/// The fields of a URL-encoded form, each checked for size when it is read.
pub struct FormFields(HashMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<FormFields, PageError> {
        let is_form = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err(PageError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "请通过本站页面上的表单提交 · Send this from the form on the site's page \
                 (application/x-www-form-urlencoded)",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| {
                PageError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("表单过大 · The form is larger than {MAX_FORM_BYTES} bytes"),
                )
            })?;
        let mut fields = HashMap::new();
        for (key, value) in form_urlencoded::parse(&bytes) {
            if fields.len() >= MAX_FORM_FIELDS {
                return Err(PageError::new(
                    StatusCode::BAD_REQUEST,
                    format!("表单字段过多 · The form has more than {MAX_FORM_FIELDS} fields"),
                ));
            }
            fields.insert(key.into_owned(), value.into_owned());
        }
        Ok(FormFields(fields))
    }
}

impl FormFields {
    /// A form of one field, for checks shared with forms read another way.
    fn single(name: &str, value: &str) -> FormFields {
        FormFields(HashMap::from([(name.to_owned(), value.to_owned())]))
    }

    /// Field `name`, trimmed, within `max_chars` characters (a missing field is empty).
    fn get(&self, name: &'static str, max_chars: usize) -> Result<&str, FieldProblem> {
        let value = self.0.get(name).map_or("", |v| v.trim());
        if value.chars().count() > max_chars {
            return Err(FieldProblem::new(
                name,
                format!(
                    "{name} 过长，最多 {max_chars} 个字符 · {name} is longer than {max_chars} characters"
                ),
            ));
        }
        Ok(value)
    }

    /// A password field as typed (not trimmed), within the password limit.
    fn password(&self, name: &'static str) -> Result<&str, FieldProblem> {
        let value = self.0.get(name).map_or("", String::as_str);
        if value.len() > accounts::MAX_PASSWORD_BYTES {
            return Err(FieldProblem::new(
                name,
                format!(
                    "密码过长 · The password is longer than {} bytes",
                    accounts::MAX_PASSWORD_BYTES
                ),
            ));
        }
        Ok(value)
    }

    /// Field `name` as [`FormFields::get`] reads it; a field too long is noted in `problems`
    /// and read as empty.
    fn get_noting(
        &self,
        name: &'static str,
        max_chars: usize,
        problems: &mut Vec<FieldProblem>,
    ) -> &str {
        self.get(name, max_chars).unwrap_or_else(|p| {
            problems.push(p);
            ""
        })
    }

    /// Password field `name` as [`FormFields::password`] reads it; a field too long is noted
    /// in `problems` and read as empty.
    fn password_noting(&self, name: &'static str, problems: &mut Vec<FieldProblem>) -> &str {
        self.password(name).unwrap_or_else(|p| {
            problems.push(p);
            ""
        })
    }

    fn csrf(&self) -> &str {
        self.0.get("csrf").map_or("", String::as_str)
    }
}

/// The `name` and `email` fields of a form that creates an account, each checked against the
/// account rules when it was read within its limit; what is wrong is noted in `problems`.
fn name_and_email<'f>(
    form: &'f FormFields,
    problems: &mut Vec<FieldProblem>,
) -> (&'f str, &'f str) {
    let name = form.get_noting("name", accounts::MAX_NAME_CHARS, problems);
    let email = form.get_noting("email", accounts::MAX_EMAIL_BYTES, problems);
    if problems.iter().all(|p| p.field != "name")
        && let Err(p) = accounts::check_user_name(name)
    {
        problems.push(p);
    }
    if problems.iter().all(|p| p.field != "email")
        && let Err(p) = accounts::check_email(email)
    {
        problems.push(p);
    }
    (name, email)
}

/// Notes in `problems` when the form's second copy of a new password (`password2`) differs
/// from `password`.
fn check_password_again(form: &FormFields, password: &str, problems: &mut Vec<FieldProblem>) {
    if form.password("password2").unwrap_or("") != password {
        problems.push(FieldProblem::new(
            "password2",
            "两次输入的密码不一致 · The two passwords differ",
        ));
    }
}

/// Checks a new `password` for account `name` against the password rules when nothing on the
/// form is wrong so far, then its second copy; what is wrong is noted in `problems`.
fn check_new_password(
    form: &FormFields,
    password: &str,
    name: &str,
    problems: &mut Vec<FieldProblem>,
) {
    if problems.is_empty()
        && let Err(p) = accounts::check_password(password, name, "password")
    {
        problems.push(p);
    }
    check_password_again(form, password, problems);
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()))
}

/// Refuses a form sent from another site: an `Origin` header naming a host must name this
/// one, and `Sec-Fetch-Site`, when sent, must not say `cross-site`. `Origin: null` says
/// nothing here: browsers send it for every form of a page served with
/// `Referrer-Policy: no-referrer`, as these are; the CSRF token decides then.
fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return Err(PageError::csrf());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin != "null" && origin_host != host {
            return Err(PageError::csrf());
        }
    }
    Ok(())
}

/// The CSRF check of a form sent before logging in: the form's token must equal the
/// double-submit cookie its page set.
fn check_anonymous_csrf(
    state: &AppState,
    headers: &HeaderMap,
    form: &FormFields,
) -> Result<(), PageError> {
    same_origin(headers)?;
    let cookie = cookie(headers, csrf_cookie(state)).unwrap_or_default();
    if same(form.csrf(), &cookie) {
        Ok(())
    } else {
        Err(PageError::csrf())
    }
}

/// A form sent before logging in, read by [`FormFields`] and let through only when it passes
/// the anonymous CSRF check (the form's token equal to the double-submit cookie).
pub struct AnonymousForm(FormFields);

impl FromRequest<AppState> for AnonymousForm {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &AppState) -> Result<AnonymousForm, PageError> {
        let headers = request.headers().clone();
        let form = FormFields::from_request(request, state).await?;
        check_anonymous_csrf(state, &headers, &form)?;
        Ok(AnonymousForm(form))
    }
}

/// The CSRF token an anonymous page puts in its forms, and the double-submit cookie to set
/// with the page if the browser has none yet.
pub struct AnonymousCsrf {
    token: String,
    set: Option<HeaderValue>,
}

impl FromRequestParts<AppState> for AnonymousCsrf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(match cookie(&parts.headers, csrf_cookie(state)) {
            Some(token) => AnonymousCsrf { token, set: None },
            None => {
                let token = accounts::new_secret();
                let set = cookie_header(state, csrf_cookie(state), &token, None);
                AnonymousCsrf {
                    token,
                    set: Some(set),
                }
            }
        })
    }
}

impl AnonymousCsrf {
    /// The token for the page's forms.
    fn token(&self) -> &str {
        &self.token
    }

    /// Renders an anonymous page, with its CSRF cookie set when needed.
    fn page(&self, page: &impl Template) -> Response {
        let mut response = html(page);
        if let Some(value) = self.set.clone() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}

/// The logged-in account of a request, from its session cookie.
pub struct CurrentUser {
    session: Session,
    session_hash: [u8; 32],
}

impl CurrentUser {
    /// The CSRF check of a logged-in form: its token must be the session's.
    fn check_csrf(&self, headers: &HeaderMap, form: &FormFields) -> Result<(), PageError> {
        same_origin(headers)?;
        if same(form.csrf(), &self.session.csrf_token) {
            Ok(())
        } else {
            Err(PageError::csrf())
        }
    }
}

/// A form sent by a logged-in account: the account from its session cookie (as
/// [`CurrentUser`] finds it), and the form read by [`FormFields`], let through only when it
/// passes the account's CSRF check (the session's token).
pub struct UserForm {
    user: CurrentUser,
    form: FormFields,
}

impl FromRequest<AppState> for UserForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<UserForm, Response> {
        let (mut parts, body) = request.into_parts();
        let user = CurrentUser::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let form = FormFields::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        user.check_csrf(&headers, &form)
            .map_err(IntoResponse::into_response)?;
        Ok(UserForm { user, form })
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(secret) = cookie(&parts.headers, session_cookie(state)) else {
            return Err(not_logged_in(parts));
        };
        let session_hash = accounts::session_hash(&secret);
        match state.store.session(session_hash).await {
            Ok(Some(session)) => Ok(CurrentUser {
                session,
                session_hash,
            }),
            Ok(None) => Err(not_logged_in(parts)),
            Err(error) => Err(PageError::from(error).into_response()),
        }
    }
}

/// A page asked for without a session goes to the login page; a form sent without one is
/// refused.
fn not_logged_in(parts: &Parts) -> Response {
    if parts.method == axum::http::Method::GET {
        Redirect::to("/account/login").into_response()
    } else {
        PageError::login_required().into_response()
    }
}

/// Whose request this is for throttling: the connection's peer, or, behind a proxy named in
/// `accounts.client_address_header`, the last address that header lists (the one the proxy
/// appended). Tests through `oneshot` without either count as 0.0.0.0.
pub struct ClientAddress(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        if let Some(name) = &state.accounts.client_address_header {
            let forwarded = parts
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(address) = forwarded {
                return Ok(ClientAddress(address));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        Ok(ClientAddress(peer))
    }
}

/// Runs a password hash or check on a blocking thread, at most
/// `accounts.max_concurrent_password_hashes` at once.
async fn hashing<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PageError> {
    let _permit = state
        .hashing
        .acquire()
        .await
        .map_err(|_| PageError::from(AppError::Busy))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| PageError::from(AppError::Internal(error.to_string())))
}

/// Hashes a new password on a blocking thread (see [`hashing`]); a hash that fails is a server
/// error.
async fn hash_new_password(state: &AppState, password: &str) -> Result<String, PageError> {
    let password = password.to_owned();
    hashing(state, move || accounts::hash_password(&password))
        .await?
        .map_err(|error| PageError::from(AppError::Internal(error.to_string())))
}

/// What a page says of an e-mailed code that is wrong, with `left` more tries.
fn wrong_code(left: i64) -> String {
    format!("验证码不正确，还可再试 {left} 次 · The code is wrong; {left} more tries")
}

/// Makes a new code for `purpose`, stores it for `account_id` and e-mails it to `to` with
/// `subject` and the body `body(code, ttl_secs)`. Sends nothing when the store keeps the code
/// sent less than a minute ago (that one is still the one to type).
async fn send_code(
    state: &AppState,
    account_id: i64,
    purpose: CodePurpose,
    to: String,
    subject: &'static str,
    body: impl FnOnce(&str, u64) -> String,
) -> Result<(), PageError> {
    let code = accounts::new_code();
    let ttl = state.accounts.code_ttl_secs;
    let replaced = state
        .store
        .replace_code(
            account_id,
            purpose,
            accounts::code_hash(account_id, purpose, &code),
            i64::try_from(ttl).unwrap_or(i64::MAX),
        )
        .await?;
    if !replaced {
        return Ok(());
    }
    send_mail(state, to, subject, body(&code, ttl)).await
}

/// Checks the e-mailed `code` for `purpose` against the one stored for account `account_id`;
/// the store uses it up when it is right, setting `new_password_hash` with it when given.
async fn use_code(
    state: &AppState,
    account_id: i64,
    purpose: CodePurpose,
    code: &str,
    new_password_hash: Option<String>,
) -> Result<CodeOutcome, PageError> {
    Ok(state
        .store
        .use_code(
            account_id,
            purpose,
            accounts::code_hash(account_id, purpose, code),
            new_password_hash,
        )
        .await?)
}

/// Sends an e-mail on a blocking thread; the page says what to do when the relay fails.
async fn send_mail(
    state: &AppState,
    to: String,
    subject: &'static str,
    body: String,
) -> Result<(), PageError> {
    let Some(mailer) = state.mailer.clone() else {
        return Err(mail_not_configured());
    };
    let sent = tokio::task::spawn_blocking(move || mailer.send(&to, subject, body))
        .await
        .map_err(|error| PageError::from(AppError::Internal(error.to_string())))?;
    sent.map_err(|error| {
        tracing::error!(%error, "sending an account e-mail failed");
        PageError::new(
            StatusCode::BAD_GATEWAY,
            "邮件未能发出，请稍后使用“重新发送验证码” · The e-mail could not be sent; \
             use “send the code again” shortly",
        )
    })
}

fn mail_not_configured() -> PageError {
    PageError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "本站未配置邮件发送，暂不能注册或重置密码 · This site has no mail relay configured, \
         so registration and password resets are not available",
    )
}

/// The e-mail allowance of the client's address, or a 429 page.
fn mail_allowance(state: &AppState, address: IpAddr) -> Result<(), PageError> {
    state
        .throttle
        .mail_allowed(address)
        .map_err(|wait| PageError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "发送邮件过于频繁，请 {wait} 秒后再试 · Too many e-mails from this address; \
             try again in {wait} s"
            ),
            retry_after: Some(wait),
        })
}

/// The problem a page shows beside `field`, if any.
fn problem_for<'a>(problems: &'a [FieldProblem], field: &str) -> Option<&'a str> {
    problems
        .iter()
        .find(|p| p.field == field)
        .map(|p| p.message.as_str())
}
