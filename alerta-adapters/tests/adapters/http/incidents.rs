//! Reporting, reading, filtering and changing incidents.

use std::collections::HashSet;

use alerta_core::domain::{Audience, Role, StreamKind};
use serde_json::{Value, json};

use super::helpers::{TestApp, spawn_app};

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["incident_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn reports_are_stored_as_pendiente_and_read_back() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let reply = t
        .post(
            "/incidents",
            Some(&student.token),
            json!({"tipo": "tecnologia", "descripcion": "  El proyector no enciende  ",
                   "ubicacion": "Aula 101", "urgencia": "alta"}),
        )
        .await;
    reply.expect(201);
    let incident = reply.body.clone();
    assert_eq!(incident["estado"], "pendiente");
    assert_eq!(incident["descripcion"], "El proyector no enciende");
    assert_eq!(incident["departamento"], Value::Null);
    assert_eq!(incident["reportado_por"], student.id());
    assert_eq!(incident["version"], 1);
    let mut fields: Vec<&str> = incident
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "alert_id",
            "created_at",
            "departamento",
            "descripcion",
            "estado",
            "incident_id",
            "reportado_por",
            "tipo",
            "ubicacion",
            "updated_at",
            "urgencia",
            "version"
        ]
    );

    let id = incident["incident_id"].as_str().unwrap();
    let one = t
        .get(&format!("/incidents/{id}"), Some(&student.token))
        .await;
    one.expect(200);
    assert_eq!(one.body, incident);

    let mine = t.get("/incidents/mine", Some(&student.token)).await;
    mine.expect(200);
    let stream = mine.body["stream"]
        .as_str()
        .expect("the stream id the list reflects");
    assert!(
        stream.ends_with(":2"),
        "the creation's two messages, the staff's and the students', are positions 1 and 2: \
         {stream}"
    );
    assert_eq!(
        mine.body,
        json!({"items": [incident], "next_cursor": null, "stream": stream})
    );
    let other = t.user(Role::Student).await;
    let theirs = t.get("/incidents/mine", Some(&other.token)).await;
    assert!(theirs.items().is_empty());

    let kinds: Vec<(StreamKind, Audience)> = t
        .broadcaster
        .messages()
        .iter()
        .map(|m| (m.kind, m.audience))
        .collect();
    assert_eq!(
        kinds,
        [
            (StreamKind::IncidentCreated, Audience::Staff),
            (StreamKind::IncidentCreated, Audience::Students)
        ]
    );
}

#[tokio::test]
async fn unknown_incidents_and_paths_get_404_and_wrong_methods_405() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let token = Some(staff.token.as_str());
    t.get("/incidents/01NOSUCHINCIDENT", token)
        .await
        .expect_error(404, "incident_not_found");
    t.get("/incidents/bad.id", token)
        .await
        .expect_error(404, "incident_not_found");
    t.get("/incidents/01NOSUCHINCIDENT/events", token)
        .await
        .expect_error(404, "incident_not_found");
    t.get("/incidents/01NOSUCHINCIDENT/attachments", token)
        .await
        .expect_error(404, "incident_not_found");
    t.get(
        "/incidents/01NOSUCHINCIDENT/attachments/01NOSUCHFILE",
        token,
    )
    .await
    .expect_error(404, "attachment_not_found");
    t.post(
        "/incidents/01NOSUCHINCIDENT/status",
        token,
        json!({"estado": "resuelto"}),
    )
    .await
    .expect_error(404, "incident_not_found");
    t.get("/departments/Nadie/incidents", token)
        .await
        .expect_error(404, "department_not_found");
    t.get("/departments/a.b/incidents", token)
        .await
        .expect_error(404, "department_not_found");
    t.get("/no/such/path", token)
        .await
        .expect_error(404, "not_found");
    t.get("/no/such/path", None)
        .await
        .expect_error(404, "not_found");
    let wrong = super::helpers::send(t.request(reqwest::Method::DELETE, "/incidents", token)).await;
    wrong.expect_error(405, "method_not_allowed");
    assert!(wrong.header("allow").is_some_and(|a| a.contains("POST")));
    t.get("/incidents/preview", token)
        .await
        .expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn preview_and_location_checks_store_nothing() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let token = Some(student.token.as_str());
    let preview = t
        .post(
            "/incidents/preview",
            token,
            json!({"tipo": "limpieza", "descripcion": "Sucio", "ubicacion": "Marte",
                   "urgencia": "baja"}),
        )
        .await;
    preview.expect(200);
    assert_eq!(preview.body["incident"]["estado"], "pendiente");
    assert_eq!(preview.body["incident"]["ubicacion"], "Marte");
    assert_eq!(preview.body["warnings"].as_array().unwrap().len(), 2);
    assert_eq!(t.incident_count(&student.token).await, 0);
    assert!(t.broadcaster.messages().is_empty());

    let known = t
        .post(
            "/incidents/validate-location",
            token,
            json!({"ubicacion": " biblioteca "}),
        )
        .await;
    known.expect(200);
    assert_eq!(
        known.body,
        json!({"valid": true, "ubicacion": "Biblioteca", "suggestions": []})
    );
    let unknown = t
        .post(
            "/incidents/validate-location",
            token,
            json!({"ubicacion": "Pabellón"}),
        )
        .await;
    unknown.expect(200);
    assert_eq!(unknown.body["valid"], false);
    assert_eq!(
        unknown.body["suggestions"],
        json!(["Pabellón A", "Pabellón B"])
    );
}

