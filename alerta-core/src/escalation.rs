//! Escalation: reminders for alerts that nobody acknowledges.
//!
//! An [`EscalationPolicy`] says which severities escalate and in which levels, as PagerDuty
//! and OnCall do: level 1 after N minutes to one list, level 2 after M minutes to another,
//! each repeating every so often up to a limit. The policy only computes a schedule; the use
//! case that stores an alert writes one outbox row per reminder in the same atomic step, due
//! at its time and sent only while the alert is still firing, so restarts and several
//! instances send each reminder once and an acknowledgement stops the rest.

use std::time::Duration;

use crate::Error;
use crate::domain::{Email, Severity, Timestamp};

/// The most reminders one alert may get: every reminder is a row written with the alert in
/// one atomic step, and such a step has a size limit on some backends.
pub const MAX_REMINDERS: usize = 24;

/// One level of a policy: from `after` the alert fired, a reminder every `every`, at most
/// `limit` of them, until the next level starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationLevel {
    after: Duration,
    every: Duration,
    limit: u32,
    recipients: Vec<Email>,
}

impl EscalationLevel {
    /// A level whose first reminder goes `after` the alert fired, then one every `every`, at
    /// most `limit` in all, to `recipients` (empty: the alert's own recipients).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a zero `after`, `every` or `limit`.
    pub fn new(
        after: Duration,
        every: Duration,
        limit: u32,
        recipients: Vec<Email>,
    ) -> Result<Self, Error> {
        if after.is_zero() {
            return Err(Error::invalid(
                "escalate_after",
                "an escalation level must start after more than zero",
            ));
        }
        if every.is_zero() {
            return Err(Error::invalid(
                "escalate_every",
                "reminders must be more than zero apart",
            ));
        }
        if limit == 0 {
            return Err(Error::invalid(
                "escalate_limit",
                "an escalation level sends at least one reminder",
            ));
        }
        Ok(Self {
            after,
            every,
            limit,
            recipients,
        })
    }

    /// How long after the alert fired the first reminder of this level goes.
    pub fn after(&self) -> Duration {
        self.after
    }

    /// The time between two reminders of this level.
    pub fn every(&self) -> Duration {
        self.every
    }

    /// The most reminders this level sends.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Who this level mails; empty means the alert's own recipients.
    pub fn recipients(&self) -> &[Email] {
        &self.recipients
    }
}

/// One reminder of a schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reminder {
    /// When it is due.
    pub due: Timestamp,
    /// Its level, counting from 1.
    pub level: usize,
    /// Its place among all the alert's reminders, counting from 1.
    pub number: usize,
    /// How long the alert will have gone unacknowledged when it is sent.
    pub unacknowledged_for: Duration,
    /// Who it goes to.
    pub to: Vec<Email>,
}

/// Which alerts escalate and how. The default escalates nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EscalationPolicy {
    severities: Vec<Severity>,
    levels: Vec<EscalationLevel>,
}

impl EscalationPolicy {
    /// A policy that escalates nothing.
    pub fn off() -> Self {
        Self::default()
    }

    /// A policy for alerts of `severities`, in `levels` (ordered by when they start).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when two levels start at the same time or out of order, or when
    /// the levels would send an alert more than [`MAX_REMINDERS`] reminders.
    pub fn new(severities: Vec<Severity>, levels: Vec<EscalationLevel>) -> Result<Self, Error> {
        if levels.windows(2).any(|pair| pair[0].after >= pair[1].after) {
            return Err(Error::invalid(
                "escalation_levels",
                "each escalation level must start later than the one before",
            ));
        }
        let policy = Self { severities, levels };
        let most = policy.levels_reminders();
        if most > MAX_REMINDERS {
            return Err(Error::invalid(
                "escalation_levels",
                format!(
                    "an alert may get at most {MAX_REMINDERS} reminders; these levels send up \
                     to {most}"
                ),
            ));
        }
        Ok(policy)
    }

    /// The most reminders the levels could send, before each is cut short by the next.
    fn levels_reminders(&self) -> usize {
        self.levels
            .iter()
            .map(|l| usize::try_from(l.limit).unwrap_or(usize::MAX))
            .fold(0, usize::saturating_add)
    }

    /// Whether alerts of `severity` escalate.
    pub fn escalates(&self, severity: Severity) -> bool {
        !self.levels.is_empty() && self.severities.contains(&severity)
    }

    /// The severities that escalate.
    pub fn severities(&self) -> &[Severity] {
        &self.severities
    }

