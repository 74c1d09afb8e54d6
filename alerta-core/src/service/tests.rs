//! Failure paths of the use cases, with mocked ports.

use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::domain::{
    Appended, Change, Description, Email, IdempotencyClaim, IdempotencyKey, IdempotencyRecord,
    Incident, IncidentDraft, IncidentEvent, IncidentId, IncidentParts, Location, PersonName,
    Reservation, Status, Timestamp, Urgency, UserId,
};
use crate::ports::{
    IncidentChange, MockAlertStore, MockBlobStore, MockBroadcaster, MockDepartmentStore,
    MockIdempotencyStore, MockIncidentStore, MockLoginAttemptStore, MockMailOutbox,
    MockReportLedger, MockSettingStore, MockSilenceStore, MockStreamLog, MockUserStore,
    StorageLimits,
};

#[derive(Default)]
struct Mocks {
    incidents: MockIncidentStore,
    alerts: MockAlertStore,
    users: MockUserStore,
    departments: MockDepartmentStore,
    outbox: MockMailOutbox,
    idempotency: MockIdempotencyStore,
    blobs: MockBlobStore,
    broadcaster: MockBroadcaster,
    stream: MockStreamLog,
    login_attempts: MockLoginAttemptStore,
    report_ledger: MockReportLedger,
    silences: MockSilenceStore,
    settings: MockSettingStore,
}

impl Mocks {
    fn build(self) -> Alerta {
        self.builder().build()
    }

    fn builder(self) -> AlertaBuilder {
        let storage = Storage {
            incidents: Arc::new(self.incidents),
            alerts: Arc::new(self.alerts),
            users: Arc::new(self.users),
            departments: Arc::new(self.departments),
            outbox: Arc::new(self.outbox),
            idempotency: Arc::new(self.idempotency),
            stream: Arc::new(self.stream),
            login_attempts: Arc::new(self.login_attempts),
            report_ledger: Arc::new(self.report_ledger),
            silences: Arc::new(self.silences),
            settings: Arc::new(self.settings),
            limits: StorageLimits::UNBOUNDED,
        };
        Alerta::builder(storage, Arc::new(self.blobs), Arc::new(self.broadcaster))
    }
}

/// What a store returns for an incident change: positions from 1 for each of its stream
/// messages (one per audience).
fn one_position() -> Appended {
    Appended {
        epoch: 1,
        first: 1,
        count: 1,
    }
}

fn positions_for(change: &IncidentChange) -> Appended {
    Appended {
        epoch: 1,
        first: 1,
        count: change.stream_messages().len() as u64,
    }
}

fn user(role: Role) -> User {
    User {
        id: UserId::parse("U1").unwrap(),
        email: Email::parse("u1@campus.edu").unwrap(),
        name: PersonName::parse("Uno").unwrap(),
        role,
        created_at: Timestamp::from_unix_millis(0),
    }
}

/// An incident as a store would hand it back, at `version` and in `status`.
fn incident(version: u64, status: Status) -> Incident {
    Incident::restore(IncidentParts {
        id: IncidentId::parse("I1").unwrap(),
        kind: "otro".into(),
        description: Description::parse("algo").unwrap(),
        location: Location::parse("Biblioteca").unwrap(),
        urgency: Urgency::Medium,
        status,
        department: None,
        reported_by: UserId::parse("U9").unwrap(),
        created_at: Timestamp::from_unix_millis(0),
        updated_at: Timestamp::from_unix_millis(0),
        resolved_at: None,
        version,
        alert_id: None,
    })
}

fn draft(app: &Alerta) -> IncidentDraft {
    app.parse_draft("otro", "Una silla rota", "Biblioteca", "baja")
        .unwrap()
}

fn unavailable() -> Error {
    Error::unavailable("test store", std::io::Error::other("connection reset"))
}

fn move_to(to: Status, version: Option<u64>) -> StatusChange {
    StatusChange {
        to,
        note: None,
        expected_version: version,
    }
}

#[tokio::test]
async fn a_failing_broadcaster_never_fails_the_request() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_commit()
        .times(1)
        .returning(|change| Ok(positions_for(&change)));
    mocks
        .broadcaster
        .expect_publish()
        .times(1)
        .returning(|_| Err(unavailable()));
    let app = mocks.build();
    let actor = user(Role::Student);
    let created = app.report_incident(&actor, draft(&app), None).await;
    let created = created.expect("the incident is stored even though broadcasting failed");
    assert_eq!(created.status(), Status::Pending);
    assert_eq!(created.version(), 1);
}

