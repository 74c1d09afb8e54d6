//! Acknowledging an alert from the link in its mail, against a running server that writes
//! its mail as `.eml` files.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, eventually, spawn_app_with};

/// The text of every `.eml` file the server wrote, undoing quoted-printable's soft line
/// breaks and `=3D`.
fn mails(data_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("mail")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .replace("=\r\n", "")
                .replace("=\n", "")
                .replace("=3D", "=")
        })
        .collect()
}

/// The acknowledgement link in the mail about `source`, once the server has written it.
async fn link_in_mail(app: &TestApp, source: &str) -> String {
    let subject = format!("Subject: [CRITICAL] Alerta: {source}");
    let mail = eventually(
        "the alert's mail",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || async {
            mails(app.data_dir())
                .into_iter()
                .find(|m| m.contains(&subject))
                .ok_or_else(|| format!("no mail with {subject}"))
        },
    )
    .await;
    let start = mail.find("http://").expect("a link in the mail");
    let link: String = mail[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    assert!(
        link.starts_with(&format!("{}/events/ack/", app.base)),
        "{link}"
    );
    link
}

async fn status_of(app: &TestApp, token: &str, id: &str) -> String {
    let (status, alert) = app.get(token, &format!("/events/{id}")).await;
    assert_eq!(status, 200);
    alert["status"].as_str().unwrap().to_owned()
}

async fn fire(app: &TestApp, token: &str, source: &str) -> String {
    let (status, reply) = app
        .post(
            token,
            "/events",
            json!({"source": source, "severity": "critical", "message": "Batería baja"}),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    reply["id"].as_str().unwrap().to_owned()
}

async fn page(app: &TestApp, method: reqwest::Method, link: &str) -> (u16, String) {
    let reply = app.client.request(method, link).send().await.unwrap();
    let status = reply.status().as_u16();
    let kind = reply.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/html"), "{kind}");
    (status, reply.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_in_an_alert_mail_acknowledges_it_once_and_only_when_posted() {
    let app = spawn_app_with(|config| config.alert_emails = vec!["ops@campus.edu".into()]).await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let id = fire(&app, &token, "ups_3").await;
    let link = link_in_mail(&app, "ups_3").await;
    assert!(link.contains(&id), "the link names the alert: {link}");

    // A mail scanner, or a person, opening the link changes nothing.
    for _ in 0..2 {
        let (status, html) = page(&app, reqwest::Method::GET, &link).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("<form method=\"post\">"), "{html}");
        assert!(html.contains("ups_3"), "{html}");
    }
    assert_eq!(status_of(&app, &token, &id).await, "firing");

    let (status, html) = page(&app, reqwest::Method::POST, &link).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Alert acknowledged"), "{html}");
    assert_eq!(status_of(&app, &token, &id).await, "acknowledged");
    let (_, history) = app.get(&token, &format!("/events/{id}/history")).await;
    assert_eq!(history["items"][0]["actor"], "mail-link");
    assert_eq!(history["items"][0]["to"], "acknowledged");

    // Once only.
    for method in [reqwest::Method::POST, reqwest::Method::GET] {
        let (status, html) = page(&app, method, &link).await;
        assert_eq!(status, 410, "{html}");
        assert!(html.contains("already used"), "{html}");
    }
    let (_, history) = app.get(&token, &format!("/events/{id}/history")).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_link_is_refused_and_changes_nothing() {
    let app = spawn_app_with(|config| config.alert_emails = vec!["ops@campus.edu".into()]).await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let id = fire(&app, &token, "ups_4").await;
    let link = link_in_mail(&app, "ups_4").await;
    let (rest, signature) = link.rsplit_once('.').unwrap();
    let (head, expiry) = rest.rsplit_once('.').unwrap();
    let later = expiry.parse::<i64>().unwrap() + 86_400;
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    for tampered in [
        format!("{rest}.{flipped}{}", &signature[1..]),
        format!("{head}.{later}.{signature}"),
        format!("{}/events/ack/{}", app.base, "not-a-token"),
    ] {
        for method in [reqwest::Method::GET, reqwest::Method::POST] {
            let (status, html) = page(&app, method, &tampered).await;
            assert_eq!(status, 400, "{tampered}: {html}");
            assert!(html.contains("not a valid"), "{html}");
        }
    }
    assert_eq!(status_of(&app, &token, &id).await, "firing");
    // The true link still works: the refusals spent nothing.
    let (status, _) = page(&app, reqwest::Method::POST, &link).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&app, &token, &id).await, "acknowledged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_uses_at_once_exactly_one_acknowledges() {
    let app = spawn_app_with(|config| config.alert_emails = vec!["ops@campus.edu".into()]).await;
    let token = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let id = fire(&app, &token, "ups_5").await;
    let link = link_in_mail(&app, "ups_5").await;
    let uses = (0..16).map(|_| page(&app, reqwest::Method::POST, &link));
    let mut statuses: Vec<u16> = futures_util::future::join_all(uses)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses[0], 200);
    assert!(statuses[1..].iter().all(|s| *s == 410), "{statuses:?}");
    let (_, history) = app.get(&token, &format!("/events/{id}/history")).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 1, "{history}");
}
