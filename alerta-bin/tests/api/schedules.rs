//! The report job as users schedule it, copied from where they copy it: the Airflow DAG in
//! `examples/airflow/` and the cron line and systemd unit in the README. Each is run as
//! written, with its paths moved into temporary directories, against the data of a server
//! that has one assignment to report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, binary, spawn_app};

/// The directory of the scheduled job's working files in the snippets.
const SNIPPET_HOME: &str = "/var/lib/alerta";
/// The data directory the snippets give the job.
const SNIPPET_DATA_DIR: &str = "/var/lib/alerta/data";
/// Where the snippets expect the binary installed.
const SNIPPET_BINARY: &str = "/usr/local/bin/alerta";

/// A file of the repository.
fn repository_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// The code block of the README fenced as ```` ```language ````.
fn readme_block(language: &str) -> String {
    let readme = std::fs::read_to_string(repository_file("README.md")).unwrap();
    let fence = format!("```{language}\n");
    let start = readme
        .find(&fence)
        .unwrap_or_else(|| panic!("the README has no {language} block"))
        + fence.len();
    let length = readme[start..].find("```").unwrap();
    readme[start..start + length].to_owned()
}

/// A server with a department and an incident assigned to it, whose report the job owes.
struct Scene {
    app: TestApp,
    incident_id: String,
    /// The scheduled job's working directory, standing in for [`SNIPPET_HOME`].
    home: tempfile::TempDir,
}

impl Scene {
    async fn new() -> Self {
        let app = spawn_app().await;
        let admin = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let department = json!({"nombre": "TI", "email": "ti@campus.edu"});
        let (status, _) = app.post(&admin, "/departments", department).await;
        assert_eq!(status, 201);
        let draft = json!({"tipo": "tecnologia", "descripcion": "Sin red", "ubicacion": "Biblioteca", "urgencia": "alta"});
        let (_, incident) = app.post(&admin, "/incidents", draft).await;
        let incident_id = incident["incident_id"].as_str().unwrap().to_owned();
        let path = format!("/incidents/{incident_id}/department");
        let (status, _) = app.post(&admin, &path, json!({"departamento": "TI"})).await;
        assert_eq!(status, 200);
        Self {
            app,
            incident_id,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// `text` with the snippets' paths replaced by this scene's.
    fn localize(&self, text: &str) -> String {
        let (binary, data_dir) = (binary(), self.app.data_dir());
        text.replace(SNIPPET_BINARY, &binary.to_string_lossy())
            .replace(SNIPPET_DATA_DIR, &data_dir.to_string_lossy())
            .replace(SNIPPET_HOME, &self.home.path().to_string_lossy())
    }

    /// A search path that finds `alerta` first, as installed for the scheduler.
    fn path_with_alerta(&self, rest: &str) -> String {
        let directory = binary().parent().unwrap().to_owned();
        format!("{}:{rest}", directory.display())
    }

    /// A command in the scheduled job's working directory.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.current_dir(self.home.path());
        command
    }

    /// Asserts that `output` is a successful run of the report job that reported this
    /// scene's assignment into the server's data directory.
    fn assert_reported(&self, what: &str, output: &Output) {
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{what} failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("(1 incidents); 1 assignments processed"),
            "{what}: {stdout}"
        );
        let report = self
            .app
            .data_dir()
            .join("blobs/reportes/incidentes/TI")
            .join(format!("incidente_{}.json", self.incident_id));
        assert!(report.exists(), "{what} wrote no report for the assignment");
    }
}

/// The values of `key=` lines in a systemd unit.
fn setting<'a>(unit: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> {
    unit.lines()
        .filter_map(move |line| line.strip_prefix(key)?.strip_prefix('='))
}

/// Parses the DAG with Python's own parser (Airflow need not be installed) and returns its
/// `BashOperator` tasks' `bash_command` and `env`, with the Airflow variable templates
/// rendered as Airflow renders them when the variable is unset: to the default they name.
const READ_DAG: &str = r#"
import ast, json, re, sys
tree = ast.parse(open(sys.argv[1]).read(), sys.argv[1])
def unset_variable(text):
    return re.sub(r"\{\{\s*var\.value\.get\('[^']*',\s*'([^']*)'\)\s*\}\}", r"\1", text)
tasks = []
for node in ast.walk(tree):
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "BashOperator":
        arguments = {k.arg: ast.literal_eval(k.value) for k in node.keywords
                     if k.arg in ("bash_command", "env")}
        arguments["env"] = {k: unset_variable(v) for k, v in arguments.get("env", {}).items()}
        tasks.append(arguments)
print(json.dumps(tasks))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_airflow_dag_parses_and_its_command_reports() {
    let dag = repository_file("examples/airflow/alerta_reports.py");
    let parsed = Command::new("python3")
        .args(["-c", READ_DAG])
        .arg(&dag)
        .output()
        .expect("python3 runs (scripts/test installs it with the test services)");
    assert!(
        parsed.status.success(),
        "{} does not parse:\n{}",
        dag.display(),
        String::from_utf8_lossy(&parsed.stderr)
    );
    let tasks: Vec<Value> = serde_json::from_slice(&parsed.stdout).unwrap();
    let [task] = tasks.as_slice() else {
        panic!("one BashOperator task expected: {tasks:?}");
    };
    let bash_command = task["bash_command"].as_str().unwrap();
    assert_eq!(bash_command, "alerta report run");

    let scene = Scene::new().await;
    let mut command = scene.command("bash");
    // `append_env=True`: the task's variables are added to the worker's environment.
    for (name, value) in task["env"].as_object().unwrap() {
        command.env(name, scene.localize(value.as_str().unwrap()));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let output = command
        .env("PATH", scene.path_with_alerta(&path))
        .args(["-c", bash_command])
        .output()
        .unwrap();
    scene.assert_reported("the DAG's task", &output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_cron_line_reports() {
    let block = readme_block("cron");
    let line = block
        .lines()
        .find(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .expect("a crontab line");
    // Five schedule fields, then the command, which cron hands to `sh -c`.
    let command_line = line
        .splitn(6, ' ')
        .nth(5)
        .expect("a command after the schedule");
    assert!(command_line.contains("alerta report run"), "{command_line}");

    let scene = Scene::new().await;
    // Cron's environment is nearly empty; the job must not rely on the user's.
    let output = scene
        .command("sh")
        .env_clear()
        .env("PATH", scene.path_with_alerta("/usr/bin:/bin"))
        .args(["-c", &scene.localize(command_line)])
        .output()
        .unwrap();
    scene.assert_reported("the cron line", &output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_systemd_timer_starts_a_service_that_reports() {
    let block = readme_block("ini");
    let (service, timer) = block
        .split_once("# /etc/systemd/system/alerta-report.timer")
        .expect("the service, then the timer named after it");
    assert!(service.contains("# /etc/systemd/system/alerta-report.service"));
    assert!(timer.contains("[Timer]") && timer.contains("\nOnCalendar="));
    assert!(timer.contains("WantedBy=timers.target"));

    let scene = Scene::new().await;
    let service = scene.localize(service);
    let exec_start = setting(&service, "ExecStart")
        .next()
        .expect("an ExecStart line");
    let mut words = exec_start.split_whitespace();
    // systemd runs ExecStart without a shell, with only the Environment= variables.
    let mut command = scene.command(words.next().unwrap());
    command.env_clear().args(words);
    for assignment in setting(&service, "Environment") {
        let (name, value) = assignment.split_once('=').expect("NAME=value");
        command.env(name, value);
    }
    let output = command.output().unwrap();
    scene.assert_reported("the systemd service", &output);
}