#[tokio::test]
async fn an_unavailable_store_is_unavailable_without_its_source_in_the_message() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incidents()
        .returning(|_, _| Err(unavailable()));
    let app = mocks.build();
    let err = app
        .list_incidents(&user(Role::Staff), &Default::default(), &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(!err.public_message().contains("connection reset"));
}

#[tokio::test]
async fn a_stale_version_is_refused_before_anything_is_written() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incident()
        .returning(|_| Ok(Some(incident(3, Status::Pending))));
    mocks.incidents.expect_commit().times(0);
    mocks.broadcaster.expect_publish().times(0);
    let app = mocks.build();
    let err = app
        .change_status(
            &user(Role::Staff),
            &IncidentId::parse("I1").unwrap(),
            move_to(Status::InProgress, Some(2)),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(err.code(), "stale_version");
}

#[tokio::test]
async fn a_store_conflict_reaches_a_caller_who_named_a_version() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incident()
        .returning(|_| Ok(Some(incident(2, Status::Pending))));
    mocks
        .incidents
        .expect_commit()
        .times(1)
        .returning(|_| Err(Error::stale_version()));
    mocks.broadcaster.expect_publish().times(0);
    let app = mocks.build();
    let err = app
        .change_status(
            &user(Role::Admin),
            &IncidentId::parse("I1").unwrap(),
            move_to(Status::InProgress, Some(2)),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "stale_version");
}

#[tokio::test]
async fn a_lost_race_without_a_version_is_planned_again_on_the_new_state() {
    let mut mocks = Mocks::default();
    let mut reads = 0;
    mocks
        .incidents
        .expect_incident()
        .times(2)
        .returning(move |_| {
            reads += 1;
            Ok(Some(incident(reads, Status::Pending)))
        });
    let mut commits = 0;
    mocks
        .incidents
        .expect_commit()
        .times(2)
        .returning(move |change| {
            commits += 1;
            if commits == 1 {
                Err(Error::stale_version())
            } else {
                assert_eq!(change.expected_version, Some(2));
                assert_eq!(change.incident.version(), 3);
                Ok(positions_for(&change))
            }
        });
    mocks
        .broadcaster
        .expect_publish()
        .times(1)
        .returning(|_| Ok(()));
    let app = mocks.build();
    let changed = app
        .change_status(
            &user(Role::Staff),
            &IncidentId::parse("I1").unwrap(),
            move_to(Status::InProgress, None),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (changed.status(), changed.version()),
        (Status::InProgress, 3)
    );
}

#[tokio::test]
async fn an_invalid_transition_is_a_conflict_and_writes_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incident()
        .returning(|_| Ok(Some(incident(4, Status::Resolved))));
    mocks.incidents.expect_commit().times(0);
    let app = mocks.build();
    let err = app
        .change_status(
            &user(Role::Staff),
            &IncidentId::parse("I1").unwrap(),
            move_to(Status::Pending, None),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_transition");
}

/// The stored history of incident `I1` (reported by `U9`): its report, a staff comment, a
/// status change by staff, and a photo.
fn stored_history() -> Vec<IncidentEvent> {
    let event = |n: u64, actor: &str, change: Change| IncidentEvent {
        event_id: crate::domain::EventId::parse(&format!("E{n}")).unwrap(),
        incident_id: IncidentId::parse("I1").unwrap(),
        change,
        actor: UserId::parse(actor).unwrap(),
        created_at: Timestamp::from_unix_millis(n as i64),
    };
    vec![
        event(1, "U9", Change::Created {}),
        event(
            2,
            "U1",
            Change::CommentAdded {
                text: crate::domain::CommentText::parse("only for staff").unwrap(),
            },
        ),
        event(
            3,
            "U1",
            Change::StatusChanged {
                from: Status::Pending,
                to: Status::InProgress,
                note: None,
            },
        ),
        event(
            4,
            "U9",
            Change::AttachmentAdded {
                attachment_id: crate::domain::AttachmentId::parse("A1").unwrap(),
                filename: "foto.png".into(),
            },
        ),
    ]
}

