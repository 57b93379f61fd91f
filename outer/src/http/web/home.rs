//! The logged-in account's own page and its forms: password change, deletion, the accounts the
//! ministry and the authorities create, and API tokens.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::login::{ending_session, reset_mail};
use super::{
    ClientAddress, CurrentUser, PageError, UserForm, check_new_password, hash_new_password,
    hashing, html, mail_allowance, name_and_email, notice, problem_for, send_code,
};
use crate::accounts::{self, FieldProblem};
use crate::http::AppState;
use crate::store::{AccountKind, CodePurpose, NewWebAccount, StoreError, TokenInfo, WebAccount};

/// Most characters of a token's label.
pub const MAX_TOKEN_LABEL_CHARS: usize = 64;

/// Chinese and English names of an account kind.
pub fn kind_names(kind: AccountKind) -> (&'static str, &'static str) {
    match kind {
        AccountKind::Ministry => ("部级管理员", "ministry"),
        AccountKind::Authority => ("省通信管理局", "provincial authority"),
        AccountKind::AccessProvider => ("接入服务商", "access provider"),
        AccountKind::WebsiteOwner => ("网站主办者", "website owner"),
        AccountKind::Operator => ("系统运维", "operator"),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    account: &'a WebAccount,
    kind_zh: &'a str,
    kind_en: &'a str,
    csrf: &'a str,
    message: Option<&'a str>,
    problems: &'a [FieldProblem],
    creates: Option<(&'a str, &'a str)>,
    chooses_province: bool,
    created: &'a [WebAccount],
    tokens: &'a [TokenInfo],
    /// For an access provider: how many filings await its check here.
    awaiting_checks: Option<usize>,
    user: Option<&'a str>,
}

impl AccountPage<'_> {
    fn problem(&self, field: &str) -> Option<&str> {
        problem_for(self.problems, field)
    }

    fn time(&self, seconds: &i64) -> String {
        keys::time::rfc3339(*seconds)
    }
}

/// The account page, with a message or the problems of a form sent from it.
async fn render_account(
    state: &AppState,
    user: &CurrentUser,
    status: StatusCode,
    message: Option<&str>,
    problems: &[FieldProblem],
) -> Result<Response, PageError> {
    let account = &user.session.account;
    let tokens = state.store.tokens_of(account.id).await?;
    let creates = account.kind.may_create();
    let created = if creates.is_some() {
        state.store.accounts_created_by(account.id).await?
    } else {
        Vec::new()
    };
    let (kind_zh, kind_en) = kind_names(account.kind);
    let awaiting_checks = if account.kind == AccountKind::AccessProvider {
        Some(
            state
                .store
                .provider_checks_awaiting(&account.name)
                .await?
                .iter()
                .filter(|check| check.sent.is_none())
                .count(),
        )
    } else {
        None
    };
    let page = AccountPage {
        account,
        kind_zh,
        kind_en,
        csrf: &user.session.csrf_token,
        message,
        problems,
        creates: creates.map(kind_names),
        chooses_province: account.kind == AccountKind::Ministry,
        created: &created,
        tokens: &tokens,
        awaiting_checks,
        user: Some(&account.name),
    };
    Ok((status, html(&page)).into_response())
}

/// The account page again with the problems of a form sent from it (422).
async fn account_problems(
    state: &AppState,
    user: &CurrentUser,
    problems: &[FieldProblem],
) -> Result<Response, PageError> {
    render_account(
        state,
        user,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
        problems,
    )
    .await
}

/// `GET /account`: who is logged in, and the forms of the account.
pub(in crate::http) async fn account_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, PageError> {
    render_account(&state, &user, StatusCode::OK, None, &[]).await
}

