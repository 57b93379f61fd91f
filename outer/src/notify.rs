//! Sends the e-mail notifications the store has queued (an approval with its certificate
//! attached, a return for changes, a rejection, a revoked certificate) through the site's SMTP
//! relay. A notification is marked sent once the relay took it, so it is never sent twice; a
//! failed attempt is retried later with a growing pause, up to
//! [`crate::store::notifications::MAX_ATTEMPTS`] attempts. The intake service runs a pass every
//! minute; `sluice-outer notify` runs one.

use crate::mail::Mailer;
use crate::store::notifications::{DueNotification, Outcome};
use crate::store::{Store, StoreError};

/// The first pause after a failed attempt, seconds; it doubles with each attempt.
const FIRST_RETRY_SECS: i64 = 60;
/// The longest pause between attempts, seconds.
const MAX_RETRY_SECS: i64 = 6 * 3600;
/// How long an approval waits for its certificate (which may come in a later return bundle)
/// before it is sent without one, seconds.
const CERTIFICATE_WAIT_SECS: i64 = 24 * 3600;
/// The name of the attached certificate: the file an owner publishes at `/cert/bazs.cert`.
pub const CERTIFICATE_FILE_NAME: &str = "bazs.cert";

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotifyReport {
    /// Messages the relay took.
    pub sent: usize,
    /// Attempts that failed (each retried later), with the error.
    pub failed: Vec<String>,
    /// Approvals held back for their certificate.
    pub waiting_for_certificate: usize,
}

/// Sends every notification due at `now`.
pub async fn send_due(
    store: &Store,
    mailer: &Mailer,
    now: i64,
) -> Result<NotifyReport, StoreError> {
    let mut report = NotifyReport::default();
    for due in store.due_notifications(now).await? {
        if due.outcome == Outcome::Approved
            && due.certificate.is_none()
            && now - due.created_at < CERTIFICATE_WAIT_SECS
        {
            report.waiting_for_certificate += 1;
            continue;
        }
        let (subject, body) = message(&due);
        let mailer = mailer.clone();
        let to = due.email.clone();
        let attachment = due.certificate.clone();
        let message_id = format!("<notification-{}@sluice>", due.id);
        let sent = tokio::task::spawn_blocking(move || {
            mailer.send_message(
                &to,
                &subject,
                body,
                attachment.map(|document| (CERTIFICATE_FILE_NAME, document)),
                Some(message_id),
            )
        })
        .await;
        let error = match sent {
            Ok(Ok(())) => {
                store.notification_sent(due.id, now).await?;
                report.sent += 1;
                tracing::info!(target: "sluice::audit", event = "notification.sent",
                    notification = due.id, receipt = %due.receipt, account = %due.account,
                    outcome = due.outcome.as_str(), "e-mailed an outcome");
                continue;
            }
            Ok(Err(error)) => error.to_string(),
            Err(panicked) => format!("the sending task failed: {panicked}"),
        };
        let pause = FIRST_RETRY_SECS
            .saturating_mul(1_i64 << due.attempts.clamp(0, 20))
            .min(MAX_RETRY_SECS);
        store
            .notification_failed(due.id, error.clone(), now.saturating_add(pause))
            .await?;
        tracing::warn!(target: "sluice::audit", event = "notification.failed",
            notification = due.id, receipt = %due.receipt, attempt = due.attempts + 1,
            error = %error, "e-mailing an outcome failed; it is tried again later");
        report.failed.push(error);
    }
    Ok(report)
}

/// Subject and body, in Chinese with English beside it.
fn message(due: &DueNotification) -> (String, String) {
    let number = due.filing_number.as_deref().unwrap_or("-");
    let (subject, what) = match due.outcome {
        Outcome::Approved => (
            format!("备案已通过 Filing approved: {number}"),
            format!(
                "您的备案已通过审核，备案号 {number}。电子证书见附件 {CERTIFICATE_FILE_NAME}，请将其放置于 \
                 http://您的域名/cert/{CERTIFICATE_FILE_NAME}，并在首页底部展示备案号。\n\
                 Your filing was approved with filing number {number}. The electronic certificate \
                 is attached as {CERTIFICATE_FILE_NAME}: publish it at \
                 http://YOUR-DOMAIN/cert/{CERTIFICATE_FILE_NAME} and show the filing number at the \
                 foot of the home page."
            ),
        ),
        Outcome::Returned => (
            "备案被退回修改 Filing returned for changes".to_owned(),
            "您的备案被退回，请按原因修改后重新提交。\n\
             Your filing was returned: change it as the reason says and submit it again."
                .to_owned(),
        ),
        Outcome::Rejected => (
            "备案未通过 Filing rejected".to_owned(),
            "您的备案未通过审核。\nYour filing was rejected.".to_owned(),
        ),
        Outcome::Revoked => (
            format!("备案电子证书已撤销 Certificate revoked: {number}"),
            format!(
                "备案号 {number} 的电子证书已撤销，不再有效，请从网站上移除。\n\
                 The certificate of filing number {number} was revoked and is no longer valid; \
                 remove it from the website."
            ),
        ),
    };
    let reason = due
        .reason
        .as_deref()
        .map(|reason| format!("\n\n原因 Reason: {reason}"))
        .unwrap_or_default();
    let body = format!(
        "{}，您好 / Dear {}:\n\n{what}{reason}\n\n回执号 Receipt: {}\n",
        due.account, due.account, due.receipt
    );
    (subject, body)
}
