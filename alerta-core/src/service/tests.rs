//! Failure paths of the use cases, with mocked ports.

use std::sync::Arc;

use mockall::predicate::always;
use serde_json::json;

use super::*;
use crate::domain::{
    Appended, Description, Email, IdempotencyRecord, Incident, IncidentDraft, IncidentId,
    IncidentParts, Location, PersonName, Status, Timestamp, Urgency, UserId,
};
use crate::ports::{
    MockAlertStore, MockBlobStore, MockBroadcaster, MockDepartmentStore, MockIdempotencyStore,
    MockIncidentStore, MockLoginAttemptStore, MockMailOutbox, MockReportLedger, MockStreamLog,
    MockUserStore, StorageLimits,
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
            limits: StorageLimits::UNBOUNDED,
        };
        Alerta::builder(storage, Arc::new(self.blobs), Arc::new(self.broadcaster))
    }
}

/// What a store returns for a write that appended one stream message.
fn one_position() -> Appended {
    Appended {
        epoch: 1,
        first: 1,
        count: 1,
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
        .returning(|_| Ok(one_position()));
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
                Ok(one_position())
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
    assert!(forbidden(app.history(&student, &id).await.map(|_| ())));
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

#[tokio::test]
async fn an_idempotency_replay_returns_the_first_result_without_writing() {
    let mut mocks = Mocks::default();
    let first = incident(1, Status::Pending);
    let stored = first.clone();
    mocks
        .idempotency
        .expect_record()
        .with(always(), always())
        .returning(move |owner, key| {
            Ok(Some(IdempotencyRecord {
                owner: owner.to_owned(),
                key: key.clone(),
                operation: "incident.create".into(),
                response: serde_json::to_value(&stored).unwrap(),
                created_at: Timestamp::from_unix_millis(0),
            }))
        });
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
    mocks.idempotency.expect_record().returning(|owner, key| {
        Ok(Some(IdempotencyRecord {
            owner: owner.to_owned(),
            key: key.clone(),
            operation: "alert.create".into(),
            response: json!({}),
            created_at: Timestamp::from_unix_millis(0),
        }))
    });
    let app = mocks.build();
    let key = IdempotencyKey::parse("k1").unwrap();
    let err = app
        .report_incident(&user(Role::Student), draft(&app), Some(&key))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "idempotency_key_reused");
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
            let entry = windows.entry(key.clone()).or_insert(FailureWindow {
                failures: 0,
                started_at: now,
            });
            if !entry.is_open(now, window) {
                *entry = FailureWindow {
                    failures: 0,
                    started_at: now,
                };
            }
            entry.failures += 1;
            Ok(*entry)
        });
    mock.expect_open_window()
        .returning(move |key, now, window| {
            let windows = windows.lock().unwrap();
            Ok(windows.get(key).copied().filter(|w| w.is_open(now, window)))
        });
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
    // What the shared store holds: five failures, counted through any instance.
    mocks
        .login_attempts
        .expect_open_window()
        .returning(move |_, _, _| {
            Ok(Some(crate::ports::FailureWindow {
                failures: 5,
                started_at: started,
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
        matches!(err, Error::RateLimited { retry_after_s: 840 }),
        "refused until the shared window ends: {err:?}"
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

mod alerts;
