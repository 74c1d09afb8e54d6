//! Tests of the REST API, over real sockets.

mod accounts;
mod alert_incidents;
mod alert_lifecycle;
mod alerts;
mod attachments;
mod auth;
mod bad_input;
mod deliveries;
mod generated_bodies;
mod helpers;
mod idempotency;
mod incidents;
mod openapi;
pub mod openapi_schemas;
mod outbox;
mod plumbing;
mod roles;
mod silences;
