//! Domain types. Each one is checked when it is built, so holding one means it is valid.

mod ack_link;
mod alert;
mod alert_group;
mod alert_history;
mod attachment;
mod blob;
mod checked_text;
mod daily_stats;
mod delivery;
mod idempotency;
mod ids;
mod incident;
mod lifecycle;
mod mail;
mod page;
mod response_times;
pub(crate) mod schema;
mod session;
mod silence;
mod stats;
mod stream;
mod text;
mod time;
mod user;
mod visibility;
pub(crate) mod wire_names;

pub use self::time::Timestamp;
pub use ack_link::{AckLinks, AckToken, AckTokenRefusal, LinkSecret};
pub(crate) use alert::INGEST_ACTOR;
pub use alert::{Alert, AlertDraft, AlertState, AlertWithIncident, Channel, GroupState, Severity};
pub use alert_group::{Fingerprint, Grouping, Occurrences};
pub use alert_history::{AlertAction, AlertEvent, AlertStatus};
pub use attachment::{Attachment, FileName, MediaType};
pub use blob::{Blob, BlobKey};
pub use daily_stats::{
    DAILY_STATS_DAYS, DAILY_STATS_HOURS, DailyStats, DailyTally, DayCounts, DepartmentResolution,
    HourCounts,
};
pub use delivery::{Delivery, IncidentDeliveries, ReportDelivery};
pub use idempotency::{IdempotencyClaim, IdempotencyKey, IdempotencyRecord, Reservation};
pub use ids::{
    AlertId, AttachmentId, EventId, IdSource, IncidentId, MailId, SilenceId, UlidSource, UserId,
};
pub use incident::{
    Change, Department, DepartmentName, EventKind, Incident, IncidentAction, IncidentDraft,
    IncidentEvent, IncidentParts, IncidentType, TypeCatalog,
};
pub use lifecycle::{Lifecycle, Status, Urgency};
pub use mail::{
    MailAbout, MailCause, MailKind, MailMessage, MailState, OutboxBacklog, OutboxMail, Subject,
};
pub use page::{
    AlertFilter, Cursor, IncidentFilter, Limit, Page, PageRequest, UserFilter,
    contains_ignoring_case,
};
pub use response_times::{AlertResponseTimes, DurationSummary, FiringResponse, ResponseSummary};
pub use session::{Session, SessionToken, TokenHash, hex_sha256};
pub use silence::{
    MatchedFields, Matcher, MatcherName, MatcherParts, Matchers, Silence, SilenceDraft,
    SilenceFilter, SilenceParts, SilenceState, SilenceView,
};
pub use stats::{
    AlertCounts, AssignmentReport, BasicStats, GlobalReport, IncidentCounts, StaffStats, UNASSIGNED,
};
pub use stream::{
    Appended, Audience, Position, StreamBatch, StreamEntry, StreamHead, StreamId, StreamKind,
    StreamMessage, Topic,
};
pub use text::{
    AlertMessage, AlertSource, CommentText, Description, Location, Note, PersonName, SearchText,
    SilenceComment,
};
pub use user::{
    AccessChange, Account, Email, NewUser, Password, PasswordHash, Role, User, UserRecord,
};
pub use visibility::{EventView, IncidentView, Redactable, Sight, Timeline, View, redacted};
