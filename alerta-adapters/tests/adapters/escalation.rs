//! Escalation end to end over the memory store: the service writes reminders with the alert,
//! dispatchers on a manual clock send them at their times, an acknowledgement cancels the
//! rest, and a resolution mails everyone the alert reached.

use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::memory::{
    MemoryBlobStore, MemoryStore, RecordingBroadcaster, RecordingMailer,
};
use alerta_core::dispatch::{Dispatcher, RetryPolicy};
use alerta_core::domain::{
    AlertDraft, AlertId, Channel, Email, MailAbout, MailKind, MailState, NewUser, OutboxMail, Role,
    Timestamp, User,
};
use alerta_core::escalation::{EscalationLevel, EscalationPolicy};
use alerta_core::ports::{Clock, MailOutbox, ManualClock, Storage};
use alerta_core::{AlertChangeRequest, AlertSender, Alerta, Settings};

const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

struct World {
    app: Alerta,
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    mailer: Arc<RecordingMailer>,
    staff: User,
}

async fn world(levels: Vec<EscalationLevel>) -> World {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let settings = Settings {
        alert_recipients: vec![email("ops@campus.edu")],
        escalation: EscalationPolicy::new(vec![alerta_core::domain::Severity::Critical], levels)
            .unwrap(),
        ..Settings::default()
    };
    let app = Alerta::builder(
        Storage::from_backend(store.clone()),
        Arc::new(MemoryBlobStore::new()),
        Arc::new(RecordingBroadcaster::new()),
    )
    .clock(clock.clone())
    .settings(settings)
    .build();
    let staff = app
        .add_user(NewUser::parse("staff@campus.edu", "password123", "Staff", Role::Staff).unwrap())
        .await
        .unwrap();
    World {
        app,
        store,
        clock,
        mailer: Arc::new(RecordingMailer::new_ok()),
        staff,
    }
}

impl World {
    fn dispatcher(&self) -> Dispatcher {
        Dispatcher::new(
            self.store.clone(),
            self.store.clone(),
            self.mailer.clone(),
            self.clock.clone(),
            RetryPolicy::default(),
        )
    }

    /// A new alert: each has its own message, so that none joins another's group.
    async fn fire(&self, severity: &str) -> AlertId {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let message = format!("temperatura alta {n}");
        let draft = AlertDraft::parse("sensor_01", severity, &message, Channel::Tcp).unwrap();
        self.app.ingest_alerts(vec![draft]).await.unwrap()[0]
            .id
            .clone()
    }

    async fn rows(&self, alert: &AlertId) -> Vec<OutboxMail> {
        self.store
            .mails_about(&MailAbout::Alert(alert.clone()))
            .await
            .unwrap()
    }

    /// Subjects of everything sent so far, in order.
    fn subjects(&self) -> Vec<String> {
        self.mailer
            .sent()
            .iter()
            .map(|m| m.message.subject.as_str().to_owned())
            .collect()
    }

    fn at(&self, offset: Duration) {
        self.clock.set(T0.plus(offset));
    }
}

#[tokio::test]
async fn reminders_go_at_their_times_and_stop_at_acknowledgement() {
    let w = world(vec![
        EscalationLevel::new(minutes(10), minutes(5), 3, vec![]).unwrap(),
    ])
    .await;
    let d = w.dispatcher();
    let alert = w.fire("critical").await;
    let rows = w.rows(&alert).await;
    let kinds: Vec<_> = rows.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        vec![
            Some(MailKind::Alert),
            Some(MailKind::Reminder),
            Some(MailKind::Reminder),
            Some(MailKind::Reminder)
        ],
        "the alert mail and its three reminders are written with the alert"
    );
    let due: Vec<_> = rows.iter().map(|r| r.next_attempt_at).collect();
    assert_eq!(
        due,
        vec![
            T0,
            T0.plus(minutes(10)),
            T0.plus(minutes(15)),
            T0.plus(minutes(20))
        ]
    );

    assert_eq!(d.run_once().await.unwrap().sent, 1);
    assert_eq!(w.subjects(), vec!["[CRITICAL] Alerta: sensor_01"]);

    w.at(minutes(10) - Duration::from_millis(1));
    assert_eq!(
        d.run_once().await.unwrap().claimed,
        0,
        "not before its time"
    );

    w.at(minutes(10));
    assert_eq!(d.run_once().await.unwrap().sent, 1);
    w.at(minutes(15));
    assert_eq!(d.run_once().await.unwrap().sent, 1);
    assert_eq!(
        &w.subjects()[1..],
        [
            "[CRITICAL] Alerta: sensor_01 (reminder 1, not acknowledged for 10 min)",
            "[CRITICAL] Alerta: sensor_01 (reminder 2, not acknowledged for 15 min)",
        ]
    );

    w.at(minutes(16));
    w.app
        .acknowledge_alert(&w.staff, &alert, AlertChangeRequest::default(), None)
        .await
        .unwrap();
    w.at(minutes(20));
    let report = d.run_once().await.unwrap();
    assert_eq!((report.cancelled, report.sent), (1, 0));
    assert_eq!(w.mailer.sent().len(), 3, "nothing more is sent");
    let last = w.rows(&alert).await.pop().unwrap();
    assert_eq!(last.state, MailState::Cancelled);
    assert_eq!(
        last.last_error.as_deref(),
        Some("cancelled: the alert is acknowledged")
    );
    w.at(minutes(600));
    assert_eq!(d.run_once().await.unwrap().claimed, 0);
}

