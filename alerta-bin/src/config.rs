//! Configuration in layers: defaults, then `alerta.toml` (or `--config`), then `ALERTA_*`
//! environment variables, then command-line flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// Which backends the server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// SQLite and files under the data directory.
    Local,
    /// DynamoDB tables and S3 buckets.
    Aws,
}

/// A value that must never reach a log: passwords, keys, URLs with credentials.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// A department to create at start-up when it does not exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentConfig {
    /// Its name.
    #[serde(rename = "nombre")]
    pub name: String,
    /// Where its notifications go.
    pub email: String,
}

/// One level of alert escalation, as `[[escalation_levels]]` in the configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationLevelConfig {
    /// How long after the alert fired the level's first reminder goes, e.g. `10m`.
    #[serde(with = "duration_text")]
    pub after: Duration,
    /// The time between the level's reminders (default: `after`).
    #[serde(default, with = "duration_text::optional")]
    pub every: Option<Duration>,
    /// The most reminders the level sends (default 1).
    #[serde(default = "one")]
    pub limit: u32,
    /// Who the level mails (default: the alert's own recipients).
    #[serde(default, deserialize_with = "list")]
    pub emails: Vec<String>,
}

fn one() -> u32 {
    1
}

/// Everything the binary can be told.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `local` (default) or `aws`.
    pub profile: Profile,
    /// Where the HTTP API, the WebSocket stream and the dashboard listen.
    pub http_addr: SocketAddr,
    /// Where TCP ingestion listens.
    pub tcp_addr: SocketAddr,
    /// Where the local profile keeps its database, files and mail.
    pub data_dir: PathBuf,
    /// The first admin's address, created at start-up when missing.
    pub admin_email: Option<String>,
    /// The first admin's password.
    pub admin_password: Option<Secret>,
    /// Where mail goes, e.g. `smtp://user:pass@host:587?tls=starttls`; unset: `.eml` files.
    pub smtp_url: Option<Secret>,
    /// A PEM file trusted as the only root for the SMTP server's certificate.
    pub smtp_ca_file: Option<PathBuf>,
    /// The sender of every mail (default: `from=` in the SMTP URL, else `alerta@localhost`).
    pub mail_from: Option<String>,
    /// The first retry delay of a mail whose send failed; later ones double, with jitter.
    #[serde(with = "duration_text")]
    pub mail_retry_base: Duration,
    /// The longest wait before mail whose server could not be reached is tried again; every
    /// such mail goes as soon as one send succeeds again.
    #[serde(with = "duration_text")]
    pub mail_unreachable_retry: Duration,
    /// How many mails the dispatcher sends at once, over as many SMTP connections kept open
    /// between messages; a pass claims eight times as many rows.
    pub mail_concurrency: usize,
    /// Who gets `error` and `critical` alerts (comma-separated in the environment).
    #[serde(deserialize_with = "list")]
    pub alert_emails: Vec<String>,
    /// How long a mailed alert of an escalating severity may go unacknowledged before it is
    /// mailed again, e.g. `10m`; unset: no reminders (unless `escalation_levels` are given).
    #[serde(with = "duration_text::optional")]
    pub escalate_after: Option<Duration>,
    /// The time between reminders (default: `escalate_after`).
    #[serde(with = "duration_text::optional")]
    pub escalate_every: Option<Duration>,
    /// The most reminders an alert gets (default 3).
    pub escalate_limit: u32,
    /// The severities that escalate (comma-separated in the environment; default `critical`).
    #[serde(deserialize_with = "list")]
    pub escalate_severities: Vec<String>,
    /// Who else gets the reminders, besides `alert_emails` (comma-separated in the
    /// environment).
    #[serde(deserialize_with = "list")]
    pub escalation_emails: Vec<String>,
    /// Levels of escalation, in the configuration file only; when given they replace
    /// `escalate_after`, `escalate_every`, `escalate_limit` and `escalation_emails`.
    pub escalation_levels: Vec<EscalationLevelConfig>,
    /// The URL people reach this server at, e.g. `https://alerta.campus.edu`: links in mail
    /// start with it (default: `http://` and the HTTP address the server is bound to).
    pub public_url: Option<String>,
    /// The key that signs the acknowledgement links of alert mails (at least 32 bytes; every
    /// instance of a deployment needs the same). Unset: the first instance to start makes one
    /// and keeps it in the store, where every other instance reads it.
    pub link_secret: Option<Secret>,
    /// How long an acknowledgement link works, e.g. `24h`; at most `idempotency_ttl`, which
    /// is how long a used link is remembered.
    #[serde(with = "duration_text")]
    pub ack_link_ttl: Duration,
    /// Keys that may ingest alerts without a login (comma-separated in the environment).
    #[serde(deserialize_with = "secret_list")]
    pub ingest_keys: Vec<Secret>,
    /// Keys Open311 clients send as `api_key` (comma-separated in the environment); with
    /// none, the Open311 routes are not served.
    #[serde(deserialize_with = "secret_list")]
    pub open311_keys: Vec<Secret>,
    /// The student account Open311 requests are reported as, made at start-up when missing.
    pub open311_account: String,
    /// The bearer token that `GET /metrics` on the HTTP address requires; unset: the route
    /// is served only on `metrics_addr`, if that is set.
    pub metrics_token: Option<Secret>,
    /// A second address serving only `GET /metrics`, with no token: for a private network.
    pub metrics_addr: Option<SocketAddr>,
    /// The `instance` label of every metric (default: host name and process id).
    pub instance: Option<String>,
    /// How long a login lasts, e.g. `12h`, `30m`, `45s`.
    #[serde(with = "duration_text")]
    pub token_ttl: Duration,
    /// The largest attachment accepted, in bytes.
    pub attachment_max_bytes: u64,
    /// Accepted incident types (comma-separated in the environment).
    #[serde(deserialize_with = "list")]
    pub incident_types: Vec<String>,
    /// Known campus locations (comma-separated in the environment).
    #[serde(deserialize_with = "list")]
    pub locations: Vec<String>,
    /// Other origins whose pages may open the stream (`scheme://host[:port]`, comma-separated
    /// in the environment); the server's own origin is always allowed.
    #[serde(deserialize_with = "list")]
    pub allowed_origins: Vec<String>,
    /// AWS profile: put before every DynamoDB table name (e.g. `staging-`).
    pub aws_table_prefix: String,
    /// AWS profile: the attachments bucket.
    pub aws_attachments_bucket: String,
    /// AWS profile: the reports bucket.
    pub aws_reports_bucket: String,
    /// AWS profile: address S3 buckets by path, as emulators need.
    pub aws_force_path_style: bool,
    /// Departments to create at start-up when missing.
    pub departments: Vec<DepartmentConfig>,
    /// How often the report job runs in-process, e.g. `15m`; unset or empty: never.
    #[serde(with = "duration_text::optional")]
    pub report_every: Option<Duration>,
    /// How long sent, dead and cancelled mail rows are kept, e.g. `30d` (the default);
    /// empty: for ever. Pending rows are never removed.
    #[serde(with = "duration_text::optional")]
    pub retain_mail: Option<Duration>,
    /// How long resolved alert groups are kept after their last change and last occurrence,
    /// with their history and occurrences, e.g. `90d`; unset or empty (the default): for
    /// ever. Firing and acknowledged groups, and groups an incident was opened from, stay.
    #[serde(with = "duration_text::optional")]
    pub retain_alerts: Option<Duration>,
    /// How often retention runs, e.g. `1h` (the default).
    #[serde(with = "duration_text")]
    pub retain_every: Duration,
    /// How often the outbox backlog gauges are read from the store while `/metrics` is
    /// served, e.g. `15s` (the default).
    #[serde(with = "duration_text")]
    pub metrics_backlog_every: Duration,
    /// Seconds a request may take before it is answered 503.
    pub request_timeout_s: u64,
    /// How long an HTTP client may take to send a request's head, which is also how long an
    /// idle keep-alive connection is kept.
    #[serde(with = "duration_text")]
    pub http_header_read_timeout: Duration,
    /// How many HTTP connections (WebSocket streams included) one client address may hold
    /// open; 0: no limit, behind a proxy or load balancer.
    pub http_max_connections_per_address: usize,
    /// How long a TCP ingestion connection may stay silent between lines.
    #[serde(with = "duration_text")]
    pub tcp_idle_timeout: Duration,
    /// How many TCP ingestion connections one client address may hold open; 0: no limit.
    pub tcp_max_connections_per_address: usize,
    /// The broker that joins this instance to others on the same store, e.g.
    /// `redis://10.0.0.5:6379`; unset: this instance serves the stream alone.
    pub broker_url: Option<Secret>,
    /// How long the stream log keeps messages for clients resuming with `since=`, e.g. `7d`.
    #[serde(with = "duration_text")]
    pub stream_retention: Duration,
    /// How long the first result of a write made with an `Idempotency-Key` is replayed,
    /// e.g. `24h`.
    #[serde(with = "duration_text")]
    pub idempotency_ttl: Duration,
    /// Whether students see other people's incidents, without who reported them; `false`:
    /// only their own.
    pub public_incidents: bool,
    /// How old this instance's copy of the silences may get before it is reloaded, e.g.
    /// `2s`: a silence made on another instance applies here within this time.
    #[serde(with = "duration_text")]
    pub silence_refresh: Duration,
}

