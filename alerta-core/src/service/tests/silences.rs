//! Silences' use cases and the in-memory copy ingestion matches against, with mocked ports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Mocks, one_position, unavailable, user};
use crate::domain::{
    AlertDraft, Appended, Channel, Email, Grouping, Matchers, Page, Role, Silence, SilenceComment,
    SilenceDraft, SilenceId, Timestamp, UserId,
};
use crate::ports::{AlertWrite, GroupedAlert, Inserted, ManualClock};
use crate::{Error, Settings, SilenceRequest};

const START: i64 = 1_800_000_000_000;

fn at(ms_after_start: i64) -> Timestamp {
    Timestamp::from_unix_millis(START + ms_after_start)
}

fn matchers() -> Matchers {
    Matchers::parse([("source", "sensor_0[1-3]", true)]).unwrap()
}

fn request(ends_after_start: i64) -> SilenceRequest {
    SilenceRequest {
        matchers: matchers(),
        starts_at: None,
        ends_at: at(ends_after_start),
        comment: SilenceComment::parse("cambio de disco").unwrap(),
    }
}

/// A silence of sensors 1–3 from `starts` to `ends` (ms after the start).
fn stored(starts: i64, ends: i64) -> Silence {
    let draft = SilenceDraft::new(
        matchers(),
        Some(at(starts)),
        at(ends),
        SilenceComment::parse("cambio de disco").unwrap(),
        at(starts.min(0)),
    )
    .unwrap();
    Silence::new(
        SilenceId::parse("S1").unwrap(),
        draft,
        UserId::parse("U1").unwrap(),
        at(0),
    )
}

fn critical(source: &str) -> AlertDraft {
    AlertDraft::parse(source, "critical", "disco lleno", Channel::Tcp).unwrap()
}

fn settings() -> Settings {
    Settings {
        alert_recipients: vec![Email::parse("ops@campus.edu").unwrap()],
        silence_refresh: Duration::from_secs(2),
        ..Settings::default()
    }
}

/// Records each alert batch's writes.
pub(super) fn record_writes(mocks: &mut Mocks) -> Arc<Mutex<Vec<AlertWrite>>> {
    let written = Arc::new(Mutex::new(Vec::new()));
    let sink = written.clone();
    mocks.alerts.expect_insert().returning(move |batch| {
        // Every write opens its own group: the mock keeps no groups.
        let groups: Vec<GroupedAlert> = batch
            .iter()
            .map(|write| GroupedAlert {
                alert: write.alert.clone(),
                grouping: Grouping::Opened,
            })
            .collect();
        sink.lock().unwrap().extend(batch);
        Ok(Inserted {
            appended: Appended {
                count: groups.len() as u64,
                ..one_position()
            },
            messages: groups.iter().map(GroupedAlert::stream_message).collect(),
            groups,
        })
    });
    mocks.broadcaster.expect_publish().returning(|_| Ok(()));
    written
}

#[tokio::test]
async fn a_store_that_fails_to_create_a_silence_leaves_alerts_mailed() {
    let mut mocks = Mocks::default();
    mocks
        .silences
        .expect_insert_silence()
        .times(1)
        .returning(|_| Err(unavailable()));
    mocks.silences.expect_silences().returning(|_, _| {
        Ok(Page {
            items: vec![],
            next_cursor: None,
        })
    });
    let written = record_writes(&mut mocks);
    let clock = Arc::new(ManualClock::new(at(0)));
    let app = mocks.builder().settings(settings()).clock(clock).build();

    let error = app
        .create_silence(&user(Role::Admin), request(60_000), None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Unavailable { .. }), "{error:?}");

    let alerts = app
        .ingest_alerts(vec![critical("sensor_01")])
        .await
        .unwrap();
    assert!(
        !alerts[0].silenced(),
        "a silence that was not stored applies to nothing"
    );
    assert_eq!(
        written.lock().unwrap()[0].mails.len(),
        1,
        "the alert is mailed"
    );
}

#[tokio::test]
async fn only_admins_make_or_expire_silences_and_students_do_not_list_them() {
    // No expectations: a refused request must not reach the store.
    let app = Mocks::default().build();
    let id = SilenceId::parse("S1").unwrap();
    for role in [Role::Student, Role::Staff] {
        let made = app.create_silence(&user(role), request(60_000), None).await;
        assert!(
            matches!(made, Err(Error::Forbidden(_))),
            "{role:?}: {made:?}"
        );
        let expired = app.expire_silence(&user(role), &id).await;
        assert!(matches!(expired, Err(Error::Forbidden(_))), "{role:?}");
    }
    let page = crate::domain::PageRequest::default();
    let listed = app.silences(&user(Role::Student), None, &page).await;
    assert!(matches!(listed, Err(Error::Forbidden(_))));
}

