//! Items: building attribute values and reading them back into domain values.

use std::collections::HashMap;
use std::str::FromStr;

use alerta_core::domain::Timestamp;
use alerta_core::{Error, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Number, Value};

use super::error::unreadable;

/// One DynamoDB item (or key).
pub(super) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute.
pub(super) fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A time as the wire shows it (RFC 3339 with milliseconds), which round-trips exactly.
pub(super) fn time(at: Timestamp) -> AttributeValue {
    s(at.to_rfc3339())
}

/// Builds an item attribute by attribute, leaving absent values out.
#[derive(Debug, Default)]
pub(super) struct ItemBuilder(Item);

impl ItemBuilder {
    pub(super) fn new() -> Self {
        Self::default()
    }

    pub(super) fn set(mut self, name: &str, value: AttributeValue) -> Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    pub(super) fn set_opt(self, name: &str, value: Option<AttributeValue>) -> Self {
        match value {
            Some(value) => self.set(name, value),
            None => self,
        }
    }

    pub(super) fn build(self) -> Item {
        self.0
    }
}

/// Reads the attributes of one item of kind `what`; a missing or mistyped attribute makes
/// the store unavailable rather than inventing a value.
pub(super) struct Reader<'a> {
    item: &'a Item,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(item: &'a Item, what: &'static str) -> Self {
        Self { item, what }
    }

    fn bad(&self, name: &str, problem: &str) -> Error {
        unreadable(self.what, format!("attribute {name} {problem}"))
    }

    pub(super) fn opt_string(&self, name: &str) -> Result<Option<&'a str>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(text)) => Ok(Some(text)),
            Some(_) => Err(self.bad(name, "is not a string")),
        }
    }

    pub(super) fn string(&self, name: &str) -> Result<&'a str> {
        self.opt_string(name)?
            .ok_or_else(|| self.bad(name, "is missing"))
    }

    pub(super) fn opt_number<T: FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(text)) => text
                .parse()
                .map(Some)
                .map_err(|_| self.bad(name, "is out of range")),
            Some(_) => Err(self.bad(name, "is not a number")),
        }
    }

    pub(super) fn number<T: FromStr>(&self, name: &str) -> Result<T> {
        self.opt_number(name)?
            .ok_or_else(|| self.bad(name, "is missing"))
    }

    /// A string attribute parsed by a domain constructor.
    pub(super) fn parsed<T>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T>) -> Result<T> {
        let text = self.string(name)?;
        parse(text).map_err(|e| self.bad(name, &format!("is not valid: {e}")))
    }

    /// An optional string attribute parsed by a domain constructor.
    pub(super) fn opt_parsed<T>(
        &self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T>,
    ) -> Result<Option<T>> {
        match self.opt_string(name)? {
            Some(text) => parse(text)
                .map(Some)
                .map_err(|e| self.bad(name, &format!("is not valid: {e}"))),
            None => Ok(None),
        }
    }

    pub(super) fn time(&self, name: &str) -> Result<Timestamp> {
        self.parsed(name, Timestamp::parse_rfc3339)
    }

    pub(super) fn opt_time(&self, name: &str) -> Result<Option<Timestamp>> {
        self.opt_parsed(name, Timestamp::parse_rfc3339)
    }

    /// A time kept as epoch milliseconds.
    pub(super) fn opt_millis(&self, name: &str) -> Result<Option<Timestamp>> {
        Ok(self
            .opt_number::<i64>(name)?
            .map(Timestamp::from_unix_millis))
    }

    pub(super) fn millis(&self, name: &str) -> Result<Timestamp> {
        self.number::<i64>(name).map(Timestamp::from_unix_millis)
    }

    /// A list of strings.
    pub(super) fn strings(&self, name: &str) -> Result<Vec<&'a str>> {
        match self.item.get(name) {
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| v.as_s().map(String::as_str))
                .collect::<Result<_, _>>()
                .map_err(|_| self.bad(name, "holds a value that is not a string")),
            Some(AttributeValue::Ss(values)) => Ok(values.iter().map(String::as_str).collect()),
            None => Err(self.bad(name, "is missing")),
            Some(_) => Err(self.bad(name, "is not a list")),
        }
    }

    /// A map or list attribute as JSON.
    pub(super) fn json(&self, name: &str) -> Result<Value> {
        let value = self
            .item
            .get(name)
            .ok_or_else(|| self.bad(name, "is missing"))?;
        to_json(value).map_err(|problem| self.bad(name, &problem))
    }
}

/// A JSON value as an attribute value: objects become maps, arrays lists, `null` a NULL.
pub(super) fn from_json(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(number) => AttributeValue::N(number.to_string()),
        Value::String(text) => AttributeValue::S(text.clone()),
        Value::Array(values) => AttributeValue::L(values.iter().map(from_json).collect()),
        Value::Object(map) => {
            AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
    }
}

/// The JSON value of an attribute value written by [`from_json`] (or by another client).
pub(super) fn to_json(value: &AttributeValue) -> std::result::Result<Value, String> {
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::S(text) => Value::String(text.clone()),
        AttributeValue::N(text) => Value::Number(json_number(text)?),
        AttributeValue::L(values) => {
            Value::Array(values.iter().map(to_json).collect::<Result<_, _>>()?)
        }
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
        AttributeValue::Ss(values) => {
            Value::Array(values.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(values) => Value::Array(
            values
                .iter()
                .map(|t| json_number(t).map(Value::Number))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err("holds a binary or unknown value".to_owned()),
    })
}

fn json_number(text: &str) -> std::result::Result<Number, String> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Number::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Ok(Number::from(u));
    }
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| format!("holds the number {text:?}, which JSON cannot hold"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attribute_values() {
        let value = json!({"de": "pendiente", "a": "en_proceso", "nota": null,
                           "n": [1, -2, 3.5, true, ""], "m": {}});
        assert_eq!(to_json(&from_json(&value)).unwrap(), value);
    }

    #[test]
    fn a_missing_attribute_is_unreadable_not_defaulted() {
        let item = ItemBuilder::new().set("a", s("x")).set("n", n(3)).build();
        let reader = Reader::new(&item, "thing");
        assert_eq!(reader.string("a").unwrap(), "x");
        assert_eq!(reader.number::<u64>("n").unwrap(), 3);
        assert_eq!(reader.opt_string("b").unwrap(), None);
        assert!(matches!(reader.string("b"), Err(Error::Unavailable { .. })));
        assert!(matches!(
            reader.number::<u64>("a"),
            Err(Error::Unavailable { .. })
        ));
    }
}
