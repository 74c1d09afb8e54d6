//! The mail the core writes to the outbox: what each kind says and to whom.
//!
//! Every value that came from a user is escaped in the HTML part, and subjects are one line,
//! so a crafted incident or alert can neither inject markup nor add headers.

use std::fmt::Write as _;

use crate::domain::{
    Alert, AlertEvent, BlobKey, Change, Department, Email, Incident, IncidentEvent, MailMessage,
    Subject,
};
use crate::escalation::Reminder;

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(title: &str, rows: &[(&str, String)], extra_html: &str) -> String {
    let mut html = format!(
        "<!doctype html><html><body><h1>{}</h1><table>",
        escape_html(title)
    );
    for (label, value) in rows {
        let _ = write!(
            html,
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
            escape_html(label),
            escape_html(value)
        );
    }
    html.push_str("</table>");
    html.push_str(extra_html);
    html.push_str("</body></html>");
    html
}

fn text_rows(title: &str, rows: &[(&str, String)]) -> String {
    let mut text = format!("{title}\n\n");
    for (label, value) in rows {
        let _ = writeln!(text, "{label}: {value}");
    }
    text
}

/// The acknowledgement link of a mail, as its last lines and as an HTML paragraph.
fn ack_link_parts(link: Option<&str>) -> (String, String) {
    match link {
        Some(link) => (
            format!("\nAcknowledge (one use; the page asks to confirm): {link}\n"),
            format!(
                "<p><a href=\"{}\">Acknowledge this alert</a> (one use; the page asks to confirm)</p>",
                escape_html(link)
            ),
        ),
        None => (String::new(), String::new()),
    }
}

/// The mail for an `error` or `critical` alert: subject `[CRITICAL] Alerta: <source>`, with
/// `ack_link`, when given, to acknowledge it from the mail.
pub fn alert_mail(alert: &Alert, to: Vec<Email>, ack_link: Option<&str>) -> MailMessage {
    let title = format!(
        "[{}] Alerta: {}",
        alert.severity.as_str().to_uppercase(),
        alert.source
    );
    let rows = [
        ("source", alert.source.to_string()),
        ("severity", alert.severity.to_string()),
        ("channel", alert.channel.as_str().to_owned()),
        ("message", alert.message.to_string()),
        ("id", alert.id.to_string()),
        ("created_at", alert.created_at.to_string()),
    ];
    let (link_text, link_html) = ack_link_parts(ack_link);
    MailMessage {
        to,
        subject: Subject::sanitize(&title),
        text: text_rows(&title, &rows) + &link_text,
        html: page(&title, &rows, &link_html),
    }
}

/// A reminder of an alert nobody has acknowledged:
/// `[CRITICAL] Alerta: <source> (reminder 2, not acknowledged for 20 min)`.
///
/// With `ack_link`, when given, to acknowledge it from the mail.
pub fn reminder_mail(alert: &Alert, reminder: &Reminder, ack_link: Option<&str>) -> MailMessage {
    let waited = reminder.unacknowledged_for.as_secs();
    let waited = if waited.is_multiple_of(60) {
        format!("{} min", waited / 60)
    } else {
        format!("{waited} s")
    };
    let title = format!(
        "[{}] Alerta: {} (reminder {}, not acknowledged for {waited})",
        alert.severity.as_str().to_uppercase(),
        alert.source,
        reminder.number,
    );
    let rows = [
        ("source", alert.source.to_string()),
        ("severity", alert.severity.to_string()),
        ("channel", alert.channel.as_str().to_owned()),
        ("message", alert.message.to_string()),
        ("id", alert.id.to_string()),
        ("created_at", alert.created_at.to_string()),
        ("escalation_level", reminder.level.to_string()),
        ("reminder", reminder.number.to_string()),
    ];
    let (link_text, link_html) = ack_link_parts(ack_link);
    MailMessage {
        to: reminder.to.clone(),
        subject: Subject::sanitize(&title),
        text: text_rows(&title, &rows) + &link_text,
        html: page(&title, &rows, &link_html),
    }
}

/// The mail that says a mailed alert is over: `[RESOLVED] Alerta: <source>`.
pub fn alert_resolved_mail(alert: &Alert, event: &AlertEvent, to: Vec<Email>) -> MailMessage {
    let title = format!("[RESOLVED] Alerta: {}", alert.source);
    let mut rows = vec![
        ("source", alert.source.to_string()),
        ("severity", alert.severity.to_string()),
        ("message", alert.message.to_string()),
        ("id", alert.id.to_string()),
        ("created_at", alert.created_at.to_string()),
        ("resolved_at", event.created_at.to_string()),
        ("resolved_by", event.actor.to_string()),
    ];
    if let Some(note) = &event.note {
        rows.push(("nota", note.to_string()));
    }
    MailMessage {
        to,
        subject: Subject::sanitize(&title),
        text: text_rows(&title, &rows),
        html: page(&title, &rows, ""),
    }
}

