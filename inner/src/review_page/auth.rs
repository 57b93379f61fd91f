//! Who is asking: the sign-in form and its session cookie, HTTP Basic credentials, and the
//! blocking work each request does as the reviewer it proves to be.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Failure, PageState, internal, now, same_origin, with_headers};
use crate::reviewers::{AuthError, Reviewer, SESSION_SECONDS};

/// The cookie that carries a page session's token.
const COOKIE: &str = "sluice_review";

/// The sign-in form, with why it is shown.
#[derive(Template)]
#[template(path = "review_login.html")]
pub(super) struct LoginPage<'a> {
    pub(super) message: &'a str,
}

/// Name and password of HTTP Basic credentials.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    if encoded.len() > 1024 {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_owned(), password.to_owned()))
}

/// The session token in the request's cookies, if any.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Runs `work` with a database connection on a blocking thread, at most
/// [`super::MAX_CONCURRENT_REQUESTS`] at once.
async fn blocking<T: Send + 'static>(
    state: &Arc<PageState>,
    work: impl FnOnce(&mut postgres::Client, &PageState) -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    let _permit = state.permits.acquire().await.map_err(internal)?;
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || {
        let mut client = state.database.connect().map_err(internal)?;
        work(&mut client, &state)
    })
    .await
    .map_err(internal)?
}

/// Runs `work` as the reviewer the request proves to be: by its session cookie, or else by
/// HTTP Basic credentials.
pub(super) async fn as_reviewer<T: Send + 'static>(
    state: &Arc<PageState>,
    headers: &HeaderMap,
    work: impl FnOnce(&mut postgres::Client, Reviewer, &PageState) -> Result<T, Failure>
    + Send
    + 'static,
) -> Result<T, Failure> {
    let token = session_token(headers);
    let basic = basic_credentials(headers);
    // A browser that signed in with the form gets the form again, not a Basic prompt.
    let challenge = token.is_none();
    if token.is_none() && basic.is_none() {
        return Err(Failure::Login("未登录 not signed in".to_owned(), challenge));
    }
    blocking(state, move |client, state| {
        let login = |e: AuthError| match e {
            AuthError::Database { .. } => internal(e),
            other => Failure::Login(other.to_string(), challenge),
        };
        let from_session = match token {
            Some(token) => match crate::reviewers::session(client, &token, now()) {
                Ok(reviewer) => Some(reviewer),
                Err(AuthError::SessionEnded) if basic.is_some() => None,
                Err(e) => return Err(login(e)),
            },
            None => None,
        };
        let reviewer = match (from_session, basic) {
            (Some(reviewer), _) => reviewer,
            (None, Some((name, password))) => {
                crate::reviewers::authenticate(client, &name, &password, now()).map_err(login)?
            }
            (None, None) => {
                return Err(Failure::Login("未登录 not signed in".to_owned(), challenge));
            }
        };
        work(client, reviewer, state)
    })
    .await
}

/// `GET /login`: the form.
pub(super) async fn login_form() -> Response {
    let page = LoginPage {
        message: "请以审核员账号登录。 Sign in with your reviewer account.",
    };
    match page.render() {
        Ok(html) => with_headers((StatusCode::OK, Html(html)).into_response()),
        Err(e) => internal(e).into_response(),
    }
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    name: String,
    password: String,
}

/// `POST /login`: checks name and password, starts a session and sets its cookie.
pub(super) async fn login(
    State(state): State<Arc<PageState>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers) {
        return Failure::Forbidden("表单须来自本页面。 Sign in from this page only.".to_owned())
            .into_response();
    }
    let started = blocking(&state, move |client, _| {
        let now = now();
        let reviewer = crate::reviewers::authenticate(client, &form.name, &form.password, now)
            .map_err(|e| match e {
                AuthError::Database { .. } => internal(e),
                other => Failure::Login(other.to_string(), false),
            })?;
        crate::reviewers::start_session(client, &reviewer, now).map_err(internal)
    })
    .await;
    match started {
        Ok(token) => {
            let mut response = with_headers(Redirect::to("/").into_response());
            let cookie = format!(
                "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}"
            );
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, value);
            }
            response
        }
        Err(failure) => failure.into_response(),
    }
}

/// `POST /logout`: ends the session and clears its cookie.
pub(super) async fn logout(State(state): State<Arc<PageState>>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return Failure::Forbidden("表单须来自本页面。 Sign out from this page only.".to_owned())
            .into_response();
    }
    if let Some(token) = session_token(&headers) {
        let ended = blocking(&state, move |client, _| {
            crate::reviewers::end_session(client, &token).map_err(internal)
        })
        .await;
        if let Err(failure) = ended {
            return failure.into_response();
        }
    }
    let mut response = with_headers(Redirect::to("/login").into_response());
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("sluice_review=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}