async fn status(t: &TestApp, token: &str, id: &str, body: Value) -> super::helpers::Reply {
    t.post(&format!("/incidents/{id}/status"), Some(token), body)
        .await
}

async fn comment(t: &TestApp, token: &str, id: &str, text: &str) -> super::helpers::Reply {
    t.post(
        &format!("/incidents/{id}/comments"),
        Some(token),
        json!({ "texto": text }),
    )
    .await
}

#[tokio::test]
async fn status_changes_follow_the_lifecycle_and_write_history() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let incident = t.report(&student.token, "Luz parpadeando").await;
    let id = incident["incident_id"].as_str().unwrap();

    let moved = status(
        &t,
        &staff.token,
        id,
        json!({"estado": "en_proceso", "nota": "Voy"}),
    )
    .await;
    moved.expect(200);
    assert_eq!(moved.body["estado"], "en_proceso");
    assert_eq!(moved.body["version"], 2);

    // Not an allowed move: 409, and nothing changes.
    status(&t, &staff.token, id, json!({"estado": "pendiente"}))
        .await
        .expect_error(409, "invalid_transition");
    status(&t, &staff.token, id, json!({"estado": "en_proceso"}))
        .await
        .expect_error(409, "invalid_transition");
    let now = t.get(&format!("/incidents/{id}"), Some(&staff.token)).await;
    assert_eq!(now.body, moved.body);

    let resolved = status(
        &t,
        &staff.token,
        id,
        json!({"estado": "resuelto", "nota": ""}),
    )
    .await;
    resolved.expect(200);
    assert_eq!(resolved.body["version"], 3);
    let reopened = status(
        &t,
        &staff.token,
        id,
        json!({"estado": "en_proceso", "version": 3}),
    )
    .await;
    reopened.expect(200);
    assert_eq!(reopened.body["version"], 4);

    let history = t
        .get(&format!("/incidents/{id}/events"), Some(&staff.token))
        .await;
    history.expect(200);
    assert_eq!(history.body["next_cursor"], Value::Null);
    let kinds: Vec<&str> = history
        .items()
        .iter()
        .map(|e| e["tipo_evento"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["creado", "cambio_estado", "cambio_estado", "cambio_estado"]
    );
    let first_move = &history.items()[1];
    assert_eq!(
        first_move["detalle"],
        json!({"de": "pendiente", "a": "en_proceso", "nota": "Voy"})
    );
    assert_eq!(first_move["actor"], staff.id());
    assert_eq!(first_move["incident_id"], id);
    // A blank note is no note.
    assert_eq!(history.items()[2]["detalle"]["nota"], Value::Null);
}

