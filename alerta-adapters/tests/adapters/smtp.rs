//! The SMTP and `.eml` mailers, against a real SMTP server on loopback sockets.
//!
//! The server is aiosmtpd running `scripts/smtp_sink.py`, which each test starts on a port of
//! its own and which writes every accepted message into a spool directory before it answers
//! 250. Prepare it once with `source scripts/lib/smtp.sh && setup_smtp`; without it these
//! tests fail, saying so.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use alerta_adapters::memory::MemoryStore;
use alerta_adapters::smtp::{EmlFileMailer, SmtpMailer, SmtpOptions};
use alerta_core::conformance::Fixtures;
use alerta_core::dispatch::{DispatchReport, Dispatcher, RetryPolicy};
use alerta_core::domain::{
    AlertId, BlobKey, Channel, Department, DepartmentName, Email, MailCause, MailId, MailKind,
    MailMessage, MailState, OutboxMail, PageRequest, Severity, Status, Timestamp, Urgency,
};
use alerta_core::notifications::{alert_mail, assignment_mail, resolved_mail};
use alerta_core::ports::{
    AlertStore, AlertWrite, Clock, MailOutbox, Mailer, ManualClock, SendError, SystemClock,
};
use serde_json::Value;

const SENDER: &str = "alerta@campus.edu";
const T0: Timestamp = Timestamp::from_unix_millis(1_800_000_000_000);

// ---------------------------------------------------------------------------------------
// The server

fn env_path(name: &str) -> PathBuf {
    std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
                "{name} is not set: the SMTP tests need aiosmtpd. Run \
             `source scripts/lib/smtp.sh && setup_smtp` in this shell first."
            )
        })
}

/// How a sink is started.
#[derive(Clone, Default)]
struct SinkConfig {
    /// Offer and require STARTTLS with the test certificate.
    starttls: bool,
    /// TLS from the first byte with the test certificate.
    implicit_tls: bool,
    /// Require AUTH with `user:password`.
    auth: Option<String>,
}

/// A running `smtp_sink.py`; killed when dropped.
struct Sink {
    child: Child,
    spool: PathBuf,
}

