//! Checks of what outbox rows say about their cause: listing the rows of one incident or
//! alert, cancelling rows, and the mail a status change of an alert writes with it.

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;

use super::{Fixtures, conflict_kind};
use crate::domain::{
    Alert, AlertAction, AlertId, Channel, MailAbout, MailCause, MailId, MailKind, MailState,
    OutboxMail, PageRequest, Severity, Status, Urgency,
};
use crate::ports::{AlertWrite, Storage};
use crate::{ConflictKind, Error};

const LEASE: Duration = Duration::from_secs(60);
const RACERS: usize = 16;

fn ids(mails: &[OutboxMail]) -> Vec<MailId> {
    mails.iter().map(|m| m.id.clone()).collect()
}

async fn stored_alert(store: &Storage, f: &Fixtures, mails: Vec<OutboxMail>) -> Alert {
    let alert = f.alert(
        "sensor_01",
        Severity::Critical,
        Channel::Tcp,
        "temperatura alta",
    );
    store
        .alerts
        .insert(vec![AlertWrite {
            alert: alert.clone(),
            mails,
        }])
        .await
        .expect("insert");
    alert
}

pub(super) async fn rows_of_one_incident_or_alert_are_listed_apart(store: &Storage) {
    let f = Fixtures::new();
    let reporter = f.user();
    let first = f.incident(&reporter, "seguridad", Urgency::High, "puerta");
    let second = f.incident(&reporter, "limpieza", Urgency::Low, "pasillo");
    for incident in [&first, &second] {
        store
            .incidents
            .commit(f.creation(incident))
            .await
            .expect("create");
    }
    let now = f.tick();
    let assignment = f.mail_for(
        MailCause::incident(MailKind::Assignment, first.id()),
        "depto@campus.edu",
        "asignado",
        now,
    );
    let mut assign = f.assign(&first, "Mantenimiento");
    assign.mails = vec![assignment.clone()];
    let assigned = assign.incident.clone();
    store.incidents.commit(assign).await.expect("assign");
    let resolved = f.mail_for(
        MailCause::incident(MailKind::IncidentResolved, first.id()),
        "alumno@campus.edu",
        "resuelto",
        now,
    );
    let mut resolve = f.move_to(&assigned, Status::Resolved);
    resolve.mails = vec![resolved.clone()];
    store.incidents.commit(resolve).await.expect("resolve");
    let elsewhere = f.mail_for(
        MailCause::incident(MailKind::Assignment, second.id()),
        "otro@campus.edu",
        "otro",
        now,
    );
    let mut other = f.assign(&second, "Limpieza");
    other.mails = vec![elsewhere.clone()];
    store.incidents.commit(other).await.expect("assign other");
    let alert_id = AlertId::parse(&f.id()).expect("id");
    let alert_mail = f.mail_for(
        MailCause::alert(MailKind::Alert, &alert_id),
        "ops@campus.edu",
        "alerta",
        now,
    );
    let reminder = f
        .mail_for(
            MailCause::alert(MailKind::Reminder, &alert_id),
            "ops@campus.edu",
            "recordatorio",
            now,
        )
        .due_at(now.plus(Duration::from_secs(600)));
    stored_alert(store, &f, vec![alert_mail.clone(), reminder.clone()]).await;

    let of_first = store
        .outbox
        .mails_about(&MailAbout::Incident(first.id().clone()))
        .await
        .expect("list");
    assert_eq!(
        ids(&of_first),
        ids(&[assignment.clone(), resolved.clone()]),
        "exactly the incident's rows, oldest first"
    );
    assert_eq!(
        of_first[0], assignment,
        "a row reads back whole, cause included"
    );
    assert_eq!(of_first[1].kind(), Some(MailKind::IncidentResolved));
    let of_second = store
        .outbox
        .mails_about(&MailAbout::Incident(second.id().clone()))
        .await
        .expect("list");
    assert_eq!(ids(&of_second), vec![elsewhere.id.clone()]);
    let of_alert = store
        .outbox
        .mails_about(&MailAbout::Alert(alert_id.clone()))
        .await
        .expect("list");
    assert_eq!(of_alert, vec![alert_mail.clone(), reminder.clone()]);
    assert_eq!(
        of_alert[1]
            .cause
            .as_ref()
            .and_then(MailCause::only_while_firing),
        Some(&alert_id),
        "a reminder reads back as waiting on its alert"
    );
    let never = f.incident(&reporter, "otro", Urgency::Low, "nunca");
    assert!(
        store
            .outbox
            .mails_about(&MailAbout::Incident(never.id().clone()))
            .await
            .expect("list")
            .is_empty()
    );

    // A row due later is claimed at its time, not before.
    let claimed = store.outbox.claim_due(now, LEASE, 10).await.expect("claim");
    assert!(!ids(&claimed).contains(&reminder.id));
    let later = now.plus(Duration::from_secs(600));
    let claimed = store
        .outbox
        .claim_due(later, LEASE, 10)
        .await
        .expect("claim");
    assert!(ids(&claimed).contains(&reminder.id));
}

