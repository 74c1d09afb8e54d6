//! The numbers behind the web app's charts (`GET /staff/stats/daily`).

use std::future::Future;

use super::{Alerta, require_staff};
use crate::Result;
use crate::domain::{
    AlertFilter, DailyStats, DailyTally, IncidentFilter, Limit, Page, PageRequest, User,
};

impl Alerta {
    /// Incidents of the last 30 days by day and state, the resolution times of the
    /// departments' incidents of those days, and alerts of the last 24 hours by hour and
    /// severity; staff and admin.
    ///
    /// Walks incidents and alerts newest first and stops at the first one older than its
    /// window: the cost follows the windows, not the whole store.
    pub async fn daily_stats(&self, actor: &User) -> Result<DailyStats> {
        require_staff(actor)?;
        let mut tally = DailyTally::new(self.now());
        let storage = &self.inner.storage;
        let incidents = &IncidentFilter::default();
        let alerts = &AlertFilter::default();
        read_while(
            |page| async move { storage.incidents.incidents(incidents, &page).await },
            |incident| tally.add_incident(incident),
        )
        .await?;
        read_while(
            |page| async move { storage.alerts.search(alerts, &page).await },
            |alert| tally.add_alert(alert),
        )
        .await?;
        Ok(tally.finish())
    }
}

/// Reads the pages of a list through `fetch`, handing each item to `take`, until `take` says
/// no or the list ends.
async fn read_while<T, F, Fut>(mut fetch: F, mut take: impl FnMut(&T) -> bool) -> Result<()>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>>>,
{
    let mut page = PageRequest::first(Limit::MAX)?;
    loop {
        let listed = fetch(page.clone()).await?;
        if !listed.items.iter().all(&mut take) {
            return Ok(());
        }
        match listed.next_cursor {
            Some(cursor) => page = PageRequest::after(page.limit, cursor),
            None => return Ok(()),
        }
    }
}
