//! Backend failures counted for `/metrics` (`alerta_backend_errors_total{backend}`) when the
//! `metrics` feature is on; nothing otherwise.
//!
//! Each adapter calls [`record`] where it turns a backend's failure into
//! [`Error::Unavailable`](alerta_core::Error::Unavailable), so every failure is counted once,
//! whichever path (HTTP, TCP, the dispatcher, a background task) met it.

/// Counts one failure of `backend` (`sqlite`, `dynamodb`, `s3`, `fs`).
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn record(backend: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("alerta_backend_errors_total", "backend" => backend).increment(1);
}
