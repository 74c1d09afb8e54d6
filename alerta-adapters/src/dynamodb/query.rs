//! Reading many items: queries followed page by page, merged across partitions, whole-table
//! scans, and batch reads and deletes that finish what DynamoDB left unprocessed.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use alerta_core::Result;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, Select, WriteRequest,
};

use super::error::{self, request};
use super::item::{Item, s};

/// Which way a partition is read along its sort key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    /// Oldest id first.
    Ascending,
    /// Newest id first.
    Descending,
}

/// A query and the values its expressions name, built up condition by condition.
#[derive(Clone, Debug, Default)]
pub(super) struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    filters: Vec<String>,
}

impl Expression {
    pub(super) fn new() -> Self {
        Self::default()
    }

    /// Names attribute `name` as `#name` in expressions, which keeps reserved words usable.
    pub(super) fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    /// Binds `value` as `:key`.
    pub(super) fn value(&mut self, key: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{key}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// Adds `attribute = value` to the filter.
    pub(super) fn filter_equals(&mut self, attribute: &str, value: &str) {
        let name = self.name(attribute);
        let value = self.value(&format!("f_{attribute}"), s(value));
        self.filters.push(format!("{name} = {value}"));
    }

    /// Adds "`attribute` contains `needle`" to the filter.
    pub(super) fn filter_contains(&mut self, attribute: &str, needle: &str) {
        let name = self.name(attribute);
        let value = self.value(&format!("f_{attribute}"), s(needle));
        self.filters.push(format!("contains({name}, {value})"));
    }

    /// Adds a condition written by the caller over names and values bound here.
    pub(super) fn with_filter(mut self, condition: String) -> Self {
        self.filters.push(condition);
        self
    }

    fn filter(&self) -> Option<String> {
        (!self.filters.is_empty()).then(|| self.filters.join(" AND "))
    }

    /// The names and values bound, for a request that takes them whole.
    pub(super) fn into_parts(self) -> (HashMap<String, String>, HashMap<String, AttributeValue>) {
        (self.names, self.values)
    }
}

/// The query of a partition of a table or index whose sort key is an id, whichever partition
/// it is given.
#[derive(Clone)]
pub(super) struct PartitionQuery<'a> {
    pub(super) table: &'a str,
    pub(super) index: Option<&'a str>,
    pub(super) partition_attribute: &'a str,
    pub(super) sort_attribute: &'a str,
    /// Only ids after this one (ascending) or before it (descending).
    pub(super) start_after: Option<String>,
    pub(super) order: Order,
    /// Filters on attributes other than the keys.
    pub(super) filter: Expression,
    /// How many items to evaluate per request.
    pub(super) page_size: usize,
}

impl PartitionQuery<'_> {
    fn build(self, client: &Client, partition: String) -> QueryFluentBuilder {
        let mut expression = self.filter;
        let pk = expression.name(self.partition_attribute);
        let pv = expression.value("partition", s(partition));
        let mut key_condition = format!("{pk} = {pv}");
        if let Some(start) = self.start_after {
            let sk = expression.name(self.sort_attribute);
            let sv = expression.value("start", s(start));
            let op = match self.order {
                Order::Ascending => ">",
                Order::Descending => "<",
            };
            key_condition.push_str(&format!(" AND {sk} {op} {sv}"));
        }
        let page_size = i32::try_from(self.page_size.clamp(1, 1000)).unwrap_or(1000);
        client
            .query()
            .table_name(self.table)
            .set_index_name(self.index.map(str::to_owned))
            .key_condition_expression(key_condition)
            .set_filter_expression(expression.filter())
            .set_expression_attribute_names(Some(expression.names))
            .set_expression_attribute_values(Some(expression.values))
            .scan_index_forward(self.order == Order::Ascending)
            .limit(page_size)
    }
}

/// How many items of `partition` match `query`: DynamoDB counts them and sends none.
pub(super) async fn count_partition(
    client: &Client,
    query: PartitionQuery<'_>,
    partition: String,
) -> Result<u64> {
    let counting = query.build(client, partition).select(Select::Count);
    let mut next_key = None;
    let mut total = 0;
    loop {
        let out = counting
            .clone()
            .set_exclusive_start_key(next_key)
            .send()
            .await
            .map_err(|e| request("query", e))?;
        total += u64::try_from(out.count).unwrap_or(0);
        next_key = out.last_evaluated_key.filter(|key| !key.is_empty());
        if next_key.is_none() {
            return Ok(total);
        }
    }
}

/// One partition read lazily in sort-key order, following `LastEvaluatedKey` as needed.
pub(super) struct Partition {
    request: QueryFluentBuilder,
    buffer: VecDeque<Item>,
    next_key: Option<Item>,
    exhausted: bool,
    /// Where the read ends early: an attribute and a test of its value that is true from
    /// the first item past the end.
    stop: Option<(String, StopTest)>,
}

type StopTest = Box<dyn Fn(&str) -> bool + Send + Sync>;

