//! The use cases end to end over the memory adapters.

use std::sync::Arc;

use alerta_adapters::memory::{MemoryBlobStore, MemoryStore, RecordingBroadcaster};
use alerta_adapters::status_code;
use alerta_core::domain::{
    Change, CommentText, Department, DepartmentName, Email, IncidentEvent, Lifecycle, MailState,
    NewUser, PageRequest, Role, Status, StreamKind, User,
};
use alerta_core::{Alerta, Error, Settings, StatusChange};
use proptest::prelude::*;

struct World {
    app: Alerta,
    broadcaster: Arc<RecordingBroadcaster>,
    admin: User,
    staff: User,
    student: User,
}

async fn world() -> World {
    let broadcaster = Arc::new(RecordingBroadcaster::new());
    let settings = Settings {
        alert_recipients: vec![Email::parse("ops@campus.edu").unwrap()],
        ..Settings::default()
    };
    let app = Alerta::builder(
        alerta_core::ports::Storage::from_backend(Arc::new(MemoryStore::new())),
        Arc::new(MemoryBlobStore::new()),
        broadcaster.clone(),
    )
    .settings(settings)
    .build();
    let add = |email: &str, role| NewUser::parse(email, "password123", "Persona", role).unwrap();
    let admin = app
        .add_user(add("admin@campus.edu", Role::Admin))
        .await
        .unwrap();
    let staff = app
        .add_user(add("staff@campus.edu", Role::Staff))
        .await
        .unwrap();
    let student = app
        .register(add("ana@campus.edu", Role::Admin))
        .await
        .unwrap();
    for name in ["Mantenimiento", "TI"] {
        app.add_department(Department {
            name: DepartmentName::parse(name).unwrap(),
            email: Email::parse(&format!("{}@campus.edu", name.to_lowercase())).unwrap(),
        })
        .await
        .unwrap();
    }
    World {
        app,
        broadcaster,
        admin,
        staff,
        student,
    }
}

#[tokio::test]
async fn registration_always_makes_students() {
    let w = world().await;
    assert_eq!(w.student.role, Role::Student);
}

#[tokio::test]
async fn report_assign_resolve_writes_history_mail_and_stream() {
    let w = world().await;
    let app = &w.app;
    let draft = app
        .parse_draft("infraestructura", "Fuga en el baño", "Pabellón A", "alta")
        .unwrap();
    let incident = app.report_incident(&w.student, draft, None).await.unwrap();
    let dept = DepartmentName::parse("Mantenimiento").unwrap();
    app.assign_department(&w.admin, incident.id(), dept.clone(), None)
        .await
        .unwrap();
    let comment = CommentText::parse("<b>vamos</b>").unwrap();
    app.comment(&w.staff, incident.id(), comment, None)
        .await
        .unwrap();
    let change = StatusChange {
        to: Status::Resolved,
        note: None,
        expected_version: Some(3),
    };
    let resolved = app
        .change_status(&w.staff, incident.id(), change, None)
        .await
        .unwrap();
    assert_eq!(
        (resolved.status(), resolved.version()),
        (Status::Resolved, 4)
    );
    assert_eq!(resolved.department(), Some(&dept));

    let history = app.history(&w.staff, incident.id()).await.unwrap();
    let kinds: Vec<&str> = history
        .iter()
        .map(|e| e.event().change.kind().as_str())
        .collect();
    assert_eq!(
        kinds,
        ["creado", "asignacion", "comentario", "cambio_estado"]
    );

    let mails = app
        .storage()
        .outbox
        .mails(Some(MailState::Pending), &PageRequest::default())
        .await
        .unwrap()
        .items;
    let recipients: Vec<&str> = mails.iter().map(|m| m.message.to[0].as_str()).collect();
    assert_eq!(recipients, ["ana@campus.edu", "mantenimiento@campus.edu"]);
    let assignment = &mails[1].message;
    assert!(
        assignment
            .text
            .contains("reportes/incidentes/Mantenimiento/incidente_")
    );
    assert!(
        assignment.html.contains("&lt;b&gt;vamos&lt;/b&gt;")
            || !assignment.html.contains("<b>vamos")
    );

    // What staff see: every change once (students get their own variant of most).
    let kinds: Vec<StreamKind> = w
        .broadcaster
        .messages()
        .iter()
        .filter(|m| m.audience != alerta_core::domain::Audience::Students)
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            StreamKind::IncidentCreated,
            StreamKind::IncidentDepartmentAssigned,
            StreamKind::IncidentCommentAdded,
            StreamKind::IncidentStatusChanged
        ]
    );
}

#[tokio::test]
async fn critical_alerts_are_mailed_in_the_same_step_and_info_is_not() {
    let w = world().await;
    let drafts = ["info", "critical", "error", "warning"]
        .iter()
        .map(|s| {
            alerta_core::domain::AlertDraft::parse(
                "sensor_01",
                s,
                "disk",
                alerta_core::domain::Channel::Tcp,
            )
            .unwrap()
        })
        .collect();
    let stored = w.app.ingest_alerts(drafts).await.unwrap();
    assert_eq!(stored.len(), 4);
    let mails = w
        .app
        .storage()
        .outbox
        .mails(None, &PageRequest::default())
        .await
        .unwrap()
        .items;
    let subjects: Vec<&str> = mails.iter().map(|m| m.message.subject.as_str()).collect();
    assert_eq!(
        subjects,
        ["[ERROR] Alerta: sensor_01", "[CRITICAL] Alerta: sensor_01"]
    );
}

