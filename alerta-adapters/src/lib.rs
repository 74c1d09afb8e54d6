//! # alerta-adapters
//!
//! Adapters for the ports of [`alerta_core`], one module per adapter, each behind a cargo
//! feature of the same name (the memory adapters need none).
//!
//! | feature | module | what it holds |
//! |---|---|---|
//! | (none) | [`memory`] | every storage port in memory, a recording broadcaster and mailer |
//! | `sqlite` | `sqlite` | every storage port on SQLite (sqlx), with embedded migrations |
//! | `fs` | `fs` | the blob store on a local directory |
//! | `http` | `http` | the REST API as an axum `Router` |

pub mod memory;

#[cfg(feature = "fs")]
pub mod fs;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "sqlite")]
pub mod sqlite;
