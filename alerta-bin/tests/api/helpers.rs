//! Starting servers for tests: in-process with `spawn_app()`, or as the real binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use alerta_bin::{Config, Running, Secret};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The admin every test server is seeded with.
pub const ADMIN_EMAIL: &str = "admin@campus.edu";
/// Their password.
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// A port nobody listens on right now, for a server that has to come back on the same one
/// after a restart.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `probe` every `poll` until it yields a value, failing the test with the last thing
/// it saw once `deadline` has passed.
pub async fn eventually<T, F, Fut>(
    what: &str,
    deadline: Duration,
    poll: Duration,
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let start = std::time::Instant::now();
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) if start.elapsed() > deadline => {
                panic!("waited {deadline:?} for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(poll).await,
        }
    }
}

/// A server running in this process on a fresh data directory.
pub struct TestApp {
    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub base: String,
    /// The running server; dropping it stops the server.
    pub _running: Running,
    /// The data directory, removed when the test ends.
    pub _data_dir: tempfile::TempDir,
    /// A client.
    pub client: reqwest::Client,
}

/// The configuration of a test server on `data_dir`, on free ports.
pub fn test_config(data_dir: &Path) -> Config {
    Config {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        tcp_addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        admin_email: Some(ADMIN_EMAIL.into()),
        admin_password: Some(Secret::new(ADMIN_PASSWORD)),
        ..Config::default()
    }
}

/// Starts a server in-process on port 0 with a fresh data directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server like [`spawn_app`], with `change` made to its configuration.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(data_dir.path());
    change(&mut config);
    let running = alerta_bin::start(config).await.unwrap();
    TestApp {
        base: format!("http://{}", running.http_addr),
        _running: running,
        _data_dir: data_dir,
        client: reqwest::Client::new(),
    }
}

impl TestApp {
    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        self._data_dir.path()
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Logs in and returns the token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let reply = self
            .client
            .post(self.url("/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "login of {email}");
        let body: Value = reply.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// POSTs JSON with a token; returns the status and body.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let reply = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }

    /// GETs with a token; returns the status and body.
    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let reply = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = reply.status().as_u16();
        (status, reply.json().await.unwrap_or(Value::Null))
    }
}

/// The real `alerta` binary, started as a child process.
pub struct BinaryServer {
    /// The child.
    pub child: Child,
    /// The base URL it reported.
    pub base: String,
    /// Where its TCP ingestion listens.
    pub tcp_addr: String,
}

/// Path of the built binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_alerta"))
}

/// Starts `alerta serve` on `data_dir` on free ports and waits for the line that says where it
/// listens.
pub async fn start_binary(data_dir: &Path) -> BinaryServer {
    start_binary_with(data_dir, &[]).await
}

/// As [`start_binary`], with extra environment variables.
pub async fn start_binary_with(data_dir: &Path, env: &[(&str, &str)]) -> BinaryServer {
    start_binary_at(data_dir, "127.0.0.1:0", "127.0.0.1:0", env).await
}

/// As [`start_binary_with`], listening on the given addresses, so that a restart on the same
/// data directory can come back where clients expect it. The flags win over any
/// `ALERTA_HTTP_ADDR`/`ALERTA_TCP_ADDR` in `env`.
pub async fn start_binary_at(
    data_dir: &Path,
    http_addr: &str,
    tcp_addr: &str,
    env: &[(&str, &str)],
) -> BinaryServer {
    let mut command = Command::new(binary());
    command.envs(env.iter().copied());
    let mut child = command
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--http-addr")
        .arg(http_addr)
        .arg("--tcp-addr")
        .arg(tcp_addr)
        .env("ALERTA_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("ALERTA_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("ALERTA_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let field = |line: &str, name: &str| {
        line.split(&format!("{name}="))
            .nth(1)
            .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
    };
    let (addr, tcp_addr) = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let (Some(http), Some(tcp)) = (field(&line, "http_addr"), field(&line, "tcp_addr")) {
                return (http, tcp);
            }
        }
        panic!("alerta exited before it said where it listens");
    })
    .await
    .expect("alerta did not start within a minute");
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    BinaryServer {
        child,
        base: format!("http://{addr}"),
        tcp_addr,
    }
}

/// Open sockets of a process: what connections hold. Files are left out because the
/// store's pool opens database connections lazily, when two queries first overlap.
pub fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the server's descriptors")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// Resident memory of a process, in KiB.
pub fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS")
}

/// A count a long run raises: the environment variable `name` when set, else `default`.
pub fn from_env(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {value:?}")),
        Err(_) => default,
    }
}
