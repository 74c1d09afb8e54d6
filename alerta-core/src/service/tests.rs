//! Failure paths of the use cases, with mocked ports.

use std::sync::Arc;

use mockall::predicate::always;
use serde_json::json;

use super::*;
use crate::domain::{
    Description, Email, IdempotencyRecord, Incident, IncidentId, IncidentType, Location,
    PersonName, Status, Timestamp, Urgency, UserId,
};
use crate::ports::{
    MockAlertStore, MockBlobStore, MockBroadcaster, MockDepartmentStore, MockIdempotencyStore,
    MockIncidentStore, MockMailOutbox, MockUserStore,
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
}

impl Mocks {
    fn build(self) -> Alerta {
        let storage = Storage {
            incidents: Arc::new(self.incidents),
            alerts: Arc::new(self.alerts),
            users: Arc::new(self.users),
            departments: Arc::new(self.departments),
            outbox: Arc::new(self.outbox),
            idempotency: Arc::new(self.idempotency),
        };
        Alerta::builder(storage, Arc::new(self.blobs), Arc::new(self.broadcaster)).build()
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

fn incident(version: u64, status: Status) -> Incident {
    Incident {
        id: IncidentId::parse("I1").unwrap(),
        kind: IncidentType::from_stored("otro".into()),
        description: Description::parse("algo").unwrap(),
        location: Location::parse("Biblioteca").unwrap(),
        urgency: Urgency::Media,
        status,
        department: None,
        reported_by: UserId::parse("U9").unwrap(),
        created_at: Timestamp::from_unix_millis(0),
        updated_at: Timestamp::from_unix_millis(0),
        resolved_at: None,
        version,
    }
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
        .returning(|_| Ok(()));
    mocks
        .broadcaster
        .expect_publish()
        .times(1)
        .returning(|_| Err(unavailable()));
    let app = mocks.build();
    let actor = user(Role::Student);
    let created = app.report_incident(&actor, draft(&app), None).await;
    let created = created.expect("the incident is stored even though broadcasting failed");
    assert_eq!(created.status, Status::Pendiente);
    assert_eq!(created.version, 1);
}

#[tokio::test]
async fn an_unavailable_store_is_a_503_without_its_source_in_the_message() {
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
    assert_eq!(err.status(), 503);
    assert!(!err.public_message().contains("connection reset"));
}

#[tokio::test]
async fn a_stale_version_is_refused_before_anything_is_written() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incident()
        .returning(|_| Ok(Some(incident(3, Status::Pendiente))));
    mocks.incidents.expect_commit().times(0);
    mocks.broadcaster.expect_publish().times(0);
    let app = mocks.build();
    let err = app
        .change_status(
            &user(Role::Staff),
            &IncidentId::parse("I1").unwrap(),
            move_to(Status::EnProceso, Some(2)),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.code().as_str()), (409, "stale_version"));
}

#[tokio::test]
async fn a_store_conflict_is_a_409_when_the_caller_named_a_version() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incident()
        .returning(|_| Ok(Some(incident(2, Status::Pendiente))));
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
            move_to(Status::EnProceso, Some(2)),
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
            Ok(Some(incident(reads, Status::Pendiente)))
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
                assert_eq!(change.incident.version, 3);
                Ok(())
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
            move_to(Status::EnProceso, None),
            None,
        )
        .await
        .unwrap();
    assert_eq!((changed.status, changed.version), (Status::EnProceso, 3));
}

#[tokio::test]
async fn an_invalid_transition_is_a_409_and_writes_nothing() {
    let mut mocks = Mocks::default();
    mocks
        .incidents
        .expect_incident()
        .returning(|_| Ok(Some(incident(4, Status::Resuelto))));
    mocks.incidents.expect_commit().times(0);
    let app = mocks.build();
    let err = app
        .change_status(
            &user(Role::Staff),
            &IncidentId::parse("I1").unwrap(),
            move_to(Status::Pendiente, None),
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
        app.change_status(&student, &id, move_to(Status::EnProceso, None), None)
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
    let first = incident(1, Status::Pendiente);
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
async fn an_idempotency_key_reused_for_another_operation_is_a_409() {
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

#[tokio::test]
async fn login_failures_are_rate_limited_per_account() {
    let mut mocks = Mocks::default();
    mocks.users.expect_user_by_email().returning(|_| Ok(None));
    let app = mocks.build();
    for _ in 0..5 {
        let err = app
            .login("nadie@campus.edu", "wrong password", None)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 401);
    }
    let err = app
        .login("NADIE@campus.edu", "wrong password", None)
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        429,
        "the sixth failure within the window is refused"
    );
}
