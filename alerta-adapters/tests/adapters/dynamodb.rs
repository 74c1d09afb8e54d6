//! The DynamoDB store against moto in server mode: the conformance suites, each check on
//! tables of its own, and what only DynamoDB can show: the tables bootstrap makes, the items
//! as other DynamoDB clients see them (failed-login windows with their TTL too), the counts
//! kept beside them, stream messages larger than one item, writers racing for the stream
//! counter, and an alert removal interrupted between its parts. Batches larger than one transaction are the alert store suite's: it checks them
//! on any backend that states an atomic batch size small enough.
//!
//! Start moto first (`source scripts/lib/moto.sh && start_moto`); without it these tests
//! fail and say so. `scripts/moto_server.py` serves one request at a time: moto applies a
//! transaction item by item and, when one fails, puts back copies of the whole tables taken
//! when it began, undoing whatever other requests wrote meanwhile. DynamoDB isolates
//! transactions; moto does only when it serves one request at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alerta_adapters::dynamodb::{DynamoStore, DynamoTables};
use alerta_adapters::status_code;
use alerta_core::Error;
use alerta_core::conformance::{self, Fixtures};
use alerta_core::domain::{
    AlertCounts, AlertFilter, Appended, Channel, CommentText, Email, IncidentAction,
    IncidentCounts, IncidentFilter, PageRequest, PasswordHash, PersonName, Position, Role,
    SearchText, Session, SessionToken, Severity, Status, StreamEntry, StreamMessage, Timestamp,
    Urgency, User, UserFilter, UserRecord,
};
use alerta_core::ports::{AlertWrite, FailureWindow, LoginKey, Storage, StreamLog};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, TimeToLiveStatus,
};

/// The moto endpoint, or a failure that says how to start it.
fn endpoint() -> String {
    match std::env::var("ALERTA_TEST_AWS_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => panic!(
            "ALERTA_TEST_AWS_ENDPOINT is not set: the DynamoDB tests run against moto in server \
             mode. Start it with `source scripts/lib/moto.sh && start_moto` and run the tests \
             from the same shell."
        ),
    }
}

async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "alerta-tests"))
        .load()
        .await
}

/// A table prefix no other test, run or process uses.
fn fresh_prefix() -> String {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "t{}-{nanos}-{}-",
        std::process::id(),
        MADE.fetch_add(1, Ordering::SeqCst)
    )
}

/// A store on fresh, bootstrapped tables.
async fn fresh_store(config: &SdkConfig) -> DynamoStore {
    let store = DynamoStore::from_sdk_config(config, DynamoTables::with_prefix(fresh_prefix()));
    store.bootstrap().await.expect("bootstrap");
    store
}

