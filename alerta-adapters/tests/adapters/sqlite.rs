//! The SQLite store against the conformance suites, each check on a fresh database file, and
//! what only a real file can show: durability across reopening, and writers in two pools, as
//! two instances on one database have, sharing changes and the failed-login limit.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alerta_adapters::memory::{MemoryBlobStore, RecordingBroadcaster};
use alerta_adapters::sqlite::{SqliteOptions, SqliteStore};
use alerta_core::conformance::{self, Fixtures};
use alerta_core::domain::{
    AlertFilter, Channel, CommentText, Department, DepartmentName, Email, IdempotencyClaim,
    IdempotencyKey, IdempotencyRecord, IncidentAction, IncidentFilter, NewUser, PageRequest,
    PasswordHash, PersonName, Reservation, Role, SearchText, Session, SessionToken, Severity,
    Status, Urgency, User, UserRecord,
};
use alerta_core::ports::{AlertWrite, LoginKey, Storage};
use alerta_core::{Alerta, ConflictKind, Error, LoginPolicy, Result, Settings};
use tempfile::TempDir;

/// Database files in one temporary directory, a new one per call.
struct Files {
    dir: TempDir,
    made: AtomicUsize,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            made: AtomicUsize::new(0),
        }
    }

    fn next_path(&self) -> PathBuf {
        let n = self.made.fetch_add(1, Ordering::SeqCst);
        self.dir.path().join(format!("check-{n}.db"))
    }

    fn fresh(&self) -> impl Future<Output = Storage> + use<> {
        let path = self.next_path();
        async move { storage(&path).await }
    }
}

