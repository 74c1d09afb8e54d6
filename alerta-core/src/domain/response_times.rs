//! How quickly alerts are answered: the time to acknowledge (MTTA) and to resolve (MTTR),
//! read from each group's history.
//!
//! A group fires once when it opens and once more each time it recurs after a resolution;
//! each firing is timed on its own, from its start (the group's `first_seen`, or the
//! recurrence) to the first acknowledgement and to the resolution that ends it. A firing
//! resolved without an acknowledgement has a resolution time and no acknowledgement time,
//! and one still open has neither, as PagerDuty counts them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Alert, AlertEvent, AlertStatus, Severity, Timestamp};

/// One firing of an alert group and how it was answered, in milliseconds from its start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiringResponse {
    /// Until the first acknowledgement, if there was one.
    pub acknowledged_after_ms: Option<i64>,
    /// Until the resolution that ended it, if it has ended.
    pub resolved_after_ms: Option<i64>,
}

impl FiringResponse {
    /// The firings of `alert`, oldest first, from its history (oldest first, as
    /// [`AlertStore::history`](crate::ports::AlertStore::history) lists it).
    pub fn of(alert: &Alert, history: &[AlertEvent]) -> Vec<FiringResponse> {
        let mut firings = Vec::new();
        let mut start = alert.first_seen();
        let mut acknowledged: Option<Timestamp> = None;
        let mut open = true;
        for event in history {
            match event.to {
                AlertStatus::Acknowledged if open && acknowledged.is_none() => {
                    acknowledged = Some(event.created_at);
                }
                AlertStatus::Resolved if open => {
                    firings.push(FiringResponse::timed(
                        start,
                        acknowledged,
                        Some(event.created_at),
                    ));
                    open = false;
                }
                AlertStatus::Firing if !open => {
                    start = event.created_at;
                    acknowledged = None;
                    open = true;
                }
                _ => {}
            }
        }
        if open {
            firings.push(FiringResponse::timed(start, acknowledged, None));
        }
        firings
    }

    fn timed(
        start: Timestamp,
        acknowledged: Option<Timestamp>,
        resolved: Option<Timestamp>,
    ) -> Self {
        let after = |at: Timestamp| (at.unix_millis() - start.unix_millis()).max(0);
        Self {
            acknowledged_after_ms: acknowledged.map(after),
            resolved_after_ms: resolved.map(after),
        }
    }
}

/// Mean and 90th percentile of some durations.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DurationSummary {
    /// How many durations.
    #[serde(rename = "cuantas")]
    pub count: usize,
    /// Their mean, in seconds.
    #[serde(rename = "media_s")]
    pub mean_s: f64,
    /// Their 90th percentile by nearest rank (the smallest duration that at least 90 % of
    /// them do not exceed), in seconds.
    #[serde(rename = "p90_s")]
    pub p90_s: f64,
}

impl DurationSummary {
    /// The summary of `millis`, or `None` when there are none.
    pub fn of(mut millis: Vec<i64>) -> Option<Self> {
        if millis.is_empty() {
            return None;
        }
        millis.sort_unstable();
        let count = millis.len();
        let total: i64 = millis.iter().sum();
        let rank = (count * 9).div_ceil(10).max(1);
        Some(Self {
            count,
            mean_s: total as f64 / count as f64 / 1000.0,
            p90_s: millis[rank - 1] as f64 / 1000.0,
        })
    }
}

/// How the firings that share a severity or a source were answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResponseSummary {
    /// The severity or source they share.
    #[serde(rename = "clave")]
    pub key: String,
    /// How many firings.
    #[serde(rename = "disparos")]
    pub firings: usize,
    /// Time to acknowledge over the acknowledged ones (MTTA), absent when none was.
    #[serde(rename = "reconocimiento")]
    pub acknowledgement: Option<DurationSummary>,
    /// Time to resolve over the resolved ones (MTTR), absent when none was.
    #[serde(rename = "resolucion")]
    pub resolution: Option<DurationSummary>,
}

/// MTTA and MTTR of the alert groups opened in a window, by severity and by source
/// (`GET /staff/stats/alerts`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertResponseTimes {
    /// The start of the window: groups opened since then are counted.
    #[serde(rename = "desde")]
    pub since: Timestamp,
    /// How many groups were opened in it.
    #[serde(rename = "grupos")]
    pub groups: usize,
    /// By severity, most severe first.
    #[serde(rename = "por_severidad")]
    pub by_severity: Vec<ResponseSummary>,
    /// By source, in source order.
    #[serde(rename = "por_fuente")]
    pub by_source: Vec<ResponseSummary>,
}

