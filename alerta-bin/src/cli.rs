//! The command line.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use alerta_core::domain::{NewUser, Role};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides, Profile};

/// Report, manage and broadcast incidents and alerts.
#[derive(Debug, Parser)]
#[command(name = "alerta", version, about)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; `serve` when not given.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command understands. Each also comes from the environment or the config file.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// A configuration file (default: `alerta.toml` when it exists).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// `local` (SQLite + files) or `aws` (DynamoDB + S3) [env: ALERTA_PROFILE].
    #[arg(long, global = true, value_enum)]
    pub profile: Option<Profile>,
    /// HTTP address [env: ALERTA_HTTP_ADDR] [default: 127.0.0.1:8080].
    #[arg(long, global = true)]
    pub http_addr: Option<SocketAddr>,
    /// TCP ingestion address [env: ALERTA_TCP_ADDR] [default: 127.0.0.1:9000].
    #[arg(long, global = true)]
    pub tcp_addr: Option<SocketAddr>,
    /// Data directory of the local profile [env: ALERTA_DATA_DIR] [default: ./data].
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// The report job.
    #[command(subcommand)]
    Report(ReportCommand),
    /// The mail outbox.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Send alerts to a server's TCP ingestion: one from the flags, or one JSON line per line
    /// of standard input when no `--source` is given.
    SendEvent(SendEventArgs),
    /// The AWS profile's tables and buckets.
    #[command(subcommand)]
    Aws(AwsCommand),
    /// Copy everything the local data directory holds into another profile's storage;
    /// safe to run again, and to rerun after an interruption.
    Migrate(MigrateArgs),
}

/// `alerta migrate`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The profile to copy into: `aws` (the tables and buckets `--profile aws` reads).
    #[arg(long, value_enum)]
    pub to: MigrateTarget,
}

/// Where `alerta migrate` copies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTarget {
    /// DynamoDB tables and S3 buckets.
    Aws,
}

/// `alerta aws ...`
#[derive(Debug, Subcommand)]
pub enum AwsCommand {
    /// Create missing DynamoDB tables (with their indexes and TTL) and S3 buckets; safe to
    /// run again.
    Bootstrap,
}

/// `alerta send-event`
#[derive(Debug, Args)]
pub struct SendEventArgs {
    /// Where the alert came from (1–100 characters).
    #[arg(long)]
    pub source: Option<String>,
    /// `info`, `warning`, `error` or `critical`.
    #[arg(long, default_value = "info")]
    pub severity: String,
    /// What happened (1–4000 characters).
    #[arg(long)]
    pub message: Option<String>,
    /// An ingest key, when the server requires one [env: ALERTA_INGEST_KEY].
    #[arg(long, env = "ALERTA_INGEST_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

/// `alerta outbox ...`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Put a mail (for example a dead one) back in the queue, due at once.
    Retry {
        /// The mail's id, as `GET /admin/outbox` shows it.
        id: String,
    },
}

/// `alerta report ...`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Write the global report and the reports of new assignments, and queue the
    /// departments' mail; exits non-zero on failure.
    Run,
}

/// `alerta user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        /// The user's address.
        #[arg(long)]
        email: String,
        /// `student`, `staff` or `admin`.
        #[arg(long)]
        role: String,
        /// The display name (default: the part of the address before `@`).
        #[arg(long)]
        name: Option<String>,
    },
}

impl GlobalArgs {
    /// Reads the configuration these flags point at.
    pub fn config(&self) -> anyhow::Result<Config> {
        let overrides = Overrides {
            profile: self.profile,
            http_addr: self.http_addr,
            tcp_addr: self.tcp_addr,
            data_dir: self.data_dir.clone(),
        };
        Config::load(self.config.as_deref(), &overrides)
    }
}

