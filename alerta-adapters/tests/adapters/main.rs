//! Integration tests of the adapters: one binary, one module per adapter.

mod memory;
mod service;

#[cfg(feature = "fs")]
mod fs;
#[cfg(feature = "http")]
mod http;
#[cfg(all(feature = "sqlite", feature = "fs"))]
mod reports;
#[cfg(feature = "sqlite")]
mod sqlite;
