//! Tests of the `alerta` binary: one test binary, one module per area.

mod helpers;

#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "aws")]
mod deployment;
#[cfg(feature = "aws")]
mod migrate;

mod abuse;
mod ack_link;
mod alert_board;
mod board_scale;
mod cli;
mod connections;
mod crash;
mod dashboard;
mod escalation;
mod grouping;
mod health;
mod mail;
mod metrics;
mod open311;
mod openapi;
mod process;
mod receivers;
mod reports;
mod response_times;
mod retention;
mod schedules;
mod send_event;
mod silences;
mod stream;
mod walkthrough;
mod webapp;
