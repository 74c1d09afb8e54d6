//! Three `alerta serve` processes on the AWS profile, one moto and one Redis: one stream for
//! the whole deployment, through an instance killed with SIGKILL and a broker restart; mail
//! and reports once across instances.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, BinaryServer, binary, eventually, free_port, start_binary_with,
};
use crate::stream::{ids, next_message, read_until, subscribe};

const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

fn moto() -> String {
    std::env::var("ALERTA_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "ALERTA_TEST_AWS_ENDPOINT is not set: this test needs moto in server mode. Run \
             `source scripts/lib/moto.sh && start_moto` in this shell first, or ./scripts/test."
        )
    })
}

/// A Redis of this test's own, so that stopping it disturbs no other test.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(port: u16) -> Self {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "redis-server could not be started ({e}): install Debian's redis-server, \
                     or run ./scripts/test, which does"
                )
            });
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Ready to accept connections") => break,
                Some(Ok(_)) => {}
                _ => panic!("redis-server exited before it was ready"),
            }
        }
        // Keep the pipe drained so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Subjects of every `.eml` file under the instances' data directories.
fn subjects(dirs: &[tempfile::TempDir]) -> Vec<String> {
    let mut subjects = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.path().join("mail")) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "eml") {
                subjects.extend(subject_of(&path));
            }
        }
    }
    subjects.sort();
    subjects
}

fn subject_of(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("Subject: "))
        .map(str::to_owned)
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let reply: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reply["token"].as_str().expect("a token").to_owned()
}

async fn post(client: &reqwest::Client, base: &str, token: &str, path: &str, body: Value) -> Value {
    let reply = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let body: Value = reply.json().await.unwrap_or(Value::Null);
    assert!((200..300).contains(&status), "{path}: {status} {body}");
    body
}

/// `count` alerts through `base`; with `critical`, every fourth one is critical, with a
/// source of its own so that its mail's subject is too.
async fn write_alerts(
    client: reqwest::Client,
    base: String,
    token: String,
    name: String,
    count: usize,
    critical: bool,
) -> Vec<String> {
    let mut mailed = Vec::new();
    for n in 0..count {
        let severity = if critical && n % 4 == 0 {
            mailed.push(format!("[CRITICAL] Alerta: {name}-{n}"));
            "critical"
        } else {
            "info"
        };
        let body = json!({"source": format!("{name}-{n}"), "severity": severity, "message": format!("{name}.{n}")});
        post(&client, &base, &token, "/events", body).await;
    }
    mailed
}

