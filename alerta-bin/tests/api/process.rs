//! The binary as a process: restarts keep everything, SIGTERM stops it cleanly.

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, start_binary};

async fn login(client: &reqwest::Client, base: &str) -> String {
    let body: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().expect("a token").to_owned()
}

async fn terminate(server: &mut crate::helpers::BinaryServer) -> std::process::ExitStatus {
    let pid = server.child.id().expect("running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.child.wait().await.unwrap()
}

#[tokio::test]
async fn data_written_before_a_restart_is_all_there_after_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();

    let mut first = start_binary(data_dir.path()).await;
    let token = login(&client, &first.base).await;
    let mut created = Vec::new();
    for n in 0..5 {
        let incident: Value = client
            .post(format!("{}/incidents", first.base))
            .bearer_auth(&token)
            .json(&json!({"tipo": "limpieza", "descripcion": format!("derrame {n}"), "ubicacion": "Cafetería", "urgencia": "baja"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created.push(incident);
    }
    let png = b"\x89PNG\r\n\x1a\nimagen".to_vec();
    let id = created[0]["incident_id"].as_str().unwrap();
    let attachment = client
        .post(format!(
            "{}/incidents/{id}/attachments?filename=foto.png",
            first.base
        ))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(attachment.status(), 201);
    let attachment: Value = attachment.json().await.unwrap();
    let exit = terminate(&mut first).await;
    assert!(exit.success(), "SIGTERM ends the server cleanly: {exit:?}");

    let mut second = start_binary(data_dir.path()).await;
    let reply = client
        .get(format!("{}/incidents/{id}", second.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200, "sessions survive a restart");
    let listed: Value = client
        .get(format!("{}/incidents?limit=10", second.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut expected = created.clone();
    // The attachment added one event to the first incident.
    expected[0]["version"] = json!(2);
    let attached_at = listed["items"][4]["updated_at"].clone();
    expected[0]["updated_at"] = attached_at;
    expected.reverse();
    assert_eq!(
        listed["items"].as_array().unwrap(),
        &expected,
        "every incident is still there, field for field, newest first"
    );
    let bytes = client
        .get(format!(
            "{}/incidents/{id}/attachments/{}",
            second.base,
            attachment["attachment_id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        bytes.as_ref(),
        png.as_slice(),
        "attachment bytes survive a restart"
    );
    assert!(terminate(&mut second).await.success());
}