impl Sink {
    /// Starts a sink on `port` writing into `spool`, and returns once it accepts connections.
    fn start(port: u16, spool: &Path, config: &SinkConfig) -> Self {
        let python = env_path("ALERTA_TEST_PYTHON");
        let script = env_path("ALERTA_TEST_SMTP_SINK");
        let mut command = Command::new(&python);
        command
            .arg(&script)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--spool",
            ])
            .arg(spool);
        if config.starttls || config.implicit_tls {
            let cert = certificate();
            command.arg("--tls-cert").arg(&cert.cert);
            command.arg("--tls-key").arg(&cert.key);
        }
        if config.implicit_tls {
            command.arg("--implicit-tls");
        }
        if let Some(auth) = &config.auth {
            command.args(["--auth", auth]);
        }
        // The sink stops when its stdin closes, so it dies with this process.
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, announced) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = ready.send(line);
        });
        let mut sink = Self {
            child,
            spool: spool.to_owned(),
        };
        match announced.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with("READY ") => sink,
            other => {
                let status = sink.child.try_wait();
                panic!("the SMTP sink on port {port} did not start: {other:?}, {status:?}")
            }
        }
    }

    /// Every message accepted so far, in the order received.
    fn received(&self) -> Vec<Received> {
        received_in(&self.spool)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on (right now).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

struct TestCertificate {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

/// One certificate for the whole run: an end-entity certificate for localhost and
/// 127.0.0.1 (rustls refuses one marked as a CA), trusted by the mailer through its CA file.
fn certificate() -> &'static TestCertificate {
    static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
    CERTIFICATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        let output = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .args(["-addext", "extendedKeyUsage=serverAuth"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl must be installed to make the test certificate");
        assert!(
            output.status.success(),
            "openssl failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        TestCertificate {
            _dir: dir,
            cert,
            key,
        }
    })
}

/// A message as the sink recorded it: parsed by Python's `email` package, plus the raw bytes.
struct Received {
    record: Value,
    raw: String,
}

fn received_in(spool: &Path) -> Vec<Received> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(spool)
        .map(|entries| {
            entries
                .map(|entry| entry.expect("a spool entry").path())
                .filter(|path| path.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .map(|eml| {
            let record =
                std::fs::read(eml.with_extension("json")).expect("the record of a message");
            Received {
                record: serde_json::from_slice(&record).expect("a JSON record"),
                raw: String::from_utf8(std::fs::read(&eml).expect("a message")).expect("UTF-8"),
            }
        })
        .collect()
}

fn lines(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_owned()
}

impl Received {
    /// The decoded values of every header called `name`.
    fn headers(&self, name: &str) -> Vec<String> {
        self.record["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .filter(|pair| pair[0].as_str().unwrap().eq_ignore_ascii_case(name))
            .map(|pair| pair[1].as_str().unwrap().to_owned())
            .collect()
    }

    /// The one header called `name`.
    fn header(&self, name: &str) -> String {
        let values = self.headers(name);
        assert_eq!(values.len(), 1, "exactly one {name} header in {}", self.raw);
        values.into_iter().next().unwrap()
    }

    fn message_id(&self) -> String {
        self.header("Message-ID")
    }

    /// The client port of the connection that carried it.
    fn peer_port(&self) -> u64 {
        self.record["peer"][1].as_u64().expect("the peer's port")
    }

    /// The content types of the MIME parts, in order.
    fn part_types(&self) -> Vec<String> {
        self.record["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["content_type"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The decoded text of the part of type `content_type`.
    fn part(&self, content_type: &str) -> String {
        let parts = self.record["parts"].as_array().unwrap();
        let part = parts
            .iter()
            .find(|p| p["content_type"] == content_type)
            .unwrap_or_else(|| panic!("no {content_type} part in {}", self.raw));
        lines(part["content"].as_str().unwrap())
    }

    fn envelope_recipients(&self) -> Vec<String> {
        self.record["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    }

    fn over_tls(&self) -> bool {
        self.record["tls"].as_bool().unwrap()
    }

    /// The header block as received, before any parsing.
    fn raw_headers(&self) -> &str {
        self.raw.split("\r\n\r\n").next().unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// The mail

fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

fn options() -> SmtpOptions {
    SmtpOptions {
        from: Some(email(SENDER)),
        connect_timeout: Duration::from_secs(5),
        send_timeout: Duration::from_secs(20),
        ca_file: None,
        max_connections: 1,
    }
}

fn trusting_the_test_certificate() -> SmtpOptions {
    SmtpOptions {
        ca_file: Some(certificate().cert.clone()),
        ..options()
    }
}

fn mailer(url: &str, options: SmtpOptions) -> SmtpMailer {
    SmtpMailer::from_url(url, options).unwrap_or_else(|e| panic!("{url}: {e}"))
}

fn row(f: &Fixtures, message: MailMessage) -> OutboxMail {
    let cause = MailCause::alert(MailKind::Alert, &AlertId::parse(&f.id()).unwrap());
    OutboxMail::new(MailId::parse(&f.id()).unwrap(), cause, message, f.tick())
}

fn critical_alert(f: &Fixtures, message: &str, to: &str) -> OutboxMail {
    let alert = f.alert("sensor_01", Severity::Critical, Channel::Tcp, message);
    row(f, alert_mail(&alert, vec![email(to)], None))
}

/// Checks what every kind of mail shares, and returns the received message of `mail`.
fn assert_arrived_as_written<'a>(received: &'a [Received], mail: &OutboxMail) -> &'a Received {
    let got = received
        .iter()
        .find(|r| r.headers("Message-ID") == [mail.message_id.clone()])
        .unwrap_or_else(|| panic!("{} did not arrive", mail.message_id));
    assert_eq!(got.header("Subject"), mail.message.subject.as_str());
    assert_eq!(got.header("From"), format!("Alerta <{SENDER}>"));
    let to: Vec<String> = mail.message.to.iter().map(Email::to_string).collect();
    assert_eq!(got.header("To"), to.join(", "));
    assert_eq!(got.envelope_recipients(), to);
    assert_eq!(got.record["mail_from"], SENDER);
    assert_eq!(got.record["content_type"], "multipart/alternative");
    assert_eq!(got.part_types(), ["text/plain", "text/html"], "plain first");
    assert_eq!(got.part("text/plain"), lines(&mail.message.text));
    assert_eq!(got.part("text/html"), lines(&mail.message.html));
    assert!(got.headers("Date").len() == 1 && got.headers("MIME-Version") == ["1.0"]);
    got
}

// ---------------------------------------------------------------------------------------
// Content and headers

#[tokio::test]
async fn each_kind_of_mail_arrives_with_its_subject_headers_and_both_parts() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}?tls=none"), options());
    let f = Fixtures::new();

    let alert = critical_alert(&f, "temperatura 92 °C", "ops@campus.edu");
    let reporter = f.user();
    let incident = f.incident(&reporter, "infraestructura", Urgency::High, "Fuga de agua");
    let department = Department {
        name: DepartmentName::parse("Mantenimiento").unwrap(),
        email: email("mantenimiento@campus.edu"),
    };
    let mut history = f.creation(&incident).events;
    history.extend(f.assign(&incident, "Mantenimiento").events);
    let report = BlobKey::assignment_report(&department.name, incident.id());
    let assignment = row(
        &f,
        assignment_mail(&incident, &history, &department, &report),
    );
    let resolved_incident = f.move_to(&incident, Status::Resolved).incident;
    let resolved = row(
        &f,
        resolved_mail(&resolved_incident, email("estudiante@campus.edu")),
    );

    for mail in [&alert, &assignment, &resolved] {
        mailer.send(mail).await.expect("sent");
    }

    let received = sink.received();
    assert_eq!(received.len(), 3);
    let got = assert_arrived_as_written(&received, &alert);
    assert_eq!(got.header("Subject"), "[CRITICAL] Alerta: sensor_01");
    assert!(!got.over_tls(), "tls=none was written");
    assert!(got.part("text/plain").contains("temperatura 92 °C"));

    let got = assert_arrived_as_written(&received, &assignment);
    assert_eq!(
        got.header("Subject"),
        format!(
            "Alerta: incidente {} asignado a Mantenimiento",
            incident.id()
        )
    );
    assert!(
        got.part("text/html").contains(report.as_str()),
        "the report's key"
    );
    assert!(got.part("text/plain").contains("asignacion: Mantenimiento"));

    let got = assert_arrived_as_written(&received, &resolved);
    assert_eq!(
        got.header("Subject"),
        format!("Alerta: tu incidente {} está resuelto", incident.id()),
        "a non-ASCII subject survives its encoding"
    );
    assert_eq!(got.header("To"), "estudiante@campus.edu");
}

#[tokio::test]
async fn line_breaks_in_user_values_add_no_header() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}?tls=none"), options());
    let f = Fixtures::new();

    // Through the core: the message may hold line breaks, the source may not.
    let from_core = critical_alert(&f, "caída\r\nBcc: x@y.org\r\n\r\nfin", "ops@campus.edu");
    // A row read back from a store bypasses `Subject::sanitize`: the mailer must hold anyway.
    let mut from_store = critical_alert(&f, "otro", "ops@campus.edu");
    from_store.message.subject =
        serde_json::from_str(r#""[CRITICAL] Alerta: a\r\nBcc: x@y.org""#).unwrap();
    mailer.send(&from_core).await.expect("sent");
    mailer.send(&from_store).await.expect("sent");

    let received = sink.received();
    assert_eq!(received.len(), 2);
    for got in &received {
        assert!(got.headers("Bcc").is_empty(), "{}", got.raw);
        assert!(got.headers("Cc").is_empty(), "{}", got.raw);
        assert_eq!(got.header("To"), "ops@campus.edu");
        assert_eq!(got.envelope_recipients(), ["ops@campus.edu"]);
        let header_names = got
            .raw_headers()
            .lines()
            .filter(|line| !line.starts_with([' ', '\t']))
            .map(|line| line.split(':').next().unwrap().to_ascii_lowercase());
        let names: Vec<String> = header_names.collect();
        assert!(!names.iter().any(|n| n == "bcc"), "{names:?}");
        assert_eq!(names.iter().filter(|n| *n == "to").count(), 1, "{names:?}");
    }
    let got = received
        .iter()
        .find(|r| r.message_id() == from_core.message_id)
        .unwrap();
    assert!(
        got.part("text/plain").contains("Bcc: x@y.org"),
        "kept as body text"
    );
    let got = received
        .iter()
        .find(|r| r.message_id() == from_store.message_id)
        .unwrap();
    assert_eq!(got.header("Subject"), "[CRITICAL] Alerta: a  Bcc: x@y.org");
}

#[tokio::test]
async fn script_arrives_escaped_in_the_html_part() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}?tls=none"), options());
    let f = Fixtures::new();
    let mail = critical_alert(&f, "<script>alert('x')</script>", "ops@campus.edu");
    mailer.send(&mail).await.expect("sent");

    let received = sink.received();
    let got = assert_arrived_as_written(&received, &mail);
    let html = got.part("text/html");
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(
        got.part("text/plain")
            .contains("<script>alert('x')</script>")
    );
}

// ---------------------------------------------------------------------------------------
// TLS and authentication

#[tokio::test]
async fn starttls_with_the_ca_file_trusted_and_a_percent_encoded_password() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = SinkConfig {
        starttls: true,
        auth: Some("alerta:p@ss:w/rd".into()),
        ..SinkConfig::default()
    };
    let sink = Sink::start(port, spool.path(), &config);
    let f = Fixtures::new();

    for host in ["127.0.0.1", "localhost"] {
        let url = format!("smtp://alerta:p%40ss%3Aw%2Frd@{host}:{port}");
        let mailer = mailer(&url, trusting_the_test_certificate());
        assert!(!format!("{mailer:?}").contains("p@ss"), "{mailer:?}");
        let mail = critical_alert(&f, &format!("via {host}"), "ops@campus.edu");
        mailer.send(&mail).await.expect("sent over STARTTLS");
    }

    let received = sink.received();
    assert_eq!(received.len(), 2);
    for got in &received {
        assert!(got.over_tls(), "the session was upgraded with STARTTLS");
        assert_eq!(got.record["authenticated"], true);
        assert_eq!(got.record["login"], "alerta");
    }
}

#[tokio::test]
async fn a_certificate_not_trusted_is_refused_and_nothing_is_sent() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = SinkConfig {
        starttls: true,
        ..SinkConfig::default()
    };
    let sink = Sink::start(port, spool.path(), &config);
    let f = Fixtures::new();
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}"), options());
    let result = mailer
        .send(&critical_alert(&f, "m", "ops@campus.edu"))
        .await;
    match result {
        Err(SendError::Temporary(why)) => assert!(why.contains("UnknownIssuer"), "{why}"),
        other => panic!("expected a temporary TLS failure, got {other:?}"),
    }
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_wrong_password_is_temporary_as_it_is_fixed_by_configuration() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = SinkConfig {
        starttls: true,
        auth: Some("alerta:right".into()),
        ..SinkConfig::default()
    };
    let sink = Sink::start(port, spool.path(), &config);
    let f = Fixtures::new();
    let url = format!("smtp://alerta:wrong@127.0.0.1:{port}");
    let result = mailer(&url, trusting_the_test_certificate())
        .send(&critical_alert(&f, "m", "ops@campus.edu"))
        .await;
    match result {
        Err(SendError::Temporary(why)) => {
            assert!(why.contains("535"), "{why}");
            assert!(!why.contains("wrong"), "{why}");
        }
        other => panic!("expected a temporary failure, got {other:?}"),
    }
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn starttls_is_required_unless_tls_none_is_written() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let f = Fixtures::new();

    let result = mailer(&format!("smtp://127.0.0.1:{port}"), options())
        .send(&critical_alert(&f, "m", "ops@campus.edu"))
        .await;
    assert!(
        matches!(result, Err(SendError::Temporary(_))),
        "a server without STARTTLS is refused: {result:?}"
    );
    assert!(sink.received().is_empty(), "nothing went in the clear");

    let mail = critical_alert(&f, "m", "ops@campus.edu");
    mailer(&format!("smtp://127.0.0.1:{port}?tls=none"), options())
        .send(&mail)
        .await
        .expect("sent in the clear, as written");
    let received = sink.received();
    assert!(!assert_arrived_as_written(&received, &mail).over_tls());
}

