//! The brokers: the in-process bus and its outage switch, the fault injector, and Redis,
//! both a shared server and one this test restarts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::broker::{FaultCounts, FaultyBroker, MemoryBroker};
use alerta_core::Error;
use alerta_core::domain::{Audience, StreamBatch, StreamKind, StreamMessage, Timestamp, Topic};
use alerta_core::ports::{Broker, BrokerListener, DynBroker};
use tokio::sync::mpsc;
use tokio::time::timeout;

/// The bound on any single wait in these tests.
const WAIT: Duration = Duration::from_secs(10);

/// What a listener heard, in order.
#[derive(Debug, PartialEq)]
enum Heard {
    Batch(StreamBatch),
    Resync,
}

/// A listener that passes on what it hears, so that a test can wait for it.
struct Recorder(mpsc::UnboundedSender<Heard>);

impl BrokerListener for Recorder {
    fn batch(&self, batch: StreamBatch) {
        let _ = self.0.send(Heard::Batch(batch));
    }

    fn resync(&self) {
        let _ = self.0.send(Heard::Resync);
    }
}

/// Listens on `broker` and returns what the listener hears.
async fn listen(broker: &dyn Broker) -> mpsc::UnboundedReceiver<Heard> {
    let (tx, rx) = mpsc::unbounded_channel();
    broker.listen(Arc::new(Recorder(tx))).await.unwrap();
    rx
}

/// The next thing `heard` hears, failing the test after [`WAIT`].
async fn next(heard: &mut mpsc::UnboundedReceiver<Heard>, what: &str) -> Heard {
    match timeout(WAIT, heard.recv()).await {
        Ok(Some(heard)) => heard,
        Ok(None) => panic!("the listener was dropped while waiting for {what}"),
        Err(_) => panic!("nothing heard within {WAIT:?} while waiting for {what}"),
    }
}

/// A batch of `count` alert messages of epoch 7 starting at `first`.
fn batch(first: u64, count: u64) -> StreamBatch {
    StreamBatch {
        epoch: 7,
        first,
        messages: (first..first + count)
            .map(|position| StreamMessage {
                kind: StreamKind::Alert,
                at: Timestamp::from_unix_millis(1_700_000_000_000 + position as i64),
                data: serde_json::json!({"position": position, "text": "ü"}),
                topic: Topic::Alerts,
                audience: Audience::Everyone,
                reporter: None,
            })
            .collect(),
    }
}

#[tokio::test]
async fn memory_bus_delivers_every_batch_to_every_listener_in_order() {
    let one = MemoryBroker::new();
    let two = one.clone();
    let mut heard_by_one = listen(&one).await;
    let mut heard_by_two = listen(&two).await;
    assert_eq!(one.listeners(), 2, "clones share one bus");

    let sent: Vec<StreamBatch> = (0..6).map(|i| batch(1 + 2 * i, 2)).collect();
    for (i, batch) in sent.iter().enumerate() {
        let from = if i % 2 == 0 { &one } else { &two };
        from.publish(batch).await.unwrap();
    }
    for heard in [&mut heard_by_one, &mut heard_by_two] {
        for batch in &sent {
            assert_eq!(next(heard, "a batch").await, Heard::Batch(batch.clone()));
        }
    }
    assert!(heard_by_one.is_empty() && heard_by_two.is_empty());
}

#[tokio::test]
async fn memory_bus_outage_fails_publishing_and_ends_with_a_resync_for_every_listener() {
    let one = MemoryBroker::new();
    let two = one.clone();
    let mut heard_by_one = listen(&one).await;
    let mut heard_by_two = listen(&two).await;
    let before = batch(1, 1);
    one.publish(&before).await.unwrap();

    two.set_down(true);
    assert!(!one.healthy().await && !two.healthy().await);
    let failed = one.publish(&batch(2, 1)).await;
    assert!(
        matches!(failed, Err(Error::Unavailable { .. })),
        "publishing on a down bus gave {failed:?}"
    );

    one.set_down(false);
    assert!(one.healthy().await);
    let after = batch(3, 1);
    two.publish(&after).await.unwrap();
    for heard in [&mut heard_by_one, &mut heard_by_two] {
        // The batch published during the outage never arrives; the resync says so.
        assert_eq!(
            next(heard, "the batch before").await,
            Heard::Batch(before.clone())
        );
        assert_eq!(next(heard, "the resync").await, Heard::Resync);
        assert_eq!(
            next(heard, "the batch after").await,
            Heard::Batch(after.clone())
        );
    }
}

/// What one listener of a [`FaultyBroker`] over a memory bus got for batches 1 to `sent`.
struct Mistreated {
    counts: FaultCounts,
    /// Positions in the order they arrived, repeats included.
    arrivals: Vec<u64>,
}