fn storage(store: DynamoStore) -> Storage {
    Storage::from_backend(Arc::new(store))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_incident_store_conforms() {
    let config = sdk_config().await;
    conformance::incident_store(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_alert_store_conforms() {
    let config = sdk_config().await;
    conformance::alert_store(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_alert_retention_conforms() {
    let config = sdk_config().await;
    conformance::alert_retention(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_setting_store_conforms() {
    let config = sdk_config().await;
    conformance::setting_store(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_silence_store_conforms() {
    let config = sdk_config().await;
    conformance::silence_store(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_user_store_conforms() {
    let config = sdk_config().await;
    conformance::user_store(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_outbox_conforms() {
    let config = sdk_config().await;
    conformance::mail_outbox(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_report_ledger_conforms() {
    let config = sdk_config().await;
    conformance::report_ledger(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_idempotency_store_conforms() {
    let config = sdk_config().await;
    conformance::idempotency_store(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_login_attempt_store_conforms() {
    let config = sdk_config().await;
    conformance::login_attempt_store(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_stream_log_conforms() {
    let config = sdk_config().await;
    conformance::stream_log(&|| async { storage(fresh_store(&config).await) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_stream_log_conforms_while_the_counter_keeps_moving() {
    let config = sdk_config().await;
    conformance::stream_log(&|| async {
        let store = fresh_store(&config).await;
        store.inject_counter_conflicts(30);
        storage(store)
    })
    .await;
}

/// The full names of the tables of `store`, sorted.
fn table_names(store: &DynamoStore) -> Vec<String> {
    let t = store.tables();
    let mut names: Vec<String> = [
        &t.users,
        &t.tokens,
        &t.incidents,
        &t.events,
        &t.attachments,
        &t.departments,
        &t.alerts,
        &t.alert_occurrences,
        &t.outbox,
        &t.idempotency,
        &t.report_ledger,
        &t.stream_log,
        &t.login_failures,
        &t.counters,
        &t.alert_incidents,
        &t.silences,
    ]
    .iter()
    .map(|name| format!("{}{name}", t.prefix))
    .collect();
    names.sort();
    names
}

async fn tables_with_prefix(client: &Client, prefix: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = client
            .list_tables()
            .set_exclusive_start_table_name(start.take())
            .send()
            .await
            .expect("list tables");
        names.extend(
            out.table_names()
                .iter()
                .filter(|n| n.starts_with(prefix))
                .cloned(),
        );
        match out.last_evaluated_table_name {
            Some(last) => start = Some(last),
            None => break,
        }
    }
    names.sort();
    names
}

async fn index_names(client: &Client, table: &str) -> Vec<String> {
    let out = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe table");
    let mut names: Vec<String> = out
        .table()
        .expect("a table")
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn bootstrap_makes_every_table_index_and_ttl_and_a_second_run_changes_nothing() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let prefix = fresh_prefix();
    let store = DynamoStore::from_sdk_config(&config, DynamoTables::with_prefix(&prefix));
    store.bootstrap().await.expect("first bootstrap");
    let made = tables_with_prefix(&client, &prefix).await;
    assert_eq!(made, table_names(&store));
    assert!(made.contains(&format!("{prefix}Incidentes")));
    assert!(made.contains(&format!("{prefix}IncidenteEventos")));
    assert!(made.contains(&format!("{prefix}Users")));
    assert!(made.contains(&format!("{prefix}Tokens")));
    assert!(made.contains(&format!("{prefix}Departamentos")));
    assert!(made.contains(&format!("{prefix}StreamLog")));
    let epoch = storage(store.clone()).stream.head().await.unwrap().epoch;
    assert!(
        (1..1 << 53).contains(&epoch),
        "the epoch is made at bootstrap, at least 1 and below 2^53: {epoch}"
    );

    let incident_indexes = index_names(&client, &format!("{prefix}Incidentes")).await;
    assert_eq!(
        incident_indexes,
        ["by_department", "by_reporter", "by_status"]
    );
    assert_eq!(
        index_names(&client, &format!("{prefix}IncidenteEventos")).await,
        ["by_kind"]
    );
    assert_eq!(
        index_names(&client, &format!("{prefix}Alertas")).await,
        ["by_resolution", "by_time"]
    );
    assert_eq!(
        index_names(&client, &format!("{prefix}CorreoSaliente")).await,
        ["by_about", "by_due", "by_state"]
    );
    for table in ["Tokens", "IntentosFallidos", "Idempotencia"] {
        let ttl = client
            .describe_time_to_live()
            .table_name(format!("{prefix}{table}"))
            .send()
            .await
            .expect("describe ttl");
        let ttl = ttl.time_to_live_description().expect("a ttl description");
        assert_eq!(
            ttl.time_to_live_status(),
            Some(&TimeToLiveStatus::Enabled),
            "{table}"
        );
        assert_eq!(ttl.attribute_name(), Some("expires_at"), "{table}");
    }

    // Something stored survives a second bootstrap, which must not fail.
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "otro", Urgency::Low, "sigue ahí");
    let storage = storage(store.clone());
    storage
        .incidents
        .commit(f.creation(&incident))
        .await
        .unwrap();
    store.bootstrap().await.expect("second bootstrap");
    assert_eq!(tables_with_prefix(&client, &prefix).await, made);
    let again = DynamoStore::from_sdk_config(&config, DynamoTables::with_prefix(&prefix));
    again
        .bootstrap()
        .await
        .expect("a bootstrap by another process");
    let head = StreamLog::head(&again).await.unwrap();
    assert_eq!(head.epoch, epoch, "the epoch is made once");
    assert_eq!(
        head.head, 2,
        "the counter is kept: the creation's staff and students messages"
    );
    assert_eq!(
        storage.incidents.incident(incident.id()).await.unwrap(),
        Some(incident)
    );
}

#[tokio::test]
async fn bootstrap_adds_missing_indexes_and_refuses_a_table_with_another_key() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let prefix = fresh_prefix();
    let string = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let hash = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .unwrap()
    };
    // An `Incidentes` table as an older deployment might have it: the key, no indexes.
    client
        .create_table()
        .table_name(format!("{prefix}Incidentes"))
        .attribute_definitions(string("incident_id"))
        .key_schema(hash("incident_id"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let store = DynamoStore::from_sdk_config(&config, DynamoTables::with_prefix(&prefix));
    store
        .bootstrap()
        .await
        .expect("bootstrap over an older table");
    assert_eq!(
        index_names(&client, &format!("{prefix}Incidentes")).await,
        ["by_department", "by_reporter", "by_status"]
    );

    let other = fresh_prefix();
    client
        .create_table()
        .table_name(format!("{other}Users"))
        .attribute_definitions(string("email"))
        .key_schema(hash("email"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let clash = DynamoStore::from_sdk_config(&config, DynamoTables::with_prefix(&other));
    let result = clash.bootstrap().await;
    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "a table keyed differently is refused, not used: {result:?}"
    );
}

/// A `Users` table from before accounts were listed from an index: bootstrap adds the index
/// and gives the accounts already stored what it lists them by, so the admin's list and
/// search find them without a scan.
#[tokio::test]
async fn bootstrap_lists_accounts_stored_before_the_email_index() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let prefix = fresh_prefix();
    let users_table = format!("{prefix}Users");
    client
        .create_table()
        .table_name(&users_table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("user_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("user_id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let store = DynamoStore::from_sdk_config(&config, DynamoTables::with_prefix(&prefix));
    store
        .bootstrap()
        .await
        .expect("bootstrap over an older table");
    assert_eq!(index_names(&client, &users_table).await, ["by_email"]);

    let storage = storage(store);
    let f = Fixtures::new();
    let mut emails = Vec::new();
    for (email, name) in [
        ("luz@campus.edu", "Luz Peña"),
        ("mar@campus.edu", "Mar Soto"),
    ] {
        let record = UserRecord {
            user: User {
                id: f.user(),
                email: Email::parse(email).unwrap(),
                name: PersonName::parse(name).unwrap(),
                role: Role::Student,
                created_at: f.tick(),
            },
            password_hash: PasswordHash::from_phc(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            ),
            disabled: false,
        };
        storage.users.create_user(&record).await.unwrap();
        // As an account written before the index existed: without its listing attributes.
        client
            .update_item()
            .table_name(&users_table)
            .key("user_id", AttributeValue::S(record.user.id.as_str().into()))
            .update_expression("REMOVE listado, nombre_lc")
            .send()
            .await
            .unwrap();
        emails.push(email);
    }
    let listed = |filter: UserFilter| {
        let users = Arc::clone(&storage.users);
        async move {
            let page = users
                .users(&filter, &PageRequest::first(50).unwrap())
                .await
                .expect("list");
            page.items
                .into_iter()
                .map(|r| r.user.email.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert!(
        listed(UserFilter::default()).await.is_empty(),
        "an index lists only the accounts that hold its keys"
    );

    let again = DynamoStore::from_sdk_config(&config, DynamoTables::with_prefix(&prefix));
    again.bootstrap().await.expect("a second bootstrap");
    assert_eq!(listed(UserFilter::default()).await, emails);
    assert_eq!(
        listed(UserFilter {
            text: Some(SearchText::parse("PEÑA").unwrap()),
            ..UserFilter::default()
        })
        .await,
        ["luz@campus.edu"]
    );
    let stored = storage
        .users
        .user_by_email(&Email::parse("mar@campus.edu").unwrap())
        .await
        .unwrap()
        .expect("the account");
    assert_eq!(
        stored.user.name.as_str(),
        "Mar Soto",
        "nothing else changed"
    );
}

fn string_attribute<'a>(
    item: &'a std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> &'a str {
    item.get(name)
        .unwrap_or_else(|| panic!("attribute {name} in {item:?}"))
        .as_s()
        .unwrap_or_else(|_| panic!("{name} is a string"))
}

#[tokio::test]
async fn items_read_back_through_the_sdk_with_the_original_attribute_names() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let store = fresh_store(&config).await;
    let prefix = store.tables().prefix.clone();
    let storage = storage(store);
    let f = Fixtures::new();

    let incident = f.incident(&f.user(), "seguridad", Urgency::High, "Puerta Forzada");
    storage
        .incidents
        .commit(f.creation(&incident))
        .await
        .unwrap();
    let resolve = f.move_to(&incident, Status::Resolved);
    storage.incidents.commit(resolve.clone()).await.unwrap();
    let item = client
        .get_item()
        .table_name(format!("{prefix}Incidentes"))
        .key("incident_id", AttributeValue::S(incident.id().to_string()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the incident item");
    assert_eq!(
        string_attribute(&item, "incident_id"),
        incident.id().as_str()
    );
    assert_eq!(string_attribute(&item, "estado"), "resuelto");
    assert_eq!(item.get("version"), Some(&AttributeValue::N("2".into())));
    assert_eq!(string_attribute(&item, "tipo"), "seguridad");
    assert_eq!(string_attribute(&item, "urgencia"), "alta");
    assert_eq!(
        string_attribute(&item, "reportado_por"),
        incident.reported_by().as_str()
    );
    assert_eq!(
        string_attribute(&item, "resolved_at"),
        resolve
            .incident
            .resolved_at()
            .expect("resolved")
            .to_rfc3339(),
        "resolved_at is kept although the wire does not show it"
    );
    assert!(
        !item.contains_key("departamento"),
        "no department is no attribute, which keeps by_department sparse"
    );
    assert!(string_attribute(&item, "search").contains("puerta forzada"));

    let events = client
        .query()
        .table_name(format!("{prefix}IncidenteEventos"))
        .key_condition_expression("incident_id = :id")
        .expression_attribute_values(":id", AttributeValue::S(incident.id().to_string()))
        .send()
        .await
        .unwrap();
    let events = events.items();
    assert_eq!(events.len(), 2);
    assert_eq!(string_attribute(&events[0], "tipo_evento"), "creado");
    assert_eq!(string_attribute(&events[1], "tipo_evento"), "cambio_estado");
    let detail = events[1]
        .get("detalle")
        .and_then(|d| d.as_m().ok())
        .expect("detalle is a map");
    assert_eq!(detail.get("a"), Some(&AttributeValue::S("resuelto".into())));
    assert_eq!(detail.get("nota"), Some(&AttributeValue::Null(true)));

    let user = UserRecord {
        user: User {
            id: f.user(),
            email: Email::parse("Ana@Campus.edu").unwrap(),
            name: PersonName::parse("Ana").unwrap(),
            role: Role::Staff,
            created_at: f.tick(),
        },
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        ),
        disabled: false,
    };
    storage.users.create_user(&user).await.unwrap();
    let guard = client
        .get_item()
        .table_name(format!("{prefix}Users"))
        .key("user_id", AttributeValue::S("email#ana@campus.edu".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the email guard");
    assert_eq!(string_attribute(&guard, "owner"), user.user.id.as_str());

    let now = f.tick();
    let session = Session {
        token_hash: SessionToken::generate().hash(),
        user_id: user.user.id.clone(),
        created_at: now,
        expires_at: now.plus(std::time::Duration::from_millis(3_600_500)),
    };
    storage.users.create_session(&session).await.unwrap();
    let token = client
        .get_item()
        .table_name(format!("{prefix}Tokens"))
        .key(
            "token_hash",
            AttributeValue::S(session.token_hash.as_str().into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the session item");
    let ttl_seconds = session.expires_at.unix_millis() / 1000 + 1;
    assert_eq!(
        token.get("expires_at"),
        Some(&AttributeValue::N(ttl_seconds.to_string())),
        "the TTL attribute is epoch seconds, rounded up"
    );
}

#[tokio::test]
async fn counts_are_one_item_each_that_bootstrap_makes_from_what_the_tables_hold() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let store = fresh_store(&config).await;
    let table = format!("{}Contadores", store.tables().prefix);
    let storage = storage(store.clone());
    let f = Fixtures::new();
    let mut incidents = Vec::new();
    for n in 0..3 {
        let incident = f.incident(&f.user(), "limpieza", Urgency::Low, &format!("i{n}"));
        storage
            .incidents
            .commit(f.creation(&incident))
            .await
            .unwrap();
        incidents.push(incident);
    }
    let assign = f.assign(&incidents[0], "TI");
    storage.incidents.commit(assign.clone()).await.unwrap();
    incidents[0] = assign.incident;
    let alerts: Vec<AlertWrite> = (0..4)
        .map(|n| AlertWrite {
            alert: f.alert("s", Severity::ALL[n % 2], Channel::Tcp, &format!("m{n}")),
            mails: vec![],
        })
        .collect();
    storage.alerts.insert(alerts.clone()).await.unwrap();

    let item = client
        .get_item()
        .table_name(&table)
        .key("nombre", AttributeValue::S("incidentes".into()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the incidents' counts item");
    assert_eq!(number_attribute(&item, "total"), 3);
    assert_eq!(number_attribute(&item, "por_estado.pendiente"), 3);
    assert_eq!(number_attribute(&item, "por_departamento.TI"), 1);
    assert_eq!(number_attribute(&item, "por_departamento.sin_asignar"), 2);

    let incident_counts = storage.incidents.counts().await.unwrap();
    let alert_counts = storage.alerts.counts().await.unwrap();
    assert_eq!(incident_counts, IncidentCounts::of(&incidents));
    let mut expected = AlertCounts::new();
    alerts.iter().for_each(|w| expected.add(&w.alert));
    assert_eq!(alert_counts, expected);

    // Tables that held items before counts were kept: bootstrap counts them once.
    for name in ["incidentes", "alertas"] {
        client
            .delete_item()
            .table_name(&table)
            .key("nombre", AttributeValue::S(name.into()))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(storage.alerts.counts().await.unwrap(), AlertCounts::new());
    store
        .bootstrap()
        .await
        .expect("bootstrap over uncounted tables");
    assert_eq!(storage.incidents.counts().await.unwrap(), incident_counts);
    assert_eq!(storage.alerts.counts().await.unwrap(), alert_counts);
    store.bootstrap().await.expect("a second bootstrap");
    assert_eq!(
        storage.incidents.counts().await.unwrap(),
        incident_counts,
        "counts are made once"
    );
}

/// Every entry of the log after `after`, read in pages of 17.
async fn read_all(storage: &Storage, after: Position) -> Vec<StreamEntry> {
    let mut out: Vec<StreamEntry> = Vec::new();
    let mut cursor = after;
    loop {
        let entries = storage.stream.read(cursor, 17).await.expect("read the log");
        let Some(last) = entries.last() else {
            return out;
        };
        cursor = last.position;
        let done = entries.len() < 17;
        out.extend(entries);
        if done {
            return out;
        }
    }
}

/// The segment items of the stream log of `store`, as any DynamoDB client reads them.
async fn segments(client: &Client, store: &DynamoStore) -> Vec<HashMap<String, AttributeValue>> {
    let t = store.tables();
    let out = client
        .query()
        .table_name(format!("{}{}", t.prefix, t.stream_log))
        .key_condition_expression("pk = :segments")
        .expression_attribute_values(":segments", AttributeValue::S("segment".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("query the segments");
    out.items().to_vec()
}

fn number_attribute(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a number {name} in {item:?}"))
}

#[tokio::test]
async fn a_failed_login_window_is_one_item_that_its_ttl_removes_after_it_ends() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let store = fresh_store(&config).await;
    let logins = storage(store.clone()).login_attempts;
    let key = LoginKey::account("ana@campus.edu");
    let window = Duration::from_secs(15 * 60);
    let start = Timestamp::from_unix_millis(1_795_000_000_500);
    logins.count_failure(&key, start, window).await.unwrap();
    logins
        .count_failure(&key, start.plus(Duration::from_secs(1)), window)
        .await
        .unwrap();
    let table = format!("{}IntentosFallidos", store.tables().prefix);
    let item = client
        .get_item()
        .table_name(&table)
        .key("clave", AttributeValue::S(key.as_str().to_owned()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the key's item");
    assert!(
        !format!("{item:?}").contains("campus"),
        "no address is stored: {item:?}"
    );
    assert_eq!(number_attribute(&item, "failures"), 2);
    assert_eq!(number_attribute(&item, "started_at"), 1_795_000_000_500);
    assert_eq!(number_attribute(&item, "last_failed_at"), 1_795_000_001_500);
    assert_eq!(
        number_attribute(&item, "expires_at"),
        1_795_000_000 + 15 * 60 + 1,
        "epoch seconds, rounded up past the window's end"
    );

    // An ended window the TTL sweeper has not reached yet is not counted in.
    let ended = start.plus(window);
    assert_eq!(logins.open_window(&key, ended, window).await.unwrap(), None);
    assert_eq!(
        logins.count_failure(&key, ended, window).await.unwrap(),
        FailureWindow {
            failures: 1,
            started_at: ended,
            last_failed_at: ended,
        }
    );
    logins.clear_failures(&key).await.unwrap();
    let gone = client
        .get_item()
        .table_name(&table)
        .key("clave", AttributeValue::S(key.as_str().to_owned()))
        .send()
        .await
        .unwrap()
        .item;
    assert_eq!(gone, None, "clearing deletes the item");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_transaction_writes_one_segment_holding_all_its_messages() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let store = fresh_store(&config).await;
    let storage = storage(store.clone());
    let f = Fixtures::new();
    assert_eq!(
        DynamoStore::MAX_ALERT_BATCH,
        24,
        "up to four items an alert that opens a group with mail (the alert, its fingerprint, \
         its occurrences, its mail row), and the stream counter, one segment and the counts, \
         within 100"
    );
    assert_eq!(storage.limits.max_alert_batch, DynamoStore::MAX_ALERT_BATCH);
    let full = DynamoStore::MAX_ALERT_BATCH as u64;
    let batch: Vec<AlertWrite> = (0..DynamoStore::MAX_ALERT_BATCH)
        .map(|n| {
            let alert = f.alert("s", Severity::Critical, Channel::Tcp, &format!("m{n}"));
            let mail = f.mail("ops@campus.edu", &format!("m{n}"), alert.created_at);
            AlertWrite {
                alert,
                mails: vec![mail],
            }
        })
        .collect();
    let appended = storage
        .alerts
        .insert(batch)
        .await
        .expect("a full group")
        .appended;
    assert_eq!((appended.first, appended.count), (1, full));
    let items = segments(&client, &store).await;
    assert_eq!(items.len(), 1, "one segment for the whole transaction");
    assert_eq!(string_attribute(&items[0], "sk"), format!("{full:020}"));
    assert_eq!(number_attribute(&items[0], "first"), 1);
    assert_eq!(
        items[0]
            .get("records")
            .and_then(|r| r.as_l().ok())
            .map(Vec::len),
        Some(DynamoStore::MAX_ALERT_BATCH)
    );

    // A change without messages leaves the counter alone.
    assert_eq!(
        storage.alerts.insert(Vec::new()).await.unwrap().appended,
        Appended::NOTHING
    );
    assert_eq!(storage.stream.head().await.unwrap().head, full);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_larger_than_one_item_are_split_over_segments_of_one_write() {
    let config = sdk_config().await;
    let client = Client::new(&config);
    let store = fresh_store(&config).await;
    let storage = storage(store.clone());
    let f = Fixtures::new();
    // 4,000 characters of four bytes each: some 16 KB per message, 800 KB in all, more than
    // one item holds.
    let long = "\u{1D11E}".repeat(4_000);
    // Two group commits' worth, written as two transactions, the messages with the last.
    let full = 2 * DynamoStore::MAX_ALERT_BATCH as u64;
    let batch: Vec<AlertWrite> = (0..2 * DynamoStore::MAX_ALERT_BATCH)
        .map(|n| AlertWrite {
            alert: f.alert(&format!("s{n}"), Severity::Info, Channel::Http, &long),
            mails: vec![],
        })
        .collect();
    let messages: Vec<StreamMessage> = batch.iter().map(AlertWrite::stream_message).collect();
    let appended = storage
        .alerts
        .insert(batch)
        .await
        .expect("a batch of long alerts")
        .appended;
    assert_eq!((appended.first, appended.count), (1, full));
    let mut items = segments(&client, &store).await;
    assert!(items.len() > 1, "the messages do not fit in one item");
    assert!(
        items
            .iter()
            .all(|item| number_attribute(item, "write_first") == 1)
    );
    let log = read_all(&storage, 0).await;
    assert_eq!(
        log.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=full).collect::<Vec<_>>()
    );
    assert_eq!(
        log.into_iter().map(|e| e.message).collect::<Vec<_>>(),
        messages
    );
    let after_first: Position = string_attribute(&items[0], "sk").parse().unwrap();
    let tail = read_all(&storage, after_first + 2).await;
    assert_eq!(tail.first().map(|e| e.position), Some(after_first + 3));

    // The first segment of a write not visible while a later one is, as a query may see a
    // transaction being committed: a read stops there rather than skip it.
    let first = items.remove(0);
    client
        .delete_item()
        .table_name(format!("{}StreamLog", store.tables().prefix))
        .key("pk", first["pk"].clone())
        .key("sk", first["sk"].clone())
        .send()
        .await
        .unwrap();
    assert!(storage.stream.read(0, 10).await.unwrap().is_empty());
    assert_eq!(
        storage.stream.read(after_first, 1).await.unwrap()[0].position,
        after_first + 1
    );

    // A later write, then trimming everything: the head and the counting stay.
    let later = storage
        .alerts
        .insert(vec![AlertWrite {
            alert: f.alert("s", Severity::Info, Channel::Http, "corto"),
            mails: vec![],
        }])
        .await
        .unwrap()
        .appended;
    assert_eq!(later.first, full + 1);
    let removed = storage
        .stream
        .trim(Timestamp::from_unix_millis(i64::MAX / 2))
        .await
        .unwrap();
    assert_eq!(
        removed,
        full + 1 - after_first,
        "the segments left go, with their messages"
    );
    let head = storage.stream.head().await.unwrap();
    assert_eq!((head.head, head.oldest), (full + 1, full + 2));
    assert!(segments(&client, &store).await.is_empty());
}

/// What one write stored in the log.
struct Written {
    appended: Appended,
    messages: Vec<StreamMessage>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_that_lose_the_counter_race_try_again_until_each_is_stored_once() {
    let config = sdk_config().await;
    let store = fresh_store(&config).await;
    let storage = storage(store.clone());
    let f = Fixtures::new();
    const WRITERS: usize = 6;
    const ROUNDS: usize = 6;
    const CONFLICTS: u32 = 40;
    store.inject_counter_conflicts(CONFLICTS);
    let f = Arc::new(f);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let f = Arc::clone(&f);
            let storage = storage.clone();
            tokio::spawn(async move {
                let mut mine: Vec<Written> = Vec::new();
                // An incident of the writer's own: no change of it can lose a version race, so
                // every write must succeed.
                let mut incident = f.incident(&f.user(), "otro", Urgency::Medium, &format!("w{w}"));
                let creation = f.creation(&incident);
                let messages = creation.stream_messages();
                let appended = storage.incidents.commit(creation).await.expect("create");
                mine.push(Written { appended, messages });
                for round in 0..ROUNDS {
                    if (w + round) % 2 == 0 {
                        let batch: Vec<AlertWrite> = (0..1 + (w + round) % 3)
                            .map(|n| {
                                let alert = f.alert(
                                    "s",
                                    Severity::Error,
                                    Channel::Tcp,
                                    &format!("{w}.{round}.{n}"),
                                );
                                let mail = f.mail("ops@campus.edu", "x", alert.created_at);
                                AlertWrite {
                                    alert,
                                    mails: vec![mail],
                                }
                            })
                            .collect();
                        let messages = batch.iter().map(AlertWrite::stream_message).collect();
                        let appended = storage.alerts.insert(batch).await.expect("insert").appended;
                        mine.push(Written { appended, messages });
                    } else {
                        let change = f.update(
                            &incident,
                            IncidentAction::Comment(
                                CommentText::parse(&format!("{w}.{round}")).unwrap(),
                            ),
                            vec![],
                        );
                        let messages = change.stream_messages();
                        let appended = storage
                            .incidents
                            .commit(change.clone())
                            .await
                            .expect("a change no other writer races for");
                        incident = change.incident;
                        mine.push(Written { appended, messages });
                    }
                }
                mine
            })
        })
        .collect();
    let mut written: Vec<Written> = Vec::new();
    for writer in writers {
        written.extend(writer.await.expect("a writer"));
    }
    assert_eq!(
        store.inject_counter_conflicts(0),
        0,
        "every injected conflict was met, and tried again"
    );

    let total: u64 = written.iter().map(|w| w.appended.count).sum();
    let head = storage.stream.head().await.unwrap();
    assert_eq!(head.head, total, "the head counts every message once");
    let log = read_all(&storage, 0).await;
    assert_eq!(
        log.iter().map(|e| e.position).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "no hole, no repeat"
    );
    let mut taken: Vec<Position> = Vec::new();
    for write in &written {
        assert_eq!(write.appended.epoch, head.epoch);
        assert_eq!(write.appended.count, write.messages.len() as u64);
        for (i, message) in write.messages.iter().enumerate() {
            let position = write.appended.first + i as u64;
            taken.push(position);
            assert_eq!(&log[position as usize - 1].message, message);
        }
    }
    taken.sort_unstable();
    taken.dedup();
    assert_eq!(
        taken.len() as u64,
        total,
        "no two writes were given one position"
    );
}

#[tokio::test]
async fn text_search_folds_case_beyond_ascii_and_takes_wildcards_literally() {
    let config = sdk_config().await;
    let storage = storage(fresh_store(&config).await);
    let f = Fixtures::new();
    let reporter = f.user();
    let cafe = f.incident(&reporter, "limpieza", Urgency::Low, "CAFÉ DERRAMADO");
    let percent = f.incident(&reporter, "otro", Urgency::Low, "descuento 100% real");
    let plain = f.incident(&reporter, "otro", Urgency::Low, "descuento 1000 real");
    for incident in [&cafe, &percent, &plain] {
        storage
            .incidents
            .commit(f.creation(incident))
            .await
            .unwrap();
    }
    let search = |q: &str| {
        let filter = IncidentFilter {
            text: Some(SearchText::parse(q).unwrap()),
            ..IncidentFilter::default()
        };
        let storage = storage.clone();
        async move {
            let page = storage
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
    assert_eq!(search("*").await, Vec::new());
    assert_eq!(
        search("descuento").await,
        vec![plain.id().clone(), percent.id().clone()]
    );
    // A needle spanning two fields matches nothing.
    assert_eq!(search("derramado pabellón").await, Vec::new());
}

#[tokio::test]
async fn cursors_of_other_lists_are_refused() {
    let config = sdk_config().await;
    let storage = storage(fresh_store(&config).await);
    let f = Fixtures::new();
    for n in 0..3 {
        let alert = f.alert("s", Severity::Info, Channel::Http, &format!("m{n}"));
        storage
            .alerts
            .insert(vec![AlertWrite {
                alert,
                mails: vec![],
            }])
            .await
            .unwrap();
    }
    let first = PageRequest::first(2).unwrap();
    let page = storage
        .alerts
        .search(&AlertFilter::default(), &first)
        .await
        .unwrap();
    let cursor = page.next_cursor.expect("a second page");
    let foreign = storage
        .incidents
        .incidents(
            &IncidentFilter::default(),
            &PageRequest::after(first.limit, cursor.clone()),
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
    let mails = storage
        .outbox
        .mails(None, &PageRequest::after(first.limit, cursor))
        .await;
    assert!(matches!(
        mails,
        Err(Error::Invalid {
            field: "cursor",
            ..
        })
    ));
}

#[tokio::test]
async fn missing_tables_make_the_store_unavailable_without_aws_types_or_request_ids() {
    let config = sdk_config().await;
    // Never bootstrapped: every table is missing.
    let store = DynamoStore::from_sdk_config(&config, DynamoTables::with_prefix(fresh_prefix()));
    let storage = storage(store);
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "otro", Urgency::Low, "sin tablas");
    let results = [
        storage.incidents.commit(f.creation(&incident)).await.err(),
        storage.incidents.incident(incident.id()).await.err(),
        storage.alerts.counts().await.err(),
        storage
            .incidents
            .incidents(&IncidentFilter::default(), &PageRequest::default())
            .await
            .err(),
    ];
    for error in results {
        let error = error.expect("an error");
        assert_eq!(status_code::of(&error), 503, "{error:?}");
        let Error::Unavailable { what, source } = &error else {
            panic!("expected unavailable, got {error:?}");
        };
        assert_eq!(*what, "dynamodb");
        let text = source.to_string();
        assert!(text.contains("ResourceNotFound"), "{text}");
        assert!(!text.to_lowercase().contains("request id"), "{text}");
        assert!(!text.to_lowercase().contains("request_id"), "{text}");
        assert_eq!(error.public_message(), "dynamodb is unavailable");
    }
}

#[tokio::test]
async fn an_assignment_is_found_by_kind_across_incidents() {
    let config = sdk_config().await;
    let storage = storage(fresh_store(&config).await);
    let f = Fixtures::new();
    let a = f.incident(&f.user(), "salud", Urgency::High, "uno");
    let b = f.incident(&f.user(), "salud", Urgency::High, "dos");
    for incident in [&a, &b] {
        storage
            .incidents
            .commit(f.creation(incident))
            .await
            .unwrap();
    }
    let assign = f.assign(&b, "Enfermería");
    storage.incidents.commit(assign.clone()).await.unwrap();
    let comment = f.update(
        &a,
        IncidentAction::Comment(alerta_core::domain::CommentText::parse("nota").unwrap()),
        vec![],
    );
    storage.incidents.commit(comment).await.unwrap();
    let found = storage
        .incidents
        .events(&alerta_core::ports::EventQuery {
            after: None,
            kind: Some(alerta_core::domain::EventKind::DepartmentAssigned),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(found, assign.events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_skips_what_is_there_alike_and_refuses_other_content_under_the_same_key() {
    use alerta_core::ConflictKind;
    use alerta_core::domain::StreamHead;
    use alerta_core::ports::{Imported, IncidentStore, Record, RecordKind, RecordSink};

    let config = sdk_config().await;
    let store = fresh_store(&config).await;
    let fx = Fixtures::new();
    let reporter = fx.user();
    let incident = fx.incident(&reporter, "tecnologia", Urgency::Medium, "Proyector");
    let record = Record::Incident(incident.clone());

    let first = store.import_records(vec![record.clone()]).await.unwrap();
    assert_eq!(
        first,
        Imported {
            written: 1,
            present: 0
        }
    );
    let again = store.import_records(vec![record]).await.unwrap();
    assert_eq!(
        again,
        Imported {
            written: 0,
            present: 1
        }
    );

    let moved = fx.move_to(&incident, Status::InProgress).incident;
    assert_eq!(moved.id(), incident.id());
    let refused = store
        .import_records(vec![Record::Incident(moved)])
        .await
        .unwrap_err();
    assert_eq!(
        refused.conflict_kind(),
        Some(ConflictKind::Duplicate),
        "{refused}"
    );
    assert!(
        refused.to_string().contains(incident.id().as_str()),
        "{refused}"
    );
    assert_eq!(store.incident(incident.id()).await.unwrap(), Some(incident));
    assert_eq!(store.count_records(RecordKind::Incidents).await.unwrap(), 1);

    // The log bootstrap made (empty, another epoch) is taken over; one with entries is not.
    let origin = StreamHead {
        epoch: 4711,
        head: 9,
        oldest: 10,
    };
    store.adopt_stream(origin).await.unwrap();
    store.adopt_stream(origin).await.unwrap();
    let reader = DynamoStore::from_sdk_config(&config, store.tables().clone());
    assert_eq!(reader.head().await.unwrap(), origin);
    let other = StreamHead {
        epoch: 4712,
        head: 3,
        oldest: 4,
    };
    let refused = store.adopt_stream(other).await.unwrap_err();
    assert_eq!(
        refused.conflict_kind(),
        Some(ConflictKind::Duplicate),
        "{refused}"
    );
    assert_eq!(reader.head().await.unwrap(), origin);
}

/// A removal that stopped after its transaction, leaving occurrences that did not fit in it
/// under a marker, is finished by the next call: the marker names what to delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_alert_removal_is_finished_by_the_next_one() {
    let config = sdk_config().await;
    let store = fresh_store(&config).await;
    let client = Client::new(&config);
    let alerts_table = format!("{}{}", store.tables().prefix, store.tables().alerts);
    let occurrences_table = format!(
        "{}{}",
        store.tables().prefix,
        store.tables().alert_occurrences
    );
    let storage = storage(store);
    let f = Fixtures::new();
    let first = f.alert("ups_9", Severity::Critical, Channel::Tcp, "sin red");
    let mut group = first.clone();
    for write in [
        first.clone(),
        f.alert("ups_9", Severity::Critical, Channel::Tcp, "sin red"),
    ] {
        let stored = storage
            .alerts
            .insert(vec![AlertWrite {
                alert: write,
                mails: vec![],
            }])
            .await
            .unwrap();
        group = stored.groups[0].alert.clone();
    }
    assert_eq!((group.id.clone(), group.count()), (first.id.clone(), 2));
    let resolve = f.transition(
        &group,
        alerta_core::domain::AlertAction::Resolve { note: None },
    );
    storage.alerts.transition(resolve).await.unwrap();

    // What the removal's transaction leaves when its occurrences do not fit: the group and
    // its fingerprint item gone, a marker naming the group, its occurrences still there.
    let s = |text: &str| AttributeValue::S(text.to_owned());
    client
        .delete_item()
        .table_name(&alerts_table)
        .key("id", s(group.id.as_str()))
        .send()
        .await
        .unwrap();
    client
        .delete_item()
        .table_name(&occurrences_table)
        .key(
            "alert_id",
            s(&format!("fingerprint#{}", group.fingerprint())),
        )
        .key("id", s("group"))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(&occurrences_table)
        .item("alert_id", s("retired#"))
        .item("id", s(group.id.as_str()))
        .send()
        .await
        .unwrap();
    let left = storage
        .alerts
        .occurrences(&group.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(left.items.len(), 2, "the occurrences outlived their group");

    let cutoff = Timestamp::from_unix_millis(f.tick().unix_millis() + 1000);
    assert_eq!(
        storage.alerts.remove_resolved(cutoff, 10).await.unwrap(),
        0,
        "nothing new to remove, and the finished group is not counted again"
    );
    let left = storage
        .alerts
        .occurrences(&group.id, &PageRequest::default())
        .await
        .unwrap();
    assert!(left.items.is_empty(), "{left:?}");
    let marker = client
        .get_item()
        .table_name(&occurrences_table)
        .key("alert_id", s("retired#"))
        .key("id", s(group.id.as_str()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(marker.item, None, "the marker goes last");
}

/// An alert resolved before retention's index existed has no `resolved` attribute, so
/// retention does not see it until bootstrap gives it one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_lists_alerts_resolved_before_the_resolution_index() {
    let config = sdk_config().await;
    let store = fresh_store(&config).await;
    let client = Client::new(&config);
    let alerts_table = format!("{}{}", store.tables().prefix, store.tables().alerts);
    let storage = storage(store.clone());
    let f = Fixtures::new();
    let alert = f.alert("ups_7", Severity::Error, Channel::Tcp, "sin red");
    storage
        .alerts
        .insert(vec![AlertWrite {
            alert: alert.clone(),
            mails: vec![],
        }])
        .await
        .unwrap();
    let resolve = f.transition(
        &alert,
        alerta_core::domain::AlertAction::Resolve { note: None },
    );
    storage.alerts.transition(resolve).await.unwrap();
    client
        .update_item()
        .table_name(&alerts_table)
        .key("id", AttributeValue::S(alert.id.as_str().to_owned()))
        .update_expression("REMOVE resolved")
        .send()
        .await
        .unwrap();
    let cutoff = Timestamp::from_unix_millis(f.tick().unix_millis() + 1000);
    assert_eq!(
        storage.alerts.remove_resolved(cutoff, 10).await.unwrap(),
        0,
        "not in the index yet"
    );
    store.bootstrap().await.expect("bootstrap");
    assert_eq!(storage.alerts.remove_resolved(cutoff, 10).await.unwrap(), 1);
    assert_eq!(storage.alerts.alert(&alert.id).await.unwrap(), None);
}

/// A record stored before records carried their creation time in milliseconds (and a TTL)
/// still ages out: by its `created_at`, so a retry after `max_age` runs again, and one before
/// gets the stored reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_record_without_its_millisecond_time_still_ages_out() {
    use alerta_core::domain::{IdempotencyClaim, IdempotencyKey, Reservation};

    let config = sdk_config().await;
    let store = fresh_store(&config).await;
    let client = Client::new(&config);
    let table = format!("{}{}", store.tables().prefix, store.tables().idempotency);
    let storage = storage(store);
    let s = |text: &str| AttributeValue::S(text.to_owned());
    let stored_at = Timestamp::from_unix_millis(1_800_000_000_000);
    client
        .put_item()
        .table_name(&table)
        .item("owner", s("U1"))
        .item("clave", s("old-key"))
        .item("operation", s("incident.create"))
        .item("response", s(r#"{"incident_id":"I1"}"#))
        .item("created_at", s(&stored_at.to_rfc3339()))
        .send()
        .await
        .unwrap();
    let max_age = Duration::from_secs(24 * 3600);
    let claim = |now: Timestamp, holder: &str| IdempotencyClaim {
        owner: "U1".into(),
        key: IdempotencyKey::parse("old-key").unwrap(),
        operation: "incident.create".into(),
        holder: holder.into(),
        now,
        lease: Duration::from_secs(60),
        max_age,
    };

    let within = stored_at.plus(max_age - Duration::from_secs(1));
    match storage
        .idempotency
        .reserve(&claim(within, "h1"))
        .await
        .unwrap()
    {
        Reservation::Completed(record) => {
            assert_eq!(record.response, serde_json::json!({"incident_id": "I1"}));
            assert_eq!(record.created_at, stored_at);
        }
        other => panic!("a record within its age is the stored reply: {other:?}"),
    }
    let after = stored_at.plus(max_age);
    assert_eq!(
        storage
            .idempotency
            .reserve(&claim(after, "h2"))
            .await
            .unwrap(),
        Reservation::Reserved,
        "an aged-out record counts as absent"
    );

    // Retries racing for another aged-out record of the old shape: exactly one takes it
    // over, the others find its reservation.
    client
        .put_item()
        .table_name(&table)
        .item("owner", s("U1"))
        .item("clave", s("raced-key"))
        .item("operation", s("incident.create"))
        .item("response", s(r#"{"incident_id":"I2"}"#))
        .item("created_at", s(&stored_at.to_rfc3339()))
        .send()
        .await
        .unwrap();
    let racers: Vec<_> = (0..12)
        .map(|n| {
            let storage = storage.clone();
            let claim = IdempotencyClaim {
                key: IdempotencyKey::parse("raced-key").unwrap(),
                ..claim(after, &format!("racer-{n}"))
            };
            tokio::spawn(async move { storage.idempotency.reserve(&claim).await.unwrap() })
        })
        .collect();
    let mut reserved = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Reservation::Reserved => reserved += 1,
            Reservation::Pending { .. } => {}
            other => panic!("an aged-out record is absent or just taken: {other:?}"),
        }
    }
    assert_eq!(reserved, 1, "exactly one racing retry runs again");
}
