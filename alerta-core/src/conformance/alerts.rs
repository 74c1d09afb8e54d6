//! Checks of [`AlertStore`](crate::ports::AlertStore).

use super::stream::read_all;
use super::{Fixtures, conflict_kind};
use crate::ConflictKind;
use crate::domain::{
    Alert, AlertCounts, AlertFilter, AlertSource, Channel, Limit, PageRequest, SearchText, Severity,
};
use crate::ports::{AlertWrite, Storage};

/// The most alerts a batch is checked atomic with, when the backend states no lower limit.
const ATOMIC_BATCH_CHECKED: usize = 50;

/// `count` alerts, each with one mail row, their sources starting with `prefix`.
fn mailed_alerts(f: &Fixtures, prefix: &str, count: usize) -> Vec<AlertWrite> {
    (0..count)
        .map(|n| {
            let alert = f.alert(
                &format!("{prefix}{n}"),
                Severity::Error,
                Channel::Tcp,
                "lleno",
            );
            let mail = f.mail("ops@campus.edu", &format!("{prefix}{n}"), alert.created_at);
            AlertWrite {
                alert,
                mails: vec![mail],
            }
        })
        .collect()
}

/// Every page of `filter`'s results, `limit` at a time, checking that only the last is short.
pub(super) async fn all_pages(store: &Storage, filter: &AlertFilter, limit: usize) -> Vec<Alert> {
    let mut request = PageRequest::first(limit).expect("limit");
    let mut out = Vec::new();
    loop {
        let page = store.alerts.search(filter, &request).await.expect("search");
        assert!(page.items.len() <= limit);
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), limit, "only the last page may be short");
        }
        out.extend(page.items);
        match page.next_cursor {
            Some(cursor) => request = PageRequest::after(request.limit, cursor),
            None => return out,
        }
    }
}

pub(super) async fn round_trip_and_mail(store: &Storage) {
    let f = Fixtures::new();
    let alert = f.alert(
        "sensor_01",
        Severity::Critical,
        Channel::Tcp,
        "Temperatura «alta»\nlínea 2",
    );
    let mail = f.mail(
        "ops@campus.edu",
        "[CRITICAL] Alerta: sensor_01",
        alert.created_at,
    );
    store
        .alerts
        .insert(vec![AlertWrite {
            alert: alert.clone(),
            mails: vec![mail.clone()],
        }])
        .await
        .expect("insert");
    let page = store
        .alerts
        .search(&AlertFilter::default(), &PageRequest::default())
        .await
        .expect("search");
    assert_eq!(
        page.items,
        vec![alert.clone()],
        "an alert reads back field for field"
    );
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        store.outbox.mail(&mail.id).await.expect("mail"),
        Some(mail),
        "its mail row is stored with it"
    );
    let mut expected = AlertCounts::new();
    expected.add(&alert);
    assert_eq!(store.alerts.counts().await.expect("counts"), expected);
}

pub(super) async fn batch_is_atomic(store: &Storage) {
    let f = Fixtures::new();
    let size = store.limits.max_alert_batch.min(ATOMIC_BATCH_CHECKED);
    let batch: Vec<AlertWrite> = (0..size)
        .map(|n| AlertWrite {
            alert: f.alert(&format!("s{n}"), Severity::Info, Channel::Tcp, "ok"),
            mails: vec![],
        })
        .collect();
    store
        .alerts
        .insert(batch.clone())
        .await
        .expect("a batch of the atomic size");
    assert_eq!(
        store.alerts.counts().await.expect("counts").total,
        size as u64
    );

    // A batch holding an id that is already stored fails as a whole.
    let fresh = f.alert("nuevo", Severity::Error, Channel::Http, "nuevo");
    let mail = f.mail("ops@campus.edu", "nuevo", fresh.created_at);
    let clash = vec![
        AlertWrite {
            alert: fresh.clone(),
            mails: vec![mail.clone()],
        },
        batch[0].clone(),
    ];
    assert_eq!(
        conflict_kind(store.alerts.insert(clash).await),
        ConflictKind::Duplicate,
        "a duplicate id fails the batch"
    );
    assert_eq!(
        store.alerts.counts().await.expect("counts").total,
        size as u64,
        "nothing of the failed batch"
    );
    assert_eq!(
        store.outbox.mail(&mail.id).await.expect("mail"),
        None,
        "not even its mail rows"
    );
}

