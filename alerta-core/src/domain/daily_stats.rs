//! The numbers behind the web app's charts (`GET /staff/stats/daily`):
//!
//! - `dias`: incidents reported on each of the last 30 days (UTC), counted by the state they
//!   are in now;
//! - `resolucion`: for each department, how long the incidents assigned to it and reported in
//!   those 30 days took to be resolved: how many, the mean and the 90th percentile (nearest
//!   rank), in seconds;
//! - `alertas_por_hora`: alerts made in each of the last 24 hours (UTC, the current hour
//!   last), by severity.

use std::collections::BTreeMap;

use serde::Serialize;
use time::Date;

use super::{Alert, DurationSummary, Incident, Severity, Status, Timestamp};

/// How many days the incident chart covers, today included.
pub const DAILY_STATS_DAYS: usize = 30;

/// How many hours the alert chart covers, the current one included.
pub const DAILY_STATS_HOURS: usize = 24;

const HOUR_MS: i64 = 3_600_000;

/// `GET /staff/stats/daily`: the last 30 days, per department, the last 24 hours.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyStats {
    /// Exactly 30 days, oldest first, the last one today.
    #[serde(rename = "dias")]
    #[cfg_attr(feature = "openapi", schema(min_items = 30, max_items = 30))]
    pub days: Vec<DayCounts>,
    /// One per department with resolved incidents, by name.
    #[serde(rename = "resolucion")]
    pub resolution: Vec<DepartmentResolution>,
    /// Exactly 24 hours, oldest first, the last one the current hour.
    #[serde(rename = "alertas_por_hora")]
    #[cfg_attr(feature = "openapi", schema(min_items = 24, max_items = 24))]
    pub alerts_by_hour: Vec<HourCounts>,
}

/// One day of `dias`: the incidents reported that day by the state they are in now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayCounts {
    /// A UTC date.
    #[serde(rename = "fecha")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: String,
    /// `pendiente`, `en_proceso` and `resuelto`, always all three.
    #[serde(rename = "por_estado")]
    pub by_status: BTreeMap<String, u64>,
}

/// One hour of `alertas_por_hora`: the alerts made in it by severity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HourCounts {
    /// The hour's start.
    #[serde(rename = "hora")]
    pub hour: Timestamp,
    /// `info`, `warning`, `error` and `critical`, always all four.
    #[serde(rename = "por_severidad")]
    pub by_severity: BTreeMap<String, u64>,
}

/// How long one department's incidents took to be resolved.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DepartmentResolution {
    /// The department.
    #[serde(rename = "departamento")]
    pub department: String,
    /// How many of its incidents were resolved.
    #[serde(rename = "resueltos")]
    pub resolved: usize,
    /// The mean time from report to resolution, in seconds.
    pub media_s: f64,
    /// Its 90th percentile by nearest rank (the smallest time that at least 90 % of the
    /// times do not exceed), in seconds.
    pub p90_s: f64,
}

/// [`DailyStats`] in the making: incidents and alerts are added newest first, as the stores
/// list them, until one is older than the window, so that the cost follows the window and not
/// the whole store.
#[derive(Clone, Debug)]
pub struct DailyTally {
    first_day: Date,
    first_hour_ms: i64,
    by_day: BTreeMap<Date, BTreeMap<String, u64>>,
    resolution_ms: BTreeMap<String, Vec<i64>>,
    by_hour: Vec<BTreeMap<String, u64>>,
}

impl DailyTally {
    /// An empty tally of the 30 days and 24 hours that end at `now`.
    pub fn new(now: Timestamp) -> Self {
        let today = now.to_datetime().date();
        let mut by_day = BTreeMap::new();
        let mut day = today;
        for _ in 0..DAILY_STATS_DAYS {
            by_day.insert(day, zeros(Status::ALL.iter().map(|s| s.as_str())));
            day = day.previous_day().unwrap_or(day);
        }
        let first_day = *by_day.keys().next().unwrap_or(&today);
        let current_hour_ms = now.unix_millis().div_euclid(HOUR_MS) * HOUR_MS;
        Self {
            first_day,
            first_hour_ms: current_hour_ms - (DAILY_STATS_HOURS as i64 - 1) * HOUR_MS,
            by_day,
            resolution_ms: BTreeMap::new(),
            by_hour: (0..DAILY_STATS_HOURS)
                .map(|_| zeros(Severity::ALL.iter().map(|s| s.as_str())))
                .collect(),
        }
    }

