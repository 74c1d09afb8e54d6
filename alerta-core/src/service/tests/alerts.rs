//! The alert lifecycle's use cases, with mocked ports.

use std::sync::{Arc, Mutex};

use super::{Mocks, one_position, unavailable, user};
use crate::domain::{
    Alert, AlertDraft, AlertId, AlertState, AlertStatus, Channel, Email, MailCause, MailId,
    MailKind, MailMessage, MailState, Note, OutboxMail, Role, StreamKind, Subject, Timestamp,
};
use crate::{AlertChangeRequest, AlertSender, ConflictKind, Error};

fn alert(version: u64, status: AlertStatus) -> Alert {
    let draft = AlertDraft::parse("sensor_01", "critical", "caliente", Channel::Tcp).unwrap();
    Alert::restore(
        AlertId::parse("A1").unwrap(),
        draft,
        Timestamp::from_unix_millis(0),
        AlertState {
            status,
            version,
            updated_at: Timestamp::from_unix_millis(0),
        },
    )
}

fn id() -> AlertId {
    AlertId::parse("A1").unwrap()
}

fn request(note: Option<&str>, version: Option<u64>) -> AlertChangeRequest {
    AlertChangeRequest {
        note: note.map(|n| Note::parse(n).unwrap()),
        expected_version: version,
    }
}

#[tokio::test]
async fn staff_acknowledge_one_version_on_with_the_event_and_its_message() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(alert(1, AlertStatus::Firing))));
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = written.clone();
    mocks
        .alerts
        .expect_transition()
        .times(1)
        .returning(move |c| {
            sink.lock().unwrap().push(c);
            Ok(one_position())
        });
    let kinds = Arc::new(Mutex::new(Vec::new()));
    let seen = kinds.clone();
    mocks
        .broadcaster
        .expect_publish()
        .times(1)
        .returning(move |b| {
            seen.lock()
                .unwrap()
                .extend(b.messages.iter().map(|m| m.kind));
            Ok(())
        });
    let app = mocks.build();
    let staff = user(Role::Staff);
    let acked = app
        .acknowledge_alert(&staff, &id(), request(Some("voy"), Some(1)), None)
        .await
        .expect("acknowledged");
    assert_eq!(
        (acked.status(), acked.version()),
        (AlertStatus::Acknowledged, 2)
    );
    let written = written.lock().unwrap();
    assert_eq!(written.len(), 1);
    let change = &written[0];
    assert_eq!(change.expected_version, 1);
    assert_eq!(change.alert, acked);
    assert_eq!(change.event.actor, staff.id);
    assert_eq!(change.event.note.as_ref().map(|n| n.as_str()), Some("voy"));
    assert_eq!(
        (change.event.from, change.event.to),
        (AlertStatus::Firing, AlertStatus::Acknowledged)
    );
    assert_eq!(*kinds.lock().unwrap(), [StreamKind::AlertAcknowledged]);
}

#[tokio::test]
async fn a_source_resolves_as_ingest_and_a_failing_broadcaster_does_not_fail_it() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(alert(2, AlertStatus::Acknowledged))));
    mocks.outbox.expect_mails_about().returning(|_| Ok(vec![]));
    mocks
        .alerts
        .expect_transition()
        .times(1)
        .withf(|c| {
            c.event.actor.as_str() == "ingest"
                && c.alert.status() == AlertStatus::Resolved
                && c.mails.is_empty()
        })
        .returning(|_| Ok(one_position()));
    mocks
        .broadcaster
        .expect_publish()
        .times(1)
        .returning(|_| Err(unavailable()));
    let app = mocks.build();
    let resolved = app
        .resolve_alert(AlertSender::Ingest, &id(), request(None, None), None)
        .await
        .expect("resolved");
    assert_eq!(
        (resolved.status(), resolved.version()),
        (AlertStatus::Resolved, 3)
    );
}

#[tokio::test]
async fn students_may_not_acknowledge_or_resolve_and_no_port_is_used() {
    // Every mock is without expectations: any call would panic.
    let app = Mocks::default().build();
    let student = user(Role::Student);
    let ack = app
        .acknowledge_alert(&student, &id(), request(None, None), None)
        .await;
    assert!(matches!(ack, Err(Error::Forbidden(_))), "{ack:?}");
    let resolve = app
        .resolve_alert(
            AlertSender::User(&student),
            &id(),
            request(None, None),
            None,
        )
        .await;
    assert!(matches!(resolve, Err(Error::Forbidden(_))), "{resolve:?}");
}

#[tokio::test]
async fn a_stale_version_an_invalid_move_or_an_unknown_alert_writes_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_alert()
        .returning(|id| Ok((id.as_str() == "A1").then(|| alert(3, AlertStatus::Resolved))));
    let app = mocks.build();
    let staff = user(Role::Admin);
    let stale = app
        .acknowledge_alert(&staff, &id(), request(None, Some(2)), None)
        .await;
    assert_eq!(
        stale.unwrap_err().conflict_kind(),
        Some(ConflictKind::StaleVersion)
    );
    let invalid = app
        .resolve_alert(
            AlertSender::User(&staff),
            &id(),
            request(None, Some(3)),
            None,
        )
        .await;
    assert_eq!(
        invalid.unwrap_err().conflict_kind(),
        Some(ConflictKind::InvalidTransition)
    );
    let unknown = app
        .acknowledge_alert(
            &staff,
            &AlertId::parse("A2").unwrap(),
            request(None, None),
            None,
        )
        .await;
    assert!(
        matches!(unknown, Err(Error::NotFound("alert"))),
        "{unknown:?}"
    );
}

