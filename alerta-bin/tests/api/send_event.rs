//! `alerta send-event` against a running server: the original two-terminal demo.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, binary, start_binary};

#[tokio::test]
async fn send_event_stores_alerts_from_flags_and_from_stdin() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = start_binary(data_dir.path()).await;

    let one = Command::new(binary())
        .args(["send-event", "--tcp-addr", &server.tcp_addr])
        .args([
            "--source",
            "sensor_01",
            "--severity",
            "critical",
            "--message",
            "Temperatura alta",
        ])
        .output()
        .unwrap();
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let reply: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(reply["ok"], true);

    let mut many = Command::new(binary())
        .args(["send-event", "--tcp-addr", &server.tcp_addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = [
        json!({"source": "sensor_02", "severity": "info", "message": "latido"}).to_string(),
        "{not json".to_owned(),
        json!({"source": "sensor_03", "severity": "warning", "message": "disco al 80%"})
            .to_string(),
    ];
    many.stdin
        .take()
        .unwrap()
        .write_all(lines.join("\n").as_bytes())
        .unwrap();
    let out = many.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "a refused line makes the exit code non-zero"
    );
    let replies: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let oks: Vec<bool> = replies.iter().map(|r| r["ok"] == true).collect();
    assert_eq!(oks, [true, false, true], "one reply per line, in order");

    let client = reqwest::Client::new();
    let login: Value = client
        .post(format!("{}/auth/login", server.base))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let events: Value = client
        .get(format!("{}/events", server.base))
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sources: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        sources,
        ["sensor_03", "sensor_02", "sensor_01"],
        "newest first"
    );
    assert_eq!(events["items"][2]["channel"], "tcp");
}
