//! Checks of [`MailOutbox`](crate::ports::MailOutbox).

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;

use super::Fixtures;
use crate::Error;
use crate::domain::{Channel, MailId, MailState, OutboxMail, PageRequest, Severity, Timestamp};
use crate::ports::{AlertWrite, Storage};

const LEASE: Duration = Duration::from_secs(60);

/// Outbox rows are only written inside atomic changes; an alert carries them in.
async fn put<'a>(store: &Storage, f: &Fixtures, mails: impl IntoIterator<Item = &'a OutboxMail>) {
    let alert = f.alert("outbox", Severity::Error, Channel::Http, "carrier");
    let mails = mails.into_iter().cloned().collect();
    store
        .alerts
        .insert(vec![AlertWrite { alert, mails }])
        .await
        .expect("insert");
}

fn ids(mails: &[OutboxMail]) -> Vec<MailId> {
    mails.iter().map(|m| m.id.clone()).collect()
}

pub(super) async fn claim_leases_and_expires(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let due = f.mail("a@campus.edu", "due", now);
    let later = f.mail("b@campus.edu", "later", now.plus(Duration::from_secs(3600)));
    put(store, &f, [&due, &later]).await;

    let claimed = store.outbox.claim_due(now, LEASE, 10).await.expect("claim");
    assert_eq!(ids(&claimed), vec![due.id.clone()], "only due rows");
    assert_eq!(claimed[0].lease_until, Some(now.plus(LEASE)));
    assert_eq!(claimed[0].message, due.message, "the message reads back");
    assert_eq!(claimed[0].message_id, due.message_id);
    assert!(
        store
            .outbox
            .claim_due(now, LEASE, 10)
            .await
            .expect("claim")
            .is_empty(),
        "a leased row is not claimed again while its lease runs"
    );
    let after_lease = now.plus(LEASE).plus(Duration::from_millis(1));
    let again = store
        .outbox
        .claim_due(after_lease, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(
        ids(&again),
        vec![due.id.clone()],
        "an expired lease frees the row"
    );
}

pub(super) async fn sent_failed_dead_requeue(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let ok = f.mail("a@campus.edu", "ok", now);
    let flaky = f.mail("b@campus.edu", "flaky", now);
    let doomed = f.mail("c@campus.edu", "doomed", now);
    put(store, &f, [&ok, &flaky, &doomed]).await;
    assert_eq!(
        store
            .outbox
            .claim_due(now, LEASE, 10)
            .await
            .expect("claim")
            .len(),
        3
    );

    store.outbox.mark_sent(&ok.id, now).await.expect("sent");
    let sent = store
        .outbox
        .mail(&ok.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (sent.state, sent.attempts, sent.sent_at, sent.lease_until),
        (MailState::Sent, 1, Some(now), None)
    );

    let retry_at = now.plus(Duration::from_secs(30));
    store
        .outbox
        .mark_failed(&flaky.id, "421 busy", Some(retry_at))
        .await
        .expect("failed");
    let row = store
        .outbox
        .mail(&flaky.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (row.state, row.attempts, row.next_attempt_at),
        (MailState::Pending, 1, retry_at)
    );
    assert_eq!(row.last_error.as_deref(), Some("421 busy"));
    assert_eq!(row.lease_until, None);
    let before = Timestamp::from_unix_millis(retry_at.unix_millis() - 1);
    assert!(
        store
            .outbox
            .claim_due(before, LEASE, 10)
            .await
            .expect("claim")
            .is_empty(),
        "not due before retry_at"
    );
    assert_eq!(
        ids(&store
            .outbox
            .claim_due(retry_at, LEASE, 10)
            .await
            .expect("claim")),
        vec![flaky.id.clone()]
    );

    store
        .outbox
        .mark_failed(&doomed.id, "550 no such user", None)
        .await
        .expect("dead");
    let dead = store
        .outbox
        .mail(&doomed.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!((dead.state, dead.attempts), (MailState::Dead, 1));
    let much_later = now.plus(Duration::from_secs(86_400));
    assert!(
        store
            .outbox
            .claim_due(much_later, LEASE, 10)
            .await
            .expect("claim")
            .iter()
            .all(|m| m.id != doomed.id),
        "a dead row is never claimed"
    );
    store
        .outbox
        .requeue(&doomed.id, much_later)
        .await
        .expect("requeue");
    let back = store
        .outbox
        .mail(&doomed.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (back.state, back.attempts, back.next_attempt_at),
        (MailState::Pending, 1, much_later)
    );
    assert_eq!(
        back.message_id, doomed.message_id,
        "the Message-ID never changes"
    );

    let unknown = MailId::parse("missing").expect("id");
    assert!(matches!(
        store.outbox.mark_sent(&unknown, now).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.outbox.mark_failed(&unknown, "x", None).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.outbox.requeue(&unknown, now).await,
        Err(Error::NotFound(_))
    ));
}

pub(super) async fn retry_ordering(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let a = f.mail("a@campus.edu", "a", now);
    let b = f.mail("b@campus.edu", "b", now);
    let c = f.mail("c@campus.edu", "c", now);
    put(store, &f, [&a, &b, &c]).await;
    store.outbox.claim_due(now, LEASE, 10).await.expect("claim");
    // a is retried last, c first, b in between.
    store
        .outbox
        .mark_failed(&a.id, "t", Some(now.plus(Duration::from_secs(30))))
        .await
        .expect("fail");
    store
        .outbox
        .mark_failed(&b.id, "t", Some(now.plus(Duration::from_secs(20))))
        .await
        .expect("fail");
    store
        .outbox
        .mark_failed(&c.id, "t", Some(now.plus(Duration::from_secs(10))))
        .await
        .expect("fail");
    let at = now.plus(Duration::from_secs(60));
    let first = store.outbox.claim_due(at, LEASE, 2).await.expect("claim");
    assert_eq!(
        ids(&first),
        vec![c.id.clone(), b.id.clone()],
        "earliest retry time first, up to the limit"
    );
    let rest = store.outbox.claim_due(at, LEASE, 2).await.expect("claim");
    assert_eq!(ids(&rest), vec![a.id.clone()]);
}

pub(super) async fn concurrent_claims_do_not_overlap(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let mails: Vec<OutboxMail> = (0..12)
        .map(|n| f.mail("a@campus.edu", &format!("m{n}"), now))
        .collect();
    put(store, &f, &mails).await;
    let claims = join_all((0..6).map(|_| store.outbox.claim_due(now, LEASE, 3))).await;
    let mut seen = HashSet::new();
    let mut total = 0;
    for claim in claims {
        for mail in claim.expect("claim") {
            total += 1;
            assert!(
                seen.insert(mail.id.clone()),
                "row {} claimed twice",
                mail.id
            );
        }
    }
    assert_eq!(total, 12, "together the claims take every due row once");
}

pub(super) async fn list_by_state(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let mails: Vec<OutboxMail> = (0..7)
        .map(|n| f.mail("a@campus.edu", &format!("m{n}"), now))
        .collect();
    put(store, &f, &mails).await;
    store.outbox.claim_due(now, LEASE, 10).await.expect("claim");
    for mail in &mails[..3] {
        store.outbox.mark_sent(&mail.id, now).await.expect("sent");
    }
    store
        .outbox
        .mark_failed(&mails[3].id, "550", None)
        .await
        .expect("dead");
    let count = |state| async move {
        let mut request = PageRequest::first(2).expect("limit");
        let mut seen = Vec::new();
        loop {
            let page = store.outbox.mails(state, &request).await.expect("mails");
            seen.extend(page.items);
            match page.next_cursor {
                Some(cursor) => request = PageRequest::after(request.limit, cursor),
                None => return seen,
            }
        }
    };
    let sent = count(Some(MailState::Sent)).await;
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|m| m.state == MailState::Sent));
    assert_eq!(count(Some(MailState::Dead)).await.len(), 1);
    assert_eq!(count(Some(MailState::Pending)).await.len(), 3);
    let all = count(None).await;
    let mut expected = ids(&mails);
    expected.reverse();
    assert_eq!(ids(&all), expected, "every row, newest first, across pages");
}

