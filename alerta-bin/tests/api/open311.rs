//! The Open311 GeoReport v2 facade, driven with requests written from the specification
//! (<http://wiki.open311.org/GeoReport_v2>): form-encoded posts with an `api_key`, JSON
//! replies, errors as `[{"code", "description"}]`.

use alerta_bin::Secret;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, spawn_app, spawn_app_with};

const KEY: &str = "city-app-key";

async fn open311_app() -> TestApp {
    spawn_app_with(|config| config.open311_keys = vec![Secret::new(KEY)]).await
}

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let reply = app
        .client
        .get(app.url(&format!("/open311/v2{path}")))
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap())
}

async fn post(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    let reply = app
        .client
        .post(app.url("/open311/v2/requests.json"))
        .form(form)
        .send()
        .await
        .unwrap();
    (reply.status().as_u16(), reply.json().await.unwrap())
}

/// The GeoReport error shape: one error whose code is the HTTP status.
fn assert_error(status: u16, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body[0]["code"], expected, "{body}");
    assert!(
        body[0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

#[tokio::test]
async fn discovery_and_services_describe_the_incident_types() {
    let app = open311_app().await;
    let (status, discovery) = get(&app, "/discovery.json").await;
    assert_eq!(status, 200);
    let endpoint = &discovery["endpoints"][0];
    assert_eq!(
        endpoint["specification"],
        "http://wiki.open311.org/GeoReport_v2"
    );
    assert!(
        endpoint["formats"]
            .as_array()
            .unwrap()
            .contains(&json!("application/json"))
    );

    let (status, services) = get(&app, "/services.json").await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service_code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"infraestructura"), "{codes:?}");
    assert!(
        services
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["type"] == "realtime" && s["metadata"] == true)
    );

    let (status, definition) = get(&app, "/services/infraestructura.json").await;
    assert_eq!(status, 200);
    assert_eq!(definition["service_code"], "infraestructura");
    let attribute = &definition["attributes"][0];
    assert_eq!(attribute["code"], "urgencia");
    assert_eq!(attribute["datatype"], "singlevaluelist");
    assert_eq!(attribute["required"], false);
    let (status, body) = get(&app, "/services/nada.json").await;
    assert_error(status, &body, 404);
    let (status, body) = get(&app, "/services.xml").await;
    assert_error(status, &body, 400);
}

