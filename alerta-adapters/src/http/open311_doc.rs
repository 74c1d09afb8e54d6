//! The OpenAPI description of the Open311 facade ([`super::open311`]): its routes dispatch on
//! the document's name (`/{document}` is `discovery.json`, `services.json` or
//! `requests.json`), so each documented path has a description here, with the shapes the
//! facade writes. The binary nests it under `/open311/v2`.

#![allow(dead_code)] // The types and functions here describe; the facade's handlers serve.

use utoipa::{OpenApi, ToSchema};

/// The Open311 operations, with paths relative to where the facade is nested.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    Api::openapi()
}

#[derive(OpenApi)]
#[openapi(paths(
    discovery,
    services,
    service_definition,
    post_request,
    list_requests,
    one_request
))]
struct Api;

/// A GeoReport error: `code` is the HTTP status.
#[derive(ToSchema)]
#[schema(as = Open311Error)]
struct Refusal {
    code: u16,
    description: String,
}

/// The discovery document.
#[derive(ToSchema)]
#[schema(as = Open311Discovery)]
struct Discovery {
    changeset: String,
    contact: String,
    key_service: String,
    endpoints: Vec<Endpoint>,
}

#[derive(ToSchema)]
#[schema(as = Open311Endpoint)]
struct Endpoint {
    specification: String,
    url: String,
    changeset: String,
    #[schema(rename = "type")]
    #[serde(rename = "type")]
    kind: String,
    formats: Vec<String>,
}

/// One service: an incident type.
#[derive(ToSchema)]
#[schema(as = Open311Service)]
struct Service {
    /// The `tipo`.
    service_code: String,
    service_name: String,
    description: String,
    /// Always `true`: every service has the `urgencia` attribute.
    metadata: bool,
    #[serde(rename = "type")]
    kind: String,
    keywords: String,
    group: String,
}

/// A service's definition: its one attribute, `urgencia`.
#[derive(ToSchema)]
#[schema(as = Open311ServiceDefinition)]
struct ServiceDefinition {
    service_code: String,
    attributes: Vec<Attribute>,
}

#[derive(ToSchema)]
#[schema(as = Open311Attribute)]
struct Attribute {
    variable: bool,
    code: String,
    datatype: String,
    required: bool,
    datatype_description: String,
    order: u32,
    description: String,
    values: Vec<AttributeValue>,
}

#[derive(ToSchema)]
#[schema(as = Open311AttributeValue)]
struct AttributeValue {
    key: String,
    name: String,
}

/// The form of `POST requests.json`.
#[derive(ToSchema)]
struct PostForm {
    /// One of `ALERTA_OPEN311_KEYS`.
    api_key: String,
    /// The `tipo`.
    service_code: String,
    description: Option<String>,
    /// The `ubicacion`; or `lat` and `long`.
    address_string: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    /// `baja`, `media` (when absent), `alta` or `critica`.
    #[serde(rename = "attribute[urgencia]")]
    urgency: Option<String>,
    /// Accepted and not stored, as are `first_name`, `last_name`, `phone`, `device_id` and
    /// `account_id`.
    email: Option<String>,
}

/// What a post answers.
#[derive(ToSchema)]
#[schema(as = Open311Created)]
struct Created {
    service_request_id: String,
    service_notice: String,
    account_id: Option<String>,
}

/// A request: an incident as GeoReport shows it, without its reporter.
#[derive(ToSchema)]
#[schema(as = Open311Request)]
struct ServiceRequest {
    service_request_id: String,
    /// `open` until the incident is `resuelto`.
    #[schema(pattern = "^(open|closed)$")]
    status: String,
    /// The note of its last status change (single-request route only; `null` in lists).
    status_notes: Option<String>,
    service_name: String,
    service_code: String,
    description: String,
    /// Its department.
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: String,
    expected_datetime: Option<String>,
    address: String,
    address_id: Option<String>,
    zipcode: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    media_url: Option<String>,
}

/// The discovery document.
#[utoipa::path(get, path = "/discovery.json", tag = "open311",
    responses((status = 200, description = "Where and how to use this endpoint.", body = Discovery)))]
fn discovery() {}

/// One service per incident type.
#[utoipa::path(get, path = "/services.json", tag = "open311",
    responses((status = 200, description = "The services.", body = Vec<Service>)))]
fn services() {}

/// A service's definition.
#[utoipa::path(get, path = "/services/{code}.json", tag = "open311",
    params(("code" = String, Path, description = "The `service_code`.")),
    responses(
        (status = 200, description = "Its one optional attribute, `urgencia`.", body = ServiceDefinition),
        (status = 400, description = "A format other than `.json`.", body = Vec<Refusal>),
        (status = 404, description = "No such service.", body = Vec<Refusal>),
    ))]
fn service_definition() {}

/// Reports an incident as the Open311 account.
#[utoipa::path(post, path = "/requests.json", tag = "open311",
    request_body(content = inline(PostForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, description = "The new request's id.", body = Vec<Created>),
        (status = 400, description = "A bad or missing field.", body = Vec<Refusal>),
        (status = 403, description = "No or an unknown `api_key`.", body = Vec<Refusal>),
    ))]
fn post_request() {}

/// Up to 1,000 requests, newest first; the last 90 days unless the dates say otherwise.
#[utoipa::path(get, path = "/requests.json", tag = "open311",
    params(
        ("service_request_id" = Option<String>, Query, description = "Ids, comma-separated."),
        ("service_code" = Option<String>, Query, description = "Only this service."),
        ("start_date" = Option<String>, Query, description = "RFC 3339; 90 days before `end_date` when absent."),
        ("end_date" = Option<String>, Query, description = "RFC 3339; now when absent."),
        ("status" = Option<String>, Query, description = "`open` or `closed`."),
    ),
    responses(
        (status = 200, description = "The requests.", body = Vec<ServiceRequest>),
        (status = 400, description = "A bad date or status.", body = Vec<Refusal>),
    ))]
fn list_requests() {}

/// One request.
#[utoipa::path(get, path = "/requests/{id}.json", tag = "open311",
    params(("id" = String, Path, description = "The `service_request_id`.")),
    responses(
        (status = 200, description = "The request, alone in a list.", body = Vec<ServiceRequest>),
        (status = 404, description = "No such request.", body = Vec<Refusal>),
    ))]
fn one_request() {}
