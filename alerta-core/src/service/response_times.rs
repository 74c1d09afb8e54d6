//! How quickly alerts were acknowledged and resolved (`GET /staff/stats/alerts`).

use std::time::Duration;

use super::{Alerta, require_staff};
use crate::domain::{AlertFilter, AlertResponseTimes, Limit, PageRequest, User};
use crate::{Error, Result};

/// The longest window [`Alerta::alert_response_times`] reads, in days: its cost follows the
/// number of groups opened in it.
pub const MAX_RESPONSE_DAYS: u32 = 90;

const DAY: Duration = Duration::from_secs(24 * 3600);

impl Alerta {
    /// MTTA and MTTR, mean and 90th percentile, by severity and by source, over the alert
    /// groups opened in the last `days` days (1 to [`MAX_RESPONSE_DAYS`]); staff and admin.
    ///
    /// Walks the groups newest first and stops at the first one older than the window, reading
    /// each one's history: the cost follows the groups of the window, not the whole store.
    pub async fn alert_response_times(
        &self,
        actor: &User,
        days: u32,
    ) -> Result<AlertResponseTimes> {
        require_staff(actor)?;
        if !(1..=MAX_RESPONSE_DAYS).contains(&days) {
            return Err(Error::invalid(
                "dias",
                format!("dias must be between 1 and {MAX_RESPONSE_DAYS}"),
            ));
        }
        let now = self.now();
        let since = crate::domain::Timestamp::from_unix_millis(
            now.unix_millis() - i64::from(days) * DAY.as_millis() as i64,
        );
        let alerts = &self.inner.storage.alerts;
        let filter = AlertFilter::default();
        let mut page = PageRequest::first(Limit::MAX)?;
        let mut groups = Vec::new();
        'pages: loop {
            let listed = alerts.search(&filter, &page).await?;
            for alert in listed.items {
                if alert.created_at < since {
                    break 'pages;
                }
                let history = alerts.history(&alert.id).await?;
                groups.push((alert, history));
            }
            match listed.next_cursor {
                Some(cursor) => page = PageRequest::after(page.limit, cursor),
                None => break,
            }
        }
        Ok(AlertResponseTimes::of(since, &groups))
    }
}
