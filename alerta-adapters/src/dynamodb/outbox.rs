//! The mail outbox: rows written by incident and alert changes, leased by dispatchers one
//! conditional update at a time.

use std::time::Duration;

use alerta_core::domain::{
    Email, MailAbout, MailCause, MailId, MailKind, MailMessage, MailState, OutboxBacklog,
    OutboxMail, Page, PageRequest, Subject, Timestamp,
};
use alerta_core::ports::MailOutbox;
use alerta_core::{Error, Result};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::DynamoStore;
use super::cursor::{self, List};
use super::error::{conditional, unreadable};
use super::item::{Item, ItemBuilder, Reader, n, s, time};
use super::keyed::key;
use super::query::{self, Expression, Order, Partition, PartitionQuery};

pub(super) const BY_DUE: &str = "by_due";
pub(super) const BY_STATE: &str = "by_state";
/// Rows by what they are about (`incident:<id>` or `alert:<id>`), then id. Sparse: rows
/// written before rows recorded their cause are not in it.
pub(super) const BY_ABOUT: &str = "by_about";

/// Present, and true, on a row whose server could not be reached.
const WAITING: &str = "waiting_for_server";

const STATES: [MailState; 4] = MailState::ALL;

/// The sort key of `by_due`: the due time as 20 digits (shifted so that negative times sort
/// too), then the id, so rows due at once come out in id order.
fn due_key(at: Timestamp, id: &str) -> String {
    format!("{}#{id}", due_prefix(at))
}

fn due_prefix(at: Timestamp) -> String {
    // Flipping the sign bit maps i64 order onto u64 order.
    format!("{:020}", (at.unix_millis() as u64) ^ (1 << 63))
}

/// The item of an outbox row.
pub(super) fn mail_item(mail: &OutboxMail) -> Item {
    let to = mail
        .message
        .to
        .iter()
        .map(|address| s(address.as_str()))
        .collect();
    ItemBuilder::new()
        .set("id", s(mail.id.as_str()))
        .set("message_id", s(&mail.message_id))
        .set("to", AttributeValue::L(to))
        .set("subject", s(mail.message.subject.as_str()))
        .set("text", s(&mail.message.text))
        .set("html", s(&mail.message.html))
        .set("state", s(mail.state.as_str()))
        .set("attempts", n(mail.attempts))
        .set("next_attempt_at", n(mail.next_attempt_at.unix_millis()))
        .set("due", s(due_key(mail.next_attempt_at, mail.id.as_str())))
        .set_opt("lease_until", mail.lease_until.map(|t| n(t.unix_millis())))
        .set_opt("last_error", mail.last_error.as_deref().map(s))
        .set("created_at", time(mail.created_at))
        .set("due_at", time(mail.due_at))
        .set_opt("sent_at", mail.sent_at.map(time))
        .set_opt("kind", mail.kind().map(|k| s(k.as_str())))
        .set_opt("about", mail.about().map(|a| s(a.key())))
        .build()
}

