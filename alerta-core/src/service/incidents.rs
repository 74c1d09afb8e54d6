//! Reporting and managing incidents.

use std::future::Future;

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{Alerta, require_admin, require_staff};
use crate::domain::{
    Attachment, AttachmentId, Blob, BlobKey, CommentText, DepartmentName, Description, EventView,
    FileName, IdempotencyKey, Incident, IncidentAction, IncidentDraft, IncidentEvent,
    IncidentFilter, IncidentId, IncidentView, Location, MailId, MediaType, Note, OutboxMail, Page,
    PageRequest, Sight, Status, Timeline, Timestamp, Urgency, User, hex_sha256,
};
use crate::notifications;
use crate::ports::IncidentChange;
use crate::{ConflictKind, Error, Result};

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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preview {
    /// The incident as it would be stored (nothing is).
    pub incident: Incident,
    /// Things worth a second look, for a person.
    pub warnings: Vec<String>,
}

/// `POST /incidents/validate-location`: `{valid, ubicacion, suggestions}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LocationCheck {
    /// Whether the location is a known campus location.
    pub valid: bool,
    /// The location, trimmed; the catalog's spelling when it is known.
    #[serde(rename = "ubicacion")]
    pub location: String,
    /// Known locations that look like it.
    pub suggestions: Vec<String>,
}

/// What a change writes besides the incident and its event.
#[derive(Default)]
struct Effects {
    /// Attachment metadata the change adds.
    attachments: Vec<Attachment>,
    /// Mail the change sends.
    mails: Vec<OutboxMail>,
}

/// The effects of a change that writes nothing besides the incident and its event.
async fn no_effects(_: Incident, _: IncidentEvent) -> Result<Effects> {
    Ok(Effects::default())
}

/// How often a change without an expected version is retried when another change got in
/// between reading and writing.
pub(super) const RETRIES_WITHOUT_VERSION: usize = 5;

impl Alerta {
    /// Parses the fields of a report against the configured type catalog.
    pub fn parse_draft(
        &self,
        kind: &str,
        description: &str,
        location: &str,
        urgency: &str,
    ) -> Result<IncidentDraft> {
        Ok(IncidentDraft {
            kind: self.inner.settings.incident_types.parse(kind)?,
            description: Description::parse(description)?,
            location: Location::parse(location)?,
            urgency: Urgency::parse(urgency)?,
        })
    }

