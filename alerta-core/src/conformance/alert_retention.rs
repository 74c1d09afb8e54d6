//! Checks of [`AlertStore::remove_resolved`](crate::ports::AlertStore::remove_resolved): old
//! resolved groups go with everything stored for them, others stay, the limit holds, and a
//! removal racing occurrences of the same fingerprint loses nothing.

use std::collections::BTreeSet;

use futures::future::join_all;

use super::Fixtures;
use crate::domain::{
    Alert, AlertAction, AlertDraft, AlertFilter, AlertId, AlertMessage, AlertSource, AlertStatus,
    Channel, Fingerprint, Grouping, Limit, PageRequest, Severity, Timestamp,
};
use crate::ports::{AlertWrite, Inserted, Storage};

/// How many rounds a removal races writers, how many writers, and how many writes each.
const ROUNDS: usize = 24;
const WRITERS: usize = 4;
const WRITES_EACH: usize = 2;

/// One write of `count` occurrences of `source`'s alert, arriving now, with one mail row.
fn occurrences(f: &Fixtures, source: &str, count: u64) -> AlertWrite {
    let draft = AlertDraft {
        source: AlertSource::parse(source).expect("source"),
        severity: Severity::Critical,
        message: AlertMessage::parse("sin respuesta").expect("message"),
        channel: Channel::Tcp,
        fingerprint: None,
    };
    let at = f.tick();
    let alert = Alert::open(AlertId::parse(&f.id()).expect("id"), draft, at, count);
    let mail = f.mail("ops@campus.edu", source, at);
    AlertWrite {
        alert,
        mails: vec![mail],
    }
}

async fn insert(store: &Storage, write: AlertWrite) -> Inserted {
    store.alerts.insert(vec![write]).await.expect("insert")
}

/// A group of `source` opened and folded into once, then moved by `actions` in turn: the
/// group as it stands.
async fn group(store: &Storage, f: &Fixtures, source: &str, actions: &[AlertAction]) -> Alert {
    let opened = insert(store, occurrences(f, source, 1)).await;
    let mut alert = insert(store, occurrences(f, source, 2)).await.groups[0]
        .alert
        .clone();
    assert_eq!(
        alert.id, opened.groups[0].alert.id,
        "the second write folds"
    );
    for action in actions {
        let change = f.transition(&alert, action.clone());
        store
            .alerts
            .transition(change.clone())
            .await
            .expect("transition");
        alert = change.alert;
    }
    alert
}

fn resolve() -> AlertAction {
    AlertAction::Resolve { note: None }
}

fn acknowledge() -> AlertAction {
    AlertAction::Acknowledge { note: None }
}

async fn occurrence_ids(store: &Storage, id: &AlertId) -> BTreeSet<AlertId> {
    let mut ids = BTreeSet::new();
    let mut page = PageRequest::first(Limit::MAX).expect("limit");
    loop {
        let listed = store
            .alerts
            .occurrences(id, &page)
            .await
            .expect("occurrences");
        ids.extend(listed.items.into_iter().map(|o| o.id));
        match listed.next_cursor {
            Some(cursor) => page = PageRequest::after(page.limit, cursor),
            None => return ids,
        }
    }
}

async fn listed(store: &Storage) -> BTreeSet<AlertId> {
    super::alerts::all_pages(store, &AlertFilter::default(), 100)
        .await
        .into_iter()
        .map(|a| a.id)
        .collect()
}

/// Asserts that nothing of the group `id` of `fingerprint` is stored any more.
async fn assert_gone(store: &Storage, id: &AlertId, fingerprint: &Fingerprint) {
    assert_eq!(
        store.alerts.alert(id).await.expect("alert"),
        None,
        "{id} is gone"
    );
    assert!(
        store.alerts.history(id).await.expect("history").is_empty(),
        "the history of {id} is gone"
    );
    assert!(
        occurrence_ids(store, id).await.is_empty(),
        "the occurrences of {id} are gone"
    );
    assert_eq!(
        store.alerts.group_of(fingerprint).await.expect("group_of"),
        None,
        "the fingerprint of {id} points nowhere"
    );
}

