//! The report job's ledger: one item per `asignacion` event, leased by a run with a
//! conditional update and marked done in the same transaction as its mail.

use std::collections::HashSet;
use std::time::Duration;

use alerta_core::domain::{EventId, OutboxMail, Timestamp};
use alerta_core::ports::ReportLedger;
use alerta_core::{Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::error::{self, conditional};
use super::item::{Item, ItemBuilder, n, s, time};
use super::query;
use super::transaction::{self, MAX_ITEMS};
use super::{DynamoStore, outbox};

fn key(event: &str) -> Item {
    ItemBuilder::new().set("event_id", s(event)).build()
}

#[async_trait]
impl ReportLedger for DynamoStore {
    async fn claim_assignment(
        &self,
        event: &EventId,
        holder: &str,
        now: Timestamp,
        lease: Duration,
    ) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.names.report_ledger)
            .key("event_id", s(event.as_str()))
            .update_expression("SET #holder = :holder, #lease = :until, #done = :false")
            .condition_expression(
                "attribute_not_exists(#event) OR \
                 (#done = :false AND (#holder = :holder OR #lease <= :now))",
            )
            .expression_attribute_names("#event", "event_id")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_names("#lease", "lease_until")
            .expression_attribute_names("#done", "done")
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":until", n(now.plus(lease).unix_millis()))
            .expression_attribute_values(":now", n(now.unix_millis()))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match conditional("update_item", result)? {
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }

    async fn complete_assignment(
        &self,
        event: &EventId,
        holder: &str,
        mails: Vec<OutboxMail>,
        now: Timestamp,
    ) -> Result<()> {
        let mut ids = HashSet::new();
        if !mails.iter().all(|m| ids.insert(m.id.as_str())) {
            return Err(Error::duplicate("mail"));
        }
        if mails.len() + 1 > MAX_ITEMS {
            return Err(Error::invalid(
                "mails",
                format!("more mail than one DynamoDB transaction holds ({MAX_ITEMS} items)"),
            ));
        }
        let done = Update::builder()
            .table_name(&self.names.report_ledger)
            .set_key(Some(key(event.as_str())))
            .update_expression("SET #done = :true, #completed = :now")
            .condition_expression("#holder = :holder AND #done = :false")
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#completed", "completed_at")
            .expression_attribute_names("#holder", "holder")
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", time(now))
            .expression_attribute_values(":holder", s(holder))
            .build()
            .map_err(error::build)?;
        let mut items = vec![TransactWriteItem::builder().update(done).build()];
        for mail in &mails {
            items.push(transaction::put_new(
                &self.names.outbox,
                outbox::mail_item(mail),
                "id",
            )?);
        }
        match transaction::write(&self.client, items, None).await? {
            Ok(()) => Ok(()),
            Err(cancelled) if cancelled.failed(0) => Err(Error::lease_lost()),
            Err(_) => Err(Error::duplicate("mail")),
        }
    }

    async fn processed_assignments(&self, events: &[EventId]) -> Result<Vec<EventId>> {
        let table = &self.names.report_ledger;
        let mut wanted: Vec<&str> = events.iter().map(EventId::as_str).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let keys = wanted.iter().map(|id| key(id)).collect();
        let items = query::get_all(&self.client, table, keys, &["event_id", "done"]).await?;
        let done: HashSet<&str> = items
            .iter()
            .filter(|item| matches!(item.get("done"), Some(AttributeValue::Bool(true))))
            .filter_map(|item| match item.get("event_id") {
                Some(AttributeValue::S(id)) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        Ok(events
            .iter()
            .filter(|e| done.contains(e.as_str()))
            .cloned()
            .collect())
    }
}
