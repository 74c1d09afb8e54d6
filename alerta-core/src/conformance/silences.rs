//! Checks of [`SilenceStore`](crate::ports::SilenceStore): round trips, the state filter
//! and paging, expiry, racing writers, and the `silenced` flag of stored alerts.

use futures::future::join_all;

use super::{Fixtures, conflict_kind};
use crate::domain::{
    AlertFilter, Channel, Matchers, PageRequest, Severity, Silence, SilenceComment, SilenceDraft,
    SilenceFilter, SilenceId, SilenceState, Timestamp,
};
use crate::ports::{AlertWrite, Storage};
use crate::{ConflictKind, Error};

/// How many writers race in the concurrency checks.
const RACERS: usize = 16;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

/// A silence of `source = <source>` (and a regex on the message) from `starts` to `ends`.
fn silence(f: &Fixtures, source: &str, starts: Timestamp, ends: Timestamp) -> Silence {
    let matchers = Matchers::parse([
        ("source", source, false),
        ("message", "disco .*|temperatura", true),
    ])
    .expect("matchers");
    let draft = SilenceDraft::new(
        matchers,
        Some(starts),
        ends,
        SilenceComment::parse("ventana de mantenimiento").expect("comment"),
        starts.min(at(0)),
    )
    .expect("a window that ends after it starts");
    let id = SilenceId::parse(&f.id()).expect("id");
    Silence::new(id, draft, f.user(), f.tick())
}

async fn all(store: &Storage, filter: &SilenceFilter, limit: usize) -> Vec<Silence> {
    let mut page = PageRequest::first(limit).expect("limit");
    let mut out = Vec::new();
    loop {
        let got = store.silences.silences(filter, &page).await.expect("list");
        assert!(got.items.len() <= limit, "a page holds at most its limit");
        out.extend(got.items);
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return out,
        }
    }
}

pub(super) async fn round_trip_and_duplicates(store: &Storage) {
    let f = Fixtures::new();
    let made = silence(&f, "sensor_01", at(1_000), at(5_000));
    store.silences.insert_silence(&made).await.expect("insert");
    assert_eq!(
        store.silences.silence(made.id()).await.expect("read"),
        Some(made.clone()),
        "a silence reads back as stored, matchers included"
    );
    let again = store.silences.insert_silence(&made).await;
    assert_eq!(conflict_kind(again), ConflictKind::Duplicate);
    assert_eq!(
        all(store, &SilenceFilter::all(), 10).await,
        vec![made.clone()],
        "a refused duplicate changes nothing"
    );
    let unknown = SilenceId::parse("nope").expect("id");
    assert_eq!(store.silences.silence(&unknown).await.expect("read"), None);
}

pub(super) async fn lists_filter_by_state_newest_first_in_pages(store: &Storage) {
    let f = Fixtures::new();
    let now = at(10_000);
    let expired = silence(&f, "a", at(1_000), at(10_000));
    let active = silence(&f, "b", at(2_000), at(20_000));
    let pending = silence(&f, "c", at(15_000), at(30_000));
    let active_too = silence(&f, "d", at(10_000), at(10_001));
    let stored = [&expired, &active, &pending, &active_too];
    for s in stored {
        store.silences.insert_silence(s).await.expect("insert");
    }
    let newest_first: Vec<Silence> = stored.iter().rev().map(|s| (*s).clone()).collect();
    for limit in [1, 2, 3, 10] {
        assert_eq!(
            all(store, &SilenceFilter::all(), limit).await,
            newest_first,
            "every silence, newest first, in pages of {limit}"
        );
    }
    for (state, expected) in [
        (SilenceState::Expired, vec![expired.clone()]),
        (
            SilenceState::Active,
            vec![active_too.clone(), active.clone()],
        ),
        (SilenceState::Pending, vec![pending.clone()]),
    ] {
        for limit in [1, 5] {
            assert_eq!(
                all(store, &SilenceFilter::in_state(state, now), limit).await,
                expected,
                "{state} at {now}, pages of {limit}"
            );
        }
    }
    assert_eq!(
        all(store, &SilenceFilter::unexpired(now), 1).await,
        vec![active_too.clone(), pending.clone(), active.clone()],
        "unexpired is pending and active"
    );
    let bad = PageRequest::after(
        crate::domain::Limit::DEFAULT,
        crate::domain::Cursor::new("forged"),
    );
    let refused = store.silences.silences(&SilenceFilter::all(), &bad).await;
    assert!(
        matches!(
            &refused,
            Err(Error::Invalid {
                field: "cursor",
                ..
            })
        ),
        "a cursor the store did not make is refused: {refused:?}"
    );
}

