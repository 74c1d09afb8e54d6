//! MTTA and MTTR over the groups of a window, with mocked ports.

use std::sync::Arc;

use super::{Mocks, user};
use crate::domain::{
    Alert, AlertDraft, AlertEvent, AlertId, AlertState, AlertStatus, Channel, EventId, Page, Role,
    Timestamp, UserId,
};
use crate::ports::ManualClock;

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;
/// Now, in the tests: day 100.
const NOW: i64 = 100 * DAY;

fn group(id: &str, source: &str, severity: &str, opened: i64, status: AlertStatus) -> Alert {
    let draft = AlertDraft::parse(source, severity, "disco lleno", Channel::Tcp).unwrap();
    let state = AlertState {
        status,
        version: 1,
        updated_at: Timestamp::from_unix_millis(opened),
    };
    Alert::restore(
        AlertId::parse(id).unwrap(),
        draft,
        Timestamp::from_unix_millis(opened),
        state,
    )
}

fn event(alert: &str, to: AlertStatus, at: i64) -> AlertEvent {
    let from = match to {
        AlertStatus::Firing => AlertStatus::Resolved,
        _ => AlertStatus::Firing,
    };
    AlertEvent {
        event_id: EventId::parse(&format!("{alert}{at}")).unwrap(),
        alert_id: AlertId::parse(alert).unwrap(),
        from,
        to,
        actor: UserId::parse("U1").unwrap(),
        note: None,
        created_at: Timestamp::from_unix_millis(at),
    }
}

fn app(mocks: Mocks) -> crate::Alerta {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(NOW)));
    mocks.builder().clock(clock).build()
}

#[tokio::test]
async fn times_are_the_mean_and_nearest_rank_p90_of_the_window_by_severity_and_source() {
    let opened = NOW - DAY;
    // Newest first, as the store lists them; the last is older than a 7-day window.
    let groups = vec![
        group("A4", "web", "critical", opened + 3, AlertStatus::Firing),
        group("A3", "db", "critical", opened + 2, AlertStatus::Resolved),
        group("A2", "db", "critical", opened + 1, AlertStatus::Resolved),
        group("A1", "db", "warning", opened, AlertStatus::Resolved),
        group("A0", "db", "critical", NOW - 8 * DAY, AlertStatus::Resolved),
    ];
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_search()
        .times(1)
        .returning(move |_, _| {
            Ok(Page {
                items: groups.clone(),
                next_cursor: None,
            })
        });
    mocks.alerts.expect_history().returning(move |id| {
        let t = |ms: i64| opened + ms;
        Ok(match id.as_str() {
            // Acknowledged after 4 minutes, resolved after 10.
            "A3" => vec![
                event("A3", AlertStatus::Acknowledged, t(2 + 4 * MINUTE)),
                event("A3", AlertStatus::Resolved, t(2 + 10 * MINUTE)),
            ],
            // Acknowledged after 2 minutes, resolved after 30.
            "A2" => vec![
                event("A2", AlertStatus::Acknowledged, t(1 + 2 * MINUTE)),
                event("A2", AlertStatus::Resolved, t(1 + 30 * MINUTE)),
            ],
            // Resolved after 6 minutes, never acknowledged.
            "A1" => vec![event("A1", AlertStatus::Resolved, t(6 * MINUTE))],
            "A4" => vec![],
            other => panic!("the history of {other}, outside the window, was read"),
        })
    });
    let times = app(mocks)
        .alert_response_times(&user(Role::Staff), 7)
        .await
        .expect("times");
    assert_eq!(times.since, Timestamp::from_unix_millis(NOW - 7 * DAY));
    assert_eq!(times.groups, 4);

    let critical = &times.by_severity[0];
    assert_eq!((critical.key.as_str(), critical.firings), ("critical", 3));
    let ack = critical.acknowledgement.as_ref().unwrap();
    assert_eq!((ack.count, ack.mean_s, ack.p90_s), (2, 180.0, 240.0));
    let resolved = critical.resolution.as_ref().unwrap();
    assert_eq!(
        (resolved.count, resolved.mean_s, resolved.p90_s),
        (2, 1200.0, 1800.0)
    );
    let warning = &times.by_severity[1];
    assert_eq!((warning.key.as_str(), warning.firings), ("warning", 1));
    assert_eq!(warning.acknowledgement, None);
    assert_eq!(warning.resolution.as_ref().unwrap().mean_s, 360.0);

    let keys: Vec<&str> = times.by_source.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["db", "web"]);
    let db = &times.by_source[0];
    assert_eq!(db.firings, 3);
    // 10, 30 and 6 minutes: mean 15.33 minutes, p90 the 3rd of three.
    let resolved = db.resolution.as_ref().unwrap();
    assert_eq!(resolved.count, 3);
    assert!(
        (resolved.mean_s - 920.0).abs() < 1e-9,
        "{}",
        resolved.mean_s
    );
    assert_eq!(resolved.p90_s, 1800.0);
    let web = &times.by_source[1];
    assert_eq!(
        (
            web.firings,
            web.acknowledgement.as_ref(),
            web.resolution.as_ref()
        ),
        (1, None, None)
    );
}

#[tokio::test]
async fn students_are_refused_and_the_window_is_checked_before_any_read() {
    for (role, days, expected) in [
        (Role::Student, 30, "forbidden"),
        (Role::Staff, 0, "invalid_dias"),
        (Role::Admin, 91, "invalid_dias"),
    ] {
        // No expectation is set: any store read fails the test.
        let error = app(Mocks::default())
            .alert_response_times(&user(role), days)
            .await
            .expect_err("refused");
        assert_eq!(error.code(), expected, "{role:?} {days}");
    }
}
