//! `GET /openapi.json`: every route of the router is in it, every route it names is served,
//! every route of `docs/API.md` is in it, and real replies match its schemas.

use std::collections::BTreeSet;

use alerta_core::domain::Role;
use regex::Regex;
use reqwest::Method;
use serde_json::{Value, json};

use super::helpers::*;
use super::openapi_schemas::{check_reply, reply_schema};

/// The methods a route may have.
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// Routes of `docs/API.md` that the binary serves beside the router (they are in the
/// binary's document, checked by its own tests).
const SERVED_BY_THE_BINARY: [&str; 1] = ["/open311/v2/"];

async fn document(app: &TestApp) -> Value {
    let reply = app.get("/openapi.json", None).await;
    reply.expect(200);
    assert_eq!(reply.body["openapi"], "3.1.0");
    reply.body
}

/// `(method, path)` of every operation of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                found.insert((method.to_owned(), path.clone()));
            }
        }
    }
    found
}

/// `(method, path)` of every `.route(...)` call in the router's modules, read from the source
/// so that a route added there without documentation is caught.
fn routes_in_the_source() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let route = Regex::new(r#"\.route\(\s*"([^"]+)""#).unwrap();
    let method = Regex::new(r"\b(get|post|put|delete|patch)\(").unwrap();
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // Open311 is nested under a prefix by the binary, and documented there.
        if path.file_name().is_some_and(|n| n == "open311.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for call in route.captures_iter(&source) {
            let start = call.get(0).unwrap().end();
            let methods = &source[start..start + balanced_end(&source[start..])];
            let before = found.len();
            for m in method.captures_iter(methods) {
                found.insert((m[1].to_owned(), call[1].to_owned()));
            }
            assert!(
                found.len() > before,
                "no method found for route {} in {}",
                &call[1],
                path.display()
            );
        }
    }
    assert!(found.len() > 40, "too few routes read: {found:?}");
    found
}

/// Where the `.route(` call whose arguments `text` starts inside closes.
fn balanced_end(text: &str) -> usize {
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    text.len()
}

/// `(method, path)` of every row of the route tables of `docs/API.md`.
fn routes_in_the_contract() -> BTreeSet<(String, String)> {
    let api = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md"))
        .expect("docs/API.md");
    let row = Regex::new(r"(?m)^\|\s*(GET|POST|PUT|DELETE|PATCH) (/[^\s|?]*)").unwrap();
    let found: BTreeSet<_> = row
        .captures_iter(&api)
        .map(|c| (c[1].to_lowercase(), c[2].to_owned()))
        .collect();
    assert!(found.len() > 40, "too few routes read: {found:?}");
    found
}

/// A concrete path for a template: every `{param}` becomes `x`.
fn probe_path(template: &str) -> String {
    Regex::new(r"\{[^}]+\}")
        .unwrap()
        .replace_all(template, "x")
        .into_owned()
}

