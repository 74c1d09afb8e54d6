//! Integration tests of the adapters: one binary, one module per adapter.

mod dispatch;
mod escalation;
mod memory;
mod service;

#[cfg(feature = "broker")]
mod broker;
#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "fs")]
mod fs;
#[cfg(feature = "http")]
mod http;
#[cfg(all(feature = "sqlite", feature = "fs"))]
mod reports;
#[cfg(feature = "s3")]
mod s3;
#[cfg(feature = "smtp")]
mod smtp;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(all(feature = "tcp", feature = "sqlite"))]
mod tcp;
#[cfg(feature = "tcp")]
mod tcp_lines;
#[cfg(all(feature = "websocket", feature = "http"))]
mod websocket;

/// How many generated cases a property test runs: `default`, or `ALERTA_TEST_FUZZ_CASES` for a
/// long run.
fn fuzz_cases(default: u32) -> u32 {
    match std::env::var("ALERTA_TEST_FUZZ_CASES") {
        Ok(value) => value.parse().unwrap_or_else(|_| {
            panic!("ALERTA_TEST_FUZZ_CASES must be a whole number, not {value:?}")
        }),
        Err(_) => default,
    }
}