/// Checks the account's current password off the runtime, counting a wrong one as a failed
/// login (so a stolen session cannot be used to guess the password either).
async fn current_password_matches(
    state: &AppState,
    user: &CurrentUser,
    address: std::net::IpAddr,
    password: &str,
) -> Result<bool, PageError> {
    let id = user.session.account.id;
    if let Some(wait) = state.throttle.login_blocked(Some(id), address) {
        return Err(PageError {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "密码错误次数过多，请稍后再试 · Too many wrong passwords; try again in {wait} s"
            ),
            retry_after: Some(wait),
        });
    }
    let stored = state
        .store
        .login_record(&user.session.account.name)
        .await?
        .and_then(|record| record.password_hash)
        .unwrap_or_else(|| accounts::decoy_hash().to_owned());
    let password = password.to_owned();
    let matches = hashing(state, move || accounts::verify_password(&password, &stored)).await?;
    if !matches {
        state.throttle.login_failed(Some(id), address);
    }
    Ok(matches)
}

/// `POST /account/password`: the current password, and a new one twice that keeps the rules.
/// Every other session of the account ends.
pub(in crate::http) async fn change_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    UserForm { user, form }: UserForm,
) -> Result<Response, PageError> {
    let name = user.session.account.name.clone();
    let mut problems = Vec::new();
    let current = form.password_noting("current", &mut problems);
    let password = form.password_noting("password", &mut problems);
    check_new_password(&form, password, &name, &mut problems);
    if problems.is_empty() && !current_password_matches(&state, &user, address, current).await? {
        problems.push(FieldProblem::new(
            "current",
            "当前密码不正确 · The current password is wrong",
        ));
    }
    if !problems.is_empty() {
        return account_problems(&state, &user, &problems).await;
    }
    let hash = hash_new_password(&state, password).await?;
    state
        .store
        .change_password(user.session.account.id, hash, user.session_hash)
        .await?;
    render_account(
        &state,
        &user,
        StatusCode::OK,
        Some("密码已修改，其他登录已退出 · The password is changed; every other login has ended"),
        &[],
    )
    .await
}

/// `POST /account/delete`: with the current password, deletes the account for good and ends
/// the session.
pub(in crate::http) async fn delete_account(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    UserForm { user, form }: UserForm,
) -> Result<Response, PageError> {
    let password = form.password("password").unwrap_or("");
    if !current_password_matches(&state, &user, address, password).await? {
        let problems = [FieldProblem::new(
            "delete-password",
            "当前密码不正确，账户未注销 · The current password is wrong; the account was not deleted",
        )];
        return account_problems(&state, &user, &problems).await;
    }
    state
        .store
        .delete_web_account(user.session.account.id)
        .await?;
    let deleted = notice(
        StatusCode::OK,
        "账户已注销 · Account deleted",
        "账户已注销，其令牌和登录均已失效 · The account is deleted; its tokens and logins no longer work",
        Some(("/account/register", "注册 · Register")),
        None,
    );
    Ok(ending_session(&state, deleted))
}