async fn storage(path: &Path) -> Storage {
    let store = SqliteStore::open(path).await.expect("open sqlite store");
    Storage::from_backend(Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_incident_store_conforms() {
    let files = Files::new();
    conformance::incident_store(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_alert_store_conforms() {
    let files = Files::new();
    conformance::alert_store(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_alert_retention_conforms() {
    let files = Files::new();
    conformance::alert_retention(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_setting_store_conforms() {
    let files = Files::new();
    conformance::setting_store(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_silence_store_conforms() {
    let files = Files::new();
    conformance::silence_store(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_user_store_conforms() {
    let files = Files::new();
    conformance::user_store(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_outbox_conforms() {
    let files = Files::new();
    conformance::mail_outbox(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_idempotency_store_conforms() {
    let files = Files::new();
    conformance::idempotency_store(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_login_attempt_store_conforms() {
    let files = Files::new();
    conformance::login_attempt_store(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_report_ledger_conforms() {
    let files = Files::new();
    conformance::report_ledger(&|| files.fresh()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_whole_storage_suite_passes() {
    let files = Files::new();
    conformance::storage(|| files.fresh()).await;
}

#[tokio::test]
async fn open_creates_the_file_and_its_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested").join("alerta.db");
    let store = SqliteStore::open(&path).await.expect("open");
    assert!(path.is_file());
    store.close().await;
    // A second open of a migrated file applies nothing and keeps working.
    let again = SqliteStore::open(&path).await.expect("reopen");
    again.close().await;
}

#[tokio::test]
async fn open_fails_as_unavailable_where_no_file_can_be() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"not a directory").expect("write");
    let result = SqliteStore::open(blocker.join("alerta.db")).await;
    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_written_is_there_after_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alerta.db");
    let f = Fixtures::new();

    let reporter = f.user();
    let incident = f.incident(&reporter, "salud", Urgency::Critical, "Desmayo en el aula");
    let creation = f.creation(&incident);
    let resolve = f.move_to(&incident, Status::Resolved);
    let alert = f.alert(
        "sensor_01",
        Severity::Critical,
        Channel::Tcp,
        "Humo detectado",
    );
    let mail = f.mail("ops@campus.edu", "[CRITICAL] Alerta: sensor_01", f.tick());
    let user = UserRecord {
        user: User {
            id: reporter.clone(),
            email: Email::parse("ana@campus.edu").unwrap(),
            name: PersonName::parse("Ana").unwrap(),
            role: Role::Student,
            created_at: f.tick(),
        },
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        ),
        disabled: false,
    };
    let session = Session {
        token_hash: SessionToken::generate().hash(),
        user_id: reporter.clone(),
        created_at: f.tick(),
        expires_at: f.tick(),
    };
    let department = Department {
        name: DepartmentName::parse("Enfermería").unwrap(),
        email: Email::parse("enfermeria@campus.edu").unwrap(),
    };
    let record = IdempotencyRecord {
        owner: reporter.to_string(),
        key: IdempotencyKey::parse("key-1").unwrap(),
        operation: "incident.create".into(),
        response: serde_json::json!({"incident_id": incident.id().as_str()}),
        created_at: f.tick(),
    };

    {
        let store = storage(&path).await;
        store.incidents.commit(creation.clone()).await.unwrap();
        store.incidents.commit(resolve.clone()).await.unwrap();
        store
            .alerts
            .insert(vec![AlertWrite {
                alert: alert.clone(),
                mails: vec![mail.clone()],
            }])
            .await
            .unwrap();
        store.users.create_user(&user).await.unwrap();
        store.users.create_session(&session).await.unwrap();
        store
            .departments
            .create_department(&department)
            .await
            .unwrap();
        let claim = IdempotencyClaim {
            owner: record.owner.clone(),
            key: record.key.clone(),
            operation: record.operation.clone(),
            holder: "holder-1".into(),
            now: record.created_at,
            lease: Duration::from_secs(60),
            max_age: Duration::from_secs(24 * 3600),
        };
        assert_eq!(
            store.idempotency.reserve(&claim).await.unwrap(),
            Reservation::Reserved
        );
        assert!(
            store
                .idempotency
                .complete(&record, "holder-1")
                .await
                .unwrap()
        );
        // Dropped without closing: every write above was committed, so nothing may be lost.
    }

    let store = storage(&path).await;
    let stored = store.incidents.incident(incident.id()).await.unwrap();
    assert_eq!(stored.as_ref(), Some(&resolve.incident));
    assert!(
        stored.unwrap().resolved_at().is_some(),
        "resolved_at, which is not on the wire, is kept"
    );
    let history = store.incidents.history(incident.id()).await.unwrap();
    assert_eq!(
        history,
        [creation.events, resolve.events].concat(),
        "history survives"
    );
    let alerts = store
        .alerts
        .search(&AlertFilter::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(alerts.items, vec![alert]);
    assert_eq!(store.outbox.mail(&mail.id).await.unwrap(), Some(mail));
    assert_eq!(
        store.users.user_by_email(&user.user.email).await.unwrap(),
        Some(user)
    );
    assert_eq!(
        store.users.session(&session.token_hash).await.unwrap(),
        Some(session)
    );
    assert_eq!(
        store.departments.departments().await.unwrap(),
        vec![department]
    );
    assert_eq!(
        store
            .idempotency
            .record(&record.owner, &record.key)
            .await
            .unwrap(),
        Some(record)
    );
    let counts = store.incidents.counts().await.unwrap();
    assert_eq!((counts.total, counts.resolved), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_change_writes_nothing_even_after_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alerta.db");
    let f = Fixtures::new();
    let incident = f.incident(
        &f.user(),
        "tecnologia",
        Urgency::Medium,
        "Sin red en la sala 2",
    );
    let current = {
        let store = storage(&path).await;
        store.incidents.commit(f.creation(&incident)).await.unwrap();
        let first = f.move_to(&incident, Status::InProgress);
        store.incidents.commit(first.clone()).await.unwrap();

        let mut stale = f.move_to(&incident, Status::Resolved);
        stale
            .mails
            .push(f.mail("rep@campus.edu", "resuelto", f.tick()));
        let result = store.incidents.commit(stale).await;
        assert!(
            matches!(
                &result,
                Err(Error::Conflict {
                    kind: ConflictKind::StaleVersion,
                    ..
                })
            ),
            "{result:?}"
        );
        first.incident
    };
    let store = storage(&path).await;
    assert_eq!(
        store.incidents.incident(incident.id()).await.unwrap(),
        Some(current)
    );
    assert_eq!(
        store.incidents.history(incident.id()).await.unwrap().len(),
        2
    );
    let mails = store
        .outbox
        .mails(None, &PageRequest::default())
        .await
        .unwrap();
    assert!(mails.items.is_empty(), "no mail row from a stale change");
}

/// An application on its own pool of the file at `path`, as one `alerta serve` instance of
/// several on one database would run.
async fn instance(path: &Path, settings: Settings) -> Alerta {
    Alerta::builder(
        storage(path).await,
        Arc::new(MemoryBlobStore::new()),
        Arc::new(RecordingBroadcaster::new()),
    )
    .settings(settings)
    .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_file_share_the_failed_login_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alerta.db");
    let settings = Settings {
        login: LoginPolicy {
            account_free_failures: 3,
            client_max_failures: 6,
            ..LoginPolicy::default()
        },
        ..Settings::default()
    };
    let a = instance(&path, settings.clone()).await;
    let b = instance(&path, settings).await;
    for (email, name) in [("ana@campus.edu", "Ana"), ("luis@campus.edu", "Luis")] {
        let new = NewUser::parse(email, "password123", name, Role::Student).unwrap();
        a.register(new).await.unwrap();
    }
    let attacker: IpAddr = "198.51.100.9".parse().unwrap();

    // Three failures through the first instance use up the account's free failures.
    for _ in 0..3 {
        let refused = a
            .login("ana@campus.edu", "wrong guess", Some(attacker))
            .await;
        assert!(
            matches!(refused, Err(Error::Unauthenticated)),
            "{refused:?}"
        );
    }
    // The second instance refuses, the right password too, from anywhere, and says for how
    // long.
    let locked = b
        .login(
            "ANA@campus.edu",
            "password123",
            Some("203.0.113.1".parse().unwrap()),
        )
        .await;
    let Err(Error::RateLimited { retry_after_s }) = locked else {
        panic!("the lockout holds on the other instance: {locked:?}");
    };
    assert_eq!(retry_after_s, 30);
    // Another account from the attacker's address is not held back...
    b.login("luis@campus.edu", "password123", Some(attacker))
        .await
        .expect("another account logs in from the same address");
    // ...until the address's own limit, counted through both instances, is used up.
    for n in 0..3 {
        let refused = b
            .login(&format!("u{n}@campus.edu"), "wrong guess", Some(attacker))
            .await;
        assert!(
            matches!(refused, Err(Error::Unauthenticated)),
            "{refused:?}"
        );
    }
    // The address's window started at its first failure, a few password checks ago.
    let locked = a.login("luis@campus.edu", "x", Some(attacker)).await;
    assert!(
        matches!(locked, Err(Error::RateLimited { retry_after_s }) if retry_after_s > 800 && retry_after_s <= 900),
        "the address is refused on the other instance: {locked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_through_two_instances_at_once_are_each_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alerta.db");
    let settings = Settings {
        login: LoginPolicy {
            account_free_failures: 100,
            client_max_failures: 100,
            ..LoginPolicy::default()
        },
        ..Settings::default()
    };
    let a = instance(&path, settings.clone()).await;
    let b = instance(&path, settings).await;
    let attacker: IpAddr = "198.51.100.10".parse().unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let app = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move {
            app.login("nadie@campus.edu", "wrong guess", Some(attacker))
                .await
        });
    }
    for result in tasks.join_all().await {
        assert!(matches!(result, Err(Error::Unauthenticated)), "{result:?}");
    }
    let now = a.clock().now();
    let policy = &a.settings().login;
    for (key, window) in [
        (LoginKey::account("nadie@campus.edu"), policy.account_window),
        (LoginKey::client(attacker), policy.client_window),
    ] {
        let counted = b
            .storage()
            .login_attempts
            .open_window(&key, now, window)
            .await
            .unwrap()
            .expect("a window");
        assert_eq!(counted.failures, 20, "{key}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_on_one_file_still_let_exactly_one_change_win() {
    // Two stores are two connection pools, as two processes would have: they meet only in
    // SQLite's file locks, which the busy timeout must wait out rather than fail on.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alerta.db");
    let a = storage(&path).await;
    let b = storage(&path).await;
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "seguridad", Urgency::High, "Puerta abierta");
    a.incidents.commit(f.creation(&incident)).await.unwrap();

    let changes: Vec<_> = (0..20)
        .map(|n| {
            f.update(
                &incident,
                IncidentAction::Comment(CommentText::parse(&format!("intento {n}")).unwrap()),
                vec![f.mail("x@campus.edu", &format!("intento {n}"), f.tick())],
            )
        })
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, change) in changes.into_iter().enumerate() {
        let store = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.spawn(async move { store.incidents.commit(change).await });
    }
    let results: Vec<Result<alerta_core::domain::Appended>> = tasks.join_all().await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for result in results.iter().filter(|r| r.is_err()) {
        assert!(
            matches!(
                result,
                Err(Error::Conflict {
                    kind: ConflictKind::StaleVersion,
                    ..
                })
            ),
            "a loser sees a stale version, not a busy database: {result:?}"
        );
    }
    assert_eq!(b.incidents.history(incident.id()).await.unwrap().len(), 2);
    let mails = b.outbox.mails(None, &PageRequest::default()).await.unwrap();
    assert_eq!(mails.items.len(), 1);
}

#[tokio::test]
async fn text_search_folds_case_beyond_ascii_and_takes_wildcards_literally() {
    let files = Files::new();
    let store = files.fresh().await;
    let f = Fixtures::new();
    let reporter = f.user();
    let cafe = f.incident(&reporter, "limpieza", Urgency::Low, "CAFÉ DERRAMADO");
    let percent = f.incident(&reporter, "otro", Urgency::Low, "descuento 100% real");
    let plain = f.incident(&reporter, "otro", Urgency::Low, "descuento 1000 real");
    for incident in [&cafe, &percent, &plain] {
        store.incidents.commit(f.creation(incident)).await.unwrap();
    }
    let search = |q: &str| {
        let filter = IncidentFilter {
            text: Some(SearchText::parse(q).unwrap()),
            ..IncidentFilter::default()
        };
        let store = store.clone();
        async move {
            let page = store
                .incidents
                .incidents(&filter, &PageRequest::default())
                .await
                .unwrap();
            page.items
                .into_iter()
                .map(|i| i.id().clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("café").await, vec![cafe.id().clone()]);
    assert_eq!(search("é d").await, vec![cafe.id().clone()]);
    assert_eq!(search("0%").await, vec![percent.id().clone()]);
    assert_eq!(search("_").await, Vec::new());
    assert_eq!(
        search("descuento").await,
        vec![plain.id().clone(), percent.id().clone()]
    );
    // Fields are searched one by one: a needle spanning two of them matches nothing.
    assert_eq!(search("derramado pabellón").await, Vec::new());
}

#[tokio::test]
async fn limits_and_cursors_of_other_lists_are_refused() {
    let files = Files::new();
    let store = files.fresh().await;
    let f = Fixtures::new();
    for n in 0..3 {
        let alert = f.alert("s", Severity::Info, Channel::Http, &format!("m{n}"));
        store
            .alerts
            .insert(vec![AlertWrite {
                alert,
                mails: vec![],
            }])
            .await
            .unwrap();
    }
    let page = store
        .alerts
        .search(&AlertFilter::default(), &PageRequest::first(2).unwrap())
        .await
        .unwrap();
    let cursor = page.next_cursor.expect("a second page");
    let foreign = store
        .incidents
        .incidents(
            &IncidentFilter::default(),
            &PageRequest::after(PageRequest::first(2).unwrap().limit, cursor),
        )
        .await;
    assert!(
        matches!(
            foreign,
            Err(Error::Invalid {
                field: "cursor",
                ..
            })
        ),
        "{foreign:?}"
    );
}

#[tokio::test]
async fn options_are_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = SqliteOptions::new(dir.path().join("alerta.db"))
        .max_connections(2)
        .busy_timeout(Duration::from_millis(250));
    assert_eq!(options.path(), dir.path().join("alerta.db"));
    let store = SqliteStore::open_with(options).await.expect("open");
    let storage = Storage::from_backend(Arc::new(store.clone()));
    assert_eq!(storage.incidents.counts().await.unwrap().total, 0);
    store.close().await;
    let closed = storage.incidents.counts().await;
    assert!(
        matches!(closed, Err(Error::Unavailable { .. })),
        "a closed store is unavailable: {closed:?}"
    );
}
