//! What one subscriber receives: its role, its topics, and where it resumes.

use std::sync::Arc;

use alerta_core::domain::{Audience, Role, StreamId, StreamMessage, Topic, UserId};
use futures_util::future::BoxFuture;

/// Who is subscribing and to what.
///
/// ```
/// use alerta_adapters::websocket::Subscription;
/// use alerta_core::domain::{Role, Topic};
///
/// let alerts_only = Subscription::new(Role::Staff).topics(&[Topic::Alerts]);
/// ```
#[derive(Clone)]
pub struct Subscription {
    pub(crate) role: Role,
    pub(crate) topics: Vec<Topic>,
    pub(crate) since: Option<Since>,
    pub(crate) session: Option<SessionProbe>,
    pub(crate) public_incidents: bool,
    pub(crate) viewer: Option<UserId>,
}

/// Asks whether the session a subscriber connected with still holds, as the store says now:
/// the hub asks every [`HubConfig::session_check`](super::HubConfig::session_check) and
/// closes the connection when it has ended, so a logout, an expiry or a change of role on
/// any instance reaches the streams opened with that session.
pub type SessionProbe = Arc<dyn Fn() -> BoxFuture<'static, SessionState> + Send + Sync>;

/// What a [`SessionProbe`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// The session holds, with the role the subscription was made for.
    Holds,
    /// The session ended (logout, expiry, a disabled user) or its role changed.
    Ended,
    /// The store could not say; the connection is kept and asked again later.
    Unknown,
}

/// Where a subscriber asked to resume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    /// After this message.
    Id(StreamId),
    /// After an id this stream does not give any more (an id from before stream positions):
    /// the subscriber is told to reset.
    Unknown,
}

impl Subscription {
    /// Every topic the role may see, live from now on.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            topics: vec![Topic::Incidents, Topic::Alerts],
            since: None,
            session: None,
            public_incidents: true,
            viewer: None,
        }
    }

    /// Whether a student receives the incident messages meant for students (each incident
    /// without its reporter); `false`, as with `Settings::public_incidents` off, sends
    /// students no incident message. Staff and admins are not affected.
    pub fn public_incidents(mut self, public: bool) -> Self {
        self.public_incidents = public;
        self
    }

    /// Who is subscribing: with [`public_incidents`](Self::public_incidents) off, a student
    /// still receives the students' messages about the incidents they reported (and none
    /// about anyone else's). Without it such a student receives no incident message.
    pub fn viewer(mut self, user: UserId) -> Self {
        self.viewer = Some(user);
        self
    }

    /// Only these topics; an empty list means all of them.
    pub fn topics(mut self, topics: &[Topic]) -> Self {
        if !topics.is_empty() {
            self.topics = topics.to_vec();
        }
        self
    }

    /// First the messages after `since`, then live ones, with none missing in between and
    /// none twice; a `reset` message first instead when the log no longer holds them.
    pub fn resume_after(mut self, since: Since) -> Self {
        self.since = Some(since);
        self
    }

    /// Ends the subscription when `probe` says its session has ended. Without a probe the
    /// connection lasts until the client or the hub ends it.
    pub fn ends_with_session(mut self, probe: SessionProbe) -> Self {
        self.session = Some(probe);
        self
    }

    /// The subscriber's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether this subscriber may receive `message`.
    pub fn accepts(&self, message: &StreamMessage) -> bool {
        self.filter().accepts(
            bit(message.topic, message.audience),
            message.reporter.as_ref(),
        )
    }

    /// What a connection tests each message against.
    pub(crate) fn filter(&self) -> Filter {
        let own_incidents = !self.role.manages_incidents()
            && !self.public_incidents
            && self.topics.contains(&Topic::Incidents);
        Filter {
            mask: self.mask(),
            own: self.viewer.clone().filter(|_| own_incidents),
        }
    }

    /// One bit per (topic, audience) pair this subscriber may receive, so that filtering a
    /// message for a subscriber is one `and`.
    pub(crate) fn mask(&self) -> u8 {
        let mut mask = 0;
        for &topic in &self.topics {
            mask |= bit(topic, Audience::Everyone);
            if self.role.manages_incidents() {
                mask |= bit(topic, Audience::Staff);
            } else if self.public_incidents {
                mask |= bit(topic, Audience::Students);
            }
        }
        mask
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("role", &self.role)
            .field("topics", &self.topics)
            .field("since", &self.since)
            .field("session", &self.session.is_some())
            .field("public_incidents", &self.public_incidents)
            .field("viewer", &self.viewer)
            .finish()
    }
}

/// A subscriber's filter: the (topic, audience) pairs it receives, and with private
/// incidents the student whose own incidents' messages it receives too.
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    mask: u8,
    own: Option<UserId>,
}

impl Filter {
    /// Whether a message of (topic, audience) `bit` about an incident `reporter` reported
    /// passes.
    pub(crate) fn accepts(&self, bit_of_message: u8, reporter: Option<&UserId>) -> bool {
        bit_of_message & self.mask != 0
            || self.own.as_ref().is_some_and(|own| {
                bit_of_message == bit(Topic::Incidents, Audience::Students) && reporter == Some(own)
            })
    }
}

/// The bit of a (topic, audience) pair.
pub(crate) fn bit(topic: Topic, audience: Audience) -> u8 {
    let topic = match topic {
        Topic::Incidents => 0,
        Topic::Alerts => 1,
    };
    let audience = match audience {
        Audience::Everyone => 0,
        Audience::Staff => 1,
        Audience::Students => 2,
    };
    1 << (topic * 3 + audience)
}

/// Parses `topics=incidents,alerts`; empty means every topic.
///
/// # Errors
///
/// Names the first unknown topic.
pub fn parse_topics(text: &str) -> Result<Vec<Topic>, String> {
    let mut topics = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let topic = match name {
            "incidents" => Topic::Incidents,
            "alerts" => Topic::Alerts,
            other => {
                return Err(format!(
                    "unknown topic '{other}': expected incidents or alerts"
                ));
            }
        };
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    Ok(topics)
}
