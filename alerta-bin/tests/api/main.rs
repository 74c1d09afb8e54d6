//! Tests of the `alerta` binary: one test binary, one module per area.

mod helpers;

mod cli;
mod process;
mod reports;
mod send_event;
mod walkthrough;
