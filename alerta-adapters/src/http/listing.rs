//! A page of a list with the stream position it reflects, and lists returned whole.

use alerta_core::Alerta;
use alerta_core::domain::Page;
use serde::Serialize;

use super::error::ApiError;

/// `{items, next_cursor, stream}`: `stream` is the stream id of the log's head, read before
/// the list was, so a client that subscribes with `since=<stream>` misses nothing that
/// happened after the list was read (and may see a change the list already shows).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Listed<T> {
    #[serde(flatten)]
    page: Page<T>,
    /// The stream id (`<epoch>:<position>`) of the log's head, read before the list.
    #[schema(pattern = "^[0-9]+:[0-9]+$")]
    stream: String,
}

/// Reads the head, then the list.
pub(super) async fn listed<T, F>(app: &Alerta, list: F) -> Result<Listed<T>, ApiError>
where
    F: Future<Output = alerta_core::Result<Page<T>>>,
{
    let head = app.stream_head().await?;
    let page = list.await?;
    Ok(Listed {
        page,
        stream: head.id().to_string(),
    })
}

/// A list returned whole, in the list shape: `{items, next_cursor: null}`.
pub(super) fn whole<T>(items: Vec<T>) -> axum::Json<Page<T>> {
    axum::Json(Page {
        items,
        next_cursor: None,
    })
}
