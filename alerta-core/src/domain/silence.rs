//! Silences: admin-made rules that keep matching alerts from being mailed for a while.
//!
//! The model is Alertmanager's: a silence holds matchers that must all match an alert, and a
//! time window; its state (`pending`, `active`, `expired`) follows from the window and the
//! time asked about, so a silence starts and ends without anything being written. Expiring
//! one early moves its end to now.

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use super::wire_names::wire_names;
use super::{Alert, SilenceComment, SilenceId, Timestamp, UserId};
use crate::Error;

wire_names! {
    /// The alert field a [`Matcher`] looks at.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum MatcherName, field "matchers" {
        /// The alert's `source`.
        Source = "source",
        /// The alert's `severity`, by its wire name (`info`, ..., `critical`).
        Severity = "severity",
        /// The alert's `message`.
        Message = "message",
        /// The alert's `fingerprint`: empty for an alert that has none.
        Fingerprint = "fingerprint",
    }
}

/// The fields of an alert that matchers look at.
///
/// A field the alert does not have reads as empty text, as a missing label does in
/// Alertmanager: `value: ""` matches it, and so does the regex `.*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatchedFields<'a> {
    /// `source`.
    pub source: &'a str,
    /// `severity`'s wire name.
    pub severity: &'a str,
    /// `message`.
    pub message: &'a str,
    /// `fingerprint`, when the alert has one.
    pub fingerprint: Option<&'a str>,
}

impl<'a> MatchedFields<'a> {
    /// The fields of `alert`.
    pub fn of(alert: &'a Alert) -> Self {
        Self {
            source: alert.source.as_str(),
            severity: alert.severity.as_str(),
            message: alert.message.as_str(),
            fingerprint: alert.fingerprint_ref().map(|f| f.as_str()),
        }
    }

    fn get(&self, name: MatcherName) -> &'a str {
        match name {
            MatcherName::Source => self.source,
            MatcherName::Severity => self.severity,
            MatcherName::Message => self.message,
            MatcherName::Fingerprint => self.fingerprint.unwrap_or(""),
        }
    }
}

/// One condition of a silence: `name` equals `value`, or, with `is_regex`, `value` is a
/// regular expression that matches the whole of `name`'s text.
///
/// The expression is compiled when the matcher is made, anchored at both ends (`^(?:value)$`,
/// as Alertmanager anchors its own), and compiled under a size limit, so a stored matcher
/// always compiles and no pattern can take unbounded memory or time (the `regex` crate's
/// matching is linear in the text).
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "MatcherParts", into = "MatcherParts")]
pub struct Matcher {
    name: MatcherName,
    value: String,
    regex: Option<Regex>,
}

/// A matcher as the wire and the stores write it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatcherParts {
    /// The field.
    pub name: MatcherName,
    /// The text or pattern.
    pub value: String,
    /// Whether `value` is a regular expression.
    #[serde(default)]
    pub is_regex: bool,
}

impl Matcher {
    /// The longest `value`, in bytes, a matcher takes.
    pub const MAX_VALUE_BYTES: usize = 1024;
    /// The most memory a compiled pattern may take.
    const MAX_COMPILED_BYTES: usize = 256 * 1024;

    /// A matcher of `name` against `value`, compiling `value` when `is_regex`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on `matchers` for a value over [`MAX_VALUE_BYTES`](Self::MAX_VALUE_BYTES)
    /// or a pattern that does not compile within the size limit.
    pub fn new(name: MatcherName, value: &str, is_regex: bool) -> Result<Self, Error> {
        if value.len() > Self::MAX_VALUE_BYTES {
            return Err(Error::invalid(
                "matchers",
                format!(
                    "a matcher's value is at most {} bytes",
                    Self::MAX_VALUE_BYTES
                ),
            ));
        }
        let regex = if is_regex {
            let anchored = format!("^(?:{value})$");
            let compiled = RegexBuilder::new(&anchored)
                .size_limit(Self::MAX_COMPILED_BYTES)
                .dfa_size_limit(Self::MAX_COMPILED_BYTES)
                .build()
                .map_err(|e| {
                    Error::invalid("matchers", format!("{name}: not a valid pattern: {e}"))
                })?;
            Some(compiled)
        } else {
            None
        };
        Ok(Self {
            name,
            value: value.to_owned(),
            regex,
        })
    }

