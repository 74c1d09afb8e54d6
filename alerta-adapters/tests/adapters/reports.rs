//! The report job on the local profile's adapters (SQLite and files): content, exactly-once
//! department mail under crashes and concurrent runs, and reassignments.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use alerta_adapters::fs::FsBlobStore;
use alerta_adapters::memory::RecordingBroadcaster;
use alerta_adapters::sqlite::SqliteStore;
use alerta_core::domain::{
    BlobKey, Department, DepartmentName, Email, EventId, GlobalReport, NewUser, OutboxMail,
    PageRequest, Role, Status, Timestamp, User,
};
use alerta_core::ports::{BlobStore, DynReportLedger, ManualClock, ReportLedger, Storage};
use alerta_core::{Alerta, Error, ReportRun, Result, StatusChange};
use async_trait::async_trait;
use serde_json::Value;

struct World {
    app: Alerta,
    store: Arc<SqliteStore>,
    blobs: Arc<FsBlobStore>,
    clock: Arc<ManualClock>,
    admin: User,
    student: User,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(dir.path().join("alerta.db"))
            .await
            .unwrap(),
    );
    let blobs = Arc::new(FsBlobStore::new(dir.path().join("blobs")));
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse_rfc3339("2026-11-22T10:15:30Z").unwrap(),
    ));
    let app = Alerta::builder(
        Storage::from_backend(store.clone()),
        blobs.clone(),
        Arc::new(RecordingBroadcaster::new()),
    )
    .clock(clock.clone())
    .build();
    let admin = app
        .add_user(NewUser::parse("admin@campus.edu", "password123", "Admin", Role::Admin).unwrap())
        .await
        .unwrap();
    let student = app
        .register(NewUser::parse("ana@campus.edu", "password123", "Ana", Role::Student).unwrap())
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
        store,
        blobs,
        clock,
        admin,
        student,
        _dir: dir,
    }
}

fn run(holder: &str) -> ReportRun {
    ReportRun {
        holder: holder.into(),
        lease: Duration::from_secs(60),
    }
}

impl World {
    async fn report(&self, kind: &str, urgency: &str) -> alerta_core::domain::Incident {
        let draft = self
            .app
            .parse_draft(kind, "Algo pasó", "Biblioteca", urgency)
            .unwrap();
        self.app
            .report_incident(&self.student, draft, None)
            .await
            .unwrap()
    }

    async fn assign(&self, id: &alerta_core::domain::IncidentId, department: &str) {
        self.app
            .assign_department(
                &self.admin,
                id,
                DepartmentName::parse(department).unwrap(),
                None,
            )
            .await
            .unwrap();
    }

    async fn run_job(&self, holder: &str) -> Result<alerta_core::ReportSummary> {
        self.app.run_reports(&run(holder), &mut |_| {}).await
    }

    /// The same application on the same storage, with `ledger` as its report ledger.
    fn with_ledger(&self, ledger: Arc<DynReportLedger>) -> Alerta {
        let mut storage = self.app.storage().clone();
        storage.report_ledger = ledger;
        Alerta::builder(
            storage,
            self.blobs.clone(),
            Arc::new(RecordingBroadcaster::new()),
        )
        .clock(self.clock.clone())
        .build()
    }

    /// Report-ready mail queued so far, by recipient.
    async fn report_mail(&self) -> BTreeMap<String, usize> {
        let mut by_recipient = BTreeMap::new();
        let mut request = PageRequest::first(500).unwrap();
        loop {
            let page = self
                .app
                .storage()
                .outbox
                .mails(None, &request)
                .await
                .unwrap();
            for mail in &page.items {
                if mail
                    .message
                    .subject
                    .as_str()
                    .contains("reporte del incidente")
                {
                    *by_recipient
                        .entry(mail.message.to[0].to_string())
                        .or_default() += 1;
                }
            }
            match page.next_cursor {
                Some(cursor) => request = PageRequest::after(request.limit, cursor),
                None => return by_recipient,
            }
        }
    }

    async fn json(&self, key: &BlobKey) -> Value {
        let blob = self.blobs.get(key).await.unwrap();
        assert_eq!(blob.content_type, "application/json");
        serde_json::from_slice(&blob.bytes).unwrap()
    }
}

#[tokio::test]
async fn the_global_report_matches_hand_computed_counts() {
    let w = world().await;
    let a = w.report("limpieza", "baja").await;
    let b = w.report("limpieza", "alta").await;
    let _c = w.report("seguridad", "critica").await;
    w.assign(a.id(), "Mantenimiento").await;
    w.app
        .change_status(
            &w.admin,
            b.id(),
            StatusChange {
                to: Status::Resolved,
                note: None,
                expected_version: None,
            },
            None,
        )
        .await
        .unwrap();
    let summary = w.run_job("run-1").await.unwrap();
    assert_eq!(
        summary.global_report,
        "reportes/global/reporte_2026-11-22_10-15.json"
    );
    let report: GlobalReport =
        serde_json::from_value(w.json(&BlobKey::from_stored(summary.global_report)).await).unwrap();
    assert_eq!(report.total, 3);
    let counts = |pairs: &[(&str, u64)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        report.by_status,
        counts(&[("en_proceso", 0), ("pendiente", 2), ("resuelto", 1)])
    );
    assert_eq!(report.by_kind, counts(&[("limpieza", 2), ("seguridad", 1)]));
    assert_eq!(
        report.by_urgency,
        counts(&[("alta", 1), ("baja", 1), ("critica", 1)])
    );
    assert_eq!(
        report.by_department,
        counts(&[("Mantenimiento", 1), ("sin_asignar", 2)])
    );
    assert_eq!(
        report.generated_at,
        alerta_core::ports::Clock::now(w.clock.as_ref())
    );

    let per_assignment = w
        .json(&BlobKey::assignment_report(
            &DepartmentName::parse("Mantenimiento").unwrap(),
            a.id(),
        ))
        .await;
    assert_eq!(per_assignment["incident"]["incident_id"], a.id().as_str());
    let kinds: Vec<&str> = per_assignment["eventos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tipo_evento"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["creado", "asignacion"]);
    assert_eq!(summary.processed, 1);
    assert_eq!(
        w.report_mail().await,
        BTreeMap::from([("mantenimiento@campus.edu".to_string(), 1)])
    );

    let again = w.run_job("run-2").await.unwrap();
    assert_eq!(
        (again.processed, again.already_done),
        (0, 1),
        "a rerun sends nothing twice"
    );
    assert_eq!(w.report_mail().await.values().sum::<usize>(), 1);
}

