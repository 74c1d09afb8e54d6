//! Runs the example programs as a reader would and checks what they print.
//!
//! `cargo test` builds a package's examples before it runs its tests, and puts them in
//! `target/<profile>/examples/`, beside the `deps/` directory this test binary is in. Run
//! these through `cargo test -p alerta-examples` (or `--workspace`): with `--test
//! run_examples` alone, cargo builds no examples and the test would run stale ones or none.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Longer than any of these runs takes on a loaded CI machine, short enough that a hang
/// fails the test instead of the CI job.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The path of the built example `name`.
fn example(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run `cargo test -p alerta-examples`, which builds the examples first",
        path.display()
    );
    path
}

/// Runs example `name` with `args` to its end and returns what it printed on standard
/// output, failing the test with its standard error when it does not succeed.
async fn run(name: &str, args: &[&str]) -> String {
    let child = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts");
    let Output {
        status,
        stdout,
        stderr,
    } = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`{name} {}` ran past {RUN_LIMIT:?}", args.join(" ")))
        .expect("the example's output");
    let stdout = String::from_utf8(stdout).expect("UTF-8 output");
    assert!(
        status.success(),
        "`{name} {}` failed with {status}\nstdout:\n{stdout}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

/// Asserts that `output` has a line starting with `start`, and returns that line.
fn line_starting<'a>(output: &'a str, start: &str) -> &'a str {
    output
        .lines()
        .find(|line| line.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?} in:\n{output}"))
}

#[tokio::test]
async fn embed_walks_an_incident_through_its_lifecycle() {
    let output = run("embed", &[]).await;

    assert!(line_starting(&output, "Ana logged in until ").len() > 20);
    assert!(line_starting(&output, "reported ").ends_with(" (pendiente)"));
    line_starting(&output, "now resuelto at version 3");
    let history: Vec<serde_json::Value> = output
        .split("history:\n")
        .nth(1)
        .expect("a history section")
        .lines()
        .take_while(|line| !line.is_empty())
        .map(|line| serde_json::from_str(line.trim()).expect("one JSON event a line"))
        .collect();
    let kinds: Vec<&str> = history
        .iter()
        .map(|event| event["tipo_evento"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["creado", "asignacion", "cambio_estado"]);
    assert_eq!(history[2]["detalle"]["a"], "resuelto");
    line_starting(&output, "  to mantenimiento@campus.edu: Alerta: incidente ");
    line_starting(&output, "  to ana@campus.edu: Alerta: tu incidente ");
    // Three changes, each with a message for staff and one for students.
    line_starting(&output, "stream messages published: 6");
}

/// An `alerta serve` of the local profile in this process, on free ports and a fresh data
/// directory, for the load generator to run against.
struct Server {
    running: alerta_bin::Running,
    _data_dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let data_dir = tempfile::tempdir().expect("a temporary directory");
        let config = alerta_bin::Config {
            http_addr: "127.0.0.1:0".parse().expect("an address"),
            tcp_addr: "127.0.0.1:0".parse().expect("an address"),
            data_dir: data_dir.path().to_path_buf(),
            ..alerta_bin::Config::default()
        };
        let running = alerta_bin::start(config).await.expect("the server starts");
        Self {
            running,
            _data_dir: data_dir,
        }
    }

    fn http(&self) -> String {
        self.running.http_addr.to_string()
    }

    fn tcp(&self) -> String {
        self.running.tcp_addr.to_string()
    }

    async fn stop(self) {
        self.running.shutdown().await.expect("a clean shutdown");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn load_ingest_reports_every_alert_acknowledged() {
    let server = Server::start().await;
    let (http, tcp) = (server.http(), server.tcp());
    let args = ["ingest", "--http", &http, "--tcp", &tcp];
    let output = run(
        "load",
        &[&args[..], &["--connections", "2", "--alerts", "40"]].concat(),
    )
    .await;

    line_starting(&output, "ingest: 2 connections, window 32, 40 alerts");
    let acknowledged = line_starting(&output, "  acknowledged: 40 in ");
    assert!(
        acknowledged.ends_with("/s (0 refused, 0 connections failed)"),
        "{acknowledged}"
    );
    line_starting(&output, "  acknowledgement latency: p50 ");
    server.stop().await;
}

/// A free loopback address: the port is released again at once, for a child to bind.
fn free_address() -> String {
    let listener =
        std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    let address: SocketAddr = listener.local_addr().expect("its address");
    address.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn load_fanout_measures_alerta_beside_its_baseline_server() {
    let server = Server::start().await;
    let (baseline_http, baseline_tcp) = (free_address(), free_address());
    let mut baseline = Command::new(example("load"))
        .args(["baseline-server", "--http", &baseline_http])
        .args(["--tcp", &baseline_tcp])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the baseline server starts");
    let mut lines = BufReader::new(baseline.stderr.take().expect("its stderr")).lines();
    let listening = async {
        while let Some(line) = lines.next_line().await.expect("its stderr") {
            if line.starts_with("baseline server: WebSocket on ") {
                return;
            }
        }
        panic!("the baseline server ended before it listened");
    };
    tokio::time::timeout(RUN_LIMIT, listening)
        .await
        .expect("the baseline server listens");

    let (http, tcp) = (server.http(), server.tcp());
    let output = run(
        "load",
        &[
            "fanout",
            "--http",
            &http,
            "--tcp",
            &tcp,
            "--baseline-http",
            &baseline_http,
            "--baseline-tcp",
            &baseline_tcp,
            "--clients",
            "3",
            "--alerts",
            "20",
            "--rate",
            "0",
            "--pause-s",
            "0",
        ],
    )
    .await;

    for name in ["alerta", "baseline"] {
        let run = output
            .split(&format!("fanout ({name}): "))
            .nth(1)
            .unwrap_or_else(|| panic!("no run of {name} in:\n{output}"));
        assert!(
            run.starts_with("3 clients, 20 alerts at once (20 acknowledged, 0 refused)"),
            "{output}"
        );
        line_starting(run, "  deliveries: 60 of 60 in ");
        line_starting(run, "  loss: 0 deliveries missing at 0 clients");
        line_starting(
            run,
            "  order: 0 ids not above the one before, 0 alerts repeated",
        );
    }
    line_starting(&output, "medians over 1 rounds:");
    line_starting(&output, "  alerta / baseline: deliveries/s ");
    baseline.kill().await.expect("the baseline server stops");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn load_idle_reports_server_memory_per_connection() {
    let server = Server::start().await;
    // The server runs in this process, so this process's memory is the server's.
    let pid = std::process::id().to_string();
    let (http, tcp) = (server.http(), server.tcp());
    let output = run(
        "load",
        &[
            "idle",
            "--http",
            &http,
            "--tcp",
            &tcp,
            "--clients",
            "4",
            "--server-pid",
            &pid,
            "--settle-s",
            "0",
        ],
    )
    .await;

    let report = line_starting(&output, "idle: 4 connections; server VmRSS ");
    assert!(report.ends_with(" KiB per connection"), "{report}");
    server.stop().await;
}
