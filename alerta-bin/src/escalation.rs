//! The escalation policy the configuration asks for.

use alerta_core::domain::{Email, Severity};
use alerta_core::escalation::{EscalationLevel, EscalationPolicy};
use anyhow::{Context, bail};

use crate::config::Config;

fn emails(field: &str, list: &[String]) -> anyhow::Result<Vec<Email>> {
    list.iter()
        .map(|e| Email::parse(e).with_context(|| format!("{field}: '{e}'")))
        .collect()
}

/// The policy of `config`: its `escalation_levels` when given, otherwise one level made of
/// `escalate_after`, `escalate_every`, `escalate_limit` and `escalation_emails` (reminders to
/// `alert_emails` and `escalation_emails`), or none when `escalate_after` is unset.
pub fn policy(config: &Config) -> anyhow::Result<EscalationPolicy> {
    let severities = config
        .escalate_severities
        .iter()
        .map(|s| Severity::parse(s).with_context(|| format!("escalate_severities: '{s}'")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let levels = if config.escalation_levels.is_empty() {
        let Some(after) = config.escalate_after else {
            return Ok(EscalationPolicy::off());
        };
        let extra = emails("escalation_emails", &config.escalation_emails)?;
        let recipients = if extra.is_empty() {
            Vec::new()
        } else {
            let mut all = emails("alert_emails", &config.alert_emails)?;
            all.extend(
                extra
                    .into_iter()
                    .filter(|e| !config.alert_emails.contains(&e.to_string())),
            );
            all
        };
        let every = config.escalate_every.unwrap_or(after);
        vec![
            EscalationLevel::new(after, every, config.escalate_limit, recipients)
                .context("escalate_after, escalate_every, escalate_limit")?,
        ]
    } else {
        if config.escalate_after.is_some() {
            bail!("give either escalate_after or escalation_levels, not both");
        }
        config
            .escalation_levels
            .iter()
            .enumerate()
            .map(|(n, level)| {
                let recipients = emails("escalation_levels.emails", &level.emails)?;
                EscalationLevel::new(
                    level.after,
                    level.every.unwrap_or(level.after),
                    level.limit,
                    recipients,
                )
                .with_context(|| format!("escalation level {}", n + 1))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    EscalationPolicy::new(severities, levels).context("escalation_levels")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::EscalationLevelConfig;

    #[test]
    fn off_unless_asked() {
        let policy = policy(&Config::default()).unwrap();
        assert!(!policy.escalates(Severity::Critical));
    }

    #[test]
    fn the_simple_form_makes_one_level_to_both_lists() {
        let config = Config {
            alert_emails: vec!["ops@x.org".into()],
            escalate_after: Some(Duration::from_secs(600)),
            escalate_limit: 2,
            escalation_emails: vec!["boss@x.org".into()],
            ..Config::default()
        };
        let policy = policy(&config).unwrap();
        assert!(policy.escalates(Severity::Critical));
        assert!(!policy.escalates(Severity::Error));
        let level = &policy.levels()[0];
        assert_eq!(
            (level.after(), level.every(), level.limit()),
            (Duration::from_secs(600), Duration::from_secs(600), 2)
        );
        let to: Vec<&str> = level.recipients().iter().map(Email::as_str).collect();
        assert_eq!(to, vec!["ops@x.org", "boss@x.org"]);
    }

    #[test]
    fn levels_and_bad_values() {
        let level = |after, emails: &[&str]| EscalationLevelConfig {
            after: Duration::from_secs(after),
            every: None,
            limit: 1,
            emails: emails.iter().map(|e| (*e).to_owned()).collect(),
        };
        let config = Config {
            escalate_severities: vec!["error".into(), "critical".into()],
            escalation_levels: vec![level(600, &[]), level(1800, &["boss@x.org"])],
            ..Config::default()
        };
        let policy = policy(&config).unwrap();
        assert!(policy.escalates(Severity::Error));
        assert_eq!(policy.levels().len(), 2);

        let both = Config {
            escalate_after: Some(Duration::from_secs(60)),
            ..config.clone()
        };
        assert!(super::policy(&both).is_err());
        let bad_email = Config {
            escalation_levels: vec![level(600, &["not an address"])],
            ..config.clone()
        };
        assert!(super::policy(&bad_email).is_err());
        let bad_severity = Config {
            escalate_severities: vec!["loud".into()],
            ..config
        };
        assert!(super::policy(&bad_severity).is_err());
    }
}