    /// Counts `incident` in, and says whether it was in the window: one reported before the
    /// window's first day is not counted, and neither is any older one, so the walk can stop.
    pub fn add_incident(&mut self, incident: &Incident) -> bool {
        let created = incident.created_at().to_datetime().date();
        if created < self.first_day {
            return false;
        }
        if let Some(day) = self.by_day.get_mut(&created) {
            *day.entry(incident.status().as_str().to_owned())
                .or_default() += 1;
        }
        if let (Status::Resolved, Some(department), Some(resolved)) = (
            incident.status(),
            incident.department(),
            incident.resolved_at(),
        ) {
            let millis = resolved.unix_millis() - incident.created_at().unix_millis();
            self.resolution_ms
                .entry(department.as_str().to_owned())
                .or_default()
                .push(millis.max(0));
        }
        true
    }

    /// Counts `alert` in the hour it was made, and says whether it was in the window, as
    /// [`add_incident`](Self::add_incident) does. One made after the current hour (a clock
    /// ahead of this one) counts in the current hour.
    pub fn add_alert(&mut self, alert: &Alert) -> bool {
        let at = alert.created_at.unix_millis();
        if at < self.first_hour_ms {
            return false;
        }
        let hour = ((at - self.first_hour_ms) / HOUR_MS).min(DAILY_STATS_HOURS as i64 - 1);
        *self.by_hour[hour as usize]
            .entry(alert.severity.as_str().to_owned())
            .or_default() += 1;
        true
    }

    /// The figures of what was added.
    pub fn finish(self) -> DailyStats {
        let first_hour_ms = self.first_hour_ms;
        DailyStats {
            days: self
                .by_day
                .into_iter()
                .map(|(date, by_status)| DayCounts {
                    date: date.to_string(),
                    by_status,
                })
                .collect(),
            resolution: self
                .resolution_ms
                .into_iter()
                .filter_map(|(department, millis)| {
                    let summary = DurationSummary::of(millis)?;
                    Some(DepartmentResolution {
                        department,
                        resolved: summary.count,
                        media_s: summary.mean_s,
                        p90_s: summary.p90_s,
                    })
                })
                .collect(),
            alerts_by_hour: self
                .by_hour
                .into_iter()
                .enumerate()
                .map(|(n, by_severity)| HourCounts {
                    hour: Timestamp::from_unix_millis(first_hour_ms + n as i64 * HOUR_MS),
                    by_severity,
                })
                .collect(),
        }
    }
}

