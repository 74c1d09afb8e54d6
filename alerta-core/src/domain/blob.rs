//! Keys of the blob store: built by the core from ids and times, never from user text.

use std::fmt;

use super::{AttachmentId, DepartmentName, IncidentId, Timestamp};
use time::macros::format_description;

/// Where a blob lives, e.g. `adjuntos/{incident}/{attachment}` or
/// `reportes/global/reporte_2026-11-22_10-15.json`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

impl BlobKey {
    /// The key of an attachment's bytes.
    pub fn attachment(incident: &IncidentId, attachment: &AttachmentId) -> Self {
        Self(format!("adjuntos/{incident}/{attachment}"))
    }

    /// The key of the global report made at `at`.
    pub fn global_report(at: Timestamp) -> Self {
        let format = format_description!("[year]-[month]-[day]_[hour]-[minute]");
        let stamp = at
            .to_datetime()
            .format(&format)
            .unwrap_or_else(|_| "1970-01-01_00-00".to_owned());
        Self(format!("reportes/global/reporte_{stamp}.json"))
    }

    /// The key of the report on one assignment of `incident` to `department`.
    pub fn assignment_report(department: &DepartmentName, incident: &IncidentId) -> Self {
        Self(format!(
            "reportes/incidentes/{department}/incidente_{incident}.json"
        ))
    }

    /// Wraps a key read back from a store.
    pub fn from_stored(key: String) -> Self {
        Self(key)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bytes with their content type, as a blob store returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// The MIME type stored with the bytes.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_keys_follow_the_original_layout() {
        let at = Timestamp::parse_rfc3339("2026-11-22T10:15:30.123Z").unwrap();
        assert_eq!(
            BlobKey::global_report(at).as_str(),
            "reportes/global/reporte_2026-11-22_10-15.json"
        );
        let dept = DepartmentName::parse("Mantenimiento").unwrap();
        let id = IncidentId::parse("01ABC").unwrap();
        assert_eq!(
            BlobKey::assignment_report(&dept, &id).as_str(),
            "reportes/incidentes/Mantenimiento/incidente_01ABC.json"
        );
    }
}
