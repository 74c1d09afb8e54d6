//! Replaying the stream from the stores, for subscribers that reconnect with `since=`.

use std::collections::HashMap;

use super::Alerta;
use crate::domain::{AlertId, Audience, EventId, Incident, IncidentId, Role, StreamMessage, Topic};
use crate::ports::EventQuery;
use crate::{Error, Result};

impl Alerta {
    /// The messages after stream id `since` that a subscriber with `role` and `topics` would
    /// have received, oldest first, at most `limit` of them. Incident messages carry the
    /// incident as it stands now.
    pub async fn replay(
        &self,
        role: Role,
        topics: &[Topic],
        since: &str,
        limit: usize,
    ) -> Result<Vec<StreamMessage>> {
        let since_event =
            EventId::parse(since).map_err(|_| Error::invalid("since", "unknown stream id"))?;
        let since_alert =
            AlertId::parse(since).map_err(|_| Error::invalid("since", "unknown stream id"))?;
        let mut messages = Vec::new();
        if topics.contains(&Topic::Incidents) {
            let events = self
                .inner
                .storage
                .incidents
                .events(&EventQuery {
                    after: Some(since_event),
                    kind: None,
                    limit,
                })
                .await?;
            let mut incidents: HashMap<IncidentId, Incident> = HashMap::new();
            for event in events {
                if !incidents.contains_key(&event.incident_id) {
                    let Some(incident) = self
                        .inner
                        .storage
                        .incidents
                        .incident(&event.incident_id)
                        .await?
                    else {
                        continue;
                    };
                    incidents.insert(event.incident_id.clone(), incident);
                }
                messages.push(StreamMessage::for_event(
                    &incidents[&event.incident_id],
                    &event,
                ));
            }
        }
        if topics.contains(&Topic::Alerts) {
            let alerts = self
                .inner
                .storage
                .alerts
                .after(Some(&since_alert), limit)
                .await?;
            messages.extend(alerts.iter().map(StreamMessage::for_alert));
        }
        messages.retain(|m| m.audience == Audience::Everyone || role.manages_incidents());
        messages.sort_by(|a, b| a.id.cmp(&b.id));
        messages.truncate(limit);
        Ok(messages)
    }
}