#[tokio::test]
async fn smtps_uses_tls_from_the_first_byte() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = SinkConfig {
        implicit_tls: true,
        ..SinkConfig::default()
    };
    let sink = Sink::start(port, spool.path(), &config);
    let f = Fixtures::new();
    let mail = critical_alert(&f, "m", "ops@campus.edu");
    mailer(
        &format!("smtps://127.0.0.1:{port}"),
        trusting_the_test_certificate(),
    )
    .send(&mail)
    .await
    .expect("sent over implicit TLS");
    let received = sink.received();
    assert!(assert_arrived_as_written(&received, &mail).over_tls());
}

// ---------------------------------------------------------------------------------------
// With the dispatcher

struct Delivery {
    store: Arc<MemoryStore>,
    clock: Arc<ManualClock>,
    dispatcher: Dispatcher,
    fixtures: Fixtures,
}

impl Delivery {
    fn new(port: u16, policy: RetryPolicy) -> Self {
        let store = Arc::new(MemoryStore::new());
        let clock = Arc::new(ManualClock::new(T0));
        let mailer = mailer(&format!("smtp://127.0.0.1:{port}?tls=none"), options());
        let dispatcher = Dispatcher::new(
            store.clone(),
            store.clone(),
            Arc::new(mailer),
            clock.clone(),
            policy,
        );
        Self {
            store,
            clock,
            dispatcher,
            fixtures: Fixtures::new(),
        }
    }