impl Default for Config {
    fn default() -> Self {
        let settings = alerta_core::Settings::default();
        Self {
            profile: Profile::Local,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tcp_addr: SocketAddr::from(([127, 0, 0, 1], 9000)),
            data_dir: PathBuf::from("./data"),
            admin_email: None,
            admin_password: None,
            smtp_url: None,
            smtp_ca_file: None,
            mail_from: None,
            mail_retry_base: Duration::from_secs(30),
            mail_unreachable_retry: Duration::from_secs(15),
            mail_concurrency: 8,
            alert_emails: Vec::new(),
            escalate_after: None,
            escalate_every: None,
            escalate_limit: 3,
            escalate_severities: vec!["critical".into()],
            escalation_emails: Vec::new(),
            escalation_levels: Vec::new(),
            public_url: None,
            link_secret: None,
            ack_link_ttl: Duration::from_secs(24 * 3600),
            ingest_keys: Vec::new(),
            open311_keys: Vec::new(),
            metrics_token: None,
            metrics_addr: None,
            instance: None,
            open311_account: "open311@localhost".into(),
            token_ttl: Duration::from_secs(12 * 3600),
            attachment_max_bytes: settings.attachment_max_bytes,
            incident_types: settings.incident_types.names().to_vec(),
            locations: settings.locations,
            allowed_origins: Vec::new(),
            aws_table_prefix: String::new(),
            aws_attachments_bucket: "alerta-adjuntos".into(),
            aws_reports_bucket: "alerta-reportes".into(),
            aws_force_path_style: false,
            departments: Vec::new(),
            report_every: None,
            retain_mail: alerta_core::Retention::default().mail,
            retain_alerts: alerta_core::Retention::default().alerts,
            retain_every: Duration::from_secs(3600),
            metrics_backlog_every: Duration::from_secs(15),
            request_timeout_s: 30,
            http_header_read_timeout: Duration::from_secs(10),
            http_max_connections_per_address: 1024,
            tcp_idle_timeout: Duration::from_secs(300),
            tcp_max_connections_per_address: 256,
            broker_url: None,
            stream_retention: Duration::from_secs(7 * 86_400),
            idempotency_ttl: settings.idempotency_max_age,
            public_incidents: settings.public_incidents,
            silence_refresh: settings.silence_refresh,
        }
    }
}

