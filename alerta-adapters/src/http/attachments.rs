//! `/incidents/{id}/attachments`: uploads as raw bytes, listing, downloads.

use alerta_core::Error;
use alerta_core::Upload;
use alerta_core::domain::{Attachment, AttachmentId, IncidentId, Page};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::AppState;
use super::auth::Caller;
use super::error::Reply;
use super::idempotency::Idempotency;
use super::json::{Created, read_body};
use super::listing::whole;
use super::openapi::ErrorReply;
use super::query::{Named, PathParams, QueryParams, non_empty, path_id};

/// The body limit of the upload route: a little over the attachment limit, so that a file
/// just over it is still read and refused by the core, which names the limit in its message,
/// while anything much larger is cut off without being read.
pub(super) fn body_limit(attachment_max_bytes: u64) -> usize {
    const SLACK: u64 = 64 * 1024;
    usize::try_from(attachment_max_bytes.saturating_add(SLACK)).unwrap_or(usize::MAX)
}

pub(super) fn routes(upload_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/incidents/{id}/attachments",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/incidents/{id}/attachments/{attachment_id}", get(download))
}

#[derive(OpenApi)]
#[openapi(paths(upload, list, download))]
pub(super) struct Api;

#[derive(Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
    /// The file's name; only its last path component is kept.
    #[param(required = true, value_type = String)]
    filename: Option<String>,
}

/// Upload an attachment
///
/// Attaches a file to an incident; the type is checked against the bytes.
#[utoipa::path(post, path = "/incidents/{id}/attachments", tag = "attachments",
    security(("session" = [])),
    params(Named<IncidentId>, UploadQuery, Idempotency),
    request_body(description = "The raw bytes, with their `Content-Type`.", content(
        (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"),
        (Vec<u8> = "image/gif"), (Vec<u8> = "application/pdf"), (Vec<u8> = "text/plain"),
    )),
    responses(
        (status = 201, description = "The attachment.", body = Attachment),
        (status = 403, description = "Neither the reporter nor staff.", body = ErrorReply),
        (status = 413, description = "Over the size limit (`too_large`).", body = ErrorReply),
        (status = 415, description = "A type that is not allowed, or bytes of another type.", body = ErrorReply),
    ))]
async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    idempotency: Idempotency,
    Named(id): Named<IncidentId>,
    QueryParams(query): QueryParams<UploadQuery>,
    request: Request,
) -> Reply<Created<Attachment>> {
    let filename = non_empty(&query.filename)
        .ok_or_else(|| Error::invalid("filename", "give the file name as ?filename=NAME"))?
        .to_owned();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = read_body(request, &state).await?;
    let upload = Upload {
        filename,
        content_type,
        bytes: bytes.to_vec(),
    };
    let attachment = state
        .app
        .attach(&caller.user, &id, upload, idempotency.key())
        .await?;
    Ok(Created(attachment))
}

/// List attachments
///
/// The incident's attachments, whole.
#[utoipa::path(get, path = "/incidents/{id}/attachments", tag = "attachments",
    security(("session" = [])),
    params(Named<IncidentId>),
    responses(
        (status = 200, description = "Its attachments; `next_cursor` is `null`.", body = Page<Attachment>),
        (status = 403, description = "Neither the reporter nor staff.", body = ErrorReply),
    ))]
async fn list(caller: Caller, Named(id): Named<IncidentId>) -> Reply<Json<Page<Attachment>>> {
    Ok(whole(caller.app.attachments(&caller.user, &id).await?))
}

/// Download an attachment
///
/// The attachment's bytes, with their content type, inline.
#[utoipa::path(get, path = "/incidents/{id}/attachments/{attachment_id}", tag = "attachments",
    security(("session" = [])),
    params(
        ("id" = String, Path, description = "The incident's `id`."),
        ("attachment_id" = String, Path, description = "The `attachment_id`."),
    ),
    responses(
        (status = 200, description = "The bytes.", content(
            (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"),
            (Vec<u8> = "image/gif"), (Vec<u8> = "application/pdf"), (Vec<u8> = "text/plain"),
        )),
        (status = 403, description = "Neither the reporter nor staff.", body = ErrorReply),
        (status = 404, description = "No such incident or attachment (`incident_not_found`, `attachment_not_found`).", body = ErrorReply),
    ))]
async fn download(
    caller: Caller,
    PathParams((id, attachment_id)): PathParams<(String, String)>,
) -> Reply<Response> {
    let id = path_id(&id, IncidentId::parse, "incident")?;
    let attachment_id = path_id(&attachment_id, AttachmentId::parse, "attachment")?;
    let (meta, blob) = caller
        .app
        .attachment_content(&caller.user, &id, &attachment_id)
        .await?;
    // The type is the one checked against the bytes at upload; `nosniff` keeps browsers from
    // second-guessing it into something executable.
    let content_type = HeaderValue::from_static(meta.content_type.as_str());
    let disposition = HeaderValue::from_str(&content_disposition(meta.filename.as_str()))
        .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        blob.bytes,
    )
        .into_response())
}

/// `inline; filename="..."; filename*=UTF-8''...` (RFC 6266): an ASCII stand-in for old
/// clients and the exact name, percent-encoded, for the rest.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in filename.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_break_the_header() {
        assert_eq!(
            content_disposition("grieta \"1\".png"),
            "inline; filename=\"grieta _1_.png\"; filename*=UTF-8''grieta%20%221%22.png"
        );
        assert_eq!(
            content_disposition("año.pdf"),
            "inline; filename=\"a_o.pdf\"; filename*=UTF-8''a%C3%B1o.pdf"
        );
    }
}
