//! # alerta-adapters
//!
//! Adapters for the ports of [`alerta_core`], one module per adapter, each behind a cargo
//! feature of the same name (the memory adapters need none).
//!
//! | feature | module | what it holds |
//! |---|---|---|
//! | (none) | [`memory`] | every storage port in memory, a recording broadcaster and mailer |
//! | `sqlite` | `sqlite` | every storage port on SQLite (sqlx), with embedded migrations |
//! | `dynamodb` | `dynamodb` | every storage port on DynamoDB tables, with their bootstrap |
//! | `fs` | `fs` | the blob store on a local directory |
//! | `s3` | `s3` | the blob store on two S3 buckets, with their bootstrap |
//! | `http` | `http` | the REST API as an axum `Router`, and a listener with bounded header and idle time |
//! | `smtp` | `smtp` | mail over SMTP (lettre, rustls) and as `.eml` files |
//! | `websocket` | `websocket` | the broadcast hub (tokio-tungstenite); with `http`, its `GET /ws` route |
//! | `broker` | `broker` | an in-process broker with an outage switch; a fault-injecting wrapper |
//! | `redis` | `broker` | also `RedisBroker`, the broker on Redis PUBLISH/SUBSCRIBE |
//! | `tcp` | `tcp`, `ingest` | JSON-lines ingestion and its client; the group-commit alert writer |
//!
//! With `tcp` or `http`, `address_limit` bounds the connections one client address holds open.
//!
//! [`status_code`] needs no feature either: the HTTP status of each core error, shared by the
//! `http` router and the `websocket` upgrade.

#[cfg(any(
    feature = "sqlite",
    feature = "dynamodb",
    feature = "s3",
    feature = "fs"
))]
mod backend_errors;
pub mod memory;
pub mod status_code;

#[cfg(any(feature = "tcp", feature = "http"))]
pub mod address_limit;
#[cfg(any(feature = "dynamodb", feature = "s3"))]
mod aws;

#[cfg(feature = "broker")]
pub mod broker;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "fs")]
pub mod fs;
#[cfg(feature = "http")]
pub mod http;
#[cfg(any(feature = "tcp", feature = "http"))]
pub mod ingest;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "smtp")]
pub mod smtp;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "tcp")]
pub mod tcp;
#[cfg(feature = "websocket")]
pub mod websocket;
