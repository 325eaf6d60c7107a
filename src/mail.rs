//! Mail delivery: what Better Auth leaves to its `send*` hooks (tokens-and-emails.md §5), done
//! by one of the transports of `CONFIG.md` `[email]`: `log`, `file` (JSON lines), `smtp`
//! (lettre) or `webhook` (JSON POST).
//!
//! Neither the link nor the token is ever logged: both grant what the mail grants.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;

use crate::auth::crypto::iso;
use crate::config::EmailSettings;

/// Network transports give up after this long.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

/// The mails of CONFIG.md, named by their `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// `emailAndPassword.sendResetPassword`.
    ResetPassword,
    /// `emailVerification.sendVerificationEmail`.
    VerifyEmail,
    /// `user.changeEmail.sendChangeEmailConfirmation` (to the old address).
    ChangeEmailVerification,
    /// `user.deleteUser.sendDeleteAccountVerification`.
    DeleteAccount,
    /// The two-factor plugin's `otpOptions.sendOTP`: the code is the mail's `token`, written
    /// as `otp` (no link).
    TwoFactorOtp,
    /// The organization plugin's `sendInvitationEmail`: no link, the invitation id is in
    /// `extra` (`invitationId`, `organizationId`, `inviter`, ...).
    OrganizationInvitation,
    /// The magic-link plugin's `sendMagicLink` (`url` and `token`, no user id).
    MagicLink,
    /// The email-OTP plugin's `sendVerificationOTP`: the code is the mail's `token`, `otp_type`
    /// Better Auth's `type` (`sign-in`, `email-verification`, `forget-password`).
    EmailOtp { otp_type: &'static str },
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::ResetPassword => "reset-password",
            MailKind::VerifyEmail => "verify-email",
            MailKind::ChangeEmailVerification => "change-email-verification",
            MailKind::DeleteAccount => "delete-account",
            MailKind::TwoFactorOtp => "two-factor-otp",
            MailKind::OrganizationInvitation => "organization-invitation",
            MailKind::MagicLink => "magic-link",
            MailKind::EmailOtp { .. } => "email-otp",
        }
    }

    fn subject(self) -> &'static str {
        match self {
            MailKind::ResetPassword => "Reset your password",
            MailKind::VerifyEmail => "Verify your email address",
            MailKind::ChangeEmailVerification => "Confirm your email change",
            MailKind::DeleteAccount => "Confirm the deletion of your account",
            MailKind::TwoFactorOtp => "Your sign-in code",
            MailKind::OrganizationInvitation => "You are invited to join an organization",
            MailKind::MagicLink => "Your sign-in link",
            MailKind::EmailOtp { .. } => "Your verification code",
        }
    }

    fn text(
        self,
        url: &str,
        token: &str,
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> String {
        if self == MailKind::TwoFactorOtp {
            return format!(
                "Your sign-in code is {token}.\r\n\r\nIf you did not ask for it, someone may \
                 know your password: change it.\r\n"
            );
        }
        if let MailKind::EmailOtp { .. } = self {
            return format!(
                "Your verification code is {token}.\r\n\r\nIf you did not ask for this, ignore \
                 this mail.\r\n"
            );
        }
        if self == MailKind::OrganizationInvitation {
            let field = |k: &str| extra.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            return format!(
                "{} invited you to join {}.\r\n\r\nInvitation: {}\r\n",
                field("inviter"),
                field("organizationName"),
                field("invitationId")
            );
        }
        let what = match self {
            MailKind::ResetPassword => "To choose a new password, open this link:",
            MailKind::VerifyEmail => "To verify your email address, open this link:",
            MailKind::ChangeEmailVerification => {
                "To confirm the change of your email address, open this link:"
            }
            MailKind::DeleteAccount => "To delete your account, open this link:",
            MailKind::MagicLink => "To sign in, open this link:",
            MailKind::TwoFactorOtp
            | MailKind::OrganizationInvitation
            | MailKind::EmailOtp { .. } => "",
        };
        // CRLF: lettre encodes a bare LF in quoted-printable as `=0A`.
        format!("{what}\r\n\r\n{url}\r\n\r\nIf you did not ask for this, ignore this mail.\r\n")
    }
}

/// One mail: who gets it and the link it carries.
#[derive(Clone)]
pub struct Mail {
    pub kind: MailKind,
    pub email: String,
    pub user_id: String,
    pub url: String,
    pub token: String,
    pub at: DateTime<Utc>,
    /// Members of the mail's JSON beyond the common ones (the invitation's ids); an empty
    /// `url`, `token` or `userId` is left out of it.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The link and token are credentials: never printed.
impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl Mail {
    /// The JSON of the `file` and `webhook` transports (CONFIG.md). The plugins' mails carry
    /// what Better Auth hands their hooks: no user id.
    pub fn to_json(&self) -> serde_json::Value {
        match self.kind {
            MailKind::TwoFactorOtp => {
                return json!({
                    "type": self.kind.as_str(),
                    "email": self.email,
                    "userId": self.user_id,
                    "otp": self.token,
                    "at": iso(&self.at),
                })
            }
            MailKind::EmailOtp { otp_type } => {
                return json!({
                    "type": self.kind.as_str(),
                    "email": self.email,
                    "otp": self.token,
                    "otpType": otp_type,
                    "at": iso(&self.at),
                })
            }
            MailKind::MagicLink => {
                return json!({
                    "type": self.kind.as_str(),
                    "email": self.email,
                    "url": self.url,
                    "token": self.token,
                    "at": iso(&self.at),
                })
            }
            _ => {}
        }
        let mut out = serde_json::Map::new();
        out.insert("type".into(), json!(self.kind.as_str()));
        out.insert("email".into(), json!(self.email));
        for (k, v) in [
            ("userId", &self.user_id),
            ("url", &self.url),
            ("token", &self.token),
        ] {
            if !v.is_empty() {
                out.insert(k.into(), json!(v));
            }
        }
        out.extend(self.extra.clone());
        out.insert("at".into(), json!(iso(&self.at)));
        serde_json::Value::Object(out)
    }
}

enum Transport {
    Log,
    File {
        path: PathBuf,
        /// One writer at a time within this process; `O_APPEND` covers other processes.
        lock: std::sync::Mutex<()>,
    },
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
    Webhook {
        client: reqwest::Client,
        url: String,
    },
}

/// Delivers mails with the configured transport. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    transport: Arc<Transport>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("transport", &self.transport_name())
            .finish()
    }
}