pub(super) async fn rows_waiting_for_the_server_are_released_together(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let a = f.mail("a@campus.edu", "a", now);
    let b = f.mail("b@campus.edu", "b", now);
    let c = f.mail("c@campus.edu", "c", now);
    let d = f.mail("d@campus.edu", "d", now);
    put(store, &f, [&a, &b, &c, &d]).await;
    assert_eq!(
        store
            .outbox
            .claim_due(now, LEASE, 10)
            .await
            .expect("claim")
            .len(),
        4
    );
    let refused = "mail server unreachable: connection refused";
    for (mail, wait) in [(&a, 15), (&b, 10), (&d, 12)] {
        store
            .outbox
            .mark_unreachable(&mail.id, refused, now.plus(Duration::from_secs(wait)))
            .await
            .expect("unreachable");
    }
    store
        .outbox
        .mark_failed(&c.id, "421 busy", Some(now.plus(Duration::from_secs(30))))
        .await
        .expect("failed");
    let row = store.outbox.mail(&a.id).await.expect("get").expect("a");
    assert_eq!(
        (row.state, row.attempts, row.lease_until),
        (MailState::Pending, 0, None),
        "an unreachable server is not an attempt, and the lease is given back"
    );
    assert_eq!(
        (row.next_attempt_at, row.last_error.as_deref()),
        (now.plus(Duration::from_secs(15)), Some(refused))
    );
    assert!(
        store
            .outbox
            .claim_due(now, LEASE, 10)
            .await
            .expect("claim")
            .is_empty(),
        "rows waiting for the server are not due before their retry time"
    );
    // An operator's requeue clears the mark: d is due now and is not released again.
    store.outbox.requeue(&d.id, now).await.expect("requeue");

    let later = now.plus(Duration::from_secs(1));
    assert_eq!(
        store
            .outbox
            .release_unreachable(later)
            .await
            .expect("release"),
        2,
        "a and b waited for the server"
    );
    for mail in [&a, &b] {
        let row = store
            .outbox
            .mail(&mail.id)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(row.next_attempt_at, later, "{} is due at once", mail.id);
        assert_eq!(row.attempts, 0);
    }
    let c_row = store.outbox.mail(&c.id).await.expect("get").expect("c");
    assert_eq!(
        c_row.next_attempt_at,
        now.plus(Duration::from_secs(30)),
        "a 4xx keeps its own backoff"
    );
    assert_eq!(
        store
            .outbox
            .release_unreachable(later)
            .await
            .expect("release"),
        0,
        "the mark is cleared by the release"
    );
    let claimed = store
        .outbox
        .claim_due(later, LEASE, 10)
        .await
        .expect("claim");
    let mut claimed = ids(&claimed);
    claimed.sort();
    let mut expected = vec![a.id.clone(), b.id.clone(), d.id.clone()];
    expected.sort();
    assert_eq!(claimed, expected);

    // Sent or dead rows are never brought back, even if they once waited for the server.
    store
        .outbox
        .mark_unreachable(&a.id, refused, later.plus(Duration::from_secs(15)))
        .await
        .expect("unreachable");
    store.outbox.mark_sent(&a.id, later).await.expect("sent");
    store
        .outbox
        .mark_unreachable(&b.id, refused, later.plus(Duration::from_secs(15)))
        .await
        .expect("unreachable");
    store
        .outbox
        .mark_failed(&b.id, "550 no such user", None)
        .await
        .expect("dead");
    assert_eq!(
        store
            .outbox
            .release_unreachable(later)
            .await
            .expect("release"),
        0
    );
    let a_row = store.outbox.mail(&a.id).await.expect("get").expect("a");
    assert_eq!((a_row.state, a_row.attempts), (MailState::Sent, 1));
    let b_row = store.outbox.mail(&b.id).await.expect("get").expect("b");
    assert_eq!(b_row.state, MailState::Dead);

    let unknown = MailId::parse("missing").expect("id");
    assert!(matches!(
        store.outbox.mark_unreachable(&unknown, refused, now).await,
        Err(Error::NotFound(_))
    ));
}

