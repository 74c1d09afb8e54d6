//! `alerta migrate --to aws` against moto: a local data directory with every kind of record,
//! a copy killed part-way and run again, then the copy read back through the AWS profile's
//! stores and served by `alerta serve --profile aws`.
//!
//! `ALERTA_TEST_MIGRATE_SCALE` (default 1) multiplies how much the data directory holds; at
//! 1 it is some 6,000 records.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alerta_adapters::dynamodb::{DynamoStore, DynamoTables};
use alerta_adapters::s3::{S3BlobStore, S3Options};
use alerta_adapters::sqlite::SqliteStore;
use alerta_core::domain::{
    AlertId, BlobKey, IncidentId, MailId, PageRequest, SilenceFilter, UserId,
};
use alerta_core::ports::{
    AlertStore, BlobStore, IncidentStore, MailOutbox, RecordKind, RecordSource, SilenceStore,
    StreamLog, UserStore,
};
use futures_util::future::join_all;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, binary, spawn_app, start_binary_with};
use crate::stream::{next_message, subscribe};

fn endpoint() -> String {
    std::env::var("ALERTA_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "ALERTA_TEST_AWS_ENDPOINT is not set: the AWS tests need moto in server mode. Run \
             `source scripts/lib/moto.sh && start_moto` in this shell first."
        )
    })
}

fn scale() -> usize {
    std::env::var("ALERTA_TEST_MIGRATE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// A fresh set of table and bucket names on moto, as environment variables for the binary.
struct Target {
    endpoint: String,
    prefix: String,
    attachments: String,
    reports: String,
}

impl Target {
    fn new() -> Self {
        let unique = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        Self {
            endpoint: endpoint(),
            prefix: format!("mig{unique}-"),
            attachments: format!("mig-{unique}-adjuntos"),
            reports: format!("mig-{unique}-reportes"),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("ALERTA_AWS_TABLE_PREFIX", self.prefix.clone()),
            ("ALERTA_AWS_ATTACHMENTS_BUCKET", self.attachments.clone()),
            ("ALERTA_AWS_REPORTS_BUCKET", self.reports.clone()),
            ("ALERTA_AWS_FORCE_PATH_STYLE", "true".into()),
        ]
    }

    /// The AWS profile's stores on these names, as `alerta serve --profile aws` opens them.
    async fn stores(&self) -> (DynamoStore, S3BlobStore) {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        let options = S3Options {
            attachments_bucket: self.attachments.clone(),
            reports_bucket: self.reports.clone(),
            force_path_style: true,
        };
        (
            DynamoStore::from_sdk_config(&sdk, DynamoTables::with_prefix(self.prefix.clone())),
            S3BlobStore::from_sdk_config(&sdk, options),
        )
    }

    /// `alerta migrate --to aws` on `data_dir`, to the end.
    fn migrate(&self, data_dir: &Path) -> std::process::Output {
        std::process::Command::new(binary())
            .args(["migrate", "--to", "aws", "--data-dir"])
            .arg(data_dir)
            .envs(self.env())
            .output()
            .unwrap()
    }
}

/// Every file under `dir` with the SHA-256 of its bytes, but SQLite's shared-memory index
/// (`-shm`), which every reader of a WAL database writes its read marks into.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if !path.to_string_lossy().ends_with("-shm") {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(
                    path.display().to_string(),
                    alerta_core::domain::hex_sha256(&bytes),
                );
            }
        }
    }
    out
}

/// The `written` numbers of the per-kind lines a run printed.
fn written(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .filter_map(|line| {
            let (kind, rest) = line.split_once(": ")?;
            let inside = rest.split_once('(')?.1;
            let number = inside.split_once(" written")?.0.parse().ok()?;
            Some((kind.to_owned(), number))
        })
        .collect()
}

/// The current head of the stream, as a list reports it.
async fn stream_head(app: &TestApp, token: &str) -> String {
    let (status, list) = app.get(token, "/incidents?limit=1").await;
    assert_eq!(status, 200);
    list["stream"].as_str().unwrap().to_owned()
}

