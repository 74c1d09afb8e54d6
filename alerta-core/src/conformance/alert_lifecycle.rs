//! Checks of [`AlertStore::transition`](crate::ports::AlertStore::transition): status
//! changes with their history and stream messages, versions, and racing writers.

use futures::future::join_all;

use super::alerts::all_pages;
use super::stream::read_all;
use super::{Fixtures, conflict_kind};
use crate::ConflictKind;
use crate::domain::{
    Alert, AlertAction, AlertFilter, AlertStatus, Channel, Note, PageRequest, Severity, StreamKind,
};
use crate::ports::{AlertWrite, Storage};

/// How many writers race for one alert, and how many alerts they race for in turn.
const RACERS: usize = 16;
const ROUNDS: usize = 5;

async fn stored(store: &Storage, f: &Fixtures, source: &str) -> Alert {
    let alert = f.alert(source, Severity::Critical, Channel::Tcp, "temperatura alta");
    store
        .alerts
        .insert(vec![AlertWrite {
            alert: alert.clone(),
            mails: vec![],
        }])
        .await
        .expect("insert");
    alert
}

async fn read(store: &Storage, alert: &Alert) -> Alert {
    store
        .alerts
        .alert(&alert.id)
        .await
        .expect("alert")
        .expect("the alert is stored")
}

fn note(text: &str) -> Option<Note> {
    Some(Note::parse(text).expect("note"))
}

pub(super) async fn transitions_are_stored_with_history_and_messages(store: &Storage) {
    let f = Fixtures::new();
    let fired = stored(store, &f, "sensor_01").await;
    let other = stored(store, &f, "sensor_02").await;
    assert_eq!(
        read(store, &fired).await,
        fired,
        "a new alert reads back as stored"
    );
    assert_eq!(fired.status(), AlertStatus::Firing);
    assert!(
        store
            .alerts
            .history(&fired.id)
            .await
            .expect("history")
            .is_empty(),
        "a new alert has no status changes yet"
    );
    let head = store.stream.head().await.expect("head").head;

    let ack = f.transition(
        &fired,
        AlertAction::Acknowledge {
            note: note("mirando"),
        },
    );
    let appended = store.alerts.transition(ack.clone()).await.expect("ack");
    assert_eq!((appended.first, appended.count), (head + 1, 1));
    let acked = read(store, &fired).await;
    assert_eq!(
        acked, ack.alert,
        "the alert reads back as the transition left it"
    );
    assert_eq!(
        (acked.status(), acked.version()),
        (AlertStatus::Acknowledged, 2)
    );

    let resolve = f.transition(&acked, AlertAction::Resolve { note: None });
    store
        .alerts
        .transition(resolve.clone())
        .await
        .expect("resolve");
    let resolved = read(store, &fired).await;
    assert_eq!(resolved, resolve.alert);
    assert_eq!(
        store.alerts.history(&fired.id).await.expect("history"),
        vec![ack.event.clone(), resolve.event.clone()],
        "both changes, oldest first, with actor, time and note"
    );
    assert!(
        store
            .alerts
            .history(&other.id)
            .await
            .expect("history")
            .is_empty(),
        "another alert's history is its own"
    );
    assert_eq!(
        read(store, &other).await,
        other,
        "another alert is untouched"
    );

    let log = read_all(store, head, 10).await;
    assert_eq!(
        log.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
        vec![ack.stream_message(), resolve.stream_message()],
        "each change appended its message, in commit order"
    );
    assert_eq!(
        log.iter().map(|e| e.message.kind).collect::<Vec<_>>(),
        [StreamKind::AlertAcknowledged, StreamKind::AlertResolved]
    );
    assert_eq!(log[1].message.data["alert"]["status"], "resolved");

    let page = store
        .alerts
        .search(
            &AlertFilter {
                source: Some(fired.source.clone()),
                ..AlertFilter::default()
            },
            &PageRequest::default(),
        )
        .await
        .expect("search");
    assert_eq!(
        page.items,
        vec![resolved.clone()],
        "lists show the new state"
    );
    assert_eq!(
        store.alerts.after(None, 10).await.expect("after"),
        vec![resolved, other]
    );
}

