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