fn zeros<'a>(keys: impl Iterator<Item = &'a str>) -> BTreeMap<String, u64> {
    keys.map(|key| (key.to_owned(), 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AlertDraft, AlertId, AlertState, AlertStatus, Channel, DepartmentName, Description,
        IncidentId, IncidentParts, Location, Urgency, UserId,
    };

    const HOUR: i64 = HOUR_MS;
    const DAY: i64 = 24 * HOUR;

    /// 2026-11-30T10:00:00Z.
    const START: i64 = 1_796_032_800_000;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn incident(
        created: i64,
        status: Status,
        department: Option<&str>,
        resolved: Option<i64>,
    ) -> Incident {
        Incident::restore(IncidentParts {
            id: IncidentId::parse("I1").unwrap(),
            kind: "infraestructura".into(),
            description: Description::parse("Fuga de agua en el baño").unwrap(),
            location: Location::parse("Pabellón A").unwrap(),
            urgency: Urgency::High,
            status,
            department: department.map(|name| DepartmentName::parse(name).unwrap()),
            reported_by: UserId::parse("U1").unwrap(),
            created_at: at(created),
            updated_at: at(resolved.unwrap_or(created)),
            resolved_at: resolved.map(at),
            version: 1,
            alert_id: None,
        })
    }

    fn alert(created: i64, severity: &str) -> Alert {
        let draft = AlertDraft::parse("sensor-7", severity, "temperatura alta", Channel::Http)
            .expect("an alert");
        let state = AlertState {
            status: AlertStatus::Firing,
            version: 1,
            updated_at: at(created),
        };
        Alert::restore(AlertId::parse("A1").unwrap(), draft, at(created), state)
    }

    #[test]
    fn resolution_times_match_hand_computed_values() {
        let mut tally = DailyTally::new(at(START + 10 * HOUR));
        let resolved = |hours: i64, department: Option<&str>| {
            incident(
                START,
                Status::Resolved,
                department,
                Some(START + hours * HOUR),
            )
        };
        // TI's four take 1 h, 2 h, 3 h and 10 h; Mantenimiento's one 1 h; the unassigned one
        // and the open one count nowhere.
        let incidents = [
            resolved(1, Some("TI")),
            resolved(2, Some("TI")),
            resolved(3, Some("TI")),
            resolved(10, Some("TI")),
            incident(START, Status::Pending, Some("TI"), None),
            resolved(1, Some("Mantenimiento")),
            resolved(1, None),
        ];
        for incident in &incidents {
            assert!(tally.add_incident(incident));
        }
        let stats = tally.finish();
        assert_eq!(
            stats.resolution,
            [
                DepartmentResolution {
                    department: "Mantenimiento".into(),
                    resolved: 1,
                    media_s: 3600.0,
                    p90_s: 3600.0,
                },
                DepartmentResolution {
                    department: "TI".into(),
                    resolved: 4,
                    // (1 + 2 + 3 + 10) / 4 hours; the 90th percentile of four is the 4th.
                    media_s: 14_400.0,
                    p90_s: 36_000.0,
                },
            ]
        );
        let today = stats.days.last().unwrap();
        assert_eq!(today.date, "2026-11-30");
        let counts: Vec<(&str, u64)> = today
            .by_status
            .iter()
            .map(|(status, n)| (status.as_str(), *n))
            .collect();
        assert_eq!(
            counts,
            [("en_proceso", 0), ("pendiente", 1), ("resuelto", 6)]
        );
    }

    #[test]
    fn incidents_are_counted_on_the_day_they_were_reported_for_thirty_days() {
        let mut tally = DailyTally::new(at(START));
        // 2026-11-01 is the window's first day, 2026-10-31 the day before it.
        assert!(tally.add_incident(&incident(START - DAY, Status::InProgress, None, None)));
        assert!(tally.add_incident(&incident(START - 29 * DAY, Status::Pending, None, None)));
        assert!(!tally.add_incident(&incident(START - 30 * DAY, Status::Pending, None, None)));
        let days = tally.finish().days;
        assert_eq!(days.len(), 30);
        assert_eq!(days[0].date, "2026-11-01");
        assert_eq!(days[0].by_status["pendiente"], 1);
        assert_eq!(days[28].date, "2026-11-29");
        assert_eq!(days[28].by_status["en_proceso"], 1);
        assert_eq!(days[29].date, "2026-11-30");
        let total: u64 = days.iter().flat_map(|d| d.by_status.values()).sum();
        assert_eq!(total, 2, "the incident of 2026-10-31 is outside the window");
    }

    #[test]
    fn alerts_are_counted_in_the_hour_they_came() {
        // Now is 20:30; the window starts at 21:00 the day before.
        let mut tally = DailyTally::new(at(START + 10 * HOUR + 30 * 60_000));
        let minutes = |hours: i64, minutes: i64| START + hours * HOUR + minutes * 60_000;
        assert!(tally.add_alert(&alert(minutes(10, 20), "critical")));
        assert!(tally.add_alert(&alert(minutes(10, 10), "critical")));
        assert!(tally.add_alert(&alert(minutes(9, 59), "info")));
        assert!(tally.add_alert(&alert(minutes(-13, 0), "warning")));
        assert!(
            !tally.add_alert(&alert(minutes(-13, -1), "error")),
            "20:59 the day before is an hour too old"
        );
        let hours = tally.finish().alerts_by_hour;
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0].hour, at(START - 13 * HOUR));
        assert_eq!(hours[23].hour, at(START + 10 * HOUR));
        assert_eq!(hours[0].by_severity["warning"], 1);
        assert_eq!(hours[22].by_severity["info"], 1);
        assert_eq!(hours[23].by_severity["critical"], 2);
        let total: u64 = hours.iter().flat_map(|h| h.by_severity.values()).sum();
        assert_eq!(total, 4);
        assert!(hours.iter().all(|h| h.by_severity.len() == 4));
    }

    #[test]
    fn the_reply_keeps_its_wire_names() {
        let mut tally = DailyTally::new(at(START));
        tally.add_incident(&incident(
            START - HOUR,
            Status::Resolved,
            Some("TI"),
            Some(START),
        ));
        tally.add_alert(&alert(START, "error"));
        let json = serde_json::to_value(tally.finish()).unwrap();
        assert_eq!(json["dias"][29]["fecha"], "2026-11-30");
        assert_eq!(json["dias"][29]["por_estado"]["resuelto"], 1);
        assert_eq!(
            json["resolucion"],
            serde_json::json!([{"departamento": "TI", "resueltos": 1, "media_s": 3600.0, "p90_s": 3600.0}])
        );
        assert_eq!(
            json["alertas_por_hora"][23]["hora"],
            "2026-11-30T10:00:00.000Z"
        );
        assert_eq!(json["alertas_por_hora"][23]["por_severidad"]["error"], 1);
    }
}
