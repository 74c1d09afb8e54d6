//! Bad input on every write route gets the documented status and code, and stores nothing.

use alerta_adapters::http::HttpConfig;
use alerta_core::Settings;
use alerta_core::domain::{Email, Role};
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::{PNG, TestApp, TestUser, send, spawn_app, spawn_with};

/// What a case sends as the body.
enum Sent {
    Json(Value),
    Text(&'static str, &'static str),
}

/// Sends each case to `path` as `who` and checks status and code.
async fn check(t: &TestApp, who: Option<&TestUser>, path: &str, cases: Vec<(Sent, u16, &str)>) {
    for (sent, status, code) in cases {
        let request = t.request(Method::POST, path, who.map(|u| u.token.as_str()));
        let (request, shown) = match sent {
            Sent::Json(value) => {
                let shown = value.to_string();
                (request.json(&value), shown)
            }
            Sent::Text(content_type, text) => (
                request.header("content-type", content_type).body(text),
                text.to_owned(),
            ),
        };
        let reply = send(request).await;
        assert_eq!(
            (reply.status, reply.code()),
            (status, code),
            "POST {path} with {}: {}",
            shown.chars().take(120).collect::<String>(),
            reply.body
        );
        assert!(reply.body["error"]["message"].is_string());
    }
}

/// The cases every JSON write route shares: not JSON, not an object, too big, wrong type.
fn common_cases(first_required: &'static str) -> Vec<(Sent, u16, &'static str)> {
    vec![
        (
            Sent::Text("application/json", "{\"a\": "),
            400,
            "malformed_json",
        ),
        (
            Sent::Text("application/json", "not json at all"),
            400,
            "malformed_json",
        ),
        (Sent::Text("application/json", ""), 400, "malformed_json"),
        (
            Sent::Text("text/plain", "{}"),
            415,
            "unsupported_media_type",
        ),
        (Sent::Json(json!([1, 2])), 400, "invalid_body"),
        (Sent::Json(json!("text")), 400, "invalid_body"),
        (
            Sent::Json(json!({"padding": "x".repeat(70 * 1024)})),
            413,
            "too_large",
        ),
        (Sent::Json(json!({})), 400, first_required),
    ]
}

