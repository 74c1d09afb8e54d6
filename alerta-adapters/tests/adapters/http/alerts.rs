//! The alert hub over HTTP.

use alerta_core::domain::{Role, StreamKind};
use serde_json::{Value, json};

use super::helpers::spawn_app;
use super::incidents::url_encode;

#[tokio::test]
async fn alerts_are_stored_searched_and_counted() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let student = t.user(Role::Student).await;
    let token = Some(staff.token.as_str());
    let mut ids = Vec::new();
    for (source, severity, message) in [
        ("sensor_01", "info", "Todo en orden"),
        ("sensor_02", "warning", "Temperatura ALTA en sala"),
        ("sensor_01", "critical", "Humo detectado"),
    ] {
        let reply = t
            .post(
                "/events",
                token,
                json!({"source": source, "severity": severity, "message": message}),
            )
            .await;
        reply.expect(201);
        assert_eq!(reply.body["ok"], true);
        ids.push(reply.body["id"].as_str().unwrap().to_owned());
    }

    let all = t.get("/events", Some(&student.token)).await;
    all.expect(200);
    let got: Vec<&str> = all
        .items()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [ids[2].as_str(), ids[1].as_str(), ids[0].as_str()],
        "newest first"
    );
    let first = &all.items()[2];
    assert_eq!(first["source"], "sensor_01");
    assert_eq!(first["severity"], "info");
    assert_eq!(first["message"], "Todo en orden");
    assert_eq!(first["channel"], "http");
    assert!(first["created_at"].is_string());

    let query = |q: String| {
        let t = &t;
        async move {
            let reply = t.get(&format!("/events{q}"), token).await;
            reply.expect(200);
            reply
                .items()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(query("?severity=critical".into()).await, [ids[2].clone()]);
    assert_eq!(
        query("?source=sensor_01".into()).await,
        [ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(query("?q=alta".into()).await, [ids[1].clone()]);
    assert_eq!(query("?channel=tcp".into()).await, Vec::<String>::new());
    assert_eq!(
        query("?channel=http&limit=1".into()).await,
        [ids[2].clone()]
    );
    assert_eq!(
        query(format!("?since={}", ids[0])).await,
        [ids[2].clone(), ids[1].clone()]
    );
    // A time works as `since` too: everything from the epoch on, nothing from the far future.
    assert_eq!(query("?since=1970-01-01T00:00:00Z".into()).await.len(), 3);
    assert!(
        query(format!("?since={}", url_encode("2999-01-01T00:00:00.000Z")))
            .await
            .is_empty()
    );

    let stats = t.get("/events/stats", Some(&student.token)).await;
    stats.expect(200);
    assert_eq!(
        stats.body,
        json!({"total": 3,
               "by_severity": {"info": 1, "warning": 1, "error": 0, "critical": 1},
               "by_channel": {"tcp": 0, "http": 3, "ws": 0}})
    );
    let alerts = t
        .broadcaster
        .messages()
        .iter()
        .filter(|m| m.kind == StreamKind::Alert)
        .count();
    assert_eq!(alerts, 3);
}

#[tokio::test]
async fn alert_pages_and_idempotent_posts() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let token = Some(student.token.as_str());
    let body = json!({"source": "script", "severity": "error", "message": "falló"});
    let first = t
        .post_with_key("/events", token, "alert-1", body.clone())
        .await;
    let again = t
        .post_with_key("/events", token, "alert-1", body.clone())
        .await;
    first.expect(201);
    again.expect(201);
    assert_eq!(first.body, again.body);
    for n in 0..4 {
        // Another message each time: the same one would fold into one group.
        let other =
            json!({"source": "script", "severity": "error", "message": format!("falló {n}")});
        t.post("/events", token, other).await.expect(201);
    }
    let mut seen = Vec::new();
    let mut next = "/events?limit=2".to_owned();
    loop {
        let reply = t.get(&next, token).await;
        reply.expect(200);
        seen.extend(reply.items().iter().map(|a| a["id"].clone()));
        match &reply.body["next_cursor"] {
            Value::String(cursor) => {
                next = format!("/events?limit=2&cursor={}", url_encode(cursor));
            }
            _ => break,
        }
    }
    assert_eq!(seen.len(), 5, "one alert for the repeated key, four others");
    let unique: std::collections::HashSet<String> = seen.iter().map(Value::to_string).collect();
    assert_eq!(unique.len(), 5);
}