/// Fills a local server with every kind of record. Returns the stream id a client had seen
/// part-way through.
async fn populate(app: &TestApp) -> String {
    let n = scale();
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let client = &app.client;

    for (name, email) in [
        ("TI", "ti@campus.edu"),
        ("Mantenimiento", "mant@campus.edu"),
    ] {
        let (status, _) = app
            .post(
                &admin,
                "/departments",
                json!({"nombre": name, "email": email}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let mut students = Vec::new();
    for i in 0..8 {
        let email = format!("alumno{i}@campus.edu");
        let reply = client
            .post(app.url("/auth/register"))
            .json(&json!({"email": email, "password": "alumno-password", "nombre": format!("Alumno {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 201);
        students.push(app.login(&email, "alumno-password").await);
    }
    let (_, staff) = app
        .post(
            &admin,
            "/admin/users",
            json!({"email": "staff@campus.edu", "password": "staff-password", "nombre": "Staff", "rol": "staff"}),
        )
        .await;
    let (status, _) = app
        .post(
            &admin,
            &format!(
                "/admin/users/{}/disable",
                staff["user_id"].as_str().unwrap_or_default()
            ),
            json!({}),
        )
        .await;
    assert!(status == 200 || status == 404, "disable: {status}");
    let (status, _) = app
        .post(
            &admin,
            "/silences",
            json!({"matchers": [{"name": "source", "value": "silenciado"}], "ends_at": "2099-01-01T00:00:00Z", "comment": "ruido conocido"}),
        )
        .await;
    assert_eq!(status, 201);

    // Incidents with history and attachments, created and changed eight at a time.
    let mut incidents = Vec::new();
    for chunk in 0..(30 * n) {
        let created = join_all((0..8).map(|k| {
            let token = students[k % students.len()].clone();
            async move {
                let (status, incident) = app
                    .post(
                        &token,
                        "/incidents",
                        json!({"tipo": "tecnologia", "descripcion": format!("Equipo {chunk}-{k} sin red"), "ubicacion": "Biblioteca", "urgencia": "media"}),
                    )
                    .await;
                assert_eq!(status, 201, "{incident}");
                (token, incident["incident_id"].as_str().unwrap().to_owned())
            }
        }))
        .await;
        join_all(created.iter().enumerate().map(|(k, (token, id))| {
            let admin = admin.clone();
            async move {
                let (status, _) = app
                    .post(
                        &admin,
                        &format!("/incidents/{id}/comments"),
                        json!({"texto": "Revisando"}),
                    )
                    .await;
                assert_eq!(status, 201);
                if k % 2 == 0 {
                    let (status, _) = app
                        .post(
                            &admin,
                            &format!("/incidents/{id}/status"),
                            json!({"estado": "en_proceso"}),
                        )
                        .await;
                    assert_eq!(status, 200);
                }
                if k % 4 == 0 {
                    let (status, _) = app
                        .post(
                            &admin,
                            &format!("/incidents/{id}/department"),
                            json!({"departamento": "TI"}),
                        )
                        .await;
                    assert_eq!(status, 200);
                }
                if k == 3 {
                    let reply = app
                        .client
                        .post(app.url(&format!("/incidents/{id}/attachments?filename=foto.png")))
                        .bearer_auth(token)
                        .header("content-type", "image/png")
                        .body([b"\x89PNG\r\n\x1a\n".as_slice(), id.as_bytes()].concat())
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(reply.status(), 201);
                }
            }
        }))
        .await;
        incidents.extend(created.into_iter().map(|(_, id)| id));
    }
    let seen = stream_head(app, &admin).await;

    // Alerts: groups of three occurrences, some acknowledged, resolved or made incidents.
    let mut alerts = Vec::new();
    for chunk in 0..(12 * n) {
        let replies = join_all((0..24).map(|k| {
            let admin = admin.clone();
            async move {
                let severity = ["info", "warning", "error", "critical"][k % 4];
                let source = if k == 5 { "silenciado" } else { "sensor" };
                let (status, reply) = app
                    .post(
                        &admin,
                        "/events",
                        json!({"source": source, "severity": severity, "message": format!("lectura {chunk}-{}", k / 3)}),
                    )
                    .await;
                assert_eq!(status, 201, "{reply}");
                reply["id"].as_str().unwrap().to_owned()
            }
        }))
        .await;
        let mut groups: Vec<String> = replies;
        groups.dedup();
        for (k, id) in groups.iter().enumerate() {
            match k {
                0 => {
                    let (status, _) = app
                        .post(
                            &admin,
                            &format!("/events/{id}/ack"),
                            json!({"nota": "visto"}),
                        )
                        .await;
                    assert_eq!(status, 200);
                }
                1 => {
                    let (status, _) = app
                        .post(&admin, &format!("/events/{id}/resolve"), json!({}))
                        .await;
                    assert_eq!(status, 200);
                }
                2 if chunk % 5 == 0 => {
                    let (status, _) = app
                        .post(&admin, &format!("/events/{id}/incident"), json!({}))
                        .await;
                    assert_eq!(status, 201);
                }
                _ => {}
            }
        }
        alerts.extend(groups);
    }
    assert!(incidents.len() >= 8 && alerts.len() >= 8);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_data_directory_moves_to_aws_whole_even_when_interrupted() {
    let started = std::time::Instant::now();
    let target = Target::new();
    let app = spawn_app().await;
    let seen = populate(&app).await;
    eprintln!("populated in {:?}", started.elapsed());
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let local_head = stream_head(&app, &admin).await;
    let sample_incident = {
        let (_, list) = app.get(&admin, "/incidents?limit=50").await;
        list["items"][17]["incident_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (_, local_incident) = app
        .get(&admin, &format!("/incidents/{sample_incident}"))
        .await;
    // What a client that had seen `seen` gets from the local server.
    let ws_base = app.base.replace("http", "ws");
    let mut socket = subscribe(&ws_base, &admin, Some(&seen)).await;
    let mut local_rest = Vec::new();
    loop {
        let message = next_message(&mut socket).await;
        let done = message["id"] == local_head.as_str();
        local_rest.push(message);
        if done {
            break;
        }
    }
    drop(socket);
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_path_buf();
    // The local server stops; its directory is what the copy reads.
    for entry in std::fs::read_dir(app.data_dir()).unwrap() {
        let entry = entry.unwrap();
        copy_tree(&entry.path(), &data.join(entry.file_name()));
    }
    drop(app);
    // The report job leaves ledger entries, report files and department mail.
    let report = std::process::Command::new(binary())
        .args(["report", "run", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    // Closed by its last writer, the database is one file: what an operator moves.
    SqliteStore::open(data.join("alerta.db"))
        .await
        .unwrap()
        .close()
        .await;
    let before = hashes(&data);
    eprintln!(
        "source files: {:?}",
        before
            .keys()
            .filter(|k| k.contains("alerta.db"))
            .collect::<Vec<_>>()
    );

    // The first run is killed once the incidents are copied, in the middle of their history.
    let mut child = tokio::process::Command::new(binary())
        .args(["migrate", "--to", "aws", "--data-dir"])
        .arg(&data)
        .envs(target.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    while let Some(line) = tokio::time::timeout(Duration::from_secs(120), lines.next_line())
        .await
        .expect("progress within two minutes")
        .unwrap()
    {
        let stop = line.starts_with("incidents:");
        printed.push(line);
        if stop {
            child.start_kill().unwrap();
            break;
        }
    }
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "killed part-way: {printed:?}");
    let (store, blobs) = target.stores().await;
    let source = SqliteStore::open_read_only(data.join("alerta.db"))
        .await
        .unwrap();
    let source_events = source
        .count_records(RecordKind::IncidentEvents)
        .await
        .unwrap();
    let source_incidents = source.count_records(RecordKind::Incidents).await.unwrap();
    assert_eq!(
        alerta_core::ports::RecordSink::count_records(&store, RecordKind::Incidents)
            .await
            .unwrap(),
        source_incidents,
        "the incidents were copied before the kill"
    );
    assert!(
        alerta_core::ports::RecordSink::count_records(&store, RecordKind::Stream)
            .await
            .unwrap()
            == 0,
        "the stream was not reached"
    );

    eprintln!("first run killed at {:?}", started.elapsed());
    // The second run finishes the copy.
    let second = target.migrate(&data);
    let stdout = String::from_utf8_lossy(&second.stdout).into_owned();
    assert!(
        second.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        stdout.contains("the copy is complete and verified"),
        "{stdout}"
    );
    assert!(!stdout.contains("DIFFERENT"), "{stdout}");
    assert!(stdout.contains("left behind: sessions"), "{stdout}");
    let second_written: BTreeMap<String, u64> = written(&stdout).into_iter().collect();
    assert_eq!(second_written["incidents"], 0, "{stdout}");
    assert!(second_written["stream"] > 0, "{stdout}");

    eprintln!("second run done at {:?}:\n{stdout}", started.elapsed());
    // Every kind holds as many on both sides.
    for kind in RecordKind::ALL {
        let there = alerta_core::ports::RecordSink::count_records(&store, kind)
            .await
            .unwrap();
        assert_eq!(
            there,
            source.count_records(kind).await.unwrap(),
            "{}",
            kind.as_str()
        );
        if !matches!(
            kind,
            RecordKind::Silences | RecordKind::Departments | RecordKind::Settings
        ) {
            assert!(there > 0, "{} were copied", kind.as_str());
        }
    }
    assert!(source_events > source_incidents);

    // A sample, field for field, through the AWS profile's stores.
    let incidents = source
        .export_records(RecordKind::Incidents, None, 10_000)
        .await
        .unwrap();
    for record in incidents.iter().step_by(7) {
        let alerta_core::ports::Record::Incident(incident) = record else {
            panic!("{record:?}")
        };
        let id: &IncidentId = incident.id();
        assert_eq!(store.incident(id).await.unwrap().as_ref(), Some(incident));
        assert_eq!(
            IncidentStore::history(&store, id).await.unwrap(),
            IncidentStore::history(&source, id).await.unwrap()
        );
        let attachments = source.attachments(id).await.unwrap();
        assert_eq!(store.attachments(id).await.unwrap(), attachments);
        for attachment in attachments {
            let key = BlobKey::attachment(id, &attachment.attachment_id);
            let blob = blobs.get(&key).await.unwrap();
            assert_eq!(blob.content_type, "image/png");
            assert_eq!(
                alerta_core::domain::hex_sha256(&blob.bytes),
                attachment.sha256
            );
        }
    }
    for record in source
        .export_records(RecordKind::Alerts, None, 10_000)
        .await
        .unwrap()
        .iter()
        .step_by(5)
    {
        let alerta_core::ports::Record::Alert { alert, history } = record else {
            panic!("{record:?}")
        };
        let id: &AlertId = &alert.id;
        assert_eq!(store.alert(id).await.unwrap().as_ref(), Some(alert));
        assert_eq!(&AlertStore::history(&store, id).await.unwrap(), history);
        assert_eq!(
            store
                .occurrences(id, &PageRequest::default())
                .await
                .unwrap()
                .items,
            source
                .occurrences(id, &PageRequest::default())
                .await
                .unwrap()
                .items
        );
        assert_eq!(
            store.incident_for_alert(id).await.unwrap(),
            source.incident_for_alert(id).await.unwrap()
        );
    }
    for record in source
        .export_records(RecordKind::Users, None, 10_000)
        .await
        .unwrap()
    {
        let alerta_core::ports::Record::User(user) = record else {
            panic!()
        };
        let id: &UserId = &user.user.id;
        assert_eq!(store.user_by_id(id).await.unwrap(), Some(user.clone()));
        assert_eq!(
            store.user_by_email(&user.user.email).await.unwrap(),
            Some(user)
        );
    }
    let mails = source
        .export_records(RecordKind::Mails, None, 10_000)
        .await
        .unwrap();
    let mut states = std::collections::BTreeSet::new();
    for record in mails.iter().step_by(3) {
        let alerta_core::ports::Record::Mail(mail) = record else {
            panic!()
        };
        let id: &MailId = &mail.id;
        states.insert(mail.state.as_str());
        assert_eq!(store.mail(id).await.unwrap().as_ref(), Some(mail));
    }
    let filter = SilenceFilter::all();
    assert_eq!(
        store
            .silences(&filter, &PageRequest::default())
            .await
            .unwrap()
            .items,
        source
            .silences(&filter, &PageRequest::default())
            .await
            .unwrap()
            .items
    );
    assert_eq!(
        IncidentStore::counts(&store).await.unwrap(),
        IncidentStore::counts(&source).await.unwrap()
    );
    assert_eq!(
        AlertStore::counts(&store).await.unwrap(),
        AlertStore::counts(&source).await.unwrap()
    );
    let (source_head, target_head) = (source.head().await.unwrap(), store.head().await.unwrap());
    assert_eq!(target_head, source_head);
    assert_eq!(
        store.read(source_head.oldest - 1, 100_000).await.unwrap(),
        source.read(source_head.oldest - 1, 100_000).await.unwrap()
    );
    source.close().await;

    eprintln!("sample checked at {:?}", started.elapsed());
    // A third run changes nothing; the source is as it was.
    let third = target.migrate(&data);
    let stdout = String::from_utf8_lossy(&third.stdout).into_owned();
    assert!(third.status.success(), "{stdout}");
    let third_written = written(&stdout);
    assert!(third_written.len() > RecordKind::ALL.len(), "{stdout}");
    assert!(third_written.iter().all(|(_, n)| *n == 0), "{stdout}");
    let after = hashes(&data);
    let changed: Vec<_> = before
        .iter()
        .filter(|(path, hash)| after.get(*path) != Some(*hash))
        .map(|(path, _)| path)
        .collect();
    assert!(changed.is_empty(), "the source is untouched: {changed:?}");
    // A reader of a WAL database makes the empty log SQLite keeps beside it when it is
    // missing; nothing is written to it.
    let added: Vec<_> = after
        .keys()
        .filter(|path| !before.contains_key(*path))
        .collect();
    assert!(
        added
            .iter()
            .all(|path| path.ends_with("alerta.db-wal")
                && std::fs::metadata(path).unwrap().len() == 0),
        "nothing but SQLite's empty log was added: {added:?}"
    );
    assert!(before.keys().any(|p| p.ends_with("alerta.db")));

    eprintln!("third run done at {:?}", started.elapsed());
    // The AWS profile serves what the local server served, and the stream goes on.
    let env = target.env();
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain([("ALERTA_PROFILE", "aws")])
        .collect();
    let served_dir = tempfile::tempdir().unwrap();
    let server = start_binary_with(served_dir.path(), &env).await;
    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{}/auth/login", server.base))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap().to_owned();
    let served: Value = client
        .get(format!("{}/incidents/{sample_incident}", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, local_incident);
    let mut socket = subscribe(&server.base.replace("http", "ws"), &token, Some(&seen)).await;
    let mut aws_rest = Vec::new();
    while aws_rest.len() < local_rest.len() {
        aws_rest.push(next_message(&mut socket).await);
    }
    assert_eq!(aws_rest, local_rest, "the resumed client misses nothing");
    let (status, _) = {
        let reply = client
            .post(format!("{}/incidents", server.base))
            .bearer_auth(&token)
            .json(&json!({"tipo": "tecnologia", "descripcion": "Tras la mudanza", "ubicacion": "Biblioteca", "urgencia": "baja"}))
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), ())
    };
    assert_eq!(status, 201);
    let next = next_message(&mut socket).await;
    let (epoch, position) = local_head.split_once(':').unwrap();
    assert_eq!(
        next["id"],
        format!("{epoch}:{}", position.parse::<u64>().unwrap() + 1),
        "the stream goes on from the local head: {next}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holding_another_deployment_is_refused_and_left_alone() {
    let target = Target::new();
    let first = spawn_app().await;
    let admin = first.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, _) = first
        .post(&admin, "/incidents", json!({"tipo": "tecnologia", "descripcion": "Primera", "ubicacion": "Biblioteca", "urgencia": "media"}))
        .await;
    assert_eq!(status, 201);
    let second = spawn_app().await;
    let admin = second.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, _) = second
        .post(&admin, "/incidents", json!({"tipo": "tecnologia", "descripcion": "Segunda", "ubicacion": "Biblioteca", "urgencia": "media"}))
        .await;
    assert_eq!(status, 201);
    let (first_dir, second_dir) = (
        first.data_dir().to_path_buf(),
        second.data_dir().to_path_buf(),
    );
    let copied = target.migrate(&first_dir);
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );

    let refused = target.migrate(&second_dir);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("did not come from this source"), "{stderr}");
    let (store, _) = target.stores().await;
    assert_eq!(
        alerta_core::ports::RecordSink::count_records(&store, RecordKind::Incidents)
            .await
            .unwrap(),
        1,
        "nothing of the second directory was written"
    );
    assert_eq!(
        store
            .user_by_id(&UserId::parse("nobody").unwrap())
            .await
            .unwrap(),
        None
    );
    drop((first, second));
}
