//! E-mail to account holders through the site's SMTP relay: the verification code of a new
//! registration, the code that sets a (new) password. Plain SMTP to the relay configured in
//! `[mail]`; the relay (a local Postfix, say) carries the message on with TLS. Sending blocks,
//! so callers run [`Mailer::send`] off the async runtime.

use std::time::Duration;

use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::{Message, SmtpTransport, Transport};

use crate::config::MailConfig;

/// Why a message was not handed to the relay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// The sender or recipient address cannot be used.
    #[error("address {address:?} cannot be used: {reason}")]
    Address {
        /// The address.
        address: String,
        /// Why.
        reason: String,
    },
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The relay refused or could not be reached.
    #[error("the SMTP relay {relay} did not take the message: {reason}")]
    Relay {
        /// `host:port`.
        relay: String,
        /// What it said, or why it could not be reached.
        reason: String,
    },
}

/// Sends messages through the configured relay.
#[derive(Clone, Debug)]
pub struct Mailer {
    config: MailConfig,
}

impl Mailer {
    /// A mailer for `config`.
    pub fn new(config: MailConfig) -> Mailer {
        Mailer { config }
    }

    /// Sends a plain-text message to `to` and waits for the relay to take it (within the
    /// configured timeout). Blocking.
    pub fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        self.send_message(to, subject, body, None, None)
    }

    /// [`Mailer::send`] with a file attached (`name`, bytes; sent as `text/plain`, which a
    /// certificate file is) and a fixed `Message-ID` (so that a message sent again after a
    /// crash is recognisably the same one). Blocking.
    pub fn send_message(
        &self,
        to: &str,
        subject: &str,
        body: String,
        attachment: Option<(&str, Vec<u8>)>,
        message_id: Option<String>,
    ) -> Result<(), MailError> {
        let mailbox = |address: &str| {
            address
                .parse::<Mailbox>()
                .map_err(|error| MailError::Address {
                    address: address.to_owned(),
                    reason: error.to_string(),
                })
        };
        let builder = Message::builder()
            .from(mailbox(&self.config.from)?)
            .to(mailbox(to)?)
            .subject(subject)
            .message_id(message_id);
        let message = match attachment {
            None => builder.header(ContentType::TEXT_PLAIN).body(body),
            Some((name, bytes)) => builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(body))
                    .singlepart(
                        Attachment::new(name.to_owned()).body(bytes, ContentType::TEXT_PLAIN),
                    ),
            ),
        }
        .map_err(|error| MailError::Build(error.to_string()))?;
        let relay = format!("{}:{}", self.config.relay_host, self.config.relay_port);
        let transport = SmtpTransport::builder_dangerous(&self.config.relay_host)
            .port(self.config.relay_port)
            .timeout(Some(Duration::from_secs(self.config.timeout_secs)))
            .build();
        transport
            .send(&message)
            .map(|_| ())
            .map_err(|error| MailError::Relay {
                relay,
                reason: error.to_string(),
            })
    }
}
