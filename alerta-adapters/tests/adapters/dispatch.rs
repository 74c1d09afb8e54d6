//! The outbox dispatcher over the memory store, with a recording mailer and a manual clock.

use std::cell::RefCell;
use std::collections::HashSet;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use alerta_adapters::memory::{MailerMode, MemoryStore, RecordingMailer};
use alerta_core::conformance::Fixtures;
use alerta_core::dispatch::{DispatchReport, Dispatcher, RetryPolicy};
use alerta_core::domain::{
    Channel, MailId, MailState, OutboxMail, PageRequest, Severity, Timestamp,
};
use alerta_core::ports::{
    AlertStore, AlertWrite, Clock, DynMailOutbox, MailOutbox, Mailer, ManualClock, SendError,
};
use async_trait::async_trait;

const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

struct World {
    store: Arc<MemoryStore>,
    mailer: Arc<RecordingMailer>,
    clock: Arc<ManualClock>,
    fixtures: Fixtures,
}

impl World {
    fn new() -> Self {
        Self {
            store: Arc::new(MemoryStore::new()),
            mailer: Arc::new(RecordingMailer::new_ok()),
            clock: Arc::new(ManualClock::new(T0)),
            fixtures: Fixtures::new(),
        }
    }

    fn dispatcher(&self, policy: RetryPolicy) -> Dispatcher {
        self.dispatcher_with(self.mailer.clone(), policy)
    }

    fn dispatcher_with(&self, mailer: Arc<dyn Mailer>, policy: RetryPolicy) -> Dispatcher {
        Dispatcher::new(
            self.store.clone(),
            self.store.clone(),
            mailer,
            self.clock.clone(),
            policy,
        )
    }

    /// Rows enter the outbox only with an atomic change, as in the service.
    async fn put(&self, recipients: &[&str]) -> Vec<OutboxMail> {
        let now = self.clock.now();
        let mails: Vec<OutboxMail> = recipients
            .iter()
            .map(|to| self.fixtures.mail(to, &format!("to {to}"), now))
            .collect();
        let alert = self.fixtures.alert(
            "dispatch",
            Severity::Critical,
            Channel::Http,
            &self.fixtures.id(),
        );
        self.store
            .insert(vec![AlertWrite {
                alert,
                mails: mails.clone(),
            }])
            .await
            .expect("insert");
        mails
    }

    async fn row(&self, id: &MailId) -> OutboxMail {
        self.store.mail(id).await.expect("read").expect("the row")
    }

    async fn dead(&self) -> Vec<OutboxMail> {
        self.store
            .mails(Some(MailState::Dead), &PageRequest::first(100).unwrap())
            .await
            .expect("list")
            .items
    }
}

fn sent_ids(mailer: &RecordingMailer) -> Vec<MailId> {
    mailer.sent().into_iter().map(|m| m.id).collect()
}

#[tokio::test]
async fn due_rows_are_sent_once_and_marked_sent() {
    let w = World::new();
    let rows = w.put(&["a@campus.edu", "b@campus.edu"]).await;
    let d = w.dispatcher(RetryPolicy::default());

    let report = d.run_once().await.unwrap();
    assert_eq!(
        report,
        DispatchReport {
            claimed: 2,
            sent: 2,
            ..DispatchReport::default()
        }
    );
    for row in &rows {
        let stored = w.row(&row.id).await;
        assert_eq!(stored.state, MailState::Sent);
        assert_eq!(stored.attempts, 1);
        assert_eq!(stored.sent_at, Some(T0));
        assert_eq!(stored.lease_until, None);
    }
    let sent = w.mailer.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].message_id, rows[0].message_id,
        "the row's Message-ID"
    );

    w.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(d.run_once().await.unwrap(), DispatchReport::default());
    assert_eq!(w.mailer.sent().len(), 2, "nothing is sent twice");
}