#[tokio::test]
async fn every_route_of_the_router_is_documented() {
    let app = spawn_app().await;
    let documented = operations(&document(&app).await);
    let missing: Vec<String> = routes_in_the_source()
        .difference(&documented)
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes served but not in /openapi.json (add #[utoipa::path] and list the handler in \
         its module's `Api`): {missing:?}"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served_and_no_other_method_is() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            let request = app.request(
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                &probe_path(path),
                None,
            );
            let reply = send(request).await;
            let served =
                !(reply.status == 404 && reply.code() == "not_found") && reply.status != 405;
            if served != item.get(method).is_some() {
                wrong.push(format!(
                    "{} {path}: documented {}, answered {} {}",
                    method.to_uppercase(),
                    item.get(method).is_some(),
                    reply.status,
                    reply.code()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "document and router disagree: {wrong:#?}");
}

#[tokio::test]
async fn every_route_of_the_contract_is_documented() {
    let app = spawn_app().await;
    let documented = operations(&document(&app).await);
    let missing: Vec<String> = routes_in_the_contract()
        .into_iter()
        .filter(|(_, p)| !SERVED_BY_THE_BINARY.iter().any(|b| p.starts_with(b)))
        .filter(|route| !documented.contains(route))
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        missing.is_empty(),
        "routes of docs/API.md not in /openapi.json: {missing:?}"
    );
}

#[tokio::test]
async fn the_document_declares_its_security_and_the_error_shape() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["session"]["scheme"], "bearer");
    assert_eq!(schemes["ingest_key"]["scheme"], "bearer");
    let post_events = &doc["paths"]["/events"]["post"]["security"];
    assert_eq!(post_events, &json!([{"session": []}, {"ingest_key": []}]));
    assert_eq!(
        doc["paths"]["/incidents"]["get"]["security"],
        json!([{"session": []}])
    );
    assert!(
        doc["paths"]["/auth/login"]["post"]
            .get("security")
            .is_none()
    );
    let error = &doc["components"]["schemas"]["Error"];
    assert_eq!(error["required"], json!(["error"]));
    // Every error status of every operation replies in the error shape, except the pages
    // made for browsers (an acknowledgement link) and the route that answers as PagerDuty's
    // Events API does, in its own shape.
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path == "/integrations/pagerduty" {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let html_only = response["content"]
                    .as_object()
                    .is_some_and(|content| content.keys().all(|kind| kind == "text/html"));
                if (status.starts_with('4') || status.starts_with('5')) && !html_only {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_document_adds_the_replies_a_route_implies() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let description = |method: &str, path: &str, status: &str| -> String {
        doc["paths"][path][method]["responses"][status]["description"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no {status}"))
            .to_owned()
    };
    // A path that names a thing: the 404 says which thing, with its code.
    assert_eq!(
        description("post", "/admin/outbox/{id}/retry", "404"),
        "No such mail (`mail_not_found`)."
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.contains("{id}") || path.contains("{nombre}") {
            for (method, operation) in item.as_object().unwrap() {
                assert!(
                    operation["responses"].get("404").is_some(),
                    "{method} {path} has no 404"
                );
            }
        }
    }
    // A 404 the route declares itself stays as it is.
    let assign = description("post", "/incidents/{id}/department", "404");
    assert!(assign.contains("department_not_found"), "{assign}");
    // The 400 names every query parameter, every body field and the idempotency header.
    let listing = description("get", "/silences", "400");
    for name in ["`state`", "`limit`", "`cursor`"] {
        assert!(listing.contains(name), "{listing}");
    }
    let create = description("post", "/departments", "400");
    for name in [
        "`nombre`",
        "`email`",
        "`Idempotency-Key`",
        "`malformed_json`",
    ] {
        assert!(create.contains(name), "{create}");
    }
    // A reused key joins the route's own conflict, or is the 409 of its own.
    let conflict = description("post", "/departments", "409");
    assert!(
        conflict.contains("`duplicate`") && conflict.contains("`idempotency_key_reused`"),
        "{conflict}"
    );
    let comment = description("post", "/incidents/{id}/comments", "409");
    assert!(comment.contains("`idempotency_key_reused`"), "{comment}");
    // Nothing is implied where nothing implies it.
    let list = &doc["paths"]["/departments"]["get"]["responses"];
    assert!(list.get("400").is_none() && list.get("404").is_none());
    assert!(
        doc["paths"]["/incidents/{id}"]["get"]["responses"]
            .get("409")
            .is_none()
    );
    // Who may call: a 401 for any token route, a 403 only where a role is named.
    assert_eq!(
        description("get", "/auth/me", "401"),
        "No token or a bad one."
    );
    assert!(
        doc["paths"]["/auth/me"]["get"]["responses"]
            .get("403")
            .is_none()
    );
    assert_eq!(description("get", "/admin/outbox", "403"), "Not an admin.");
    // A path that cannot be read is a 400 wherever there is a path parameter.
    let path_only = description("get", "/incidents/{id}/attachments", "400");
    assert!(path_only.contains("`invalid_path`"), "{path_only}");
    // The mark a path parameter carries for this never reaches the document.
    assert!(!doc.to_string().contains("x-names"));
    // Every operation has a one-line summary (a handler's first doc paragraph) and says what
    // it does.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let summary = operation["summary"].as_str().unwrap_or("");
            assert!(
                !summary.is_empty() && !summary.contains('\n'),
                "{method} {path}: {summary:?}"
            );
            assert!(
                operation["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "{method} {path} has no description"
            );
        }
    }
}

/// Checks a reply against the document: its status is documented for the operation, and its
/// body matches the schema given for that status.
#[track_caller]
fn check(doc: &Value, method: &str, template: &str, reply: &Reply) {
    check_reply(
        doc,
        method,
        template,
        reply.status,
        &reply.body,
        reply.bytes.is_empty(),
    );
}

/// Checks the reply of `GET path` as [`check`] does, for a path that is its own template once
/// its query string is left out.
async fn check_get(app: &TestApp, doc: &Value, path: &str, token: Option<&str>, status: u16) {
    let template = path.split('?').next().unwrap_or(path);
    check(
        doc,
        "get",
        template,
        app.get(path, token).await.expect(status),
    );
}

#[tokio::test]
async fn the_strict_schemas_refuse_an_undocumented_field_and_a_missing_one() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let staff = app.user(Role::Staff).await;
    let mut reply = app.report(&staff.token, "Fuga de agua").await;
    let mut wrapped = Reply {
        status: 201,
        headers: Default::default(),
        body: reply.clone(),
        bytes: Vec::new(),
    };
    check(&doc, "post", "/incidents", &wrapped);
    let schema = reply_schema(&doc, "post", "/incidents", 201);
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    reply["unexpected"] = json!(1);
    assert!(!validator.is_valid(&reply), "an extra field passed");
    reply.as_object_mut().unwrap().remove("unexpected");
    reply.as_object_mut().unwrap().remove("alert_id");
    assert!(!validator.is_valid(&reply), "a missing field passed");
    wrapped.body = json!({"error": {"code": "x", "message": "y", "stack": "z"}});
    wrapped.status = 400;
    let error =
        jsonschema::draft202012::new(&reply_schema(&doc, "post", "/incidents", 400)).unwrap();
    assert!(
        !error.is_valid(&wrapped.body),
        "an extra error field passed"
    );
}

