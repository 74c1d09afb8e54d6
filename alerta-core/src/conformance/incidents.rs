//! Checks of [`IncidentStore`](crate::ports::IncidentStore).

use std::collections::HashMap;

use futures::future::join_all;

use super::{Fixtures, conflict_kind};
use crate::domain::{
    AlertId, Attachment, AttachmentId, CommentText, DepartmentName, EventKind, FileName, Incident,
    IncidentAction, IncidentCounts, IncidentFilter, IncidentId, MailState, MediaType, Note, Page,
    PageRequest, SearchText, Status, TypeCatalog, Urgency,
};
use crate::ports::{AlertWrite, EventQuery, IncidentChange, Storage};
use crate::{ConflictKind, Error};

/// Reads every page of `filter`, checking page sizes and that pages do not overlap.
pub(super) async fn all_pages(
    store: &Storage,
    filter: &IncidentFilter,
    limit: usize,
) -> Vec<Incident> {
    let mut request = PageRequest::first(limit).expect("a valid limit");
    let mut out: Vec<Incident> = Vec::new();
    for _ in 0..10_000 {
        let Page { items, next_cursor } = store
            .incidents
            .incidents(filter, &request)
            .await
            .expect("listing incidents");
        assert!(items.len() <= limit, "a page holds at most `limit` items");
        if next_cursor.is_some() {
            assert_eq!(items.len(), limit, "only the last page may be short");
        }
        out.extend(items);
        match next_cursor {
            Some(cursor) => request = PageRequest::after(request.limit, cursor),
            None => return out,
        }
    }
    panic!("pagination never ended");
}

pub(super) async fn round_trip(store: &Storage) {
    let f = Fixtures::new();
    let reporter = f.user();
    let incident = f.incident(
        &reporter,
        "seguridad",
        Urgency::High,
        "Puerta forzada «norte» ñ",
    );
    let creation = f.creation(&incident);
    store
        .incidents
        .commit(creation.clone())
        .await
        .expect("create");
    assert_eq!(
        store.incidents.incident(incident.id()).await.expect("get"),
        Some(incident.clone()),
        "a created incident reads back field for field"
    );

    let resolve = f.update(
        &incident,
        IncidentAction::MoveTo {
            status: Status::Resolved,
            note: Some(Note::parse("cerrada con llave").expect("note")),
        },
        vec![],
    );
    assert!(resolve.incident.resolved_at().is_some());
    store
        .incidents
        .commit(resolve.clone())
        .await
        .expect("resolve");
    let comment = f.update(
        &resolve.incident,
        IncidentAction::Comment(CommentText::parse("línea 1\nlínea 2").expect("text")),
        vec![],
    );
    store
        .incidents
        .commit(comment.clone())
        .await
        .expect("comment");
    let assign = f.assign(&comment.incident, "Seguridad Campus");
    store
        .incidents
        .commit(assign.clone())
        .await
        .expect("assign");

    let attachment = Attachment {
        attachment_id: AttachmentId::parse(&f.id()).expect("id"),
        incident_id: incident.id().clone(),
        filename: FileName::parse("foto puerta.png").expect("name"),
        content_type: MediaType::Png,
        size: 1234,
        sha256: "ab".repeat(32),
        created_at: f.tick(),
    };
    let mut attach = f.update(
        &assign.incident,
        IncidentAction::Attach(attachment.clone()),
        vec![],
    );
    attach.attachments.push(attachment.clone());
    store
        .incidents
        .commit(attach.clone())
        .await
        .expect("attach");

    let stored = store
        .incidents
        .incident(incident.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        stored, attach.incident,
        "every field, resolved_at included, reads back"
    );
    assert_eq!(stored.version(), 5);
    assert_eq!(
        stored.department().map(DepartmentName::as_str),
        Some("Seguridad Campus")
    );

    let history = store
        .incidents
        .history(incident.id())
        .await
        .expect("history");
    let expected: Vec<_> = [&creation, &resolve, &comment, &assign, &attach]
        .iter()
        .flat_map(|c| c.events.clone())
        .collect();
    assert_eq!(
        history, expected,
        "history reads back oldest first, field for field"
    );

    assert_eq!(
        store
            .incidents
            .attachments(incident.id())
            .await
            .expect("attachments"),
        vec![attachment.clone()]
    );
    assert_eq!(
        store
            .incidents
            .attachment(incident.id(), &attachment.attachment_id)
            .await
            .expect("attachment"),
        Some(attachment.clone())
    );
    let other = f.incident(&reporter, "otro", Urgency::Low, "otra");
    assert_eq!(
        store
            .incidents
            .attachment(other.id(), &attachment.attachment_id)
            .await
            .expect("attachment"),
        None,
        "an attachment is only found under its own incident"
    );
    assert_eq!(
        store.incidents.incident(other.id()).await.expect("get"),
        None
    );
    assert!(
        store
            .incidents
            .history(other.id())
            .await
            .expect("history")
            .is_empty()
    );
}