    /// Stores alerts with their mail in one atomic step, as the service does.
    async fn alerts_to(&self, recipients: &[&str]) -> Vec<OutboxMail> {
        let now = self.clock.now();
        let mut rows = Vec::new();
        for (n, to) in recipients.iter().enumerate() {
            let alert = self.fixtures.alert(
                &format!("sensor_{n:02}"),
                Severity::Critical,
                Channel::Tcp,
                // A message of its own, so that each alert is a group of its own and mailed.
                &format!("caída {}", self.fixtures.id()),
            );
            let mail = OutboxMail::new(
                MailId::parse(&self.fixtures.id()).unwrap(),
                MailCause::alert(MailKind::Alert, &alert.id),
                alert_mail(&alert, vec![email(to)], None),
                now,
            );
            self.store
                .insert(vec![AlertWrite {
                    alert,
                    mails: vec![mail.clone()],
                }])
                .await
                .expect("insert");
            rows.push(mail);
        }
        rows
    }

    async fn row(&self, id: &MailId) -> OutboxMail {
        self.store.mail(id).await.unwrap().expect("the row")
    }

    async fn in_state(&self, state: MailState) -> Vec<OutboxMail> {
        self.store
            .mails(Some(state), &PageRequest::first(100).unwrap())
            .await
            .unwrap()
            .items
    }
}