impl Mailer {
    pub fn new(settings: &EmailSettings) -> anyhow::Result<Self> {
        let transport = match settings.transport.as_str() {
            "log" => Transport::Log,
            "file" => Transport::File {
                path: PathBuf::from(&settings.file),
                lock: std::sync::Mutex::new(()),
            },
            "smtp" => Transport::Smtp {
                transport: Box::new(
                    AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
                        .context("email.smtp_url")?
                        .timeout(Some(DELIVERY_TIMEOUT))
                        .build(),
                ),
                from: settings.from.parse().context("email.from")?,
            },
            "webhook" => Transport::Webhook {
                client: reqwest::Client::builder()
                    .timeout(DELIVERY_TIMEOUT)
                    .build()
                    .context("building the webhook client")?,
                url: settings.webhook_url.clone(),
            },
            other => anyhow::bail!("email.transport: unknown transport `{other}`"),
        };
        Ok(Self {
            transport: Arc::new(transport),
        })
    }

    fn transport_name(&self) -> &'static str {
        match *self.transport {
            Transport::Log => "log",
            Transport::File { .. } => "file",
            Transport::Smtp { .. } => "smtp",
            Transport::Webhook { .. } => "webhook",
        }
    }

    /// Delivers now and hands a failure to the caller, who logs it once (`POST
    /// /send-verification-email` propagates hook errors, tokens-and-emails.md §5).
    pub async fn deliver(&self, mail: &Mail) -> anyhow::Result<()> {
        self.try_deliver(mail)
            .await
            .with_context(|| format!("delivering a {} mail", mail.kind.as_str()))?;
        tracing::info!(
            mail_type = mail.kind.as_str(),
            user_id = %mail.user_id,
            transport = self.transport_name(),
            "mail delivered"
        );
        Ok(())
    }

    /// Delivers where failures are only logged (every other hook, §5). Local transports finish
    /// before the response; network ones run in the background, so a slow mail server neither
    /// delays the answer nor shows in its timing.
    pub async fn send(&self, mail: Mail) {
        match *self.transport {
            Transport::Log | Transport::File { .. } => self.deliver_or_log(&mail).await,
            Transport::Smtp { .. } | Transport::Webhook { .. } => {
                let mailer = self.clone();
                let span = tracing::Span::current();
                tokio::spawn(tracing::Instrument::instrument(
                    async move { mailer.deliver_or_log(&mail).await },
                    span,
                ));
            }
        }
    }

    async fn deliver_or_log(&self, mail: &Mail) {
        if let Err(e) = self.deliver(mail).await {
            tracing::error!(
                user_id = %mail.user_id,
                transport = self.transport_name(),
                error.cause_chain = ?e,
                "mail delivery failed"
            );
        }
    }

    async fn try_deliver(&self, mail: &Mail) -> anyhow::Result<()> {
        match &*self.transport {
            Transport::Log => {
                tracing::info!(
                    mail_type = mail.kind.as_str(),
                    to = %mail.email,
                    "mail not sent (email.transport = log)"
                );
                Ok(())
            }
            Transport::File { path, lock } => {
                let mut line = mail.to_json().to_string();
                line.push('\n');
                let path = path.clone();
                let _guard = lock
                    .lock()
                    .map_err(|_| anyhow::anyhow!("outbox lock poisoned"))?;
                // One `write` of the whole line on an `O_APPEND` file: lines never interleave.
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("opening the outbox {}", path.display()))?;
                f.write_all(line.as_bytes())
                    .with_context(|| format!("appending to the outbox {}", path.display()))
            }
            Transport::Smtp { transport, from } => {
                let to: Mailbox = mail.email.parse().context("recipient address")?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.kind.subject())
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.kind.text(&mail.url, &mail.token, &mail.extra))
                    .context("building the message")?;
                transport.send(message).await.context("sending over SMTP")?;
                Ok(())
            }
            Transport::Webhook { client, url } => {
                client
                    .post(url)
                    .json(&mail.to_json())
                    .send()
                    .await
                    .and_then(reqwest::Response::error_for_status)
                    // The URL may carry a credential of the receiver: keep it out of the log.
                    .map_err(reqwest::Error::without_url)
                    .context("posting to the webhook")?;
                Ok(())
            }
        }
    }
}
