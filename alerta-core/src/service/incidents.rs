//! Reporting and managing incidents.

use serde::{Deserialize, Serialize};

use super::{Alerta, require_admin, require_staff};
use crate::domain::{
    Attachment, AttachmentId, Blob, BlobKey, Change, CommentText, Department, DepartmentName,
    Description, EventId, FileName, IdempotencyKey, Incident, IncidentEvent, IncidentFilter,
    IncidentId, IncidentType, Location, MailId, MediaType, Note, OutboxMail, Page, PageRequest,
    Status, Timestamp, Urgency, User, hex_sha256,
};
use crate::notifications;
use crate::ports::IncidentChange;
use crate::{ConflictKind, Error, Result};

/// A checked incident report: `{tipo, descripcion, ubicacion, urgencia}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentDraft {
    /// The type.
    pub kind: IncidentType,
    /// What happened.
    pub description: Description,
    /// Where.
    pub location: Location,
    /// How urgent.
    pub urgency: Urgency,
}

/// A status change: `{estado, nota?, version?}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// The status to move to.
    pub to: Status,
    /// Why.
    pub note: Option<Note>,
    /// The version the caller saw; when given, a stale one is refused.
    pub expected_version: Option<u64>,
}

/// An uploaded file, before its checks.
#[derive(Clone, Debug)]
pub struct Upload {
    /// The file name the client gave.
    pub filename: String,
    /// The `Content-Type` the client sent.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// `POST /incidents/preview`: the incident as it would be stored, and what looks wrong.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Preview {
    /// The incident as it would be stored (nothing is).
    pub incident: Incident,
    /// Things worth a second look, for a person.
    pub warnings: Vec<String>,
}

/// `POST /incidents/validate-location`: `{valid, ubicacion, suggestions}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationCheck {
    /// Whether the location is a known campus location.
    pub valid: bool,
    /// The location, trimmed; the catalog's spelling when it is known.
    pub ubicacion: String,
    /// Known locations that look like it.
    pub suggestions: Vec<String>,
}

/// How often a change without an expected version is retried when another change got in
/// between reading and writing.
const RETRIES_WITHOUT_VERSION: usize = 5;

impl Alerta {
    /// Parses the fields of a report against the configured type catalog.
    pub fn parse_draft(
        &self,
        tipo: &str,
        descripcion: &str,
        ubicacion: &str,
        urgencia: &str,
    ) -> Result<IncidentDraft> {
        Ok(IncidentDraft {
            kind: self.inner.settings.incident_types.parse(tipo)?,
            description: Description::parse(descripcion)?,
            location: Location::parse(ubicacion)?,
            urgency: Urgency::parse(urgencia)?,
        })
    }

    fn draft_incident(&self, actor: &User, draft: IncidentDraft) -> Incident {
        let now = self.now();
        Incident {
            id: IncidentId::generate(self.ids()),
            kind: draft.kind,
            description: draft.description,
            location: draft.location,
            urgency: draft.urgency,
            status: Status::Pendiente,
            department: None,
            reported_by: actor.id.clone(),
            created_at: now,
            updated_at: now,
            resolved_at: None,
            version: 1,
        }
    }

    fn event(
        &self,
        incident: &IncidentId,
        actor: &User,
        change: Change,
        at: Timestamp,
    ) -> IncidentEvent {
        IncidentEvent {
            event_id: EventId::generate(self.ids()),
            incident_id: incident.clone(),
            change,
            actor: actor.id.clone(),
            created_at: at,
        }
    }

    /// Reports an incident (`POST /incidents`); any role.
    pub async fn report_incident(
        &self,
        actor: &User,
        draft: IncidentDraft,
        key: Option<&IdempotencyKey>,
    ) -> Result<Incident> {
        self.idempotent(actor.id.as_str(), key, "incident.create".into(), async {
            let incident = self.draft_incident(actor, draft);
            let event = self.event(&incident.id, actor, Change::Creado {}, incident.created_at);
            let change = IncidentChange {
                incident: incident.clone(),
                expected_version: None,
                events: vec![event],
                attachments: vec![],
                mails: vec![],
            };
            let messages = change.stream_messages();
            let appended = self.inner.storage.incidents.commit(change).await?;
            self.publish(appended, messages).await;
            Ok(incident)
        })
        .await
    }