impl Mistreated {
    async fn run(seed: u64, sent: u64) -> Self {
        let bus = MemoryBroker::new();
        let inner: Arc<DynBroker> = Arc::new(bus.clone());
        let faulty = FaultyBroker::new(inner, seed);
        let mut heard = listen(&faulty).await;
        let mut counts = faulty.watch_counts();
        for position in 1..=sent {
            faulty.publish(&batch(position, 1)).await.unwrap();
        }
        let settled = timeout(
            WAIT,
            counts.wait_for(|c| c.received == sent && c.in_flight() == 0),
        )
        .await;
        let counts = match settled {
            Ok(Ok(counts)) => *counts,
            _ => panic!("not every batch was dealt with: {:?}", faulty.counts()),
        };
        let mut arrivals = Vec::new();
        while let Ok(heard) = heard.try_recv() {
            match heard {
                Heard::Batch(batch) => arrivals.push(batch.first),
                Heard::Resync => panic!("a resync without an outage"),
            }
        }
        Self { counts, arrivals }
    }

    /// How many times each position arrived.
    fn times(&self) -> BTreeMap<u64, u64> {
        let mut times = BTreeMap::new();
        for &position in &self.arrivals {
            *times.entry(position).or_default() += 1;
        }
        times
    }

    fn missing(&self, sent: u64) -> Vec<u64> {
        let times = self.times();
        (1..=sent).filter(|p| !times.contains_key(p)).collect()
    }

    fn repeated(&self) -> Vec<u64> {
        self.times()
            .into_iter()
            .filter(|&(_, n)| n > 1)
            .map(|(position, _)| position)
            .collect()
    }

    /// Arrivals of a position lower than one that arrived before it.
    fn overtaken(&self) -> usize {
        let mut highest = 0;
        let mut overtaken = 0;
        for &position in &self.arrivals {
            if position < highest {
                overtaken += 1;
            }
            highest = highest.max(position);
        }
        overtaken
    }
}

#[tokio::test]
async fn faulty_broker_drops_duplicates_and_reorders_the_same_way_for_the_same_seed() {
    const SENT: u64 = 400;
    let run = Mistreated::run(42, SENT).await;
    let counts = run.counts;

    // Pinned for this seed: the faults are drawn from it alone, so a change here means the
    // same seed no longer replays the same run.
    assert_eq!(
        (
            counts.dropped,
            counts.duplicated,
            counts.reordered,
            counts.delayed
        ),
        (40, 50, 39, 35),
        "{counts:?}"
    );
    // What the listener really got matches what the broker says it did.
    assert_eq!(run.missing(SENT).len() as u64, counts.dropped);
    assert_eq!(run.repeated().len() as u64, counts.duplicated);
    assert!(
        run.times().values().all(|&n| n <= 2),
        "a batch arrived three times"
    );
    assert_eq!(
        run.arrivals.len() as u64,
        SENT - counts.dropped + counts.duplicated
    );
    assert_eq!(counts.delivered, run.arrivals.len() as u64);
    // Every batch held back, every late copy and every delayed batch is normally overtaken;
    // the bound leaves room for a held batch whose timer beat the batches behind it.
    assert!(
        run.overtaken() as u64 >= counts.reordered,
        "only {} arrivals were overtaken for {} batches held back",
        run.overtaken(),
        counts.reordered
    );

    let again = Mistreated::run(42, SENT).await;
    assert_eq!(again.counts, counts);
    assert_eq!(again.missing(SENT), run.missing(SENT));
    assert_eq!(again.repeated(), run.repeated());
    let other = Mistreated::run(43, SENT).await;
    assert_ne!(
        other.missing(SENT),
        run.missing(SENT),
        "another seed, the same drops"
    );
}

#[tokio::test]
async fn faulty_broker_passes_resyncs_and_outages_through() {
    let bus = MemoryBroker::new();
    let faulty = FaultyBroker::new(Arc::new(bus.clone()), 1);
    let mut heard = listen(&faulty).await;
    bus.set_down(true);
    assert!(!faulty.healthy().await);
    let failed = faulty.publish(&batch(1, 1)).await;
    assert!(
        matches!(failed, Err(Error::Unavailable { .. })),
        "{failed:?}"
    );
    bus.set_down(false);
    assert_eq!(next(&mut heard, "the resync").await, Heard::Resync);
    assert_eq!(faulty.counts().resyncs, 1);
}