    /// The field it looks at.
    pub fn name(&self) -> MatcherName {
        self.name
    }

    /// The text or pattern.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether the value is a regular expression.
    pub fn is_regex(&self) -> bool {
        self.regex.is_some()
    }

    /// Whether the field it names matches, in `fields`.
    pub fn matches(&self, fields: &MatchedFields<'_>) -> bool {
        let text = fields.get(self.name);
        match &self.regex {
            Some(regex) => regex.is_match(text),
            None => text == self.value,
        }
    }
}

impl TryFrom<MatcherParts> for Matcher {
    type Error = Error;

    fn try_from(parts: MatcherParts) -> Result<Self, Error> {
        Self::new(parts.name, &parts.value, parts.is_regex)
    }
}

impl From<Matcher> for MatcherParts {
    fn from(matcher: Matcher) -> Self {
        Self {
            name: matcher.name,
            is_regex: matcher.is_regex(),
            value: matcher.value,
        }
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value == other.value && self.is_regex() == other.is_regex()
    }
}

impl Eq for Matcher {}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("name", &self.name)
            .field("value", &self.value)
            .field("is_regex", &self.is_regex())
            .finish()
    }
}

wire_names! {
    /// Where a silence stands at a given time.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum SilenceState, field "state" {
        /// It has not started yet.
        Pending = "pending",
        /// It silences matching alerts now.
        Active = "active",
        /// It has ended (or was expired early).
        Expired = "expired",
    }
}

/// The matchers of a silence: 1 to [`MAX`](Self::MAX), all of which must match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Matcher>", into = "Vec<Matcher>")]
pub struct Matchers(Vec<Matcher>);

impl Matchers {
    /// The most matchers a silence holds.
    pub const MAX: usize = 16;

    /// Checks there are 1 to [`MAX`](Self::MAX) matchers.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on `matchers` otherwise.
    pub fn new(matchers: Vec<Matcher>) -> Result<Self, Error> {
        if matchers.is_empty() || matchers.len() > Self::MAX {
            return Err(Self::wrong_count());
        }
        Ok(Self(matchers))
    }

    fn wrong_count() -> Error {
        Error::invalid(
            "matchers",
            format!("a silence has 1 to {} matchers", Self::MAX),
        )
    }

    /// Parses the matchers of a request: `(name, value, is_regex)` each.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on `matchers` for too few or too many, an unknown name, or a bad
    /// value.
    pub fn parse<'a>(
        parts: impl IntoIterator<Item = (&'a str, &'a str, bool)>,
    ) -> Result<Self, Error> {
        let mut matchers = Vec::new();
        for (name, value, is_regex) in parts {
            // Counted before compiling, so a long list costs no more than its first MAX.
            if matchers.len() == Self::MAX {
                return Err(Self::wrong_count());
            }
            matchers.push(Matcher::new(MatcherName::parse(name)?, value, is_regex)?);
        }
        Self::new(matchers)
    }

    /// Whether every matcher matches `fields`.
    pub fn match_all(&self, fields: &MatchedFields<'_>) -> bool {
        self.0.iter().all(|m| m.matches(fields))
    }

    /// The matchers.
    pub fn as_slice(&self) -> &[Matcher] {
        &self.0
    }
}

impl TryFrom<Vec<Matcher>> for Matchers {
    type Error = Error;

    fn try_from(matchers: Vec<Matcher>) -> Result<Self, Error> {
        Self::new(matchers)
    }
}

impl From<Matchers> for Vec<Matcher> {
    fn from(matchers: Matchers) -> Self {
        matchers.0
    }
}

/// What a silence is to be, checked: `POST /silences` parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SilenceDraft {
    matchers: Matchers,
    starts_at: Timestamp,
    ends_at: Timestamp,
    comment: SilenceComment,
}