#[tokio::test]
async fn only_escalating_severities_get_reminders() {
    let w = world(vec![
        EscalationLevel::new(minutes(10), minutes(5), 3, vec![]).unwrap(),
    ])
    .await;
    let error = w.fire("error").await;
    let kinds: Vec<_> = w.rows(&error).await.iter().map(|r| r.kind()).collect();
    assert_eq!(kinds, vec![Some(MailKind::Alert)]);
    let info = w.fire("info").await;
    assert!(
        w.rows(&info).await.is_empty(),
        "an info alert is not mailed"
    );
}

#[tokio::test]
async fn a_later_level_mails_its_own_list() {
    let boss = email("boss@campus.edu");
    let w = world(vec![
        EscalationLevel::new(minutes(5), minutes(5), 10, vec![]).unwrap(),
        EscalationLevel::new(minutes(12), minutes(30), 1, vec![boss.clone()]).unwrap(),
    ])
    .await;
    let d = w.dispatcher();
    let alert = w.fire("critical").await;
    let rows = w.rows(&alert).await;
    let plan: Vec<(Duration, Vec<Email>)> = rows[1..]
        .iter()
        .map(|r| (r.next_attempt_at.since(T0), r.message.to.clone()))
        .collect();
    let ops = vec![email("ops@campus.edu")];
    assert_eq!(
        plan,
        vec![
            (minutes(5), ops.clone()),
            (minutes(10), ops.clone()),
            (minutes(12), vec![boss.clone()]),
        ]
    );
    for offset in [0, 5, 10, 12] {
        w.at(minutes(offset));
        assert_eq!(d.run_once().await.unwrap().sent, 1, "at {offset} min");
    }
    assert_eq!(w.mailer.sent().last().unwrap().message.to, vec![boss]);
}

#[tokio::test]
async fn two_dispatchers_send_each_reminder_once() {
    let w = world(vec![
        EscalationLevel::new(minutes(10), minutes(10), 4, vec![]).unwrap(),
    ])
    .await;
    let dispatchers: Vec<Dispatcher> = (0..2).map(|_| w.dispatcher()).collect();
    let mut alerts = Vec::new();
    for _ in 0..5 {
        alerts.push(w.fire("critical").await);
    }
    for offset in [0, 10, 20, 30, 40, 50] {
        w.at(minutes(offset));
        let (a, b) = tokio::join!(dispatchers[0].run_once(), dispatchers[1].run_once());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            a.sent + b.sent,
            if offset <= 40 { 5 } else { 0 },
            "at {offset} min each alert's due mail goes once"
        );
    }
    let mut ids: Vec<String> = w
        .mailer
        .sent()
        .iter()
        .map(|m| m.message_id.clone())
        .collect();
    assert_eq!(
        ids.len(),
        25,
        "five alerts, each mailed once and reminded four times"
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25, "no row was sent twice");
}

#[tokio::test]
async fn resolving_a_mailed_alert_mails_everyone_it_reached_once() {
    let boss = email("boss@campus.edu");
    let w = world(vec![
        EscalationLevel::new(minutes(5), minutes(5), 1, vec![boss.clone()]).unwrap(),
    ])
    .await;
    let d = w.dispatcher();
    let alert = w.fire("critical").await;
    d.run_once().await.unwrap();
    w.at(minutes(5));
    d.run_once().await.unwrap();
    w.at(minutes(6));
    w.app
        .resolve_alert(
            AlertSender::User(&w.staff),
            &alert,
            AlertChangeRequest::default(),
            None,
        )
        .await
        .unwrap();
    let resolved: Vec<OutboxMail> = w
        .rows(&alert)
        .await
        .into_iter()
        .filter(|r| r.kind() == Some(MailKind::AlertResolved))
        .collect();
    assert_eq!(resolved.len(), 1, "one resolved mail");
    assert_eq!(
        resolved[0].message.to,
        vec![email("ops@campus.edu"), boss],
        "to everyone the alert and its sent reminders reached"
    );
    assert_eq!(d.run_once().await.unwrap().sent, 1);
    assert_eq!(
        w.mailer.sent().last().unwrap().message.subject.as_str(),
        "[RESOLVED] Alerta: sensor_01"
    );

    // An alert that was never mailed is resolved without mail.
    let quiet = w.fire("warning").await;
    w.app
        .resolve_alert(
            AlertSender::Ingest,
            &quiet,
            AlertChangeRequest::default(),
            None,
        )
        .await
        .unwrap();
    assert!(w.rows(&quiet).await.is_empty());
    assert_eq!(w.clock.now(), T0.plus(minutes(6)));
}