pub(super) async fn releases_racing_claims_never_hand_a_row_out_twice(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let mails: Vec<OutboxMail> = (0..12)
        .map(|n| f.mail("a@campus.edu", &format!("m{n}"), now))
        .collect();
    put(store, &f, &mails).await;
    store.outbox.claim_due(now, LEASE, 20).await.expect("claim");
    for mail in &mails {
        store
            .outbox
            .mark_unreachable(&mail.id, "refused", now.plus(Duration::from_secs(3600)))
            .await
            .expect("unreachable");
    }
    let mut seen = HashSet::new();
    let mut rounds = 0;
    while seen.len() < mails.len() {
        rounds += 1;
        assert!(rounds <= 20, "the rows were never released: {seen:?}");
        let releases = join_all((0..3).map(|_| store.outbox.release_unreachable(now)));
        let claims = join_all((0..6).map(|_| store.outbox.claim_due(now, LEASE, 3)));
        let (released, claimed) = futures::join!(releases, claims);
        for count in released {
            count.expect("release");
        }
        for claim in claimed {
            for mail in claim.expect("claim") {
                assert!(
                    seen.insert(mail.id.clone()),
                    "row {} claimed twice",
                    mail.id
                );
            }
        }
    }
}

pub(super) async fn settled_rows_age_out_and_pending_ones_stay(store: &Storage) {
    let f = Fixtures::new();
    let old = f.tick();
    let sent = f.mail("a@campus.edu", "sent", old);
    let dead = f.mail("b@campus.edu", "dead", old);
    let cancelled = f.mail("c@campus.edu", "cancelled", old);
    let pending = f.mail("d@campus.edu", "pending", old);
    let failing = f.mail("e@campus.edu", "will retry", old);
    let cutoff = f.tick();
    let recent = f.mail("f@campus.edu", "recent", f.tick());
    put(
        store,
        &f,
        [&sent, &dead, &cancelled, &pending, &failing, &recent],
    )
    .await;
    let now = f.tick();
    let claimed = store.outbox.claim_due(now, LEASE, 10).await.expect("claim");
    assert_eq!(claimed.len(), 6);
    store.outbox.mark_sent(&sent.id, now).await.expect("sent");
    store.outbox.mark_sent(&recent.id, now).await.expect("sent");
    store
        .outbox
        .mark_failed(&dead.id, "550 no such user", None)
        .await
        .expect("dead");
    store
        .outbox
        .mark_failed(&failing.id, "451 try later", Some(now))
        .await
        .expect("retried");
    store
        .outbox
        .mark_cancelled(&cancelled.id, "acknowledged")
        .await
        .expect("cancelled");
    store
        .outbox
        .mark_unreachable(&pending.id, "refused", now)
        .await
        .expect("waiting");

    // In bounded batches: two, then the last one, then nothing.
    let mut batches = Vec::new();
    loop {
        let removed = store
            .outbox
            .remove_settled(cutoff, 2)
            .await
            .expect("removed");
        batches.push(removed);
        if removed < 2 {
            break;
        }
    }
    assert_eq!(
        batches,
        vec![2, 1],
        "three settled rows were older than the cutoff"
    );
    for gone in [&sent, &dead, &cancelled] {
        assert_eq!(
            store.outbox.mail(&gone.id).await.expect("read"),
            None,
            "{} is gone",
            gone.message.subject.as_str()
        );
    }
    for kept in [&pending, &failing, &recent] {
        assert!(
            store.outbox.mail(&kept.id).await.expect("read").is_some(),
            "{} stays",
            kept.message.subject.as_str()
        );
    }
    assert_eq!(
        store
            .outbox
            .remove_settled(cutoff, 10)
            .await
            .expect("removed"),
        0,
        "nothing is left to remove"
    );
}