impl AlertResponseTimes {
    /// The summary of `groups` (each alert with its history), opened since `since`.
    pub fn of(since: Timestamp, groups: &[(Alert, Vec<AlertEvent>)]) -> Self {
        let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, Vec<FiringResponse>> =
            BTreeMap::new();
        let mut by_source: BTreeMap<String, Vec<FiringResponse>> = BTreeMap::new();
        for (alert, history) in groups {
            let firings = FiringResponse::of(alert, history);
            by_severity
                .entry(std::cmp::Reverse(alert.severity))
                .or_default()
                .extend(firings.iter().cloned());
            by_source
                .entry(alert.source.as_str().to_owned())
                .or_default()
                .extend(firings);
        }
        Self {
            since,
            groups: groups.len(),
            by_severity: by_severity
                .into_iter()
                .map(|(severity, firings)| summarize(severity.0.as_str().to_owned(), &firings))
                .collect(),
            by_source: by_source
                .into_iter()
                .map(|(source, firings)| summarize(source, &firings))
                .collect(),
        }
    }
}

fn summarize(key: String, firings: &[FiringResponse]) -> ResponseSummary {
    let acknowledged = firings
        .iter()
        .filter_map(|f| f.acknowledged_after_ms)
        .collect();
    let resolved = firings.iter().filter_map(|f| f.resolved_after_ms).collect();
    ResponseSummary {
        key,
        firings: firings.len(),
        acknowledgement: DurationSummary::of(acknowledged),
        resolution: DurationSummary::of(resolved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertDraft, AlertId, AlertState, Channel, EventId, UserId};

    const MINUTE: i64 = 60_000;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_unix_millis(1_000_000 + minutes * MINUTE)
    }

    fn alert(status: AlertStatus) -> Alert {
        let draft = AlertDraft::parse("db1", "critical", "disco lleno", Channel::Tcp).unwrap();
        let state = AlertState {
            status,
            version: 1,
            updated_at: at(0),
        };
        Alert::restore(AlertId::parse("A1").unwrap(), draft, at(0), state)
    }

    fn event(n: u8, from: AlertStatus, to: AlertStatus, minutes: i64) -> AlertEvent {
        AlertEvent {
            event_id: EventId::parse(&format!("E{n}")).unwrap(),
            alert_id: AlertId::parse("A1").unwrap(),
            from,
            to,
            actor: UserId::parse("U1").unwrap(),
            note: None,
            created_at: at(minutes),
        }
    }

    #[test]
    fn each_firing_is_timed_from_its_own_start() {
        use AlertStatus::*;
        let history = [
            event(1, Firing, Acknowledged, 2),
            event(2, Acknowledged, Resolved, 5),
            // Recurs at 10 and is resolved at 12 with no acknowledgement.
            event(3, Resolved, Firing, 10),
            event(4, Firing, Resolved, 12),
            // Recurs at 20 and is acknowledged at 27, still open.
            event(5, Resolved, Firing, 20),
            event(6, Firing, Acknowledged, 27),
        ];
        assert_eq!(
            FiringResponse::of(&alert(Acknowledged), &history),
            vec![
                FiringResponse {
                    acknowledged_after_ms: Some(2 * MINUTE),
                    resolved_after_ms: Some(5 * MINUTE),
                },
                FiringResponse {
                    acknowledged_after_ms: None,
                    resolved_after_ms: Some(2 * MINUTE),
                },
                FiringResponse {
                    acknowledged_after_ms: Some(7 * MINUTE),
                    resolved_after_ms: None,
                },
            ]
        );
        assert_eq!(
            FiringResponse::of(&alert(Firing), &[]),
            vec![FiringResponse {
                acknowledged_after_ms: None,
                resolved_after_ms: None,
            }],
            "a group never answered is one open firing"
        );
    }

    #[test]
    fn the_percentile_is_the_nearest_rank() {
        let hours = |h: &[i64]| h.iter().map(|h| h * 3_600_000).collect::<Vec<_>>();
        let summary = DurationSummary::of(hours(&[10, 1, 3, 2])).unwrap();
        // (1 + 2 + 3 + 10) / 4 hours; the 90th percentile of four is the 4th.
        assert_eq!(summary.count, 4);
        assert_eq!(summary.mean_s, 4.0 * 3600.0);
        assert_eq!(summary.p90_s, 10.0 * 3600.0);
        // Of ten, the 9th: 90 % of them do not exceed it.
        let ten = DurationSummary::of(hours(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 100])).unwrap();
        assert_eq!(ten.p90_s, 9.0 * 3600.0);
        // Eleven need the 10th; one is its own percentile.
        let eleven = DurationSummary::of(hours(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])).unwrap();
        assert_eq!(eleven.p90_s, 10.0 * 3600.0);
        assert_eq!(
            DurationSummary::of(hours(&[5])).unwrap().p90_s,
            5.0 * 3600.0
        );
        assert_eq!(DurationSummary::of(vec![]), None);
    }
}
