//! Generated TCP lines, valid and not, against a real listener: every line gets exactly one
//! reply, in order; what is refused stores nothing; what is accepted is stored; the
//! connection stays usable throughout.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alerta_adapters::ingest::{GroupCommit, GroupCommitConfig};
use alerta_adapters::memory::{MemoryBlobStore, MemoryStore, RecordingBroadcaster};
use alerta_adapters::tcp::{self, TcpConfig};
use alerta_core::Alerta;
use alerta_core::domain::AlertId;
use alerta_core::ports::{AlertStore, Storage};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(30);

/// One generated line and whether it must be accepted.
#[derive(Clone, Debug)]
struct Line {
    bytes: Vec<u8>,
    valid: bool,
}

/// A JSON value of any shape, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "",
            " ",
            "info",
            "warning",
            "error",
            "critical",
            "resolve",
            "sensor_01",
            "ack",
        ])
        .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object with the protocol's field names (and others) holding anything.
fn protocol_object() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        prop::sample::select(vec![
            "source",
            "severity",
            "message",
            "action",
            "id",
            "nota",
            "version",
            "key",
            "fingerprint",
            "dedup_key",
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,6}",
    ];
    prop::collection::btree_map(name, any_json(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn line() -> impl Strategy<Value = Line> {
    let valid = ("[a-z0-9_]{1,20}", 0usize..4, "[^\\p{Cc}]{1,80}")
        .prop_filter("a message with text", |(_, _, m)| !m.trim().is_empty())
        .prop_map(|(source, severity, message)| {
            let severity = ["info", "warning", "error", "critical"][severity];
            Line {
                bytes: json!({"source": source, "severity": severity, "message": message})
                    .to_string()
                    .into_bytes(),
                valid: true,
            }
        });
    let object = protocol_object().prop_map(|v| Line {
        bytes: v.to_string().into_bytes(),
        valid: false,
    });
    let bytes = prop::collection::vec(any::<u8>(), 1..300).prop_map(|bytes| Line {
        bytes,
        valid: false,
    });
    prop_oneof![2 => valid, 3 => object, 3 => bytes]
        .prop_map(|mut line| {
            line.bytes.retain(|b| *b != b'\n');
            line
        })
        .prop_filter("a line that is not blank", |line| {
            !line.bytes.iter().all(u8::is_ascii_whitespace)
        })
}

struct World {
    addr: SocketAddr,
    store: Arc<MemoryStore>,
}

async fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let app = Alerta::builder(
        Storage::from_backend(store.clone()),
        Arc::new(MemoryBlobStore::new()),
        Arc::new(RecordingBroadcaster::new()),
    )
    .build();
    let ingest = GroupCommit::spawn(app, GroupCommitConfig::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tcp::serve_with_shutdown(
        listener,
        ingest,
        TcpConfig::default(),
        std::future::pending(),
    ));
    World { addr, store }
}

/// Sends every line pipelined on one connection, then a known-good line, and checks the
/// replies.
async fn check(world: &World, lines: Vec<Line>) -> Result<(), TestCaseError> {
    let before = world.store.counts().await.unwrap().total;
    let mut accepted = 0;
    let stream = TcpStream::connect(world.addr).await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut payload = Vec::new();
    for line in &lines {
        payload.extend_from_slice(&line.bytes);
        payload.push(b'\n');
    }
    payload.extend_from_slice(
        json!({"source": "sentinel", "severity": "info", "message": "fin"})
            .to_string()
            .as_bytes(),
    );
    payload.push(b'\n');
    write.write_all(&payload).await.unwrap();
    // Every reply is read before anything is judged, so that a failing case leaves nothing
    // in flight to be counted by the next one.
    let mut replies = BufReader::new(read).lines();
    let mut received = Vec::new();
    for _ in 0..=lines.len() {
        let reply = timeout(WAIT, replies.next_line())
            .await
            .expect("a reply in time")
            .expect("the connection reads")
            .expect("one reply per line, the connection still open");
        received.push(reply);
    }
    let sentinel = Line {
        bytes: b"sentinel".to_vec(),
        valid: true,
    };
    for (line, reply) in lines.iter().chain(std::iter::once(&sentinel)).zip(received) {
        let reply: Value = serde_json::from_str(&reply).expect("every reply is JSON");
        let ok = reply["ok"].as_bool().expect("every reply says ok");
        prop_assert!(
            !line.valid || ok,
            "a valid line was refused: {} -> {reply}",
            String::from_utf8_lossy(&line.bytes)
        );
        if ok {
            accepted += 1;
            let id = reply["id"].as_str().expect("an accepted line names its id");
            let id = AlertId::parse(id).expect("a valid alert id");
            prop_assert!(
                world.store.alert(&id).await.unwrap().is_some(),
                "an acknowledged alert is stored"
            );
        } else {
            prop_assert!(reply["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
    }
    let after = world.store.counts().await.unwrap().total;
    prop_assert!(
        after - before <= accepted,
        "{} alerts stored for {accepted} accepted lines",
        after - before
    );
    Ok(())
}

#[test]
fn tcp_generated_lines_each_get_one_reply_and_only_valid_ones_are_stored() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let world = runtime.block_on(world());
    let mut runner = TestRunner::new(Config {
        cases: crate::fuzz_cases(96),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(line(), 1..24), |lines| {
            runtime.block_on(check(&world, lines))
        })
        .unwrap();
}