impl Partition {
    /// The read of `partition` by `query`.
    pub(super) fn new(client: &Client, query: PartitionQuery<'_>, partition: String) -> Self {
        Self {
            request: query.build(client, partition),
            buffer: VecDeque::new(),
            next_key: None,
            exhausted: false,
            stop: None,
        }
    }

    /// A descending read that ends before the first item whose `attribute` is not greater
    /// than `value` (the `since` of a list that also has a cursor).
    pub(super) fn with_floor(mut self, attribute: &str, value: String) -> Self {
        self.stop = Some((attribute.to_owned(), Box::new(move |v| v <= value.as_str())));
        self
    }

    /// An ascending read that ends before the first item whose `attribute` is greater than
    /// `value`.
    pub(super) fn with_ceiling(mut self, attribute: &str, value: String) -> Self {
        self.stop = Some((attribute.to_owned(), Box::new(move |v| v > value.as_str())));
        self
    }

    /// Reads only the attributes `projection` names (placeholders the query's expression
    /// bound with [`Expression::name`]).
    pub(super) fn with_projection(mut self, projection: String) -> Self {
        self.request = self.request.projection_expression(projection);
        self
    }

    /// The next item, reading another page when the buffer is empty.
    pub(super) async fn next(&mut self) -> Result<Option<Item>> {
        self.fill().await?;
        Ok(self.buffer.pop_front())
    }

    /// Makes sure an item is buffered unless the partition is read to its end.
    async fn fill(&mut self) -> Result<()> {
        while self.buffer.is_empty() && !self.exhausted {
            let out = self
                .request
                .clone()
                .set_exclusive_start_key(self.next_key.take())
                .send()
                .await
                .map_err(|e| request("query", e))?;
            self.next_key = out.last_evaluated_key.filter(|key| !key.is_empty());
            self.exhausted = self.next_key.is_none();
            for item in out.items.unwrap_or_default() {
                if let Some((attribute, past_end)) = &self.stop {
                    let reached = item
                        .get(attribute)
                        .and_then(|v| v.as_s().ok())
                        .is_none_or(|value| past_end(value));
                    if reached {
                        self.exhausted = true;
                        self.next_key = None;
                        break;
                    }
                }
                self.buffer.push_back(item);
            }
        }
        Ok(())
    }
}

fn sort_value<'a>(item: &'a Item, attribute: &str) -> &'a str {
    item.get(attribute)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// Up to `take` items of `query` across `partitions`, merged in its order: a list with no
/// single partition to start from.
pub(super) async fn merge_partitions(
    client: &Client,
    query: &PartitionQuery<'_>,
    partitions: impl IntoIterator<Item = String>,
    take: usize,
) -> Result<Vec<Item>> {
    let reads = partitions
        .into_iter()
        .map(|partition| Partition::new(client, query.clone(), partition))
        .collect();
    merge(reads, query.sort_attribute, query.order, take).await
}

/// Up to `take` items from `partitions`, merged by the string attribute `sort_attribute` in
/// `order`. Each partition must already be read in that order.
pub(super) async fn merge(
    mut partitions: Vec<Partition>,
    sort_attribute: &str,
    order: Order,
    take: usize,
) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    while out.len() < take {
        let mut best: Option<usize> = None;
        for n in 0..partitions.len() {
            partitions[n].fill().await?;
            let Some(head) = partitions[n].buffer.front() else {
                continue;
            };
            let better = match best {
                None => true,
                Some(b) => {
                    let current = sort_value(head, sort_attribute);
                    let leader = partitions[b]
                        .buffer
                        .front()
                        .map_or("", |item| sort_value(item, sort_attribute));
                    match order {
                        Order::Ascending => current < leader,
                        Order::Descending => current > leader,
                    }
                }
            };
            if better {
                best = Some(n);
            }
        }
        let Some(best) = best else { break };
        if let Some(item) = partitions[best].buffer.pop_front() {
            out.push(item);
        }
    }
    Ok(out)
}

/// Every item of one partition of a table (no index), strongly consistent, in sort order.
pub(super) async fn whole_partition(
    client: &Client,
    table: &str,
    partition_attribute: &str,
    partition: &str,
) -> Result<Vec<Item>> {
    let mut expression = Expression::new();
    let pk = expression.name(partition_attribute);
    let pv = expression.value("partition", s(partition));
    let mut items = Vec::new();
    let mut next_key: Option<Item> = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .key_condition_expression(format!("{pk} = {pv}"))
            .set_expression_attribute_names(Some(expression.names.clone()))
            .set_expression_attribute_values(Some(expression.values.clone()))
            .consistent_read(true)
            .set_exclusive_start_key(next_key.take())
            .send()
            .await
            .map_err(|e| request("query", e))?;
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key.filter(|key| !key.is_empty()) {
            Some(key) => next_key = Some(key),
            None => return Ok(items),
        }
    }
}