#[tokio::test]
async fn real_replies_match_the_document() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let admin = app.user(Role::Admin).await;
    let staff = app.user(Role::Staff).await;
    let student = app.user(Role::Student).await;
    let other = app.user(Role::Student).await;
    let (a, s, st) = (
        Some(admin.token.as_str()),
        Some(staff.token.as_str()),
        Some(student.token.as_str()),
    );

    // Accounts.
    let email = format!("nueva{}@campus.edu", unique());
    let r = app
        .post(
            "/auth/register",
            None,
            json!({"email": email, "password": PASSWORD, "nombre": "Nueva"}),
        )
        .await;
    check(&doc, "post", "/auth/register", r.expect(201));
    let r = app
        .post(
            "/auth/register",
            None,
            json!({"email": email, "password": PASSWORD, "nombre": "Nueva"}),
        )
        .await;
    check(&doc, "post", "/auth/register", r.expect(409));
    let r = app
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    check(&doc, "post", "/auth/login", r.expect(200));
    let new_id = r.body["user"]["user_id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/auth/login",
            None,
            json!({"email": email, "password": "wrong password"}),
        )
        .await;
    check(&doc, "post", "/auth/login", r.expect(401));
    check_get(&app, &doc, "/auth/me", st, 200).await;
    check_get(&app, &doc, "/auth/me", None, 401).await;
    check_get(&app, &doc, "/setup", None, 200).await;
    let r = app.get("/admin/users?limit=2", a).await;
    check(&doc, "get", "/admin/users", r.expect(200));
    check_get(&app, &doc, "/admin/users", s, 403).await;
    let r = app.get("/admin/users?rol=root", a).await;
    check(&doc, "get", "/admin/users", r.expect(400));
    let r = app
        .post(
            &format!("/admin/users/{new_id}/role"),
            a,
            json!({"rol": "staff"}),
        )
        .await;
    check(&doc, "post", "/admin/users/{id}/role", r.expect(200));
    let r = app
        .post(&format!("/admin/users/{new_id}/disable"), a, json!({}))
        .await;
    check(&doc, "post", "/admin/users/{id}/disable", r.expect(200));
    let r = app
        .post(&format!("/admin/users/{new_id}/enable"), a, json!({}))
        .await;
    check(&doc, "post", "/admin/users/{id}/enable", r.expect(200));
    let r = app.post("/admin/users/nobody/enable", a, json!({})).await;
    check(&doc, "post", "/admin/users/{id}/enable", r.expect(404));
    let r = app
        .post(
            "/admin/users",
            a,
            json!({"email": format!("jefa{}@campus.edu", unique()), "password": PASSWORD,
                   "nombre": "Jefa", "rol": "admin"}),
        )
        .await;
    check(&doc, "post", "/admin/users", r.expect(201));
    let r = app
        .post(
            "/auth/password",
            st,
            json!({"current_password": "not it at all", "new_password": "another one"}),
        )
        .await;
    check(&doc, "post", "/auth/password", r.expect(400));

    // Departments.
    let dept = format!("Mantenimiento {}", unique());
    let r = app
        .post(
            "/departments",
            a,
            json!({"nombre": dept, "email": "mant@campus.edu"}),
        )
        .await;
    check(&doc, "post", "/departments", r.expect(201));
    check_get(&app, &doc, "/departments", st, 200).await;
    let r = send(
        app.request(Method::PUT, &format!("/departments/{dept}"), a)
            .json(&json!({"email": "otro@campus.edu"})),
    )
    .await;
    check(&doc, "put", "/departments/{nombre}", r.expect(200));
    let r = send(
        app.request(Method::PUT, "/departments/Nadie", a)
            .json(&json!({"email": "otro@campus.edu"})),
    )
    .await;
    check(&doc, "put", "/departments/{nombre}", r.expect(404));

    // Incidents.
    let draft = json!({"tipo": "infraestructura", "descripcion": "Fuga en el baño",
                       "ubicacion": "Biblioteca", "urgencia": "alta"});
    let r = app.post("/incidents", st, draft.clone()).await;
    check(&doc, "post", "/incidents", r.expect(201));
    let id = r.body["incident_id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/incidents",
            st,
            json!({"tipo": "nada", "descripcion": "x"}),
        )
        .await;
    check(&doc, "post", "/incidents", r.expect(400));
    check(
        &doc,
        "post",
        "/incidents/preview",
        app.post("/incidents/preview", st, draft).await.expect(200),
    );
    let r = app
        .post(
            "/incidents/validate-location",
            st,
            json!({"ubicacion": "Biblioteca"}),
        )
        .await;
    check(&doc, "post", "/incidents/validate-location", r.expect(200));
    check_get(&app, &doc, "/incidents", s, 200).await;
    // A student sees another person's incident without its reporter.
    let r = app.get("/incidents", Some(&other.token)).await;
    check(&doc, "get", "/incidents", r.expect(200));
    assert!(r.items().iter().any(|i| i["reportado_por"].is_null()));
    let r = app
        .get(&format!("/incidents/{id}"), Some(&other.token))
        .await;
    check(&doc, "get", "/incidents/{id}", r.expect(200));
    check(
        &doc,
        "get",
        "/incidents/{id}",
        app.get(&format!("/incidents/{id}"), s).await.expect(200),
    );
    check(
        &doc,
        "get",
        "/incidents/{id}",
        app.get("/incidents/nope", s).await.expect(404),
    );
    check_get(&app, &doc, "/incidents/mine", st, 200).await;
    let r = app
        .post(
            &format!("/incidents/{id}/status"),
            s,
            json!({"estado": "en_proceso", "nota": "Voy", "version": 1}),
        )
        .await;
    check(&doc, "post", "/incidents/{id}/status", r.expect(200));
    let r = app
        .post(
            &format!("/incidents/{id}/status"),
            s,
            json!({"estado": "resuelto", "version": 1}),
        )
        .await;
    check(&doc, "post", "/incidents/{id}/status", r.expect(409));
    let r = app
        .post(
            &format!("/incidents/{id}/status"),
            st,
            json!({"estado": "resuelto"}),
        )
        .await;
    check(&doc, "post", "/incidents/{id}/status", r.expect(403));
    let r = app
        .post(
            &format!("/incidents/{id}/comments"),
            s,
            json!({"texto": "Revisado"}),
        )
        .await;
    check(&doc, "post", "/incidents/{id}/comments", r.expect(201));
    // The reporter's timelines: events without their actor, the comment left out.
    check_get(&app, &doc, "/incidents/mine/timelines", st, 200).await;
    let r = app
        .post(
            &format!("/incidents/{id}/department"),
            a,
            json!({"departamento": dept}),
        )
        .await;
    check(&doc, "post", "/incidents/{id}/department", r.expect(200));
    let r = app
        .post_raw(
            &format!("/incidents/{id}/attachments?filename=foto.png"),
            st,
            "image/png",
            PNG.to_vec(),
        )
        .await;
    check(&doc, "post", "/incidents/{id}/attachments", r.expect(201));
    let r = app
        .post_raw(
            &format!("/incidents/{id}/attachments?filename=foto.exe"),
            st,
            "application/x-msdownload",
            b"MZ".to_vec(),
        )
        .await;
    check(&doc, "post", "/incidents/{id}/attachments", r.expect(415));
    let r = app.get(&format!("/incidents/{id}/attachments"), st).await;
    check(&doc, "get", "/incidents/{id}/attachments", r.expect(200));
    let r = app.get(&format!("/incidents/{id}/events"), s).await;
    check(&doc, "get", "/incidents/{id}/events", r.expect(200));
    assert!(
        r.items().len() >= 4,
        "created, status, comment, assignment: {}",
        r.body
    );
    // The reporter's part: no comment, no actors.
    let r = app.get(&format!("/incidents/{id}/events"), st).await;
    check(&doc, "get", "/incidents/{id}/events", r.expect(200));
    assert!(r.items().iter().all(|e| e["actor"].is_null()), "{}", r.body);
    let r = app
        .get(&format!("/incidents/{id}/events"), Some(&other.token))
        .await;
    check(&doc, "get", "/incidents/{id}/events", r.expect(403));
    let r = app.get(&format!("/incidents/{id}/deliveries"), s).await;
    check(&doc, "get", "/incidents/{id}/deliveries", r.expect(200));
    let r = app.get(&format!("/departments/{dept}/incidents"), s).await;
    check(
        &doc,
        "get",
        "/departments/{nombre}/incidents",
        r.expect(200),
    );
    check_get(&app, &doc, "/stats", st, 200).await;
    check_get(&app, &doc, "/staff/stats", s, 200).await;
    check_get(&app, &doc, "/staff/stats", st, 403).await;

    // Alerts.
    let alert = json!({"source": "ups_3", "severity": "critical", "message": "Batería baja"});
    let r = app.post("/events", s, alert.clone()).await;
    check(&doc, "post", "/events", r.expect(201));
    let alert_id = r.body["id"].as_str().unwrap().to_owned();
    check(
        &doc,
        "post",
        "/events",
        app.post("/events", s, alert).await.expect(201),
    );
    let r = app
        .post("/events", s, json!({"source": "", "severity": "fatal"}))
        .await;
    check(&doc, "post", "/events", r.expect(400));
    check_get(&app, &doc, "/events", st, 200).await;
    check_get(&app, &doc, "/events?since=nope!", st, 400).await;
    check_get(&app, &doc, "/events/stats", st, 200).await;
    let r = app.get(&format!("/events/{alert_id}"), st).await;
    check(&doc, "get", "/events/{id}", r.expect(200));
    check(
        &doc,
        "get",
        "/events/{id}",
        app.get("/events/nope", st).await.expect(404),
    );
    let r = app
        .get(&format!("/events/{alert_id}/occurrences"), st)
        .await;
    check(&doc, "get", "/events/{id}/occurrences", r.expect(200));
    let occurrences: u64 = r.items().iter().map(|o| o["count"].as_u64().unwrap()).sum();
    assert_eq!(occurrences, 2, "{}", r.body);
    let r = app
        .post(
            &format!("/events/{alert_id}/ack"),
            s,
            json!({"nota": "Voy para allá"}),
        )
        .await;
    check(&doc, "post", "/events/{id}/ack", r.expect(200));
    let r = app
        .post(&format!("/events/{alert_id}/ack"), s, json!({}))
        .await;
    check(&doc, "post", "/events/{id}/ack", r.expect(409));
    let r = app
        .post(&format!("/events/{alert_id}/ack"), st, json!({}))
        .await;
    check(&doc, "post", "/events/{id}/ack", r.expect(403));
    let r = send(app.request(Method::POST, &format!("/events/{alert_id}/resolve"), s)).await;
    check(&doc, "post", "/events/{id}/resolve", r.expect(200));
    let r = app.get(&format!("/events/{alert_id}/history"), st).await;
    check(&doc, "get", "/events/{id}/history", r.expect(200));
    assert_eq!(r.items().len(), 2, "{}", r.body);
    let r = send(app.request(Method::POST, &format!("/events/{alert_id}/incident"), s)).await;
    check(&doc, "post", "/events/{id}/incident", r.expect(201));
    let r = send(app.request(Method::POST, &format!("/events/{alert_id}/incident"), s)).await;
    check(&doc, "post", "/events/{id}/incident", r.expect(409));
    let r = app.get(&format!("/events/{alert_id}"), st).await;
    check(&doc, "get", "/events/{id}", r.expect(200));
    assert!(r.body["incident_id"].is_string(), "{}", r.body);

    // Silences.
    let r = app
        .post(
            "/silences",
            a,
            json!({"matchers": [{"name": "source", "value": "ups_.*", "is_regex": true}],
                   "ends_at": "2999-01-01T00:00:00Z", "comment": "Mantenimiento"}),
        )
        .await;
    check(&doc, "post", "/silences", r.expect(201));
    let silence = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .post(
            "/silences",
            a,
            json!({"matchers": [], "ends_at": "2999-01-01T00:00:00Z", "comment": "x"}),
        )
        .await;
    check(&doc, "post", "/silences", r.expect(400));
    check_get(&app, &doc, "/silences", s, 200).await;
    check_get(&app, &doc, "/silences", st, 403).await;
    let r = send(app.request(Method::DELETE, &format!("/silences/{silence}"), a)).await;
    check(&doc, "delete", "/silences/{id}", r.expect(200));
    let r = send(app.request(Method::DELETE, "/silences/nope", a)).await;
    check(&doc, "delete", "/silences/{id}", r.expect(404));

    // The outbox, health and logout.
    check_get(&app, &doc, "/admin/outbox", a, 200).await;
    let r = app.post("/admin/outbox/nope/retry", a, json!({})).await;
    check(&doc, "post", "/admin/outbox/{id}/retry", r.expect(404));
    check_get(&app, &doc, "/health", None, 200).await;
    check_get(&app, &doc, "/ready", None, 200).await;
    let r = app
        .post("/auth/logout", Some(&other.token), json!({}))
        .await;
    check(&doc, "post", "/auth/logout", r.expect(204));
}
