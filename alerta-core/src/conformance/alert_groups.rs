//! Checks of grouping in [`AlertStore::insert`](crate::ports::AlertStore::insert): occurrences
//! of one fingerprint fold into one group, a resolved group reopens, racing writers open one
//! group, and folds race acknowledgements fairly.

use futures::future::join_all;

use super::stream::read_all;
use super::{Fixtures, conflict_kind};
use crate::ConflictKind;
use crate::domain::{
    Alert, AlertAction, AlertDraft, AlertFilter, AlertId, AlertMessage, AlertSource, AlertStatus,
    Channel, Fingerprint, Grouping, Limit, PageRequest, Severity, StreamKind,
};
use crate::ports::{AlertWrite, GroupedAlert, Inserted, Storage};

/// How many writers store the same fingerprint at once, and how many occurrences each.
const WRITERS: usize = 8;
const OCCURRENCES_EACH: usize = 12;

/// `count` occurrences of one alert of `source`, arriving now, with one mail row: what a
/// group commit writes for them.
fn occurrences(f: &Fixtures, source: &str, count: u64, fingerprint: Option<&str>) -> AlertWrite {
    let draft = AlertDraft {
        source: AlertSource::parse(source).expect("source"),
        severity: Severity::Critical,
        message: AlertMessage::parse("disco lleno").expect("message"),
        channel: Channel::Tcp,
        fingerprint: None,
    }
    .with_fingerprint(fingerprint)
    .expect("fingerprint");
    let at = f.tick();
    let alert = Alert::open(AlertId::parse(&f.id()).expect("id"), draft, at, count);
    let mail = f.mail("ops@campus.edu", source, at);
    AlertWrite {
        alert,
        mails: vec![mail],
    }
}

/// Inserts the batch and checks that the messages the store returns, which the service
/// broadcasts, are those its log holds at the positions it took: live and replayed clients
/// see the same thing.
async fn insert(store: &Storage, batch: Vec<AlertWrite>) -> Inserted {
    let inserted = store.alerts.insert(batch).await.expect("insert");
    let appended = inserted.appended;
    let count = usize::try_from(appended.count).expect("count");
    assert_eq!(
        inserted.messages.len(),
        count,
        "one message per position taken"
    );
    if count == 0 {
        return inserted;
    }
    let logged: Vec<_> = store
        .stream
        .read(appended.first - 1, count)
        .await
        .expect("reading the log")
        .into_iter()
        .map(|entry| (entry.position, entry.message))
        .collect();
    let returned: Vec<_> = (appended.first..)
        .zip(inserted.messages.iter().cloned())
        .collect();
    assert_eq!(
        logged, returned,
        "the messages returned are the ones appended, at their positions"
    );
    inserted
}

async fn read(store: &Storage, id: &AlertId) -> Alert {
    store
        .alerts
        .alert(id)
        .await
        .expect("alert")
        .expect("the group is stored")
}

async fn mail_rows(store: &Storage) -> usize {
    store
        .outbox
        .mails(None, &PageRequest::first(Limit::MAX).expect("limit"))
        .await
        .expect("mails")
        .items
        .len()
}

async fn all_groups(store: &Storage) -> Vec<Alert> {
    store
        .alerts
        .search(
            &AlertFilter::default(),
            &PageRequest::first(Limit::MAX).expect("limit"),
        )
        .await
        .expect("search")
        .items
}

