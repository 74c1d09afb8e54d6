//! The one message an outbox row becomes, whichever mailer carries it.

use std::time::{Duration, SystemTime};

use alerta_core::domain::{Email, MailId, OutboxMail, Subject, Timestamp};
use alerta_core::ports::SendError;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

/// The display name on the `From` header.
const SENDER_NAME: &str = "Alerta";

/// The sender when none is configured.
const DEFAULT_SENDER: &str = "alerta@localhost";

/// The `From` mailbox for `address` (the default sender when `None`).
///
/// # Errors
///
/// The message when lettre does not accept the address.
pub(super) fn sender(address: Option<&Email>) -> Result<Mailbox, String> {
    let address = address.map_or(DEFAULT_SENDER, Email::as_str);
    address
        .parse()
        .map(|address| Mailbox::new(Some(SENDER_NAME.to_owned()), address))
        .map_err(|e| format!("the sender {address} is not a usable address: {e}"))
}

/// Builds the MIME message of `mail`: `multipart/alternative` with the plain text first and
/// the HTML second, the row's `Message-ID`, and the row's creation time as `Date`, so every
/// attempt sends the same message.
///
/// Every header goes through lettre's typed headers. The id, the `Message-ID` and the subject
/// of a row read back from a store were deserialized without the checks their constructors
/// make, so they are checked again here rather than trusted.
///
/// # Errors
///
/// [`SendError::Permanent`]: a row that cannot become a message will not become one later.
pub(super) fn build(mail: &OutboxMail, from: &Mailbox) -> Result<Message, SendError> {
    let refuse = |why: String| SendError::Permanent(format!("mail {}: {why}", mail.id));
    if mail.message.to.is_empty() {
        return Err(refuse("it has no recipient".into()));
    }
    let message_id = checked_message_id(&mail.message_id)
        .ok_or_else(|| refuse("its Message-ID is not of the form <local@domain>".into()))?;
    let subject = Subject::sanitize(mail.message.subject.as_str());
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject.as_str())
        .message_id(Some(message_id.to_owned()))
        .date(system_time(mail.created_at));
    for to in &mail.message.to {
        let address = to
            .as_str()
            .parse()
            .map_err(|e| refuse(format!("the recipient {to} is not usable: {e}")))?;
        builder = builder.to(Mailbox::new(None, address));
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            mail.message.text.clone(),
            mail.message.html.clone(),
        ))
        .map_err(|e| refuse(format!("the message cannot be built: {e}")))
}

/// The id when it is `<...@...>` of visible ASCII: nothing that could end the header.
fn checked_message_id(id: &str) -> Option<&str> {
    let inner = id.strip_prefix('<')?.strip_suffix('>')?;
    let visible = |c: char| c.is_ascii_graphic() && c != '<' && c != '>';
    (!inner.is_empty() && inner.len() <= 250 && inner.contains('@') && inner.chars().all(visible))
        .then_some(id)
}

/// The file-name-safe id of `mail`, checked again for the same reason as the headers.
pub(super) fn checked_id(mail: &OutboxMail) -> Result<MailId, SendError> {
    MailId::parse(mail.id.as_str()).map_err(|_| {
        SendError::Permanent(format!(
            "the mail id {:?} is not a valid id",
            mail.id.as_str()
        ))
    })
}

fn system_time(at: Timestamp) -> SystemTime {
    let ms = u64::try_from(at.unix_millis()).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

#[cfg(test)]
mod tests {
    use alerta_core::domain::{AlertId, MailCause, MailKind, MailMessage, Subject};

    use super::*;

    fn mail(subject: &str, message_id: &str) -> OutboxMail {
        let message = MailMessage {
            to: vec![Email::parse("ops@campus.edu").unwrap()],
            subject: Subject::sanitize(subject),
            text: "plain\r\nBcc: evil@x.org".into(),
            html: "<p>&lt;b&gt;</p>".into(),
        };
        let mut mail = OutboxMail::new(
            MailId::parse("M1").unwrap(),
            MailCause::alert(MailKind::Alert, &AlertId::parse("A1").unwrap()),
            message,
            Timestamp::from_unix_millis(1_795_342_530_123),
        );
        mail.message_id = message_id.into();
        mail
    }

    fn headers(message: &Message) -> String {
        let raw = String::from_utf8(message.formatted()).unwrap();
        raw.split("\r\n\r\n").next().unwrap().to_owned()
    }

    #[test]
    fn the_row_sets_message_id_date_and_one_recipient() {
        let message = build(&mail("hola", "<M1@alerta>"), &sender(None).unwrap()).unwrap();
        let head = headers(&message);
        assert!(head.contains("Message-ID: <M1@alerta>\r\n"), "{head}");
        assert!(
            head.contains("Date: Sun, 22 Nov 2026 10:15:30 +0000\r\n"),
            "{head}"
        );
        assert!(
            head.contains("From: Alerta <alerta@localhost>\r\n"),
            "{head}"
        );
        assert!(head.contains("To: ops@campus.edu\r\n"), "{head}");
        assert!(head.contains("multipart/alternative"), "{head}");
        assert!(!head.to_lowercase().contains("bcc"), "{head}");
        assert_eq!(message.envelope().to().len(), 1);
    }

    #[test]
    fn a_stored_subject_with_a_line_break_stays_one_header() {
        let mut row = mail("x", "<M1@alerta>");
        row.message.subject =
            serde_json::from_str("\"[CRITICAL] Alerta: a\\r\\nBcc: evil@x.org\"").unwrap();
        let head = headers(&build(&row, &sender(None).unwrap()).unwrap());
        assert!(!head.to_lowercase().contains("\r\nbcc:"), "{head}");
    }

    #[test]
    fn a_message_id_that_could_break_the_header_is_refused() {
        for bad in [
            "<a@b>\r\nBcc: x@y",
            "M1@alerta",
            "<a b@c>",
            "<>",
            "<nohost>",
        ] {
            let result = build(&mail("s", bad), &sender(None).unwrap());
            assert!(matches!(result, Err(SendError::Permanent(_))), "{bad:?}");
        }
    }
}