#[tokio::test]
async fn a_lost_race_without_a_version_is_recorded_again_on_the_new_state() {
    let mut mocks = Mocks::default();
    let reads = Arc::new(Mutex::new(0));
    let counter = reads.clone();
    // The first read sees it firing; by the second, someone else acknowledged it.
    mocks.alerts.expect_alert().times(2).returning(move |_| {
        let mut n = counter.lock().unwrap();
        *n += 1;
        Ok(Some(if *n == 1 {
            alert(1, AlertStatus::Firing)
        } else {
            alert(2, AlertStatus::Acknowledged)
        }))
    });
    mocks.outbox.expect_mails_about().returning(|_| Ok(vec![]));
    let mut attempt = 0;
    mocks
        .alerts
        .expect_transition()
        .times(2)
        .returning(move |c| {
            attempt += 1;
            if attempt == 1 {
                assert_eq!(c.expected_version, 1);
                Err(Error::stale_version())
            } else {
                assert_eq!(c.expected_version, 2);
                assert_eq!(c.event.from, AlertStatus::Acknowledged);
                Ok(one_position())
            }
        });
    mocks.broadcaster.expect_publish().returning(|_| Ok(()));
    let app = mocks.build();
    let resolved = app
        .resolve_alert(
            AlertSender::User(&user(Role::Staff)),
            &id(),
            request(None, None),
            None,
        )
        .await
        .expect("resolved on the second try");
    assert_eq!(resolved.version(), 3);
}

#[tokio::test]
async fn a_store_conflict_or_failure_reaches_the_caller_and_nothing_is_broadcast() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(alert(1, AlertStatus::Firing))));
    mocks.outbox.expect_mails_about().returning(|_| Ok(vec![]));
    let mut attempt = 0;
    mocks
        .alerts
        .expect_transition()
        .times(2)
        .returning(move |_| {
            attempt += 1;
            if attempt == 1 {
                Err(Error::stale_version())
            } else {
                Err(unavailable())
            }
        });
    // No expectation on the broadcaster: a publish would panic.
    let app = mocks.build();
    let staff = user(Role::Staff);
    let raced = app
        .acknowledge_alert(&staff, &id(), request(None, Some(1)), None)
        .await;
    assert_eq!(
        raced.unwrap_err().conflict_kind(),
        Some(ConflictKind::StaleVersion),
        "a caller who named the version sees the race"
    );
    let failed = app
        .acknowledge_alert(&staff, &id(), request(None, Some(1)), None)
        .await;
    assert!(
        matches!(failed, Err(Error::Unavailable { .. })),
        "{failed:?}"
    );
}

fn mailed(id: &str, kind: MailKind, state: MailState, to: &str) -> OutboxMail {
    let message = MailMessage {
        to: vec![Email::parse(to).unwrap()],
        subject: Subject::sanitize("s"),
        text: "t".into(),
        html: "<p>t</p>".into(),
    };
    let mut mail = OutboxMail::new(
        MailId::parse(id).unwrap(),
        MailCause::alert(kind, &self::id()),
        message,
        Timestamp::from_unix_millis(0),
    );
    mail.state = state;
    mail
}

#[tokio::test]
async fn resolving_a_mailed_alert_writes_one_resolved_mail_with_the_change() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(alert(1, AlertStatus::Firing))));
    mocks.outbox.expect_mails_about().times(1).returning(|_| {
        Ok(vec![
            mailed("M1", MailKind::Alert, MailState::Sent, "ops@campus.edu"),
            mailed("M2", MailKind::Reminder, MailState::Sent, "boss@campus.edu"),
            mailed(
                "M3",
                MailKind::Reminder,
                MailState::Pending,
                "later@campus.edu",
            ),
            mailed(
                "M4",
                MailKind::Reminder,
                MailState::Cancelled,
                "never@campus.edu",
            ),
        ])
    });
    mocks
        .alerts
        .expect_transition()
        .times(1)
        .withf(|c| {
            let [mail] = c.mails.as_slice() else {
                return false;
            };
            let to: Vec<&str> = mail.message.to.iter().map(Email::as_str).collect();
            mail.kind() == Some(MailKind::AlertResolved)
                && to == ["ops@campus.edu", "boss@campus.edu"]
                && mail.message.subject.as_str() == "[RESOLVED] Alerta: sensor_01"
        })
        .returning(|_| Ok(one_position()));
    mocks.broadcaster.expect_publish().returning(|_| Ok(()));
    let app = mocks.build();
    app.resolve_alert(AlertSender::Ingest, &id(), request(None, None), None)
        .await
        .expect("resolved");
}

#[tokio::test]
async fn an_outbox_failure_while_resolving_writes_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(alert(1, AlertStatus::Firing))));
    mocks
        .outbox
        .expect_mails_about()
        .returning(|_| Err(unavailable()));
    mocks.alerts.expect_transition().never();
    mocks.broadcaster.expect_publish().never();
    let app = mocks.build();
    let result = app
        .resolve_alert(AlertSender::Ingest, &id(), request(None, None), None)
        .await;
    assert!(matches!(result, Err(Error::Unavailable { .. })));
}