pub(super) async fn occurrences_fold_into_their_group(store: &Storage) {
    let f = Fixtures::new();
    let first = occurrences(&f, "ups_3", 2, None);
    let opened = insert(store, vec![first.clone()]).await;
    assert_eq!(opened.groups.len(), 1);
    let group = &opened.groups[0];
    assert_eq!(group.grouping, Grouping::Opened);
    assert_eq!(group.alert, first.alert, "a new group is the write's alert");
    assert_eq!(read(store, &first.alert.id).await, first.alert);

    // Two writes of the same fingerprint in one batch, and one of another.
    let again = occurrences(&f, "ups_3", 3, None);
    let other = occurrences(&f, "ups_4", 1, None);
    let last = occurrences(&f, "ups_3", 1, None);
    let head = store.stream.head().await.expect("head").head;
    let batch = vec![again.clone(), other.clone(), last.clone()];
    let stored = insert(store, batch).await;
    let groupings: Vec<&Grouping> = stored.groups.iter().map(|g| &g.grouping).collect();
    assert_eq!(
        groupings,
        [&Grouping::Folded, &Grouping::Opened, &Grouping::Folded]
    );
    let folded = read(store, &first.alert.id).await;
    assert_eq!(
        stored.groups[2].alert, folded,
        "the store returns the group as the batch left it"
    );
    assert_eq!(folded.count(), 6, "2 + 3 + 1 occurrences");
    assert_eq!(folded.first_seen(), first.alert.created_at);
    assert_eq!(folded.last_seen(), last.alert.created_at);
    assert_eq!(folded.version(), 3, "one version per fold");
    assert_eq!(folded.status(), AlertStatus::Firing);
    assert_eq!(
        (&folded.source, folded.severity, &folded.message),
        (
            &first.alert.source,
            first.alert.severity,
            &first.alert.message
        )
    );
    assert_eq!(
        store.alerts.alert(&again.alert.id).await.expect("alert"),
        None,
        "a fold stores no alert of its own"
    );
    assert_eq!(
        all_groups(store).await,
        vec![stored.groups[1].alert.clone(), folded.clone()],
        "lists show one row per group, newest group first"
    );
    assert_eq!(
        mail_rows(store).await,
        2,
        "mail for each new group only, none for the folds"
    );
    for write in [&again, &last] {
        assert_eq!(
            store.outbox.mail(&write.mails[0].id).await.expect("mail"),
            None
        );
    }
    let log = read_all(store, head, 10).await;
    assert_eq!(
        log.iter().map(|e| e.message.clone()).collect::<Vec<_>>(),
        stored
            .groups
            .iter()
            .map(GroupedAlert::stream_message)
            .collect::<Vec<_>>(),
        "one message per write, in batch order"
    );
    assert_eq!(
        log.iter().map(|e| e.message.kind).collect::<Vec<_>>(),
        [
            StreamKind::AlertRepeated,
            StreamKind::Alert,
            StreamKind::AlertRepeated
        ]
    );
    assert_eq!(log[2].message.data["count"], 6);

    let page = store
        .alerts
        .occurrences(&first.alert.id, &PageRequest::first(2).expect("limit"))
        .await
        .expect("occurrences");
    let times: Vec<_> = page.items.iter().map(|o| (o.at, o.count)).collect();
    assert_eq!(
        times,
        [(last.alert.created_at, 1), (again.alert.created_at, 3)],
        "newest first"
    );
    let cursor = page.next_cursor.expect("a second page");
    let rest = store
        .alerts
        .occurrences(
            &first.alert.id,
            &PageRequest::after(Limit::new(2).expect("limit"), cursor),
        )
        .await
        .expect("occurrences");
    assert_eq!(
        rest.items
            .iter()
            .map(|o| (o.at, o.count))
            .collect::<Vec<_>>(),
        [(first.alert.created_at, 2)]
    );
    assert_eq!(rest.next_cursor, None);
    assert!(
        store
            .alerts
            .occurrences(&again.alert.id, &PageRequest::default())
            .await
            .expect("occurrences")
            .items
            .is_empty(),
        "a write that folded is no group"
    );

    // An explicit fingerprint groups what the default one would not.
    let a = occurrences(&f, "db_1", 1, Some("disk-full/db"));
    let b = occurrences(&f, "db_2", 1, Some("disk-full/db"));
    insert(store, vec![a.clone()]).await;
    let joined = insert(store, vec![b]).await;
    assert_eq!(joined.groups[0].grouping, Grouping::Folded);
    assert_eq!(joined.groups[0].alert.id, a.alert.id);
    assert_eq!(joined.groups[0].alert.source.as_str(), "db_1");

    // A write whose id is stored (here as occurrences) is a duplicate, and stores nothing.
    let before = read(store, &first.alert.id).await;
    let fresh = occurrences(&f, "nuevo", 1, None);
    let clash = vec![fresh.clone(), last.clone()];
    assert_eq!(
        conflict_kind(store.alerts.insert(clash).await),
        ConflictKind::Duplicate
    );
    assert_eq!(read(store, &first.alert.id).await, before);
    assert_eq!(
        store.alerts.alert(&fresh.alert.id).await.expect("alert"),
        None
    );
}