pub(super) async fn duplicate_create_is_refused(store: &Storage) {
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "limpieza", Urgency::Low, "Derrame");
    store
        .incidents
        .commit(f.creation(&incident))
        .await
        .expect("create");
    let again = store.incidents.commit(f.creation(&incident)).await;
    assert_eq!(conflict_kind(again), ConflictKind::Duplicate);
    assert_eq!(
        store
            .incidents
            .history(incident.id())
            .await
            .expect("history")
            .len(),
        1
    );
}

pub(super) async fn stale_version_writes_nothing(store: &Storage) {
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "tecnologia", Urgency::Medium, "Proyector roto");
    store
        .incidents
        .commit(f.creation(&incident))
        .await
        .expect("create");
    let first = f.move_to(&incident, Status::InProgress);
    store
        .incidents
        .commit(first.clone())
        .await
        .expect("first change");

    // Made against version 1, which is no longer current.
    let mut stale = f.move_to(&incident, Status::Resolved);
    stale
        .mails
        .push(f.mail("rep@campus.edu", "resuelto", f.tick()));
    let result = store.incidents.commit(stale).await;
    assert_eq!(conflict_kind(result), ConflictKind::StaleVersion);

    assert_eq!(
        store.incidents.incident(incident.id()).await.expect("get"),
        Some(first.incident.clone()),
        "a stale change leaves the incident as it was"
    );
    assert_eq!(
        store
            .incidents
            .history(incident.id())
            .await
            .expect("history")
            .len(),
        2,
        "no event"
    );
    let mails = store
        .outbox
        .mails(None, &PageRequest::default())
        .await
        .expect("mails");
    assert!(mails.items.is_empty(), "no mail row from a stale change");

    let unknown = f.incident(&f.user(), "otro", Urgency::Low, "nunca creado");
    let result = store
        .incidents
        .commit(f.move_to(&unknown, Status::InProgress))
        .await;
    assert_eq!(
        conflict_kind(result),
        ConflictKind::StaleVersion,
        "updating a missing incident"
    );
    assert_eq!(
        store.incidents.incident(unknown.id()).await.expect("get"),
        None
    );
}

pub(super) async fn change_is_atomic(store: &Storage) {
    let f = Fixtures::new();
    let incident = f.incident(
        &f.user(),
        "infraestructura",
        Urgency::Critical,
        "Fuga de agua",
    );
    store
        .incidents
        .commit(f.creation(&incident))
        .await
        .expect("create");

    // Two events and two mail rows in one change: all of it lands.
    let mail_a = f.mail("a@campus.edu", "uno", f.tick());
    let mail_b = f.mail("b@campus.edu", "dos", f.tick());
    let first = f.update(
        &incident,
        comment("primero"),
        vec![mail_a.clone(), mail_b.clone()],
    );
    let change = f.followed_by(first, comment("segundo"));
    store
        .incidents
        .commit(change.clone())
        .await
        .expect("change");
    assert_eq!(
        store
            .incidents
            .history(incident.id())
            .await
            .expect("history")
            .len(),
        3
    );
    for mail in [&mail_a, &mail_b] {
        assert_eq!(
            store.outbox.mail(&mail.id).await.expect("mail").as_ref(),
            Some(mail)
        );
    }

    // A change reusing a stored mail id fails as a whole: no incident change, no event.
    let clash = f.update(&change.incident, comment("repetido"), vec![mail_a.clone()]);
    let result = store.incidents.commit(clash).await;
    assert_eq!(
        conflict_kind(result),
        ConflictKind::Duplicate,
        "a change with a stored mail id must fail"
    );
    assert_eq!(
        store.incidents.incident(incident.id()).await.expect("get"),
        Some(change.incident.clone()),
        "a failed change leaves the incident as it was"
    );
    assert_eq!(
        store
            .incidents
            .history(incident.id())
            .await
            .expect("history")
            .len(),
        3
    );
    let all = store
        .outbox
        .mails(None, &PageRequest::default())
        .await
        .expect("mails");
    assert_eq!(all.items.len(), 2, "no extra mail row");
}