#[tokio::test]
async fn the_reporter_reads_their_history_without_comments_or_who_made_each_change() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incident()
        .returning(|_| Ok(Some(incident(3, Status::InProgress))));
    mocks
        .incidents
        .expect_history()
        .times(2)
        .returning(|_| Ok(stored_history()));
    let app = mocks.build();
    let id = IncidentId::parse("I1").unwrap();
    let mut reporter = user(Role::Student);
    reporter.id = UserId::parse("U9").unwrap();

    let theirs = app.history(&reporter, &id).await.unwrap();
    let seen: Vec<_> = theirs.iter().map(|view| view.event().clone()).collect();
    let mut expected = stored_history();
    expected.remove(1);
    assert_eq!(seen, expected);
    assert!(theirs.iter().all(|view| !view.shows_actor()));
    let wire = serde_json::to_value(&theirs).unwrap();
    assert!(
        wire.as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"].is_null())
    );

    let whole = app.history(&user(Role::Staff), &id).await.unwrap();
    assert_eq!(whole.len(), 4);
    assert!(whole.iter().all(|view| view.shows_actor()));

    // Another student: refused before the history is read (`times(2)` above).
    let err = app.history(&user(Role::Student), &id).await.unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
}

#[tokio::test]
async fn roles_are_checked_before_any_port_is_used() {
    let app = Mocks::default().build();
    let student = user(Role::Student);
    let staff = user(Role::Staff);
    let id = IncidentId::parse("I1").unwrap();
    let forbidden = |r: Result<_, Error>| matches!(r, Err(Error::Forbidden(_)));
    assert!(forbidden(
        app.change_status(&student, &id, move_to(Status::InProgress, None), None)
            .await
            .map(|_| ())
    ));
    assert!(forbidden(
        app.comment(
            &student,
            &id,
            crate::domain::CommentText::parse("x").unwrap(),
            None
        )
        .await
        .map(|_| ())
    ));
    assert!(forbidden(app.staff_stats(&student).await.map(|_| ())));
    let name = crate::domain::DepartmentName::parse("TI").unwrap();
    assert!(forbidden(
        app.assign_department(&staff, &id, name.clone(), None)
            .await
            .map(|_| ())
    ));
    let new = crate::domain::NewUser::parse("x@campus.edu", "password1", "X", Role::Admin).unwrap();
    assert!(forbidden(
        app.create_user(&staff, new, None).await.map(|_| ())
    ));
}

/// A record of `operation` answering `response`, as a store would hand it back.
fn completed(
    claim: &IdempotencyClaim,
    operation: &str,
    response: serde_json::Value,
) -> Reservation {
    Reservation::Completed(IdempotencyRecord {
        owner: claim.owner.clone(),
        key: claim.key.clone(),
        operation: operation.into(),
        response,
        created_at: Timestamp::from_unix_millis(0),
    })
}

#[tokio::test]
async fn an_idempotency_replay_returns_the_first_result_without_writing() {
    let mut mocks = Mocks::default();
    let first = incident(1, Status::Pending);
    let stored = first.clone();
    mocks.idempotency.expect_reserve().returning(move |claim| {
        Ok(completed(
            claim,
            "incident.create",
            serde_json::to_value(&stored).unwrap(),
        ))
    });
    mocks.idempotency.expect_complete().times(0);
    mocks.incidents.expect_commit().times(0);
    let app = mocks.build();
    let key = IdempotencyKey::parse("k1").unwrap();
    let replayed = app
        .report_incident(&user(Role::Student), draft(&app), Some(&key))
        .await
        .unwrap();
    assert_eq!(replayed, first);
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_operation_is_a_conflict() {
    let mut mocks = Mocks::default();
    mocks
        .idempotency
        .expect_reserve()
        .returning(|claim| Ok(completed(claim, "alert.create", json!({}))));
    mocks.incidents.expect_commit().times(0);
    let app = mocks.build();
    let key = IdempotencyKey::parse("k1").unwrap();
    let err = app
        .report_incident(&user(Role::Student), draft(&app), Some(&key))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "idempotency_key_reused");
}