/// `alerta user add`: makes the account and prints it as JSON.
pub async fn user_add(
    config: &Config,
    email: &str,
    role: &str,
    name: Option<&str>,
) -> anyhow::Result<()> {
    let role = Role::parse(role)?;
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or(email));
    let new = NewUser::parse(email, password, name, role)?;
    let app = crate::profile::open(
        config,
        std::sync::Arc::new(crate::server::TracingBroadcaster),
    )
    .await?;
    let user = app.add_user(new).await?;
    println!("{}", serde_json::to_string(&user)?);
    Ok(())
}

/// `alerta report run`.
pub async fn report_run(config: &Config) -> anyhow::Result<()> {
    let app = crate::profile::open(
        config,
        std::sync::Arc::new(crate::server::TracingBroadcaster),
    )
    .await?;
    crate::reports::run_once(&app).await?;
    Ok(())
}

/// `alerta outbox retry ID`.
pub async fn outbox_retry(config: &Config, id: &str) -> anyhow::Result<()> {
    let id = alerta_core::domain::MailId::parse(id).context("no mail with that id")?;
    let app = crate::profile::open(
        config,
        std::sync::Arc::new(crate::server::TracingBroadcaster),
    )
    .await?;
    app.requeue_mail(&id).await?;
    println!("mail {id} is queued again");
    Ok(())
}

/// `alerta send-event`: prints each reply line; fails when any alert was refused.
pub async fn send_event(config: &Config, args: &SendEventArgs) -> anyhow::Result<()> {
    use alerta_adapters::tcp::{AlertLine, Client};
    let mut client = Client::connect(config.tcp_addr)
        .await
        .with_context(|| format!("connecting to {}", config.tcp_addr))?;
    let replies = match &args.source {
        Some(source) => {
            let message = args
                .message
                .as_deref()
                .context("--message is required with --source")?;
            let line = AlertLine {
                source,
                severity: &args.severity,
                message,
                key: args.key.as_deref(),
            };
            vec![client.send(&line).await?]
        }
        None => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading alerts from standard input")?;
            let lines: Vec<String> = input
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| with_key(l, args.key.as_deref()))
                .collect::<anyhow::Result<_>>()?;
            client.send_lines(lines).await?
        }
    };
    let mut refused = 0;
    for reply in replies {
        match reply.into_result() {
            Ok(id) => println!("{}", serde_json::json!({"ok": true, "id": id})),
            Err(error) => {
                refused += 1;
                println!("{}", serde_json::json!({"ok": false, "error": error}));
            }
        }
    }
    if refused > 0 {
        anyhow::bail!("{refused} alert(s) refused");
    }
    Ok(())
}

/// Adds the ingest key to a JSON line that has none.
fn with_key(line: &str, key: Option<&str>) -> anyhow::Result<String> {
    let Some(key) = key else {
        return Ok(line.to_owned());
    };
    let mut value: serde_json::Value =
        serde_json::from_str(line).with_context(|| format!("not a JSON object: {line}"))?;
    if let Some(object) = value.as_object_mut() {
        object
            .entry("key")
            .or_insert_with(|| serde_json::Value::String(key.to_owned()));
    }
    Ok(value.to_string())
}

/// `alerta migrate --to aws`: the data directory of the configuration into the AWS tables
/// and buckets it names; fails when a count differs afterwards.
pub async fn migrate(config: &Config, args: &MigrateArgs) -> anyhow::Result<()> {
    match args.to {
        #[cfg(feature = "aws")]
        MigrateTarget::Aws => crate::migrate::to_aws(config).await.map(|_| ()),
        #[cfg(not(feature = "aws"))]
        MigrateTarget::Aws => {
            let _ = config;
            anyhow::bail!(
                "this alerta was built without the AWS profile; rebuild with `--features aws`"
            )
        }
    }
}

/// `alerta aws bootstrap`.
pub async fn aws_bootstrap(config: &Config) -> anyhow::Result<()> {
    #[cfg(feature = "aws")]
    {
        crate::profile::aws::bootstrap(config).await
    }
    #[cfg(not(feature = "aws"))]
    {
        let _ = config;
        anyhow::bail!(
            "this alerta was built without the AWS profile; rebuild with `--features aws`"
        )
    }
}