pub(super) async fn only_old_resolved_unlinked_groups_go(store: &Storage) {
    let f = Fixtures::new();
    let old = group(store, &f, "ups_1", &[acknowledge(), resolve()]).await;
    let older = group(store, &f, "ups_2", &[resolve()]).await;
    let firing = group(store, &f, "ups_3", &[]).await;
    let acknowledged = group(store, &f, "ups_4", &[acknowledge()]).await;
    let linked = group(store, &f, "ups_5", &[resolve()]).await;
    let reporter = f.user();
    let incident = f.incident_from_alert(&reporter, &linked.id, "sin respuesta");
    store
        .incidents
        .commit(f.creation(&incident))
        .await
        .expect("an incident from the alert");
    let cutoff = f.tick();
    let recent = group(store, &f, "ups_6", &[resolve()]).await;
    let old_history = store.alerts.history(&old.id).await.expect("history");
    assert_eq!(old_history.len(), 2);
    assert_eq!(occurrence_ids(store, &old.id).await.len(), 2);
    let counts = store.alerts.counts().await.expect("counts");
    let head = store.stream.head().await.expect("head").head;

    // One at a time: the limit holds.
    assert_eq!(
        store
            .alerts
            .remove_resolved(cutoff, 1)
            .await
            .expect("remove"),
        1,
        "a limit of one removes one"
    );
    assert_eq!(
        store
            .alerts
            .remove_resolved(cutoff, 10)
            .await
            .expect("remove"),
        1,
        "the other old resolved group"
    );
    assert_eq!(
        store
            .alerts
            .remove_resolved(cutoff, 10)
            .await
            .expect("remove"),
        0,
        "nothing else is old, resolved and unlinked"
    );
    for gone in [&old, &older] {
        assert_gone(store, &gone.id, &gone.fingerprint()).await;
    }
    for kept in [&firing, &acknowledged, &linked, &recent] {
        let stored = store
            .alerts
            .alert(&kept.id)
            .await
            .expect("alert")
            .unwrap_or_else(|| panic!("{} stays", kept.source.as_str()));
        assert_eq!(&stored, kept, "{} is unchanged", kept.source.as_str());
        assert_eq!(occurrence_ids(store, &kept.id).await.len(), 2);
        assert_eq!(
            store
                .alerts
                .group_of(&kept.fingerprint())
                .await
                .expect("group_of")
                .map(|a| a.id),
            Some(kept.id.clone())
        );
    }
    assert_eq!(
        store
            .alerts
            .history(&linked.id)
            .await
            .expect("history")
            .len(),
        1,
        "a kept group keeps its history"
    );
    assert_eq!(
        listed(store).await,
        [&firing, &acknowledged, &linked, &recent]
            .into_iter()
            .map(|a| a.id.clone())
            .collect(),
        "lists show only what stays"
    );
    let after = store.alerts.counts().await.expect("counts");
    assert_eq!(after.total, counts.total - 2, "counts follow the removals");
    assert_eq!(
        after.by_severity.get("critical").copied(),
        counts.by_severity.get("critical").map(|n| n - 2)
    );
    assert_eq!(
        store.stream.head().await.expect("head").head,
        head,
        "the stream log is not touched"
    );

    // The fingerprint's next occurrence opens a new group, mailed as a new one.
    let again = occurrences(&f, "ups_1", 3);
    let mail = again.mails[0].id.clone();
    let stored = insert(store, again.clone()).await;
    assert_eq!(stored.groups[0].grouping, Grouping::Opened);
    assert_eq!(stored.groups[0].alert, again.alert, "a fresh group");
    assert_ne!(stored.groups[0].alert.id, old.id);
    assert!(
        store.outbox.mail(&mail).await.expect("mail").is_some(),
        "a new group is mailed"
    );
    assert_eq!(
        store
            .alerts
            .group_of(&old.fingerprint())
            .await
            .expect("group_of")
            .map(|a| a.id),
        Some(again.alert.id.clone())
    );
    assert!(
        store
            .alerts
            .history(&again.alert.id)
            .await
            .expect("history")
            .is_empty()
    );
    assert_eq!(
        occurrence_ids(store, &again.alert.id).await,
        BTreeSet::from([again.alert.id.clone()])
    );
}

