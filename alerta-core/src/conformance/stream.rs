//! Checks of [`StreamLog`](crate::ports::StreamLog) and of the positions the incident and
//! alert writes take in it.

use std::collections::HashMap;

use futures::future::join_all;

use super::Fixtures;
use crate::domain::{
    Appended, Channel, CommentText, IncidentAction, Position, Severity, StreamEntry, StreamMessage,
    Timestamp, Urgency,
};
use crate::ports::{AlertWrite, IncidentChange, Storage};
use crate::{ConflictKind, Error};

/// Every entry after `after`, read in pages of `page`.
pub(super) async fn read_all(store: &Storage, after: Position, page: usize) -> Vec<StreamEntry> {
    let mut out: Vec<StreamEntry> = Vec::new();
    let mut cursor = after;
    for _ in 0..100_000 {
        let entries = store
            .stream
            .read(cursor, page)
            .await
            .expect("reading the log");
        assert!(
            entries.len() <= page,
            "a read returns at most `limit` entries"
        );
        let Some(last) = entries.last() else {
            return out;
        };
        cursor = last.position;
        let short = entries.len() < page;
        out.extend(entries);
        if short {
            return out;
        }
    }
    panic!("reading the log never ended");
}

pub(super) async fn an_empty_log_starts_at_one(store: &Storage) {
    let head = store.stream.head().await.expect("head");
    assert_eq!(head.head, 0, "nothing written yet");
    assert_eq!(head.oldest, 1);
    assert!(store.stream.read(0, 10).await.expect("read").is_empty());
    let f = Fixtures::new();
    let alerts: Vec<AlertWrite> = (0..3)
        .map(|n| AlertWrite {
            alert: f.alert("s", Severity::Info, Channel::Http, &format!("m{n}")),
            mails: vec![],
        })
        .collect();
    let messages: Vec<StreamMessage> = alerts.iter().map(AlertWrite::stream_message).collect();
    let appended = store.alerts.insert(alerts).await.expect("insert").appended;
    assert_eq!(
        appended,
        Appended {
            epoch: head.epoch,
            first: 1,
            count: 3
        },
        "a batch takes consecutive positions from 1, in the log's epoch"
    );
    let entries = store.stream.read(0, 10).await.expect("read");
    let read: Vec<(Position, StreamMessage)> = entries
        .into_iter()
        .map(|e| (e.position, e.message))
        .collect();
    assert_eq!(
        read,
        messages
            .into_iter()
            .enumerate()
            .map(|(i, m)| (i as u64 + 1, m))
            .collect::<Vec<_>>(),
        "the log holds the messages as committed, in batch order"
    );
    let after = store.stream.head().await.expect("head");
    assert_eq!((after.epoch, after.head, after.oldest), (head.epoch, 3, 1));
}

/// The messages of an incident change keep the incident's reporter in the log (never on the
/// wire), so that a stream can send a student the messages about their own incidents.
pub(super) async fn incident_messages_keep_their_reporter(store: &Storage) {
    let f = Fixtures::new();
    let reporter = f.user();
    let incident = f.incident(&reporter, "seguridad", Urgency::High, "Puerta forzada");
    let change = f.creation(&incident);
    let written = change.stream_messages();
    let appended = store.incidents.commit(change).await.expect("commit");
    let read = store
        .stream
        .read(appended.first - 1, 10)
        .await
        .expect("read");
    let messages: Vec<StreamMessage> = read.into_iter().map(|e| e.message).collect();
    assert_eq!(messages, written, "the messages as committed");
    assert!(
        messages
            .iter()
            .all(|m| m.reporter.as_ref() == Some(&reporter)),
        "each names the reporter: {messages:?}"
    );
}

/// What one successful write appended.
struct Written {
    appended: Appended,
    messages: Vec<StreamMessage>,
}

