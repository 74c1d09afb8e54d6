//! `alerta migrate --to aws`: copies what a local data directory holds (the SQLite database
//! and the blob files) into the AWS profile's tables and buckets, with every id, version,
//! time and state as it is, then checks the counts on both sides.
//!
//! The copy goes through the record ports ([`RecordSource`], [`RecordSink`]) and the blob
//! store port, so it is the same whatever the two backends are; only opening them is
//! profile-specific. Every step skips what the target already holds with the same content,
//! so running it again, or after an interruption, finishes the copy with nothing twice.

use std::fmt::Write as _;
use std::io::IsTerminal;

use alerta_core::domain::{AlertCounts, BlobKey, IncidentCounts};
use alerta_core::ports::{BlobStore, DynRecordSink, DynRecordSource, RecordKind};
use anyhow::{Context, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a move leaves behind, and why: printed by every run and written in the README.
pub const LEFT_BEHIND: &str = "left behind: sessions (everyone logs in again on the new \
    deployment; a session is a credential, and a short-lived one), failed-login counts (they \
    expire within the throttling window anyway) and idempotency records (they only answer \
    retries of requests sent to the old server, which a client cannot send across the move)";

/// The backends a move reads from and writes to.
pub struct Ends<'a> {
    /// Where the records come from.
    pub source: &'a DynRecordSource,
    /// Where they go.
    pub sink: &'a DynRecordSink,
    /// The blob keys the source holds.
    pub blob_keys: Vec<BlobKey>,
    /// The source's blob store.
    pub source_blobs: &'a dyn BlobStore,
    /// The target's blob store.
    pub target_blobs: &'a dyn BlobStore,
}

/// One line of the closing table: a kind and its counts on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    /// The kind (`users`, `incidents`, ..., `blobs`, `statistics`).
    pub kind: String,
    /// How many the source holds.
    pub source: u64,
    /// How many the target holds.
    pub target: u64,
    /// Written by this run.
    pub written: u64,
    /// Already there with the same content.
    pub present: u64,
}

impl Tally {
    /// Whether both sides hold as many.
    pub fn matches(&self) -> bool {
        self.source == self.target
    }
}

/// What a move did and found.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// One line per kind, in the order copied.
    pub tallies: Vec<Tally>,
}

impl Outcome {
    /// Whether every kind holds as many on both sides.
    pub fn verified(&self) -> bool {
        self.tallies.iter().all(Tally::matches)
    }

    /// How many records and blobs this run wrote.
    pub fn written(&self) -> u64 {
        self.tallies.iter().map(|t| t.written).sum()
    }

    /// The closing table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<18} {:>9} {:>9} {:>9} {:>9}  check",
            "kind", "source", "target", "written", "present"
        );
        for t in &self.tallies {
            let _ = writeln!(
                out,
                "{:<18} {:>9} {:>9} {:>9} {:>9}  {}",
                t.kind,
                t.source,
                t.target,
                t.written,
                t.present,
                if t.matches() { "ok" } else { "DIFFERENT" }
            );
        }
        out
    }
}

fn bar(bars: &MultiProgress, name: &str, total: u64) -> ProgressBar {
    let bar = bars.add(ProgressBar::new(total));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>18} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(name.to_owned());
    bar
}