    /// The incident a report would create, and warnings about it; stores nothing.
    pub fn preview_incident(&self, actor: &User, draft: IncidentDraft) -> Preview {
        let mut warnings = Vec::new();
        let location = self.validate_location(draft.location.as_str());
        if !location.valid {
            warnings.push(format!(
                "ubicacion '{}' is not a known campus location",
                draft.location
            ));
        }
        if draft.description.as_str().chars().count() < 20 {
            warnings
                .push("descripcion is very short; say what happened and what is affected".into());
        }
        Preview {
            incident: self.draft_incident(actor, draft),
            warnings,
        }
    }

    /// Checks a location against the configured campus locations.
    pub fn validate_location(&self, ubicacion: &str) -> LocationCheck {
        let wanted = ubicacion.trim();
        let known = &self.inner.settings.locations;
        if known.is_empty() {
            return LocationCheck {
                valid: !wanted.is_empty(),
                ubicacion: wanted.to_owned(),
                suggestions: vec![],
            };
        }
        let folded = fold(wanted);
        if let Some(exact) = known.iter().find(|k| fold(k) == folded) {
            return LocationCheck {
                valid: true,
                ubicacion: exact.clone(),
                suggestions: vec![],
            };
        }
        let words: Vec<String> = folded
            .split_whitespace()
            .filter(|w| w.chars().count() >= 3)
            .map(str::to_owned)
            .collect();
        let suggestions = known
            .iter()
            .filter(|k| {
                let k = fold(k);
                (!folded.is_empty() && (k.contains(&folded) || folded.contains(&k)))
                    || words.iter().any(|w| k.contains(w.as_str()))
            })
            .take(5)
            .cloned()
            .collect();
        LocationCheck {
            valid: false,
            ubicacion: wanted.to_owned(),
            suggestions,
        }
    }

    /// A page of incidents (`GET /incidents`); any role.
    pub async fn list_incidents(
        &self,
        _actor: &User,
        filter: &IncidentFilter,
        page: &PageRequest,
    ) -> Result<Page<Incident>> {
        self.inner.storage.incidents.incidents(filter, page).await
    }

    /// A page of the caller's own incidents (`GET /incidents/mine`).
    pub async fn my_incidents(&self, actor: &User, page: &PageRequest) -> Result<Page<Incident>> {
        let filter = IncidentFilter {
            reported_by: Some(actor.id.clone()),
            ..IncidentFilter::default()
        };
        self.inner.storage.incidents.incidents(&filter, page).await
    }

    /// One incident (`GET /incidents/{id}`); any role.
    pub async fn incident(&self, _actor: &User, id: &IncidentId) -> Result<Incident> {
        self.load(id).await
    }

    async fn load(&self, id: &IncidentId) -> Result<Incident> {
        self.inner
            .storage
            .incidents
            .incident(id)
            .await?
            .ok_or(Error::NotFound("incident"))
    }