/// The most items a change is checked with, when the backend states no lower limit.
const CHANGE_ITEMS_CHECKED: usize = 150;

pub(super) async fn the_largest_change_stated_is_stored(store: &Storage) {
    let stated = store.limits.max_change_items;
    let items = stated.min(CHANGE_ITEMS_CHECKED);
    // The incident and its `creado` event, then mail rows up to the size.
    let Some(mail_rows) = items.checked_sub(2) else {
        return;
    };
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "otro", Urgency::Medium, "Muchos avisos");
    let mut change = f.creation(&incident);
    change.mails = (0..mail_rows)
        .map(|n| f.mail("x@campus.edu", &format!("aviso {n}"), f.tick()))
        .collect();
    store
        .incidents
        .commit(change)
        .await
        .expect("a change of the largest size stated");
    let mails = store
        .outbox
        .mails(
            None,
            &PageRequest::first(crate::domain::Limit::MAX).expect("limit"),
        )
        .await
        .expect("mails");
    assert_eq!(mails.items.len(), mail_rows, "every mail row of the change");
    if stated > CHANGE_ITEMS_CHECKED {
        return;
    }

    let over = f.incident(&f.user(), "otro", Urgency::Medium, "Demasiados avisos");
    let mut change = f.creation(&over);
    change.mails = (0..=mail_rows)
        .map(|n| f.mail("x@campus.edu", &format!("exceso {n}"), f.tick()))
        .collect();
    let result = store.incidents.commit(change).await;
    assert!(
        matches!(
            result,
            Err(Error::Invalid {
                field: "change",
                ..
            })
        ),
        "one item more than stated is refused: {result:?}"
    );
    assert_eq!(
        store.incidents.incident(over.id()).await.expect("get"),
        None,
        "a refused change writes nothing"
    );
}

async fn seed_variety(store: &Storage, f: &Fixtures) -> Vec<Incident> {
    let reporters = [f.user(), f.user()];
    let types = TypeCatalog::default();
    let mut all = Vec::new();
    for n in 0..18usize {
        let kind = &types.names()[n % types.names().len()];
        let urgency = Urgency::ALL[n % 4];
        let text = if n % 5 == 0 {
            format!("Ventana ROTA número {n}")
        } else {
            format!("Caso {n} con 50%_off")
        };
        let mut incident = f.incident(&reporters[n % 2], kind, urgency, &text);
        store
            .incidents
            .commit(f.creation(&incident))
            .await
            .expect("create");
        if n % 3 == 1 {
            let change = f.move_to(&incident, Status::InProgress);
            store.incidents.commit(change.clone()).await.expect("move");
            incident = change.incident;
        }
        if n % 4 == 2 {
            let change = f.move_to(&incident, Status::Resolved);
            store
                .incidents
                .commit(change.clone())
                .await
                .expect("resolve");
            incident = change.incident;
        }
        if n % 3 == 0 {
            let department = if n % 2 == 0 { "Mantenimiento" } else { "TI" };
            let change = f.assign(&incident, department);
            store
                .incidents
                .commit(change.clone())
                .await
                .expect("assign");
            incident = change.incident;
        }
        all.push(incident);
    }
    all.reverse();
    all
}