pub(super) async fn a_resolved_group_reopens(store: &Storage) {
    let f = Fixtures::new();
    let first = occurrences(&f, "ups_3", 1, None);
    insert(store, vec![first.clone()]).await;
    let ack = f.transition(&first.alert, AlertAction::Acknowledge { note: None });
    store.alerts.transition(ack.clone()).await.expect("ack");
    let folded = insert(store, vec![occurrences(&f, "ups_3", 1, None)]).await;
    assert_eq!(folded.groups[0].grouping, Grouping::Folded);
    assert_eq!(
        folded.groups[0].alert.status(),
        AlertStatus::Acknowledged,
        "a fold leaves the status"
    );
    let resolve = f.transition(&folded.groups[0].alert, AlertAction::Resolve { note: None });
    store
        .alerts
        .transition(resolve.clone())
        .await
        .expect("resolve");
    let mails_before = mail_rows(store).await;
    let head = store.stream.head().await.expect("head").head;

    let recurring = occurrences(&f, "ups_3", 2, None);
    let reopened = insert(store, vec![recurring.clone()]).await;
    let group = read(store, &first.alert.id).await;
    let Grouping::Reopened(event) = &reopened.groups[0].grouping else {
        panic!(
            "a resolved group reopens: {:?}",
            reopened.groups[0].grouping
        );
    };
    assert_eq!(reopened.groups[0].alert, group);
    assert_eq!(
        (group.status(), group.version(), group.count()),
        (AlertStatus::Firing, 5, 4)
    );
    assert_eq!(
        (event.from, event.to, event.actor.as_str()),
        (AlertStatus::Resolved, AlertStatus::Firing, "ingest")
    );
    assert_eq!(
        store
            .alerts
            .history(&first.alert.id)
            .await
            .expect("history"),
        vec![ack.event, resolve.event, event.clone()],
        "the reopening is in the history"
    );
    assert_eq!(
        mail_rows(store).await,
        mails_before + 1,
        "a reopened group is mailed again"
    );
    assert!(
        store
            .outbox
            .mail(&recurring.mails[0].id)
            .await
            .expect("mail")
            .is_some()
    );
    let log = read_all(store, head, 10).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].message.kind, StreamKind::Alert);
    assert_eq!(log[0].message.data["status"], "firing");
    assert_eq!(all_groups(store).await, vec![group]);
}