pub(super) async fn concurrent_writers_leave_no_hole(store: &Storage) {
    let f = Fixtures::new();
    let epoch = store.stream.head().await.expect("head").epoch;
    let shared = f.incident(&f.user(), "seguridad", Urgency::High, "Puerta");
    let creation = f.creation(&shared);
    let created_messages = creation.stream_messages();
    let created = store.incidents.commit(creation).await.expect("create");
    let mut written = vec![Written {
        appended: created,
        messages: created_messages,
    }];

    const WRITERS: usize = 12;
    const ROUNDS: usize = 8;
    let writers = (0..WRITERS).map(|w| {
        let f = &f;
        let shared = &shared;
        async move {
            let mut mine: Vec<Written> = Vec::new();
            let mut refused = 0;
            for round in 0..ROUNDS {
                if (w + round) % 2 == 0 {
                    let batch: Vec<AlertWrite> = (0..1 + (w + round) % 4)
                        .map(|n| AlertWrite {
                            alert: f.alert(
                                "s",
                                Severity::Error,
                                Channel::Tcp,
                                &format!("{w}.{round}.{n}"),
                            ),
                            mails: vec![f.mail("ops@campus.edu", "x", f.tick())],
                        })
                        .collect();
                    let messages: Vec<StreamMessage> =
                        batch.iter().map(AlertWrite::stream_message).collect();
                    let duplicate = batch[0].clone();
                    let inserted = store.alerts.insert(batch).await.expect("insert");
                    assert_eq!(
                        inserted.messages, messages,
                        "the store returns the messages it appends"
                    );
                    mine.push(Written {
                        appended: inserted.appended,
                        messages,
                    });
                    // A refused write takes no position.
                    let again = store.alerts.insert(vec![duplicate]).await;
                    assert!(
                        matches!(
                            again,
                            Err(Error::Conflict {
                                kind: ConflictKind::Duplicate,
                                ..
                            })
                        ),
                        "a stored alert id is refused: {again:?}"
                    );
                } else {
                    // Every writer changes the same incident: most attempts lose the race.
                    let current = store
                        .incidents
                        .incident(shared.id())
                        .await
                        .expect("get")
                        .expect("exists");
                    let change: IncidentChange = f.update(
                        &current,
                        IncidentAction::Comment(
                            CommentText::parse(&format!("{w}.{round}")).expect("text"),
                        ),
                        vec![],
                    );
                    let messages = change.stream_messages();
                    match store.incidents.commit(change).await {
                        Ok(appended) => mine.push(Written { appended, messages }),
                        Err(Error::Conflict {
                            kind: ConflictKind::StaleVersion,
                            ..
                        }) => refused += 1,
                        Err(other) => panic!("a change failed: {other:?}"),
                    }
                }
            }
            (mine, refused)
        }
    });
    for (mine, _refused) in join_all(writers).await {
        written.extend(mine);
    }

    let total: u64 = written.iter().map(|w| w.appended.count).sum();
    let head = store.stream.head().await.expect("head");
    assert_eq!(head.epoch, epoch, "the epoch does not change");
    assert_eq!(
        head.head, total,
        "the head counts exactly the messages of the writes that succeeded"
    );
    let log = read_all(store, 0, 7).await;
    let positions: Vec<Position> = log.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "positions run from 1 to the head with no hole and no repeat"
    );
    let by_position: HashMap<Position, &StreamMessage> =
        log.iter().map(|e| (e.position, &e.message)).collect();
    for write in &written {
        assert_eq!(write.appended.epoch, epoch);
        assert_eq!(write.appended.count, write.messages.len() as u64);
        for (i, message) in write.messages.iter().enumerate() {
            assert_eq!(
                by_position[&(write.appended.first + i as u64)],
                message,
                "each write's messages are at the positions it was given"
            );
        }
    }
    // Commit order: the shared incident's versions grow with their positions.
    let versions: Vec<u64> = log
        .iter()
        .filter(|e| e.message.data["incident"]["incident_id"] == shared.id().as_str())
        // One message per audience of each change: follow the staff's.
        .filter(|e| e.message.audience == crate::domain::Audience::Staff)
        .map(|e| {
            e.message.data["incident"]["version"]
                .as_u64()
                .expect("a version")
        })
        .collect();
    assert!(
        versions.len() > 1,
        "some changes of the shared incident won"
    );
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "positions follow commit order: {versions:?}"
    );
    // From any position, exactly the later entries.
    for after in (0..=total).step_by(5) {
        let tail = read_all(store, after, 1_000).await;
        assert_eq!(
            tail.iter().map(|e| e.position).collect::<Vec<_>>(),
            (after + 1..=total).collect::<Vec<_>>(),
            "reading after {after}"
        );
    }
}

pub(super) async fn trimming_keeps_the_head_and_counting(store: &Storage) {
    let f = Fixtures::new();
    let mut times: Vec<Timestamp> = Vec::new();
    for n in 0..6 {
        let alert = f.alert("s", Severity::Info, Channel::Http, &format!("m{n}"));
        times.push(alert.created_at);
        store
            .alerts
            .insert(vec![AlertWrite {
                alert,
                mails: vec![],
            }])
            .await
            .expect("insert");
    }
    let before = store.stream.head().await.expect("head");
    let removed = store.stream.trim(times[2]).await.expect("trim");
    assert_eq!(removed, 2, "the entries older than the cut go");
    let head = store.stream.head().await.expect("head");
    assert_eq!((head.epoch, head.head, head.oldest), (before.epoch, 6, 3));
    assert_eq!(
        read_all(store, 0, 100).await.first().map(|e| e.position),
        Some(3),
        "a read from before the oldest starts at the oldest"
    );
    store
        .stream
        .trim(Timestamp::from_unix_millis(i64::MAX / 2))
        .await
        .expect("trim");
    let head = store.stream.head().await.expect("head");
    assert_eq!(
        (head.head, head.oldest),
        (6, 7),
        "the head stays when everything went"
    );
    assert!(read_all(store, 0, 100).await.is_empty());
    let appended = store
        .alerts
        .insert(vec![AlertWrite {
            alert: f.alert("s", Severity::Info, Channel::Http, "later"),
            mails: vec![],
        }])
        .await
        .expect("insert")
        .appended;
    assert_eq!(appended.first, 7, "positions go on from the head");
}
