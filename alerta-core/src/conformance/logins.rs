//! Checks of [`LoginAttemptStore`](crate::ports::LoginAttemptStore).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use futures::future::join_all;

use super::Fixtures;
use crate::domain::Timestamp;
use crate::ports::{FailureWindow, LoginKey, Storage};

const WINDOW: Duration = Duration::from_secs(15 * 60);

/// A window whose only failure time that matters is its start (the checks below that care
/// about the latest failure say so with [`window_until`]).
fn window(failures: u64, started_at: Timestamp) -> FailureWindow {
    window_until(failures, started_at, started_at)
}

fn window_until(failures: u64, started_at: Timestamp, last_failed_at: Timestamp) -> FailureWindow {
    FailureWindow {
        failures,
        started_at,
        last_failed_at,
    }
}

fn after(at: Timestamp, ms: u64) -> Timestamp {
    at.plus(Duration::from_millis(ms))
}

pub(super) async fn failures_count_per_key_in_one_window(store: &Storage) {
    let logins = &store.login_attempts;
    let start = Fixtures::new().tick();
    let ana = LoginKey::account("ana@campus.edu");
    let other = LoginKey::account("luis@campus.edu");
    let client = LoginKey::client(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));
    assert_eq!(
        logins.open_window(&ana, start, WINDOW).await.expect("read"),
        None,
        "no failure, no window"
    );
    for n in 1..=3 {
        let at = after(start, (n - 1) * 1000);
        assert_eq!(
            logins.count_failure(&ana, at, WINDOW).await.expect("count"),
            window_until(n, start, at),
            "failure {n} counts in the window its first failure started, as its latest"
        );
    }
    assert_eq!(
        logins
            .open_window(&ana, after(start, 5000), WINDOW)
            .await
            .expect("read"),
        Some(window_until(3, start, after(start, 2000)))
    );
    assert_eq!(
        logins
            .open_window(&other, start, WINDOW)
            .await
            .expect("read"),
        None,
        "keys never share counts"
    );
    assert_eq!(
        logins
            .count_failure(&client, after(start, 2500), WINDOW)
            .await
            .expect("count"),
        window(1, after(start, 2500)),
        "a client address has its own window"
    );
    assert_eq!(
        logins
            .open_window(&ana, after(start, 5000), WINDOW)
            .await
            .expect("read"),
        Some(window_until(3, start, after(start, 2000))),
        "counting another key changes nothing here"
    );
}

pub(super) async fn a_window_ends_after_its_length_and_the_next_failure_starts_one(
    store: &Storage,
) {
    let logins = &store.login_attempts;
    let start = Fixtures::new().tick();
    let key = LoginKey::client("2001:db8::5".parse().expect("an address"));
    let ends = start.plus(WINDOW);
    for _ in 0..4 {
        logins
            .count_failure(&key, start, WINDOW)
            .await
            .expect("count");
    }
    let just_before = Timestamp::from_unix_millis(ends.unix_millis() - 1);
    assert_eq!(
        logins
            .count_failure(&key, just_before, WINDOW)
            .await
            .expect("count"),
        window_until(5, start, just_before),
        "a millisecond before its end the window is open"
    );
    assert_eq!(
        logins.open_window(&key, ends, WINDOW).await.expect("read"),
        None,
        "at start + window the window has ended"
    );
    assert_eq!(
        logins
            .count_failure(&key, ends, WINDOW)
            .await
            .expect("count"),
        window(1, ends),
        "a failure after the end starts a new window"
    );
    assert_eq!(
        logins
            .open_window(&key, after(ends, 1), WINDOW)
            .await
            .expect("read"),
        Some(window(1, ends))
    );
    let much_later = ends.plus(WINDOW * 10);
    assert_eq!(
        logins
            .open_window(&key, much_later, WINDOW)
            .await
            .expect("read"),
        None
    );
    assert_eq!(
        logins
            .count_failure(&key, much_later, WINDOW)
            .await
            .expect("count"),
        window(1, much_later)
    );
}