#[cfg(feature = "redis")]
mod redis {
    //! Against a real redis-server: the shared one `scripts/lib/redis.sh` starts, and one of
    //! each restart test's own.

    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};

    use alerta_adapters::broker::RedisBroker;

    use super::*;

    /// The shared server's URL; the tests fail rather than skip without it.
    fn shared_url() -> String {
        std::env::var("ALERTA_TEST_REDIS_URL").unwrap_or_else(|_| {
            panic!(
                "ALERTA_TEST_REDIS_URL is not set: start Redis with \
                 `source scripts/lib/redis.sh && start_redis`, or run ./scripts/test"
            )
        })
    }

    /// A channel of the shared server that no other test uses.
    fn channel(test: &str) -> String {
        format!("alerta:test:{}:{test}", std::process::id())
    }

    #[tokio::test]
    async fn redis_brokers_of_two_instances_hear_each_other() {
        let url = shared_url();
        let channel = channel("two_instances");
        let one = RedisBroker::connect_to_channel(&url, &channel)
            .await
            .unwrap();
        let two = RedisBroker::connect_to_channel(&url, &channel)
            .await
            .unwrap();
        assert_eq!(one.channel(), channel);
        assert!(one.healthy().await && two.healthy().await);
        let mut heard_by_one = listen(&one).await;
        let mut heard_by_two = listen(&two).await;

        let sent = [batch(1, 3), batch(4, 1), batch(5, 2)];
        one.publish(&sent[0]).await.unwrap();
        two.publish(&sent[1]).await.unwrap();
        one.publish(&sent[2]).await.unwrap();
        for heard in [&mut heard_by_one, &mut heard_by_two] {
            for batch in &sent {
                assert_eq!(next(heard, "a batch").await, Heard::Batch(batch.clone()));
            }
        }
    }

    #[tokio::test]
    async fn redis_broker_skips_what_is_not_a_batch() {
        let url = shared_url();
        let channel = channel("not_a_batch");
        let broker = RedisBroker::connect_to_channel(&url, &channel)
            .await
            .unwrap();
        let mut heard = listen(&broker).await;

        let client = ::redis::Client::open(url.as_str()).unwrap();
        let mut raw = client.get_multiplexed_async_connection().await.unwrap();
        for junk in [
            "not json",
            r#"{"epoch":7,"first":1}"#,
            r#"{"epoch":7,"first":0,"messages":[]}"#,
            r#"{"epoch":7,"first":1,"messages":[{"type":"nonsense"}]}"#,
        ] {
            let _: i64 = ::redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(junk)
                .query_async(&mut raw)
                .await
                .unwrap();
        }
        let good = batch(1, 1);
        broker.publish(&good).await.unwrap();
        assert_eq!(next(&mut heard, "the good batch").await, Heard::Batch(good));
    }

    /// A redis-server of one test's own, killed when dropped.
    struct OwnRedis {
        child: Child,
    }

    impl OwnRedis {
        /// Starts a redis-server on `port` and returns once it accepts connections.
        async fn start(port: u16) -> Self {
            let binary = redis_server();
            let mut child = Command::new(&binary)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let stdout = child.stdout.take().unwrap();
            let (ready, is_ready) = tokio::sync::oneshot::channel();
            // The server says when it accepts connections; reading its log to the end also
            // keeps it from blocking on a full pipe.
            std::thread::spawn(move || {
                let mut ready = Some(ready);
                let mut log = String::new();
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    log.push_str(&line);
                    log.push('\n');
                    if line.contains("Ready to accept connections")
                        && let Some(ready) = ready.take()
                    {
                        let _ = ready.send(());
                    }
                }
                if ready.is_some() {
                    eprintln!("redis-server ended before it was ready; its log:\n{log}");
                }
            });
            let mut server = Self { child };
            match timeout(WAIT, is_ready).await {
                Ok(Ok(())) => server,
                _ => {
                    server.kill();
                    panic!("redis-server did not get ready on port {port}");
                }
            }
        }

        fn kill(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for OwnRedis {
        fn drop(&mut self) {
            self.kill();
        }
    }

    /// `redis-server` from the PATH.
    fn redis_server() -> PathBuf {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("redis-server"))
            .find(|path| path.is_file())
            .unwrap_or_else(|| {
                panic!(
                    "redis-server is not on the PATH: run ./scripts/test, or install it \
                     (`apt-get install redis-server`, or `source scripts/lib/redis.sh && \
                     start_redis`, which installs it)"
                )
            })
    }

    fn free_port() -> u16 {
        let socket = TcpListener::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn redis_broker_reports_an_outage_and_resyncs_after_a_restart() {
        let port = free_port();
        let mut server = OwnRedis::start(port).await;
        let broker = RedisBroker::connect(&format!("redis://127.0.0.1:{port}"))
            .await
            .unwrap();
        let mut heard = listen(&broker).await;
        let first = batch(1, 1);
        broker.publish(&first).await.unwrap();
        assert_eq!(
            next(&mut heard, "the first batch").await,
            Heard::Batch(first)
        );

        server.kill();
        assert!(!broker.healthy().await, "healthy with Redis killed");
        let failed = broker.publish(&batch(2, 1)).await;
        assert!(
            matches!(failed, Err(Error::Unavailable { .. })),
            "publishing with Redis killed gave {failed:?}"
        );

        let _server = OwnRedis::start(port).await;
        assert_eq!(next(&mut heard, "the resync").await, Heard::Resync);
        assert!(broker.healthy().await, "not healthy with Redis back");
        let after = batch(3, 2);
        broker.publish(&after).await.unwrap();
        assert_eq!(
            next(&mut heard, "a batch after the restart").await,
            Heard::Batch(after)
        );
    }
}