pub(super) async fn racing_writers_open_one_group(store: &Storage) {
    let f = Fixtures::new();
    let writers = (0..WRITERS).map(|_| async {
        let mut groups = Vec::new();
        for _ in 0..OCCURRENCES_EACH {
            let stored = insert(store, vec![occurrences(&f, "flapping", 1, None)]).await;
            groups.push(stored.groups[0].clone());
        }
        groups
    });
    let results: Vec<GroupedAlert> = join_all(writers).await.into_iter().flatten().collect();
    let opened: Vec<&GroupedAlert> = results
        .iter()
        .filter(|g| g.grouping == Grouping::Opened)
        .collect();
    assert_eq!(opened.len(), 1, "exactly one writer opens the group");
    let id = &opened[0].alert.id;
    assert!(
        results.iter().all(|g| &g.alert.id == id),
        "every write went to it"
    );
    let total = (WRITERS * OCCURRENCES_EACH) as u64;
    let groups = all_groups(store).await;
    assert_eq!(groups.len(), 1, "one group: {groups:?}");
    assert_eq!(groups[0].count(), total);
    assert_eq!(groups[0].version(), total, "one version per fold");
    assert_eq!(
        mail_rows(store).await,
        1,
        "one mail for the whole flapping source"
    );
    assert_eq!(store.alerts.counts().await.expect("counts").total, 1);
    let mut stored = 0;
    let mut page = PageRequest::first(Limit::MAX).expect("limit");
    loop {
        let occurrences = store
            .alerts
            .occurrences(id, &page)
            .await
            .expect("occurrences");
        stored += occurrences.items.iter().map(|o| o.count).sum::<u64>();
        match occurrences.next_cursor {
            Some(cursor) => page = PageRequest::after(page.limit, cursor),
            None => break,
        }
    }
    assert_eq!(stored, total, "every occurrence's time is kept");
    assert_eq!(
        store.stream.head().await.expect("head").head,
        total,
        "one message per write"
    );
}

pub(super) async fn folds_race_acknowledgements(store: &Storage) {
    let f = Fixtures::new();
    for round in 0..5 {
        let source = format!("sensor_{round}");
        let first = occurrences(&f, &source, 1, None);
        insert(store, vec![first.clone()]).await;
        // An acknowledgement made against version 1 races a fold.
        let ack = f.transition(&first.alert, AlertAction::Acknowledge { note: None });
        let fold = occurrences(&f, &source, 1, None);
        let (acked, folded) = futures::join!(
            store.alerts.transition(ack.clone()),
            store.alerts.insert(vec![fold])
        );
        let folded = folded.expect("a fold never fails for a racing acknowledgement");
        let group = read(store, &first.alert.id).await;
        assert_eq!(group.count(), 2, "round {round}");
        match acked {
            Ok(_) => {
                // The acknowledgement won; the fold applied on top of it.
                assert_eq!(folded.groups[0].alert.status(), AlertStatus::Acknowledged);
                assert_eq!(
                    (group.status(), group.version()),
                    (AlertStatus::Acknowledged, 3)
                );
                assert_eq!(
                    store
                        .alerts
                        .history(&first.alert.id)
                        .await
                        .expect("history"),
                    vec![ack.event]
                );
            }
            Err(error) => {
                // The fold won: the acknowledgement was stale, and is made again.
                assert_eq!(error.conflict_kind(), Some(ConflictKind::StaleVersion));
                assert_eq!((group.status(), group.version()), (AlertStatus::Firing, 2));
                assert!(
                    store
                        .alerts
                        .history(&first.alert.id)
                        .await
                        .expect("history")
                        .is_empty()
                );
                let retry = f.transition(&group, AlertAction::Acknowledge { note: None });
                store
                    .alerts
                    .transition(retry)
                    .await
                    .expect("the retry wins");
                let group = read(store, &first.alert.id).await;
                assert_eq!(
                    (group.status(), group.version(), group.count()),
                    (AlertStatus::Acknowledged, 3, 2)
                );
            }
        }
    }

    // Many folds against acknowledgements that retry until they land: every occurrence is
    // counted and the group ends acknowledged, with one history event.
    let first = occurrences(&f, "busy", 1, None);
    insert(store, vec![first.clone()]).await;
    let folds = (0..4).map(|_| async {
        for _ in 0..10 {
            insert(store, vec![occurrences(&f, "busy", 1, None)]).await;
        }
    });
    let acknowledge = async {
        let mut lost = 0;
        loop {
            let current = read(store, &first.alert.id).await;
            let ack = f.transition(&current, AlertAction::Acknowledge { note: None });
            match store.alerts.transition(ack).await {
                Ok(_) => return lost,
                Err(e) if e.conflict_kind() == Some(ConflictKind::StaleVersion) => lost += 1,
                Err(e) => panic!("acknowledging: {e}"),
            }
        }
    };
    let (_, _lost) = futures::join!(join_all(folds), acknowledge);
    let group = read(store, &first.alert.id).await;
    assert_eq!(group.count(), 41);
    assert_eq!(group.status(), AlertStatus::Acknowledged);
    assert_eq!(group.version(), 42, "40 folds and one acknowledgement");
    assert_eq!(
        store
            .alerts
            .history(&first.alert.id)
            .await
            .expect("history")
            .len(),
        1
    );
}