#[tokio::test]
async fn a_stale_version_gets_409_and_changes_nothing() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let incident = t.report(&student.token, "Ascensor detenido").await;
    let id = incident["incident_id"].as_str().unwrap();
    comment(&t, &staff.token, id, "Llamamos al técnico")
        .await
        .expect(201);
    // The caller saw version 1; a comment made it 2.
    status(
        &t,
        &staff.token,
        id,
        json!({"estado": "resuelto", "version": 1}),
    )
    .await
    .expect_error(409, "stale_version");
    let now = t.get(&format!("/incidents/{id}"), Some(&staff.token)).await;
    assert_eq!(now.body["estado"], "pendiente");
    assert_eq!(now.body["version"], 2);
    let history = t
        .get(&format!("/incidents/{id}/events"), Some(&staff.token))
        .await;
    assert_eq!(history.items().len(), 2);
    // With the current version it goes through.
    status(
        &t,
        &staff.token,
        id,
        json!({"estado": "resuelto", "version": 2}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn comments_and_department_assignment() {
    let t = spawn_app().await;
    t.department("Mantenimiento").await;
    t.department("TI").await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let admin = t.user(Role::Admin).await;
    let incident = t.report(&student.token, "Cable suelto").await;
    let id = incident["incident_id"].as_str().unwrap();

    let comment = t
        .post(
            &format!("/incidents/{id}/comments"),
            Some(&staff.token),
            json!({"texto": "Revisado"}),
        )
        .await;
    comment.expect(201);
    assert_eq!(comment.body["tipo_evento"], "comentario");
    assert_eq!(comment.body["detalle"], json!({"texto": "Revisado"}));
    assert_eq!(comment.body["incident_id"], id);
    assert!(comment.body["event_id"].is_string());

    let assign = |name: &'static str| {
        let t = &t;
        let admin = &admin;
        async move {
            t.post(
                &format!("/incidents/{id}/department"),
                Some(&admin.token),
                json!({"departamento": name}),
            )
            .await
        }
    };
    let assigned = assign("Mantenimiento").await;
    assigned.expect(200);
    assert_eq!(assigned.body["departamento"], "Mantenimiento");
    assign("Mantenimiento")
        .await
        .expect_error(409, "already_assigned");
    assign("Jardinería")
        .await
        .expect_error(400, "invalid_departamento");

    let listed = t
        .get("/departments/Mantenimiento/incidents", Some(&staff.token))
        .await;
    listed.expect(200);
    assert_eq!(ids(listed.items()), [id]);
    let other = t.get("/departments/TI/incidents", Some(&staff.token)).await;
    assert!(other.items().is_empty());
    let filtered = t
        .get(
            "/incidents?departamento=Mantenimiento",
            Some(&student.token),
        )
        .await;
    assert_eq!(ids(filtered.items()), [id]);

    let departments = t.get("/departments", Some(&student.token)).await;
    departments.expect(200);
    let names: Vec<&str> = departments
        .items()
        .iter()
        .map(|d| d["nombre"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Mantenimiento", "TI"]);
    assert!(departments.body.get("next_cursor").is_none());

    let made = t
        .post(
            "/departments",
            Some(&admin.token),
            json!({"nombre": "Seguridad", "email": "Seguridad@Campus.edu"}),
        )
        .await;
    made.expect(201);
    assert_eq!(
        made.body,
        json!({"nombre": "Seguridad", "email": "seguridad@campus.edu"})
    );
    t.post(
        "/departments",
        Some(&admin.token),
        json!({"nombre": "Seguridad", "email": "otra@campus.edu"}),
    )
    .await
    .expect_error(409, "duplicate");

    // The staff comment reaches staff only; everything else is for everyone.
    let kinds: Vec<(StreamKind, Audience)> = t
        .broadcaster
        .messages()
        .iter()
        .map(|m| (m.kind, m.audience))
        .collect();
    assert_eq!(
        kinds,
        [
            (StreamKind::IncidentCreated, Audience::Staff),
            (StreamKind::IncidentCreated, Audience::Students),
            (StreamKind::IncidentCommentAdded, Audience::Staff),
            (StreamKind::IncidentDepartmentAssigned, Audience::Staff),
            (StreamKind::IncidentDepartmentAssigned, Audience::Students),
        ]
    );
}

#[tokio::test]
async fn lists_filter_and_search() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let token = Some(student.token.as_str());
    let report = |kind: &'static str, urgency: &'static str, description: &'static str| {
        let t = &t;
        async move {
            let reply = t
                .post(
                    "/incidents",
                    token,
                    json!({"tipo": kind, "descripcion": description, "ubicacion": "Gimnasio",
                           "urgencia": urgency}),
                )
                .await;
            reply.expect(201);
            reply.body["incident_id"].as_str().unwrap().to_owned()
        }
    };
    let a = report("limpieza", "baja", "Vestuario sucio").await;
    let b = report("seguridad", "critica", "Alarma de INCENDIO sonando").await;
    let c = report("limpieza", "alta", "Charco en la cancha").await;
    status(&t, &staff.token, &c, json!({"estado": "en_proceso"}))
        .await
        .expect(200);

    let (a, b, c) = (a.as_str(), b.as_str(), c.as_str());
    let cases = [
        ("", vec![c, b, a]),
        ("?tipo=limpieza", vec![c, a]),
        ("?urgencia=critica", vec![b]),
        ("?estado=en_proceso", vec![c]),
        ("?estado=pendiente&tipo=limpieza", vec![a]),
        ("?q=incendio", vec![b]),
        ("?q=gimnasio&estado=&tipo=", vec![c, b, a]),
    ];
    for (query, expected) in cases {
        let reply = t.get(&format!("/incidents{query}"), token).await;
        reply.expect(200);
        assert_eq!(ids(reply.items()), expected, "GET /incidents{query}");
    }
}

#[tokio::test]
async fn cursors_walk_every_item_once() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let token = Some(student.token.as_str());
    let mut made = Vec::new();
    for n in 0..7 {
        let reply = t
            .report(&student.token, &format!("Incidente número {n}"))
            .await;
        made.push(reply["incident_id"].as_str().unwrap().to_owned());
    }
    for list in ["/incidents", "/incidents/mine"] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut next = format!("{list}?limit=3");
        loop {
            let reply = t.get(&next, token).await;
            reply.expect(200);
            pages += 1;
            assert!(reply.items().len() <= 3);
            seen.extend(ids(reply.items()));
            match reply.body["next_cursor"].as_str() {
                Some(cursor) => {
                    let cursor: String = url_encode(cursor);
                    next = format!("{list}?limit=3&cursor={cursor}");
                }
                None => break,
            }
            assert!(pages < 10, "the cursor does not advance");
        }
        assert_eq!(pages, 3, "{list}");
        let mut newest_first = made.clone();
        newest_first.reverse();
        assert_eq!(seen, newest_first, "{list}: every item once, newest first");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 7);
    }
    let default = t.get("/incidents", token).await;
    assert_eq!(default.items().len(), 7);
    assert_eq!(default.body["next_cursor"], Value::Null);
    t.get("/incidents?cursor=garbage!!", token)
        .await
        .expect_error(400, "invalid_cursor");
}

