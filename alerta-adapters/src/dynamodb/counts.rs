//! The counts behind `GET /staff/stats`, `GET /stats` and `GET /events/stats`: kept in the
//! `Contadores` table, changed in the same transaction as what they count.
//!
//! One item per kind of count (`nombre` = `incidentes` or `alertas`) holds one number
//! attribute per count, named by its path in the counts' JSON form: `total`,
//! `por_estado.pendiente`, `por_departamento.TI`, `by_severity.error`, ... A write adds the
//! difference it makes (`ADD`, which starts a missing attribute at 0); reading is one
//! strongly consistent `GetItem`. Naming counts by their JSON path keeps this module free of
//! the counts' fields: a new status, type or department needs nothing here.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use alerta_core::Result;
use alerta_core::domain::{Alert, AlertCounts, Incident, IncidentCounts};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::unreadable;
use super::item::{Item, ItemBuilder, n, s};
use super::keyed::key;
use super::query::{self, ScanOptions};
use super::{DynamoStore, alerts, incidents, transaction};

/// The key attribute of the counts table.
const NAME: &str = "nombre";

/// Which counts an item holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Counted {
    Incidents,
    Alerts,
}

impl Counted {
    fn name(self) -> &'static str {
        match self {
            Self::Incidents => "incidentes",
            Self::Alerts => "alertas",
        }
    }
}

/// Counts as numbers by JSON path, with no zero among them: what one write adds, or what an
/// item holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Tally(BTreeMap<String, i64>);

impl Tally {
    /// The numbers of `counts`: each top-level number under its name, each number of a
    /// top-level map as `map.key`.
    pub(super) fn of(counts: &impl Serialize) -> Result<Self> {
        let value = serde_json::to_value(counts).map_err(|e| unreadable("counts", e))?;
        let Value::Object(fields) = value else {
            return Err(unreadable("counts", "they are not a JSON object"));
        };
        let mut tally = Self::default();
        for (field, value) in fields {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        tally.add(format!("{field}.{key}"), number(&value)?);
                    }
                }
                value => tally.add(field, number(&value)?),
            }
        }
        Ok(tally)
    }

    /// What counting `incident` adds.
    pub(super) fn incident(incident: &Incident) -> Result<Self> {
        let mut counts = IncidentCounts::default();
        counts.add(incident);
        Self::of(&counts)
    }

    /// What counting `alert` adds.
    pub(super) fn alert(alert: &Alert) -> Result<Self> {
        let mut counts = AlertCounts::default();
        counts.add(alert);
        Self::of(&counts)
    }

    fn add(&mut self, path: String, amount: i64) {
        match self.0.entry(path) {
            Entry::Occupied(mut total) => {
                *total.get_mut() += amount;
                if *total.get() == 0 {
                    total.remove();
                }
            }
            Entry::Vacant(total) => {
                if amount != 0 {
                    total.insert(amount);
                }
            }
        }
    }

    /// This tally with `other` added.
    pub(super) fn plus(mut self, other: Self) -> Self {
        for (path, amount) in other.0 {
            self.add(path, amount);
        }
        self
    }

    /// This tally with `other` taken away.
    pub(super) fn minus(self, other: Self) -> Self {
        self.plus(other.negated())
    }

    /// Every number with its sign turned.
    pub(super) fn negated(self) -> Self {
        Self(self.0.into_iter().map(|(path, n)| (path, -n)).collect())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The update that adds this tally.
    fn addition(&self) -> Addition {
        let mut terms = Vec::with_capacity(self.0.len());
        let mut addition = Addition::default();
        for (i, (path, amount)) in self.0.iter().enumerate() {
            // Placeholders, since paths hold any character a department name may.
            terms.push(format!("#c{i} :c{i}"));
            addition.names.push((format!("#c{i}"), path.clone()));
            addition.values.push((format!(":c{i}"), n(amount)));
        }
        addition.expression = format!("ADD {}", terms.join(", "));
        addition
    }
}

/// An `ADD` update expression with the attribute names and values its placeholders stand
/// for.
#[derive(Default)]
struct Addition {
    expression: String,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

fn number(value: &Value) -> Result<i64> {
    value
        .as_i64()
        .ok_or_else(|| unreadable("counts", format!("{value} is not a whole number")))
}

/// `empty` (the counts of nothing, with the keys that are always shown) with the numbers of
/// `item` set on it. Counts that went back to 0 are left out, as counting from scratch
/// would leave them.
fn counts_from_item<T: Serialize + DeserializeOwned>(item: &Item, empty: T) -> Result<T> {
    let mut value = serde_json::to_value(empty).map_err(|e| unreadable("counts", e))?;
    for (path, attribute) in item {
        if path == NAME {
            continue;
        }
        let AttributeValue::N(text) = attribute else {
            return Err(unreadable("counts", format!("{path} is not a number")));
        };
        let amount: i64 = text
            .parse()
            .map_err(|_| unreadable("counts", format!("{path} is not a whole number")))?;
        match path.split_once('.') {
            Some(_) if amount == 0 => {}
            Some((field, key)) => {
                value[field][key] = amount.into();
            }
            None => value[path.as_str()] = amount.into(),
        }
    }
    serde_json::from_value(value).map_err(|e| unreadable("counts", e))
}

/// The counts item of `counted` holding `tally`.
fn counts_item(counted: Counted, tally: &Tally) -> Item {
    let mut item = ItemBuilder::new().set(NAME, s(counted.name()));
    for (path, amount) in &tally.0 {
        item = item.set(path, n(amount));
    }
    item.build()
}

impl DynamoStore {
    /// The transaction item that adds `tally` to the counts of `counted`; none when it adds
    /// nothing, so a write that changes no count takes no room in its transaction.
    pub(super) fn count_item(
        &self,
        counted: Counted,
        tally: &Tally,
    ) -> Result<Option<TransactWriteItem>> {
        if tally.is_empty() {
            return Ok(None);
        }
        let addition = tally.addition();
        let names: Vec<(&str, &str)> = addition
            .names
            .iter()
            .map(|(placeholder, path)| (placeholder.as_str(), path.as_str()))
            .collect();
        let values: Vec<(&str, AttributeValue)> = addition
            .values
            .iter()
            .map(|(placeholder, amount)| (placeholder.as_str(), amount.clone()))
            .collect();
        transaction::update(
            &self.names.counters,
            key(&[(NAME, counted.name())]),
            &addition.expression,
            None,
            &names,
            &values,
        )
        .map(Some)
    }