pub(super) async fn every_filter(store: &Storage) {
    let f = Fixtures::new();
    let all = seed_variety(store, &f).await;
    let reporter = all[0].reported_by().clone();
    let mut filters = vec![IncidentFilter::default()];
    for status in Status::ALL {
        filters.push(IncidentFilter {
            status: Some(status),
            ..Default::default()
        });
    }
    for urgency in Urgency::ALL {
        filters.push(IncidentFilter {
            urgency: Some(urgency),
            ..Default::default()
        });
    }
    for name in TypeCatalog::default().names() {
        filters.push(IncidentFilter {
            kind: Some(TypeCatalog::default().parse(name).expect("a default type")),
            ..Default::default()
        });
    }
    for department in ["Mantenimiento", "TI", "Nadie"] {
        filters.push(IncidentFilter {
            department: Some(DepartmentName::parse(department).expect("name")),
            ..Default::default()
        });
    }
    filters.push(IncidentFilter {
        reported_by: Some(reporter.clone()),
        ..Default::default()
    });
    for q in [
        "rota",
        "ROTA",
        "50%_",
        "%",
        "_",
        "pabellón",
        "SEGURIDAD",
        "no aparece",
    ] {
        filters.push(IncidentFilter {
            text: Some(SearchText::parse(q).expect("q")),
            ..Default::default()
        });
    }
    filters.push(IncidentFilter {
        status: Some(Status::Pending),
        reported_by: Some(reporter),
        text: Some(SearchText::parse("caso").expect("q")),
        ..Default::default()
    });
    for filter in filters {
        let expected: Vec<Incident> = all.iter().filter(|i| filter.matches(i)).cloned().collect();
        let got = all_pages(store, &filter, 4).await;
        assert_eq!(
            got, expected,
            "filter {filter:?} returns exactly the matching incidents, newest first"
        );
    }
}

pub(super) async fn pagination(store: &Storage) {
    let f = Fixtures::new();
    let reporter = f.user();
    let mut made = Vec::new();
    for n in 0..7 {
        let incident = f.incident(&reporter, "otro", Urgency::Low, &format!("n{n}"));
        store
            .incidents
            .commit(f.creation(&incident))
            .await
            .expect("create");
        made.push(incident);
    }
    made.reverse();
    let first = store
        .incidents
        .incidents(
            &IncidentFilter::default(),
            &PageRequest::first(3).expect("limit"),
        )
        .await
        .expect("page");
    assert_eq!(first.items, made[..3].to_vec());
    let cursor = first.next_cursor.expect("more pages");
    // A write between pages neither repeats nor skips items of the older pages.
    let newer = f.incident(&reporter, "otro", Urgency::Low, "más nuevo");
    store
        .incidents
        .commit(f.creation(&newer))
        .await
        .expect("create");
    let second = store
        .incidents
        .incidents(
            &IncidentFilter::default(),
            &PageRequest::after(first_limit(3), cursor),
        )
        .await
        .expect("page");
    assert_eq!(second.items, made[3..6].to_vec());
    let third = store
        .incidents
        .incidents(
            &IncidentFilter::default(),
            &PageRequest::after(first_limit(3), second.next_cursor.expect("more")),
        )
        .await
        .expect("page");
    assert_eq!(third.items, made[6..].to_vec());
    assert_eq!(third.next_cursor, None, "the last page has no cursor");

    let exact = all_pages(store, &IncidentFilter::default(), 4).await;
    assert_eq!(exact.len(), 8);

    let bad = store
        .incidents
        .incidents(
            &IncidentFilter::default(),
            &PageRequest::after(first_limit(3), crate::domain::Cursor::new("garbage!")),
        )
        .await;
    assert!(
        matches!(
            bad,
            Err(Error::Invalid {
                field: "cursor",
                ..
            })
        ),
        "a foreign cursor is refused: {bad:?}"
    );
}

fn first_limit(n: usize) -> crate::domain::Limit {
    crate::domain::Limit::new(n).expect("limit")
}

pub(super) async fn events_since(store: &Storage) {
    let f = Fixtures::new();
    let reporter = f.user();
    let mut events = Vec::new();
    for n in 0..4 {
        let incident = f.incident(&reporter, "salud", Urgency::High, &format!("e{n}"));
        let creation = f.creation(&incident);
        store
            .incidents
            .commit(creation.clone())
            .await
            .expect("create");
        events.extend(creation.events);
        let assign = f.assign(&incident, "Enfermería");
        store
            .incidents
            .commit(assign.clone())
            .await
            .expect("assign");
        events.extend(assign.events);
    }
    let everything = store
        .incidents
        .events(&EventQuery {
            after: None,
            kind: None,
            limit: 100,
        })
        .await
        .expect("events");
    assert_eq!(everything, events, "all events in id order");
    for cut in 0..events.len() {
        let later = store
            .incidents
            .events(&EventQuery {
                after: Some(events[cut].event_id.clone()),
                kind: None,
                limit: 100,
            })
            .await
            .expect("events");
        assert_eq!(
            later,
            events[cut + 1..].to_vec(),
            "exactly the later events, in order"
        );
    }
    let assignments = store
        .incidents
        .events(&EventQuery {
            after: Some(events[2].event_id.clone()),
            kind: Some(EventKind::DepartmentAssigned),
            limit: 2,
        })
        .await
        .expect("events");
    let expected: Vec<_> = events[3..]
        .iter()
        .filter(|e| e.change.kind() == EventKind::DepartmentAssigned)
        .take(2)
        .cloned()
        .collect();
    assert_eq!(assignments, expected, "kind and limit are honoured");
}

