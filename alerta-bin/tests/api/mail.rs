//! Mail from the running binary to a real SMTP server (aiosmtpd): nothing is lost when the
//! process is killed between the commit and the send.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, start_binary_with};

fn env_path(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "{name} is not set: the mail tests need aiosmtpd. Run \
             `source scripts/lib/smtp.sh && setup_smtp` in this shell first."
            )
        })
}

/// `scripts/smtp_sink.py` on `port`, writing each message it accepts into `spool`.
pub(crate) struct Sink(Child);

impl Sink {
    pub(crate) fn start(port: u16, spool: &Path) -> Self {
        let mut child = Command::new(env_path("ALERTA_TEST_PYTHON"))
            .arg(env_path("ALERTA_TEST_SMTP_SINK"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--spool",
            ])
            .arg(spool)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert!(
            ready.starts_with("READY"),
            "the SMTP sink did not start: {ready:?}"
        );
        Self(child)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The messages the sink accepted, as `smtp_sink.py` describes them.
pub(crate) fn received(spool: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(spool)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

pub(crate) async fn admin_token(client: &reqwest::Client, base: &str) -> String {
    let body: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().unwrap().to_owned()
}

pub(crate) async fn outbox(client: &reqwest::Client, base: &str, token: &str) -> Vec<Value> {
    let body: Value = client
        .get(format!("{base}/admin/outbox"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn mail_committed_before_a_sigkill_arrives_once_after_the_restart() {
    let data_dir = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtp_url = format!("smtp://127.0.0.1:{port}?tls=none");
    let env = [
        ("ALERTA_SMTP_URL", smtp_url.as_str()),
        ("ALERTA_ALERT_EMAILS", "ops@campus.edu"),
        ("ALERTA_MAIL_RETRY_BASE", "1s"),
        ("ALERTA_MAIL_UNREACHABLE_RETRY", "1s"),
    ];
    let client = reqwest::Client::new();

    // The SMTP server is down: the alert and its mail row commit, the send cannot happen.
    let mut first = start_binary_with(data_dir.path(), &env).await;
    let token = admin_token(&client, &first.base).await;
    let reply = client
        .post(format!("{}/events", first.base))
        .bearer_auth(&token)
        .json(&json!({"source": "sensor_01", "severity": "critical", "message": "<script>x</script>"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let deadline = Instant::now() + Duration::from_secs(20);
    let row = loop {
        let rows = outbox(&client, &first.base, &token).await;
        if let Some(row) = rows.iter().find(|r| r["last_error"].is_string()) {
            break row.clone();
        }
        assert!(Instant::now() < deadline, "the first send was never tried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        row["state"], "pending",
        "a refused connection is retried, not dropped"
    );
    assert_eq!(row["attempts"], 0, "a refused connection is not an attempt");
    assert!(
        row["last_error"]
            .as_str()
            .unwrap()
            .starts_with("mail server unreachable"),
        "{row}"
    );
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();
    assert!(received(spool.path()).is_empty());

    // The SMTP server comes up and the binary restarts: the mail goes out, once.
    let _sink = Sink::start(port, spool.path());
    let second = start_binary_with(data_dir.path(), &env).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received(spool.path()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the mail never arrived after the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = admin_token(&client, &second.base).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = outbox(&client, &second.base, &token).await;
        if rows.iter().all(|r| r["state"] == "sent") {
            break;
        }
        assert!(Instant::now() < deadline, "the row was never marked sent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = received(spool.path());
    assert_eq!(messages.len(), 1, "exactly one message: {messages:?}");
    let text = messages[0].to_string();
    assert!(text.contains("[CRITICAL] Alerta: sensor_01"), "{text}");
    assert!(text.contains(row["message_id"].as_str().unwrap().trim_matches(['<', '>'])));
}

#[tokio::test]
async fn a_refused_mail_ends_dead_and_outbox_retry_queues_it_again() {
    let data_dir = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let _sink = Sink::start(port, spool.path());
    let smtp_url = format!("smtp://127.0.0.1:{port}?tls=none");
    let env = [
        ("ALERTA_SMTP_URL", smtp_url.as_str()),
        // The sink answers 550 to recipients called permfail.
        ("ALERTA_ALERT_EMAILS", "permfail@campus.edu"),
    ];
    let client = reqwest::Client::new();
    let server = start_binary_with(data_dir.path(), &env).await;
    let token = admin_token(&client, &server.base).await;
    let reply = client
        .post(format!("{}/events", server.base))
        .bearer_auth(&token)
        .json(&json!({"source": "ups", "severity": "error", "message": "sin energía"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);

    let dead_row = |attempts: u64| {
        let client = client.clone();
        let base = server.base.clone();
        let token = token.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let rows = outbox(&client, &base, &token).await;
                if let Some(row) = rows
                    .iter()
                    .find(|r| r["state"] == "dead" && r["attempts"].as_u64() == Some(attempts))
                {
                    return row.clone();
                }
                assert!(
                    Instant::now() < deadline,
                    "no dead row with {attempts} attempts: {rows:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let row = dead_row(1).await;
    assert!(row["last_error"].as_str().unwrap().contains("550"), "{row}");

    let retry = Command::new(crate::helpers::binary())
        .args(["outbox", "retry", row["id"].as_str().unwrap(), "--data-dir"])
        .arg(data_dir.path())
        .output()
        .unwrap();
    assert!(
        retry.status.success(),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    // Queued again, the dispatcher tries once more and the server refuses once more.
    let again = dead_row(2).await;
    assert_eq!(
        again["message_id"], row["message_id"],
        "the Message-ID never changes"
    );
    assert!(received(spool.path()).is_empty());
}
