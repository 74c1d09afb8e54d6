//! The charts' figures over mocked stores: who may read them and where the walk stops.

use std::sync::Arc;

use super::{Mocks, user};
use crate::domain::{
    Alert, AlertDraft, AlertId, AlertState, AlertStatus, Channel, Cursor, Description, Incident,
    IncidentId, IncidentParts, Location, Page, Role, Status, Timestamp, Urgency, UserId,
};
use crate::ports::ManualClock;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Now, in the tests: 2026-11-30T10:00:00Z.
const NOW: i64 = 1_796_032_800_000;

fn incident(id: &str, created: i64) -> Incident {
    Incident::restore(IncidentParts {
        id: IncidentId::parse(id).unwrap(),
        kind: "otro".into(),
        description: Description::parse("Luz fundida").unwrap(),
        location: Location::parse("Aula 3").unwrap(),
        urgency: Urgency::Low,
        status: Status::Pending,
        department: None,
        reported_by: UserId::parse("U9").unwrap(),
        created_at: Timestamp::from_unix_millis(created),
        updated_at: Timestamp::from_unix_millis(created),
        resolved_at: None,
        version: 1,
        alert_id: None,
    })
}

fn alert(id: &str, created: i64) -> Alert {
    let draft = AlertDraft::parse("ups_1", "error", "Sin red", Channel::Tcp).unwrap();
    let state = AlertState {
        status: AlertStatus::Firing,
        version: 1,
        updated_at: Timestamp::from_unix_millis(created),
    };
    Alert::restore(
        AlertId::parse(id).unwrap(),
        draft,
        Timestamp::from_unix_millis(created),
        state,
    )
}

fn page<T>(items: Vec<T>, next: Option<&str>) -> Page<T> {
    Page {
        items,
        next_cursor: next.map(Cursor::new),
    }
}

fn app(mocks: Mocks) -> crate::Alerta {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(NOW)));
    mocks.builder().clock(clock).build()
}

#[tokio::test]
async fn students_are_refused_before_any_read_and_staff_and_admins_are_served() {
    // No expectation is set: any store read fails the test.
    let error = app(Mocks::default())
        .daily_stats(&user(Role::Student))
        .await
        .expect_err("refused");
    assert_eq!(error.code(), "forbidden");

    for role in [Role::Staff, Role::Admin] {
        let mut mocks = Mocks::default();
        mocks
            .incidents
            .expect_incidents()
            .times(1)
            .returning(|_, _| Ok(page(vec![], None)));
        mocks
            .alerts
            .expect_search()
            .times(1)
            .returning(|_, _| Ok(page(vec![], None)));
        let stats = app(mocks).daily_stats(&user(role)).await.expect("served");
        assert_eq!(stats.days.len(), 30, "{role:?}");
        assert_eq!(stats.alerts_by_hour.len(), 24, "{role:?}");
    }
}

#[tokio::test]
async fn the_walk_follows_the_pages_and_stops_at_the_first_item_older_than_the_window() {
    let mut mocks = Mocks::default();
    let mut incident_pages = vec![
        page(
            vec![incident("I4", NOW), incident("I3", NOW - DAY)],
            Some("c1"),
        ),
        // I1 would be in the window again: the store lists newest first, so the walk has
        // stopped at I2 and never reads the page after it.
        page(
            vec![incident("I2", NOW - 30 * DAY), incident("I1", NOW)],
            Some("c2"),
        ),
    ]
    .into_iter();
    mocks
        .incidents
        .expect_incidents()
        .times(2)
        .returning(move |_, request| {
            let expected = if request.cursor.is_none() {
                None
            } else {
                Some("c1")
            };
            assert_eq!(request.cursor.as_ref().map(Cursor::as_str), expected);
            Ok(incident_pages.next().unwrap())
        });
    mocks.alerts.expect_search().times(1).returning(|_, _| {
        Ok(page(
            vec![
                alert("A3", NOW),
                alert("A2", NOW - 23 * HOUR),
                alert("A1", NOW - 24 * HOUR),
            ],
            Some("c1"),
        ))
    });
    let stats = app(mocks)
        .daily_stats(&user(Role::Staff))
        .await
        .expect("served");
    let pending: Vec<u64> = stats
        .days
        .iter()
        .map(|d| d.by_status["pendiente"])
        .collect();
    assert_eq!(pending[28..], [1, 1]);
    assert_eq!(pending.iter().sum::<u64>(), 2);
    let errors: Vec<u64> = stats
        .alerts_by_hour
        .iter()
        .map(|h| h.by_severity["error"])
        .collect();
    assert_eq!((errors[0], errors[23]), (1, 1));
    assert_eq!(errors.iter().sum::<u64>(), 2);
}
