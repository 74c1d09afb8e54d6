//! `GET /openapi.json` of the binary: the routes it adds beside the API's router are in it and
//! served, every route of `docs/API.md` is in it, and their real replies match it.

use std::collections::BTreeSet;

use alerta_bin::Secret;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app_with};

#[path = "../../../alerta-adapters/tests/adapters/http/openapi_schemas.rs"]
mod openapi_schemas;
use openapi_schemas::check_reply;

const KEY: &str = "city-app-key";
const METRICS_TOKEN: &str = "scrape-token";
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// A server with every optional route on: Open311 and `GET /metrics` on the API address.
async fn full_app() -> TestApp {
    spawn_app_with(|config| {
        config.open311_keys = vec![Secret::new(KEY)];
        config.metrics_token = Some(Secret::new(METRICS_TOKEN));
    })
    .await
}

async fn document(app: &TestApp) -> Value {
    let reply = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

/// Status, body (JSON or `null`) and whether it was empty.
async fn send(request: reqwest::RequestBuilder) -> (u16, Value, bool) {
    let reply = request.send().await.unwrap();
    let status = reply.status().as_u16();
    let bytes = reply.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body, bytes.is_empty())
}

/// What answers a route that is not there: the router's fallback (404 `not_found`), 405, or
/// the Open311 facade's own "no such document".
fn not_served(status: u16, body: &Value) -> bool {
    status == 405
        || (status == 404 && body["error"]["code"] == "not_found")
        || (status == 404 && body[0]["description"] == "document not found")
}

#[tokio::test]
async fn every_operation_of_the_binary_is_served_and_no_other_method_is() {
    let app = full_app().await;
    let doc = document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    for added in [
        "/staff/stats/daily",
        "/ws",
        "/",
        "/metrics",
        "/open311/v2/discovery.json",
        "/open311/v2/services.json",
        "/open311/v2/services/{code}.json",
        "/open311/v2/requests.json",
        "/open311/v2/requests/{id}.json",
    ] {
        assert!(paths.contains_key(added), "{added} is not in the document");
    }
    let mut wrong = Vec::new();
    for (path, item) in paths {
        let concrete = path.replace("{code}", "otro").replace(['{', '}'], "");
        for method in METHODS {
            let method_ = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = app.client.request(method_, app.url(&concrete));
            if path.starts_with("/open311/") {
                // The facade reads a post's form before it looks at the document's name.
                request = request.form(&[("service_code", "otro")]);
            }
            let (status, body, _) = send(request).await;
            let served = !not_served(status, &body);
            if served != item.get(method).is_some() {
                wrong.push(format!(
                    "{} {path}: documented {}, answered {status} {body}",
                    method.to_uppercase(),
                    item.get(method).is_some()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "document and server disagree: {wrong:#?}");
}

#[tokio::test]
async fn every_route_of_the_contract_is_in_the_document() {
    let app = full_app().await;
    let doc = document(&app).await;
    let api =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/API.md")).unwrap();
    let mut contract = BTreeSet::new();
    for line in api.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(route) = cells.get(1) else { continue };
        let Some((method, path)) = route.split_once(' ') else {
            continue;
        };
        if METHODS.contains(&method.to_lowercase().as_str()) && path.starts_with('/') {
            let path = path.split('?').next().unwrap();
            contract.insert((method.to_lowercase(), path.to_owned()));
        }
    }
    assert!(contract.len() > 45, "too few routes read: {contract:?}");
    let missing: Vec<_> = contract
        .iter()
        .filter(|(method, path)| doc["paths"][path.as_str()].get(method.as_str()).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "routes of docs/API.md not in /openapi.json: {missing:?}"
    );
}

#[tokio::test]
async fn the_binarys_replies_match_the_document() {
    let app = full_app().await;
    let doc = document(&app).await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let check = |method: &str, template: &str, (status, body, empty): &(u16, Value, bool)| {
        check_reply(&doc, method, template, *status, body, *empty);
    };

    let (status, _) = app
        .post(
            &admin,
            "/incidents",
            json!({"tipo": "otro", "descripcion": "Luz fundida", "ubicacion": "Aula 3",
                   "urgencia": "baja"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .post(
            &admin,
            "/events",
            json!({"source": "ups_1", "severity": "error", "message": "Sin red"}),
        )
        .await;
    assert_eq!(status, 201);
    let daily = send(
        app.client
            .get(app.url("/staff/stats/daily"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(daily.0, 200, "{}", daily.1);
    check("get", "/staff/stats/daily", &daily);
    let anonymous = send(app.client.get(app.url("/staff/stats/daily"))).await;
    assert_eq!(anonymous.0, 401);
    check("get", "/staff/stats/daily", &anonymous);

    let open311 = |path: &str| app.client.get(app.url(&format!("/open311/v2{path}")));
    check(
        "get",
        "/open311/v2/discovery.json",
        &send(open311("/discovery.json")).await,
    );
    check(
        "get",
        "/open311/v2/services.json",
        &send(open311("/services.json")).await,
    );
    let definition = send(open311("/services/otro.json")).await;
    assert_eq!(definition.0, 200);
    check("get", "/open311/v2/services/{code}.json", &definition);
    check(
        "get",
        "/open311/v2/services/{code}.json",
        &send(open311("/services/nada.json")).await,
    );
    let posted = send(
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .form(&[
                ("api_key", KEY),
                ("service_code", "otro"),
                ("description", "Banco roto"),
                ("lat", "-33.45"),
                ("long", "-70.66"),
            ]),
    )
    .await;
    assert_eq!(posted.0, 201, "{}", posted.1);
    check("post", "/open311/v2/requests.json", &posted);
    let refused = send(
        app.client
            .post(app.url("/open311/v2/requests.json"))
            .form(&[("api_key", "wrong"), ("service_code", "otro")]),
    )
    .await;
    assert_eq!(refused.0, 403);
    check("post", "/open311/v2/requests.json", &refused);
    let listed = send(open311("/requests.json")).await;
    assert_eq!(listed.0, 200);
    check("get", "/open311/v2/requests.json", &listed);
    let id = posted.1[0]["service_request_id"].as_str().unwrap();
    let one = send(open311(&format!("/requests/{id}.json"))).await;
    assert_eq!(one.0, 200);
    check("get", "/open311/v2/requests/{id}.json", &one);
}