#[tokio::test]
async fn a_temporary_failure_backs_off_with_jitter_and_then_succeeds() {
    let w = World::new();
    let row = w.put(&["a@campus.edu"]).await.remove(0);
    let policy = RetryPolicy::default();
    let d = w.dispatcher(policy.clone());
    w.mailer.set_mode(MailerMode::Temporary);

    let mut expected_at = T0;
    for attempt in 1..=3u32 {
        let report = d.run_once().await.unwrap();
        assert_eq!(report.retried, 1, "attempt {attempt}");
        let stored = w.row(&row.id).await;
        assert_eq!(stored.state, MailState::Pending);
        assert_eq!(stored.attempts, attempt);
        assert!(stored.last_error.as_deref().unwrap().contains("421"));
        let full = policy.base_delay * 2u32.pow(attempt - 1);
        let wait = stored.next_attempt_at.since(expected_at);
        assert!(
            wait >= full / 2 && wait <= full,
            "attempt {attempt}: {wait:?} outside [{:?}, {full:?}]",
            full / 2
        );

        // Just before the retry is due nothing happens; at it, the row is tried again.
        w.clock.set(Timestamp::from_unix_millis(
            stored.next_attempt_at.unix_millis() - 1,
        ));
        assert_eq!(d.run_once().await.unwrap().claimed, 0);
        w.clock.set(stored.next_attempt_at);
        expected_at = stored.next_attempt_at;
    }

    w.mailer.set_mode(MailerMode::Ok);
    assert_eq!(d.run_once().await.unwrap().sent, 1);
    let stored = w.row(&row.id).await;
    assert_eq!(stored.state, MailState::Sent);
    assert_eq!(stored.attempts, 4);
    assert_eq!(sent_ids(&w.mailer), vec![row.id]);
}

#[tokio::test]
async fn a_permanent_failure_is_dead_at_once_with_its_error() {
    let w = World::new();
    let row = w.put(&["a@campus.edu"]).await.remove(0);
    w.mailer.set_mode(MailerMode::Permanent);
    let report = w
        .dispatcher(RetryPolicy::default())
        .run_once()
        .await
        .unwrap();
    assert_eq!(report.dead, 1);

    let dead = w.dead().await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, row.id);
    assert_eq!(dead[0].attempts, 1);
    assert!(dead[0].last_error.as_deref().unwrap().contains("550"));
}