pub(super) async fn backlog_counts_pending_and_dead_rows(store: &Storage) {
    assert_eq!(
        store.outbox.backlog().await.expect("backlog"),
        crate::domain::OutboxBacklog::default(),
        "an empty outbox has no backlog"
    );
    let f = Fixtures::new();
    let first = f.tick();
    let oldest = f.mail("a@campus.edu", "oldest", first);
    let waiting = f.mail("b@campus.edu", "waiting", f.tick());
    let dead = f.mail("c@campus.edu", "dead", f.tick());
    let sent = f.mail("d@campus.edu", "sent", f.tick());
    let later = f.mail(
        "e@campus.edu",
        "later",
        f.tick().plus(Duration::from_secs(3600)),
    );
    // Written before all of them, with its alert, but due only in an hour: not the oldest.
    let reminder = f
        .mail(
            "r@campus.edu",
            "reminder",
            Timestamp::from_unix_millis(first.unix_millis() - 60_000),
        )
        .due_at(first.plus(Duration::from_secs(3600)));
    put(
        store,
        &f,
        [&reminder, &oldest, &waiting, &dead, &sent, &later],
    )
    .await;
    let now = f.tick();
    store.outbox.claim_due(now, LEASE, 10).await.expect("claim");
    store.outbox.mark_sent(&sent.id, now).await.expect("sent");
    store
        .outbox
        .mark_failed(&dead.id, "550 no such user", None)
        .await
        .expect("dead");
    store
        .outbox
        .mark_unreachable(&waiting.id, "refused", now)
        .await
        .expect("waiting");
    let backlog = store.outbox.backlog().await.expect("backlog");
    assert_eq!(
        backlog,
        crate::domain::OutboxBacklog {
            // The leased oldest row, the one waiting for the server, and the two not due yet.
            pending: 4,
            dead: 1,
            oldest_pending: Some(first),
        }
    );
    let stored = store
        .outbox
        .mail(&reminder.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        stored.due_at, reminder.due_at,
        "a row keeps when it was due"
    );
    assert_eq!(stored.created_at, reminder.created_at);
}