#[tokio::test]
async fn with_the_server_down_for_a_while_every_mail_arrives_exactly_once() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let d = Delivery::new(
        port,
        RetryPolicy {
            batch_size: 4,
            ..RetryPolicy::default()
        },
    );
    let recipients: Vec<String> = (0..6).map(|i| format!("ops{i}@campus.edu")).collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let rows = d.alerts_to(&recipients).await;

    // Up: the first batch goes.
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let report = d.dispatcher.run_once().await.unwrap();
    assert_eq!((report.claimed, report.sent), (4, 4));

    // Down: the rest wait for the server, which is not counted as an attempt.
    drop(sink);
    let report = d.dispatcher.run_once().await.unwrap();
    assert_eq!((report.claimed, report.retried), (2, 2), "{report:?}");
    for row in &rows[4..] {
        let stored = d.row(&row.id).await;
        assert_eq!((stored.state, stored.attempts), (MailState::Pending, 0));
        assert!(stored.next_attempt_at > d.clock.now());
        let error = stored.last_error.unwrap();
        assert!(error.starts_with("mail server unreachable"), "{error}");
    }
    assert_eq!(
        d.dispatcher.run_once().await.unwrap().claimed,
        0,
        "not due yet"
    );

    // Up again on the same port, and later: the rest goes, once.
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    d.clock.advance(RetryPolicy::default().base_delay);
    let report = d.dispatcher.run_once().await.unwrap();
    assert_eq!((report.claimed, report.sent), (2, 2), "{report:?}");
    d.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(
        d.dispatcher.run_once().await.unwrap(),
        DispatchReport::default()
    );

    let received = sink.received();
    let got: Vec<String> = received.iter().map(Received::message_id).collect();
    let want: HashSet<String> = rows.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(got.len(), rows.len(), "one message per row: {got:?}");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), want);
    assert_eq!(d.in_state(MailState::Sent).await.len(), rows.len());
}

