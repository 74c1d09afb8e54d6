//! What the port-level suites cannot see: the settings of every pooled connection and the
//! indexes behind each list query.

use sqlx::Row;

use super::{SqliteOptions, SqliteStore};

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
