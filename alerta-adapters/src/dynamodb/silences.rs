//! Silences: one item each, keyed by id.
//!
//! Silences are made by hand and few, so a list scans the table (strongly consistent) and
//! filters, sorts and pages in the store; no index is kept for them. Times are epoch
//! milliseconds, since expiry compares them in a condition.

use alerta_core::domain::{
    Matchers, Page, PageRequest, Silence, SilenceComment, SilenceFilter, SilenceId, SilenceParts,
    Timestamp, UserId,
};
use alerta_core::ports::SilenceStore;
use alerta_core::{Error, Result};
use async_trait::async_trait;

use super::DynamoStore;
use super::cursor::{self, List};
use super::error::{conditional, unreadable};
use super::item::{Item, ItemBuilder, Reader, n, s};
use super::keyed::key;
use super::query::{self, ScanOptions};

pub(super) fn silence_item(silence: &Silence) -> Result<Item> {
    let matchers = serde_json::to_string(silence.matchers())
        .map_err(|e| unreadable("silence", format!("matchers: {e}")))?;
    Ok(ItemBuilder::new()
        .set("id", s(silence.id().as_str()))
        .set("matchers", s(matchers))
        .set("starts_at", n(silence.starts_at().unix_millis()))
        .set("ends_at", n(silence.ends_at().unix_millis()))
        .set("comment", s(silence.comment().as_str()))
        .set("created_by", s(silence.created_by().as_str()))
        .set("created_at", n(silence.created_at().unix_millis()))
        .build())
}

fn silence_from_item(item: &Item) -> Result<Silence> {
    let r = Reader::new(item, "silence");
    let matchers: Matchers = serde_json::from_str(r.string("matchers")?)
        .map_err(|e| unreadable("silence", format!("matchers: {e}")))?;
    Ok(Silence::restore(SilenceParts {
        id: r.parsed("id", SilenceId::parse)?,
        matchers,
        starts_at: r.millis("starts_at")?,
        ends_at: r.millis("ends_at")?,
        comment: r.parsed("comment", SilenceComment::parse)?,
        created_by: r.parsed("created_by", UserId::parse)?,
        created_at: r.millis("created_at")?,
    }))
}

#[async_trait]
impl SilenceStore for DynamoStore {
    async fn insert_silence(&self, silence: &Silence) -> Result<()> {
        let item = silence_item(silence)?;
        if self.put_if_absent(&self.names.silences, item, "id").await? {
            Ok(())
        } else {
            Err(Error::duplicate("silence"))
        }
    }

    async fn silence(&self, id: &SilenceId) -> Result<Option<Silence>> {
        self.get(&self.names.silences, key(&[("id", id.as_str())]))
            .await?
            .as_ref()
            .map(silence_from_item)
            .transpose()
    }

    async fn silences(&self, filter: &SilenceFilter, page: &PageRequest) -> Result<Page<Silence>> {
        let after = cursor::position(List::Silences, page)?;
        let items = query::scan_all(
            &self.client,
            &self.names.silences,
            ScanOptions {
                attributes: &[],
                filter: None,
            },
        )
        .await?;
        let mut silences = items
            .iter()
            .map(silence_from_item)
            .collect::<Result<Vec<_>>>()?;
        silences.retain(|s| {
            filter.matches(s) && after.as_deref().is_none_or(|after| s.id().as_str() < after)
        });
        silences.sort_by(|a, b| b.id().cmp(a.id()));
        silences.truncate(page.limit.get() + 1);
        Ok(cursor::page(List::Silences, silences, page, |s| {
            s.id().as_str()
        }))
    }

    async fn expire_silence(&self, id: &SilenceId, now: Timestamp) -> Result<Silence> {
        let current = self.silence(id).await?.ok_or(Error::NotFound("silence"))?;
        let expired = current.expire(now);
        if expired == current {
            return Ok(current);
        }
        // The condition keeps ends moving earlier only: a racing expiry at an earlier time
        // that committed first makes this one write nothing.
        let result = self
            .client
            .update_item()
            .table_name(&self.names.silences)
            .set_key(Some(key(&[("id", id.as_str())])))
            .update_expression("SET ends_at = :end, starts_at = :start")
            .condition_expression("ends_at > :end")
            .expression_attribute_values(":end", n(expired.ends_at().unix_millis()))
            .expression_attribute_values(":start", n(expired.starts_at().unix_millis()))
            .send()
            .await;
        match conditional("update_item", result)? {
            Some(_) => Ok(expired),
            None => self.silence(id).await?.ok_or(Error::NotFound("silence")),
        }
    }
}
