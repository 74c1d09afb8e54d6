//! The SMTP URL: where the server is, how to secure the connection, who to log in as.

use std::fmt;

use alerta_core::Error;
use alerta_core::domain::Email;
use percent_encoding::percent_decode_str;
use url::{Host, Url};

/// How the connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TlsMode {
    /// Plain connection, upgraded with STARTTLS; a server that does not offer it is refused.
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
    /// No TLS at all: only when the URL says `tls=none`.
    None,
}

impl TlsMode {
    fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Implicit => 465,
            Self::None => 25,
        }
    }
}

/// A user name and its password; the password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Login {
    pub(super) user: String,
    pub(super) password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// Everything an SMTP URL says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Endpoint {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) tls: TlsMode,
    pub(super) login: Option<Login>,
    pub(super) from: Option<Email>,
}

fn invalid(message: impl Into<String>) -> Error {
    Error::invalid("smtp_url", message)
}

fn decoded(part: &str, what: &str) -> Result<String, Error> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| invalid(format!("the {what} is not UTF-8 once percent-decoded")))
}

impl Endpoint {
    /// Parses `smtp://[user:password@]host[:port][?tls=starttls|implicit|none][&from=address]`
    /// or `smtps://...`.
    ///
    /// `smtp://` means STARTTLS, required, unless `tls=` says otherwise; `smtps://` means
    /// implicit TLS. The port defaults to 587, 465 or 25 by TLS mode. Unknown or repeated
    /// parameters are refused, so that a typo cannot quietly turn TLS off.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] with field `smtp_url`; the message never repeats the URL, which
    /// may hold a password.
    pub(super) fn parse(text: &str) -> Result<Self, Error> {
        let url = Url::parse(text).map_err(|e| invalid(format!("not a URL: {e}")))?;
        let scheme_tls = match url.scheme() {
            "smtp" => TlsMode::StartTls,
            "smtps" => TlsMode::Implicit,
            _ => return Err(invalid("the scheme must be smtp or smtps")),
        };
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err(invalid("an SMTP URL has no path and no fragment"));
        }
        let host = match url.host() {
            Some(Host::Domain(domain)) if !domain.is_empty() => domain.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(invalid("the URL names no host")),
        };

        let mut tls = None;
        let mut from = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "tls" if tls.is_none() => {
                    tls = Some(match value.to_ascii_lowercase().as_str() {
                        "starttls" => TlsMode::StartTls,
                        "implicit" => TlsMode::Implicit,
                        "none" => TlsMode::None,
                        _ => return Err(invalid("tls= must be starttls, implicit or none")),
                    });
                }
                "from" if from.is_none() => {
                    from = Some(
                        Email::parse(&value)
                            .map_err(|_| invalid("from= must be an e-mail address"))?,
                    );
                }
                "tls" | "from" => return Err(invalid(format!("{key}= is given twice"))),
                _ => return Err(invalid(format!("unknown parameter {key}="))),
            }
        }
        let tls = match (scheme_tls, tls) {
            (TlsMode::Implicit, Some(TlsMode::StartTls | TlsMode::None)) => {
                return Err(invalid("smtps:// always uses implicit TLS"));
            }
            (scheme, None) => scheme,
            (_, Some(written)) => written,
        };

        let login = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err(invalid("the URL has a password but no user name")),
            (_, None) => return Err(invalid("the URL has a user name but no password")),
            (user, Some(password)) => Some(Login {
                user: decoded(user, "user name")?,
                password: decoded(password, "password")?,
            }),
        };
        if login.is_some() && tls == TlsMode::None {
            return Err(invalid(
                "a password is only sent over TLS; drop tls=none or the credentials",
            ));
        }

        Ok(Self {
            port: url.port().unwrap_or(tls.default_port()),
            host,
            tls,
            login,
            from,
        })
    }

    /// The URL without its password, for logs.
    pub(super) fn redacted(&self) -> String {
        let scheme = if self.tls == TlsMode::Implicit {
            "smtps"
        } else {
            "smtp"
        };
        let user = self
            .login
            .as_ref()
            .map_or_else(String::new, |login| format!("{}:***@", login.user));
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let tls = match self.tls {
            TlsMode::StartTls => "starttls",
            TlsMode::Implicit => "implicit",
            TlsMode::None => "none",
        };
        format!("{scheme}://{user}{host}:{}?tls={tls}", self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Endpoint {
        Endpoint::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn refused(text: &str) -> String {
        match Endpoint::parse(text) {
            Ok(endpoint) => panic!("{text} was accepted as {endpoint:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn smtp_means_required_starttls_on_587() {
        let e = parse("smtp://mail.example.org");
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("mail.example.org", 587, TlsMode::StartTls)
        );
        assert_eq!(e.login, None);
        let e = parse("smtp://mail.example.org:2525?tls=starttls");
        assert_eq!((e.port, e.tls), (2525, TlsMode::StartTls));
    }

    #[test]
    fn plain_only_when_written_and_implicit_for_smtps() {
        let e = parse("smtp://127.0.0.1?tls=none");
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("127.0.0.1", 25, TlsMode::None)
        );
        let e = parse("smtps://mail.example.org");
        assert_eq!((e.port, e.tls), (465, TlsMode::Implicit));
        let e = parse("smtp://mail.example.org?tls=implicit");
        assert_eq!((e.port, e.tls), (465, TlsMode::Implicit));
        let e = parse("smtp://[::1]:1025?tls=none");
        assert_eq!((e.host.as_str(), e.port), ("::1", 1025));
    }

    #[test]
    fn user_info_is_percent_decoded() {
        let e = parse("smtp://AKIA%2Bx:p%40ss%3Aw%2Fd@email-smtp.eu-west-1.amazonaws.com:587");
        let login = e.login.unwrap();
        assert_eq!(login.user, "AKIA+x");
        assert_eq!(login.password, "p@ss:w/d");
    }

    #[test]
    fn from_names_the_sender() {
        let e = parse("smtp://h?from=Alerts%40Campus.edu");
        assert_eq!(e.from, Some(Email::parse("alerts@campus.edu").unwrap()));
    }

    #[test]
    fn what_could_weaken_tls_or_hide_a_typo_is_refused() {
        refused("smtps://h?tls=none");
        refused("smtps://h?tls=starttls");
        refused("smtp://h?tls=off");
        refused("smtp://h?tsl=none");
        refused("smtp://h?tls=none&tls=none");
        refused("smtp://user:secret@h?tls=none");
        refused("smtp://user@h");
        refused("smtp://:secret@h");
        refused("http://h");
        refused("smtp://h/path");
        refused("smtp://h?from=not-an-address");
        refused("smtp://");
    }

    #[test]
    fn neither_errors_nor_debug_nor_logs_show_the_password() {
        let message = refused("smtp://user:hunter2@h?tls=none");
        assert!(!message.contains("hunter2"), "{message}");
        let message = refused("smtp://user:hunter2@h?bogus=1");
        assert!(!message.contains("hunter2"), "{message}");
        let e = parse("smtp://user:hunter2@h");
        assert!(!format!("{e:?}").contains("hunter2"));
        assert_eq!(e.redacted(), "smtp://user:***@h:587?tls=starttls");
    }
}
