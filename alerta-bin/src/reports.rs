//! Running the report job: once from the command line, or on a schedule inside `alerta serve`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use alerta_core::{Alerta, ReportRun, ReportSummary};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::watch;

/// How long a run holds an assignment before another run may take it over. Writing one
/// report and queueing one mail takes milliseconds; a minute leaves room for a slow disk.
const LEASE: Duration = Duration::from_secs(60);

/// A holder name unique to this run: host, process and a counter.
fn holder() -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    )
}

fn describe(summary: &ReportSummary) -> String {
    format!(
        "global report {} ({} incidents); {} assignments processed, {} already done, {} held by another run",
        summary.global_report,
        summary.total_incidents,
        summary.processed,
        summary.already_done,
        summary.held_elsewhere
    )
}

/// `alerta report run`: one run, with a progress bar on a terminal and a one-line summary
/// otherwise.
pub async fn run_once(app: &Alerta) -> anyhow::Result<ReportSummary> {
    let run = ReportRun {
        holder: holder(),
        lease: LEASE,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message("writing the global report");
        bar
    });
    let mut progress = |p: alerta_core::ReportProgress| {
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} assignments looked at, {} processed",
                p.seen, p.processed
            ));
        }
    };
    let result = app.run_reports(&run, &mut progress).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = result?;
    println!("{}", describe(&summary));
    Ok(summary)
}

/// Runs the job every `every` until `stop` turns true. A failed run is logged; the next one
/// finishes its work.
pub async fn schedule(app: Alerta, every: Duration, stop: watch::Receiver<bool>) {
    let first = tokio::time::Instant::now() + every;
    crate::periodic::every(first, every, stop, || scheduled_run(&app)).await;
}

async fn scheduled_run(app: &Alerta) {
    let run = ReportRun {
        holder: holder(),
        lease: LEASE,
    };
    let started = std::time::Instant::now();
    let result = app.run_reports(&run, &mut |_| {}).await;
    let outcome = if result.is_ok() { "ok" } else { "failed" };
    ::metrics::counter!("alerta_report_runs_total", "outcome" => outcome).increment(1);
    ::metrics::histogram!("alerta_report_run_duration_seconds")
        .record(started.elapsed().as_secs_f64());
    match result {
        Ok(summary) => tracing::info!(summary = %describe(&summary), "report run finished"),
        Err(error) => {
            tracing::error!(%error, "report run failed; the next run finishes its work")
        }
    }
}
