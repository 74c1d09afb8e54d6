//! `alerta user add`.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::helpers::binary;

fn user_add(
    data_dir: &std::path::Path,
    email: &str,
    role: &str,
    password: &str,
) -> std::process::Output {
    let mut child = Command::new(binary())
        .args([
            "user",
            "add",
            "--email",
            email,
            "--role",
            role,
            "--data-dir",
        ])
        .arg(data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_add_reads_the_password_from_stdin_and_the_account_logs_in() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = user_add(data_dir.path(), "jefa@campus.edu", "staff", "jefa-password");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let user: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(user["rol"], "staff");
    assert!(
        user.get("password").is_none()
            && !String::from_utf8_lossy(&output.stdout).contains("argon2")
    );

    let again = user_add(data_dir.path(), "JEFA@campus.edu", "admin", "otra-password");
    assert!(!again.status.success(), "a duplicate address fails");
    let short = user_add(data_dir.path(), "otro@campus.edu", "staff", "short");
    assert!(
        !short.status.success(),
        "a password under 8 characters fails"
    );
    let bad_role = user_add(data_dir.path(), "otro@campus.edu", "root", "long-enough");
    assert!(!bad_role.status.success(), "an unknown role fails");

    let server = crate::helpers::start_binary(data_dir.path()).await;
    let reply = reqwest::Client::new()
        .post(format!("{}/auth/login", server.base))
        .json(&serde_json::json!({"email": "jefa@campus.edu", "password": "jefa-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["user"]["rol"], "staff");
}