fn json_cases(cases: Vec<(Value, &'static str)>) -> Vec<(Sent, u16, &'static str)> {
    cases
        .into_iter()
        .map(|(value, code)| (Sent::Json(value), 400, code))
        .collect()
}

fn draft() -> Value {
    json!({"tipo": "limpieza", "descripcion": "Basura acumulada", "ubicacion": "Cafetería",
           "urgencia": "baja"})
}

fn with(mut base: Value, field: &str, value: Value) -> Value {
    base[field] = value;
    base
}

fn without(mut base: Value, field: &str) -> Value {
    base.as_object_mut().unwrap().remove(field);
    base
}

/// The incident draft's fields: missing, wrong type, unknown value, too long.
fn draft_cases() -> Vec<(Sent, u16, &'static str)> {
    let mut cases = common_cases("invalid_tipo");
    cases.extend(json_cases(vec![
        (without(draft(), "tipo"), "invalid_tipo"),
        (without(draft(), "descripcion"), "invalid_descripcion"),
        (without(draft(), "ubicacion"), "invalid_ubicacion"),
        (without(draft(), "urgencia"), "invalid_urgencia"),
        (with(draft(), "tipo", json!("fiesta")), "invalid_tipo"),
        (
            with(draft(), "urgencia", json!("urgentisima")),
            "invalid_urgencia",
        ),
        (with(draft(), "urgencia", json!(3)), "invalid_urgencia"),
        (
            with(draft(), "descripcion", json!(["a"])),
            "invalid_descripcion",
        ),
        (
            with(draft(), "ubicacion", json!({"x": 1})),
            "invalid_ubicacion",
        ),
        (with(draft(), "tipo", json!(true)), "invalid_tipo"),
        (
            with(draft(), "descripcion", json!("   ")),
            "invalid_descripcion",
        ),
        (
            with(draft(), "descripcion", json!("d".repeat(2001))),
            "invalid_descripcion",
        ),
        (
            with(draft(), "ubicacion", json!("u".repeat(201))),
            "invalid_ubicacion",
        ),
        (
            with(draft(), "ubicacion", json!("Aula\n3")),
            "invalid_ubicacion",
        ),
    ]));
    cases
}

#[tokio::test]
async fn incident_writes_refuse_bad_input_and_store_nothing() {
    let t = spawn_app().await;
    t.department("Mantenimiento").await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let admin = t.user(Role::Admin).await;

    check(&t, Some(&student), "/incidents", draft_cases()).await;
    check(&t, Some(&student), "/incidents/preview", draft_cases()).await;
    assert_eq!(t.incident_count(&staff.token).await, 0);

    let mut location = common_cases("invalid_ubicacion");
    location.extend(json_cases(vec![
        (json!({"ubicacion": 5}), "invalid_ubicacion"),
        (json!({"ubicacion": "u".repeat(201)}), "invalid_ubicacion"),
    ]));
    check(&t, Some(&student), "/incidents/validate-location", location).await;

    let incident = t.report(&student.token, "Fuga de agua en el baño").await;
    let id = incident["incident_id"].as_str().unwrap();
    let path = |tail: &str| format!("/incidents/{id}/{tail}");

    let mut status = common_cases("invalid_estado");
    status.extend(json_cases(vec![
        (json!({"estado": "cerrado"}), "invalid_estado"),
        (json!({"estado": 1}), "invalid_estado"),
        (
            json!({"estado": "en_proceso", "version": "1"}),
            "invalid_version",
        ),
        (
            json!({"estado": "en_proceso", "version": -1}),
            "invalid_version",
        ),
        (
            json!({"estado": "en_proceso", "version": 1.5}),
            "invalid_version",
        ),
        (json!({"estado": "en_proceso", "nota": 7}), "invalid_nota"),
        (
            json!({"estado": "en_proceso", "nota": "n".repeat(2001)}),
            "invalid_nota",
        ),
    ]));
    check(&t, Some(&staff), &path("status"), status).await;

    let mut comment = common_cases("invalid_texto");
    comment.extend(json_cases(vec![
        (json!({"texto": ""}), "invalid_texto"),
        (json!({"texto": false}), "invalid_texto"),
        (json!({"texto": "t".repeat(2001)}), "invalid_texto"),
    ]));
    check(&t, Some(&staff), &path("comments"), comment).await;

    let mut department = common_cases("invalid_departamento");
    department.extend(json_cases(vec![
        (json!({"departamento": "No existe"}), "invalid_departamento"),
        (json!({"departamento": "../etc"}), "invalid_departamento"),
        (json!({"departamento": 12}), "invalid_departamento"),
    ]));
    check(&t, Some(&admin), &path("department"), department).await;

    // Nothing changed: one incident, as first stored, with only its creation in its history.
    assert_eq!(t.incident_count(&staff.token).await, 1);
    let now = t.get(&format!("/incidents/{id}"), Some(&staff.token)).await;
    assert_eq!(now.body, incident);
    let history = t.get(&path("events"), Some(&staff.token)).await;
    assert_eq!(history.items().len(), 1);
    assert_eq!(history.items()[0]["tipo_evento"], "creado");
    assert_eq!(
        t.broadcaster.messages().len(),
        2,
        "only the creation's staff and students messages"
    );
}

#[tokio::test]
async fn account_writes_refuse_bad_input_and_store_nothing() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let account = json!({"email": "ana@campus.edu", "password": "password123", "nombre": "Ana"});

    let mut register = common_cases("invalid_email");
    register.extend(json_cases(vec![
        (without(account.clone(), "password"), "invalid_password"),
        (without(account.clone(), "nombre"), "invalid_nombre"),
        (
            with(account.clone(), "email", json!("ana")),
            "invalid_email",
        ),
        (
            with(account.clone(), "email", json!("a@b.c\r\nBcc: x@y")),
            "invalid_email",
        ),
        (with(account.clone(), "email", json!(42)), "invalid_email"),
        (
            with(account.clone(), "password", json!("short")),
            "invalid_password",
        ),
        (
            with(account.clone(), "password", json!("p".repeat(129))),
            "invalid_password",
        ),
        (
            with(account.clone(), "password", json!(12345678)),
            "invalid_password",
        ),
        (
            with(account.clone(), "nombre", json!("n".repeat(101))),
            "invalid_nombre",
        ),
    ]));
    check(&t, None, "/auth/register", register).await;

    let mut made = common_cases("invalid_email");
    let new_user = with(account.clone(), "rol", json!("staff"));
    made.extend(json_cases(vec![
        (without(new_user.clone(), "rol"), "invalid_rol"),
        (
            with(new_user.clone(), "rol", json!("superuser")),
            "invalid_rol",
        ),
        (
            with(new_user.clone(), "rol", json!(["admin"])),
            "invalid_rol",
        ),
        (
            with(new_user.clone(), "password", json!("short")),
            "invalid_password",
        ),
    ]));
    check(&t, Some(&admin), "/admin/users", made).await;

    let mut login = common_cases("invalid_email");
    login.extend(json_cases(vec![
        (json!({"email": "ana@campus.edu"}), "invalid_password"),
        (
            json!({"email": 1, "password": "password123"}),
            "invalid_email",
        ),
    ]));
    check(&t, None, "/auth/login", login).await;

    let users = &t.app.storage().users;
    let ana = users
        .user_by_email(&Email::parse("ana@campus.edu").unwrap())
        .await
        .unwrap();
    assert!(ana.is_none(), "no account was made");
}