    /// Reports an incident (`POST /incidents`); any role.
    pub async fn report_incident(
        &self,
        actor: &User,
        draft: IncidentDraft,
        key: Option<&IdempotencyKey>,
    ) -> Result<Incident> {
        self.idempotent(actor.id.as_str(), key, "incident.create".into(), async {
            let (incident, event) = Incident::report(draft, &actor.id, self.now(), self.ids());
            let change = IncidentChange {
                incident: incident.clone(),
                expected_version: None,
                events: vec![event],
                attachments: vec![],
                mails: vec![],
            };
            self.commit(change).await?;
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
        let (incident, _) = Incident::report(draft, &actor.id, self.now(), self.ids());
        Preview { incident, warnings }
    }

    /// Checks a location against the configured campus locations.
    pub fn validate_location(&self, location: &str) -> LocationCheck {
        let wanted = location.trim();
        let known = &self.inner.settings.locations;
        if known.is_empty() {
            return LocationCheck {
                valid: !wanted.is_empty(),
                location: wanted.to_owned(),
                suggestions: vec![],
            };
        }
        let folded = fold(wanted);
        if let Some(exact) = known.iter().find(|k| fold(k) == folded) {
            return LocationCheck {
                valid: true,
                location: exact.clone(),
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
            location: wanted.to_owned(),
            suggestions,
        }
    }

    /// A page of incidents (`GET /incidents`); any role, each as the caller may see it
    /// ([`Sight`]): a student gets others' incidents without their reporter, or, when
    /// incidents are not public, only their own.
    pub async fn list_incidents(
        &self,
        actor: &User,
        filter: &IncidentFilter,
        page: &PageRequest,
    ) -> Result<Page<IncidentView>> {
        let public = self.inner.settings.public_incidents;
        let own_only;
        let filter = if public || actor.role.manages_incidents() {
            filter
        } else {
            own_only = IncidentFilter {
                reported_by: Some(actor.id.clone()),
                ..filter.clone()
            };
            &own_only
        };
        let page = self.inner.storage.incidents.incidents(filter, page).await?;
        Ok(page.map(|incident| self.view(actor, incident)))
    }

    /// A page of the caller's own incidents (`GET /incidents/mine`), in full.
    pub async fn my_incidents(&self, actor: &User, page: &PageRequest) -> Result<Page<Incident>> {
        let filter = IncidentFilter {
            reported_by: Some(actor.id.clone()),
            ..IncidentFilter::default()
        };
        self.inner.storage.incidents.incidents(&filter, page).await
    }

    /// One incident (`GET /incidents/{id}`); any role, as the caller may see it. Another
    /// student's incident while incidents are not public is [`Error::NotFound`], as if it
    /// did not exist.
    pub async fn incident(&self, actor: &User, id: &IncidentId) -> Result<IncidentView> {
        let incident = self.load(id).await?;
        match self.sight(actor, &incident) {
            Sight::Hidden => Err(Error::NotFound("incident")),
            _ => Ok(self.view(actor, incident)),
        }
    }

    fn sight(&self, actor: &User, incident: &Incident) -> Sight {
        Sight::of(actor, incident, self.inner.settings.public_incidents)
    }

    /// `incident` as `actor` sees it; never called for a hidden one.
    fn view(&self, actor: &User, incident: Incident) -> IncidentView {
        match self.sight(actor, &incident) {
            Sight::Full => IncidentView::full(incident),
            _ => IncidentView::without_reporter(incident),
        }
    }

    /// Loads an incident whose comments and attachments `actor` wants: refused with
    /// [`Error::Forbidden`] unless the caller sees it in full (staff, admins, its reporter),
    /// or [`Error::NotFound`] when the caller may not see it at all.
    async fn load_in_full(&self, actor: &User, id: &IncidentId) -> Result<Incident> {
        let incident = self.load(id).await?;
        match self.sight(actor, &incident) {
            Sight::Full => Ok(incident),
            Sight::WithoutReporter => Err(Error::Forbidden(
                "only the reporter, staff and admins see an incident's attachments",
            )),
            Sight::Hidden => Err(Error::NotFound("incident")),
        }
    }

    async fn load(&self, id: &IncidentId) -> Result<Incident> {
        self.inner
            .storage
            .incidents
            .incident(id)
            .await?
            .ok_or(Error::NotFound("incident"))
    }

    /// Records `action` by `actor` on the incident `id` ([`Incident::record`]) and commits
    /// it, with what `effects` adds for the outcome: mail, attachment metadata. `at` is when
    /// it happened; `None` means now, at each attempt.
    ///
    /// Without an expected version, a change that lost a race with another is recorded again
    /// on the new state; with one, the race is the caller's to see (a stale version).
    async fn record<F, Fut>(
        &self,
        id: &IncidentId,
        actor: &User,
        action: IncidentAction,
        at: Option<Timestamp>,
        expected_version: Option<u64>,
        mut effects: F,
    ) -> Result<(Incident, IncidentEvent)>
    where
        F: FnMut(Incident, IncidentEvent) -> Fut,
        Fut: Future<Output = Result<Effects>>,
    {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let current = self.load(id).await?;
            if expected_version.is_some_and(|v| v != current.version()) {
                return Err(Error::stale_version());
            }
            let at = at.unwrap_or_else(|| self.now());
            let (next, event) = current.record(action.clone(), &actor.id, at, self.ids())?;
            let Effects { attachments, mails } = effects(next.clone(), event.clone()).await?;
            let change = IncidentChange {
                incident: next.clone(),
                expected_version: Some(current.version()),
                events: vec![event.clone()],
                attachments,
                mails,
            };
            match self.commit(change).await {
                Ok(()) => return Ok((next, event)),
                Err(e)
                    if e.conflict_kind() == Some(ConflictKind::StaleVersion)
                        && expected_version.is_none()
                        && attempts < RETRIES_WITHOUT_VERSION => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Stores `change` and tells the live stream what it appended.
    pub(super) async fn commit(&self, change: IncidentChange) -> Result<()> {
        let messages = change.stream_messages();
        let appended = self.inner.storage.incidents.commit(change).await?;
        self.publish(appended, messages).await;
        Ok(())
    }

    fn outbox_row(
        &self,
        kind: crate::domain::MailKind,
        incident: &Incident,
        message: crate::domain::MailMessage,
    ) -> OutboxMail {
        let cause = crate::domain::MailCause::incident(kind, incident.id());
        OutboxMail::new(MailId::generate(self.ids()), cause, message, self.now())
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
            let action = IncidentAction::MoveTo {
                status: request.to,
                note: request.note.clone(),
            };
            let mail_the_reporter = |next: Incident, _| async move {
                if next.status() != Status::Resolved {
                    return Ok(Effects::default());
                }
                let reporter = self
                    .inner
                    .storage
                    .users
                    .user_by_id(next.reported_by())
                    .await?;
                let mails = reporter
                    .map(|r| {
                        let mail = notifications::resolved_mail(&next, r.user.email);
                        self.outbox_row(crate::domain::MailKind::IncidentResolved, &next, mail)
                    })
                    .into_iter()
                    .collect();
                Ok(Effects {
                    mails,
                    ..Effects::default()
                })
            };
            let (next, _) = self
                .record(
                    id,
                    actor,
                    action,
                    None,
                    request.expected_version,
                    mail_the_reporter,
                )
                .await?;
            Ok(next)
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
            let action = IncidentAction::Comment(text.clone());
            let recorded = self.record(id, actor, action, None, None, no_effects);
            Ok(recorded.await?.1)
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
            let action = IncidentAction::Assign(department.name.clone());
            let mail_the_department = |next: Incident, event: IncidentEvent| {
                let department = department.clone();
                async move {
                    let mut history = self.inner.storage.incidents.history(next.id()).await?;
                    history.push(event);
                    let report = BlobKey::assignment_report(&department.name, next.id());
                    let mail =
                        notifications::assignment_mail(&next, &history, &department, &report);
                    Ok(Effects {
                        mails: vec![self.outbox_row(
                            crate::domain::MailKind::Assignment,
                            &next,
                            mail,
                        )],
                        ..Effects::default()
                    })
                }
            };
            let (next, _) = self
                .record(id, actor, action, None, None, mail_the_department)
                .await?;
            Ok(next)
        })
        .await
    }

    /// Attaches a file (`POST /incidents/{id}/attachments`); the reporter, staff and admin.
    ///
    /// The size is checked against the limit ([`Error::TooLarge`]) and the bytes against the
    /// declared type and the allow-list ([`Error::UnsupportedMediaType`]) before anything is
    /// stored.
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
        if !(actor.role.manages_incidents() || *incident.reported_by() == actor.id) {
            return Err(Error::Forbidden(
                "only the reporter, staff or admin may attach files",
            ));
        }
        let operation = format!("incident.attach:{id}");
        self.idempotent(actor.id.as_str(), key, operation, async {
            let attachment = Attachment {
                attachment_id: AttachmentId::generate(self.ids()),
                incident_id: incident.id().clone(),
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
            let action = IncidentAction::Attach(attachment.clone());
            let its_metadata = |_, _| {
                let attachment = attachment.clone();
                async move {
                    Ok(Effects {
                        attachments: vec![attachment],
                        ..Effects::default()
                    })
                }
            };
            self.record(
                id,
                actor,
                action,
                Some(attachment.created_at),
                None,
                its_metadata,
            )
            .await?;
            Ok(attachment)
        })
        .await
    }

    /// The attachments of an incident (`GET /incidents/{id}/attachments`): its reporter,
    /// staff and admins.
    pub async fn attachments(&self, actor: &User, id: &IncidentId) -> Result<Vec<Attachment>> {
        self.load_in_full(actor, id).await?;
        self.inner.storage.incidents.attachments(id).await
    }

    /// An attachment and its bytes: the incident's reporter, staff and admins.
    pub async fn attachment_content(
        &self,
        actor: &User,
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
        self.load_in_full(actor, id).await?;
        let blob = self.inner.blobs.get(&meta.blob_key()).await?;
        Ok((meta, blob))
    }

    /// The history of an incident, oldest first (`GET /incidents/{id}/events`): whole for
    /// staff and admins; for its reporter, every change but staff comments, without who made
    /// them (what the stream tells students, and their own attachments). Another student's
    /// incident's history is [`Error::Forbidden`] ([`Error::NotFound`] when they may not see
    /// the incident at all).
    pub async fn history(&self, actor: &User, id: &IncidentId) -> Result<Vec<EventView>> {
        let incident = self.load(id).await?;
        match self.sight(actor, &incident) {
            Sight::Full => {
                let events = self.inner.storage.incidents.history(id).await?;
                Ok(history_as_seen_by(actor, events))
            }
            Sight::WithoutReporter => Err(Error::Forbidden(
                "only the reporter, staff and admins see an incident's history",
            )),
            Sight::Hidden => Err(Error::NotFound("incident")),
        }
    }

    /// The caller's own incidents, newest first, each with its history as
    /// [`history`](Self::history) gives it to them (`GET /incidents/mine/timelines`); any
    /// role. One call where "my incidents" would otherwise read each history on its own.
    pub async fn my_timelines(&self, actor: &User, page: &PageRequest) -> Result<Page<Timeline>> {
        let Page { items, next_cursor } = self.my_incidents(actor, page).await?;
        // Collected first, as for the acknowledgement links' reads: a lazy map over borrowed
        // incidents cannot be shown `Send` for every lifetime.
        let reads: Vec<_> = items
            .iter()
            .map(|incident| self.inner.storage.incidents.history(incident.id()))
            .collect();
        let histories: Vec<Vec<IncidentEvent>> = futures::stream::iter(reads)
            .buffered(HISTORY_READS)
            .try_collect()
            .await?;
        let items = items
            .into_iter()
            .zip(histories)
            .map(|(incident, events)| Timeline {
                incident,
                events: history_as_seen_by(actor, events),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }
}

/// How many histories [`Alerta::my_timelines`] reads at once.
const HISTORY_READS: usize = 8;

/// An incident's history as a caller who sees the incident whole reads it: everything for
/// staff and admins; for its reporter, every event but staff comments, without who did it.
fn history_as_seen_by(actor: &User, events: Vec<IncidentEvent>) -> Vec<EventView> {
    if actor.role.manages_incidents() {
        return events.into_iter().map(EventView::full).collect();
    }
    events
        .into_iter()
        .filter(|event| event.change.reaches_reporter())
        .map(EventView::without_actor)
        .collect()
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