/// Waits until `done` holds, checking every 50 ms, and fails after `deadline`.
async fn wait_until(deadline: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_queued_while_the_server_was_away_arrives_once_within_30_s_of_its_return() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let store = Arc::new(MemoryStore::new());
    let fixtures = Fixtures::new();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Two dispatchers, as two instances would run, with the default policy.
    let dispatchers: Vec<_> = (0..2)
        .map(|_| {
            let mailer = mailer(&format!("smtp://127.0.0.1:{port}?tls=none"), options());
            let dispatcher = Dispatcher::new(
                store.clone(),
                store.clone(),
                Arc::new(mailer),
                clock.clone(),
                RetryPolicy::default(),
            );
            tokio::spawn(async move {
                dispatcher
                    .run(Duration::from_millis(200), tokio::time::sleep)
                    .await
            })
        })
        .collect();
    let queue = |count: usize| {
        let rows: Vec<OutboxMail> = (0..count)
            .map(|_| {
                let alert = fixtures.alert("sensor", Severity::Critical, Channel::Tcp, "caída");
                OutboxMail::new(
                    MailId::parse(&fixtures.id()).unwrap(),
                    MailCause::alert(MailKind::Alert, &alert.id),
                    alert_mail(&alert, vec![email("ops@campus.edu")], None),
                    clock.now(),
                )
            })
            .collect();
        let store = store.clone();
        let alert = fixtures.alert("carrier", Severity::Critical, Channel::Tcp, &fixtures.id());
        async move {
            store
                .insert(vec![AlertWrite {
                    alert,
                    mails: rows.clone(),
                }])
                .await
                .unwrap();
            rows
        }
    };

    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let mut rows = queue(1).await;
    wait_until(Duration::from_secs(10), "the first mail", || {
        sink.received().len() == 1
    })
    .await;

    // The server goes away; mail queued meanwhile fails and waits for it.
    drop(sink);
    rows.extend(queue(20).await);
    let waiting = |rows: &[OutboxMail]| {
        rows[1..].iter().all(|row| {
            block_on_store(store.mail(&row.id))
                .and_then(|m| m.last_error)
                .is_some_and(|e| e.starts_with("mail server unreachable"))
        })
    };
    wait_until(Duration::from_secs(10), "every queued mail tried", || {
        waiting(&rows)
    })
    .await;

    let back = Instant::now();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    wait_until(
        Duration::from_secs(30),
        "every mail after the server's return",
        || sink.received().len() >= rows.len(),
    )
    .await;
    let took = back.elapsed();
    wait_until(Duration::from_secs(5), "every row marked sent", || {
        rows.iter().all(|row| {
            block_on_store(store.mail(&row.id)).is_some_and(|m| m.state == MailState::Sent)
        })
    })
    .await;
    for dispatcher in dispatchers {
        dispatcher.abort();
    }
    let got: Vec<String> = sink.received().iter().map(Received::message_id).collect();
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(got.len(), rows.len(), "one message per row: {got:?}");
    assert_eq!(unique.len(), rows.len());
    eprintln!("the queued mail arrived {took:?} after the server's return");
}

/// Reads the memory store, which never waits.
fn block_on_store<F: std::future::Future<Output = alerta_core::Result<Option<OutboxMail>>>>(
    read: F,
) -> Option<OutboxMail> {
    let mut read = std::pin::pin!(read);
    match read
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(result) => result.unwrap(),
        std::task::Poll::Pending => panic!("the memory store never waits"),
    }
}

