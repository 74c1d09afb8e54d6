//! Integration tests of the adapters: one binary, one module per adapter.

mod memory;
mod service;
