//! Alerts from other tools, with mocked ports: the key comes first, a failing store fails
//! the delivery, and changes of a fingerprint's group go through the lifecycle.

use std::sync::{Arc, Mutex};

use super::{Mocks, one_position, unavailable};
use crate::domain::{
    Alert, AlertDraft, AlertId, AlertState, AlertStatus, Channel, Fingerprint, Timestamp,
};
use crate::{Error, Received, ReceivedSummary, Settings};

fn fingerprint() -> Fingerprint {
    Fingerprint::parse("1a30ba71cca2921f").unwrap()
}

fn group(status: AlertStatus) -> Alert {
    let draft = AlertDraft::parse(
        "https://server.example.org",
        "critical",
        "caída",
        Channel::Http,
    )
    .unwrap()
    .with_fingerprint(Some(fingerprint().as_str()))
    .unwrap();
    Alert::restore(
        AlertId::parse("A1").unwrap(),
        draft,
        Timestamp::from_unix_millis(0),
        AlertState {
            status,
            version: 3,
            updated_at: Timestamp::from_unix_millis(0),
        },
    )
}

fn with_key(mocks: Mocks) -> crate::Alerta {
    mocks
        .builder()
        .settings(Settings {
            ingest_keys: vec!["k1".into()],
            ..Settings::default()
        })
        .build()
}

fn resolved() -> Received {
    Received::Resolved {
        fingerprint: fingerprint(),
        note: None,
    }
}

#[tokio::test]
async fn a_missing_or_unknown_key_is_refused_before_any_port_is_used() {
    // The mocks expect nothing: any port call would panic.
    let app = with_key(Mocks::default());
    for key in [None, Some(""), Some("k2")] {
        assert!(matches!(app.ingest_pass(key), Err(Error::Unauthenticated)));
    }
    let keyless = Mocks::default().build();
    assert!(matches!(
        keyless.ingest_pass(Some("k1")),
        Err(Error::Unauthenticated)
    ));
    assert!(app.ingest_pass(Some("k1")).is_ok());
}

#[tokio::test]
async fn a_store_that_cannot_find_the_group_fails_the_delivery_and_writes_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_group_of()
        .times(1)
        .returning(|_| Err(unavailable()));
    mocks.alerts.expect_transition().never();
    let app = with_key(mocks);
    let pass = app.ingest_pass(Some("k1")).unwrap();
    let error = app
        .receive_alerts(pass, vec![resolved()])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}

#[tokio::test]
async fn a_fingerprint_without_a_group_or_past_the_move_is_ignored() {
    let mut mocks = Mocks::default();
    let answers = Arc::new(Mutex::new(vec![Some(group(AlertStatus::Resolved)), None]));
    mocks
        .alerts
        .expect_group_of()
        .times(2)
        .returning(move |_| Ok(answers.lock().unwrap().pop().unwrap()));
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(group(AlertStatus::Resolved))));
    mocks.alerts.expect_transition().never();
    let app = with_key(mocks);
    let pass = app.ingest_pass(Some("k1")).unwrap();
    let summary = app
        .receive_alerts(pass, vec![resolved(), resolved()])
        .await
        .unwrap();
    assert_eq!(
        summary,
        ReceivedSummary {
            ignored: 2,
            ..ReceivedSummary::default()
        }
    );
}

#[tokio::test]
async fn an_acknowledgement_moves_the_group_as_the_ingest_actor() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_group_of()
        .returning(|_| Ok(Some(group(AlertStatus::Firing))));
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(group(AlertStatus::Firing))));
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = written.clone();
    mocks
        .alerts
        .expect_transition()
        .times(1)
        .returning(move |change| {
            sink.lock().unwrap().push(change);
            Ok(one_position())
        });
    mocks.broadcaster.expect_publish().returning(|_| Ok(()));
    let app = with_key(mocks);
    let pass = app.ingest_pass(Some("k1")).unwrap();
    let summary = app
        .receive_alerts(
            pass,
            vec![Received::Acknowledged {
                fingerprint: fingerprint(),
                note: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(summary.acknowledged, 1);
    let written = written.lock().unwrap();
    assert_eq!(written[0].expected_version, 3);
    assert_eq!(written[0].event.to, AlertStatus::Acknowledged);
    assert_eq!(written[0].event.actor.as_str(), "ingest");
}

#[tokio::test]
async fn a_failed_insert_fails_the_delivery() {
    let mut mocks = Mocks::default();
    // Ingestion matches against the last silences known when they cannot be loaded.
    mocks
        .silences
        .expect_silences()
        .returning(|_, _| Err(unavailable()));
    mocks
        .alerts
        .expect_insert()
        .times(1)
        .returning(|_| Err(unavailable()));
    let app = with_key(mocks);
    let pass = app.ingest_pass(Some("k1")).unwrap();
    let draft = group(AlertStatus::Firing).draft();
    let error = app
        .receive_alerts(pass, vec![Received::Firing(draft)])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");
}