#[tokio::test]
async fn a_request_waits_for_a_concurrent_one_with_its_key_and_answers_as_it_did() {
    let mut mocks = Mocks::default();
    let first = incident(1, Status::Pending);
    let stored = first.clone();
    let mut seq = mockall::Sequence::new();
    // Another request holds the key twice in a row, then has completed it.
    mocks
        .idempotency
        .expect_reserve()
        .times(2)
        .in_sequence(&mut seq)
        .returning(|claim| {
            Ok(Reservation::Pending {
                operation: "incident.create".into(),
                lease_until: claim.now.plus(std::time::Duration::from_secs(60)),
            })
        });
    mocks
        .idempotency
        .expect_reserve()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |claim| {
            Ok(completed(
                claim,
                "incident.create",
                serde_json::to_value(&stored).unwrap(),
            ))
        });
    mocks.incidents.expect_commit().times(0);
    let app = mocks.build();
    let key = IdempotencyKey::parse("k1").unwrap();
    let answer = app
        .report_incident(&user(Role::Student), draft(&app), Some(&key))
        .await
        .expect("the first request's result");
    assert_eq!(answer, first);
}

#[tokio::test]
async fn a_failed_write_releases_its_key_and_records_nothing() {
    let mut mocks = Mocks::default();
    let holder: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let reserved = Arc::clone(&holder);
    mocks
        .idempotency
        .expect_reserve()
        .times(1)
        .returning(move |claim| {
            assert_eq!(claim.lease, std::time::Duration::from_secs(60));
            assert_eq!(claim.max_age, std::time::Duration::from_secs(24 * 3600));
            *reserved.lock().unwrap() = Some(claim.holder.clone());
            Ok(Reservation::Reserved)
        });
    mocks
        .incidents
        .expect_commit()
        .times(1)
        .returning(|_| Err(unavailable()));
    mocks.idempotency.expect_complete().times(0);
    let released = Arc::clone(&holder);
    mocks
        .idempotency
        .expect_release()
        .times(1)
        .returning(move |owner, key, by| {
            assert_eq!((owner, key.as_str()), ("U1", "k1"));
            assert_eq!(Some(by.to_owned()), *released.lock().unwrap());
            Ok(())
        });
    let app = mocks.build();
    let key = IdempotencyKey::parse("k1").unwrap();
    let err = app
        .report_incident(&user(Role::Student), draft(&app), Some(&key))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_completed_write_records_its_result_under_the_reservation() {
    let mut mocks = Mocks::default();
    mocks
        .idempotency
        .expect_reserve()
        .times(1)
        .returning(|_| Ok(Reservation::Reserved));
    mocks
        .incidents
        .expect_commit()
        .times(1)
        .returning(|change| Ok(positions_for(&change)));
    mocks.broadcaster.expect_publish().returning(|_| Ok(()));
    mocks
        .idempotency
        .expect_complete()
        .times(1)
        .returning(|record, _| {
            assert_eq!(record.operation, "incident.create");
            assert_eq!(record.response["estado"], "pendiente");
            Ok(true)
        });
    mocks.idempotency.expect_release().times(0);
    let app = mocks.build();
    let key = IdempotencyKey::parse("k1").unwrap();
    app.report_incident(&user(Role::Student), draft(&app), Some(&key))
        .await
        .expect("stored");
}

/// Makes `mock` count failures in one map, as a store would.
fn count_in_a_map(mock: &mut MockLoginAttemptStore) {
    use crate::ports::{FailureWindow, LoginKey};
    use std::collections::HashMap;
    use std::sync::Mutex;
    let windows: Arc<Mutex<HashMap<LoginKey, FailureWindow>>> = Arc::default();
    let counted = Arc::clone(&windows);
    mock.expect_count_failure()
        .returning(move |key, now, window| {
            let mut windows = counted.lock().unwrap();
            let fresh = FailureWindow {
                failures: 0,
                started_at: now,
                last_failed_at: now,
            };
            let entry = windows.entry(key.clone()).or_insert(fresh);
            if !entry.is_open(now, window) {
                *entry = fresh;
            }
            entry.failures += 1;
            entry.last_failed_at = entry.last_failed_at.max(now);
            Ok(*entry)
        });
    mock.expect_open_window()
        .returning(move |key, now, window| {
            let windows = windows.lock().unwrap();
            Ok(windows.get(key).copied().filter(|w| w.is_open(now, window)))
        });
    mock.expect_clear_failures().returning(|_| Ok(()));
}

/// A student account `email` with the password `password123`, as the user store holds it.
fn student_record(email: &str) -> crate::domain::UserRecord {
    crate::domain::UserRecord {
        user: User {
            email: Email::parse(email).unwrap(),
            ..user(Role::Student)
        },
        password_hash: crate::domain::Password::parse("password123")
            .unwrap()
            .hash(),
        disabled: false,
    }
}

/// An application over mocks that count failures in a map and know the students `emails`,
/// on a clock the test moves.
fn throttled_app(emails: &[&str], policy: LoginPolicy) -> (Alerta, Arc<crate::ports::ManualClock>) {
    let mut mocks = Mocks::default();
    let records: Vec<_> = emails.iter().map(|e| student_record(e)).collect();
    mocks
        .users
        .expect_user_by_email()
        .returning(move |email| Ok(records.iter().find(|r| r.user.email == *email).cloned()));
    mocks.users.expect_create_session().returning(|_| Ok(()));
    count_in_a_map(&mut mocks.login_attempts);
    let clock = Arc::new(crate::ports::ManualClock::new(Timestamp::from_unix_millis(
        1_700_000_000_000,
    )));
    let settings = Settings {
        login: policy,
        ..Settings::default()
    };
    let app = mocks
        .builder()
        .clock(clock.clone())
        .settings(settings)
        .build();
    (app, clock)
}

fn retry_after(result: Result<Login>) -> u64 {
    match result {
        Err(Error::RateLimited { retry_after_s }) => retry_after_s,
        other => panic!("expected a lockout, got {other:?}"),
    }
}

#[tokio::test]
async fn one_accounts_failures_never_lock_out_another_account_from_the_same_address() {
    let (app, _clock) = throttled_app(
        &["ana@campus.edu", "luis@campus.edu"],
        LoginPolicy::default(),
    );
    let campus: std::net::IpAddr = "203.0.113.50".parse().unwrap();
    for _ in 0..20 {
        let result = app
            .login("ana@campus.edu", "wrong guess", Some(campus))
            .await;
        assert!(
            matches!(
                result,
                Err(Error::Unauthenticated | Error::RateLimited { .. })
            ),
            "{result:?}"
        );
    }
    retry_after(
        app.login("ana@campus.edu", "password123", Some(campus))
            .await,
    );
    let luis = app
        .login("luis@campus.edu", "password123", Some(campus))
        .await
        .expect("another student on the same address logs in");
    assert_eq!(luis.user.email.as_str(), "luis@campus.edu");
}

#[tokio::test]
async fn an_accounts_lockout_doubles_with_each_further_failure_up_to_the_cap() {
    let (app, clock) = throttled_app(&["ana@campus.edu"], LoginPolicy::default());
    for _ in 0..5 {
        let result = app.login("ana@campus.edu", "wrong guess", None).await;
        assert!(matches!(result, Err(Error::Unauthenticated)), "{result:?}");
    }
    let mut expected = 30;
    for _ in 0..8 {
        assert_eq!(
            retry_after(app.login("ana@campus.edu", "password123", None).await),
            expected,
            "even the right password waits out the lockout"
        );
        // Attempts while locked are refused uncounted: the lockout does not grow by them.
        clock.advance(std::time::Duration::from_secs(expected / 2));
        assert_eq!(
            retry_after(app.login("ana@campus.edu", "wrong guess", None).await),
            expected - expected / 2
        );
        clock.advance(std::time::Duration::from_secs(expected - expected / 2));
        let result = app.login("ana@campus.edu", "wrong guess", None).await;
        assert!(matches!(result, Err(Error::Unauthenticated)), "{result:?}");
        expected = (expected * 2).min(15 * 60);
    }
    clock.advance(std::time::Duration::from_secs(15 * 60));
    app.login("ana@campus.edu", "password123", None)
        .await
        .expect("after the lockout the right password works");
}

#[tokio::test]
async fn an_address_is_refused_past_its_own_far_higher_limit() {
    let policy = LoginPolicy {
        client_max_failures: 10,
        ..LoginPolicy::default()
    };
    let (app, clock) = throttled_app(&["ana@campus.edu"], policy);
    let attacker: std::net::IpAddr = "198.51.100.66".parse().unwrap();
    // One guess on each of ten accounts: no account is locked, the address is spent.
    for n in 0..10 {
        let result = app
            .login(&format!("u{n}@campus.edu"), "guess", Some(attacker))
            .await;
        assert!(matches!(result, Err(Error::Unauthenticated)), "{result:?}");
    }
    assert_eq!(
        retry_after(app.login("u99@campus.edu", "guess", Some(attacker)).await),
        15 * 60
    );
    app.login(
        "ana@campus.edu",
        "password123",
        Some("192.0.2.1".parse().unwrap()),
    )
    .await
    .expect("other addresses are not held back");
    clock.advance(std::time::Duration::from_secs(15 * 60));
    app.login("ana@campus.edu", "password123", Some(attacker))
        .await
        .expect("the address may try again once its window ended");
}

#[tokio::test]
async fn login_failures_are_rate_limited_per_account() {
    let mut mocks = Mocks::default();
    mocks.users.expect_user_by_email().returning(|_| Ok(None));
    count_in_a_map(&mut mocks.login_attempts);
    let app = mocks.build();
    for _ in 0..5 {
        let err = app
            .login("nadie@campus.edu", "wrong password", None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthenticated), "{err:?}");
    }
    let err = app
        .login("NADIE@campus.edu", "wrong password", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { .. }),
        "the sixth failure within the window is refused: {err:?}"
    );
}