/// Copies every record and blob of `ends.source` into `ends.sink`, then counts both sides.
/// Prints one line per kind when it is copied, on standard output.
///
/// # Errors
///
/// When the target holds data that did not come from this source (a record with the same
/// key and other content, a stream log of another epoch), before that record is written; and
/// when either side fails.
pub async fn copy(ends: Ends<'_>) -> anyhow::Result<Outcome> {
    let bars = MultiProgress::with_draw_target(if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let origin = ends
        .source
        .stream_origin()
        .await
        .context("reading the source's stream log")?;
    ends.sink
        .adopt_stream(origin)
        .await
        .context("refusing to copy: the target's stream log is not this source's")?;

    let mut outcome = Outcome::default();
    let batch = ends.sink.import_batch().max(1);
    for kind in RecordKind::ALL {
        let total = ends.source.count_records(kind).await?;
        let progress = bar(&bars, kind.as_str(), total);
        let (mut written, mut present) = (0, 0);
        let mut after = None;
        loop {
            let records = ends
                .source
                .export_records(kind, after.clone(), batch)
                .await
                .with_context(|| format!("reading {} from the source", kind.as_str()))?;
            let Some(last) = records.last() else { break };
            after = Some(last.export_key());
            let count = records.len();
            let imported = ends
                .sink
                .import_records(records)
                .await
                .with_context(|| format!("copying {}", kind.as_str()))?;
            written += imported.written;
            present += imported.present;
            progress.inc(count as u64);
            if count < batch {
                break;
            }
        }
        progress.finish();
        println!(
            "{}: {} copied ({written} written, {present} already there)",
            kind.as_str(),
            written + present
        );
        outcome.tallies.push(Tally {
            kind: kind.as_str().to_owned(),
            source: total,
            target: 0,
            written,
            present,
        });
    }

    let progress = bar(&bars, "blobs", ends.blob_keys.len() as u64);
    let (mut written, mut present) = (0, 0);
    for key in &ends.blob_keys {
        let blob = ends
            .source_blobs
            .get(key)
            .await
            .with_context(|| format!("reading blob {key}"))?;
        match ends.target_blobs.get(key).await {
            Ok(there) if there == blob => present += 1,
            Ok(_) => bail!(
                "blob {key} is already in the target with other bytes or type: the target \
                 holds data that did not come from this source"
            ),
            Err(alerta_core::Error::NotFound(_)) => {
                ends.target_blobs
                    .put(key, &blob.content_type, blob.bytes)
                    .await
                    .with_context(|| format!("writing blob {key}"))?;
                written += 1;
            }
            Err(e) => return Err(e).with_context(|| format!("reading blob {key} in the target")),
        }
        progress.inc(1);
    }
    progress.finish();
    println!(
        "blobs: {} copied ({written} written, {present} already there)",
        written + present
    );

    let (incidents, alerts) = ends.source.record_counts().await?;
    ends.sink
        .import_counts(&incidents, &alerts)
        .await
        .context("setting the statistics' counts")?;
    bars.clear().ok();

    for tally in &mut outcome.tallies {
        let kind = RecordKind::ALL
            .into_iter()
            .find(|k| k.as_str() == tally.kind)
            .context("a kind copied above")?;
        tally.target = ends.sink.count_records(kind).await?;
    }
    // Every key was read back from the target above, or written: the target holds each.
    outcome.tallies.push(Tally {
        kind: "blobs".into(),
        source: ends.blob_keys.len() as u64,
        target: written + present,
        written,
        present,
    });
    Ok(outcome)
}

/// One line of the table for the statistics' counts: 1 and 1 when the target's equal the
/// source's.
pub fn counts_tally(
    source: &(IncidentCounts, AlertCounts),
    target: &(IncidentCounts, AlertCounts),
) -> Tally {
    Tally {
        kind: "statistics".into(),
        source: 1,
        target: u64::from(source == target),
        written: 0,
        present: 0,
    }
}

/// `alerta migrate --to aws` on `config`: the data directory into the AWS profile's tables
/// and buckets, created first when missing. Prints the table; fails when a count differs.
#[cfg(feature = "aws")]
pub async fn to_aws(config: &crate::Config) -> anyhow::Result<Outcome> {
    use alerta_adapters::fs::FsBlobStore;
    use alerta_adapters::sqlite::SqliteStore;
    use alerta_core::ports::{AlertStore, IncidentStore};

    let database = config.data_dir.join("alerta.db");
    let source = SqliteStore::open_read_only(&database)
        .await
        .with_context(|| format!("opening {} read-only", database.display()))?;
    let source_blobs = FsBlobStore::new(config.data_dir.join("blobs"));
    let blob_keys = source_blobs
        .keys()
        .await
        .context("listing the blob files")?;

    crate::profile::aws::bootstrap(config).await?;
    // A store of its own: bootstrap's has read the stream epoch that the copy replaces.
    let (sink, target_blobs) = crate::profile::aws::stores(config).await;
    let mut outcome = copy(Ends {
        source: &source,
        sink: &sink,
        blob_keys,
        source_blobs: &source_blobs,
        target_blobs: &target_blobs,
    })
    .await?;
    let counts_of_source = (
        IncidentStore::counts(&source).await?,
        AlertStore::counts(&source).await?,
    );
    let counts_of_target = (
        IncidentStore::counts(&sink).await?,
        AlertStore::counts(&sink).await?,
    );
    outcome
        .tallies
        .push(counts_tally(&counts_of_source, &counts_of_target));
    source.close().await;
    print!("{}", outcome.table());
    println!("{LEFT_BEHIND}");
    if !outcome.verified() {
        bail!("the target does not hold what the source holds: see the lines marked DIFFERENT");
    }
    println!("the copy is complete and verified");
    Ok(outcome)
}
