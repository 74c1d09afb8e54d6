//! The dashboard in headless Chromium, driven over WebDriver: logging in from the page, alerts
//! arriving live, the stream surviving a server restart, and user text staying text.

use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, BinaryServer, binary, free_port, start_binary_at,
};

/// Long enough for a loaded CI machine, short enough that a broken page fails the run soon.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

const SETUP_HINT: &str = "the dashboard test needs Chromium and ChromeDriver: run \
     `source scripts/lib/chromium.sh && setup_chromium` before `cargo test`";

pub(crate) async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    crate::helpers::eventually(what, DEADLINE, POLL, probe).await
}

/// ChromeDriver on a port of its own, with a throwaway Chromium profile; killed on drop.
pub(crate) struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
    /// Emulates a phone 375 CSS pixels wide instead of a desktop window.
    phone: bool,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    pub(crate) fn start() -> Self {
        let chromedriver = std::env::var("ALERTA_TEST_CHROMEDRIVER")
            .unwrap_or_else(|_| panic!("ALERTA_TEST_CHROMEDRIVER is not set: {SETUP_HINT}"));
        let port = free_port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {chromedriver}: {e}; {SETUP_HINT}"));
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().unwrap(),
            phone: false,
        }
    }

    /// As [`Driver::start`], for a browser with the screen of a phone 375 pixels wide.
    pub(crate) fn start_phone() -> Self {
        let mut driver = Self::start();
        driver.phone = true;
        driver
    }

    fn capabilities(&self) -> Capabilities {
        let chromium =
            std::env::var("ALERTA_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = format!("--user-data-dir={}", self.profile.path().display());
        let mut options = json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1200,900", profile,
            ],
        });
        // Chromium keeps windows at least 500 pixels wide, so a phone's screen is emulated;
        // without touch, so that clicks stay clicks.
        if self.phone {
            options["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 375, "height": 812, "pixelRatio": 1, "touch": false },
            });
        }
        let mut capabilities = Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        capabilities
    }

    pub(crate) async fn session(&self) -> Client {
        let addr: SocketAddr = self.url.trim_start_matches("http://").parse().unwrap();
        eventually("chromedriver to listen", || async {
            TcpStream::connect(addr)
                .map(drop)
                .map_err(|e| e.to_string())
        })
        .await;
        ClientBuilder::new(HttpConnector::new())
            .capabilities(self.capabilities())
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("opening a Chromium session: {e}; {SETUP_HINT}"))
    }
}

pub(crate) async fn script(page: &Client, source: &str) -> Value {
    page.execute(source, vec![]).await.unwrap()
}

