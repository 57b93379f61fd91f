//! The certificate download page (`/certificate`): the filing number and the filing password
//! give the certificate file, `bazs.cert`, without an account. The form is an anonymous one
//! (double-submit CSRF cookie); the check, its one answer for a wrong password or an unknown
//! number and its throttle are the API's (`certificates::by_password`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{AnonymousCsrf, AnonymousForm, ClientAddress, PageError, html};
use crate::http::certificates::{bazs_cert, by_password};
use crate::http::{AppError, AppState};

/// Most characters of the filing number field.
const MAX_FILING_NUMBER_CHARS: usize = 64;

#[derive(Template)]
#[template(path = "certificate.html")]
struct CertificatePage<'a> {
    csrf: &'a str,
    filing_number: &'a str,
    problem: Option<&'a str>,
    user: Option<&'a str>,
}

/// `GET /certificate`: the form.
pub(in crate::http) async fn certificate_page(csrf: AnonymousCsrf) -> Response {
    csrf.page(&CertificatePage {
        csrf: csrf.token(),
        filing_number: "",
        problem: None,
        user: None,
    })
}

/// `POST /certificate`: the certificate file, or the form again saying why not.
pub(in crate::http) async fn certificate_download(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    AnonymousForm(form): AnonymousForm,
) -> Result<Response, PageError> {
    let filing_number = form
        .get("filing_number", MAX_FILING_NUMBER_CHARS)
        .unwrap_or("");
    let typed = form
        .get("filing_password", filing::password::MAX_TYPED_CHARS)
        .unwrap_or("");
    let refused = match by_password(&state, address, filing_number, typed).await {
        Ok(certificate) => return Ok(bazs_cert(certificate)),
        Err(refused) => refused,
    };
    let (status, problem) = match refused {
        AppError::NotFound(_) => (
            StatusCode::NOT_FOUND,
            "备案号或备案密码不正确，请核对后重试 · No certificate for this filing number and \
             filing password; check both and try again"
                .to_owned(),
        ),
        AppError::TooManyFailures { retry_after_secs } => {
            let minutes = retry_after_secs.div_ceil(60);
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "错误次数过多，请 {minutes} 分钟后再试 · Too many wrong filing passwords; \
                     try again in {minutes} minute(s)"
                ),
            )
        }
        AppError::Gone(message) => (StatusCode::GONE, format!("该电子证书已被吊销 · {message}")),
        other => return Err(PageError::from(other)),
    };
    let page = CertificatePage {
        csrf: form.csrf(),
        filing_number,
        problem: Some(&problem),
        user: None,
    };
    Ok((status, html(&page)).into_response())
}