impl SilenceDraft {
    /// A silence of `matchers` from `starts_at` (now when `None`) until `ends_at`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] on `ends_at` when it is not after both the start and `now`: a
    /// silence that would be expired when made silences nothing.
    pub fn new(
        matchers: Matchers,
        starts_at: Option<Timestamp>,
        ends_at: Timestamp,
        comment: SilenceComment,
        now: Timestamp,
    ) -> Result<Self, Error> {
        let starts_at = starts_at.unwrap_or(now);
        if ends_at <= starts_at {
            return Err(Error::invalid("ends_at", "ends_at must be after starts_at"));
        }
        if ends_at <= now {
            return Err(Error::invalid("ends_at", "ends_at must be in the future"));
        }
        Ok(Self {
            matchers,
            starts_at,
            ends_at,
            comment,
        })
    }
}

/// A silence: `{id, matchers, starts_at, ends_at, comment, created_by, created_at}`.
///
/// Its window is never empty (`ends_at` after `starts_at`), and only
/// [`expire`](Self::expire) changes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Silence {
    id: SilenceId,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<MatcherParts>, min_items = 1, max_items = 16))]
    matchers: Matchers,
    starts_at: Timestamp,
    ends_at: Timestamp,
    comment: SilenceComment,
    created_by: UserId,
    created_at: Timestamp,
}

/// A silence as a store kept it, for [`Silence::restore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SilenceParts {
    /// Its id.
    pub id: SilenceId,
    /// Its matchers.
    pub matchers: Matchers,
    /// When it starts.
    pub starts_at: Timestamp,
    /// When it ends.
    pub ends_at: Timestamp,
    /// Why it was made.
    pub comment: SilenceComment,
    /// The admin who made it.
    pub created_by: UserId,
    /// When it was made.
    pub created_at: Timestamp,
}

impl Silence {
    /// A new silence from `draft`, made by `created_by` at `created_at`.
    pub fn new(
        id: SilenceId,
        draft: SilenceDraft,
        created_by: UserId,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            matchers: draft.matchers,
            starts_at: draft.starts_at,
            ends_at: draft.ends_at,
            comment: draft.comment,
            created_by,
            created_at,
        }
    }

    /// A silence as a store kept it.
    ///
    /// # Danger
    ///
    /// The window is not checked: the parts are taken to be what [`new`](Self::new) and
    /// [`expire`](Self::expire) made and a store wrote. Only stores should call this.
    pub fn restore(parts: SilenceParts) -> Self {
        Self {
            id: parts.id,
            matchers: parts.matchers,
            starts_at: parts.starts_at,
            ends_at: parts.ends_at,
            comment: parts.comment,
            created_by: parts.created_by,
            created_at: parts.created_at,
        }
    }

    /// Its id.
    pub fn id(&self) -> &SilenceId {
        &self.id
    }

    /// Its matchers.
    pub fn matchers(&self) -> &Matchers {
        &self.matchers
    }

    /// When it starts.
    pub fn starts_at(&self) -> Timestamp {
        self.starts_at
    }

    /// When it ends.
    pub fn ends_at(&self) -> Timestamp {
        self.ends_at
    }

    /// Why it was made.
    pub fn comment(&self) -> &SilenceComment {
        &self.comment
    }

    /// The admin who made it.
    pub fn created_by(&self) -> &UserId {
        &self.created_by
    }

    /// When it was made.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// Where it stands at `at`: expired from `ends_at` on, pending before `starts_at`, active
    /// in between.
    pub fn state(&self, at: Timestamp) -> SilenceState {
        if self.ends_at <= at {
            SilenceState::Expired
        } else if self.starts_at > at {
            SilenceState::Pending
        } else {
            SilenceState::Active
        }
    }

    /// Whether it silences an alert with `fields` at `at`: active then, and every matcher
    /// matches.
    pub fn silences(&self, fields: &MatchedFields<'_>, at: Timestamp) -> bool {
        self.state(at) == SilenceState::Active && self.matchers.match_all(fields)
    }

    /// The silence expired at `now`: its end moves to `now` if it was later, and a pending
    /// silence's start moves there too, so its window stays well formed (as Alertmanager
    /// does). An expired silence is returned unchanged.
    pub fn expire(&self, now: Timestamp) -> Self {
        let mut next = self.clone();
        if next.ends_at > now {
            next.ends_at = now;
            next.starts_at = next.starts_at.min(now);
        }
        next
    }

    /// The silence with its state at `at`, as the wire shows it.
    pub fn view(&self, at: Timestamp) -> SilenceView {
        SilenceView {
            silence: self.clone(),
            state: self.state(at),
        }
    }
}