#[tokio::test]
async fn a_4xx_is_retried_later_and_a_5xx_ends_dead() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let policy = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let d = Delivery::new(port, policy.clone());
    let rows = d
        .alerts_to(&[
            "ok@campus.edu",
            "tempfail@campus.edu",
            "permfail@campus.edu",
        ])
        .await;
    let (ok, tempfail, permfail) = (&rows[0], &rows[1], &rows[2]);

    let report = d.dispatcher.run_once().await.unwrap();
    assert_eq!((report.sent, report.retried, report.dead), (1, 1, 1));

    let dead = d.in_state(MailState::Dead).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, permfail.id);
    let error = dead[0].last_error.clone().unwrap();
    assert!(
        error.starts_with("permanent failure") && error.contains("550"),
        "{error}"
    );

    let mut failed_at = d.clock.now();
    for attempt in 1..=2u32 {
        let stored = d.row(&tempfail.id).await;
        assert_eq!(
            (stored.state, stored.attempts),
            (MailState::Pending, attempt)
        );
        let error = stored.last_error.unwrap();
        assert!(
            error.starts_with("temporary failure") && error.contains("451"),
            "{error}"
        );
        let full = policy.base_delay * 2u32.pow(attempt - 1);
        let wait = stored.next_attempt_at.since(failed_at);
        assert!(wait >= full / 2 && wait <= full, "{wait:?}");

        d.clock.set(stored.next_attempt_at);
        failed_at = stored.next_attempt_at;
        let report = d.dispatcher.run_once().await.unwrap();
        assert_eq!(report.claimed, 1, "the next attempt, when due");
    }
    let stored = d.row(&tempfail.id).await;
    assert_eq!((stored.state, stored.attempts), (MailState::Dead, 3));
    assert!(
        stored
            .last_error
            .unwrap()
            .contains("gave up after 3 attempts"),
        "max attempts reached"
    );

    let received = sink.received();
    assert_eq!(received.len(), 1, "only the good recipient's mail arrived");
    assert_eq!(received[0].message_id(), ok.message_id);
    assert_eq!(d.in_state(MailState::Dead).await.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Files

#[tokio::test]
async fn eml_files_are_named_by_row_so_a_retry_replaces_rather_than_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("mail");
    let mailer = EmlFileMailer::new(&outbox)
        .with_from(&email(SENDER))
        .unwrap();
    let f = Fixtures::new();
    let first = critical_alert(&f, "<b>uno</b>", "ops@campus.edu");
    let second = critical_alert(&f, "dos", "ops@campus.edu");
    mailer.send(&first).await.unwrap();
    mailer.send(&first).await.unwrap();
    mailer.send(&second).await.unwrap();

    let mut names: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [format!("{}.eml", first.id), format!("{}.eml", second.id)]
    );

    let raw = std::fs::read_to_string(mailer.path_of(&first.id)).unwrap();
    let head = raw.split("\r\n\r\n").next().unwrap();
    assert!(
        head.contains(&format!("Message-ID: {}\r\n", first.message_id)),
        "{head}"
    );
    assert!(
        head.contains("Subject: [CRITICAL] Alerta: sensor_01\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("From: Alerta <{SENDER}>\r\n")),
        "{head}"
    );
    assert!(head.contains("To: ops@campus.edu\r\n"), "{head}");
    assert!(
        head.contains("Content-Type: multipart/alternative;"),
        "{head}"
    );
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/html; charset=utf-8"),
        "{raw}"
    );
}