#[tokio::test]
async fn temporary_failures_end_dead_after_max_attempts_and_an_operator_can_retry() {
    let w = World::new();
    let row = w.put(&["a@campus.edu"]).await.remove(0);
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let d = w.dispatcher(policy);
    w.mailer.set_mode(MailerMode::Temporary);
    for _ in 0..2 {
        assert_eq!(d.run_once().await.unwrap().retried, 1);
        w.clock.advance(Duration::from_secs(3600));
    }
    assert_eq!(d.run_once().await.unwrap().dead, 1);
    let dead = w.dead().await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    let error = dead[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("gave up after 3 attempts") && error.contains("421"),
        "{error}"
    );

    w.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        d.run_once().await.unwrap().claimed,
        0,
        "dead rows stay dead"
    );

    // `alerta outbox retry ID`: back to pending, sent on the next pass, attempts kept.
    w.store.requeue(&row.id, w.clock.now()).await.unwrap();
    w.mailer.set_mode(MailerMode::Ok);
    assert_eq!(d.run_once().await.unwrap().sent, 1);
    let stored = w.row(&row.id).await;
    assert_eq!((stored.state, stored.attempts), (MailState::Sent, 4));
    assert_eq!(stored.message_id, row.message_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_never_send_the_same_row() {
    let w = World::new();
    let recipients: Vec<String> = (0..40).map(|i| format!("u{i}@campus.edu")).collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let rows = w.put(&recipients).await;
    let policy = RetryPolicy {
        batch_size: 3,
        ..RetryPolicy::default()
    };
    let first_mailer = Arc::new(RecordingMailer::new_ok());
    let second_mailer = Arc::new(RecordingMailer::new_ok());
    let first = w.dispatcher_with(first_mailer.clone(), policy.clone());
    let second = w.dispatcher_with(second_mailer.clone(), policy);

    let drain = |d: Dispatcher| async move {
        while d.run_once().await.unwrap().claimed > 0 {
            tokio::task::yield_now().await;
        }
    };
    let a = tokio::spawn(drain(first));
    let b = tokio::spawn(drain(second));
    a.await.unwrap();
    b.await.unwrap();

    let from_first: HashSet<MailId> = sent_ids(&first_mailer).into_iter().collect();
    let from_second: HashSet<MailId> = sent_ids(&second_mailer).into_iter().collect();
    assert!(from_first.is_disjoint(&from_second));
    assert_eq!(
        from_first.len() + from_second.len(),
        rows.len(),
        "every row sent exactly once"
    );
    let all: HashSet<MailId> = rows.into_iter().map(|m| m.id).collect();
    assert_eq!(&from_first | &from_second, all);
}

#[tokio::test]
async fn a_row_leased_by_a_dispatcher_that_died_is_sent_after_the_lease() {
    let w = World::new();
    let row = w.put(&["a@campus.edu"]).await.remove(0);
    let policy = RetryPolicy::default();
    // A dispatcher claims the row and stops before sending it.
    let outbox: Arc<DynMailOutbox> = w.store.clone();
    assert_eq!(
        outbox.claim_due(T0, policy.lease, 10).await.unwrap().len(),
        1
    );

    let d = w.dispatcher(policy.clone());
    assert_eq!(d.run_once().await.unwrap().claimed, 0, "the lease holds");
    w.clock.advance(policy.lease);
    assert_eq!(d.run_once().await.unwrap().sent, 1, "the lease is over");
    assert_eq!(sent_ids(&w.mailer), vec![row.id]);
}

/// A mailer whose sends take `took` on the manual clock.
struct SlowMailer {
    inner: RecordingMailer,
    clock: Arc<ManualClock>,
    took: Duration,
}

#[async_trait]
impl Mailer for SlowMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        self.clock.advance(self.took);
        self.inner.send(mail).await
    }
}

#[tokio::test]
async fn rows_left_when_half_the_lease_is_gone_are_handed_back_unsent() {
    let w = World::new();
    let rows = w
        .put(&[
            "a@campus.edu",
            "b@campus.edu",
            "c@campus.edu",
            "d@campus.edu",
        ])
        .await;
    let policy = RetryPolicy {
        lease: Duration::from_secs(100),
        ..RetryPolicy::default()
    };
    let slow = Arc::new(SlowMailer {
        inner: RecordingMailer::new_ok(),
        clock: w.clock.clone(),
        took: Duration::from_secs(30),
    });
    let d = w.dispatcher_with(slow.clone(), policy.clone());

    // Sends start at 0 s and 30 s; at 60 s less than half of the 100 s lease is left.
    let report = d.run_once().await.unwrap();
    assert_eq!(
        report,
        DispatchReport {
            claimed: 4,
            sent: 2,
            released: 2,
            ..DispatchReport::default()
        }
    );
    let handed_back = [&rows[2], &rows[3]];
    for row in handed_back {
        let stored = w.row(&row.id).await;
        assert_eq!(stored.state, MailState::Pending);
        assert_eq!(stored.attempts, 0, "not an attempt");
        assert_eq!(stored.lease_until, None);
    }

    // Another dispatcher takes them at once, without waiting for the lease to end.
    let other = w.dispatcher(policy);
    assert_eq!(other.run_once().await.unwrap().sent, 2);
    let mut all = sent_ids(&slow.inner);
    all.extend(sent_ids(&w.mailer));
    assert_eq!(all, rows.iter().map(|m| m.id.clone()).collect::<Vec<_>>());
}