fn incident_rows(incident: &Incident) -> Vec<(&'static str, String)> {
    vec![
        ("incident_id", incident.id().to_string()),
        ("tipo", incident.kind().to_string()),
        ("urgencia", incident.urgency().to_string()),
        ("estado", incident.status().to_string()),
        ("ubicacion", incident.location().to_string()),
        ("descripcion", incident.description().to_string()),
        (
            "departamento",
            incident
                .department()
                .as_ref()
                .map_or_else(String::new, |d| d.to_string()),
        ),
        ("created_at", incident.created_at().to_string()),
    ]
}

fn describe(event: &IncidentEvent) -> String {
    match &event.change {
        Change::Created {} => "creado".to_owned(),
        Change::StatusChanged { from, to, note } => match note {
            Some(note) => format!("cambio_estado {from} -> {to}: {note}"),
            None => format!("cambio_estado {from} -> {to}"),
        },
        Change::CommentAdded { text } => format!("comentario: {text}"),
        Change::DepartmentAssigned { department } => format!("asignacion: {department}"),
        Change::AttachmentAdded { filename, .. } => format!("adjunto: {filename}"),
    }
}

/// The mail to a department when an incident is assigned to it: the incident, its history and
/// the key of its report.
pub fn assignment_mail(
    incident: &Incident,
    history: &[IncidentEvent],
    department: &Department,
    report: &BlobKey,
) -> MailMessage {
    let title = format!(
        "Alerta: incidente {} asignado a {}",
        incident.id(),
        department.name
    );
    let mut rows = incident_rows(incident);
    rows.push(("reporte", report.to_string()));
    let mut text = text_rows(&title, &rows);
    text.push_str("\nHistorial:\n");
    let mut html_history = String::from("<h2>Historial</h2><ol>");
    for event in history {
        let line = format!("{} {} {}", event.created_at, event.actor, describe(event));
        let _ = writeln!(text, "- {line}");
        let _ = write!(html_history, "<li>{}</li>", escape_html(&line));
    }
    html_history.push_str("</ol>");
    MailMessage {
        to: vec![department.email.clone()],
        subject: Subject::sanitize(&title),
        text,
        html: page(&title, &rows, &html_history),
    }
}

/// The mail to the reporter when their incident becomes `resuelto`.
pub fn resolved_mail(incident: &Incident, reporter: Email) -> MailMessage {
    let title = format!("Alerta: tu incidente {} está resuelto", incident.id());
    let rows = incident_rows(incident);
    MailMessage {
        to: vec![reporter],
        subject: Subject::sanitize(&title),
        text: text_rows(&title, &rows),
        html: page(&title, &rows, ""),
    }
}

/// The mail to a department when the report on its assignment is written: the incident and
/// the report's key.
pub fn report_ready_mail(
    incident: &Incident,
    department: &Department,
    report: &BlobKey,
) -> MailMessage {
    let title = format!(
        "Alerta: reporte del incidente {} para {}",
        incident.id(),
        department.name
    );
    let mut rows = incident_rows(incident);
    rows.push(("reporte", report.to_string()));
    MailMessage {
        to: vec![department.email.clone()],
        subject: Subject::sanitize(&title),
        text: text_rows(&title, &rows),
        html: page(&title, &rows, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AlertDraft, AlertId, AlertMessage, AlertSource, Channel, Severity, Timestamp,
    };

    #[test]
    fn alert_mail_escapes_and_keeps_one_subject_line() {
        let draft = AlertDraft {
            source: AlertSource::parse("sensor_01").unwrap(),
            severity: Severity::Critical,
            message: AlertMessage::parse("<script>alert(1)</script>\r\nBcc: evil@x.org").unwrap(),
            channel: Channel::Tcp,
            fingerprint: None,
        };
        let alert = Alert::fire(
            AlertId::parse("A1").unwrap(),
            draft,
            Timestamp::from_unix_millis(0),
        );
        let mail = alert_mail(&alert, vec![Email::parse("ops@x.org").unwrap()], None);
        assert_eq!(mail.subject.as_str(), "[CRITICAL] Alerta: sensor_01");
        assert!(mail.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!mail.html.contains("<script>"));
        assert!(mail.text.contains("<script>alert(1)</script>"));
    }
}
