//! Logging in and out, and resetting a forgotten password by an e-mailed code (which is also
//! how the person behind an account created by another sets a first password).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::register::{name_param, query_value};
use super::{
    AnonymousCsrf, AnonymousForm, ClientAddress, PageError, UserForm, check_new_password,
    cookie_header, hash_new_password, hashing, html, mail_allowance, problem_for, send_code,
    session_cookie, use_code, wrong_code,
};
use crate::accounts::{self, FieldProblem};
use crate::http::AppState;
use crate::store::{CodeOutcome, CodePurpose};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    csrf: &'a str,
    name: &'a str,
    message: Option<&'a str>,
    problem: Option<&'a str>,
    user: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage<'a> {
    csrf: &'a str,
    name: &'a str,
    problem: Option<&'a str>,
    user: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "reset_confirm.html")]
struct ResetConfirmPage<'a> {
    csrf: &'a str,
    name: &'a str,
    problems: &'a [FieldProblem],
    user: Option<&'a str>,
}

impl ResetConfirmPage<'_> {
    fn problem(&self, field: &str) -> Option<&str> {
        problem_for(self.problems, field)
    }
}

/// `GET /account/login`.
pub(in crate::http) async fn login_page(
    csrf: AnonymousCsrf,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let message = if query.contains_key("verified") {
        Some("邮箱已验证，请登录 · Your e-mail address is verified; log in")
    } else if query.contains_key("reset") {
        Some("密码已设置，请用新密码登录 · The password is set; log in with it")
    } else {
        None
    };
    csrf.page(&LoginPage {
        csrf: csrf.token(),
        name: &name_param(&query),
        message,
        problem: None,
        user: None,
    })
}

/// `POST /account/login`: refused without a password check while the account or the
/// client's address has too many recent failures; otherwise checks the password (an unknown
/// name is checked against a decoy hash, so it takes as long) and starts a session.
pub(in crate::http) async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, PageError> {
    let name = form.get("name", accounts::MAX_NAME_CHARS).unwrap_or("");
    let password = form.password("password").unwrap_or("").to_owned();
    let record = state.store.login_record(name).await?;
    let account_id = record.as_ref().map(|r| r.account.id);
    if let Some(wait) = state.throttle.login_blocked(account_id, address) {
        let minutes = wait.div_ceil(60);
        return Err(PageError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "登录失败次数过多，请 {minutes} 分钟后再试 · Too many failed logins; try again \
                 in {minutes} minute(s)"
            ),
            retry_after: Some(wait),
        });
    }
    let stored = record
        .as_ref()
        .and_then(|r| r.password_hash.clone())
        .unwrap_or_else(|| accounts::decoy_hash().to_owned());
    let matches = hashing(&state, move || {
        accounts::verify_password(&password, &stored)
    })
    .await?;
    let refuse = |status, problem: &str| {
        let page = LoginPage {
            csrf: form.csrf(),
            name,
            message: None,
            problem: Some(problem),
            user: None,
        };
        (status, html(&page)).into_response()
    };
    let Some(record) = record.filter(|_| matches) else {
        state.throttle.login_failed(account_id, address);
        return Ok(refuse(
            StatusCode::UNAUTHORIZED,
            "用户名或密码错误 · The user name or the password is wrong",
        ));
    };
    let account = record.account;
    state.throttle.login_succeeded(account.id);
    if account.disabled {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            "该账户已停用，请联系管理员 · This account is disabled; ask the operators",
        ));
    }
    if !account.verified {
        return Ok(Redirect::to(&format!(
            "/account/verify?name={}",
            query_value(&account.name)
        ))
        .into_response());
    }
    let secret = accounts::new_secret();
    let ttl = state.accounts.session_ttl_secs;
    state
        .store
        .create_session(
            account.id,
            accounts::session_hash(&secret),
            accounts::new_secret(),
            i64::try_from(ttl).unwrap_or(i64::MAX),
        )
        .await?;
    let mut response = Redirect::to("/account").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, session_cookie(&state), &secret, Some(ttl)),
    );
    Ok(response)
}

/// `response` with a `Set-Cookie` that removes the session cookie.
pub(super) fn ending_session(state: &AppState, mut response: Response) -> Response {
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, session_cookie(state), "", Some(0)),
    );
    response
}

