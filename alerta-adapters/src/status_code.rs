//! The HTTP status code each core [`Error`] stands for in the wire contract (`API.md`).
//!
//! The core says what went wrong; which number a transport answers with is the transport's
//! business. The mapping lives here, outside the `http` and `websocket` features, because both
//! answer with it: the REST router, and the WebSocket upgrade, which must not depend on axum.

use alerta_core::Error;

/// The status code of `error`: 400, 401, 403, 404, 409, 413, 415, 429 or 503.
pub fn of(error: &Error) -> u16 {
    match error {
        Error::Invalid { .. } => 400,
        Error::Unauthenticated => 401,
        Error::Forbidden(_) => 403,
        Error::NotFound(_) => 404,
        Error::Conflict { .. } => 409,
        Error::TooLarge(_) => 413,
        Error::UnsupportedMediaType(_) => 415,
        Error::RateLimited { .. } => 429,
        Error::Unavailable { .. } => 503,
        // A variant added to the core later is a failure the wire contract does not name
        // yet: the server's fault until it gets its own code.
        _ => 500,
    }
}

#[cfg(test)]
mod tests {
    use alerta_core::ConflictKind;

    use super::*;

    #[test]
    fn every_error_has_the_status_of_the_wire_contract() {
        let cases = [
            (Error::invalid("descripcion", "empty"), 400),
            (Error::Unauthenticated, 401),
            (Error::Forbidden("staff only"), 403),
            (Error::NotFound("incident"), 404),
            (Error::conflict(ConflictKind::InvalidTransition, "no"), 409),
            (Error::stale_version(), 409),
            (Error::TooLarge("big".into()), 413),
            (Error::UnsupportedMediaType("text/html".into()), 415),
            (Error::RateLimited { retry_after_s: 3 }, 429),
            (Error::unavailable("sqlite", "down"), 503),
        ];
        for (error, status) in cases {
            assert_eq!(of(&error), status, "{error:?}");
        }
    }
}