#[tokio::test]
async fn a_city_app_posts_a_request_and_follows_it_to_closed() {
    let app = open311_app().await;
    let (status, body) = post(
        &app,
        &[
            ("service_code", "infraestructura"),
            ("address_string", "Pabellón B, segundo piso"),
        ],
    )
    .await;
    assert_error(status, &body, 403);
    let (status, body) = post(
        &app,
        &[
            ("api_key", "wrong"),
            ("service_code", "infraestructura"),
            ("address_string", "Pabellón B"),
        ],
    )
    .await;
    assert_error(status, &body, 403);

    let (status, created) = post(
        &app,
        &[
            ("api_key", KEY),
            ("service_code", "infraestructura"),
            ("address_string", "Pabellón B, segundo piso"),
            ("description", "La luminaria del pasillo está apagada"),
            ("email", "vecina@ciudad.example"),
            ("first_name", "Rosa"),
            ("last_name", "Quispe"),
            ("phone", "999111222"),
            ("attribute[urgencia]", "alta"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, found) = get(&app, &format!("/requests/{id}.json")).await;
    assert_eq!(status, 200);
    let request = &found[0];
    assert_eq!(request["service_request_id"], id.as_str());
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "infraestructura");
    assert_eq!(request["address"], "Pabellón B, segundo piso");
    assert_eq!(
        request["description"],
        "La luminaria del pasillo está apagada"
    );
    assert!(request["requested_datetime"].as_str().is_some());
    let text = found.to_string();
    for private in ["vecina@ciudad.example", "Rosa", "Quispe", "999111222"] {
        assert!(!text.contains(private), "{private} is not shown: {text}");
    }

    // Staff see it in the REST API with its urgency, and close it with a note.
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, incident) = app.get(&admin, &format!("/incidents/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(incident["urgencia"], "alta");
    let (status, _) = app
        .post(
            &admin,
            &format!("/incidents/{id}/status"),
            json!({"estado": "resuelto", "version": incident["version"], "nota": "Cambiada la luminaria"}),
        )
        .await;
    assert_eq!(status, 200);
    let (_, found) = get(&app, &format!("/requests/{id}.json")).await;
    assert_eq!(found[0]["status"], "closed");
    assert_eq!(found[0]["status_notes"], "Cambiada la luminaria");

    let (status, closed) = get(&app, "/requests.json?status=closed").await;
    assert_eq!(status, 200);
    assert_eq!(closed.as_array().unwrap().len(), 1);
    let (_, open) = get(&app, "/requests.json?status=open").await;
    assert_eq!(open, json!([]));
}

#[tokio::test]
async fn requests_with_coordinates_are_listed_and_filtered() {
    let app = open311_app().await;
    let mut ids = Vec::new();
    for (code, lat, long) in [
        ("infraestructura", "-12.0561", "-77.0844"),
        ("limpieza", "-12.0570", "-77.0850"),
        ("infraestructura", "-12.0580", "-77.0860"),
    ] {
        let (status, created) = post(
            &app,
            &[
                ("api_key", KEY),
                ("service_code", code),
                ("lat", lat),
                ("long", long),
                ("description", "Reportado desde la aplicación de la ciudad"),
            ],
        )
        .await;
        assert_eq!(status, 201, "{created}");
        ids.push(
            created[0]["service_request_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    let (status, all) = get(&app, "/requests.json").await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_request_id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = ids.iter().rev().map(String::as_str).collect();
    assert_eq!(listed, newest_first);
    assert_eq!(all[2]["lat"], -12.0561);
    assert_eq!(all[2]["long"], -77.0844);

    let (_, infra) = get(&app, "/requests.json?service_code=infraestructura").await;
    assert_eq!(infra.as_array().unwrap().len(), 2);
    let (_, two) = get(
        &app,
        &format!("/requests.json?service_request_id={},{}", ids[0], ids[1]),
    )
    .await;
    assert_eq!(two.as_array().unwrap().len(), 2);
    let (_, none) = get(&app, "/requests.json?end_date=2000-01-01T00:00:00Z").await;
    assert_eq!(none, json!([]));
    let (status, body) = get(&app, "/requests.json?start_date=yesterday").await;
    assert_error(status, &body, 400);
    let (status, body) = get(&app, "/requests.json?status=pending").await;
    assert_error(status, &body, 400);
}

#[tokio::test]
async fn bad_requests_are_refused_and_store_nothing() {
    let app = open311_app().await;
    for (form, why) in [
        (
            vec![("api_key", KEY), ("address_string", "Pabellón B")],
            "no service_code",
        ),
        (
            vec![
                ("api_key", KEY),
                ("service_code", "nada"),
                ("address_string", "Pabellón B"),
                ("description", "Un servicio que no existe"),
            ],
            "an unknown service_code",
        ),
        (
            vec![
                ("api_key", KEY),
                ("service_code", "infraestructura"),
                ("description", "Sin ubicación"),
            ],
            "no location",
        ),
        (
            vec![
                ("api_key", KEY),
                ("service_code", "infraestructura"),
                ("lat", "91"),
                ("long", "0"),
                ("description", "Fuera del mundo"),
            ],
            "a latitude past the pole",
        ),
        (
            vec![
                ("api_key", KEY),
                ("service_code", "infraestructura"),
                ("address_string", "Pabellón B"),
                ("description", "Urgencia rara"),
                ("attribute[urgencia]", "ya"),
            ],
            "an unknown urgencia",
        ),
    ] {
        let (status, body) = post(&app, &form).await;
        assert_error(status, &body, 400);
        assert!(body.to_string().len() < 1000, "{why}: {body}");
    }
    let (_, all) = get(&app, "/requests.json").await;
    assert_eq!(all, json!([]), "nothing was stored");
    let (status, body) = get(&app, "/requests/01JD2Z9R1K7Q3C6ZP0S8T4W5XY.json").await;
    assert_error(status, &body, 404);
    let (status, body) = get(&app, "/requests/..%2Fetc.json").await;
    assert_error(status, &body, 404);
}

#[tokio::test]
async fn without_keys_the_facade_is_not_served() {
    let app = spawn_app().await;
    let reply = app
        .client
        .get(app.url("/open311/v2/requests.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
}