#[tokio::test]
async fn department_and_alert_writes_refuse_bad_input_and_store_nothing() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;

    let department = json!({"nombre": "Mantenimiento", "email": "mant@campus.edu"});
    let mut departments = common_cases("invalid_nombre");
    departments.extend(json_cases(vec![
        (without(department.clone(), "email"), "invalid_email"),
        (
            with(department.clone(), "nombre", json!("a/b")),
            "invalid_nombre",
        ),
        (
            with(department.clone(), "nombre", json!("n".repeat(101))),
            "invalid_nombre",
        ),
        (
            with(department.clone(), "email", json!("nope")),
            "invalid_email",
        ),
        (
            with(department.clone(), "email", json!(null)),
            "invalid_email",
        ),
    ]));
    check(&t, Some(&admin), "/departments", departments).await;
    let list = t.get("/departments", Some(&admin.token)).await;
    assert_eq!(list.body, json!({"items": []}));

    let alert = json!({"source": "sensor_01", "severity": "warning", "message": "Humo"});
    let mut alerts = common_cases("invalid_source");
    alerts.extend(json_cases(vec![
        (without(alert.clone(), "severity"), "invalid_severity"),
        (without(alert.clone(), "message"), "invalid_message"),
        (
            with(alert.clone(), "severity", json!("fatal")),
            "invalid_severity",
        ),
        (
            with(alert.clone(), "severity", json!(2)),
            "invalid_severity",
        ),
        (
            with(alert.clone(), "source", json!("s".repeat(101))),
            "invalid_source",
        ),
        (
            with(alert.clone(), "source", json!("a\r\nBcc: x")),
            "invalid_source",
        ),
        (
            with(alert.clone(), "message", json!("m".repeat(4001))),
            "invalid_message",
        ),
    ]));
    check(&t, Some(&admin), "/events", alerts).await;
    let list = t.get("/events", Some(&admin.token)).await;
    assert!(list.items().is_empty());
    assert_eq!(
        t.get("/events/stats", Some(&admin.token)).await.body["total"],
        0
    );
}

#[tokio::test]
async fn bad_idempotency_keys_are_refused() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    for key in ["", &"k".repeat(201), "with space"] {
        let reply = send(
            t.request(Method::POST, "/incidents", Some(&student.token))
                .header("idempotency-key", key)
                .json(&draft()),
        )
        .await;
        reply.expect_error(400, "invalid_idempotency_key");
    }
    let twice = send(
        t.request(Method::POST, "/incidents", Some(&student.token))
            .header("idempotency-key", "a")
            .header("idempotency-key", "b")
            .json(&draft()),
    )
    .await;
    twice.expect_error(400, "invalid_idempotency_key");
    assert_eq!(t.incident_count(&student.token).await, 0);

    // A write to a thing reads its key first, then its path, then its body.
    let staff = t.user(Role::Staff).await;
    let bad_key_and_id = send(
        t.request(Method::POST, "/incidents/nope!/status", Some(&staff.token))
            .header("idempotency-key", "with space")
            .body("not json"),
    )
    .await;
    bad_key_and_id.expect_error(400, "invalid_idempotency_key");
    let bad_id_and_body = send(
        t.request(
            Method::POST,
            "/incidents/nope!/comments",
            Some(&staff.token),
        )
        .header("content-type", "application/json")
        .body("not json"),
    )
    .await;
    bad_id_and_body.expect_error(404, "incident_not_found");
    // The same where the body may be left out, and for a write with no path.
    for route in [
        "/events/nope!/ack",
        "/events/nope!/resolve",
        "/events/nope!/incident",
    ] {
        let bad_key_and_id = send(
            t.request(Method::POST, route, Some(&staff.token))
                .header("idempotency-key", "with space")
                .header("content-type", "application/json")
                .body("not json"),
        )
        .await;
        bad_key_and_id.expect_error(400, "invalid_idempotency_key");
        let bad_id_and_body = send(
            t.request(Method::POST, route, Some(&staff.token))
                .header("content-type", "application/json")
                .body("not json"),
        )
        .await;
        bad_id_and_body.expect_error(404, "alert_not_found");
    }
    let bad_key_and_body = send(
        t.request(Method::POST, "/incidents", Some(&student.token))
            .header("idempotency-key", "with space")
            .header("content-type", "application/json")
            .body("not json"),
    )
    .await;
    bad_key_and_body.expect_error(400, "invalid_idempotency_key");
}