#[test]
fn run_drains_full_batches_without_sleeping_and_sleeps_when_idle() {
    let w = World::new();
    let recipients: Vec<String> = (0..5).map(|i| format!("u{i}@campus.edu")).collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    block_on_ready(w.put(&recipients));
    let d = w.dispatcher(RetryPolicy {
        batch_size: 2,
        ..RetryPolicy::default()
    });

    // The memory store and the recording mailer never wait, so one poll runs passes until
    // the first sleep, which never ends: by then passes of 2, 2 and 1 rows must have run.
    let sleeps = RefCell::new(Vec::new());
    let mut run = pin!(d.run(Duration::from_secs(2), |idle| {
        sleeps.borrow_mut().push(idle);
        std::future::pending::<()>()
    }));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(run.as_mut().poll(&mut cx).is_pending());
    assert_eq!(*sleeps.borrow(), vec![Duration::from_secs(2)]);
    assert_eq!(w.mailer.sent().len(), 5);
}

/// Polls a future that never waits to its end.
fn block_on_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the memory store never waits"),
    }
}

#[tokio::test]
async fn after_an_hour_without_a_server_every_row_goes_within_the_capped_delay_once_it_returns() {
    let w = World::new();
    let recipients: Vec<String> = (0..30).map(|i| format!("u{i}@campus.edu")).collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let rows = w.put(&recipients).await;
    let policy = RetryPolicy {
        batch_size: 7,
        ..RetryPolicy::default()
    };
    let d = w.dispatcher(policy.clone());
    w.mailer.set_mode(MailerMode::Unreachable);

    // An hour of outage, with the dispatcher passing every second as `run` would.
    let outage_end = T0.plus(Duration::from_secs(3600));
    while w.clock.now() < outage_end {
        while d.run_once().await.unwrap().claimed > 0 {}
        for row in &rows {
            let stored = w.row(&row.id).await;
            assert_eq!(stored.state, MailState::Pending, "never dead in an outage");
            assert_eq!(
                stored.attempts, 0,
                "an unreachable server is not an attempt"
            );
            assert!(
                stored.next_attempt_at <= w.clock.now().plus(policy.unreachable_retry),
                "the wait never grows past the cap: due {} at {}",
                stored.next_attempt_at,
                w.clock.now()
            );
        }
        w.clock.advance(Duration::from_secs(1));
    }
    assert!(w.mailer.sent().is_empty());
    let error = w.row(&rows[0].id).await.last_error.unwrap();
    assert!(error.starts_with("mail server unreachable"), "{error}");

    // The server returns: the first row that comes due goes, and takes every other with it.
    w.mailer.set_mode(MailerMode::Ok);
    let back = w.clock.now();
    let mut report = d.run_once().await.unwrap();
    while report.claimed == 0 {
        w.clock.advance(Duration::from_millis(500));
        report = d.run_once().await.unwrap();
    }
    assert!(report.sent > 0);
    assert!(
        report.woken > 0 || report.sent == rows.len(),
        "the rest were released: {report:?}"
    );
    let first_send = w.clock.now();
    assert!(
        first_send.since(back) <= policy.unreachable_retry,
        "the first send came {:?} after the server's return",
        first_send.since(back)
    );
    // `run` goes on at once after a release; so does this loop, without moving the clock.
    while d.run_once().await.unwrap().claimed > 0 {}
    let mut sent = sent_ids(&w.mailer);
    sent.sort();
    let mut expected: Vec<MailId> = rows.iter().map(|m| m.id.clone()).collect();
    expected.sort();
    assert_eq!(sent, expected, "every row once, all at the first success");
    for row in &rows {
        let stored = w.row(&row.id).await;
        assert_eq!((stored.state, stored.attempts), (MailState::Sent, 1));
    }
}

#[tokio::test]
async fn an_unreachable_server_gives_a_row_up_only_after_the_configured_age() {
    let w = World::new();
    let row = w.put(&["a@campus.edu"]).await.remove(0);
    let policy = RetryPolicy {
        unreachable_give_up: Duration::from_secs(120),
        ..RetryPolicy::default()
    };
    let d = w.dispatcher(policy.clone());
    w.mailer.set_mode(MailerMode::Unreachable);
    while w.clock.now() < T0.plus(Duration::from_secs(119)) {
        d.run_once().await.unwrap();
        assert_eq!(w.row(&row.id).await.state, MailState::Pending);
        w.clock.advance(Duration::from_secs(1));
    }
    w.clock.set(T0.plus(policy.unreachable_retry * 20));
    assert_eq!(d.run_once().await.unwrap().dead, 1);
    let dead = w.dead().await;
    assert_eq!(dead.len(), 1);
    let error = dead[0].last_error.as_deref().unwrap();
    assert!(
        error.contains("gave up after the server was unreachable") && error.contains("refused"),
        "{error}"
    );
}