async fn badge_state(page: &Client) -> String {
    script(
        page,
        "return document.getElementById('badge').dataset.state;",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// The message column of every row of the live table, top (newest) first.
async fn table_messages(page: &Client) -> Vec<String> {
    let rows = script(
        page,
        "return Array.from(document.querySelectorAll('#alerts-body tr'), \
         (row) => row.querySelector('.message').textContent);",
    )
    .await;
    serde_json::from_value(rows).unwrap()
}

pub(crate) async fn wait_for_badge(page: &Client, what: &str, online: bool) {
    eventually(what, || async {
        let state = badge_state(page).await;
        if (state == "online") == online {
            Ok(())
        } else {
            Err(format!("badge state {state:?}"))
        }
    })
    .await;
}

async fn wait_for_row(page: &Client, message: &str) {
    eventually(
        &format!("a row with {message:?} in the live table"),
        || async {
            let messages = table_messages(page).await;
            if messages.iter().any(|m| m == message) {
                Ok(())
            } else {
                Err(format!("rows {messages:?}"))
            }
        },
    )
    .await;
}

async fn send_alert(server: &BinaryServer, source: &str, message: &str) {
    let out = tokio::process::Command::new(binary())
        .args(["send-event", "--tcp-addr", &server.tcp_addr])
        .args([
            "--source",
            source,
            "--severity",
            "critical",
            "--message",
            message,
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "send-event {message:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn terminate(server: &mut BinaryServer) {
    let pid = server.child.id().expect("running");
    let kill = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = server.child.wait().await.unwrap();
    assert!(exit.success(), "SIGTERM ends the server cleanly: {exit:?}");
}

#[tokio::test]
async fn the_dashboard_shows_alerts_live_and_follows_the_server_through_a_restart() {
    let driver = Driver::start();
    let page = driver.session().await;
    // Run the steps on a task of their own so that a failed assertion still ends the browser
    // session below instead of leaving Chromium behind.
    let steps = tokio::spawn(walk_through_the_dashboard(page.clone()));
    let outcome = steps.await;
    let _ = page.close().await;
    drop(driver);
    if let Err(failure) = outcome {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn walk_through_the_dashboard(page: Client) {
    let data_dir = tempfile::tempdir().unwrap();
    let http_addr = format!("127.0.0.1:{}", free_port());
    let tcp_addr = format!("127.0.0.1:{}", free_port());
    let mut server = start_binary_at(data_dir.path(), &http_addr, &tcp_addr, &[]).await;

    page.goto(&format!("{}/", server.base)).await.unwrap();
    page.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css("#login-email"))
        .await
        .unwrap()
        .send_keys(ADMIN_EMAIL)
        .await
        .unwrap();
    page.find(Locator::Css("#login-password"))
        .await
        .unwrap()
        .send_keys(ADMIN_PASSWORD)
        .await
        .unwrap();
    page.find(Locator::Css("#login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_badge(&page, "the stream to connect after logging in", true).await;
    let error = script(
        &page,
        "return document.getElementById('login-error').textContent;",
    )
    .await;
    assert_eq!(error, "", "the login succeeded");
    // A reload would lose this, so seeing it at the end shows every row arrived in place.
    script(&page, "window.alertaSamePage = true; return null;").await;

    let first = "Temperatura alta en el laboratorio 3";
    send_alert(&server, "sensor_01", first).await;
    wait_for_row(&page, first).await;

    let markup = "<img src=x onerror=alert(1)>";
    send_alert(&server, "sensor_02", markup).await;
    wait_for_row(&page, markup).await;
    let images = script(
        &page,
        "return [document.querySelectorAll('#alerts img').length, document.images.length];",
    )
    .await;
    assert_eq!(
        images,
        json!([0, 0]),
        "the message is shown as text, not markup"
    );

    // The alert sent after the restart must reach the page by replay, not by luck of timing:
    // until the test lets go, every connection the page opens goes to a port nobody listens
    // on, so the alert is stored while the page is certainly not subscribed.
    let closed_port = free_port();
    script(
        &page,
        &format!(
            "const Real = WebSocket; window.streamUrls = []; window.holdStream = true; \
             window.WebSocket = function (url, protocols) {{ \
               window.streamUrls.push(String(url)); \
               return new Real(window.holdStream ? 'ws://127.0.0.1:{closed_port}/ws' : url, protocols); \
             }}; return null;"
        ),
    )
    .await;
    // The stream id of the newest message the page received.
    let newest_id = script(
        &page,
        "return document.querySelector('#alerts-body tr').dataset.stream;",
    )
    .await;
    assert!(
        newest_id.as_str().is_some_and(|id| id.contains(':')),
        "the newest row came by the stream: {newest_id}"
    );

    terminate(&mut server).await;
    wait_for_badge(
        &page,
        "the badge to leave \"online\" once the server stops",
        false,
    )
    .await;

    server = start_binary_at(data_dir.path(), &http_addr, &tcp_addr, &[]).await;
    let after = "Humo en la cafetería tras el reinicio";
    send_alert(&server, "sensor_03", after).await;
    assert!(
        !table_messages(&page).await.iter().any(|m| m == after),
        "the page is held off the stream, so it cannot have the alert yet"
    );
    script(&page, "window.holdStream = false; return null;").await;
    wait_for_row(&page, after).await;
    wait_for_badge(&page, "the stream to reconnect after the restart", true).await;
    let since = script(
        &page,
        "return new URL(window.streamUrls.at(-1)).searchParams.get('since');",
    )
    .await;
    assert_eq!(
        since, newest_id,
        "the page resumes after the newest message it had"
    );

    assert_eq!(
        table_messages(&page).await,
        [after, markup, first],
        "each alert once, newest first"
    );
    assert_eq!(
        script(&page, "return window.alertaSamePage === true;").await,
        json!(true),
        "the page was never reloaded"
    );
    terminate(&mut server).await;
}

/// The string keys the app's pages and scripts name literally: `t("key")` and the
/// `data-i18n*` attributes. Keys built at run time (`t("estado." + value)`) are left out.
fn keys_named_in(source: &str) -> Vec<String> {
    const MARKERS: [&str; 4] = [
        "t(\"",
        "data-i18n=\"",
        "data-i18n-placeholder=\"",
        "data-i18n-label=\"",
    ];
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut keys = Vec::new();
    for marker in MARKERS {
        for (at, _) in source.match_indices(marker) {
            let after_name = source[..at].chars().next_back().is_some_and(is_name);
            let rest = &source[at + marker.len()..];
            let key: String = rest.chars().take_while(|&c| is_name(c)).collect();
            let closed = rest[key.len()..].starts_with('"');
            if !after_name && closed && !key.is_empty() && !key.ends_with('.') {
                keys.push(key);
            }
        }
    }
    keys
}

#[test]
fn every_string_the_app_names_is_in_both_languages() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/dashboard");
    let table = |language: &str| -> std::collections::BTreeMap<String, String> {
        let path = dir.join(format!("i18n/{language}.json"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let (spanish, english) = (table("es"), table("en"));
    let only_spanish: Vec<_> = spanish
        .keys()
        .filter(|k| !english.contains_key(*k))
        .collect();
    let only_english: Vec<_> = english
        .keys()
        .filter(|k| !spanish.contains_key(*k))
        .collect();
    assert!(only_spanish.is_empty(), "not in English: {only_spanish:?}");
    assert!(only_english.is_empty(), "not in Spanish: {only_english:?}");

    let mut named = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("js" | "html")
        ) {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for key in keys_named_in(&source) {
            assert!(
                spanish.contains_key(&key),
                "{} names `{key}`, which no table has",
                path.display()
            );
            named += 1;
        }
    }
    assert!(
        named > 100,
        "only {named} keys found: the scan no longer reads the pages"
    );
}