#[tokio::test]
async fn more_assignments_than_a_page_are_all_processed_once() {
    let w = world().await;
    for n in 0..520 {
        let incident = w.report("otro", "media").await;
        w.assign(
            incident.id(),
            if n % 2 == 0 { "Mantenimiento" } else { "TI" },
        )
        .await;
    }
    let summary = w.run_job("run-1").await.unwrap();
    assert_eq!((summary.processed, summary.total_incidents), (520, 520));
    let mail = w.report_mail().await;
    assert_eq!(
        mail,
        BTreeMap::from([
            ("mantenimiento@campus.edu".to_string(), 260),
            ("ti@campus.edu".to_string(), 260)
        ])
    );
}

/// A ledger that fails once between writing the report and recording the assignment, as a
/// process killed at that moment would.
struct CrashOnce {
    inner: Arc<SqliteStore>,
    crashed: AtomicBool,
}

#[async_trait]
impl ReportLedger for CrashOnce {
    async fn claim_assignment(
        &self,
        event: &EventId,
        holder: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<bool> {
        self.inner.claim_assignment(event, holder, now, lease).await
    }

    async fn complete_assignment(
        &self,
        event: &EventId,
        holder: &str,
        mails: Vec<OutboxMail>,
        now: Timestamp,
    ) -> Result<()> {
        if !self.crashed.swap(true, Ordering::SeqCst) {
            return Err(Error::unavailable(
                "ledger",
                std::io::Error::other("killed"),
            ));
        }
        self.inner
            .complete_assignment(event, holder, mails, now)
            .await
    }

    async fn processed_assignments(&self, events: &[EventId]) -> Result<Vec<EventId>> {
        self.inner.processed_assignments(events).await
    }
}

#[tokio::test]
async fn a_run_that_dies_halfway_is_finished_by_the_next_with_one_mail_each() {
    let w = world().await;
    for _ in 0..3 {
        let incident = w.report("salud", "alta").await;
        w.assign(incident.id(), "TI").await;
    }
    let crashing = w.with_ledger(Arc::new(CrashOnce {
        inner: w.store.clone(),
        crashed: AtomicBool::new(false),
    }));
    assert!(
        crashing
            .run_reports(&run("run-1"), &mut |_| {})
            .await
            .is_err(),
        "the crash fails the run"
    );
    assert_eq!(
        w.report_mail().await.values().sum::<usize>(),
        0,
        "nothing was recorded"
    );

    let early = w.run_job("run-2").await.unwrap();
    assert_eq!(
        (early.processed, early.held_elsewhere),
        (2, 1),
        "the dead run's lease still holds one"
    );
    w.clock.advance(Duration::from_secs(61));
    let late = w.run_job("run-3").await.unwrap();
    assert_eq!((late.processed, late.already_done), (1, 2));
    assert_eq!(
        w.report_mail().await,
        BTreeMap::from([("ti@campus.edu".to_string(), 3)]),
        "exactly one mail per assignment"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_runs_send_one_mail_per_assignment() {
    let w = world().await;
    for _ in 0..40 {
        let incident = w.report("tecnologia", "baja").await;
        w.assign(incident.id(), "TI").await;
    }
    let (a, b) = tokio::join!(w.run_job("run-a"), w.run_job("run-b"));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.processed + b.processed, 40, "{a:?} {b:?}");
    assert_eq!(
        w.report_mail().await,
        BTreeMap::from([("ti@campus.edu".to_string(), 40)])
    );
}

#[tokio::test]
async fn a_reassignment_is_a_new_report_and_a_new_mail() {
    let w = world().await;
    let incident = w.report("infraestructura", "alta").await;
    w.assign(incident.id(), "TI").await;
    w.run_job("run-1").await.unwrap();
    w.assign(incident.id(), "Mantenimiento").await;
    let second = w.run_job("run-2").await.unwrap();
    assert_eq!((second.processed, second.already_done), (1, 1));
    assert_eq!(
        w.report_mail().await,
        BTreeMap::from([
            ("mantenimiento@campus.edu".to_string(), 1),
            ("ti@campus.edu".to_string(), 1)
        ])
    );
    let report = w
        .json(&BlobKey::assignment_report(
            &DepartmentName::parse("Mantenimiento").unwrap(),
            incident.id(),
        ))
        .await;
    assert_eq!(report["incident"]["departamento"], "Mantenimiento");
    assert_eq!(report["eventos"].as_array().unwrap().len(), 3);
}
