//! `alerta`: the reference server and command-line tool.

use std::io::IsTerminal;

use alerta_bin::cli::{
    AwsCommand, Cli, Command, OutboxCommand, ReportCommand, UserCommand, aws_bootstrap, migrate,
    outbox_retry, report_run, send_event, user_add,
};
use clap::Parser;
use tracing_subscriber::EnvFilter;

// The server allocates and frees many small buffers across threads (a line, an alert, a
// frame); glibc's allocator spent about a fifth of ingestion's CPU time on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("ALERTA_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = cli.global.config()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let running = alerta_bin::start(config).await?;
            let stop = running.stopper();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down");
                let _ = stop.send(true);
            });
            running.wait().await
        }
        Command::Report(ReportCommand::Run) => report_run(&config).await,
        Command::Outbox(OutboxCommand::Retry { id }) => outbox_retry(&config, &id).await,
        Command::SendEvent(args) => send_event(&config, &args).await,
        Command::Aws(AwsCommand::Bootstrap) => aws_bootstrap(&config).await,
        Command::Migrate(args) => migrate(&config, &args).await,
        Command::User(UserCommand::Add { email, role, name }) => {
            user_add(&config, &email, &role, name.as_deref()).await
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