    /// Loads the incident, lets `plan` turn it into a change, and commits it. Without an
    /// expected version, a change that lost a race with another is planned again on the new
    /// state; with one, the race is the caller's to see (409).
    async fn change<T, F, Fut>(
        &self,
        id: &IncidentId,
        expected_version: Option<u64>,
        mut plan: F,
    ) -> Result<T>
    where
        F: FnMut(Incident) -> Fut,
        Fut: std::future::Future<Output = Result<(IncidentChange, T)>>,
    {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let current = self.load(id).await?;
            if expected_version.is_some_and(|v| v != current.version) {
                return Err(Error::stale_version());
            }
            let (change, result) = plan(current).await?;
            let messages = change.stream_messages();
            match self.inner.storage.incidents.commit(change).await {
                Ok(appended) => {
                    self.publish(appended, messages).await;
                    return Ok(result);
                }
                Err(e)
                    if e.conflict_kind() == Some(ConflictKind::StaleVersion)
                        && expected_version.is_none()
                        && attempts < RETRIES_WITHOUT_VERSION => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn outbox_row(&self, message: crate::domain::MailMessage) -> OutboxMail {
        OutboxMail::new(MailId::generate(self.ids()), message, self.now())
    }

    /// Moves an incident to another status (`POST /incidents/{id}/status`); staff and admin.
    /// Becoming `resuelto` mails the reporter, in the same atomic step.
    pub async fn change_status(
        &self,
        actor: &User,
        id: &IncidentId,
        request: StatusChange,
        key: Option<&IdempotencyKey>,
    ) -> Result<Incident> {
        require_staff(actor)?;
        let operation = format!("incident.status:{id}");
        self.idempotent(actor.id.as_str(), key, operation, async {
            let plan =
                |current: Incident| {
                    let request = request.clone();
                    async move {
                        let to = current.status.move_to(request.to)?;
                        let event = self.event(
                            &current.id,
                            actor,
                            Change::CambioEstado {
                                de: current.status,
                                a: to,
                                nota: request.note,
                            },
                            self.now(),
                        );
                        let mut next = current.clone();
                        next.apply(&event);
                        let mut mails = Vec::new();
                        let reporter = if to == Status::Resuelto {
                            self.inner
                                .storage
                                .users
                                .user_by_id(&current.reported_by)
                                .await?
                        } else {
                            None
                        };
                        if let Some(reporter) = reporter {
                            mails.push(self.outbox_row(notifications::resolved_mail(
                                &next,
                                reporter.user.email,
                            )));
                        }
                        let change = IncidentChange {
                            incident: next.clone(),
                            expected_version: Some(current.version),
                            events: vec![event],
                            attachments: vec![],
                            mails,
                        };
                        Ok((change, next))
                    }
                };
            self.change(id, request.expected_version, plan).await
        })
        .await
    }

    /// Adds a staff comment (`POST /incidents/{id}/comments`); staff and admin.
    pub async fn comment(
        &self,
        actor: &User,
        id: &IncidentId,
        text: CommentText,
        key: Option<&IdempotencyKey>,
    ) -> Result<IncidentEvent> {
        require_staff(actor)?;
        let operation = format!("incident.comment:{id}");
        self.idempotent(actor.id.as_str(), key, operation, async {
            let plan = |current: Incident| {
                let text = text.clone();
                async move {
                    let event = self.event(
                        &current.id,
                        actor,
                        Change::Comentario { texto: text },
                        self.now(),
                    );
                    let mut next = current.clone();
                    next.apply(&event);
                    let change = IncidentChange {
                        incident: next,
                        expected_version: Some(current.version),
                        events: vec![event.clone()],
                        attachments: vec![],
                        mails: vec![],
                    };
                    Ok((change, event))
                }
            };
            self.change(id, None, plan).await
        })
        .await
    }

    /// Assigns a department from the catalog (`POST /incidents/{id}/department`); admin only.
    /// The department is mailed the incident and its history in the same atomic step.
    pub async fn assign_department(
        &self,
        actor: &User,
        id: &IncidentId,
        name: DepartmentName,
        key: Option<&IdempotencyKey>,
    ) -> Result<Incident> {
        require_admin(actor)?;
        let department = self
            .inner
            .storage
            .departments
            .department(&name)
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "departamento",
                    format!("there is no department called '{name}'"),
                )
            })?;
        let operation = format!("incident.department:{id}");
        self.idempotent(actor.id.as_str(), key, operation, async {
            let plan = |current: Incident| {
                let department: Department = department.clone();
                async move {
                    if current.department.as_ref() == Some(&department.name) {
                        return Err(Error::conflict(
                            ConflictKind::AlreadyAssigned,
                            format!("the incident is already assigned to {}", department.name),
                        ));
                    }
                    let event = self.event(
                        &current.id,
                        actor,
                        Change::Asignacion {
                            departamento: department.name.clone(),
                        },
                        self.now(),
                    );
                    let mut next = current.clone();
                    next.apply(&event);
                    let mut history = self.inner.storage.incidents.history(&current.id).await?;
                    history.push(event.clone());
                    let report = BlobKey::assignment_report(&department.name, &current.id);
                    let mail =
                        notifications::assignment_mail(&next, &history, &department, &report);
                    let change = IncidentChange {
                        incident: next.clone(),
                        expected_version: Some(current.version),
                        events: vec![event],
                        attachments: vec![],
                        mails: vec![self.outbox_row(mail)],
                    };
                    Ok((change, next))
                }
            };
            self.change(id, None, plan).await
        })
        .await
    }

    /// Attaches a file (`POST /incidents/{id}/attachments`); the reporter, staff and admin.
    ///
    /// The size is checked against the limit (413) and the bytes against the declared type
    /// and the allow-list (415) before anything is stored.
    pub async fn attach(
        &self,
        actor: &User,
        id: &IncidentId,
        upload: Upload,
        key: Option<&IdempotencyKey>,
    ) -> Result<Attachment> {
        let settings = &self.inner.settings;
        if upload.bytes.len() as u64 > settings.attachment_max_bytes {
            return Err(Error::TooLarge(format!(
                "attachments may be at most {} bytes",
                settings.attachment_max_bytes
            )));
        }
        let filename = FileName::parse(&upload.filename)?;
        let media = MediaType::from_header(&upload.content_type)
            .filter(|m| settings.attachment_types.contains(m))
            .ok_or_else(|| {
                Error::UnsupportedMediaType(format!(
                    "'{}' is not an accepted attachment type",
                    upload.content_type
                ))
            })?;
        if !media.matches(&upload.bytes) {
            return Err(Error::UnsupportedMediaType(format!(
                "the bytes are not {media}"
            )));
        }
        let incident = self.load(id).await?;
        if !(actor.role.manages_incidents() || incident.reported_by == actor.id) {
            return Err(Error::Forbidden(
                "only the reporter, staff or admin may attach files",
            ));
        }
        let operation = format!("incident.attach:{id}");
        self.idempotent(actor.id.as_str(), key, operation, async {
            let attachment = Attachment {
                attachment_id: AttachmentId::generate(self.ids()),
                incident_id: incident.id.clone(),
                filename: filename.clone(),
                content_type: media,
                size: upload.bytes.len() as u64,
                sha256: hex_sha256(&upload.bytes),
                created_at: self.now(),
            };
            // The bytes go first: an incident never points at a blob that is not there. A
            // failed commit leaves an unreferenced blob, which is harmless.
            self.inner
                .blobs
                .put(&attachment.blob_key(), media.as_str(), upload.bytes.clone())
                .await?;
            let plan = |current: Incident| {
                let attachment = attachment.clone();
                async move {
                    let event = self.event(
                        &current.id,
                        actor,
                        Change::Adjunto {
                            attachment_id: attachment.attachment_id.clone(),
                            filename: attachment.filename.as_str().to_owned(),
                        },
                        attachment.created_at,
                    );
                    let mut next = current.clone();
                    next.apply(&event);
                    let change = IncidentChange {
                        incident: next,
                        expected_version: Some(current.version),
                        events: vec![event],
                        attachments: vec![attachment.clone()],
                        mails: vec![],
                    };
                    Ok((change, attachment))
                }
            };
            self.change(id, None, plan).await
        })
        .await
    }

    /// The attachments of an incident (`GET /incidents/{id}/attachments`); any role.
    pub async fn attachments(&self, _actor: &User, id: &IncidentId) -> Result<Vec<Attachment>> {
        self.load(id).await?;
        self.inner.storage.incidents.attachments(id).await
    }

    /// An attachment and its bytes; any role.
    pub async fn attachment_content(
        &self,
        _actor: &User,
        id: &IncidentId,
        attachment: &AttachmentId,
    ) -> Result<(Attachment, Blob)> {
        let meta = self
            .inner
            .storage
            .incidents
            .attachment(id, attachment)
            .await?
            .ok_or(Error::NotFound("attachment"))?;
        let blob = self.inner.blobs.get(&meta.blob_key()).await?;
        Ok((meta, blob))
    }

    /// The history of an incident, oldest first (`GET /incidents/{id}/events`); staff and
    /// admin.
    pub async fn history(&self, actor: &User, id: &IncidentId) -> Result<Vec<IncidentEvent>> {
        require_staff(actor)?;
        self.load(id).await?;
        self.inner.storage.incidents.history(id).await
    }
}

/// Lower case without accents, for comparing locations as people type them.
fn fold(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'ä' | 'â' => 'a',
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'í' | 'ì' | 'ï' | 'î' => 'i',
            'ó' | 'ò' | 'ö' | 'ô' => 'o',
            'ú' | 'ù' | 'ü' | 'û' => 'u',
            other => other,
        })
        .collect()
}