    /// The levels, in the order they start.
    pub fn levels(&self) -> &[EscalationLevel] {
        &self.levels
    }

    /// The reminders of an alert that fired at `fired_at` and is mailed to `alert_recipients`,
    /// in the order they are due. A level sends its reminders until its limit or until the
    /// next level starts, whichever comes first; a level with no recipients of its own mails
    /// `alert_recipients`, and a reminder with nobody to mail is left out.
    pub fn schedule(&self, fired_at: Timestamp, alert_recipients: &[Email]) -> Vec<Reminder> {
        let mut reminders = Vec::new();
        for (index, level) in self.levels.iter().enumerate() {
            let ends = self.levels.get(index + 1).map(|next| next.after);
            let to = if level.recipients.is_empty() {
                alert_recipients.to_vec()
            } else {
                level.recipients.clone()
            };
            if to.is_empty() {
                continue;
            }
            for n in 0..level.limit {
                let offset = level.after.saturating_add(level.every.saturating_mul(n));
                if ends.is_some_and(|end| offset >= end) {
                    break;
                }
                reminders.push(Reminder {
                    due: fired_at.plus(offset),
                    level: index + 1,
                    number: reminders.len() + 1,
                    unacknowledged_for: offset,
                    to: to.clone(),
                });
            }
        }
        reminders
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(text: &str) -> Email {
        Email::parse(text).unwrap()
    }

    fn minutes(n: u64) -> Duration {
        Duration::from_secs(n * 60)
    }

    #[test]
    fn one_level_repeats_up_to_its_limit_to_the_alert_list() {
        let level = EscalationLevel::new(minutes(10), minutes(5), 3, vec![]).unwrap();
        let policy = EscalationPolicy::new(vec![Severity::Critical], vec![level]).unwrap();
        assert!(policy.escalates(Severity::Critical));
        assert!(!policy.escalates(Severity::Error));
        let t0 = Timestamp::from_unix_millis(1_000);
        let ops = vec![email("ops@x.org")];
        let schedule = policy.schedule(t0, &ops);
        let due: Vec<Timestamp> = schedule.iter().map(|r| r.due).collect();
        assert_eq!(
            due,
            vec![
                t0.plus(minutes(10)),
                t0.plus(minutes(15)),
                t0.plus(minutes(20))
            ]
        );
        assert!(schedule.iter().all(|r| r.to == ops && r.level == 1));
        assert_eq!(
            schedule.iter().map(|r| r.number).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(policy.schedule(t0, &[]).is_empty(), "nobody to mail");
    }

    #[test]
    fn a_later_level_takes_over_with_its_own_list() {
        let boss = vec![email("boss@x.org")];
        let levels = vec![
            EscalationLevel::new(minutes(10), minutes(10), 5, vec![]).unwrap(),
            EscalationLevel::new(minutes(25), minutes(30), 2, boss.clone()).unwrap(),
        ];
        let policy = EscalationPolicy::new(vec![Severity::Critical], levels).unwrap();
        let t0 = Timestamp::from_unix_millis(0);
        let schedule = policy.schedule(t0, &[email("ops@x.org")]);
        let shape: Vec<(u64, usize)> = schedule
            .iter()
            .map(|r| (r.unacknowledged_for.as_secs() / 60, r.level))
            .collect();
        assert_eq!(shape, vec![(10, 1), (20, 1), (25, 2), (55, 2)]);
        assert_eq!(schedule[2].to, boss);
    }

    #[test]
    fn bad_policies_are_refused() {
        let level = |after| EscalationLevel::new(minutes(after), minutes(1), 1, vec![]).unwrap();
        assert!(EscalationPolicy::new(vec![], vec![level(5), level(5)]).is_err());
        assert!(EscalationPolicy::new(vec![], vec![level(6), level(5)]).is_err());
        assert!(EscalationLevel::new(Duration::ZERO, minutes(1), 1, vec![]).is_err());
        assert!(EscalationLevel::new(minutes(1), Duration::ZERO, 1, vec![]).is_err());
        assert!(EscalationLevel::new(minutes(1), minutes(1), 0, vec![]).is_err());
        let many = EscalationLevel::new(minutes(1), minutes(1), 25, vec![]).unwrap();
        assert!(EscalationPolicy::new(vec![Severity::Critical], vec![many]).is_err());
        assert!(!EscalationPolicy::off().escalates(Severity::Critical));
    }
}