#[tokio::test]
async fn bad_query_values_are_refused() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let cases = [
        ("/incidents?limit=0", "invalid_limit"),
        ("/incidents?limit=501", "invalid_limit"),
        ("/incidents?limit=ten", "invalid_limit"),
        ("/incidents?limit=-1", "invalid_limit"),
        ("/incidents?estado=cerrado", "invalid_estado"),
        ("/incidents?tipo=fiesta", "invalid_tipo"),
        ("/incidents?urgencia=ya", "invalid_urgencia"),
        ("/incidents?departamento=a%2Fb", "invalid_departamento"),
        ("/incidents?q=", "none"),
        ("/incidents/mine?limit=1000", "invalid_limit"),
        ("/events?severity=fatal", "invalid_severity"),
        ("/events?channel=smoke", "invalid_channel"),
        ("/events?since=not%20an%20id", "invalid_since"),
        ("/events?limit=9999", "invalid_limit"),
        ("/admin/outbox?state=lost", "invalid_state"),
        (
            "/departments/Mantenimiento/incidents?limit=0",
            "invalid_limit",
        ),
        // With a bad filter and a bad page, the filter is named.
        ("/incidents?estado=cerrado&limit=0", "invalid_estado"),
        ("/events?severity=fatal&limit=0", "invalid_severity"),
        ("/admin/users?rol=root&limit=0", "invalid_rol"),
        ("/admin/outbox?state=lost&limit=0", "invalid_state"),
        ("/silences?state=lost&limit=0", "invalid_state"),
        // A query string that cannot be read is refused whole.
        ("/silences?state=lost&limit=1&limit=2", "invalid_query"),
    ];
    for (path, code) in cases {
        let reply = t.get(path, Some(&admin.token)).await;
        match code {
            "none" => reply.expect(200),
            _ => reply.expect_error(400, code),
        };
    }
    // 500 is the most a page may hold.
    t.get("/incidents?limit=500", Some(&admin.token))
        .await
        .expect(200);
}

#[tokio::test]
async fn uploads_refuse_bad_files_and_store_nothing() {
    let settings = Settings {
        attachment_max_bytes: 1024,
        ..Settings::default()
    };
    let t = spawn_with(settings, HttpConfig::default()).await;
    let student = t.user(Role::Student).await;
    let incident = t.report(&student.token, "Ventana rota").await;
    let id = incident["incident_id"].as_str().unwrap();
    let upload = |query: &str| format!("/incidents/{id}/attachments{query}");
    let token = Some(student.token.as_str());

    // Bytes that are not what the header says.
    t.post_raw(
        &upload("?filename=a.png"),
        token,
        "image/png",
        b"hello".to_vec(),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    // A type that is not allowed, and none at all.
    t.post_raw(
        &upload("?filename=a.exe"),
        token,
        "application/x-msdownload",
        b"MZ\x90\0".to_vec(),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    send(
        t.request(Method::POST, &upload("?filename=a.png"), token)
            .body(PNG.to_vec()),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    // Text with a NUL byte is not text.
    t.post_raw(
        &upload("?filename=a.txt"),
        token,
        "text/plain",
        b"a\0b".to_vec(),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    // Just over the limit (refused by the core) and far over it (cut off while reading).
    let mut big = PNG.to_vec();
    big.resize(1025, 0);
    t.post_raw(&upload("?filename=a.png"), token, "image/png", big)
        .await
        .expect_error(413, "too_large");
    let mut huge = PNG.to_vec();
    huge.resize(200 * 1024, 0);
    t.post_raw(&upload("?filename=a.png"), token, "image/png", huge)
        .await
        .expect_error(413, "too_large");
    // A file name is required and must be a name.
    t.post_raw(&upload(""), token, "image/png", PNG.to_vec())
        .await
        .expect_error(400, "invalid_filename");
    t.post_raw(
        &upload("?filename=dir%2F.."),
        token,
        "image/png",
        PNG.to_vec(),
    )
    .await
    .expect_error(400, "invalid_filename");
    // An unknown incident.
    t.post_raw(
        "/incidents/01NOSUCHINCIDENT/attachments?filename=a.png",
        token,
        "image/png",
        PNG.to_vec(),
    )
    .await
    .expect_error(404, "incident_not_found");

    let list = t.get(&upload(""), token).await;
    list.expect(200);
    assert!(list.items().is_empty());
    let now = t.get(&format!("/incidents/{id}"), token).await;
    assert_eq!(now.body["version"], 1);
}