pub(super) fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_result() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let draft = json!({"tipo": "salud", "descripcion": "Persona desmayada", "ubicacion": "Auditorio",
                       "urgencia": "critica"});
    let first = t
        .post_with_key(
            "/incidents",
            Some(&student.token),
            "report-1",
            draft.clone(),
        )
        .await;
    first.expect(201);
    let again = t
        .post_with_key(
            "/incidents",
            Some(&student.token),
            "report-1",
            draft.clone(),
        )
        .await;
    again.expect(201);
    assert_eq!(again.body, first.body);
    assert_eq!(t.incident_count(&student.token).await, 1);
    assert_eq!(
        t.broadcaster.messages().len(),
        2,
        "one creation: its staff and students messages"
    );

    // Keys belong to their user: another user's same key is a new request.
    let other = t.user(Role::Student).await;
    let theirs = t
        .post_with_key("/incidents", Some(&other.token), "report-1", draft.clone())
        .await;
    theirs.expect(201);
    assert_ne!(theirs.body["incident_id"], first.body["incident_id"]);

    let id = first.body["incident_id"].as_str().unwrap();
    let path = format!("/incidents/{id}/status");
    let moved = t
        .post_with_key(
            &path,
            Some(&staff.token),
            "move-1",
            json!({"estado": "resuelto"}),
        )
        .await;
    moved.expect(200);
    let replayed = t
        .post_with_key(
            &path,
            Some(&staff.token),
            "move-1",
            json!({"estado": "resuelto"}),
        )
        .await;
    replayed.expect(200);
    assert_eq!(replayed.body, moved.body);
    assert_eq!(replayed.body["version"], 2);
    let history = t
        .get(&format!("/incidents/{id}/events"), Some(&staff.token))
        .await;
    assert_eq!(history.items().len(), 2);

    // The same key for another operation is a conflict, not a replay.
    t.post_with_key(
        &format!("/incidents/{id}/comments"),
        Some(&staff.token),
        "move-1",
        json!({"texto": "hola"}),
    )
    .await
    .expect_error(409, "idempotency_key_reused");

    let comment_path = format!("/incidents/{id}/comments");
    let c1 = t
        .post_with_key(
            &comment_path,
            Some(&staff.token),
            "c-1",
            json!({"texto": "uno"}),
        )
        .await;
    let c2 = t
        .post_with_key(
            &comment_path,
            Some(&staff.token),
            "c-1",
            json!({"texto": "uno"}),
        )
        .await;
    c1.expect(201);
    assert_eq!(c1.body, c2.body);
    let history = t
        .get(&format!("/incidents/{id}/events"), Some(&staff.token))
        .await;
    assert_eq!(history.items().len(), 3);
}

