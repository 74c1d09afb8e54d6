//! Acknowledging from a mail's link, with mocked ports: a link is spent only by a change that
//! happened, and failures leave it usable.

use std::time::Duration;

use super::silences::record_writes;
use super::{Mocks, unavailable};
use crate::domain::{
    AckLinks, Alert, AlertDraft, AlertId, AlertState, AlertStatus, Channel, Email, LinkSecret,
    MailKind, Page, Reservation, Timestamp,
};
use crate::ports::{AlertWrite, Clock, SystemClock};
use crate::{AckByLink, AckLinkState, Settings};

fn links() -> AckLinks {
    AckLinks::new(
        LinkSecret::parse(&"s".repeat(32)).unwrap(),
        "https://alerta.example",
        Duration::from_secs(3600),
    )
}

fn alert(status: AlertStatus) -> Alert {
    let draft = AlertDraft::parse("ups_3", "critical", "Batería baja", Channel::Tcp).unwrap();
    Alert::restore(
        AlertId::parse("A1").unwrap(),
        draft,
        Timestamp::from_unix_millis(0),
        AlertState {
            status,
            version: 1,
            updated_at: Timestamp::from_unix_millis(0),
        },
    )
}

fn app(mocks: Mocks) -> crate::Alerta {
    mocks
        .builder()
        .settings(Settings {
            ack_links: Some(links()),
            ..Settings::default()
        })
        .build()
}

fn token() -> String {
    links().token(&AlertId::parse("A1").unwrap(), SystemClock.now())
}

#[tokio::test]
async fn a_store_that_cannot_claim_the_link_changes_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .idempotency
        .expect_reserve()
        .times(1)
        .returning(|_| Err(unavailable()));
    mocks.alerts.expect_transition().never();
    let error = app(mocks).acknowledge_by_link(&token()).await.unwrap_err();
    assert!(
        matches!(error, crate::Error::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_failed_acknowledgement_releases_the_link_for_another_try() {
    let mut mocks = Mocks::default();
    mocks
        .idempotency
        .expect_reserve()
        .times(1)
        .returning(|_| Ok(Reservation::Reserved));
    mocks
        .alerts
        .expect_alert()
        .returning(|_| Ok(Some(alert(AlertStatus::Firing))));
    mocks
        .alerts
        .expect_transition()
        .times(1)
        .returning(|_| Err(unavailable()));
    mocks
        .idempotency
        .expect_release()
        .times(1)
        .withf(|owner, key, _| owner == "ack.link" && key.as_str() == token())
        .returning(|_, _, _| Ok(()));
    mocks.idempotency.expect_complete().never();
    let error = app(mocks).acknowledge_by_link(&token()).await.unwrap_err();
    assert!(
        matches!(error, crate::Error::Unavailable { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_link_claimed_before_is_used_without_reading_the_alert() {
    let mut mocks = Mocks::default();
    mocks.idempotency.expect_reserve().returning(|claim| {
        Ok(Reservation::Pending {
            operation: claim.operation.clone(),
            lease_until: claim.lease_until(),
        })
    });
    mocks.alerts.expect_alert().never();
    mocks.alerts.expect_transition().never();
    assert_eq!(
        app(mocks).acknowledge_by_link(&token()).await.unwrap(),
        AckByLink::Used
    );
}

#[tokio::test]
async fn bad_tokens_and_links_that_are_off_touch_no_port() {
    // The mocks expect nothing: any port call would panic.
    let app = app(Mocks::default());
    let expired = links().token(
        &AlertId::parse("A1").unwrap(),
        Timestamp::from_unix_millis(0),
    );
    assert_eq!(
        app.acknowledge_by_link(&expired).await.unwrap(),
        AckByLink::Expired
    );
    assert_eq!(
        app.ack_link_state(&expired).await.unwrap(),
        AckLinkState::Expired
    );
    let tampered = token().replacen("A1", "A2", 1);
    assert_eq!(
        app.acknowledge_by_link(&tampered).await.unwrap(),
        AckByLink::Invalid
    );
    let off = Mocks::default().build();
    assert_eq!(
        off.acknowledge_by_link(&token()).await.unwrap(),
        AckByLink::Invalid
    );
}

/// The alert the acknowledgement link in `write`'s alert mail names.
fn linked_alert(write: &AlertWrite) -> AlertId {
    let mail = write
        .mails
        .iter()
        .find(|mail| mail.kind() == Some(MailKind::Alert))
        .expect("an alert mail");
    let token = mail
        .message
        .text
        .split("/events/ack/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a link in the mail");
    links().check(token, SystemClock.now()).unwrap().alert
}

#[tokio::test]
async fn each_mailed_alert_of_a_batch_links_to_the_group_it_joins() {
    let mut mocks = Mocks::default();
    let stored = alert(AlertStatus::Resolved);
    let fingerprint = stored.fingerprint();
    // One read per mailed write; none for the one that is not mailed.
    mocks
        .alerts
        .expect_group_of()
        .times(2)
        .returning(move |asked| Ok((*asked == fingerprint).then(|| stored.clone())));
    mocks.silences.expect_silences().returning(|_, _| {
        Ok(Page {
            items: vec![],
            next_cursor: None,
        })
    });
    let written = record_writes(&mut mocks);
    let app = mocks
        .builder()
        .settings(Settings {
            ack_links: Some(links()),
            alert_recipients: vec![Email::parse("ops@campus.edu").unwrap()],
            ..Settings::default()
        })
        .build();
    let draft = |source, severity, message| {
        AlertDraft::parse(source, severity, message, Channel::Tcp).unwrap()
    };
    app.ingest_alerts(vec![
        draft("ups_3", "critical", "Batería baja"),
        draft("ups_4", "critical", "Batería baja"),
        draft("ups_5", "info", "Batería cargada"),
    ])
    .await
    .unwrap();
    let writes = written.lock().unwrap();
    assert_eq!(
        linked_alert(&writes[0]),
        AlertId::parse("A1").unwrap(),
        "a write that reopens a stored group links to that group"
    );
    assert_eq!(
        linked_alert(&writes[1]),
        writes[1].alert.id,
        "a write that opens a group links to it"
    );
    assert!(writes[2].mails.is_empty());
}