#[tokio::test]
async fn a_silence_made_here_applies_at_once_and_stops_mail() {
    let mut mocks = Mocks::default();
    mocks.silences.expect_insert_silence().returning(|_| Ok(()));
    // The store still lists nothing (another replica, a lagging index): the copy has it.
    mocks.silences.expect_silences().returning(|_, _| {
        Ok(Page {
            items: vec![],
            next_cursor: None,
        })
    });
    let written = record_writes(&mut mocks);
    let clock = Arc::new(ManualClock::new(at(0)));
    let app = mocks
        .builder()
        .settings(settings())
        .clock(clock.clone())
        .build();
    app.ingest_alerts(vec![critical("sensor_01")])
        .await
        .unwrap();

    let made = app
        .create_silence(&user(Role::Admin), request(60_000), None)
        .await
        .unwrap();
    assert_eq!(made.state, crate::domain::SilenceState::Active);
    let alerts = app
        .ingest_alerts(vec![critical("sensor_02"), critical("sensor_04")])
        .await
        .unwrap();
    assert!(
        alerts[0].silenced(),
        "matched at once, without waiting for a reload"
    );
    assert!(!alerts[1].silenced(), "sensor_04 does not match");
    let written = written.lock().unwrap();
    assert_eq!(written.len(), 3);
    assert!(
        written[1].alert.silenced() && written[1].mails.is_empty(),
        "not mailed"
    );
    assert_eq!(written[2].mails.len(), 1, "the other alert is mailed");
}

#[tokio::test]
async fn the_copy_is_reloaded_only_every_refresh_and_silences_end_by_the_clock() {
    let mut mocks = Mocks::default();
    let loads = Arc::new(AtomicUsize::new(0));
    let counter = loads.clone();
    mocks
        .silences
        .expect_silences()
        .returning(move |filter, _| {
            counter.fetch_add(1, Ordering::SeqCst);
            let silence = stored(-1_000, 3_000);
            let items = if filter.matches(&silence) {
                vec![silence]
            } else {
                vec![]
            };
            Ok(Page {
                items,
                next_cursor: None,
            })
        });
    let written = record_writes(&mut mocks);
    let clock = Arc::new(ManualClock::new(at(0)));
    let app = mocks
        .builder()
        .settings(settings())
        .clock(clock.clone())
        .build();

    for _ in 0..50 {
        let alerts = app
            .ingest_alerts(vec![critical("sensor_03")])
            .await
            .unwrap();
        assert!(alerts[0].silenced());
    }
    assert_eq!(
        loads.load(Ordering::SeqCst),
        1,
        "one load serves every batch in the interval"
    );

    clock.advance(Duration::from_millis(1_999));
    assert!(
        app.ingest_alerts(vec![critical("sensor_03")])
            .await
            .unwrap()[0]
            .silenced()
    );
    assert_eq!(loads.load(Ordering::SeqCst), 1);

    clock.advance(Duration::from_millis(1));
    assert!(
        app.ingest_alerts(vec![critical("sensor_03")])
            .await
            .unwrap()[0]
            .silenced()
    );
    assert_eq!(
        loads.load(Ordering::SeqCst),
        2,
        "reloaded after the interval"
    );

    // Ends at 3 s, within this copy's interval: nothing is reloaded, the clock ends it.
    clock.advance(Duration::from_millis(1_000));
    let after = app
        .ingest_alerts(vec![critical("sensor_03")])
        .await
        .unwrap();
    assert!(!after[0].silenced(), "an ended silence silences nothing");
    assert_eq!(loads.load(Ordering::SeqCst), 2);
    let written = written.lock().unwrap();
    assert_eq!(written.last().unwrap().mails.len(), 1, "mail starts again");
}

#[tokio::test]
async fn a_failed_reload_keeps_the_last_silences_known() {
    let mut mocks = Mocks::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    mocks.silences.expect_silences().returning(move |_, _| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            Ok(Page {
                items: vec![stored(-1_000, 60_000)],
                next_cursor: None,
            })
        } else {
            Err(unavailable())
        }
    });
    record_writes(&mut mocks);
    let clock = Arc::new(ManualClock::new(at(0)));
    let app = mocks
        .builder()
        .settings(settings())
        .clock(clock.clone())
        .build();
    assert!(
        app.ingest_alerts(vec![critical("sensor_01")])
            .await
            .unwrap()[0]
            .silenced()
    );
    clock.advance(Duration::from_secs(5));
    assert!(
        app.ingest_alerts(vec![critical("sensor_01")])
            .await
            .unwrap()[0]
            .silenced(),
        "the store failed to answer; the silence known still applies"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        app.ingest_alerts(vec![critical("sensor_01")])
            .await
            .unwrap()[0]
            .silenced()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "not retried before the interval"
    );
}