#[tokio::test]
async fn stats_count_incidents() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let first = t.report(&student.token, "Uno").await;
    t.report(&student.token, "Dos").await;
    let id = first["incident_id"].as_str().unwrap();
    status(&t, &staff.token, id, json!({"estado": "resuelto"}))
        .await
        .expect(200);

    let basic = t.get("/stats", Some(&student.token)).await;
    basic.expect(200);
    assert_eq!(
        basic.body,
        json!({"total": 2, "por_estado": {"pendiente": 1, "en_proceso": 0, "resuelto": 1}})
    );
    let full = t.get("/staff/stats", Some(&staff.token)).await;
    full.expect(200);
    assert_eq!(full.body["total"], 2);
    assert_eq!(full.body["por_tipo"], json!({"infraestructura": 2}));
    assert_eq!(full.body["por_urgencia"], json!({"media": 2}));
    assert_eq!(full.body["por_departamento"], json!({"sin_asignar": 2}));
    assert!(full.body["tiempo_medio_resolucion_s"].is_number());
}

#[tokio::test]
async fn the_reporter_reads_the_history_without_staff_comments_or_who_acted() {
    let t = spawn_app().await;
    let reporter = t.user(Role::Student).await;
    let other = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let incident = t.report(&reporter.token, "Fuga de agua en el baño").await;
    let id = incident["incident_id"].as_str().unwrap();
    comment(&t, &staff.token, id, "Interno: llamar al fontanero")
        .await
        .expect(201);
    status(
        &t,
        &staff.token,
        id,
        json!({"estado": "en_proceso", "version": 2, "nota": "Fontanero en camino"}),
    )
    .await
    .expect(200);
    let path = format!("/incidents/{id}/events");

    let whole = t.get(&path, Some(&staff.token)).await;
    whole.expect(200);
    let kinds = |reply: &super::helpers::Reply| -> Vec<String> {
        reply
            .items()
            .iter()
            .map(|e| e["tipo_evento"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(kinds(&whole), ["creado", "comentario", "cambio_estado"]);
    assert_eq!(whole.items()[2]["actor"], staff.id());

    let theirs = t.get(&path, Some(&reporter.token)).await;
    theirs.expect(200);
    assert_eq!(kinds(&theirs), ["creado", "cambio_estado"]);
    assert!(theirs.items().iter().all(|e| e["actor"].is_null()));
    assert_eq!(theirs.items()[1]["detalle"]["nota"], "Fontanero en camino");
    assert_eq!(theirs.items()[1]["event_id"], whole.items()[2]["event_id"]);
    assert!(
        !String::from_utf8_lossy(&theirs.bytes).contains("Interno"),
        "the comment's text is not in the reporter's reply"
    );

    t.get(&path, Some(&other.token))
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn my_timelines_give_each_own_incident_with_the_history_its_reporter_may_read() {
    let t = spawn_app().await;
    let reporter = t.user(Role::Student).await;
    let other = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let first = t.report(&reporter.token, "Fuga de agua en el baño").await;
    let first_id = first["incident_id"].as_str().unwrap();
    let second = t.report(&reporter.token, "Luz fundida en el pasillo").await;
    let second_id = second["incident_id"].as_str().unwrap();
    t.report(&other.token, "Banco roto").await;
    comment(&t, &staff.token, first_id, "Interno: llamar al fontanero")
        .await
        .expect(201);
    status(
        &t,
        &staff.token,
        first_id,
        json!({"estado": "en_proceso", "version": 2, "nota": "Fontanero en camino"}),
    )
    .await
    .expect(200);

    let timelines = t
        .get("/incidents/mine/timelines", Some(&reporter.token))
        .await;
    timelines.expect(200);
    assert!(
        timelines.body["stream"].is_string(),
        "the stream head the list reflects: {}",
        timelines.body
    );
    let items = timelines.items();
    let ids: Vec<&str> = items
        .iter()
        .map(|item| item["incident"]["incident_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second_id, first_id], "the caller's own, newest first");
    assert_eq!(items[1]["incident"]["estado"], "en_proceso");
    assert_eq!(items[1]["incident"]["reportado_por"], reporter.id());
    // Each history is the one the history route gives the reporter, event for event.
    for item in items {
        let id = item["incident"]["incident_id"].as_str().unwrap();
        let history = t
            .get(&format!("/incidents/{id}/events"), Some(&reporter.token))
            .await;
        history.expect(200);
        assert_eq!(&item["events"], &history.body["items"], "history of {id}");
    }
    let kinds: Vec<&str> = items[1]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["tipo_evento"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["creado", "cambio_estado"], "no staff comment");
    assert!(
        !String::from_utf8_lossy(&timelines.bytes).contains("Interno"),
        "the comment's text is not in the reporter's reply"
    );

    // Staff who report read their own incidents' histories whole.
    let own = t.report(&staff.token, "Proyector sin señal").await;
    let own_id = own["incident_id"].as_str().unwrap();
    comment(&t, &staff.token, own_id, "Revisar el cable")
        .await
        .expect(201);
    let theirs = t.get("/incidents/mine/timelines", Some(&staff.token)).await;
    theirs.expect(200);
    assert_eq!(theirs.items().len(), 1);
    assert_eq!(theirs.items()[0]["events"][1]["tipo_evento"], "comentario");
    assert_eq!(theirs.items()[0]["events"][1]["actor"], staff.id());

    let paged = t
        .get("/incidents/mine/timelines?limit=1", Some(&reporter.token))
        .await;
    paged.expect(200);
    assert_eq!(paged.items().len(), 1);
    assert!(paged.body["next_cursor"].is_string());
    t.get("/incidents/mine/timelines?limit=0", Some(&reporter.token))
        .await
        .expect_error(400, "invalid_limit");
    t.get("/incidents/mine/timelines", None).await.expect(401);
}
