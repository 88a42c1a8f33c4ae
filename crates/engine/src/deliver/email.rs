//! E-mail: each message as a plain-text mail over SMTP (lettre, on tokio, TLS by rustls).
//!
//! The subject is the notification title (one line: a sender name cannot add headers), the body the SMS text
//! and where it came from, and the `Message-ID` is derived from the delivery's event id, so a retried mail that
//! did arrive the first time is recognisable as the same mail.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use simrelay_protocol::{Forwarder, Message, SmtpSecurity};

use super::text::title;

/// The port for `security` when `smtp_port` is unset.
pub(crate) fn default_port(security: SmtpSecurity) -> u16 {
    match security {
        SmtpSecurity::Starttls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::None => 25,
    }
}

/// The mail delivering `message` (checked addresses come from the settings checks; a bad one is an error here).
pub(crate) fn mail(
    forwarder: &Forwarder,
    message: &Message,
    event_id: &str,
) -> Result<lettre::Message, String> {
    let from: Mailbox = forwarder
        .from
        .as_deref()
        .ok_or("from is not set")?
        .parse()
        .map_err(|e| format!("from is not an e-mail address: {e}"))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(title(message))
        .message_id(Some(format!("<{event_id}@simrelay.invalid>")))
        .header(ContentType::TEXT_PLAIN);
    for to in &forwarder.to {
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("to {to:?} is not an e-mail address: {e}"))?;
        builder = builder.to(to);
    }
    let body = format!(
        "{}\n\n--\nFrom {} to modem {}, received {} (message {} in SimRelay).\n",
        super::text::body(message),
        super::text::one_line(&message.sender),
        message.modem,
        message.received_at.to_rfc3339(),
        message.id
    );
    builder
        .body(body)
        .map_err(|e| format!("cannot build the mail: {e}"))
}

/// Sends `mail` through the forwarder's SMTP server.
pub(crate) async fn send(
    forwarder: &Forwarder,
    mail: lettre::Message,
    timeout: Duration,
) -> Result<(), String> {
    let host = forwarder
        .smtp_host
        .as_deref()
        .ok_or("smtp_host is not set")?;
    let security = forwarder.smtp_security;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(forwarder.smtp_port.unwrap_or(default_port(security)))
        .timeout(Some(timeout));
    match security {
        SmtpSecurity::Tls => builder = builder.tls(Tls::Wrapper(tls_parameters(forwarder, host)?)),
        // Required: a server that does not offer STARTTLS gets neither the login nor the mail.
        SmtpSecurity::Starttls => {
            builder = builder.tls(Tls::Required(tls_parameters(forwarder, host)?));
        }
        SmtpSecurity::None => {}
    }
    if let Some(user) = &forwarder.smtp_username {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            forwarder.smtp_password.clone().unwrap_or_default(),
        ));
    }
    builder
        .build()
        .send(mail)
        .await
        .map(|_| ())
        .map_err(|e| format!("the SMTP server {host} refused or failed: {e}"))
}

/// TLS checking `host`'s certificate against the public CAs, or only against `smtp_ca_file`'s.
fn tls_parameters(forwarder: &Forwarder, host: &str) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = &forwarder.smtp_ca_file {
        let pem =
            std::fs::read(path).map_err(|e| format!("smtp_ca_file {path}: cannot read it: {e}"))?;
        let ca = Certificate::from_pem(&pem)
            .map_err(|e| format!("smtp_ca_file {path}: not a PEM certificate: {e}"))?;
        builder = builder
            .certificate_store(CertificateStore::None)
            .add_root_certificate(ca);
    }
    builder
        .build_rustls()
        .map_err(|e| format!("cannot set up TLS for {host}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deliver::text::tests::message;
    use simrelay_protocol::ForwarderKind;

    #[test]
    fn the_mail_is_plain_text_with_a_one_line_subject() {
        let mut f = Forwarder::new("mail", ForwarderKind::Email);
        f.from = Some("SimRelay <sms@example.org>".into());
        f.to = vec!["me@example.org".into()];
        let m = message(
            "Evil\r\nBcc: x@example.org",
            "Your code is 482913",
            Some("482913"),
        );
        let mail = mail(&f, &m, "0123abcd").expect("builds");
        let text = String::from_utf8(mail.formatted()).expect("utf-8");
        assert!(
            text.contains("Subject: Code 482913 from Evil Bcc: x@example.org\r\n"),
            "{text}"
        );
        assert!(!text.contains("\r\nBcc:"), "no injected header: {text}");
        assert!(
            text.contains("Message-ID: <0123abcd@simrelay.invalid>"),
            "{text}"
        );
        assert!(
            text.contains("Content-Type: text/plain; charset=utf-8"),
            "{text}"
        );
        assert!(text.contains("Your code is 482913"), "{text}");
        f.to = vec!["not an address".into()];
        assert!(super::mail(&f, &m, "e").expect_err("bad").contains("to"));
    }
}