/// Flags given on the command line; only those given override the other layers.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    /// `--profile`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Profile>,
    /// `--http-addr`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_addr: Option<SocketAddr>,
    /// `--tcp-addr`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_addr: Option<SocketAddr>,
    /// `--data-dir`
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Reads the layers: defaults, the file (`file`, or `alerta.toml` when it exists), the
    /// `ALERTA_*` environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    bail!("the configuration file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("alerta.toml")),
        }
        let config: Config = figment
            .merge(Env::prefixed("ALERTA_").ignore(&["LOG"]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("reading the configuration")?;
        Ok(config)
    }
}

/// Parses `90s`, `15m`, `12h`, `1d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .with_context(|| format!("'{text}' is not a duration like 90s, 15m or 12h"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => bail!("unknown duration unit '{other}' (use s, m, h or d)"),
    };
    if seconds == 0 {
        bail!("a duration must be more than zero");
    }
    Ok(Duration::from_secs(seconds))
}

/// Durations as the configuration writes them, read once with the rest of it: the text forms
/// of [`parse_duration`], or a number of seconds (what the environment's `45` becomes).
mod duration_text {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Deserializer, Visitor};
    use serde::ser::Serializer;

    use super::parse_duration;

    /// Writes whole days, hours or minutes with their unit and anything else in seconds, so
    /// that the defaults read back as the README writes them.
    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let seconds = duration.as_secs();
        let text = [(86_400, "d"), (3600, "h"), (60, "m")]
            .into_iter()
            .find(|(unit, _)| seconds > 0 && seconds.is_multiple_of(*unit))
            .map_or_else(
                || format!("{seconds}s"),
                |(unit, name)| format!("{}{name}", seconds / unit),
            );
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        deserializer
            .deserialize_any(DurationVisitor { optional: false })?
            .ok_or_else(|| de::Error::custom("a duration is needed"))
    }

    /// A duration that may be left out: absent, or empty text, means none.
    pub mod optional {
        use std::time::Duration;

        use serde::de::Deserializer;
        use serde::ser::Serializer;

        pub fn serialize<S: Serializer>(
            duration: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match duration {
                Some(duration) => super::serialize(duration, serializer),
                None => serializer.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            deserializer.deserialize_option(super::DurationVisitor { optional: true })
        }
    }

    struct DurationVisitor {
        /// Whether nothing (no value, or empty text) is an answer rather than an error.
        optional: bool,
    }

    impl<'de> Visitor<'de> for DurationVisitor {
        type Value = Option<Duration>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration like 90s, 15m or 12h")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            if self.optional && text.trim().is_empty() {
                return Ok(None);
            }
            parse_duration(text).map(Some).map_err(E::custom)
        }

        fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<Self::Value, E> {
            self.visit_str(&seconds.to_string())
        }

        fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<Self::Value, E> {
            self.visit_str(&seconds.to_string())
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            if self.optional {
                Ok(None)
            } else {
                Err(E::invalid_type(de::Unexpected::Option, &self))
            }
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.visit_none()
        }

        fn visit_some<D: Deserializer<'de>>(
            self,
            deserializer: D,
        ) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Text(String),
    List(Vec<String>),
}

fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::Text(text) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        OneOrMany::List(items) => items,
    })
}

fn secret_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Secret>, D::Error> {
    Ok(list(deserializer)?.into_iter().map(Secret).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure type is fixed by figment"
    )]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "alerta.toml",
                "http_addr = \"127.0.0.1:7000\"\ntcp_addr = \"127.0.0.1:7001\"\nalert_emails = [\"a@x.org\"]\n",
            )?;
            jail.set_env("ALERTA_TCP_ADDR", "127.0.0.1:7002");
            jail.set_env("ALERTA_INGEST_KEYS", "k1, k2");
            jail.set_env("ALERTA_ADMIN_PASSWORD", "hunter22");
            let overrides = Overrides {
                data_dir: Some(PathBuf::from("/tmp/alerta-flag")),
                ..Overrides::default()
            };
            let config = Config::load(None, &overrides).expect("loads");
            assert_eq!(config.http_addr.port(), 7000, "file over defaults");
            assert_eq!(config.tcp_addr.port(), 7002, "environment over file");
            assert_eq!(
                config.data_dir,
                PathBuf::from("/tmp/alerta-flag"),
                "flags over all"
            );
            assert_eq!(config.alert_emails, vec!["a@x.org".to_owned()]);
            assert_eq!(
                config.ingest_keys,
                vec![Secret::new("k1"), Secret::new("k2")]
            );
            let printed = format!("{config:?}");
            assert!(
                !printed.contains("hunter22") && !printed.contains("k1"),
                "secrets never print"
            );
            Ok(())
        });
    }

    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure type is fixed by figment"
    )]
    fn durations_are_parsed_once_from_every_layer() {
        figment::Jail::expect_with(|jail| {
            let defaults = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(defaults.token_ttl, Duration::from_secs(12 * 3600));
            assert_eq!(defaults.mail_retry_base, Duration::from_secs(30));
            assert_eq!(defaults.mail_unreachable_retry, Duration::from_secs(15));
            assert_eq!(defaults.stream_retention, Duration::from_secs(7 * 86_400));
            assert_eq!(defaults.report_every, None);
            assert_eq!(defaults.retain_alerts, None, "alerts are kept unless asked");
            assert_eq!(defaults.idempotency_ttl, Duration::from_secs(24 * 3600));
            assert!(defaults.public_incidents);

            jail.create_file("alerta.toml", "token_ttl = 45\nstream_retention = \"1d\"\n")?;
            jail.set_env("ALERTA_MAIL_RETRY_BASE", "90");
            jail.set_env("ALERTA_REPORT_EVERY", "15m");
            jail.set_env("ALERTA_RETAIN_ALERTS", "90d");
            jail.set_env("ALERTA_IDEMPOTENCY_TTL", "2h");
            jail.set_env("ALERTA_PUBLIC_INCIDENTS", "false");
            let config = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(config.idempotency_ttl, Duration::from_secs(2 * 3600));
            assert!(!config.public_incidents);
            jail.set_env("ALERTA_MAIL_UNREACHABLE_RETRY", "5s");
            jail.set_env("ALERTA_TCP_IDLE_TIMEOUT", "1m");
            jail.set_env("ALERTA_HTTP_HEADER_READ_TIMEOUT", "3");
            let config = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(config.mail_unreachable_retry, Duration::from_secs(5));
            assert_eq!(config.tcp_idle_timeout, Duration::from_secs(60));
            assert_eq!(config.http_header_read_timeout, Duration::from_secs(3));
            assert_eq!(config.token_ttl, Duration::from_secs(45), "a TOML number");
            assert_eq!(config.stream_retention, Duration::from_secs(86_400));
            assert_eq!(
                config.mail_retry_base,
                Duration::from_secs(90),
                "bare seconds"
            );
            assert_eq!(config.report_every, Some(Duration::from_secs(900)));
            assert_eq!(config.retain_alerts, Some(Duration::from_secs(90 * 86_400)));

            jail.set_env("ALERTA_REPORT_EVERY", "");
            jail.set_env("ALERTA_RETAIN_ALERTS", "");
            let config = Config::load(None, &Overrides::default()).expect("loads");
            assert_eq!(config.report_every, None, "empty is off");
            assert_eq!(config.retain_alerts, None, "empty keeps alerts for ever");

            jail.set_env("ALERTA_TOKEN_TTL", "soon");
            let error = format!(
                "{:#}",
                Config::load(None, &Overrides::default()).unwrap_err()
            );
            assert!(
                error.contains("'soon' is not a duration like 90s, 15m or 12h")
                    && error.contains("key \"TOKEN_TTL\" in `ALERTA_` environment"),
                "{error}"
            );
            jail.set_env("ALERTA_TOKEN_TTL", "0s");
            let error = format!(
                "{:#}",
                Config::load(None, &Overrides::default()).unwrap_err()
            );
            assert!(
                error.contains("a duration must be more than zero"),
                "{error}"
            );
            jail.set_env("ALERTA_TOKEN_TTL", "12h");
            jail.set_env("ALERTA_REPORT_EVERY", "5w");
            let error = format!(
                "{:#}",
                Config::load(None, &Overrides::default()).unwrap_err()
            );
            assert!(
                error.contains("unknown duration unit 'w' (use s, m, h or d)")
                    && error.contains("key \"REPORT_EVERY\""),
                "{error}"
            );
            Ok(())
        });
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("12h").unwrap(), Duration::from_secs(43_200));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
