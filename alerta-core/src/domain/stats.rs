//! Counts over incidents and alerts, and the report documents built from them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Alert, Incident, IncidentEvent, Status, Timestamp};

/// Counts over every incident, what `GET /staff/stats` and the global report show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentCounts {
    /// How many incidents there are.
    pub total: u64,
    /// By `estado`; every status appears, with 0 when none.
    #[serde(rename = "por_estado")]
    pub by_status: BTreeMap<String, u64>,
    /// By `tipo`.
    #[serde(rename = "por_tipo")]
    pub by_kind: BTreeMap<String, u64>,
    /// By `urgencia`.
    #[serde(rename = "por_urgencia")]
    pub by_urgency: BTreeMap<String, u64>,
    /// By `departamento`; unassigned incidents count under `sin_asignar`.
    #[serde(rename = "por_departamento")]
    pub by_department: BTreeMap<String, u64>,
    /// How many incidents are `resuelto` with a known resolution time.
    pub resolved: u64,
    /// The sum of their resolution times in milliseconds.
    pub resolution_ms_total: u64,
}

/// The `por_departamento` key of incidents with no department.
pub const UNASSIGNED: &str = "sin_asignar";

impl IncidentCounts {
    /// Empty counts with every status present.
    pub fn new() -> Self {
        let mut counts = Self::default();
        for status in Status::ALL {
            counts.by_status.insert(status.as_str().to_owned(), 0);
        }
        counts
    }

    /// Counts `incident` in.
    pub fn add(&mut self, incident: &Incident) {
        self.total += 1;
        *self
            .by_status
            .entry(incident.status().as_str().to_owned())
            .or_default() += 1;
        *self
            .by_kind
            .entry(incident.kind().as_str().to_owned())
            .or_default() += 1;
        *self
            .by_urgency
            .entry(incident.urgency().as_str().to_owned())
            .or_default() += 1;
        let department = incident
            .department()
            .as_ref()
            .map_or(UNASSIGNED, |d| d.as_str());
        *self.by_department.entry(department.to_owned()).or_default() += 1;
        if let (Status::Resolved, Some(resolved_at)) = (incident.status(), incident.resolved_at()) {
            self.resolved += 1;
            self.resolution_ms_total += resolved_at.since(incident.created_at()).as_millis() as u64;
        }
    }

    /// Counts over `incidents`.
    pub fn of<'a>(incidents: impl IntoIterator<Item = &'a Incident>) -> Self {
        let mut counts = Self::new();
        for incident in incidents {
            counts.add(incident);
        }
        counts
    }

    /// The mean time from report to resolution over resolved incidents, in seconds.
    pub fn mean_resolution_s(&self) -> Option<f64> {
        (self.resolved > 0).then(|| self.resolution_ms_total as f64 / self.resolved as f64 / 1000.0)
    }
}

/// `GET /stats`: `{total, por_estado}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasicStats {
    /// How many incidents there are.
    pub total: u64,
    /// By `estado`.
    #[serde(rename = "por_estado")]
    pub by_status: BTreeMap<String, u64>,
}

/// `GET /staff/stats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffStats {
    /// How many incidents there are.
    pub total: u64,
    /// By `estado`.
    #[serde(rename = "por_estado")]
    pub by_status: BTreeMap<String, u64>,
    /// By `tipo`.
    #[serde(rename = "por_tipo")]
    pub by_kind: BTreeMap<String, u64>,
    /// By `urgencia`.
    #[serde(rename = "por_urgencia")]
    pub by_urgency: BTreeMap<String, u64>,
    /// By `departamento`.
    #[serde(rename = "por_departamento")]
    pub by_department: BTreeMap<String, u64>,
    /// Mean seconds from report to resolution; `null` while nothing is resolved.
    #[serde(rename = "tiempo_medio_resolucion_s")]
    pub mean_resolution_s: Option<f64>,
}

impl From<IncidentCounts> for StaffStats {
    fn from(c: IncidentCounts) -> Self {
        let mean = c.mean_resolution_s();
        Self {
            total: c.total,
            by_status: c.by_status,
            by_kind: c.by_kind,
            by_urgency: c.by_urgency,
            by_department: c.by_department,
            mean_resolution_s: mean,
        }
    }
}

/// The global report, `reportes/global/reporte_YYYY-MM-DD_HH-MM.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalReport {
    /// When it was made.
    #[serde(rename = "generado_en")]
    pub generated_at: Timestamp,
    /// How many incidents there are.
    pub total: u64,
    /// By `estado`.
    #[serde(rename = "por_estado")]
    pub by_status: BTreeMap<String, u64>,
    /// By `tipo`.
    #[serde(rename = "por_tipo")]
    pub by_kind: BTreeMap<String, u64>,
    /// By `urgencia`.
    #[serde(rename = "por_urgencia")]
    pub by_urgency: BTreeMap<String, u64>,
    /// By `departamento`.
    #[serde(rename = "por_departamento")]
    pub by_department: BTreeMap<String, u64>,
}

impl GlobalReport {
    /// The report of `counts` made at `at`.
    pub fn new(at: Timestamp, counts: IncidentCounts) -> Self {
        Self {
            generated_at: at,
            total: counts.total,
            by_status: counts.by_status,
            by_kind: counts.by_kind,
            by_urgency: counts.by_urgency,
            by_department: counts.by_department,
        }
    }
}

/// The report on one assignment: `{generado_en, incident, eventos}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentReport {
    /// When it was made.
    #[serde(rename = "generado_en")]
    pub generated_at: Timestamp,
    /// The incident as it stands.
    pub incident: Incident,
    /// Its whole history, oldest first.
    #[serde(rename = "eventos")]
    pub events: Vec<IncidentEvent>,
}

/// `GET /events/stats`: `{total, by_severity, by_channel}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertCounts {
    /// How many alerts there are.
    pub total: u64,
    /// By severity; every severity appears.
    pub by_severity: BTreeMap<String, u64>,
    /// By channel; every channel appears.
    pub by_channel: BTreeMap<String, u64>,
}

impl AlertCounts {
    /// Empty counts with every severity and channel present.
    pub fn new() -> Self {
        let mut counts = Self::default();
        for s in super::Severity::ALL {
            counts.by_severity.insert(s.as_str().to_owned(), 0);
        }
        for c in super::Channel::ALL {
            counts.by_channel.insert(c.as_str().to_owned(), 0);
        }
        counts
    }

    /// Counts `alert` in.
    pub fn add(&mut self, alert: &Alert) {
        self.total += 1;
        *self
            .by_severity
            .entry(alert.severity.as_str().to_owned())
            .or_default() += 1;
        *self
            .by_channel
            .entry(alert.channel.as_str().to_owned())
            .or_default() += 1;
    }
}