pub(super) async fn counts(store: &Storage) {
    let f = Fixtures::new();
    let mut all = seed_variety(store, &f).await;
    let counts = store.incidents.counts().await.expect("counts");
    let expected = IncidentCounts::of(&all);
    assert_eq!(counts, expected, "counts over every incident");
    assert_eq!(counts.total, 18);
    assert!(counts.resolved > 0 && counts.resolution_ms_total > 0);

    // Changes move counts from one key to another: a reassignment, a reopening.
    let assigned = all
        .iter()
        .position(|i| i.department().is_some())
        .expect("an assigned incident");
    let change = f.assign(&all[assigned], "Enfermería");
    store
        .incidents
        .commit(change.clone())
        .await
        .expect("assign");
    all[assigned] = change.incident;
    let resolved = all
        .iter()
        .position(|i| i.status() == Status::Resolved)
        .expect("a resolved incident");
    let change = f.move_to(&all[resolved], Status::InProgress);
    store
        .incidents
        .commit(change.clone())
        .await
        .expect("reopen");
    all[resolved] = change.incident;
    assert_eq!(
        store.incidents.counts().await.expect("counts"),
        IncidentCounts::of(&all),
        "counts follow every change"
    );
}

pub(super) async fn concurrent_updates_one_wins(store: &Storage) {
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "seguridad", Urgency::Critical, "Alarma");
    store
        .incidents
        .commit(f.creation(&incident))
        .await
        .expect("create");
    let changes: Vec<IncidentChange> = (0..20)
        .map(|n| {
            let mail = f.mail("x@campus.edu", &format!("intento {n}"), f.tick());
            f.update(&incident, comment(&format!("intento {n}")), vec![mail])
        })
        .collect();
    let results = join_all(changes.into_iter().map(|c| store.incidents.commit(c))).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        wins, 1,
        "exactly one of 20 concurrent changes at one version wins: {results:?}"
    );
    for result in results.into_iter().filter(|r| r.is_err()) {
        assert_eq!(conflict_kind(result), ConflictKind::StaleVersion);
    }
    let stored = store
        .incidents
        .incident(incident.id())
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(stored.version(), 2);
    assert_eq!(
        store
            .incidents
            .history(incident.id())
            .await
            .expect("history")
            .len(),
        2
    );
    let mails = store
        .outbox
        .mails(Some(MailState::Pending), &PageRequest::default())
        .await
        .expect("mails");
    assert_eq!(mails.items.len(), 1, "only the winner's mail row is stored");
}

fn comment(text: &str) -> IncidentAction {
    IncidentAction::Comment(CommentText::parse(text).expect("text"))
}

/// `count` new alerts, stored in batches the store takes: the alerts incidents are opened
/// from must be stored.
async fn stored_alerts(store: &Storage, f: &Fixtures, count: usize) -> Vec<AlertId> {
    let alerts: Vec<crate::domain::Alert> = (0..count)
        .map(|n| {
            f.alert(
                &format!("nodo_{n}"),
                crate::domain::Severity::Error,
                crate::domain::Channel::Tcp,
                &format!("caída {}", f.id()),
            )
        })
        .collect();
    for batch in alerts.chunks(store.limits.max_alert_batch.max(1)) {
        let writes = batch
            .iter()
            .map(|alert| AlertWrite {
                alert: alert.clone(),
                mails: vec![],
            })
            .collect();
        store.alerts.insert(writes).await.expect("insert alerts");
    }
    alerts.into_iter().map(|alert| alert.id).collect()
}

