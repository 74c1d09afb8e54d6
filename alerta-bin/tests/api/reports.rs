//! `alerta report run` against the data a server wrote.

use std::process::Command;

use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, binary, spawn_app};

fn report_run(data_dir: &std::path::Path) -> std::process::Output {
    Command::new(binary())
        .args(["report", "run", "--data-dir"])
        .arg(data_dir)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_run_writes_reports_once_and_fails_loudly() {
    let app = spawn_app().await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.post(
        &admin,
        "/departments",
        json!({"nombre": "TI", "email": "ti@campus.edu"}),
    )
    .await;
    let (_, incident) = app
        .post(
            &admin,
            "/incidents",
            json!({"tipo": "tecnologia", "descripcion": "Sin red", "ubicacion": "Biblioteca", "urgencia": "alta"}),
        )
        .await;
    let id = incident["incident_id"].as_str().unwrap();
    let (status, _) = app
        .post(
            &admin,
            &format!("/incidents/{id}/department"),
            json!({"departamento": "TI"}),
        )
        .await;
    assert_eq!(status, 200);

    let data_dir = app.data_dir();
    let first = report_run(data_dir);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        stdout.contains("1 incidents); 1 assignments processed"),
        "{stdout}"
    );
    let report = data_dir
        .join("blobs/reportes/incidentes/TI")
        .join(format!("incidente_{id}.json"));
    let on_disk: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&report).expect("the assignment report is written under the data directory"),
    )
    .expect("a report file is JSON as it lies on disk");
    assert_eq!(on_disk["incident"]["incident_id"], id, "{on_disk}");
    let global = data_dir.join("blobs/reportes/global");
    let globals: Vec<_> = std::fs::read_dir(&global)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("reporte_"))
        })
        .collect();
    assert_eq!(globals.len(), 1, "{globals:?}");
    let global_report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&globals[0]).unwrap()).expect("JSON on disk");
    assert_eq!(global_report["total"], 1, "{global_report}");

    let second = report_run(data_dir);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success());
    assert!(
        stdout.contains("0 assignments processed, 1 already done"),
        "{stdout}"
    );

    let not_a_dir = data_dir.join("alerta.db");
    let failed = report_run(&not_a_dir);
    assert!(
        !failed.status.success(),
        "a run that cannot open its data exits non-zero"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_job_on_its_schedule() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = alerta_bin::Config {
        report_every: Some(std::time::Duration::from_secs(1)),
        ..crate::helpers::test_config(data_dir.path())
    };
    let running = alerta_bin::start(config).await.unwrap();
    let global = data_dir.path().join("blobs/reportes/global");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut interval = tokio::time::interval(std::time::Duration::from_millis(100));
    loop {
        interval.tick().await;
        let written = std::fs::read_dir(&global).map(|d| d.count()).unwrap_or(0);
        if written > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no scheduled report within 20 s"
        );
    }
    running.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_files_of_the_old_format_are_json_after_a_start() {
    let data_dir = tempfile::tempdir().unwrap();
    let global = data_dir.path().join("blobs/reportes/global");
    std::fs::create_dir_all(&global).unwrap();
    let file = global.join("reporte_2026-11-30_08-00.json");
    std::fs::write(
        &file,
        b"alerta-blob 1\napplication/json\n{\"total\": 7, \"por_estado\": {}}",
    )
    .unwrap();
    let server = crate::helpers::start_binary(data_dir.path()).await;
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).expect("JSON after the start");
    assert_eq!(on_disk["total"], 7);
    drop(server);
}