    /// The counts of `counted`, strongly consistent: exact as of the last committed write.
    pub(super) async fn read_counts<T: Serialize + DeserializeOwned>(
        &self,
        counted: Counted,
        empty: T,
    ) -> Result<T> {
        let item = self
            .get(&self.names.counters, key(&[(NAME, counted.name())]))
            .await?;
        match item {
            Some(item) => counts_from_item(&item, empty),
            None => Ok(empty),
        }
    }

    /// Makes each counts item that is missing from what its table holds, with one scan: the
    /// tables of a deployment that kept no counts yet are counted once. Writes made during
    /// the scan by instances that keep counts make the item first, and the scan's result is
    /// then dropped, so the counting is only exact with such writers stopped.
    pub(super) async fn ensure_counts(&self) -> Result<()> {
        self.ensure_count(Counted::Incidents, &self.names.incidents, |item| {
            Tally::incident(&incidents::incident_from_item(item)?)
        })
        .await?;
        self.ensure_count(Counted::Alerts, &self.names.alerts, |item| {
            Tally::alert(&alerts::alert_from_item(item)?)
        })
        .await
    }

    /// Replaces the counts item of `counted` with `tally`: what a move sets them to, from
    /// the counts of the backend it copies.
    pub(super) async fn set_counts(&self, counted: Counted, tally: &Tally) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.names.counters)
            .set_item(Some(counts_item(counted, tally)))
            .send()
            .await
            .map_err(|e| super::error::request("put_item", e))?;
        Ok(())
    }

    /// Makes the counts item of `counted` from the items of `table` if it is missing.
    async fn ensure_count(
        &self,
        counted: Counted,
        table: &str,
        tally_of: impl Fn(&Item) -> Result<Tally>,
    ) -> Result<()> {
        let item_key = key(&[(NAME, counted.name())]);
        if self.get(&self.names.counters, item_key).await?.is_some() {
            return Ok(());
        }
        let mut tally = Tally::default();
        for item in query::scan_all(&self.client, table, ScanOptions::default()).await? {
            tally = tally.plus(tally_of(&item)?);
        }
        self.put_if_absent(&self.names.counters, counts_item(counted, &tally), NAME)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_trip_through_their_item_without_zeros() {
        let mut counts = AlertCounts::new();
        counts.total = 3;
        counts.by_severity.insert("error".into(), 2);
        counts.by_severity.insert("info".into(), 1);
        counts.by_channel.insert("tcp".into(), 3);
        let tally = Tally::of(&counts).unwrap();
        assert_eq!(tally.0.get("by_severity.error"), Some(&2));
        assert!(
            !tally.0.contains_key("by_severity.warning"),
            "zeros are left out: {tally:?}"
        );
        let mut item = ItemBuilder::new().set(NAME, s("alertas"));
        for (path, amount) in &tally.0 {
            item = item.set(path, n(amount));
        }
        let item = item.set("by_channel.http", n(0)).build();
        assert_eq!(counts_from_item(&item, AlertCounts::new()).unwrap(), counts);
    }

    #[test]
    fn a_difference_keeps_only_what_changed() {
        let before = Tally(BTreeMap::from([
            ("total".to_owned(), 1),
            ("por_estado.pendiente".to_owned(), 1),
            ("por_departamento.Dept. TI".to_owned(), 1),
        ]));
        let after = Tally(BTreeMap::from([
            ("total".to_owned(), 1),
            ("por_estado.resuelto".to_owned(), 1),
            ("por_departamento.Dept. TI".to_owned(), 1),
        ]));
        assert_eq!(
            after.minus(before).0,
            BTreeMap::from([
                ("por_estado.pendiente".to_owned(), -1),
                ("por_estado.resuelto".to_owned(), 1),
            ])
        );
        let mut empty = IncidentCounts::new();
        let item = ItemBuilder::new()
            .set("por_departamento.Dept. TI", n(2))
            .set("total", n(2))
            .build();
        empty.total = 2;
        empty.by_department.insert("Dept. TI".into(), 2);
        assert_eq!(
            counts_from_item(&item, IncidentCounts::new()).unwrap(),
            empty,
            "a key holding a dot is read back whole"
        );
    }
}