/// An incident naming an alert that is not stored is refused and leaves nothing.
pub(super) async fn an_incident_needs_its_alert_stored(store: &Storage) {
    let f = Fixtures::new();
    let missing = f.alert_id();
    let incident = f.incident_from_alert(&f.user(), &missing, "Sin alerta guardada");
    let refused = store.incidents.commit(f.creation(&incident)).await;
    assert!(
        matches!(refused, Err(Error::NotFound("alert"))),
        "{refused:?}"
    );
    assert_eq!(
        store.incidents.incident(incident.id()).await.expect("get"),
        None
    );
    assert_eq!(
        store
            .incidents
            .incident_for_alert(&missing)
            .await
            .expect("read"),
        None
    );
}

/// Of many concurrent incidents opened from one alert, one is stored; the store names it for
/// the alert, keeps the link through later changes, and refuses the others without a trace.
pub(super) async fn one_incident_per_alert(store: &Storage) {
    let f = Fixtures::new();
    let alert = stored_alerts(store, &f, 1).await.remove(0);
    assert_eq!(
        store
            .incidents
            .incident_for_alert(&alert)
            .await
            .expect("read"),
        None,
        "an alert with no incident names none"
    );
    let candidates: Vec<Incident> = (0..12)
        .map(|n| f.incident_from_alert(&f.user(), &alert, &format!("Caída del servidor {n}")))
        .collect();
    let results = join_all(
        candidates
            .iter()
            .map(|incident| store.incidents.commit(f.creation(incident))),
    )
    .await;
    let winners: Vec<&Incident> = candidates
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "one incident per alert: {results:?}");
    for result in results.into_iter().filter(|r| r.is_err()) {
        assert_eq!(conflict_kind(result), ConflictKind::AlreadyLinked);
    }
    let winner = winners[0];
    assert_eq!(
        store
            .incidents
            .incident_for_alert(&alert)
            .await
            .expect("read"),
        Some(winner.id().clone())
    );
    for loser in candidates.iter().filter(|i| i.id() != winner.id()) {
        assert_eq!(
            store.incidents.incident(loser.id()).await.expect("get"),
            None,
            "a refused incident leaves nothing"
        );
    }
    let stored = store
        .incidents
        .incident(winner.id())
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        stored.alert_id(),
        Some(&alert),
        "the incident names its alert"
    );
    store
        .incidents
        .commit(f.update(&stored, comment("en curso"), vec![]))
        .await
        .expect("a later change");
    let changed = store
        .incidents
        .incident(winner.id())
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(changed.alert_id(), Some(&alert), "changes keep the link");
    let other = f.incident(&f.user(), "seguridad", Urgency::Low, "Sin alerta");
    store
        .incidents
        .commit(f.creation(&other))
        .await
        .expect("incidents without an alert are not limited");
}

/// The links of many alerts read at once: more than one backend request holds, with alerts
/// that have no incident and an id asked for twice; each alert names its own incident.
pub(super) async fn incidents_of_many_alerts(store: &Storage) {
    let f = Fixtures::new();
    let alerts = stored_alerts(store, &f, 130).await;
    let opened: Vec<(AlertId, Incident)> = alerts
        .iter()
        .step_by(3)
        .enumerate()
        .map(|(n, alert)| {
            let incident = f.incident_from_alert(&f.user(), alert, &format!("Alerta {n}"));
            (alert.clone(), incident)
        })
        .collect();
    for chunk in opened.chunks(8) {
        for result in join_all(
            chunk
                .iter()
                .map(|(_, incident)| store.incidents.commit(f.creation(incident))),
        )
        .await
        {
            result.expect("store");
        }
    }
    assert!(
        store
            .incidents
            .incidents_for_alerts(&[])
            .await
            .expect("read")
            .is_empty(),
        "no alert, no link"
    );
    let mut asked = alerts.clone();
    asked.push(alerts[0].clone());
    let links = store
        .incidents
        .incidents_for_alerts(&asked)
        .await
        .expect("read");
    let expected: HashMap<AlertId, IncidentId> = opened
        .iter()
        .map(|(alert, incident)| (alert.clone(), incident.id().clone()))
        .collect();
    assert_eq!(
        links, expected,
        "each linked alert with its incident, no other"
    );
    let unlinked = store
        .incidents
        .incidents_for_alerts(&alerts[1..3])
        .await
        .expect("read");
    assert!(unlinked.is_empty(), "alerts with no incident: {unlinked:?}");
}
