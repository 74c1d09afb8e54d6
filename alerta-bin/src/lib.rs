//! The `alerta` binary as a library: configuration, profiles and the server, so that tests
//! and other programs can start exactly what the binary starts.

pub mod backlog;
pub mod broker;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod escalation;
pub mod health;
pub mod mail;
pub mod migrate;
pub mod openapi;
pub mod periodic;
pub mod profile;
pub mod reports;
pub mod retention;
pub mod server;

pub use config::{Config, Overrides, Profile, Secret};
pub use server::{Running, start};