#[tokio::test]
async fn every_committed_message_is_in_the_log_as_published() {
    let w = world().await;
    let app = &w.app;
    let head = app.stream_head().await.unwrap();
    let draft = app
        .parse_draft("otro", "Ruido", "Biblioteca", "baja")
        .unwrap();
    let incident = app.report_incident(&w.student, draft, None).await.unwrap();
    app.comment(
        &w.staff,
        incident.id(),
        CommentText::parse("visto").unwrap(),
        None,
    )
    .await
    .unwrap();
    let alert = alerta_core::domain::AlertDraft::parse(
        "s",
        "info",
        "m",
        alerta_core::domain::Channel::Http,
    )
    .unwrap();
    app.ingest_alerts(vec![alert]).await.unwrap();
    let published = w.broadcaster.batches();
    assert_eq!(published.len(), 3, "one batch per write");
    let logged = app.read_stream(head.head, 100).await.unwrap();
    let expected: Vec<(u64, alerta_core::domain::StreamMessage)> = published
        .into_iter()
        .flat_map(|batch| batch.entries())
        .map(|e| (e.position, e.message))
        .collect();
    assert_eq!(
        logged
            .into_iter()
            .map(|e| (e.position, e.message))
            .collect::<Vec<_>>(),
        expected,
        "the log holds what was published, at the positions published"
    );
    assert_eq!(
        expected
            .iter()
            .filter(|(_, m)| m.audience != alerta_core::domain::Audience::Students)
            .map(|(_, m)| m.kind)
            .collect::<Vec<_>>(),
        [
            StreamKind::IncidentCreated,
            StreamKind::IncidentCommentAdded,
            StreamKind::Alert
        ]
    );
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_and_logins_work() {
    let w = world().await;
    let again = NewUser::parse("ANA@campus.edu", "password123", "Otra", Role::Student).unwrap();
    let err = w.app.register(again).await.unwrap_err();
    assert_eq!(
        (status_code::of(&err), err.code().as_str()),
        (409, "duplicate")
    );
    let login = w
        .app
        .login("Ana@Campus.edu", "password123", None)
        .await
        .unwrap();
    let me = w.app.authenticate(login.token.expose()).await.unwrap();
    assert_eq!(me.id, w.student.id);
    w.app.logout(login.token.expose()).await.unwrap();
    assert!(matches!(
        w.app.authenticate(login.token.expose()).await,
        Err(Error::Unauthenticated)
    ));
}

/// One step of a random walk over an incident's life.
#[derive(Clone, Debug)]
enum Step {
    Move(Status),
    Comment,
    Assign(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        prop::sample::select(Status::ALL.to_vec()).prop_map(Step::Move),
        Just(Step::Comment),
        any::<bool>().prop_map(Step::Assign),
    ]
}

/// Rebuilds status, department and version from the history alone.
fn replay(history: &[IncidentEvent]) -> (Status, Option<DepartmentName>, u64) {
    let mut status = Status::Pending;
    let mut department = None;
    for event in history {
        match &event.change {
            Change::StatusChanged { from, to, .. } => {
                assert_eq!(*from, status, "each move starts where the last one ended");
                assert!(from.can_move_to(*to), "only allowed moves are recorded");
                status = *to;
            }
            Change::DepartmentAssigned { department: name } => department = Some(name.clone()),
            _ => {}
        }
    }
    (status, department, history.len() as u64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn replaying_the_history_yields_the_current_state(steps in prop::collection::vec(step(), 0..24)) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let w = world().await;
            let app = &w.app;
            let draft = app.parse_draft("otro", "Paso a paso", "Biblioteca", "media").unwrap();
            let incident = app.report_incident(&w.student, draft, None).await.unwrap();
            for step in steps {
                let before = app.incident(&w.staff, incident.id()).await.unwrap();
                let result = match step {
                    Step::Move(to) => app
                        .change_status(&w.staff, incident.id(), StatusChange { to, note: None, expected_version: None }, None)
                        .await
                        .map(|_| ()),
                    Step::Comment => app
                        .comment(&w.staff, incident.id(), CommentText::parse("nota").unwrap(), None)
                        .await
                        .map(|_| ()),
                    Step::Assign(first) => {
                        let name = if first { "Mantenimiento" } else { "TI" };
                        app.assign_department(&w.admin, incident.id(), DepartmentName::parse(name).unwrap(), None)
                            .await
                            .map(|_| ())
                    }
                };
                if let Err(err) = result {
                    assert_eq!(
                        status_code::of(&err),
                        409,
                        "only conflicts are expected: {err}"
                    );
                    let after = app.incident(&w.staff, incident.id()).await.unwrap();
                    assert_eq!(after, before, "a refused step changes nothing");
                }
            }
            let current = app.incident(&w.staff, incident.id()).await.unwrap();
            let current = current.incident();
            let history: Vec<_> = app
                .history(&w.staff, incident.id())
                .await
                .unwrap()
                .into_iter()
                .map(|view| view.event().clone())
                .collect();
            let (status, department, version) = replay(&history);
            assert_eq!(status, current.status());
            assert_eq!(department.as_ref(), current.department());
            assert_eq!(version, current.version());
        });
    }
}
