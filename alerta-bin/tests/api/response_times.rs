//! `GET /staff/stats/alerts`: MTTA and MTTR of the alert groups of a window, over HTTP.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, spawn_app};

/// The row of `key` in one of the reply's lists.
fn row<'a>(reply: &'a Value, list: &str, key: &str) -> &'a Value {
    reply[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["clave"] == key)
        .unwrap_or_else(|| panic!("{key} in {list}: {reply}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_and_resolved_groups_are_timed_by_severity_and_source() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let mut ids = Vec::new();
    for (source, severity, message) in [
        ("db1", "critical", "disco lleno"),
        ("db1", "critical", "replica parada"),
        ("web", "warning", "lento"),
    ] {
        let alert = json!({"source": source, "severity": severity, "message": message});
        let (status, body) = app.post(&admin, "/events", alert).await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // The first is acknowledged then resolved, the second resolved unacknowledged, the third
    // left firing.
    for path in [
        format!("/events/{}/ack", ids[0]),
        format!("/events/{}/resolve", ids[0]),
        format!("/events/{}/resolve", ids[1]),
    ] {
        let (status, body) = app.post(&admin, &path, json!({})).await;
        assert_eq!(status, 200, "{path}: {body}");
    }

    let (status, times) = app.get(&admin, "/staff/stats/alerts?dias=7").await;
    assert_eq!(status, 200, "{times}");
    assert_eq!(times["grupos"], 3);
    let critical = row(&times, "por_severidad", "critical");
    assert_eq!(critical["disparos"], 2);
    assert_eq!(critical["reconocimiento"]["cuantas"], 1);
    assert_eq!(critical["resolucion"]["cuantas"], 2);
    let resolution = &critical["resolucion"];
    let (mean, p90) = (
        resolution["media_s"].as_f64().unwrap(),
        resolution["p90_s"].as_f64().unwrap(),
    );
    assert!(0.0 <= mean && mean <= p90, "{resolution}");
    let warning = row(&times, "por_severidad", "warning");
    assert_eq!(warning["disparos"], 1);
    assert_eq!(warning["reconocimiento"], Value::Null);
    assert_eq!(warning["resolucion"], Value::Null);
    assert_eq!(row(&times, "por_fuente", "db1")["disparos"], 2);
    assert_eq!(row(&times, "por_fuente", "web")["disparos"], 1);
    let keys: Vec<&Value> = times["por_severidad"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row["clave"])
        .collect();
    assert_eq!(keys, ["critical", "warning"], "most severe first");

    // The default window is 30 days.
    let (status, default) = app.get(&admin, "/staff/stats/alerts").await;
    assert_eq!(status, 200);
    assert_eq!(default["grupos"], 3);
}

#[tokio::test]
async fn only_staff_and_admins_read_it_and_the_window_is_checked() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let reply = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"email": "eva@campus.edu", "password": "eva-password", "nombre": "Eva"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let student = app.login("eva@campus.edu", "eva-password").await;
    let (status, body) = app.get(&student, "/staff/stats/alerts").await;
    assert_eq!((status, &body["error"]["code"]), (403, &json!("forbidden")));
    let (status, _) = app.get("", "/staff/stats/alerts").await;
    assert_eq!(status, 401);
    for window in ["0", "91", "siete", "-1"] {
        let (status, body) = app
            .get(&admin, &format!("/staff/stats/alerts?dias={window}"))
            .await;
        assert_eq!(status, 400, "{window}: {body}");
        assert_eq!(body["error"]["code"], "invalid_dias", "{window}");
    }
}
