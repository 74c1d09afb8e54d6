//! Checks of [`AlertStore`](crate::ports::AlertStore).

use super::Fixtures;
use crate::domain::{
    Alert, AlertCounts, AlertFilter, AlertSource, Channel, PageRequest, SearchText, Severity,
};
use crate::ports::{AlertWrite, Storage};

async fn all_pages(store: &Storage, filter: &AlertFilter, limit: usize) -> Vec<Alert> {
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
    let batch: Vec<AlertWrite> = (0..50)
        .map(|n| AlertWrite {
            alert: f.alert(&format!("s{n}"), Severity::Info, Channel::Tcp, "ok"),
            mails: vec![],
        })
        .collect();
    store
        .alerts
        .insert(batch.clone())
        .await
        .expect("a batch of 50");
    assert_eq!(store.alerts.counts().await.expect("counts").total, 50);

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
    assert!(
        store.alerts.insert(clash).await.is_err(),
        "a duplicate id fails the batch"
    );
    assert_eq!(
        store.alerts.counts().await.expect("counts").total,
        50,
        "nothing of the failed batch"
    );
    assert_eq!(
        store.outbox.mail(&mail.id).await.expect("mail"),
        None,
        "not even its mail rows"
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
