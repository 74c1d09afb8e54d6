//! `GET /incidents/{id}/deliveries`: every mail an incident caused and its reports.

use std::time::Duration;

use alerta_core::ReportRun;
use alerta_core::domain::Role;
use serde_json::{Value, json};

use super::helpers::spawn_app;

#[tokio::test]
async fn the_log_shows_each_mail_and_report_of_the_incident() {
    let t = spawn_app().await;
    let admin = t.user(Role::Admin).await;
    let staff = t.user(Role::Staff).await;
    let student = t.user(Role::Student).await;
    t.department("Mantenimiento").await;
    let incident = t.report_directly(&student).await;
    let other = t.report_directly(&student).await;
    let path = format!("/incidents/{incident}/deliveries");

    let empty = t.get(&path, Some(&staff.token)).await;
    empty.expect(200);
    assert_eq!(
        empty.body,
        json!({"incident_id": incident, "mails": [], "reports": []})
    );

    t.post(
        &format!("/incidents/{incident}/department"),
        Some(&admin.token),
        json!({"departamento": "Mantenimiento"}),
    )
    .await
    .expect(200);
    t.post(
        &format!("/incidents/{incident}/status"),
        Some(&staff.token),
        json!({"estado": "resuelto"}),
    )
    .await
    .expect(200);
    t.post(
        &format!("/incidents/{other}/status"),
        Some(&staff.token),
        json!({"estado": "resuelto"}),
    )
    .await
    .expect(200);

    let log = t.get(&path, Some(&admin.token)).await;
    log.expect(200);
    let mails = log.body["mails"].as_array().unwrap();
    let kinds: Vec<&str> = mails.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec!["assignment", "incident_resolved"],
        "the incident's own mails, oldest first: {}",
        log.body
    );
    let resolved = &mails[1];
    assert_eq!(resolved["to"], json!([student.user.email.as_str()]));
    assert_eq!(resolved["state"], "pending");
    assert_eq!(resolved["attempts"], 0);
    assert_eq!(resolved["last_error"], Value::Null);
    assert_eq!(resolved["sent_at"], Value::Null);
    assert!(resolved["created_at"].is_string());
    let reports = log.body["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["departamento"], "Mantenimiento");
    assert_eq!(
        reports[0]["key"],
        format!("reportes/incidentes/Mantenimiento/incidente_{incident}.json")
    );
    assert_eq!(reports[0]["written"], false);

    let run = ReportRun {
        holder: "test".into(),
        lease: Duration::from_secs(60),
    };
    t.app.run_reports(&run, &mut |_| {}).await.unwrap();
    let log = t.get(&path, Some(&staff.token)).await;
    log.expect(200);
    assert_eq!(log.body["reports"][0]["written"], true);
    let kinds: Vec<&str> = log.body["mails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["assignment", "incident_resolved", "report"]);
}

#[tokio::test]
async fn students_are_refused_and_unknown_incidents_are_not_found() {
    let t = spawn_app().await;
    let staff = t.user(Role::Staff).await;
    let student = t.user(Role::Student).await;
    let incident = t.report_directly(&student).await;
    t.get(
        &format!("/incidents/{incident}/deliveries"),
        Some(&student.token),
    )
    .await
    .expect_error(403, "forbidden");
    t.get(&format!("/incidents/{incident}/deliveries"), None)
        .await
        .expect(401);
    t.get(
        "/incidents/01JD2Z9R1K7Q3C6ZP0S8T4W5XY/deliveries",
        Some(&staff.token),
    )
    .await
    .expect_error(404, "incident_not_found");
}
