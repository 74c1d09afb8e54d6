//! `GET /metrics`, scraped and read with a Prometheus text parser as Prometheus would.

use std::collections::BTreeMap;
use std::time::Duration;

use alerta_bin::Secret;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, eventually, free_port, spawn_app_with};

const TOKEN: &str = "scrape-secret";

/// Scrapes `url` with `token` and parses the body.
async fn scrape(app: &TestApp, url: &str, token: Option<&str>) -> prometheus_parse::Scrape {
    let mut request = app.client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let reply = request.send().await.unwrap();
    assert_eq!(reply.status(), 200);
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let body = reply.text().await.unwrap();
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format")
}

/// The value of the sample `name` whose labels include `labels`, if there is one.
pub(crate) fn value(
    scrape: &prometheus_parse::Scrape,
    name: &str,
    labels: &[(&str, &str)],
) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name} is not a single number: {other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_ingestion_and_stream_clients_are_counted() {
    let app = spawn_app_with(|config| {
        config.metrics_token = Some(Secret::new(TOKEN));
        config.instance = Some("test-instance".into());
    })
    .await;
    let url = app.url("/metrics");
    let refused = app.client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let refused = app
        .client
        .get(&url)
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let route = [
        ("route", "/incidents/:id"),
        ("method", "GET"),
        ("status", "404"),
    ];
    let before = value(
        &scrape(&app, &url, Some(TOKEN)).await,
        "alerta_http_requests_total",
        &route,
    )
    .unwrap_or(0.0);
    for n in 0..3 {
        let (status, _) = app
            .get(&admin, &format!("/incidents/01JD2Z9R1K7Q3C6ZP0S8T4W5X{n}"))
            .await;
        assert_eq!(status, 404);
    }

    // Where the stream stands before the alerts, for a client that resumes from there.
    let (status, listed) = app.get(&admin, "/events").await;
    assert_eq!(status, 200);
    let before_alerts = listed["stream"].as_str().expect("a stream id").to_owned();
    let ingested = |scraped: &prometheus_parse::Scrape, channel: &str| {
        value(
            scraped,
            "alerta_alerts_ingested_total",
            &[("channel", channel), ("severity", "info")],
        )
        .unwrap_or(0.0)
    };
    let first = scrape(&app, &url, Some(TOKEN)).await;
    let (tcp_before, http_before) = (ingested(&first, "tcp"), ingested(&first, "http"));

    // Alerts over TCP, through the group commit.
    let stream = TcpStream::connect(app._running.tcp_addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut replies = BufReader::new(read).lines();
    for n in 0..5 {
        let line = json!({"source": "metrics", "severity": "info", "message": format!("m{n}")});
        write
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let reply = replies.next_line().await.unwrap().expect("a reply");
        assert!(reply.contains("\"ok\":true"), "{reply}");
    }

    // Alerts over HTTP go through the same group commit.
    let posts = (0..3).map(|n| {
        let line = json!({"source": "metrics", "severity": "info", "message": format!("h{n}")});
        let (app, admin) = (&app, &admin);
        async move { app.post(admin, "/events", line).await.0 }
    });
    for status in futures_util::future::join_all(posts).await {
        assert_eq!(status, 201);
    }

    // Two live stream clients, and one that resumes from before the alerts.
    let ws = app.base.replacen("http://", "ws://", 1);
    let mut clients = Vec::new();
    for since in ["", &format!("&since={before_alerts}")] {
        let (socket, _) = tokio_tungstenite::connect_async(format!("{ws}/ws?token={admin}{since}"))
            .await
            .unwrap();
        clients.push(socket);
    }
    let scraped = eventually(
        "the stream clients and alerts to be counted",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            let scraped = scrape(&app, &url, Some(TOKEN)).await;
            // Servers of other tests in this process share the recorder, and their samplers
            // set the same series when they are scraped: wait for a scrape of this one alone.
            let clients = value(&scraped, "alerta_stream_clients", &[]);
            let alerts = value(&scraped, "alerta_ingest_alerts_total", &[]);
            let followed = value(&scraped, "alerta_stream_messages_total", &[]);
            let delivered = value(&scraped, "alerta_stream_deliveries_total", &[]);
            match (clients, alerts, followed, delivered) {
                (Some(2.0), Some(8.0), Some(f), Some(d)) if f >= 8.0 && d >= 8.0 => Ok(scraped),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;

    let after = value(&scraped, "alerta_http_requests_total", &route).unwrap();
    assert!(after - before >= 3.0, "{before} then {after}");
    assert_eq!(
        value(&scraped, "alerta_ingest_alerts_total", &[]),
        Some(8.0),
        "five alerts over TCP and three over HTTP"
    );
    assert!(value(&scraped, "alerta_ingest_commits_total", &[]).unwrap() >= 1.0);
    // Servers of other tests in this process add to the same counters: at least these.
    assert!(
        ingested(&scraped, "tcp") - tcp_before >= 5.0,
        "alerts by channel"
    );
    assert!(
        ingested(&scraped, "http") - http_before >= 3.0,
        "alerts by channel"
    );
    assert_eq!(
        value(&scraped, "alerta_stream_resumptions_total", &[]),
        Some(1.0),
        "one client resumed with since="
    );
    for histogram in [
        "alerta_ingest_batch_size",
        "alerta_ingest_commit_duration_seconds",
    ] {
        let found = scraped.samples.iter().find(|s| s.metric == histogram);
        match found.map(|s| &s.value) {
            Some(prometheus_parse::Value::Histogram(buckets)) => {
                assert!(buckets.iter().any(|b| b.count >= 1.0), "{buckets:?}");
            }
            other => panic!("{histogram} is a histogram: {other:?}"),
        }
    }
    assert!(value(&scraped, "alerta_stream_head", &[]).unwrap() >= 8.0);
    assert_eq!(
        value(&scraped, "alerta_stream_stalled_disconnects_total", &[]),
        Some(0.0)
    );
    let timed = scraped.samples.iter().find(|s| {
        s.metric == "alerta_http_request_duration_seconds"
            && s.labels.get("route") == Some("/incidents/:id")
    });
    match timed.map(|s| &s.value) {
        Some(prometheus_parse::Value::Histogram(buckets)) => {
            assert!(buckets.iter().any(|b| b.count >= 3.0), "{buckets:?}");
        }
        other => panic!("a latency histogram per route: {other:?}"),
    }
    assert!(
        scraped
            .samples
            .iter()
            .all(|s| s.labels.get("instance").is_some()),
        "every series names its instance"
    );
    let ids: BTreeMap<_, _> = scraped
        .samples
        .iter()
        .filter(|s| s.metric == "alerta_http_requests_total")
        .map(|s| (s.labels.get("route").unwrap_or_default().to_owned(), ()))
        .collect();
    assert!(
        ids.keys().all(|route| !route.contains("01JD2Z9R")),
        "ids never become labels: {ids:?}"
    );
    drop(clients);
}

#[tokio::test]
async fn a_metrics_address_serves_without_a_token_and_the_api_does_not() {
    let port = free_port();
    let app = spawn_app_with(|config| {
        config.metrics_addr = Some(format!("127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    let scraped = scrape(&app, &format!("http://127.0.0.1:{port}/metrics"), None).await;
    assert!(value(&scraped, "alerta_stream_clients", &[]).is_some());
    let reply = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        reply.status(),
        404,
        "without a token the API address does not serve it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_backlog_and_report_runs_are_reported() {
    let app = spawn_app_with(|config| {
        config.metrics_token = Some(Secret::new(TOKEN));
        config.alert_emails = vec!["ops@campus.edu".into()];
        // Three reminders an hour away: pending rows that stay pending.
        config.escalate_after = Some(Duration::from_secs(3600));
        config.metrics_backlog_every = Duration::from_millis(200);
        config.report_every = Some(Duration::from_millis(500));
    })
    .await;
    let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let alert = json!({"source": "ups_9", "severity": "critical", "message": "sin red"});
    let (status, body) = app.post(&admin, "/events", alert).await;
    assert_eq!(status, 201, "{body}");
    let url = app.url("/metrics");
    let scraped = eventually(
        "the three pending reminders, the sent mail and a report run to be reported",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            let scraped = scrape(&app, &url, Some(TOKEN)).await;
            // Other tests' servers set the same gauges: wait for this one's figures.
            let pending = value(&scraped, "alerta_outbox_rows", &[("state", "pending")]);
            let runs = value(&scraped, "alerta_report_runs_total", &[("outcome", "ok")]);
            // The alert's own mail goes at once (to files, in tests).
            let sent = value(&scraped, "alerta_mail_total", &[("outcome", "sent")]);
            match (pending, runs, sent) {
                (Some(3.0), Some(runs), Some(1.0)) if runs >= 1.0 => Ok(scraped),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert_eq!(
        value(&scraped, "alerta_outbox_rows", &[("state", "dead")]),
        Some(0.0)
    );
    assert_eq!(
        value(&scraped, "alerta_mail_total", &[("outcome", "dead")]),
        Some(0.0)
    );
    let oldest = value(&scraped, "alerta_outbox_oldest_pending_seconds", &[]).unwrap();
    assert!((0.0..60.0).contains(&oldest), "{oldest}");
    assert!(
        scraped
            .samples
            .iter()
            .any(|s| s.metric.starts_with("alerta_report_run_duration_seconds")),
        "report runs are timed"
    );
}
