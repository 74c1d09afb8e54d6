//! What the port-level suites cannot see: the settings of every pooled connection and the
//! indexes behind each list query.

use sqlx::Row;

use std::borrow::Cow;

use alerta_core::domain::{AlertId, AlertStatus};
use alerta_core::ports::AlertStore;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use super::{MIGRATIONS, SqliteOptions, SqliteStore};

async fn store(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open_with(SqliteOptions::new(dir.path().join("alerta.db")).max_connections(3))
        .await
        .expect("open")
}

#[tokio::test]
async fn every_pooled_connection_is_durable_and_patient() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir).await;
    // Hold three connections at once so the pool has to open each of them.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(store.pool.acquire().await.expect("acquire"));
    }
    for conn in &mut held {
        let pragma = |name: &'static str| sqlx::query(name);
        let journal: String = pragma("PRAGMA journal_mode")
            .fetch_one(&mut **conn)
            .await
            .unwrap()
            .get(0);
        let synchronous: i64 = pragma("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .unwrap()
            .get(0);
        let foreign_keys: i64 = pragma("PRAGMA foreign_keys")
            .fetch_one(&mut **conn)
            .await
            .unwrap()
            .get(0);
        let busy_timeout: i64 = pragma("PRAGMA busy_timeout")
            .fetch_one(&mut **conn)
            .await
            .unwrap()
            .get(0);
        assert_eq!(journal, "wal");
        assert_eq!(synchronous, 2, "synchronous=FULL");
        assert_eq!(foreign_keys, 1);
        assert_eq!(busy_timeout, 5000);
    }
}

/// The plan SQLite picks for `sql`, one line per step.
async fn plan(store: &SqliteStore, sql: &'static str, binds: usize) -> String {
    let mut query = sqlx::query(sql);
    for _ in 0..binds {
        query = query.bind("x");
    }
    let rows = query.fetch_all(&store.pool).await.expect("explain");
    rows.iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn every_list_filter_has_an_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = store(&dir).await;
    let cases: &[(&'static str, usize, &str)] = &[
        (
            "EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE 1 = 1 AND status = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "incidents_by_status",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE 1 = 1 AND kind = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "incidents_by_kind",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE 1 = 1 AND urgency = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "incidents_by_urgency",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE 1 = 1 AND department = ? \
             AND id < ? ORDER BY id DESC LIMIT 51",
            2,
            "incidents_by_department",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE 1 = 1 AND reported_by = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "incidents_by_reporter",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM incident_events WHERE incident_id = ? ORDER BY id",
            1,
            "incident_events_by_incident",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM incident_events WHERE 1 = 1 AND id > ? \
             AND kind = ? ORDER BY id LIMIT 10",
            2,
            "incident_events_by_kind",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM attachments WHERE incident_id = ? ORDER BY id",
            1,
            "attachments_by_incident",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM alerts WHERE 1 = 1 AND severity = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "alerts_by_severity",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM alerts WHERE 1 = 1 AND source = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "alerts_by_source",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM alerts WHERE 1 = 1 AND channel = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "alerts_by_channel",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM alert_events WHERE alert_id = ? ORDER BY id",
            1,
            "alert_events_by_alert",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM outbox WHERE state = 'pending' \
             AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1) \
             ORDER BY next_attempt_at, id LIMIT 10",
            1,
            "outbox_due",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM outbox WHERE 1 = 1 AND state = ? \
             ORDER BY id DESC LIMIT 51",
            1,
            "outbox_by_state",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM users WHERE email = ?",
            1,
            "sqlite_autoindex_users",
        ),
        (
            "EXPLAIN QUERY PLAN SELECT * FROM sessions WHERE token_hash = ?",
            1,
            "sqlite_autoindex_sessions",
        ),
        (
            "EXPLAIN QUERY PLAN DELETE FROM sessions WHERE expires_at < ?",
            1,
            "sessions_by_expiry",
        ),
    ];
    for &(sql, binds, index) in cases {
        let plan = plan(&store, sql, binds).await;
        assert!(plan.contains(index), "{sql}\n  uses {plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{sql}\n  sorts: {plan}");
    }
}

#[tokio::test]
async fn alerts_stored_before_the_lifecycle_read_as_firing_at_version_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("alerta.db");
    {
        // The schema as it was before migration 7, with one alert in it.
        let before: Vec<Migration> = MIGRATIONS
            .iter()
            .filter(|&&(version, _, _)| version < 7)
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect();
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.expect("open");
        Migrator::with_migrations(before)
            .run(&pool)
            .await
            .expect("migrate");
        sqlx::query(
            "INSERT INTO alerts (id, source, severity, message, channel, created_at, search) \
             VALUES ('01JD2Z9R1K7Q3C6ZP0S8T4W5XY', 'ups_3', 'error', 'baja', 'tcp', 1000, 'x')",
        )
        .execute(&pool)
        .await
        .expect("insert");
        pool.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("open and migrate");
    let id = AlertId::parse("01JD2Z9R1K7Q3C6ZP0S8T4W5XY").unwrap();
    let alert = store.alert(&id).await.expect("read").expect("kept");
    assert_eq!(alert.status(), AlertStatus::Firing);
    assert_eq!(alert.version(), 1);
    assert_eq!(alert.updated_at(), alert.created_at);
    assert!(store.history(&id).await.expect("history").is_empty());
}
