//! Replies checked against an OpenAPI document with `jsonschema`, strictly: the schema the
//! document gives is made self-contained (every `$ref` inlined, every `allOf` merged) and
//! every object closed, so that a field the document does not name fails. Shared with the
//! binary's tests, which include this file.

use serde_json::{Map, Value, json};

/// The schema the document gives for a reply, made self-contained and strict: every `$ref`
/// inlined, every `allOf` merged, and every object closed (`additionalProperties: false`),
/// so that a field the document does not name fails.
pub fn reply_schema(doc: &Value, method: &str, template: &str, status: u16) -> Value {
    let operation = &doc["paths"][template][method];
    assert!(
        operation.is_object(),
        "{} {template} is not documented",
        method.to_uppercase()
    );
    let response = &operation["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{} {template} answered {status}, which its documentation does not list",
        method.to_uppercase()
    );
    let schema = response["content"]["application/json"]["schema"].clone();
    assert!(
        !schema.is_null(),
        "{} {template} {status} has no JSON schema",
        method.to_uppercase()
    );
    strict(doc, &schema)
}

fn strict(doc: &Value, schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    if let Some(Value::String(target)) = map.get("$ref") {
        let pointer = target.trim_start_matches('#');
        let target = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no {pointer}"));
        return strict(doc, target);
    }
    if let Some(Value::Array(members)) = map.get("allOf") {
        let members: Vec<Value> = members.iter().map(|m| strict(doc, m)).collect();
        return merge_all(&members);
    }
    let mut out: Map<String, Value> = map
        .iter()
        .map(|(k, v)| {
            let v = match k.as_str() {
                "properties" => Value::Object(
                    v.as_object()
                        .unwrap()
                        .iter()
                        .map(|(name, s)| (name.clone(), strict(doc, s)))
                        .collect(),
                ),
                "items" | "additionalProperties" => strict(doc, v),
                "oneOf" | "anyOf" => Value::Array(
                    v.as_array()
                        .unwrap()
                        .iter()
                        .map(|s| strict(doc, s))
                        .collect(),
                ),
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect();
    if out.contains_key("properties") && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

/// One object holding the properties of every member; a member that is a `oneOf` of objects
/// gives one alternative per branch.
fn merge_all(members: &[Value]) -> Value {
    let mut alternatives = vec![Map::new()];
    for member in members {
        let branches: Vec<&Value> = match member.get("oneOf") {
            Some(Value::Array(branches)) => branches.iter().collect(),
            _ => vec![member],
        };
        alternatives = alternatives
            .iter()
            .flat_map(|alt| branches.iter().map(move |b| merge(alt, b)))
            .collect();
    }
    let mut objects: Vec<Value> = alternatives.into_iter().map(Value::Object).collect();
    if objects.len() == 1 {
        objects.remove(0)
    } else {
        json!({ "oneOf": objects })
    }
}

fn merge(into: &Map<String, Value>, member: &Value) -> Map<String, Value> {
    let mut out = into.clone();
    out.insert("type".into(), json!("object"));
    out.insert("additionalProperties".into(), Value::Bool(false));
    let properties = out
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .unwrap();
    if let Some(Value::Object(more)) = member.get("properties") {
        properties.extend(more.clone());
    }
    let mut required: Vec<Value> = out
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Array(more)) = member.get("required") {
        required.extend(more.iter().cloned());
    }
    out.insert("required".into(), Value::Array(required));
    out
}

/// Checks a reply against `doc`: its status is documented for the operation, and its body
/// (`empty` when it had none) matches the schema given for that status.
#[track_caller]
pub fn check_reply(
    doc: &Value,
    method: &str,
    template: &str,
    status: u16,
    body: &Value,
    empty: bool,
) {
    let response = &doc["paths"][template][method]["responses"][status.to_string()];
    if response.is_object() && response.get("content").is_none() {
        assert!(
            empty,
            "{method} {template}: a body where none is documented"
        );
        return;
    }
    let schema = reply_schema(doc, method, template, status);
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("the schema of {method} {template} compiles: {e}\n{schema}"));
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} {template} {} does not match its schema: {errors:#?}\nbody: {}",
        method.to_uppercase(),
        status,
        body
    );
}
