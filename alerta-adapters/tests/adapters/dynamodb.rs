//! The DynamoDB store against moto in server mode: the conformance suites, each check on
//! tables of its own, and what only DynamoDB can show: the tables bootstrap makes, the items
//! as other DynamoDB clients see them, batches larger than one transaction.
//!
//! Start moto first (`source scripts/lib/moto.sh && start_moto`); without it these tests
//! fail and say so.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use alerta_adapters::dynamodb::{DynamoStore, DynamoTables};
use alerta_core::Error;
use alerta_core::conformance::{self, Fixtures};
use alerta_core::domain::{
    AlertFilter, Change, Channel, Email, IncidentFilter, PageRequest, PasswordHash, PersonName,
    Role, SearchText, Session, SessionToken, Severity, Status, Urgency, User, UserRecord,
};
use alerta_core::ports::{AlertWrite, DynReportLedger, Storage};
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
    conformance::report_ledger(&|| async {
        let store = fresh_store(&config).await;
        let ledger: Arc<DynReportLedger> = Arc::new(store.clone());
        (storage(store), ledger)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_idempotency_store_conforms() {
    let config = sdk_config().await;
    conformance::idempotency_store(&|| async { storage(fresh_store(&config).await) }).await;
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
        &t.outbox,
        &t.idempotency,
        &t.report_ledger,
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
        ["by_time"]
    );
    assert_eq!(
        index_names(&client, &format!("{prefix}CorreoSaliente")).await,
        ["by_due", "by_state"]
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(format!("{prefix}Tokens"))
        .send()
        .await
        .expect("describe ttl");
    let ttl = ttl.time_to_live_description().expect("a ttl description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some("expires_at"));

    // Something stored survives a second bootstrap, which must not fail.
    let f = Fixtures::new();
    let incident = f.incident(&f.user(), "otro", Urgency::Baja, "sigue ahí");
    let storage = storage(store.clone());
    storage
        .incidents
        .commit(f.creation(&incident))
        .await
        .unwrap();
    store.bootstrap().await.expect("second bootstrap");
    assert_eq!(tables_with_prefix(&client, &prefix).await, made);
    assert_eq!(
        storage.incidents.incident(&incident.id).await.unwrap(),
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

    let incident = f.incident(&f.user(), "seguridad", Urgency::Alta, "Puerta Forzada");
    storage
        .incidents
        .commit(f.creation(&incident))
        .await
        .unwrap();
    let resolve = f.move_to(&incident, Status::Resuelto);
    storage.incidents.commit(resolve.clone()).await.unwrap();
    let item = client
        .get_item()
        .table_name(format!("{prefix}Incidentes"))
        .key("incident_id", AttributeValue::S(incident.id.to_string()))
        .send()
        .await
        .unwrap()
        .item
        .expect("the incident item");
    assert_eq!(string_attribute(&item, "incident_id"), incident.id.as_str());
    assert_eq!(string_attribute(&item, "estado"), "resuelto");
    assert_eq!(item.get("version"), Some(&AttributeValue::N("2".into())));
    assert_eq!(string_attribute(&item, "tipo"), "seguridad");
    assert_eq!(string_attribute(&item, "urgencia"), "alta");
    assert_eq!(
        string_attribute(&item, "reportado_por"),
        incident.reported_by.as_str()
    );
    assert_eq!(
        string_attribute(&item, "resolved_at"),
        resolve.incident.resolved_at.expect("resolved").to_rfc3339(),
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
        .expression_attribute_values(":id", AttributeValue::S(incident.id.to_string()))
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
async fn batches_larger_than_one_transaction_are_stored_or_undone_whole() {
    let config = sdk_config().await;
    let storage = storage(fresh_store(&config).await);
    let f = Fixtures::new();
    // 130 alerts, each error with one mail row: 260 items, three transactions.
    let batch: Vec<AlertWrite> = (0..130)
        .map(|n| {
            let alert = f.alert(&format!("s{n}"), Severity::Error, Channel::Tcp, "lleno");
            let mail = f.mail("ops@campus.edu", &format!("m{n}"), alert.created_at);
            AlertWrite {
                alert,
                mails: vec![mail],
            }
        })
        .collect();
    storage
        .alerts
        .insert(batch.clone())
        .await
        .expect("a big batch");
    assert_eq!(storage.alerts.counts().await.unwrap().total, 130);
    let mails = storage
        .outbox
        .mails(None, &PageRequest::first(500).unwrap())
        .await
        .unwrap();
    assert_eq!(mails.items.len(), 130);

    // The clash is in the last part: the parts before it are written, then deleted again.
    let mut clash: Vec<AlertWrite> = (0..120)
        .map(|n| {
            let alert = f.alert(&format!("n{n}"), Severity::Critical, Channel::Http, "x");
            let mail = f.mail("ops@campus.edu", &format!("n{n}"), alert.created_at);
            AlertWrite {
                alert,
                mails: vec![mail],
            }
        })
        .collect();
    clash.push(batch[7].clone());
    let result = storage.alerts.insert(clash.clone()).await;
    assert!(
        matches!(
            result,
            Err(Error::Conflict {
                code: "duplicate",
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(
        storage.alerts.counts().await.unwrap().total,
        130,
        "nothing of the failed batch stays"
    );
    for write in &clash[..120] {
        assert_eq!(storage.outbox.mail(&write.mails[0].id).await.unwrap(), None);
    }
    let page = storage
        .alerts
        .search(&AlertFilter::default(), &PageRequest::first(500).unwrap())
        .await
        .unwrap();
    assert_eq!(page.items.len(), 130);
}

#[tokio::test]
async fn text_search_folds_case_beyond_ascii_and_takes_wildcards_literally() {
    let config = sdk_config().await;
    let storage = storage(fresh_store(&config).await);
    let f = Fixtures::new();
    let reporter = f.user();
    let cafe = f.incident(&reporter, "limpieza", Urgency::Baja, "CAFÉ DERRAMADO");
    let percent = f.incident(&reporter, "otro", Urgency::Baja, "descuento 100% real");
    let plain = f.incident(&reporter, "otro", Urgency::Baja, "descuento 1000 real");
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
            page.items.into_iter().map(|i| i.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(search("café").await, vec![cafe.id.clone()]);
    assert_eq!(search("é d").await, vec![cafe.id.clone()]);
    assert_eq!(search("0%").await, vec![percent.id.clone()]);
    assert_eq!(search("*").await, Vec::new());
    assert_eq!(
        search("descuento").await,
        vec![plain.id.clone(), percent.id.clone()]
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
    let incident = f.incident(&f.user(), "otro", Urgency::Baja, "sin tablas");
    let results = [
        storage.incidents.commit(f.creation(&incident)).await.err(),
        storage.incidents.incident(&incident.id).await.err(),
        storage.alerts.counts().await.err(),
        storage
            .incidents
            .incidents(&IncidentFilter::default(), &PageRequest::default())
            .await
            .err(),
    ];
    for error in results {
        let error = error.expect("an error");
        assert_eq!(error.status(), 503, "{error:?}");
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
    let a = f.incident(&f.user(), "salud", Urgency::Alta, "uno");
    let b = f.incident(&f.user(), "salud", Urgency::Alta, "dos");
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
        Change::Comentario {
            texto: alerta_core::domain::CommentText::parse("nota").unwrap(),
        },
        vec![],
    );
    storage.incidents.commit(comment).await.unwrap();
    let found = storage
        .incidents
        .events(&alerta_core::ports::EventQuery {
            after: None,
            kind: Some(alerta_core::domain::EventKind::Asignacion),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(found, assign.events);
}