pub(super) async fn expiry_ends_now_once(store: &Storage) {
    let f = Fixtures::new();
    let active = silence(&f, "a", at(1_000), at(10_000));
    let pending = silence(&f, "b", at(8_000), at(10_000));
    for s in [&active, &pending] {
        store.silences.insert_silence(s).await.expect("insert");
    }

    let ended = store
        .silences
        .expire_silence(active.id(), at(5_000))
        .await
        .expect("expire");
    assert_eq!(ended, active.expire(at(5_000)));
    assert_eq!((ended.starts_at(), ended.ends_at()), (at(1_000), at(5_000)));
    assert_eq!(
        store.silences.silence(active.id()).await.expect("read"),
        Some(ended.clone()),
        "the expiry is stored"
    );
    let again = store
        .silences
        .expire_silence(active.id(), at(7_000))
        .await
        .expect("expire again");
    assert_eq!(again, ended, "expiring an expired silence changes nothing");

    let ended_pending = store
        .silences
        .expire_silence(pending.id(), at(5_000))
        .await
        .expect("expire pending");
    assert_eq!(
        (ended_pending.starts_at(), ended_pending.ends_at()),
        (at(5_000), at(5_000)),
        "a pending silence ends before it starts"
    );
    assert_eq!(ended_pending.state(at(5_000)), SilenceState::Expired);

    let unknown = SilenceId::parse("nope").expect("id");
    let missing = store.silences.expire_silence(&unknown, at(5_000)).await;
    assert!(
        matches!(missing, Err(Error::NotFound("silence"))),
        "expiring an unknown silence is not found: {missing:?}"
    );
    assert_eq!(
        all(
            store,
            &SilenceFilter::in_state(SilenceState::Expired, at(5_000)),
            10
        )
        .await
        .len(),
        2
    );
}

/// Expiries at many times race with each other and with new silences: the earliest end
/// wins, and every new silence is stored once, unchanged by the expiries.
pub(super) async fn racing_expiries_and_creates(store: &Storage) {
    let f = Fixtures::new();
    let target = silence(&f, "objetivo", at(1_000), at(100_000));
    store
        .silences
        .insert_silence(&target)
        .await
        .expect("insert");
    let made: Vec<Silence> = (0..RACERS)
        .map(|i| silence(&f, &format!("nuevo_{i}"), at(1_000), at(100_000)))
        .collect();
    let expiries = (0..RACERS).map(|i| {
        let id = target.id().clone();
        async move {
            let now = at(50_000 + i64::try_from(i).expect("small") * 100);
            store.silences.expire_silence(&id, now).await
        }
    });
    let creates = made.iter().map(|s| store.silences.insert_silence(s));
    let (expired, created) = futures::join!(join_all(expiries), join_all(creates));
    for result in &expired {
        let ended = result.as_ref().expect("every expiry succeeds");
        assert!(
            ended.ends_at() <= at(50_000 + i64::try_from(RACERS).expect("small") * 100),
            "an expiry ends the silence at or before its own time"
        );
    }
    for result in created {
        result.expect("every new silence is stored");
    }
    let stored = store
        .silences
        .silence(target.id())
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        stored.ends_at(),
        at(50_000),
        "the earliest expiry wins, whatever the order"
    );
    let listed = all(store, &SilenceFilter::all(), 7).await;
    assert_eq!(listed.len(), RACERS + 1, "no silence lost or doubled");
    for s in &made {
        assert!(listed.contains(s), "{} stored as made", s.id());
    }
}

/// Concurrent inserts of one id: exactly one wins.
pub(super) async fn racing_inserts_of_one_id_one_wins(store: &Storage) {
    let f = Fixtures::new();
    let one = silence(&f, "uno", at(1_000), at(100_000));
    let results = join_all((0..RACERS).map(|_| store.silences.insert_silence(&one))).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one insert of an id wins");
    for result in results.into_iter().filter(|r| r.is_err()) {
        assert_eq!(conflict_kind(result), ConflictKind::Duplicate);
    }
    assert_eq!(all(store, &SilenceFilter::all(), 10).await, vec![one]);
}

/// The `silenced` flag of an alert is stored, read back, listed and filtered.
pub(super) async fn alerts_keep_their_silenced_flag(store: &Storage) {
    let f = Fixtures::new();
    let loud = f.alert("sensor_01", Severity::Critical, Channel::Tcp, "temperatura");
    let quiet = f
        .alert("sensor_02", Severity::Critical, Channel::Tcp, "temperatura")
        .with_silenced(true);
    store
        .alerts
        .insert(vec![
            AlertWrite {
                alert: loud.clone(),
                mails: vec![],
            },
            AlertWrite {
                alert: quiet.clone(),
                mails: vec![],
            },
        ])
        .await
        .expect("insert");
    let read = |id| async move { store.alerts.alert(id).await.expect("read").expect("stored") };
    assert!(!read(&loud.id).await.silenced());
    assert!(read(&quiet.id).await.silenced(), "the flag is stored");
    let page = PageRequest::first(10).expect("limit");
    for (silenced, expected) in [
        (Some(true), vec![quiet.clone()]),
        (Some(false), vec![loud.clone()]),
    ] {
        let filter = AlertFilter {
            silenced,
            ..AlertFilter::default()
        };
        let got = store.alerts.search(&filter, &page).await.expect("search");
        assert_eq!(got.items, expected, "silenced={silenced:?}");
    }
    let everything = store
        .alerts
        .search(&AlertFilter::default(), &page)
        .await
        .expect("search");
    assert_eq!(everything.items, vec![quiet, loud]);
}