#[tokio::test]
async fn a_login_is_refused_as_unavailable_when_its_failures_cannot_be_read() {
    let mut mocks = Mocks::default();
    mocks
        .login_attempts
        .expect_open_window()
        .times(1)
        .returning(|_, _, _| Err(unavailable()));
    mocks.login_attempts.expect_count_failure().times(0);
    mocks.login_attempts.expect_clear_failures().times(0);
    // Refused before the password is looked at: a store that cannot tell the counts must
    // not turn into unlimited guesses.
    mocks.users.expect_user_by_email().times(0);
    mocks.users.expect_create_session().times(0);
    let app = mocks.build();
    let err = app
        .login(
            "ana@campus.edu",
            "password123",
            Some("192.0.2.1".parse().unwrap()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(!err.public_message().contains("connection reset"));
}

#[tokio::test]
async fn a_failure_that_cannot_be_counted_is_unavailable_not_unauthenticated() {
    let mut mocks = Mocks::default();
    mocks.users.expect_user_by_email().returning(|_| Ok(None));
    mocks
        .login_attempts
        .expect_open_window()
        .returning(|_, _, _| Ok(None));
    mocks
        .login_attempts
        .expect_count_failure()
        .times(1)
        .returning(|_, _, _| Err(unavailable()));
    let app = mocks.build();
    let err = app
        .login("nadie@campus.edu", "wrong password", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failure_counted_through_another_instance_locks_this_one_out() {
    let mut mocks = Mocks::default();
    let started = Timestamp::from_unix_millis(1_000);
    // What the shared store holds: seven failures, counted through any instance.
    mocks
        .login_attempts
        .expect_open_window()
        .returning(move |_, _, _| {
            Ok(Some(crate::ports::FailureWindow {
                failures: 7,
                started_at: started,
                last_failed_at: started.plus(std::time::Duration::from_secs(50)),
            }))
        });
    mocks.users.expect_user_by_email().times(0);
    let clock = Arc::new(crate::ports::ManualClock::new(
        started.plus(std::time::Duration::from_secs(60)),
    ));
    let app = mocks.builder().clock(clock).build();
    let err = app
        .login("ana@campus.edu", "password123", None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after_s: 110 }),
        "refused for the seventh failure's 120 s from that failure: {err:?}"
    );
}

#[tokio::test]
async fn a_right_password_logs_in_even_when_its_failures_cannot_be_cleared() {
    let mut mocks = Mocks::default();
    let record = crate::domain::UserRecord {
        user: user(Role::Student),
        password_hash: crate::domain::Password::parse("password123")
            .unwrap()
            .hash(),
        disabled: false,
    };
    mocks
        .users
        .expect_user_by_email()
        .returning(move |_| Ok(Some(record.clone())));
    mocks
        .users
        .expect_create_session()
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .login_attempts
        .expect_open_window()
        .returning(|_, _, _| Ok(None));
    mocks
        .login_attempts
        .expect_clear_failures()
        .times(1)
        .returning(|_| Err(unavailable()));
    let app = mocks.build();
    let login = app
        .login("u1@campus.edu", "password123", None)
        .await
        .expect("the password was right; the count only runs out with its window");
    assert_eq!(login.user.email.as_str(), "u1@campus.edu");
}

mod accounts;
mod ack_links;
mod alerts;
mod daily_stats;
mod receivers;
mod response_times;
mod retention;
mod silences;
