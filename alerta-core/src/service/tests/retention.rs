//! Retention runs, with a mocked outbox.

use std::sync::Arc;
use std::time::Duration;

use super::{Mocks, unavailable};
use crate::domain::Timestamp;
use crate::ports::ManualClock;
use crate::{Retention, RetentionReport};

const NOW: i64 = 10 * 86_400_000;

fn app(mocks: Mocks) -> crate::Alerta {
    let clock = Arc::new(ManualClock::new(Timestamp::from_unix_millis(NOW)));
    mocks.builder().clock(clock).build()
}

fn retention(max_batches: usize) -> Retention {
    Retention {
        mail: Some(Duration::from_secs(86_400)),
        alerts: None,
        batch: 100,
        max_batches,
    }
}

#[tokio::test]
async fn batches_go_on_until_one_is_short_and_the_cutoff_is_the_age_before_now() {
    let mut mocks = Mocks::default();
    let mut left = vec![3, 100, 100];
    mocks
        .outbox
        .expect_remove_settled()
        .times(3)
        .withf(|before, limit| {
            *before == Timestamp::from_unix_millis(NOW - 86_400_000) && *limit == 100
        })
        .returning(move |_, _| Ok(left.pop().unwrap()));
    let report = app(mocks).apply_retention(&retention(20)).await.unwrap();
    assert_eq!(
        report,
        RetentionReport {
            mail_rows: 203,
            alerts: 0,
            more_left: false
        }
    );
}

#[tokio::test]
async fn a_run_stops_at_its_batch_limit_and_says_more_is_left() {
    let mut mocks = Mocks::default();
    mocks
        .outbox
        .expect_remove_settled()
        .times(2)
        .returning(|_, limit| Ok(limit));
    let report = app(mocks).apply_retention(&retention(2)).await.unwrap();
    assert_eq!(
        report,
        RetentionReport {
            mail_rows: 200,
            alerts: 0,
            more_left: true
        }
    );
}

#[tokio::test]
async fn a_store_failure_ends_the_run_with_it_and_no_age_removes_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .outbox
        .expect_remove_settled()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    let error = app(mocks)
        .apply_retention(&retention(20))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "unavailable");

    // No expectation: any call fails the test.
    let keep = Retention {
        mail: None,
        ..retention(20)
    };
    let report = app(Mocks::default()).apply_retention(&keep).await.unwrap();
    assert_eq!(report, RetentionReport::default());
}

#[tokio::test]
async fn alerts_are_removed_in_their_own_batches_after_the_mail() {
    let mut mocks = Mocks::default();
    mocks
        .outbox
        .expect_remove_settled()
        .times(1)
        .returning(|_, _| Ok(7));
    let mut left = vec![40, 100];
    mocks
        .alerts
        .expect_remove_resolved()
        .times(2)
        .withf(|before, limit| {
            *before == Timestamp::from_unix_millis(NOW - 3 * 86_400_000) && *limit == 100
        })
        .returning(move |_, _| Ok(left.pop().unwrap()));
    let both = Retention {
        alerts: Some(Duration::from_secs(3 * 86_400)),
        ..retention(20)
    };
    let report = app(mocks).apply_retention(&both).await.unwrap();
    assert_eq!(
        report,
        RetentionReport {
            mail_rows: 7,
            alerts: 140,
            more_left: false
        }
    );
}

#[tokio::test]
async fn alerts_that_fill_every_batch_leave_more_for_the_next_run() {
    let mut mocks = Mocks::default();
    mocks
        .alerts
        .expect_remove_resolved()
        .times(3)
        .returning(|_, limit| Ok(limit));
    let alerts_only = Retention {
        mail: None,
        alerts: Some(Duration::from_secs(86_400)),
        ..retention(3)
    };
    let report = app(mocks).apply_retention(&alerts_only).await.unwrap();
    assert_eq!(
        report,
        RetentionReport {
            mail_rows: 0,
            alerts: 300,
            more_left: true
        }
    );
}
