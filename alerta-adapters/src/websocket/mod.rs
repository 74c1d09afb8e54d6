//! The real-time stream over WebSocket: a broadcast [`Hub`] that serves any upgraded
//! stream, and (with the `http` feature) the `GET /ws` route that upgrades to it.
//!
//! The hub is the application's [`Broadcaster`](alerta_core::ports::Broadcaster), so it is
//! made first and handed to the application; the route then needs both:
//!
//! ```no_run
//! # #[cfg(feature = "http")]
//! # async fn run(storage: alerta_core::ports::Storage,
//! #              blobs: std::sync::Arc<alerta_core::ports::DynBlobStore>) -> std::io::Result<()> {
//! use std::sync::Arc;
//! use alerta_adapters::http::{HttpConfig, router};
//! use alerta_adapters::websocket::{Hub, HubConfig, WsConfig, routes};
//! use alerta_core::Alerta;
//!
//! let hub = Hub::new(HubConfig::default());
//! let app = Alerta::builder(storage, blobs, Arc::new(hub.clone())).build();
//! let api = router(app.clone(), HttpConfig::default())
//!     .merge(routes(hub.clone(), app, WsConfig::default().allow_origin("https://campus.edu")));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, api).await
//! # }
//! ```
//!
//! Without axum, a server that performs the HTTP upgrade itself checks the request with the
//! functions of [`upgrade`] and passes the upgraded stream to [`Hub::serve_upgraded`].
//!
//! # Delivery
//!
//! - Every message is serialized once; each subscriber's bounded queue holds a shared
//!   reference to the same bytes. Publishing never waits: a subscriber whose queue is full
//!   is disconnected with close code 1013 and can reconnect with `since=`.
//! - Each connection writes all it has queued with one flush. Under a steady stream, each
//!   connection spaces its writes so that all of them together make about
//!   [`HubConfig::write_budget`] writes a second, each carrying what gathered meanwhile: the
//!   cost of a write is mostly its syscall, whatever it carries.
//! - Comment events (`Audience::Staff`) reach staff and admins only; `topics` filters.
//! - With `since`, the connection subscribes first, replays from the store, then drops the
//!   live messages the replay already covered, so nothing is missed or sent twice. Stream
//!   ids sort by creation time, which is what makes "covered" a comparison of ids.
//! - The server pings every [`HubConfig::ping_interval`] and disconnects a client silent for
//!   [`HubConfig::idle_timeout`]; client messages are capped at 64 KiB (close code 1009).

#[cfg(feature = "http")]
mod axum_route;
mod connection;
mod hub;
mod subscription;
pub mod upgrade;

#[cfg(feature = "http")]
pub use axum_route::{WsConfig, routes};
pub use hub::{Disconnect, Hub, HubConfig};
pub use subscription::{Subscription, parse_topics};
pub use upgrade::OriginPolicy;