/// Polls `GET path` on `base` until `accept` holds for its body.
async fn until(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    what: &str,
    accept: fn(&Value) -> bool,
) -> Value {
    eventually(what, DEADLINE, POLL, || {
        let request = client.get(format!("{base}{path}")).bearer_auth(token);
        async move {
            let body: Value = request
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            if accept(&body) {
                Ok(body)
            } else {
                Err(body.to_string())
            }
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_one_broker_serve_one_stream_and_mail_once() {
    let endpoint = moto();
    let mut redis = Redis::start(free_port());
    let unique = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("dep{unique}-");
    let broker = redis.url();
    let env = [
        ("ALERTA_PROFILE", "aws"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("ALERTA_AWS_TABLE_PREFIX", prefix.as_str()),
        ("ALERTA_AWS_ATTACHMENTS_BUCKET", "dep-adjuntos"),
        ("ALERTA_AWS_REPORTS_BUCKET", "dep-reportes"),
        ("ALERTA_AWS_FORCE_PATH_STYLE", "true"),
        ("ALERTA_BROKER_URL", broker.as_str()),
        ("ALERTA_ALERT_EMAILS", "ops@campus.edu"),
        ("ALERTA_REPORT_EVERY", "1s"),
    ];
    let bootstrap = Command::new(binary())
        .args(["aws", "bootstrap"])
        .envs(env)
        .output()
        .unwrap();
    assert!(
        bootstrap.status.success(),
        "bootstrap: {}",
        String::from_utf8_lossy(&bootstrap.stderr)
    );
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut instances: Vec<BinaryServer> = Vec::new();
    for dir in &dirs {
        instances.push(start_binary_with(dir.path(), &env).await);
    }
    let client = reqwest::Client::new();
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let ws: Vec<String> = bases
        .iter()
        .map(|b| b.replacen("http://", "ws://", 1))
        .collect();
    // Sessions live in the store: a login on one instance is good on every one.
    let token = login(&client, &bases[0]).await;
    let listed = until(
        &client,
        &bases[1],
        &token,
        "/events?limit=1",
        "a list",
        |b| b["stream"].is_string(),
    )
    .await;
    let start = listed["stream"].as_str().unwrap().to_owned();

    // A client on every instance from the start; the third one's client will lose its
    // instance halfway and go on at the first.
    let mut clients = Vec::new();
    for base in &ws[..2] {
        let mut socket = subscribe(base, &token, Some(&start)).await;
        clients.push(tokio::spawn(async move {
            read_until(&mut socket, "marker").await
        }));
    }
    let (reached_half, half) = tokio::sync::oneshot::channel::<()>();
    let (killed, was_killed) = tokio::sync::oneshot::channel::<()>();
    let wandering = {
        let (doomed, rescue, token, start) =
            (ws[2].clone(), ws[0].clone(), token.clone(), start.clone());
        tokio::spawn(async move {
            let mut received = Vec::new();
            let mut socket = subscribe(&doomed, &token, Some(&start)).await;
            for _ in 0..60 {
                received.push(next_message(&mut socket).await);
            }
            let _ = reached_half.send(());
            let _ = was_killed.await;
            let last = received.last().unwrap()["id"].as_str().unwrap().to_owned();
            let mut socket = subscribe(&rescue, &token, Some(&last)).await;
            received.extend(read_until(&mut socket, "marker").await);
            received
        })
    };

    // Phase 1: critical alerts through every instance, and an assignment the report job of
    // every instance may pick up. Each mail once, whichever dispatcher sends it.
    let mut expected_mail = Vec::new();
    let mut writers = Vec::new();
    for (w, base) in bases.iter().enumerate() {
        writers.push(tokio::spawn(write_alerts(
            client.clone(),
            base.clone(),
            token.clone(),
            format!("w{w}"),
            12,
            true,
        )));
    }
    post(
        &client,
        &bases[0],
        &token,
        "/departments",
        json!({"nombre": "TI", "email": "ti@campus.edu"}),
    )
    .await;
    let incident = post(
        &client,
        &bases[1],
        &token,
        "/incidents",
        json!({"tipo": "tecnologia", "descripcion": "Proyector roto", "ubicacion": "Aula 101", "urgencia": "media"}),
    )
    .await;
    let id = incident["incident_id"].as_str().unwrap().to_owned();
    post(
        &client,
        &bases[2],
        &token,
        &format!("/incidents/{id}/department"),
        json!({"departamento": "TI"}),
    )
    .await;
    expected_mail.push(format!("Alerta: incidente {id} asignado a TI"));
    expected_mail.push(format!("Alerta: reporte del incidente {id} para TI"));
    for writer in writers {
        expected_mail.extend(writer.await.unwrap());
    }
    expected_mail.sort();
    let mail_count = expected_mail.len();
    eventually("every mail to be written", DEADLINE, POLL, || {
        let seen = subjects(&dirs);
        async move {
            if seen.len() >= mail_count {
                Ok(())
            } else {
                Err(format!("{seen:?}"))
            }
        }
    })
    .await;
    until(
        &client,
        &bases[0],
        &token,
        "/admin/outbox?state=pending",
        "the outbox to drain",
        |b| b["items"].as_array().is_some_and(Vec::is_empty),
    )
    .await;
    assert_eq!(
        subjects(&dirs),
        expected_mail,
        "each mail once, across three dispatchers"
    );

    // Phase 2: SIGKILL one instance mid-stream: no goodbye to its clients or the broker.
    let mut writers = Vec::new();
    for (w, base) in bases[..2].iter().enumerate() {
        writers.push(tokio::spawn(write_alerts(
            client.clone(),
            base.clone(),
            token.clone(),
            format!("k{w}"),
            40,
            false,
        )));
    }
    half.await.unwrap();
    instances[2].child.start_kill().unwrap();
    instances[2].child.wait().await.unwrap();
    let _ = killed.send(());
    for writer in writers {
        writer.await.unwrap();
    }

    // Phase 3: the broker goes away; the stream slows to the log's polling, loses nothing.
    redis.stop();
    let health = until(
        &client,
        &bases[0],
        &token,
        "/health",
        "health to report the broker down",
        |b| b["broker"] == "unreachable",
    )
    .await;
    assert_eq!(
        health["status"], "ok",
        "an unreachable broker is reported, not a failure"
    );
    write_alerts(
        client.clone(),
        bases[1].clone(),
        token.clone(),
        "outage".into(),
        8,
        false,
    )
    .await;
    let mut redis = Redis::start(redis.port);
    until(
        &client,
        &bases[1],
        &token,
        "/health",
        "health to report the broker back",
        |b| b["broker"] == "ok",
    )
    .await;
    write_alerts(
        client.clone(),
        bases[0].clone(),
        token.clone(),
        "after".into(),
        4,
        false,
    )
    .await;
    post(
        &client,
        &bases[1],
        &token,
        "/events",
        json!({"source": "t", "severity": "info", "message": "marker"}),
    )
    .await;

    let mut sequences = Vec::new();
    for client in clients {
        sequences.push(client.await.unwrap());
    }
    sequences.push(wandering.await.unwrap());
    // Three writers of 12, the incident's two messages, 2 × 40, 8, 4 and the marker.
    let written = 36 + 2 + 80 + 8 + 4 + 1;
    for sequence in &sequences {
        assert_eq!(sequence.len(), written, "every message once");
        assert_eq!(
            ids(sequence),
            ids(&sequences[0]),
            "one sequence on every instance"
        );
    }
    redis.stop();
}