fn mail_from_item(item: &Item) -> Result<OutboxMail> {
    let r = Reader::new(item, "mail");
    let to = r
        .strings("to")?
        .into_iter()
        .map(|address| {
            Email::parse(address).map_err(|e| unreadable("mail", format!("recipient: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let cause = match (
        r.opt_parsed("kind", MailKind::parse)?,
        r.opt_parsed("about", MailAbout::parse_key)?,
    ) {
        (Some(kind), Some(about)) => Some(MailCause { kind, about }),
        _ => None,
    };
    Ok(OutboxMail {
        id: r.parsed("id", MailId::parse)?,
        message_id: r.string("message_id")?.to_owned(),
        cause,
        message: MailMessage {
            to,
            subject: Subject::sanitize(r.string("subject")?),
            text: r.string("text")?.to_owned(),
            html: r.string("html")?.to_owned(),
        },
        state: r.parsed("state", MailState::parse)?,
        attempts: r.number("attempts")?,
        next_attempt_at: r.millis("next_attempt_at")?,
        lease_until: r.opt_millis("lease_until")?,
        last_error: r.opt_string("last_error")?.map(str::to_owned),
        created_at: r.time("created_at")?,
        due_at: first_due(&r)?,
        sent_at: r.opt_time("sent_at")?,
    })
}

/// When a row was first due; rows written before rows recorded it were due when written.
fn first_due(r: &Reader<'_>) -> Result<Timestamp> {
    match r.opt_time("due_at")? {
        Some(due) => Ok(due),
        None => r.time("created_at"),
    }
}

/// One conditional update of a row, by id.
struct Update {
    set: Vec<String>,
    remove: Vec<String>,
    expression: Expression,
}

impl Update {
    fn new() -> Self {
        Self {
            set: Vec::new(),
            remove: Vec::new(),
            expression: Expression::new(),
        }
    }

    fn set(mut self, attribute: &str, value: AttributeValue) -> Self {
        let name = self.expression.name(attribute);
        let value = self.expression.value(attribute, value);
        self.set.push(format!("{name} = {value}"));
        self
    }

    fn count_attempt(mut self) -> Self {
        let name = self.expression.name("attempts");
        let one = self.expression.value("one", n(1));
        self.set.push(format!("{name} = {name} + {one}"));
        self
    }

    fn remove(mut self, attribute: &str) -> Self {
        let name = self.expression.name(attribute);
        self.remove.push(name);
        self
    }

    fn text(&self) -> String {
        let mut text = format!("SET {}", self.set.join(", "));
        if !self.remove.is_empty() {
            text.push_str(&format!(" REMOVE {}", self.remove.join(", ")));
        }
        text
    }
}

impl DynamoStore {
    /// Applies `update` to the row `id` if it exists; NotFound otherwise.
    async fn update_mail(&self, id: &MailId, update: Update) -> Result<()> {
        let mut update = update;
        let id_name = update.expression.name("id");
        let text = update.text();
        let (names, values) = update.expression.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.names.outbox)
            .key("id", s(id.as_str()))
            .update_expression(text)
            .condition_expression(format!("attribute_exists({id_name})"))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        match conditional("update_item", result)? {
            Some(_) => Ok(()),
            None => Err(Error::NotFound("mail")),
        }
    }

    /// Leases the row `id` until `until` if it is still pending, due at `now` and not leased;
    /// the row as leased, or `None` when another dispatcher was first.
    async fn lease(
        &self,
        id: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Option<OutboxMail>> {
        let mut e = Expression::new();
        let state = e.name("state");
        let next = e.name("next_attempt_at");
        let lease = e.name("lease_until");
        let pending = e.value("pending", s(MailState::Pending.as_str()));
        let now_v = e.value("now", n(now.unix_millis()));
        let until_v = e.value("until", n(until.unix_millis()));
        let (names, values) = e.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.names.outbox)
            .key("id", s(id))
            .update_expression(format!("SET {lease} = {until_v}"))
            .condition_expression(format!(
                "{state} = {pending} AND {next} <= {now_v} AND \
                 (attribute_not_exists({lease}) OR {lease} <= {now_v})"
            ))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match conditional("update_item", result)? {
            Some(out) => out.attributes.as_ref().map(mail_from_item).transpose(),
            None => Ok(None),
        }
    }
}

impl DynamoStore {
    /// The rows of one state (the partition given to the read) by id, oldest first.
    fn by_state(&self, filter: Expression, page_size: usize) -> PartitionQuery<'_> {
        PartitionQuery {
            table: &self.names.outbox,
            index: Some(BY_STATE),
            partition_attribute: "state",
            sort_attribute: "id",
            start_after: None,
            order: Order::Ascending,
            filter,
            page_size,
        }
    }

    /// Makes the row `id` due at `now` if it is still pending, waiting for the server and due
    /// later; whether it was.
    async fn bring_forward(&self, id: &str, now: Timestamp) -> Result<bool> {
        let mut e = Expression::new();
        let state = e.name("state");
        let next = e.name("next_attempt_at");
        let due = e.name("due");
        let waiting = e.name(WAITING);
        let pending = e.value("pending", s(MailState::Pending.as_str()));
        let now_v = e.value("now", n(now.unix_millis()));
        let due_v = e.value("due", s(due_key(now, id)));
        let (names, values) = e.into_parts();
        let result = self
            .client
            .update_item()
            .table_name(&self.names.outbox)
            .key("id", s(id))
            .update_expression(format!(
                "SET {next} = {now_v}, {due} = {due_v} REMOVE {waiting}"
            ))
            .condition_expression(format!(
                "{state} = {pending} AND attribute_exists({waiting}) AND {next} > {now_v}"
            ))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await;
        Ok(conditional("update_item", result)?.is_some())
    }
}

#[async_trait]
impl MailOutbox for DynamoStore {
    async fn claim_due(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxMail>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let until = now.plus(lease);
        // Candidates come from the index, which may lag; the conditional update on the table
        // decides. Rows leased by others are filtered out early but checked again anyway.
        let mut filter = Expression::new();
        let lease_name = filter.name("lease_until");
        let now_v = filter.value("now", n(now.unix_millis()));
        let mut candidates = Partition::new(
            &self.client,
            PartitionQuery {
                table: &self.names.outbox,
                index: Some(BY_DUE),
                partition_attribute: "state",
                sort_attribute: "due",
                start_after: None,
                order: Order::Ascending,
                filter: filter.with_filter(format!(
                    "(attribute_not_exists({lease_name}) OR {lease_name} <= {now_v})"
                )),
                page_size: limit.saturating_mul(2),
            },
            MailState::Pending.as_str().to_owned(),
        )
        .with_ceiling("due", format!("{}#~", due_prefix(now)));
        let mut claimed = Vec::with_capacity(limit);
        while claimed.len() < limit {
            let Some(candidate) = candidates.next().await? else {
                break;
            };
            let id = Reader::new(&candidate, "mail").string("id")?.to_owned();
            if let Some(mail) = self.lease(&id, now, until).await? {
                claimed.push(mail);
            }
        }
        Ok(claimed)
    }

    async fn mark_sent(&self, id: &MailId, now: Timestamp) -> Result<()> {
        let update = Update::new()
            .set("state", s(MailState::Sent.as_str()))
            .set("sent_at", time(now))
            .count_attempt()
            .remove("lease_until")
            .remove(WAITING);
        self.update_mail(id, update).await
    }

    async fn mark_all_sent(&self, ids: &[MailId], now: Timestamp) -> Result<()> {
        // Each row is its own item: the updates go out together instead of one after another.
        let mut results = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(16) {
            let updates: Vec<_> = chunk.iter().map(|id| self.mark_sent(id, now)).collect();
            results.extend(futures_util::future::join_all(updates).await);
        }
        let mut unknown = None;
        for result in results {
            match result {
                Ok(()) => {}
                Err(error @ Error::NotFound(_)) => unknown = Some(error),
                Err(error) => return Err(error),
            }
        }
        unknown.map_or(Ok(()), Err)
    }

    async fn mark_failed(
        &self,
        id: &MailId,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<()> {
        let mut update = Update::new()
            .set("last_error", s(error))
            .count_attempt()
            .remove("lease_until")
            .remove(WAITING);
        update = match retry_at {
            Some(at) => update
                .set("next_attempt_at", n(at.unix_millis()))
                .set("due", s(due_key(at, id.as_str()))),
            None => update.set("state", s(MailState::Dead.as_str())),
        };
        self.update_mail(id, update).await
    }

    async fn mark_unreachable(&self, id: &MailId, error: &str, retry_at: Timestamp) -> Result<()> {
        let update = Update::new()
            .set("last_error", s(error))
            .set("next_attempt_at", n(retry_at.unix_millis()))
            .set("due", s(due_key(retry_at, id.as_str())))
            .set(WAITING, AttributeValue::Bool(true))
            .remove("lease_until");
        self.update_mail(id, update).await
    }

    async fn release_unreachable(&self, now: Timestamp) -> Result<usize> {
        // Only rows due later than now need bringing forward, and those are few: the
        // pending rows that wait for a retry.
        let mut filter = Expression::new();
        let waiting = filter.name(WAITING);
        let mut later = Partition::new(
            &self.client,
            PartitionQuery {
                table: &self.names.outbox,
                index: Some(BY_DUE),
                partition_attribute: "state",
                sort_attribute: "due",
                start_after: Some(format!("{}#~", due_prefix(now))),
                order: Order::Ascending,
                filter: filter.with_filter(format!("attribute_exists({waiting})")),
                page_size: 100,
            },
            MailState::Pending.as_str().to_owned(),
        );
        let mut woken = 0;
        while let Some(candidate) = later.next().await? {
            let id = Reader::new(&candidate, "mail").string("id")?.to_owned();
            if self.bring_forward(&id, now).await? {
                woken += 1;
            }
        }
        Ok(woken)
    }

    async fn requeue(&self, id: &MailId, now: Timestamp) -> Result<()> {
        let update = Update::new()
            .set("state", s(MailState::Pending.as_str()))
            .set("next_attempt_at", n(now.unix_millis()))
            .set("due", s(due_key(now, id.as_str())))
            .remove("lease_until")
            .remove(WAITING);
        self.update_mail(id, update).await
    }

    async fn mark_cancelled(&self, id: &MailId, reason: &str) -> Result<()> {
        let update = Update::new()
            .set("state", s(MailState::Cancelled.as_str()))
            .set("last_error", s(reason))
            .remove("lease_until")
            .remove(WAITING);
        self.update_mail(id, update).await
    }

    async fn mails_about(&self, about: &MailAbout) -> Result<Vec<OutboxMail>> {
        let mut rows = Partition::new(
            &self.client,
            PartitionQuery {
                table: &self.names.outbox,
                index: Some(BY_ABOUT),
                partition_attribute: "about",
                sort_attribute: "id",
                start_after: None,
                order: Order::Ascending,
                filter: Expression::new(),
                page_size: 100,
            },
            about.key(),
        );
        let mut mails = Vec::new();
        while let Some(item) = rows.next().await? {
            mails.push(mail_from_item(&item)?);
        }
        Ok(mails)
    }

    async fn mail(&self, id: &MailId) -> Result<Option<OutboxMail>> {
        let item = self
            .get(&self.names.outbox, key(&[("id", id.as_str())]))
            .await?;
        item.as_ref().map(mail_from_item).transpose()
    }

    async fn mails(
        &self,
        state: Option<MailState>,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>> {
        let start = cursor::position(List::Mails, page)?;
        let take = page.limit.get() + 1;
        let states = state.map_or(STATES.to_vec(), |state| vec![state]);
        let by_state = PartitionQuery {
            start_after: start,
            order: Order::Descending,
            ..self.by_state(Expression::new(), take)
        };
        let partitions = states.iter().map(|state| state.as_str().to_owned());
        let items = query::merge_partitions(&self.client, &by_state, partitions, take).await?;
        let mails = items
            .iter()
            .map(mail_from_item)
            .collect::<Result<Vec<_>>>()?;
        Ok(cursor::page(List::Mails, mails, page, |m| m.id.as_str()))
    }

    async fn remove_settled(&self, before: Timestamp, limit: usize) -> Result<usize> {
        let mut removed = 0;
        for state in MailState::SETTLED {
            // Oldest first by id, which follows creation: the read ends at the first row
            // made at or after `before`.
            let by_state = self.by_state(
                Expression::new(),
                limit.saturating_sub(removed).clamp(1, 100),
            );
            let mut rows = Partition::new(&self.client, by_state, state.as_str().to_owned());
            while removed < limit {
                let Some(item) = rows.next().await? else {
                    break;
                };
                let mail = mail_from_item(&item)?;
                if mail.created_at >= before {
                    break;
                }
                // Only while the row is still settled: one an operator requeued stays.
                let result = self
                    .client
                    .delete_item()
                    .table_name(&self.names.outbox)
                    .key("id", s(mail.id.as_str()))
                    .condition_expression("#state = :state")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":state", s(state.as_str()))
                    .send()
                    .await;
                if conditional("delete_item", result)?.is_some() {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    async fn backlog(&self) -> Result<OutboxBacklog> {
        // Dead rows pile up until retention takes them: DynamoDB counts them without
        // sending any. Pending rows are few unless mail is failing; of each, only the two
        // times its first due time is read from come back.
        let dead = query::count_partition(
            &self.client,
            self.by_state(Expression::new(), 1000),
            MailState::Dead.as_str().to_owned(),
        )
        .await?;
        let mut backlog = OutboxBacklog {
            dead,
            ..OutboxBacklog::default()
        };
        let mut projection = Expression::new();
        let wanted = [projection.name("due_at"), projection.name("created_at")].join(", ");
        let mut rows = Partition::new(
            &self.client,
            self.by_state(projection, 1000),
            MailState::Pending.as_str().to_owned(),
        )
        .with_projection(wanted);
        while let Some(item) = rows.next().await? {
            backlog.pending += 1;
            let due = first_due(&Reader::new(&item, "mail"))?;
            backlog.oldest_pending = Some(backlog.oldest_pending.map_or(due, |o| o.min(due)));
        }
        Ok(backlog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_keys_sort_by_time_then_id() {
        let t = |ms| Timestamp::from_unix_millis(ms);
        let mut keys = vec![
            due_key(t(1_000), "B"),
            due_key(t(-5), "A"),
            due_key(t(1_000), "A"),
            due_key(t(999), "Z"),
            due_key(t(0), "A"),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                due_key(t(-5), "A"),
                due_key(t(0), "A"),
                due_key(t(999), "Z"),
                due_key(t(1_000), "A"),
                due_key(t(1_000), "B"),
            ]
        );
        assert!(due_key(t(1_000), "zzzz") < format!("{}#~", due_prefix(t(1_000))));
        assert!(due_key(t(1_001), "0") > format!("{}#~", due_prefix(t(1_000))));
    }
}