/// [`AlertStore::group_of`](crate::ports::AlertStore::group_of) finds the group every write
/// of a fingerprint joins, as stored now, through folds, transitions and a reopening, for a
/// sender's fingerprint and for the default one; and, while writers race to open a
/// fingerprint, it only ever shows the one group they all end in.
pub(super) async fn group_of_finds_a_fingerprints_group(store: &Storage) {
    let f = Fixtures::new();
    let given = Fingerprint::parse("rack-7/ups").expect("fingerprint");
    assert_eq!(
        store.alerts.group_of(&given).await.expect("group_of"),
        None,
        "no group before the first write"
    );
    let first = occurrences(&f, "ups_3", 1, Some(given.as_str()));
    insert(store, vec![first.clone()]).await;
    let found = |fingerprint: Fingerprint| async move {
        store
            .alerts
            .group_of(&fingerprint)
            .await
            .expect("group_of")
            .expect("a group")
    };
    assert_eq!(found(given.clone()).await, first.alert);

    // A write of another source with the same fingerprint folds into it.
    let folded = insert(store, vec![occurrences(&f, "ups_4", 2, Some("rack-7/ups"))]).await;
    assert_eq!(found(given.clone()).await, folded.groups[0].alert);
    assert_eq!(found(given.clone()).await.count(), 3);

    // A default fingerprint, and one nobody sent.
    let plain = occurrences(&f, "ups_5", 1, None);
    insert(store, vec![plain.clone()]).await;
    assert_eq!(found(plain.alert.fingerprint()).await, plain.alert);
    let unknown = Fingerprint::parse("rack-8/ups").expect("fingerprint");
    assert_eq!(
        store.alerts.group_of(&unknown).await.expect("group_of"),
        None
    );

    // Transitions show at once; a reopening keeps the group.
    let resolve = f.transition(&folded.groups[0].alert, AlertAction::Resolve { note: None });
    store.alerts.transition(resolve).await.expect("resolve");
    let resolved = found(given.clone()).await;
    assert_eq!(
        (&resolved.id, resolved.status()),
        (&first.alert.id, AlertStatus::Resolved)
    );
    insert(store, vec![occurrences(&f, "ups_3", 1, Some("rack-7/ups"))]).await;
    let reopened = found(given.clone()).await;
    assert_eq!(
        (&reopened.id, reopened.status(), reopened.count()),
        (&first.alert.id, AlertStatus::Firing, 4)
    );
    assert_eq!(reopened, read(store, &first.alert.id).await);

    // Readers racing the writers that open a fingerprint see nothing or the one group.
    let racing = Fingerprint::parse("racing").expect("fingerprint");
    let writers = (0..WRITERS).map(|_| async {
        let mut seen = Vec::new();
        for _ in 0..OCCURRENCES_EACH {
            insert(store, vec![occurrences(&f, "flapping", 1, Some("racing"))]).await;
            seen.push(store.alerts.group_of(&racing).await.expect("group_of"));
        }
        seen
    });
    let seen: Vec<Option<Alert>> = join_all(writers).await.into_iter().flatten().collect();
    let group = found(racing.clone()).await;
    assert_eq!(group.count(), (WRITERS * OCCURRENCES_EACH) as u64);
    assert!(
        seen.iter()
            .all(|g| g.as_ref().is_some_and(|g| g.id == group.id)),
        "after its own write, every writer finds the one group"
    );
}
