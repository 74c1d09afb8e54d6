//! The real-time stream over WebSocket: a broadcast [`Hub`] that serves any upgraded
//! stream, and (with the `http` feature) the `GET /ws` route that upgrades to it.
//!
//! The hub is the application's [`Broadcaster`](alerta_core::ports::Broadcaster), so it is
//! made first and handed to the application, then started on the stream log; the route then
//! needs both:
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
//! hub.start(storage.stream.clone(), None).await.expect("the log answers");
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
//! - Every message is in the stream log at a position before any client sees it. One task
//!   per process follows the log into an in-memory tail, in position order: woken by a
//!   publish from this process or a batch from the broker, and polling every
//!   [`HubConfig::poll_interval`] in case neither comes. So every client of every instance
//!   receives the same sequence.
//! - Every message is encoded once. Each connection is a cursor: whenever the head moves it
//!   writes everything after its cursor that its role and topics allow, with one flush. A
//!   connection behind the in-memory tail reads the log page by page and catches up; only a
//!   client that takes no bytes for [`HubConfig::stall_timeout`] is closed (1008).
//! - `since=epoch:position` starts the cursor there. An id of another epoch, ahead of the
//!   log's head, or older than what the log keeps gets one `reset` message carrying the head,
//!   and the stream goes on from the head.
//! - Each incident change is one message per audience: staff and admins receive the
//!   `Audience::Staff` one (comments and attachments only have that one), students the
//!   `Audience::Students` one (no reporter or actor), unless
//!   [`Subscription::public_incidents`] is off; `topics` filters. Both apply before a page
//!   is cut, so a filtered replay never ends early.
//! - The server pings every [`HubConfig::ping_interval`] and disconnects a client silent for
//!   [`HubConfig::idle_timeout`]; client messages are capped at 64 KiB (close code 1009).

#[cfg(feature = "http")]
mod axum_route;
mod connection;
mod hub;
mod subscription;
mod tail;
pub mod upgrade;

#[cfg(feature = "http")]
pub use axum_route::{WsConfig, routes};
pub use hub::{Disconnect, Hub, HubConfig};
pub use subscription::{SessionProbe, SessionState, Since, Subscription, parse_topics};
pub use upgrade::OriginPolicy;