pub(super) async fn clearing_forgets_one_key(store: &Storage) {
    let logins = &store.login_attempts;
    let start = Fixtures::new().tick();
    let ana = LoginKey::account("ana@campus.edu");
    let client = LoginKey::client(IpAddr::V4(Ipv4Addr::LOCALHOST));
    for _ in 0..3 {
        logins
            .count_failure(&ana, start, WINDOW)
            .await
            .expect("count");
        logins
            .count_failure(&client, start, WINDOW)
            .await
            .expect("count");
    }
    logins.clear_failures(&ana).await.expect("clear");
    let now = after(start, 1000);
    assert_eq!(
        logins.open_window(&ana, now, WINDOW).await.expect("read"),
        None,
        "a cleared key has no window"
    );
    assert_eq!(
        logins
            .open_window(&client, now, WINDOW)
            .await
            .expect("read"),
        Some(window(3, start)),
        "clearing one key leaves the others"
    );
    assert_eq!(
        logins
            .count_failure(&ana, now, WINDOW)
            .await
            .expect("count"),
        window(1, now),
        "the next failure starts afresh"
    );
    let never_failed = LoginKey::account("nadie@campus.edu");
    logins
        .clear_failures(&never_failed)
        .await
        .expect("clearing a key without failures does nothing");
    assert_eq!(
        logins
            .open_window(&never_failed, now, WINDOW)
            .await
            .expect("read"),
        None
    );
}

/// Twenty failures of one key at once, counted in an open window and then in one that had
/// ended, so that the writers also race to start the new window.
pub(super) async fn concurrent_failures_are_each_counted_once(store: &Storage) {
    const WRITERS: u64 = 20;
    let logins = &store.login_attempts;
    let start = Fixtures::new().tick();
    let key = LoginKey::account("objetivo@campus.edu");

    let counted = join_all((0..WRITERS).map(|_| logins.count_failure(&key, start, WINDOW))).await;
    let mut seen: Vec<u64> = counted
        .into_iter()
        .map(|w| {
            let w = w.expect("count");
            assert_eq!(w.started_at, start, "one window for all of them");
            assert_eq!(w.last_failed_at, start);
            w.failures
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=WRITERS).collect::<Vec<_>>(),
        "each failure counted once, each seeing its own count"
    );
    assert_eq!(
        logins
            .open_window(&key, after(start, 1), WINDOW)
            .await
            .expect("read"),
        Some(window(WRITERS, start))
    );

    let next = start.plus(WINDOW).plus(Duration::from_secs(1));
    let counted = join_all((0..WRITERS).map(|_| logins.count_failure(&key, next, WINDOW))).await;
    let mut seen: Vec<u64> = counted
        .into_iter()
        .map(|w| {
            let w = w.expect("count");
            assert_eq!(w.started_at, next, "exactly one new window");
            w.failures
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=WRITERS).collect::<Vec<_>>());
    assert_eq!(
        logins.open_window(&key, next, WINDOW).await.expect("read"),
        Some(window(WRITERS, next)),
        "no failure lost while the window started over"
    );
}

/// The latest failure time moves forward with each failure and never back, even when a
/// failure stamped earlier (another instance's clock) is counted after a later one.
pub(super) async fn the_latest_failure_time_only_moves_forward(store: &Storage) {
    let logins = &store.login_attempts;
    let start = Fixtures::new().tick();
    let key = LoginKey::account("reloj@campus.edu");
    logins
        .count_failure(&key, start, WINDOW)
        .await
        .expect("count");
    assert_eq!(
        logins
            .count_failure(&key, after(start, 9000), WINDOW)
            .await
            .expect("count"),
        window_until(2, start, after(start, 9000))
    );
    assert_eq!(
        logins
            .count_failure(&key, after(start, 4000), WINDOW)
            .await
            .expect("count"),
        window_until(3, start, after(start, 9000)),
        "an earlier failure counted late is counted and leaves the latest time"
    );
    assert_eq!(
        logins
            .open_window(&key, after(start, 10_000), WINDOW)
            .await
            .expect("read"),
        Some(window_until(3, start, after(start, 9000)))
    );
    let later = start.plus(WINDOW);
    assert_eq!(
        logins
            .count_failure(&key, later, WINDOW)
            .await
            .expect("count"),
        window(1, later),
        "a new window starts with its own latest failure"
    );
}