#[tokio::test]
async fn a_success_releases_what_waited_for_the_server_but_not_what_a_4xx_pushed_back() {
    let w = World::new();
    let rows = w.put(&["a@campus.edu", "b@campus.edu"]).await;
    let outbox: Arc<DynMailOutbox> = w.store.clone();
    let lease = RetryPolicy::default().lease;
    assert_eq!(outbox.claim_due(T0, lease, 10).await.unwrap().len(), 2);
    let a_due = T0.plus(Duration::from_secs(15));
    let b_due = T0.plus(Duration::from_secs(60));
    outbox
        .mark_unreachable(&rows[0].id, "mail server unreachable: refused", a_due)
        .await
        .unwrap();
    outbox
        .mark_failed(&rows[1].id, "temporary failure: 421 busy", Some(b_due))
        .await
        .unwrap();

    let d = w.dispatcher(RetryPolicy::default());
    let c = w.put(&["c@campus.edu"]).await.remove(0);
    let report = d.run_once().await.unwrap();
    assert_eq!((report.sent, report.woken), (1, 1), "{report:?}");
    assert_eq!(d.run_once().await.unwrap().sent, 1, "a goes at once");
    assert_eq!(sent_ids(&w.mailer), vec![c.id, rows[0].id.clone()]);
    let b = w.row(&rows[1].id).await;
    assert_eq!((b.state, b.next_attempt_at), (MailState::Pending, b_due));
    assert_eq!(d.run_once().await.unwrap().claimed, 0);
}

/// A mailer whose sends take a while, counting how many run at once.
struct OverlapMailer {
    inner: RecordingMailer,
    in_flight: std::sync::atomic::AtomicUsize,
    most: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl Mailer for OverlapMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most.fetch_max(now, SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.in_flight.fetch_sub(1, SeqCst);
        self.inner.send(mail).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_stay_within_the_bound_and_send_every_row_once() {
    use std::sync::atomic::Ordering::SeqCst;
    let w = World::new();
    let recipients: Vec<String> = (0..60).map(|i| format!("u{i}@campus.edu")).collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let rows = w.put(&recipients).await;
    let policy = RetryPolicy {
        batch_size: 20,
        concurrency: 8,
        ..RetryPolicy::default()
    };
    let mailers: Vec<Arc<OverlapMailer>> = (0..2)
        .map(|_| {
            Arc::new(OverlapMailer {
                inner: RecordingMailer::new_ok(),
                in_flight: Default::default(),
                most: Default::default(),
            })
        })
        .collect();
    let drains: Vec<_> = mailers
        .iter()
        .map(|mailer| {
            let d = w.dispatcher_with(mailer.clone(), policy.clone());
            tokio::spawn(async move { while d.run_once().await.unwrap().claimed > 0 {} })
        })
        .collect();
    for drain in drains {
        drain.await.unwrap();
    }
    let mut sent: Vec<MailId> = mailers.iter().flat_map(|m| sent_ids(&m.inner)).collect();
    sent.sort();
    let mut expected: Vec<MailId> = rows.iter().map(|m| m.id.clone()).collect();
    expected.sort();
    assert_eq!(
        sent, expected,
        "every row exactly once across both dispatchers"
    );
    for mailer in &mailers {
        let most = mailer.most.load(SeqCst);
        assert!(most <= 8, "{most} sends at once, over the bound");
    }
    assert!(
        mailers.iter().any(|m| m.most.load(SeqCst) > 1),
        "sends overlapped"
    );
    for row in &rows {
        assert_eq!(w.row(&row.id).await.state, MailState::Sent);
    }
}