/// Batches larger than the backend's atomic size, where it states one small enough to
/// exceed in a check: such a batch is stored whole, its messages at consecutive positions in
/// batch order, and one that fails leaves nothing behind.
pub(super) async fn batches_beyond_the_atomic_size_end_whole(store: &Storage) {
    let atomic = store.limits.max_alert_batch;
    // Each alert with one mail row: more than two atomic batches' worth, read back in one
    // page.
    let big = atomic.saturating_mul(2).saturating_add(atomic / 2 + 10);
    if big > Limit::MAX {
        return;
    }
    let f = Fixtures::new();
    let batch = mailed_alerts(&f, "s", big);
    let appended = store
        .alerts
        .insert(batch.clone())
        .await
        .expect("a big batch")
        .appended;
    assert_eq!((appended.first, appended.count), (1, big as u64));
    assert_eq!(
        store.alerts.counts().await.expect("counts").total,
        big as u64
    );
    let mails = store
        .outbox
        .mails(None, &PageRequest::first(Limit::MAX).expect("limit"))
        .await
        .expect("mails");
    assert_eq!(mails.items.len(), big);

    // The clash is in the last part: the parts before it are written, then deleted again.
    let mut clash = mailed_alerts(&f, "n", big - 10);
    clash.push(batch[7].clone());
    let result = store.alerts.insert(clash.clone()).await;
    assert_eq!(conflict_kind(result), ConflictKind::Duplicate);
    assert_eq!(
        store.alerts.counts().await.expect("counts").total,
        big as u64,
        "nothing of the failed batch stays"
    );
    for write in &clash[..big - 10] {
        assert_eq!(
            store.outbox.mail(&write.mails[0].id).await.expect("mail"),
            None
        );
    }
    let page = store
        .alerts
        .search(
            &AlertFilter::default(),
            &PageRequest::first(Limit::MAX).expect("limit"),
        )
        .await
        .expect("search");
    assert_eq!(page.items.len(), big);
    assert_eq!(
        store.stream.head().await.expect("head").head,
        big as u64,
        "the failed batch took no position"
    );
    let log = read_all(store, 0, 17).await;
    assert_eq!(
        log.into_iter().map(|e| e.message).collect::<Vec<_>>(),
        batch
            .iter()
            .map(AlertWrite::stream_message)
            .collect::<Vec<_>>(),
        "the messages of the big batch are in the log in batch order"
    );
}

pub(super) async fn every_filter_and_pagination(store: &Storage) {
    let f = Fixtures::new();
    let mut all = Vec::new();
    for n in 0..23usize {
        let source = ["sensor_01", "sensor_02", "Gateway"][n % 3];
        let message = if n % 4 == 0 {
            format!("Disco LLENO {n}")
        } else {
            format!("latido {n} 100%_")
        };
        all.push(f.alert(source, Severity::ALL[n % 4], Channel::ALL[n % 3], &message));
    }
    for chunk in all.chunks(5) {
        let writes = chunk
            .iter()
            .map(|a| AlertWrite {
                alert: a.clone(),
                mails: vec![],
            })
            .collect();
        store.alerts.insert(writes).await.expect("insert");
    }
    all.reverse();
    let mut filters = vec![AlertFilter::default()];
    for severity in Severity::ALL {
        filters.push(AlertFilter {
            severity: Some(severity),
            ..Default::default()
        });
    }
    for channel in Channel::ALL {
        filters.push(AlertFilter {
            channel: Some(channel),
            ..Default::default()
        });
    }
    for source in ["sensor_01", "Gateway", "gateway"] {
        filters.push(AlertFilter {
            source: Some(AlertSource::parse(source).expect("source")),
            ..Default::default()
        });
    }
    for q in ["lleno", "GATEWAY", "%_", "_", "ausente"] {
        filters.push(AlertFilter {
            text: Some(SearchText::parse(q).expect("q")),
            ..Default::default()
        });
    }
    filters.push(AlertFilter {
        since: Some(all[10].id.clone()),
        ..Default::default()
    });
    filters.push(AlertFilter {
        since: Some(all[20].id.clone()),
        severity: Some(Severity::Info),
        text: Some(SearchText::parse("latido").expect("q")),
        ..Default::default()
    });
    for filter in filters {
        let expected: Vec<Alert> = all.iter().filter(|a| filter.matches(a)).cloned().collect();
        assert_eq!(
            all_pages(store, &filter, 4).await,
            expected,
            "filter {filter:?}, newest first"
        );
    }
    let mut counts = AlertCounts::new();
    all.iter().for_each(|a| counts.add(a));
    assert_eq!(store.alerts.counts().await.expect("counts"), counts);
}

pub(super) async fn after_returns_exactly_later(store: &Storage) {
    let f = Fixtures::new();
    let alerts: Vec<Alert> = (0..6)
        .map(|n| f.alert("s", Severity::Warning, Channel::Ws, &format!("m{n}")))
        .collect();
    for alert in &alerts {
        store
            .alerts
            .insert(vec![AlertWrite {
                alert: alert.clone(),
                mails: vec![],
            }])
            .await
            .expect("insert");
    }
    assert_eq!(
        store.alerts.after(None, 100).await.expect("after"),
        alerts,
        "all, oldest first"
    );
    for cut in 0..alerts.len() {
        assert_eq!(
            store
                .alerts
                .after(Some(&alerts[cut].id), 100)
                .await
                .expect("after"),
            alerts[cut + 1..].to_vec(),
            "exactly the later alerts, in order"
        );
    }
    assert_eq!(
        store
            .alerts
            .after(Some(&alerts[0].id), 2)
            .await
            .expect("after"),
        alerts[1..3].to_vec()
    );
}
