//! The replies a route's declaration implies, added to the document where the route does not
//! declare its own, so that each route states a fact once:
//!
//! - its `security`: a 401 wherever a token is required, and a 403 where the `session`
//!   requirement names a role (`security(("session" = ["admin"]))`, as OpenAPI 3.1 allows for
//!   bearer schemes);
//! - its path parameter read as a [`Named`](super::query::Named) thing: a 404 for a path that
//!   names none (`<what>_not_found`);
//! - what it reads from the request: a 400 naming its query parameters, body fields and
//!   `Idempotency-Key`, and a query string, body or path that cannot be read at all;
//! - its `Idempotency-Key` header: a 409 for a key used for another request, added to the
//!   route's own 409 where it declares one.

use std::collections::BTreeMap;

use alerta_core::domain::Role;
use serde_json::Value;
use utoipa::openapi::path::{Operation, Parameter, ParameterIn};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{OpenApi, RefOr, Response, Schema};

use super::idempotency::HEADER as IDEMPOTENCY_HEADER;
use super::openapi::{SESSION, error_reply};
use super::query::NAMES_EXTENSION;

/// The 403 of a route whose `session` requirement names `role` (its wire name) as its scope.
fn refusal_of(role: &str) -> Option<&'static str> {
    match Role::parse(role).ok()? {
        Role::Admin => Some("Not an admin."),
        Role::Staff => Some("Not staff or admin."),
        Role::Student => None,
    }
}

/// Adds to every operation of `doc` the replies its declaration implies.
pub(super) fn add(doc: &mut OpenApi) {
    let no_schemas = BTreeMap::new();
    let schemas = doc.components.as_ref().map_or(&no_schemas, |c| &c.schemas);
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let named = take_named(operation);
            let inputs = inputs_of(operation, schemas);
            let replies = &mut operation.responses.responses;
            for (status, description) in refusals_of(operation.security.as_deref()) {
                replies
                    .entry(status.to_owned())
                    .or_insert_with(|| error_reply(description));
            }
            for what in named {
                replies.entry("404".to_owned()).or_insert_with(|| {
                    error_reply(&format!("No such {what} (`{what}_not_found`)."))
                });
            }
            if let Some(bad_input) = bad_input(&inputs) {
                replies
                    .entry("400".to_owned())
                    .or_insert_with(|| error_reply(&bad_input));
            }
            if inputs.idempotent {
                add_reused_key(replies);
            }
        }
    }
}

/// What the path parameters of `operation` read as [`Named`](super::query::Named) name
/// (`incident`, ...), taking the extension that says so out of the document.
fn take_named(operation: &mut Operation) -> Vec<String> {
    let mut named = Vec::new();
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let Some(extensions) = &mut parameter.extensions else {
            continue;
        };
        if let Some(Value::String(what)) = extensions.remove(NAMES_EXTENSION) {
            named.push(what);
        }
        if extensions.is_empty() {
            parameter.extensions = None;
        }
    }
    named
}

/// What a request to an operation carries that the server checks.
struct Inputs {
    /// The query parameters' and JSON body fields' wire names, in that order.
    names: Vec<String>,
    /// Whether it reads query parameters.
    query: bool,
    /// Whether it reads path parameters.
    path: bool,
    /// Whether it reads a JSON body.
    json_body: bool,
    /// Whether it takes an `Idempotency-Key`.
    idempotent: bool,
}

fn inputs_of(operation: &Operation, schemas: &BTreeMap<String, RefOr<Schema>>) -> Inputs {
    let parameters: Vec<&Parameter> = operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(parameter) => Some(parameter),
            RefOr::Ref(_) => None,
        })
        .collect();
    let mut names: Vec<String> = parameters
        .iter()
        .filter(|p| p.parameter_in == ParameterIn::Query)
        .map(|p| p.name.clone())
        .collect();
    let query = !names.is_empty();
    let path = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Path);
    let idempotent = parameters
        .iter()
        .any(|p| p.parameter_in == ParameterIn::Header && p.name == IDEMPOTENCY_HEADER);
    let json = operation.request_body.as_ref().and_then(|body| match body {
        RefOr::T(body) => body.content.get("application/json"),
        RefOr::Ref(_) => None,
    });
    let schema = match json {
        Some(RefOr::T(content)) => content.schema.as_ref(),
        _ => None,
    };
    let schema = match schema {
        Some(RefOr::Ref(reference)) => reference
            .ref_location
            .rsplit('/')
            .next()
            .and_then(|name| schemas.get(name)),
        other => other,
    };
    if let Some(RefOr::T(Schema::Object(object))) = schema {
        names.extend(object.properties.keys().cloned());
    }
    Inputs {
        names,
        query,
        path,
        json_body: json.is_some(),
        idempotent,
    }
}

/// The 401 and 403 an operation's security requirements imply.
fn refusals_of(requirements: Option<&[SecurityRequirement]>) -> Vec<(&'static str, &'static str)> {
    let schemes: Vec<Value> = requirements
        .unwrap_or_default()
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    let mut refusals = Vec::new();
    if schemes
        .iter()
        .any(|s| s.as_object().is_some_and(|o| !o.is_empty()))
    {
        refusals.push(("401", "No token or a bad one."));
    }
    let refusal = schemes.iter().find_map(|scheme| {
        let scopes = scheme.get(SESSION)?.as_array()?;
        scopes.iter().find_map(|scope| refusal_of(scope.as_str()?))
    });
    refusals.extend(refusal.map(|refusal| ("403", refusal)));
    refusals
}

/// The 400 of an operation that reads `inputs`: "A bad `state` or `limit`."
fn bad_input(inputs: &Inputs) -> Option<String> {
    let mut names: Vec<String> = inputs.names.iter().map(|n| format!("`{n}`")).collect();
    if inputs.idempotent {
        names.push(format!("`{IDEMPOTENCY_HEADER}`"));
    }
    let mut clauses = Vec::new();
    if let Some(last) = names.pop() {
        clauses.push(match names.is_empty() {
            true => format!("a bad {last}"),
            false => format!("a bad {} or {last}", names.join(", ")),
        });
    }
    if inputs.json_body {
        clauses.push(
            "a body that is not JSON (`malformed_json`) or not an object (`invalid_body`)".into(),
        );
    }
    if inputs.query {
        clauses.push("a query string that cannot be read (`invalid_query`)".into());
    }
    if inputs.path {
        clauses.push("a path that cannot be read (`invalid_path`)".into());
    }
    let mut sentence = clauses.join(", or ");
    sentence.get_mut(..1)?.make_ascii_uppercase();
    Some(format!("{sentence}."))
}

/// Adds a reused idempotency key to the 409 of `replies`, or the 409 itself.
fn add_reused_key(replies: &mut BTreeMap<String, RefOr<Response>>) {
    const CODE: &str = "idempotency_key_reused";
    let reused = format!("the `{IDEMPOTENCY_HEADER}` was used for another request (`{CODE}`).");
    match replies.get_mut("409") {
        Some(RefOr::T(conflict)) if !conflict.description.contains(CODE) => {
            let own = conflict.description.trim_end_matches('.');
            conflict.description = format!("{own}; or {reused}");
        }
        Some(_) => {}
        None => {
            let mut sentence = reused;
            sentence[..1].make_ascii_uppercase();
            replies.insert("409".to_owned(), error_reply(&sentence));
        }
    }
}
