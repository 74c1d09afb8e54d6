//! Parameters and replies that many operations declare alike, for their `#[utoipa::path]`:
//! `params(IncidentPath, IdempotencyKeyHeader)`, `responses((status = 200, ...), IncidentNotFound)`.
//! Each says it once, so that the operations cannot drift apart.

// These types describe the document only: none is built, and their fields are never read.
#![allow(dead_code)]

use utoipa::{IntoParams, IntoResponses};

use super::openapi::ErrorReply;

/// The `{id}` of an incident's routes.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub(super) struct IncidentPath(
    /// The `incident_id`.
    String,
);

/// The `{id}` of an alert's routes.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub(super) struct AlertPath(
    /// The alert's `id`.
    String,
);

/// The header of a write that may be repeated safely.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(super) struct IdempotencyKeyHeader {
    /// Replays the first result of a repeated write.
    #[param(rename = "Idempotency-Key")]
    key: Option<String>,
}

/// The reply of a route about one incident that is not there.
#[derive(IntoResponses)]
pub(super) enum IncidentNotFound {
    /// No such incident (`incident_not_found`).
    #[response(status = 404)]
    NotFound(ErrorReply),
}

/// The reply of a route about one alert that is not there.
#[derive(IntoResponses)]
pub(super) enum AlertNotFound {
    /// No such alert (`alert_not_found`).
    #[response(status = 404)]
    NotFound(ErrorReply),
}

/// The reply of a list whose only query parameters are the page's.
#[derive(IntoResponses)]
pub(super) enum BadLimit {
    /// A bad `limit`.
    #[response(status = 400)]
    Invalid(ErrorReply),
}

/// The reply of a write whose only conflict is a reused idempotency key.
#[derive(IntoResponses)]
pub(super) enum IdempotencyConflict {
    /// The idempotency key was used for another request.
    #[response(status = 409)]
    Conflict(ErrorReply),
}

/// The `{id}` of an account's routes.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub(super) struct UserPath(
    /// The account's `user_id`.
    String,
);

/// The `{nombre}` of a department's routes.
#[derive(IntoParams)]
#[into_params(names("nombre"), parameter_in = Path)]
pub(super) struct DepartmentPath(
    /// The department's name.
    String,
);
