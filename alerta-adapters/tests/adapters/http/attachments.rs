//! Uploading, listing and downloading attachments.

use alerta_adapters::http::HttpConfig;
use alerta_core::Settings;
use alerta_core::domain::Role;

use super::helpers::{PNG, spawn_app, spawn_with};

#[tokio::test]
async fn an_upload_comes_back_byte_for_byte() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let staff = t.user(Role::Staff).await;
    let incident = t.report(&student.token, "Grieta en la pared").await;
    let id = incident["incident_id"].as_str().unwrap();

    let mut bytes = PNG.to_vec();
    bytes.extend((0..=255u8).cycle().take(5000));
    let uploaded = t
        .post_raw(
            &format!("/incidents/{id}/attachments?filename=..%2F..%2Fgrieta%201.png"),
            Some(&student.token),
            "image/png",
            bytes.clone(),
        )
        .await;
    uploaded.expect(201);
    let attachment = &uploaded.body;
    // The name loses its path; it never becomes one.
    assert_eq!(attachment["filename"], "grieta 1.png");
    assert_eq!(attachment["content_type"], "image/png");
    assert_eq!(attachment["size"], bytes.len());
    assert_eq!(attachment["sha256"].as_str().unwrap().len(), 64);
    let attachment_id = attachment["attachment_id"].as_str().unwrap();

    let list = t
        .get(&format!("/incidents/{id}/attachments"), Some(&staff.token))
        .await;
    list.expect(200);
    assert_eq!(list.items(), &vec![attachment.clone()]);
    assert!(list.body["next_cursor"].is_null());

    let download = t
        .get(
            &format!("/incidents/{id}/attachments/{attachment_id}"),
            Some(&staff.token),
        )
        .await;
    download.expect(200);
    assert_eq!(download.bytes, bytes);
    assert_eq!(download.header("content-type"), Some("image/png"));
    assert_eq!(download.header("x-content-type-options"), Some("nosniff"));
    assert!(
        download
            .header("content-disposition")
            .is_some_and(|d| d.contains("grieta%201.png"))
    );

    // The upload is in the history and bumped the version.
    let now = t.get(&format!("/incidents/{id}"), Some(&staff.token)).await;
    assert_eq!(now.body["version"], 2);
    let history = t
        .get(&format!("/incidents/{id}/events"), Some(&staff.token))
        .await;
    let last = history.items().last().unwrap().clone();
    assert_eq!(last["tipo_evento"], "adjunto");
    assert_eq!(last["detalle"]["attachment_id"], attachment_id);

    // Attachments of one incident are not reachable through another.
    let other = t.report(&student.token, "Otra cosa").await;
    let other_id = other["incident_id"].as_str().unwrap();
    t.get(
        &format!("/incidents/{other_id}/attachments/{attachment_id}"),
        Some(&staff.token),
    )
    .await
    .expect_error(404, "attachment_not_found");
}

#[tokio::test]
async fn text_and_pdf_keep_their_types() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let incident = t.report(&student.token, "Documentos").await;
    let id = incident["incident_id"].as_str().unwrap();
    for (name, content_type, bytes, stored_type) in [
        (
            "nota.txt",
            "text/plain; charset=utf-8",
            b"hola, mundo".to_vec(),
            "text/plain",
        ),
        (
            "acta.pdf",
            "application/pdf",
            b"%PDF-1.7 ...".to_vec(),
            "application/pdf",
        ),
    ] {
        let up = t
            .post_raw(
                &format!("/incidents/{id}/attachments?filename={name}"),
                Some(&student.token),
                content_type,
                bytes.clone(),
            )
            .await;
        up.expect(201);
        let attachment_id = up.body["attachment_id"].as_str().unwrap();
        let down = t
            .get(
                &format!("/incidents/{id}/attachments/{attachment_id}"),
                Some(&student.token),
            )
            .await;
        assert_eq!(down.bytes, bytes);
        assert_eq!(down.header("content-type"), Some(stored_type));
    }
}

#[tokio::test]
async fn only_the_reporter_staff_and_admin_attach() {
    let t = spawn_app().await;
    let reporter = t.user(Role::Student).await;
    let other = t.user(Role::Student).await;
    let incident = t.report(&reporter.token, "Banco roto").await;
    let path = format!(
        "/incidents/{}/attachments?filename=a.png",
        incident["incident_id"].as_str().unwrap()
    );
    t.post_raw(&path, Some(&other.token), "image/png", PNG.to_vec())
        .await
        .expect_error(403, "forbidden");
    t.post_raw(&path, None, "image/png", PNG.to_vec())
        .await
        .expect_error(401, "unauthenticated");
    t.post_raw(&path, Some(&reporter.token), "image/png", PNG.to_vec())
        .await
        .expect(201);
}

#[tokio::test]
async fn a_repeated_upload_key_stores_one_file() {
    let t = spawn_app().await;
    let student = t.user(Role::Student).await;
    let incident = t.report(&student.token, "Foto").await;
    let id = incident["incident_id"].as_str().unwrap();
    let path = format!("/incidents/{id}/attachments?filename=a.png");
    let upload = || {
        super::helpers::send(
            t.request(reqwest::Method::POST, &path, Some(&student.token))
                .header("content-type", "image/png")
                .header("idempotency-key", "upload-1")
                .body(PNG.to_vec()),
        )
    };
    let first = upload().await;
    first.expect(201);
    let second = upload().await;
    second.expect(201);
    assert_eq!(first.body, second.body);
    let list = t
        .get(
            &format!("/incidents/{id}/attachments"),
            Some(&student.token),
        )
        .await;
    assert_eq!(list.items().len(), 1);
}

#[tokio::test]
async fn the_size_limit_follows_the_settings() {
    let settings = Settings {
        attachment_max_bytes: 100,
        ..Settings::default()
    };
    let t = spawn_with(settings, HttpConfig::default()).await;
    let student = t.user(Role::Student).await;
    let incident = t.report(&student.token, "Límite").await;
    let path = format!(
        "/incidents/{}/attachments?filename=a.png",
        incident["incident_id"].as_str().unwrap()
    );
    let mut exact = PNG.to_vec();
    exact.resize(100, 7);
    t.post_raw(&path, Some(&student.token), "image/png", exact.clone())
        .await
        .expect(201);
    exact.push(7);
    t.post_raw(&path, Some(&student.token), "image/png", exact)
        .await
        .expect_error(413, "too_large");
}