pub(super) async fn a_group_with_many_occurrences_goes_whole(store: &Storage) {
    let f = Fixtures::new();
    let first = occurrences(&f, "marea", 1);
    insert(store, first.clone()).await;
    // More occurrences than one DynamoDB transaction holds, in batches the store takes.
    let batch = store.limits.max_alert_batch.clamp(1, 25);
    let mut writes = 1;
    while writes < 160 {
        let next: Vec<AlertWrite> = (0..batch).map(|_| occurrences(&f, "marea", 1)).collect();
        writes += next.len();
        store.alerts.insert(next).await.expect("insert");
    }
    let group = store
        .alerts
        .alert(&first.alert.id)
        .await
        .expect("alert")
        .expect("the group");
    assert_eq!(group.count(), writes as u64);
    let change = f.transition(&group, resolve());
    store.alerts.transition(change).await.expect("resolve");
    let cutoff = f.tick();
    assert_eq!(
        store
            .alerts
            .remove_resolved(cutoff, 10)
            .await
            .expect("remove"),
        1
    );
    assert_gone(store, &group.id, &group.fingerprint()).await;
    assert_eq!(
        store
            .alerts
            .remove_resolved(cutoff, 10)
            .await
            .expect("remove"),
        0,
        "nothing is left for the next call"
    );
}

pub(super) async fn concurrent_removals_share_the_work(store: &Storage) {
    let f = Fixtures::new();
    let mut groups = Vec::new();
    for n in 0..10 {
        groups.push(group(store, &f, &format!("nodo_{n}"), &[resolve()]).await);
    }
    let cutoff = f.tick();
    let removals = (0..4).map(|_| async {
        let mut removed = 0;
        loop {
            let taken = store
                .alerts
                .remove_resolved(cutoff, 3)
                .await
                .expect("remove");
            removed += taken;
            if taken < 3 {
                return removed;
            }
        }
    });
    let removed: usize = join_all(removals).await.into_iter().sum();
    assert_eq!(removed, groups.len(), "each group is counted once");
    for gone in &groups {
        assert_gone(store, &gone.id, &gone.fingerprint()).await;
    }
}

pub(super) async fn a_removal_racing_an_incident_leaves_no_dangling_link(store: &Storage) {
    let f = Fixtures::new();
    // After the removal, an incident from the alert is refused.
    let gone = group(store, &f, "enlace", &[resolve()]).await;
    let cutoff = f.tick();
    assert_eq!(
        store
            .alerts
            .remove_resolved(cutoff, 10)
            .await
            .expect("remove"),
        1
    );
    let late = f.incident_from_alert(&f.user(), &gone.id, "Caída del enlace");
    let refused = store.incidents.commit(f.creation(&late)).await;
    assert!(
        matches!(refused, Err(crate::Error::NotFound("alert"))),
        "{refused:?}"
    );
    assert_eq!(
        store.incidents.incident(late.id()).await.expect("get"),
        None
    );

    // Racing: whichever commits first decides, and the other leaves nothing.
    for round in 0..ROUNDS {
        let resolved = group(store, &f, &format!("enlace_{round}"), &[resolve()]).await;
        let cutoff = Timestamp::from_unix_millis(f.tick().unix_millis() + 3_600_000);
        let incident = f.incident_from_alert(&f.user(), &resolved.id, "Caída del enlace");
        let removal = async {
            store
                .alerts
                .remove_resolved(cutoff, 10)
                .await
                .expect("remove")
        };
        // As for the occurrences below: the incident comes at different steps of the removal.
        let stagger = round / 2 % 6;
        let opening = async {
            for _ in 0..stagger {
                store.alerts.alert(&resolved.id).await.expect("alert");
            }
            store.incidents.commit(f.creation(&incident)).await
        };
        let (removed, opened) = if round % 2 == 0 {
            futures::join!(removal, opening)
        } else {
            let (opened, removed) = futures::join!(opening, removal);
            (removed, opened)
        };
        let stored = store.alerts.alert(&resolved.id).await.expect("alert");
        let link = store
            .incidents
            .incident_for_alert(&resolved.id)
            .await
            .expect("link");
        match (removed, opened) {
            (0, Ok(_)) => {
                assert_eq!(stored.as_ref(), Some(&resolved), "round {round}: it stays");
                assert_eq!(link.as_ref(), Some(incident.id()));
            }
            (1, Err(crate::Error::NotFound("alert"))) => {
                assert_eq!(stored, None, "round {round}: it is gone");
                assert_eq!(link, None, "round {round}: no incident names it");
                assert_eq!(
                    store.incidents.incident(incident.id()).await.expect("get"),
                    None
                );
            }
            other => panic!("round {round}: {other:?}"),
        }
        // Fire the fingerprint again, so the next round's removal finds only its own group.
        insert(store, occurrences(&f, &format!("enlace_{round}"), 1)).await;
    }
}