pub(super) async fn lists_filter_by_status(store: &Storage) {
    let f = Fixtures::new();
    let mut alerts = Vec::new();
    for n in 0..9 {
        let alert = stored(store, &f, &format!("sensor_{n:02}")).await;
        let action = match n % 3 {
            0 => None,
            1 => Some(AlertAction::Acknowledge { note: None }),
            _ => Some(AlertAction::Resolve { note: None }),
        };
        if let Some(action) = action {
            store
                .alerts
                .transition(f.transition(&alert, action))
                .await
                .expect("transition");
        }
        alerts.push(read(store, &alert).await);
    }
    alerts.reverse();
    for status in [
        AlertStatus::Firing,
        AlertStatus::Acknowledged,
        AlertStatus::Resolved,
    ] {
        for severity in [None, Some(Severity::Critical), Some(Severity::Info)] {
            let filter = AlertFilter {
                status: Some(status),
                severity,
                ..AlertFilter::default()
            };
            let expected: Vec<Alert> = alerts
                .iter()
                .filter(|a| a.status() == status && severity.is_none_or(|s| s == a.severity))
                .cloned()
                .collect();
            assert_eq!(
                all_pages(store, &filter, 2).await,
                expected,
                "{status:?} and {severity:?}, newest first"
            );
        }
    }
    assert_eq!(
        all_pages(store, &AlertFilter::default(), 2).await.len(),
        9,
        "without a status, every alert"
    );
}

pub(super) async fn a_stale_or_unknown_transition_writes_nothing(store: &Storage) {
    let f = Fixtures::new();
    let fired = stored(store, &f, "sensor_01").await;
    let ack = f.transition(&fired, AlertAction::Acknowledge { note: None });
    store.alerts.transition(ack.clone()).await.expect("ack");
    let head = store.stream.head().await.expect("head").head;

    // Made against version 1, which is no longer the stored one.
    let stale = f.transition(
        &fired,
        AlertAction::Resolve {
            note: note("tarde"),
        },
    );
    assert_eq!(
        conflict_kind(store.alerts.transition(stale).await),
        ConflictKind::StaleVersion
    );
    // An alert that was never stored.
    let ghost = f.alert("fantasma", Severity::Error, Channel::Http, "nadie");
    let unknown = f.transition(&ghost, AlertAction::Resolve { note: None });
    assert_eq!(
        conflict_kind(store.alerts.transition(unknown).await),
        ConflictKind::StaleVersion,
        "a transition of an alert that is not stored"
    );
    assert_eq!(store.alerts.alert(&ghost.id).await.expect("alert"), None);
    // The right version, but an event id that is already stored.
    let mut reused = f.transition(&ack.alert, AlertAction::Resolve { note: None });
    reused.event.event_id = ack.event.event_id.clone();
    assert_eq!(
        conflict_kind(store.alerts.transition(reused).await),
        ConflictKind::Duplicate
    );

    assert_eq!(
        read(store, &fired).await,
        ack.alert,
        "the alert is as the ack left it"
    );
    assert_eq!(
        store.alerts.history(&fired.id).await.expect("history"),
        vec![ack.event]
    );
    assert_eq!(
        store.stream.head().await.expect("head").head,
        head,
        "refused transitions take no position"
    );
}

pub(super) async fn racing_transitions_one_wins(store: &Storage) {
    let f = Fixtures::new();
    for round in 0..ROUNDS {
        let fired = stored(store, &f, &format!("sensor_{round}")).await;
        let head = store.stream.head().await.expect("head").head;
        // Half acknowledge, half resolve, all against version 1.
        let changes: Vec<_> = (0..RACERS)
            .map(|n| {
                let action = if n % 2 == 0 {
                    AlertAction::Acknowledge {
                        note: note(&format!("yo {n}")),
                    }
                } else {
                    AlertAction::Resolve { note: None }
                };
                f.transition(&fired, action)
            })
            .collect();
        let results = join_all(changes.iter().cloned().map(|c| store.alerts.transition(c))).await;
        let winners: Vec<usize> = (0..RACERS).filter(|n| results[*n].is_ok()).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one of {RACERS} racing transitions wins: {results:?}"
        );
        for result in results.into_iter().filter(|r| r.is_err()) {
            assert_eq!(conflict_kind(result), ConflictKind::StaleVersion);
        }
        let winner = &changes[winners[0]];
        assert_eq!(read(store, &fired).await, winner.alert, "round {round}");
        assert_eq!(
            store.alerts.history(&fired.id).await.expect("history"),
            vec![winner.event.clone()],
            "round {round}: only the winner's event"
        );
        let log = read_all(store, head, 10).await;
        assert_eq!(
            log.into_iter().map(|e| e.message).collect::<Vec<_>>(),
            vec![winner.stream_message()],
            "round {round}: only the winner's message"
        );
    }
}