/// `POST /account/logout`: ends the session in the store, so the cookie is worthless even if
/// it was copied.
pub(in crate::http) async fn logout(
    State(state): State<AppState>,
    UserForm { user, form: _ }: UserForm,
) -> Result<Response, PageError> {
    state.store.end_session(user.session_hash).await?;
    Ok(ending_session(
        &state,
        Redirect::to("/account/login").into_response(),
    ))
}

/// `GET /account/reset`.
pub(in crate::http) async fn reset_page(
    csrf: AnonymousCsrf,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    csrf.page(&ResetPage {
        csrf: csrf.token(),
        name: &name_param(&query),
        problem: None,
        user: None,
    })
}

/// The text of the e-mail carrying a code that sets a password.
pub(super) fn reset_mail(name: &str, code: &str, ttl_secs: u64) -> String {
    let minutes = ttl_secs / 60;
    format!(
        "{name}，您好：\n\n设置密码的验证码是 {code}，{minutes} 分钟内有效。请在“设置新密码”页面\
         （/account/reset/confirm）输入用户名、验证码和新密码。如非本人操作，请忽略本邮件。\n\n\
         Hello {name},\n\nthe code to set your password is {code}; it is valid for {minutes} \
         minutes. Enter your user name, the code and the new password on the page “Set a new \
         password” (/account/reset/confirm). If you did not ask for this, ignore this message.\n"
    )
}

/// `POST /account/reset`: sends a code when the name and the address belong to one account,
/// and answers the same either way, so the page tells nobody which accounts exist.
pub(in crate::http) async fn reset_request(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, PageError> {
    let name = form.get("name", accounts::MAX_NAME_CHARS).unwrap_or("");
    let email = form.get("email", accounts::MAX_EMAIL_BYTES).unwrap_or("");
    if state.mailer.is_none() {
        return Err(super::mail_not_configured());
    }
    let after = Redirect::to(&format!(
        "/account/reset/confirm?name={}",
        query_value(name)
    ))
    .into_response();
    let Some(record) = state.store.login_record(name).await? else {
        return Ok(after);
    };
    let Some(stored) = record.account.email.clone() else {
        return Ok(after);
    };
    if !stored.eq_ignore_ascii_case(email) || record.account.disabled {
        return Ok(after);
    }
    mail_allowance(&state, address)?;
    send_code(
        &state,
        record.account.id,
        CodePurpose::Reset,
        stored,
        "网站备案系统设置密码验证码 · Your code to set a password",
        |code, ttl| reset_mail(&record.account.name, code, ttl),
    )
    .await?;
    Ok(after)
}

/// `GET /account/reset/confirm?name=…`.
pub(in crate::http) async fn reset_confirm_page(
    csrf: AnonymousCsrf,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    csrf.page(&ResetConfirmPage {
        csrf: csrf.token(),
        name: &name_param(&query),
        problems: &[],
        user: None,
    })
}

/// `POST /account/reset/confirm`: the e-mailed code and a new password that keeps the rules
/// set the password and end every session of the account.
pub(in crate::http) async fn reset_confirm(
    State(state): State<AppState>,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, PageError> {
    let name = form.get("name", accounts::MAX_NAME_CHARS).unwrap_or("");
    let code = form.get("code", accounts::CODE_DIGITS).unwrap_or("");
    let mut problems = Vec::new();
    let password = form.password_noting("password", &mut problems);
    check_new_password(&form, password, name, &mut problems);
    let refuse = |problems: &[FieldProblem]| {
        let page = ResetConfirmPage {
            csrf: form.csrf(),
            name,
            problems,
            user: None,
        };
        (StatusCode::UNPROCESSABLE_ENTITY, html(&page)).into_response()
    };
    if !problems.is_empty() {
        return Ok(refuse(&problems));
    }
    let outcome = match state.store.login_record(name).await? {
        Some(record) => {
            let id = record.account.id;
            let hash = hash_new_password(&state, password).await?;
            use_code(&state, id, CodePurpose::Reset, code, Some(hash)).await?
        }
        None => CodeOutcome::NoneWaiting,
    };
    let problem = match outcome {
        CodeOutcome::Accepted => {
            return Ok(Redirect::to(&format!(
                "/account/login?reset=1&name={}",
                query_value(name)
            ))
            .into_response());
        }
        CodeOutcome::Wrong { left } => wrong_code(left),
        CodeOutcome::NoneWaiting => "没有可用的验证码，请重新申请 · No code is waiting for this \
                                     name: ask for a new one"
            .to_owned(),
    };
    Ok(refuse(&[FieldProblem::new("code", problem)]))
}