pub(super) async fn many_rows_are_marked_sent_in_one_call(store: &Storage) {
    let f = Fixtures::new();
    let now = f.tick();
    let mails: Vec<OutboxMail> = (0..5)
        .map(|i| f.mail(&format!("r{i}@campus.edu"), "together", now))
        .collect();
    put(store, &f, &mails).await;
    assert_eq!(
        store
            .outbox
            .claim_due(now, LEASE, 10)
            .await
            .expect("claim")
            .len(),
        5
    );
    store.outbox.mark_all_sent(&[], now).await.expect("nothing");

    let sent_at = now.plus(Duration::from_secs(2));
    store
        .outbox
        .mark_all_sent(&ids(&mails[..3]), sent_at)
        .await
        .expect("sent");
    for (i, mail) in mails.iter().enumerate() {
        let row = store
            .outbox
            .mail(&mail.id)
            .await
            .expect("get")
            .expect("exists");
        if i < 3 {
            assert_eq!(
                (row.state, row.attempts, row.sent_at, row.lease_until),
                (MailState::Sent, 1, Some(sent_at), None),
                "row {i} is marked like mark_sent marks it"
            );
        } else {
            assert_eq!(
                (row.state, row.attempts, row.lease_until),
                (MailState::Pending, 0, Some(now.plus(LEASE))),
                "row {i} was not named and keeps its lease"
            );
        }
    }

    let unknown = MailId::parse("missing").expect("id");
    let rest = vec![mails[3].id.clone(), unknown, mails[4].id.clone()];
    assert!(matches!(
        store.outbox.mark_all_sent(&rest, sent_at).await,
        Err(Error::NotFound(_))
    ));
    for mail in &mails[3..] {
        let row = store
            .outbox
            .mail(&mail.id)
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(
            (row.state, row.attempts),
            (MailState::Sent, 1),
            "a known id is marked even beside an unknown one"
        );
    }
    assert!(
        store
            .outbox
            .claim_due(now.plus(Duration::from_secs(86_400)), LEASE, 10)
            .await
            .expect("claim")
            .is_empty(),
        "no sent row is claimed again"
    );
}