/// What a scan reads and keeps.
#[derive(Default)]
pub(super) struct ScanOptions<'a> {
    /// Only these attributes.
    pub(super) attributes: &'a [&'a str],
    /// A filter over the names and values of `filter`.
    pub(super) filter: Option<(String, Expression)>,
}

/// Every item of a table, strongly consistent, following `LastEvaluatedKey` to the end.
pub(super) async fn scan_all(
    client: &Client,
    table: &str,
    options: ScanOptions<'_>,
) -> Result<Vec<Item>> {
    let (filter, mut expression) = match options.filter {
        Some((filter, expression)) => (Some(filter), expression),
        None => (None, Expression::new()),
    };
    let projection = (!options.attributes.is_empty()).then(|| {
        options
            .attributes
            .iter()
            .map(|a| expression.name(a))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let names = (!expression.names.is_empty()).then_some(expression.names);
    let values = (!expression.values.is_empty()).then_some(expression.values);
    let mut items = Vec::new();
    let mut next_key: Option<Item> = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_projection_expression(projection.clone())
            .set_filter_expression(filter.clone())
            .set_expression_attribute_names(names.clone())
            .set_expression_attribute_values(values.clone())
            .consistent_read(true)
            .set_exclusive_start_key(next_key.take())
            .send()
            .await
            .map_err(|e| request("scan", e))?;
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key.filter(|key| !key.is_empty()) {
            Some(key) => next_key = Some(key),
            None => return Ok(items),
        }
    }
}

/// The most keys one `BatchGetItem` takes.
pub(super) const BATCH_GET_MAX: usize = 100;

/// How often unprocessed keys are asked for again before the store gives up.
const BATCH_GET_ATTEMPTS: u32 = 8;

/// Reads the items with `keys` from `table` with strongly consistent reads, `BatchGetItem`
/// by `BatchGetItem`, asking again (with growing pauses) for what DynamoDB leaves
/// unprocessed. Keys must be distinct; keys with no item are left out, and the items come
/// in no particular order. `projection` names the attributes to read (all when empty).
pub(super) async fn get_all(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    projection: &[&str],
) -> Result<Vec<Item>> {
    let mut items = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(BATCH_GET_MAX) {
        let mut wanted = KeysAndAttributes::builder()
            .set_keys(Some(chunk.to_vec()))
            .consistent_read(true);
        if !projection.is_empty() {
            let names: Vec<String> = (0..projection.len()).map(|i| format!("#p{i}")).collect();
            wanted = wanted.projection_expression(names.join(", "));
            for (name, attribute) in names.iter().zip(projection) {
                wanted = wanted.expression_attribute_names(name, *attribute);
            }
        }
        let mut pending = Some(wanted.build().map_err(error::build)?);
        let mut attempt = 0;
        while let Some(request_keys) = pending.take() {
            if attempt == BATCH_GET_ATTEMPTS {
                return Err(error::other(format!(
                    "keys of {table} stayed unprocessed after {attempt} attempts"
                )));
            }
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            attempt += 1;
            let out = client
                .batch_get_item()
                .request_items(table, request_keys)
                .send()
                .await
                .map_err(|e| request("batch_get_item", e))?;
            items.extend(
                out.responses
                    .and_then(|mut found| found.remove(table))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .and_then(|mut left| left.remove(table))
                .filter(|keys| !keys.keys().is_empty());
        }
    }
    Ok(items)
}

/// The most requests one `BatchWriteItem` takes.
const BATCH_WRITE_MAX: usize = 25;

/// How often unprocessed items are sent again before the store gives up.
const BATCH_WRITE_ATTEMPTS: u32 = 8;

/// Deletes the items with `keys` from `table`, retrying what DynamoDB leaves unprocessed
/// (under throttling) with growing pauses.
pub(super) async fn delete_all(client: &Client, table: &str, keys: Vec<Item>) -> Result<()> {
    let mut requests = Vec::with_capacity(keys.len());
    for key in keys {
        let delete = DeleteRequest::builder()
            .set_key(Some(key))
            .build()
            .map_err(error::build)?;
        requests.push(WriteRequest::builder().delete_request(delete).build());
    }
    for chunk in requests.chunks(BATCH_WRITE_MAX) {
        let mut pending = chunk.to_vec();
        let mut attempt = 0;
        while !pending.is_empty() {
            if attempt == BATCH_WRITE_ATTEMPTS {
                return Err(error::other(format!(
                    "{} deletes from {table} stayed unprocessed after {attempt} attempts",
                    pending.len()
                )));
            }
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt)).await;
            }
            attempt += 1;
            let out = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(|e| request("batch_write_item", e))?;
            pending = out
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
        }
    }
    Ok(())
}

/// The pause before retry `attempt` (1, 2, ...): doubling from 25 ms up to about 3 s, with
/// some jitter so that writers throttled together do not retry together.
pub(super) fn backoff(attempt: u32) -> Duration {
    let base = 25u64 << attempt.min(7);
    let jitter = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0),
    ) % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
}
