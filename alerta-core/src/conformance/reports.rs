//! Checks of [`ReportLedger`](crate::ports::ReportLedger).

use std::time::Duration;

use futures::future::join_all;

use super::Fixtures;
use crate::domain::{EventId, MailState, PageRequest};
use crate::ports::Storage;
use crate::{ConflictKind, Error};

const LEASE: Duration = Duration::from_secs(60);

pub(super) async fn claims_leases_and_completion(storage: &Storage) {
    let ledger = storage.report_ledger.as_ref();
    let f = Fixtures::new();
    let now = f.tick();
    let event = EventId::parse(&f.id()).expect("id");
    assert!(
        ledger
            .claim_assignment(&event, "run-a", now, LEASE)
            .await
            .expect("claim")
    );
    assert!(
        !ledger
            .claim_assignment(&event, "run-b", now, LEASE)
            .await
            .expect("claim"),
        "another run cannot take a running lease"
    );
    assert!(
        ledger
            .claim_assignment(&event, "run-a", now, LEASE)
            .await
            .expect("claim"),
        "the holder may renew its own lease"
    );
    let expired = now.plus(LEASE).plus(Duration::from_millis(1));
    assert!(
        ledger
            .claim_assignment(&event, "run-b", expired, LEASE)
            .await
            .expect("claim"),
        "an expired lease can be taken over"
    );
    let mail = f.mail("ti@campus.edu", "reporte", now);
    match ledger
        .complete_assignment(&event, "run-a", vec![mail.clone()], expired)
        .await
    {
        Err(Error::Conflict {
            kind: ConflictKind::LeaseLost,
            ..
        }) => {}
        other => panic!("the old holder must get lease_lost, got {other:?}"),
    }
    assert_eq!(
        storage.outbox.mail(&mail.id).await.expect("mail"),
        None,
        "a lost lease writes no mail"
    );
    assert!(
        ledger
            .processed_assignments(std::slice::from_ref(&event))
            .await
            .expect("processed")
            .is_empty()
    );

    ledger
        .complete_assignment(&event, "run-b", vec![mail.clone()], expired)
        .await
        .expect("complete");
    assert_eq!(
        storage.outbox.mail(&mail.id).await.expect("mail"),
        Some(mail.clone()),
        "mail stored with completion"
    );
    assert_eq!(
        ledger
            .processed_assignments(std::slice::from_ref(&event))
            .await
            .expect("processed"),
        vec![event.clone()]
    );
    let much_later = expired.plus(Duration::from_secs(86_400));
    assert!(
        !ledger
            .claim_assignment(&event, "run-c", much_later, LEASE)
            .await
            .expect("claim"),
        "a done assignment is never claimed again"
    );
    assert!(
        matches!(
            ledger
                .complete_assignment(&event, "run-b", vec![], much_later)
                .await,
            Err(Error::Conflict {
                kind: ConflictKind::LeaseLost,
                ..
            })
        ),
        "completing twice is refused"
    );
    let pending = storage
        .outbox
        .mails(Some(MailState::Pending), &PageRequest::default())
        .await
        .expect("mails");
    assert_eq!(pending.items.len(), 1, "exactly one mail");
}

pub(super) async fn concurrent_claims_one_wins(storage: &Storage) {
    let ledger = storage.report_ledger.as_ref();
    let f = Fixtures::new();
    let now = f.tick();
    let event = EventId::parse(&f.id()).expect("id");
    let holders: Vec<String> = (0..10).map(|n| format!("run-{n}")).collect();
    let results = join_all(
        holders
            .iter()
            .map(|h| ledger.claim_assignment(&event, h, now, LEASE)),
    )
    .await;
    let wins = results
        .into_iter()
        .filter(|r| *r.as_ref().expect("claim"))
        .count();
    assert_eq!(wins, 1, "exactly one of ten concurrent claims wins");
    let others = [EventId::parse(&f.id()).expect("id"), event.clone()];
    assert!(
        ledger
            .processed_assignments(&others)
            .await
            .expect("processed")
            .is_empty()
    );
}