/// A silence with its state at the time it was read: the wire form of `GET /silences`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SilenceView {
    /// The silence.
    #[serde(flatten)]
    pub silence: Silence,
    /// Its state when read.
    pub state: SilenceState,
}

/// Which silences a list holds: those in one of `states` at `at`, or all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SilenceFilter {
    states: Vec<SilenceState>,
    at: Timestamp,
}

impl SilenceFilter {
    /// Every silence.
    pub fn all() -> Self {
        Self {
            states: Vec::new(),
            at: Timestamp::from_unix_millis(0),
        }
    }

    /// The silences in `state` at `at`.
    pub fn in_state(state: SilenceState, at: Timestamp) -> Self {
        Self {
            states: vec![state],
            at,
        }
    }

    /// The silences not expired at `at`: pending or active.
    pub fn unexpired(at: Timestamp) -> Self {
        Self {
            states: vec![SilenceState::Pending, SilenceState::Active],
            at,
        }
    }

    /// The states asked for; empty for all.
    pub fn states(&self) -> &[SilenceState] {
        &self.states
    }

    /// The time the states are taken at.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// Whether `silence` passes the filter: what every store's list must mean.
    pub fn matches(&self, silence: &Silence) -> bool {
        self.states.is_empty() || self.states.contains(&silence.state(self.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertDraft, AlertId, Channel, UlidSource};

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    fn fields<'a>(source: &'a str, message: &'a str) -> MatchedFields<'a> {
        MatchedFields {
            source,
            severity: "critical",
            message,
            fingerprint: None,
        }
    }

    fn silence(matchers: &[(&str, &str, bool)], starts: i64, ends: i64) -> Silence {
        let draft = SilenceDraft::new(
            Matchers::parse(matchers.iter().copied()).unwrap(),
            Some(at(starts)),
            at(ends),
            SilenceComment::parse("mantenimiento").unwrap(),
            at(0),
        )
        .unwrap();
        Silence::new(
            SilenceId::generate(&UlidSource::new()),
            draft,
            UserId::parse("admin").unwrap(),
            at(0),
        )
    }

    #[test]
    fn a_regex_must_match_the_whole_field() {
        let m = Matcher::new(MatcherName::Source, "sensor_0[0-9]", true).unwrap();
        assert!(m.matches(&fields("sensor_01", "x")));
        assert!(
            !m.matches(&fields("sensor_012", "x")),
            "anchored at the end"
        );
        assert!(
            !m.matches(&fields("my_sensor_01", "x")),
            "anchored at the start"
        );
        let alternation = Matcher::new(MatcherName::Source, "a|b", true).unwrap();
        assert!(alternation.matches(&fields("b", "x")));
        assert!(
            !alternation.matches(&fields("ab", "x")),
            "the anchors wrap the whole alternation"
        );
    }

    #[test]
    fn equality_is_exact_and_literal() {
        let m = Matcher::new(MatcherName::Message, "disk.full", false).unwrap();
        assert!(m.matches(&fields("s", "disk.full")));
        assert!(!m.matches(&fields("s", "diskXfull")), "no regex meaning");
        assert!(!m.matches(&fields("s", "Disk.full")), "case counts");
    }

    #[test]
    fn every_matcher_must_match() {
        let s = silence(
            &[
                ("source", "sensor_01", false),
                ("severity", "critical|error", true),
            ],
            0,
            100,
        );
        assert!(s.silences(&fields("sensor_01", "m"), at(50)));
        assert!(!s.silences(&fields("sensor_02", "m"), at(50)));
        let info = MatchedFields {
            severity: "info",
            ..fields("sensor_01", "m")
        };
        assert!(!s.silences(&info, at(50)));
    }

    #[test]
    fn a_missing_fingerprint_reads_as_empty() {
        let m = Matcher::new(MatcherName::Fingerprint, "abc", false).unwrap();
        let with = MatchedFields {
            fingerprint: Some("abc"),
            ..fields("s", "m")
        };
        assert!(m.matches(&with));
        assert!(!m.matches(&fields("s", "m")));
        let empty = Matcher::new(MatcherName::Fingerprint, "", false).unwrap();
        assert!(empty.matches(&fields("s", "m")));
    }

    #[test]
    fn states_follow_the_clock() {
        let s = silence(&[("source", "a", false)], 100, 200);
        assert_eq!(s.state(at(99)), SilenceState::Pending);
        assert_eq!(s.state(at(100)), SilenceState::Active);
        assert_eq!(s.state(at(199)), SilenceState::Active);
        assert_eq!(s.state(at(200)), SilenceState::Expired);
        assert!(
            !s.silences(&fields("a", "m"), at(99)),
            "pending silences nothing"
        );
        assert!(s.silences(&fields("a", "m"), at(150)));
        assert!(
            !s.silences(&fields("a", "m"), at(200)),
            "expired silences nothing"
        );
    }

    #[test]
    fn expiring_moves_the_end_to_now_once() {
        let s = silence(&[("source", "a", false)], 100, 200);
        let active = s.expire(at(150));
        assert_eq!((active.starts_at(), active.ends_at()), (at(100), at(150)));
        assert_eq!(active.state(at(150)), SilenceState::Expired);
        assert_eq!(
            active.expire(at(180)),
            active,
            "expiring again changes nothing"
        );
        let pending = s.expire(at(50));
        assert_eq!((pending.starts_at(), pending.ends_at()), (at(50), at(50)));
        assert_eq!(pending.state(at(50)), SilenceState::Expired);
    }

    #[test]
    fn bad_matchers_are_refused() {
        let code = |r: Result<Matchers, Error>| r.unwrap_err().code();
        assert_eq!(code(Matchers::parse([])), "invalid_matchers");
        assert_eq!(
            code(Matchers::parse([("host", "a", false)])),
            "invalid_matchers"
        );
        assert_eq!(
            code(Matchers::parse([("source", "(", true)])),
            "invalid_matchers"
        );
        let long = "a".repeat(Matcher::MAX_VALUE_BYTES + 1);
        assert_eq!(
            code(Matchers::parse([("source", long.as_str(), false)])),
            "invalid_matchers"
        );
        let many = vec![("source", "a", false); Matchers::MAX + 1];
        assert_eq!(code(Matchers::parse(many)), "invalid_matchers");
        // Short to write, huge to compile: refused by the size limit, not built.
        assert_eq!(
            code(Matchers::parse([("message", "(\\w{100}){100}", true)])),
            "invalid_matchers"
        );
    }

    #[test]
    fn windows_must_end_after_they_start_and_after_now() {
        let matchers = Matchers::parse([("source", "a", false)]).unwrap();
        let comment = SilenceComment::parse("c").unwrap();
        let make = |starts: Option<i64>, ends: i64| {
            SilenceDraft::new(
                matchers.clone(),
                starts.map(at),
                at(ends),
                comment.clone(),
                at(100),
            )
            .map_err(|e| e.code())
        };
        assert_eq!(make(Some(300), 200).unwrap_err(), "invalid_ends_at");
        assert_eq!(make(Some(200), 200).unwrap_err(), "invalid_ends_at");
        assert_eq!(make(Some(0), 50).unwrap_err(), "invalid_ends_at");
        assert!(make(None, 101).is_ok(), "starts now by default");
        assert!(make(Some(0), 101).is_ok(), "may have started already");
    }

    #[test]
    fn matchers_round_trip_through_json_and_recompile() {
        let s = silence(&[("message", "disk .*", true)], 0, 100);
        let json = serde_json::to_value(s.view(at(10))).unwrap();
        assert_eq!(json["state"], "active");
        assert_eq!(
            json["matchers"],
            serde_json::json!([{"name": "message", "value": "disk .*", "is_regex": true}])
        );
        let back: Silence = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        assert!(back.silences(&fields("s", "disk full"), at(10)));
        let alert = Alert::fire(
            AlertId::parse("a1").unwrap(),
            AlertDraft::parse("s", "info", "disk full", Channel::Tcp).unwrap(),
            at(1),
        );
        assert!(back.silences(&MatchedFields::of(&alert), at(10)));
    }
}
