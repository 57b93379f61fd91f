//! Self-registration of website owners: the form, the e-mailed verification code, and sending
//! the code again. An owner cannot log in until the code has come back.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::{
    AnonymousCsrf, AnonymousForm, ClientAddress, PageError, check_password_again,
    hash_new_password, html, mail_allowance, mail_not_configured, name_and_email, problem_for,
    send_code, use_code, wrong_code,
};
use crate::accounts::{self, FieldProblem};
use crate::http::AppState;
use crate::store::{AccountKind, CodeOutcome, CodePurpose, NewWebAccount, StoreError};

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    csrf: &'a str,
    name: &'a str,
    email: &'a str,
    problems: &'a [FieldProblem],
    user: Option<&'a str>,
}

impl RegisterPage<'_> {
    fn problem(&self, field: &str) -> Option<&str> {
        problem_for(self.problems, field)
    }
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    csrf: &'a str,
    name: &'a str,
    message: Option<&'a str>,
    problem: Option<&'a str>,
    user: Option<&'a str>,
}

/// A user name from a query string, to fill a form in (cut to the longest a name can be).
pub(super) fn name_param(query: &HashMap<String, String>) -> String {
    query
        .get("name")
        .map(|name| name.chars().take(accounts::MAX_NAME_CHARS).collect())
        .unwrap_or_default()
}

/// The subject and text of the verification e-mail.
fn verification_mail(name: &str, code: &str, ttl_secs: u64) -> String {
    let minutes = ttl_secs / 60;
    format!(
        "{name}，您好：\n\n您的网站备案系统注册验证码是 {code}，{minutes} 分钟内有效。\n\
         如非本人操作，请忽略本邮件。\n\n\
         Hello {name},\n\nyour verification code for the website filing system is {code}; it is \
         valid for {minutes} minutes. If you did not register, ignore this message.\n"
    )
}

/// `GET /account/register`.
pub(in crate::http) async fn register_page(csrf: AnonymousCsrf) -> Response {
    csrf.page(&RegisterPage {
        csrf: csrf.token(),
        name: "",
        email: "",
        problems: &[],
        user: None,
    })
}

/// `POST /account/register`: checks every field at once, stores the owner unverified with a
/// code, and e-mails the code.
pub(in crate::http) async fn register(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, PageError> {
    if state.mailer.is_none() {
        return Err(mail_not_configured());
    }
    let mut problems = Vec::new();
    let (name, email) = name_and_email(&form, &mut problems);
    let password = form.password_noting("password", &mut problems);
    if problems.iter().all(|p| p.field != "password")
        && let Err(p) = accounts::check_password(password, name, "password")
    {
        problems.push(p);
    }
    check_password_again(&form, password, &mut problems);
    let refuse = |problems: &[FieldProblem], status| {
        let page = RegisterPage {
            csrf: form.csrf(),
            name,
            email,
            problems,
            user: None,
        };
        (status, html(&page)).into_response()
    };
    if !problems.is_empty() {
        return Ok(refuse(&problems, StatusCode::UNPROCESSABLE_ENTITY));
    }
    mail_allowance(&state, address)?;
    let password_hash = hash_new_password(&state, password).await?;
    let new = NewWebAccount {
        name: name.to_owned(),
        kind: AccountKind::WebsiteOwner,
        email: email.to_owned(),
        province: None,
        created_by: None,
        password_hash: Some(password_hash),
    };
    // The code's hash is bound to the account id, known once the row exists: the code is
    // stored right after it.
    let account = match state.store.create_web_account(new).await {
        Ok(account) => account,
        Err(StoreError::AccountExists(_)) => {
            let taken = [FieldProblem::new(
                "name",
                "该用户名已被使用，请换一个 · This user name is taken; choose another",
            )];
            return Ok(refuse(&taken, StatusCode::CONFLICT));
        }
        Err(error) => return Err(error.into()),
    };
    send_code(
        &state,
        account.id,
        CodePurpose::Verify,
        email.to_owned(),
        "网站备案系统注册验证码 · Your verification code",
        |code, ttl| verification_mail(name, code, ttl),
    )
    .await?;
    Ok(Redirect::to(&format!("/account/verify?name={}", query_value(name))).into_response())
}

/// Percent-encodes a query value (user names may hold Chinese characters).
pub(super) fn query_value(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `GET /account/verify?name=…`.
pub(in crate::http) async fn verify_page(
    csrf: AnonymousCsrf,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let name = name_param(&query);
    let message = query.contains_key("resent").then_some(
        "如该账户尚待验证，新的验证码已发送 · If the account waits for verification, a new code was sent",
    );
    csrf.page(&VerifyPage {
        csrf: csrf.token(),
        name: &name,
        message: message.or(Some(
            "验证码已发送到您的电子邮箱 · A code was sent to your e-mail address",
        )),
        problem: None,
        user: None,
    })
}

/// `POST /account/verify`: the code from the e-mail confirms the address.
pub(in crate::http) async fn verify(
    State(state): State<AppState>,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, PageError> {
    let name = form.get("name", accounts::MAX_NAME_CHARS).unwrap_or("");
    let code = form.get("code", accounts::CODE_DIGITS).unwrap_or("");
    let record = state.store.login_record(name).await?;
    let outcome = match &record {
        Some(record) if !record.account.verified => {
            let id = record.account.id;
            use_code(&state, id, CodePurpose::Verify, code, None).await?
        }
        _ => CodeOutcome::NoneWaiting,
    };
    let problem = match outcome {
        CodeOutcome::Accepted => {
            return Ok(Redirect::to("/account/login?verified=1").into_response());
        }
        CodeOutcome::Wrong { left } => wrong_code(left),
        CodeOutcome::NoneWaiting => "没有待验证的验证码，请重新发送 · No code is waiting for this \
                                     name: send the code again"
            .to_owned(),
    };
    let page = VerifyPage {
        csrf: form.csrf(),
        name,
        message: None,
        problem: Some(&problem),
        user: None,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)).into_response())
}

/// `POST /account/verify/resend`: a new code for an account still waiting, at most once a
/// minute ([`crate::store::MIN_SECS_BETWEEN_CODES`]). Says the same whatever the name, so it tells nobody which names exist.
pub(in crate::http) async fn resend_code(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, PageError> {
    let name = form.get("name", accounts::MAX_NAME_CHARS).unwrap_or("");
    let after = Redirect::to(&format!(
        "/account/verify?name={}&resent=1",
        query_value(name)
    ))
    .into_response();
    let Some(record) = state.store.login_record(name).await? else {
        return Ok(after);
    };
    let (false, Some(email)) = (record.account.verified, record.account.email.clone()) else {
        return Ok(after);
    };
    mail_allowance(&state, address)?;
    send_code(
        &state,
        record.account.id,
        CodePurpose::Verify,
        email,
        "网站备案系统注册验证码 · Your verification code",
        |code, ttl| verification_mail(&record.account.name, code, ttl),
    )
    .await?;
    Ok(after)
}