#[tokio::test]
async fn a_mail_whose_stored_message_id_could_break_headers_is_dead_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mailer = EmlFileMailer::new(dir.path());
    let f = Fixtures::new();
    let mut mail = critical_alert(&f, "m", "ops@campus.edu");
    mail.message_id = "<x@y>\r\nBcc: x@y.org".into();
    assert!(matches!(
        mailer.send(&mail).await,
        Err(SendError::Permanent(_))
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------
// Many mails at once

/// Runs passes until one finds nothing due, and returns what they did together.
async fn drain(dispatcher: &Dispatcher) -> DispatchReport {
    let mut total = DispatchReport::default();
    loop {
        let report = dispatcher.run_once().await.expect("a pass");
        if report.claimed == 0 {
            return total;
        }
        total.claimed += report.claimed;
        total.sent += report.sent;
        total.retried += report.retried;
        total.dead += report.dead;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_mails_sent_at_once_arrive_once_each_over_a_few_open_connections() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(T0));
    let mailer = mailer(
        &format!("smtp://127.0.0.1:{port}?tls=none"),
        SmtpOptions {
            max_connections: 6,
            ..options()
        },
    );
    let dispatcher = Dispatcher::new(
        store.clone(),
        store.clone(),
        Arc::new(mailer),
        clock.clone(),
        RetryPolicy {
            concurrency: 6,
            batch_size: 25,
            ..RetryPolicy::default()
        },
    );
    let d = Delivery {
        store,
        clock,
        dispatcher,
        fixtures: Fixtures::new(),
    };
    let recipients: Vec<String> = (0..80).map(|i| format!("ops{i}@campus.edu")).collect();
    let recipients: Vec<&str> = recipients.iter().map(String::as_str).collect();
    let rows = d.alerts_to(&recipients).await;

    let report = drain(&d.dispatcher).await;
    assert_eq!((report.claimed, report.sent), (80, 80), "{report:?}");

    let received = sink.received();
    let got: Vec<String> = received.iter().map(Received::message_id).collect();
    let want: HashSet<String> = rows.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(got.len(), rows.len(), "one message per row");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), want);
    let connections: HashSet<u64> = received.iter().map(Received::peer_port).collect();
    assert!(
        connections.len() <= 6,
        "80 mails over at most 6 connections, not one each: {}",
        connections.len()
    );
    for row in &rows {
        let stored = d.row(&row.id).await;
        assert_eq!(
            (stored.state, stored.attempts, stored.lease_until),
            (MailState::Sent, 1, None)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_closed_while_idle_is_replaced_and_nothing_is_lost() {
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let d = Delivery::new(port, RetryPolicy::default());
    let first = d.alerts_to(&["ops1@campus.edu"]).await;
    assert_eq!(d.dispatcher.run_once().await.unwrap().sent, 1);
    // The pooled connection dies with the server; the next send must not fail on it.
    drop(sink);
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let second = d.alerts_to(&["ops2@campus.edu"]).await;
    let report = d.dispatcher.run_once().await.unwrap();
    assert_eq!((report.sent, report.retried), (1, 0), "{report:?}");
    let got: Vec<String> = sink.received().iter().map(Received::message_id).collect();
    assert_eq!(
        got,
        vec![first[0].message_id.clone(), second[0].message_id.clone()]
    );
}

/// Two processes sharing one SQLite file, each with its own pool, dispatcher and
/// connections, race to empty the outbox: every row reaches the server once.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_on_one_sqlite_file_send_each_row_once() {
    use alerta_adapters::sqlite::SqliteStore;

    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let sink = Sink::start(port, spool.path(), &SinkConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerta.db");
    let first = Arc::new(SqliteStore::open(&path).await.expect("open"));
    let second = Arc::new(SqliteStore::open(&path).await.expect("open again"));

    let f = Fixtures::new();
    let now = SystemClock.now();
    let mut rows = Vec::new();
    for n in 0..60 {
        let alert = f.alert(
            &format!("sensor_{n:02}"),
            Severity::Critical,
            Channel::Tcp,
            &format!("caída {}", f.id()),
        );
        let mail = OutboxMail::new(
            MailId::parse(&f.id()).unwrap(),
            MailCause::alert(MailKind::Alert, &alert.id),
            alert_mail(&alert, vec![email(&format!("ops{n}@campus.edu"))], None),
            now,
        );
        rows.push(mail.clone());
        first
            .insert(vec![AlertWrite {
                alert,
                mails: vec![mail],
            }])
            .await
            .expect("insert");
    }

    let dispatcher = |store: Arc<SqliteStore>| {
        Dispatcher::new(
            store.clone(),
            store,
            Arc::new(mailer(
                &format!("smtp://127.0.0.1:{port}?tls=none"),
                SmtpOptions {
                    max_connections: 4,
                    ..options()
                },
            )),
            Arc::new(SystemClock),
            RetryPolicy {
                concurrency: 4,
                batch_size: 8,
                ..RetryPolicy::default()
            },
        )
    };
    let (a, b) = (dispatcher(first.clone()), dispatcher(second.clone()));
    let (a, b) = tokio::join!(drain(&a), drain(&b));
    assert_eq!(a.sent + b.sent, 60, "{a:?} {b:?}");
    assert!(
        a.claimed > 0 && b.claimed > 0,
        "both took part: {a:?} {b:?}"
    );

    let got: Vec<String> = sink.received().iter().map(Received::message_id).collect();
    let unique: HashSet<&String> = got.iter().collect();
    assert_eq!(got.len(), 60, "each row once");
    assert_eq!(unique.len(), 60);
    for row in &rows {
        let stored = second.mail(&row.id).await.unwrap().expect("the row");
        assert_eq!((stored.state, stored.attempts), (MailState::Sent, 1));
    }
}