pub(super) async fn a_removal_racing_occurrences_loses_nothing(store: &Storage) {
    let f = Fixtures::new();
    for round in 0..ROUNDS {
        let source = format!("flapping_{round}");
        let resolved = group(store, &f, &source, &[resolve()]).await;
        let fingerprint = resolved.fingerprint();
        let before_writes = occurrence_ids(store, &resolved.id).await;
        // Every group of the round is older than this, reopened or not.
        let cutoff = Timestamp::from_unix_millis(f.tick().unix_millis() + 3_600_000);
        // Writers start after a few reads of their own, more from round to round, so that
        // their writes land at different steps of the removal on every store.
        let stagger = round / 2 % 6;
        let writers = (0..WRITERS).map(|_| async {
            for _ in 0..stagger {
                store.alerts.group_of(&fingerprint).await.expect("group_of");
            }
            let mut written = Vec::new();
            for _ in 0..WRITES_EACH {
                let write = occurrences(&f, &source, 1);
                let stored = insert(store, write.clone()).await;
                written.push((write.alert.id, stored.groups[0].clone()));
            }
            written
        });
        let removal = async {
            store
                .alerts
                .remove_resolved(cutoff, 10)
                .await
                .expect("remove")
        };
        // Alternate which starts first, so that both outcomes can come up.
        let (removed, written) = if round % 2 == 0 {
            futures::join!(removal, join_all(writers))
        } else {
            let (written, removed) = futures::join!(join_all(writers), removal);
            (removed, written)
        };
        let written: Vec<_> = written.into_iter().flatten().collect();
        let write_ids: BTreeSet<AlertId> = written.iter().map(|(id, _)| id.clone()).collect();
        let current = store
            .alerts
            .group_of(&fingerprint)
            .await
            .expect("group_of")
            .expect("the fingerprint has a group after the writes");
        assert_eq!(current.status(), AlertStatus::Firing, "round {round}");
        for (_, result) in &written {
            assert_eq!(
                result.alert.id, current.id,
                "round {round}: every write went to the group that stays"
            );
        }
        let held = occurrence_ids(store, &current.id).await;
        match removed {
            0 => {
                assert_eq!(current.id, resolved.id, "round {round}: the group stays");
                let every: BTreeSet<AlertId> =
                    before_writes.iter().chain(&write_ids).cloned().collect();
                assert_eq!(held, every, "round {round}: it holds every occurrence");
                assert_eq!(current.count(), 3 + write_ids.len() as u64);
            }
            1 => {
                assert_ne!(current.id, resolved.id, "round {round}: a new group");
                assert_eq!(
                    store.alerts.alert(&resolved.id).await.expect("alert"),
                    None,
                    "round {round}: the old group is gone"
                );
                assert!(
                    store
                        .alerts
                        .history(&resolved.id)
                        .await
                        .expect("history")
                        .is_empty(),
                    "round {round}: no orphaned history"
                );
                assert!(
                    occurrence_ids(store, &resolved.id).await.is_empty(),
                    "round {round}: no orphaned occurrences"
                );
                assert_eq!(
                    held, write_ids,
                    "round {round}: the new group holds them all"
                );
                assert_eq!(current.count(), write_ids.len() as u64);
            }
            n => panic!("round {round}: one group removed {n} times"),
        }
        // Close the round so the next round's removal has only its own group to find.
        let change = f.transition(&current, acknowledge());
        store.alerts.transition(change).await.expect("acknowledge");
    }
}
