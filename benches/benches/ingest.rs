//! Durable alert ingestion on SQLite (WAL, `synchronous=FULL`, so every commit waits for its
//! fsync): group commit against one commit per alert, measured in the same run.
//!
//! Both sides have [`CONNECTIONS`] concurrent senders, as that many TCP connections would.
//! With group commit each sender queues its alerts without waiting (as a connection that
//! pipelines its lines does) and then waits for their acknowledgements; the baseline calls
//! [`Alerta::ingest_alerts`] with one alert at a time, so each alert is its own transaction.
//! Throughput is in durably stored alerts.
//!
//! Run with `cargo bench -p alerta-benches --bench ingest`. After criterion's report, the
//! bench prints both sides' alerts per second over all their timed iterations and the ratio
//! between them.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alerta_adapters::ingest::{GroupCommit, GroupCommitConfig};
use alerta_adapters::memory::MemoryBlobStore;
use alerta_adapters::sqlite::SqliteStore;
use alerta_adapters::websocket::Hub;
use alerta_core::Alerta;
use alerta_core::domain::{AlertDraft, Channel};
use alerta_core::ports::Storage;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group,
};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

/// Concurrent senders.
const CONNECTIONS: usize = 32;
/// Alerts each sender has in one iteration with group commit.
const PIPELINED: usize = 128;
/// Alerts each sender stores in one iteration of the baseline: at a few hundred commits per
/// second, more would make one iteration take seconds.
const ONE_BY_ONE: usize = 2;

/// Alerts stored and time taken by every timed iteration, per side, for the ratio printed at
/// the end: the mean of the whole run rather than criterion's per-sample statistics.
static TALLY: Mutex<Vec<(&str, u64, Duration)>> = Mutex::new(Vec::new());

fn tally(side: &'static str, alerts: u64, took: Duration) {
    let mut tally = TALLY.lock().unwrap_or_else(|e| e.into_inner());
    match tally.iter_mut().find(|(name, ..)| *name == side) {
        Some((_, total, time)) => {
            *total += alerts;
            *time += took;
        }
        None => tally.push((side, alerts, took)),
    }
}

fn print_ratio() {
    let tally = TALLY.lock().unwrap_or_else(|e| e.into_inner());
    let rate = |side: &str| {
        tally
            .iter()
            .find(|(name, ..)| *name == side)
            .map(|(_, alerts, time)| *alerts as f64 / time.as_secs_f64().max(1e-9))
    };
    let (Some(grouped), Some(single)) = (rate("group_commit"), rate("commit_per_alert")) else {
        return;
    };
    println!("\ndurable ingestion, same run (alerts per second over all timed iterations):");
    println!(
        "  group_commit      {grouped:>10.0}/s  {:>6.1}x",
        grouped / single
    );
    println!("  commit_per_alert  {single:>10.0}/s");
}

fn draft(sender: usize, seq: usize) -> AlertDraft {
    AlertDraft::parse(
        &format!("sensor_{sender:02}"),
        "warning",
        &format!("temperature above threshold in rack {seq}: 41.5 C for 120 s"),
        Channel::Tcp,
    )
    .expect("a valid alert")
}

/// The application on a fresh SQLite file, broadcasting to a hub without subscribers as the
/// server does when nobody watches.
async fn app(dir: &tempfile::TempDir) -> Alerta {
    let store = SqliteStore::open(dir.path().join("alerta.db"))
        .await
        .expect("open the database");
    Alerta::builder(
        Storage::from_backend(Arc::new(store)),
        Arc::new(MemoryBlobStore::new()),
        Arc::new(Hub::default()),
    )
    .build()
}

async fn group_commit(ingest: &GroupCommit, iterations: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        let mut senders = JoinSet::new();
        for sender in 0..CONNECTIONS {
            let ingest = ingest.clone();
            senders.spawn(async move {
                let mut tickets = Vec::with_capacity(PIPELINED);
                for seq in 0..PIPELINED {
                    tickets.push(ingest.submit(draft(sender, seq)).await.expect("queued"));
                }
                for ticket in tickets {
                    ticket.await.expect("stored");
                }
            });
        }
        while let Some(done) = senders.join_next().await {
            done.expect("a sender");
        }
    }
    start.elapsed()
}

async fn one_commit_each(app: &Alerta, iterations: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        let mut senders = JoinSet::new();
        for sender in 0..CONNECTIONS {
            let app = app.clone();
            senders.spawn(async move {
                for seq in 0..ONE_BY_ONE {
                    app.ingest_alerts(vec![draft(sender, seq)])
                        .await
                        .expect("stored");
                }
            });
        }
        while let Some(done) = senders.join_next().await {
            done.expect("a sender");
        }
    }
    start.elapsed()
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Benchmarks one side, `alerts` alerts an iteration: `run(iterations)` makes them durable
/// on a task of its own and says how long that took.
fn measure<F, Fut>(
    group: &mut BenchmarkGroup<WallTime>,
    rt: &Runtime,
    side: &'static str,
    alerts: usize,
    run: F,
) where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Duration> + Send + 'static,
{
    group.throughput(Throughput::Elements(alerts as u64));
    group.bench_function(BenchmarkId::new(side, CONNECTIONS), |b| {
        b.iter_custom(|iterations| {
            let run = run(iterations);
            let took = rt.block_on(async move { tokio::spawn(run).await.expect("the run") });
            tally(side, iterations * alerts as u64, took);
            took
        });
    });
}

fn durable_ingest(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let app = rt.block_on(app(&dir));
    let ingest = {
        let _entered = rt.enter();
        GroupCommit::spawn(app.clone(), GroupCommitConfig::default())
    };
    let mut group = c.benchmark_group("durable_ingest");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sampling_mode(SamplingMode::Flat);

    let alerts = CONNECTIONS * PIPELINED;
    measure(&mut group, &rt, "group_commit", alerts, |iterations| {
        let ingest = ingest.clone();
        async move { group_commit(&ingest, iterations).await }
    });
    let alerts = CONNECTIONS * ONE_BY_ONE;
    measure(&mut group, &rt, "commit_per_alert", alerts, |iterations| {
        let app = app.clone();
        async move { one_commit_each(&app, iterations).await }
    });
    group.finish();
}

criterion_group!(benches, durable_ingest);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    print_ratio();
}
