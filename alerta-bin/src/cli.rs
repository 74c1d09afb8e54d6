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
    let backends = crate::profile::open(
        config,
        std::sync::Arc::new(crate::server::TracingBroadcaster),
    )
    .await?;
    let user = backends.app.add_user(new).await?;
    println!("{}", serde_json::to_string(&user)?);
    Ok(())
}

/// `alerta report run`.
pub async fn report_run(config: &Config) -> anyhow::Result<()> {
    let backends = crate::profile::open(
        config,
        std::sync::Arc::new(crate::server::TracingBroadcaster),
    )
    .await?;
    crate::reports::run_once(&backends.app, backends.ledger.as_ref()).await?;
    Ok(())
}