/// `POST /account/accounts`: the ministry creates an authority account (naming its
/// province), an authority creates an access-provider account of its own province. The new
/// account has no password; a code to set one is e-mailed to the address given.
pub(in crate::http) async fn create_account(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    UserForm { user, form }: UserForm,
) -> Result<Response, PageError> {
    let creator = &user.session.account;
    let Some(kind) = creator.kind.may_create() else {
        let (zh, en) = kind_names(creator.kind);
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            format!("{zh}账户不能创建账户 · A {en} account may not create accounts"),
        ));
    };
    if state.mailer.is_none() {
        return Err(super::mail_not_configured());
    }
    let mut problems = Vec::new();
    let (name, email) = name_and_email(&form, &mut problems);
    let province = if creator.kind == AccountKind::Ministry {
        let typed = form.get("province", 2).unwrap_or("");
        let known = typed
            .parse::<u32>()
            .ok()
            .and_then(filing::province::prefix_of_province)
            .is_some();
        if !known {
            problems.push(FieldProblem::new(
                "province",
                "请填写省级行政区划代码，如 11（北京）、44（广东） · Give the province's two-digit \
                 code, such as 11 (Beijing) or 44 (Guangdong)",
            ));
        }
        Some(typed.to_owned())
    } else {
        // An authority's providers are of its own province, whatever the form says.
        creator.province.clone()
    };
    if !problems.is_empty() {
        return account_problems(&state, &user, &problems).await;
    }
    mail_allowance(&state, address)?;
    let new = NewWebAccount {
        name: name.to_owned(),
        kind,
        email: email.to_owned(),
        province,
        created_by: Some(creator.id),
        password_hash: None,
    };
    let account = match state.store.create_web_account(new).await {
        Ok(account) => account,
        Err(StoreError::AccountExists(_)) => {
            let problems = [FieldProblem::new(
                "name",
                "该用户名已被使用，请换一个 · This user name is taken; choose another",
            )];
            return render_account(&state, &user, StatusCode::CONFLICT, None, &problems).await;
        }
        Err(error) => return Err(error.into()),
    };
    send_code(
        &state,
        account.id,
        CodePurpose::Reset,
        email.to_owned(),
        "网站备案系统账户已创建 · An account was created for you",
        |code, ttl| reset_mail(name, code, ttl),
    )
    .await?;
    let (zh, en) = kind_names(kind);
    let message = format!(
        "已创建{zh}账户 {name}，设置密码的验证码已发送到 {email} · Created the {en} account \
         {name}; a code to set its password was sent to {email}"
    );
    render_account(&state, &user, StatusCode::CREATED, Some(&message), &[]).await
}

/// `POST /account/tokens`: issues an API token to this account and shows it once.
pub(in crate::http) async fn issue_token(
    State(state): State<AppState>,
    UserForm { user, form }: UserForm,
) -> Result<Response, PageError> {
    let label = match form.get("label", MAX_TOKEN_LABEL_CHARS) {
        Ok(label) if !label.is_empty() && !label.chars().any(char::is_control) => label,
        Ok(_) => {
            let problems = [FieldProblem::new(
                "label",
                "请写明令牌的用途 · Say what the token is for",
            )];
            return account_problems(&state, &user, &problems).await;
        }
        Err(problem) => {
            return account_problems(&state, &user, &[problem]).await;
        }
    };
    let Some(token) = state
        .store
        .issue_token_for(user.session.account.id, label.to_owned())
        .await?
    else {
        let problems = [FieldProblem::new(
            "label",
            format!(
                "令牌数量已达上限 {0}，请先吊销不用的令牌 · This account holds {0} tokens \
                 already; revoke one it no longer needs",
                crate::store::MAX_LIVE_TOKENS_PER_ACCOUNT
            ),
        )];
        return render_account(&state, &user, StatusCode::CONFLICT, None, &problems).await;
    };
    let message = format!(
        "令牌 {} 已签发。它只显示这一次，请立即妥善保存；调用接口时发送 Authorization: Bearer 令牌。\
         · Token {} is issued. It is shown only now: keep it safe; send it as \
         Authorization: Bearer TOKEN.",
        token.id, token.id
    );
    let page = super::NoticePage {
        title: "令牌已签发 · Token issued",
        message: &message,
        secret: Some(&token.secret),
        link: Some(("/account", "返回账户 · Back to the account")),
        user: Some(&user.session.account.name),
    };
    Ok((StatusCode::CREATED, html(&page)).into_response())
}

/// `POST /account/tokens/{id}/revoke`: revokes one of this account's own tokens.
pub(in crate::http) async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    UserForm { user, form: _ }: UserForm,
) -> Result<Response, PageError> {
    let not_found = || {
        PageError::new(
            StatusCode::NOT_FOUND,
            format!("本账户没有编号为 {id} 的令牌 · This account has no token {id}"),
        )
    };
    let token_id: i64 = id.parse().map_err(|_| not_found())?;
    match state
        .store
        .revoke_own_token(user.session.account.id, token_id)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account").into_response()),
        Err(StoreError::NoSuchToken(_)) => Err(not_found()),
        Err(error) => Err(error.into()),
    }
}