pub(super) async fn a_cancelled_row_is_settled_and_never_claimed(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let alert_id = AlertId::parse(&f.id()).expect("id");
    let reminder = f.mail_for(
        MailCause::alert(MailKind::Reminder, &alert_id),
        "ops@campus.edu",
        "recordatorio",
        now,
    );
    let kept = f.mail("ops@campus.edu", "otro", now);
    stored_alert(store, &f, vec![reminder.clone(), kept.clone()]).await;
    let claimed = store.outbox.claim_due(now, LEASE, 10).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    store
        .outbox
        .mark_cancelled(&reminder.id, "cancelled: the alert is acknowledged")
        .await
        .expect("cancel");
    let row = store
        .outbox
        .mail(&reminder.id)
        .await
        .expect("read")
        .expect("the row");
    assert_eq!(row.state, MailState::Cancelled);
    assert_eq!(row.lease_until, None, "the lease is cleared");
    assert_eq!(row.attempts, 0, "cancelling is not an attempt");
    assert_eq!(row.sent_at, None);
    assert_eq!(
        row.last_error.as_deref(),
        Some("cancelled: the alert is acknowledged")
    );
    let much_later = now.plus(Duration::from_secs(86_400));
    let claimed = store
        .outbox
        .claim_due(much_later, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(
        ids(&claimed),
        vec![kept.id.clone()],
        "a cancelled row is never claimed again"
    );
    let listed = store
        .outbox
        .mails(
            Some(MailState::Cancelled),
            &PageRequest::first(10).expect("page"),
        )
        .await
        .expect("list");
    assert_eq!(ids(&listed.items), vec![reminder.id.clone()]);
    let unknown = MailId::parse(&f.id()).expect("id");
    assert!(matches!(
        store.outbox.mark_cancelled(&unknown, "x").await,
        Err(Error::NotFound(_))
    ));
}

pub(super) async fn a_transition_stores_its_mail_with_it(store: &Storage) {
    let f = Fixtures::new();
    let fired = stored_alert(store, &f, vec![]).await;
    let about = MailAbout::Alert(fired.id.clone());
    let resolved_mail = |f: &Fixtures| {
        f.mail_for(
            MailCause::alert(MailKind::AlertResolved, &fired.id),
            "ops@campus.edu",
            "resuelta",
            f.tick(),
        )
    };

    let mut stale = f.transition(&fired, AlertAction::Resolve { note: None });
    stale.expected_version += 1;
    stale.mails = vec![resolved_mail(&f)];
    assert_eq!(
        conflict_kind(store.alerts.transition(stale).await),
        ConflictKind::StaleVersion
    );
    assert!(
        store
            .outbox
            .mails_about(&about)
            .await
            .expect("list")
            .is_empty(),
        "a refused transition writes no mail"
    );

    let mut change = f.transition(&fired, AlertAction::Resolve { note: None });
    let mail = resolved_mail(&f);
    change.mails = vec![mail.clone()];
    store.alerts.transition(change).await.expect("resolve");
    assert_eq!(
        store.outbox.mails_about(&about).await.expect("list"),
        vec![mail.clone()],
        "the transition's mail is stored with it"
    );
    assert_eq!(store.outbox.mail(&mail.id).await.expect("read"), Some(mail));
}

pub(super) async fn racing_transitions_store_one_mail(store: &Storage) {
    let f = Fixtures::new();
    let fired = stored_alert(store, &f, vec![]).await;
    let changes: Vec<_> = (0..RACERS)
        .map(|n| {
            let mut change = f.transition(&fired, AlertAction::Resolve { note: None });
            change.mails = vec![f.mail_for(
                MailCause::alert(MailKind::AlertResolved, &fired.id),
                "ops@campus.edu",
                &format!("resuelta {n}"),
                f.tick(),
            )];
            change
        })
        .collect();
    let results = join_all(changes.iter().cloned().map(|c| store.alerts.transition(c))).await;
    let winners: Vec<usize> = (0..RACERS).filter(|n| results[*n].is_ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one racing transition wins");
    let stored = store
        .outbox
        .mails_about(&MailAbout::Alert(fired.id.clone()))
        .await
        .expect("list");
    assert_eq!(
        stored, changes[winners[0]].mails,
        "only the winner's mail is stored"
    );
    let all: HashSet<MailId> = store
        .outbox
        .claim_due(f.tick(), LEASE, 100)
        .await
        .expect("claim")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(all.len(), 1, "no loser left a row behind");
}
