//! Mail delivery with lettre: [`SmtpMailer`] over SMTP, [`EmlFileMailer`] into `.eml` files.
//!
//! Both turn an outbox row into the same message: `multipart/alternative` with the plain text
//! and the HTML, the row's `Message-ID` (the same on every retry), and headers made only by
//! lettre's typed headers. TLS is rustls with the ring provider; the server is checked
//! against the webpki roots, or against exactly one CA certificate when
//! [`SmtpOptions::ca_file`] names one. Passwords never appear in `Debug` output or errors.
//!
//! ```no_run
//! # fn example() -> alerta_core::Result<()> {
//! use alerta_adapters::smtp::{SmtpMailer, SmtpOptions};
//!
//! let mailer = SmtpMailer::from_url(
//!     "smtp://user:pass@email-smtp.eu-west-1.amazonaws.com:587?from=alerts%40campus.edu",
//!     SmtpOptions::default(),
//! )?;
//! # Ok(()) }
//! ```

mod eml;
mod endpoint;
mod message;
mod pool;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alerta_core::domain::{Email, OutboxMail};
use alerta_core::ports::{Mailer, SendError};
use alerta_core::{Error, Result};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};

pub use eml::EmlFileMailer;

use endpoint::{Endpoint, TlsMode};
use pool::{ConnectionPool, Failure, Server};

/// Settings of an [`SmtpMailer`] that do not belong in its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpOptions {
    /// The sender, unless the URL names one with `from=` (default `alerta@localhost`).
    pub from: Option<Email>,
    /// How long to wait for the TCP connection (default 10 s).
    pub connect_timeout: Duration,
    /// How long one message's whole conversation may take, from the greeting to the reply
    /// to its data (default 60 s). Lettre's async client has no per-command read timeout,
    /// so this bounds every command of the conversation together.
    pub send_timeout: Duration,
    /// A PEM file whose certificate becomes the only trusted root, for a server with its
    /// own CA (a test server, an internal relay). The server's certificate is still
    /// verified, name included. Unused with `tls=none`.
    pub ca_file: Option<PathBuf>,
    /// How many connections stay open between messages (default 1, at least 1): as many as
    /// messages sent at once, so that a burst of mail does not open a connection per
    /// message.
    pub max_connections: usize,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self {
            from: None,
            connect_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(60),
            ca_file: None,
            max_connections: 1,
        }
    }
}

/// Sends outbox mail to an SMTP server, over connections kept open between messages.
///
/// Failures map onto [`SendError`]: a connection refused, reset or timed out, and a server
/// that does not finish the conversation within the send timeout, are
/// [`SendError::Unreachable`]; a TLS failure and any 4xx reply are [`SendError::Temporary`];
/// a 5xx reply is [`SendError::Permanent`], except
/// the replies that refuse the session rather than the message (530, 534, 535, 538:
/// authentication or encryption required or refused), which are temporary because fixing
/// the configuration is what makes them pass.
///
/// Up to [`SmtpOptions::max_connections`] connections stay open between messages. Each
/// carries one message at a time; one whose conversation failed or was cut short by the send
/// timeout is closed, never reused, and one that sat idle for a minute is closed too.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    connections: ConnectionPool,
    endpoint: Endpoint,
    from: Mailbox,
    send_timeout: Duration,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("endpoint", &self.endpoint.redacted())
            .field("from", &self.from.to_string())
            .field("send_timeout", &self.send_timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `url`:
    /// `smtp://[user:password@]host[:port][?tls=starttls|implicit|none][&from=address]` or
    /// `smtps://...`.
    ///
    /// - `smtp://` requires STARTTLS (port 587 by default); the connection stays plain only
    ///   when `tls=none` is written (port 25 by default), and then credentials are refused.
    /// - `smtps://` (or `tls=implicit`) uses TLS from the first byte (port 465 by default).
    /// - The user name and password are percent-decoded: write `@` as `%40`, `:` as `%3A`.
    /// - `from=` names the sender, over [`SmtpOptions::from`].
    ///
    /// Nothing is sent and no connection is made here.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a URL that is malformed, names unknown parameters or would
    /// send a password in the clear (field `smtp_url`; the message never repeats the
    /// URL), or for a CA file that cannot be read or holds no certificate (field
    /// `smtp_ca_file`).
    pub fn from_url(url: &str, options: SmtpOptions) -> Result<Self> {
        let endpoint = Endpoint::parse(url)?;
        let from = message::sender(endpoint.from.as_ref().or(options.from.as_ref()))
            .map_err(|e| Error::invalid("smtp_url", e))?;
        let tls = match endpoint.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => {
                Tls::Required(tls_parameters(&endpoint.host, options.ca_file.as_deref())?)
            }
            TlsMode::Implicit => {
                Tls::Wrapper(tls_parameters(&endpoint.host, options.ca_file.as_deref())?)
            }
        };
        // "Dangerous" only because this builder sets no TLS of its own: `tls` is set here.
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(endpoint.host.clone())
                .port(endpoint.port)
                .timeout(Some(options.connect_timeout))
                .tls(tls.clone());
        let credentials = endpoint
            .login
            .as_ref()
            .map(|login| Credentials::new(login.user.clone(), login.password.clone()));
        if let Some(credentials) = &credentials {
            builder = builder.credentials(credentials.clone());
        }
        let server = Server {
            host: endpoint.host.clone(),
            port: endpoint.port,
            connect_timeout: options.connect_timeout,
            tls,
            credentials,
        };
        Ok(Self {
            connections: ConnectionPool::new(server, options.max_connections),
            transport: builder.build(),
            endpoint,
            from,
            send_timeout: options.send_timeout,
        })
    }

    /// Where this mailer sends, without the password: for logs.
    pub fn describe(&self) -> String {
        self.endpoint.redacted()
    }
}

fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let invalid = |why: String| Error::invalid("smtp_ca_file", why);
        let pem = std::fs::read(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        // An empty bundle would parse and then trust nothing, failing every handshake.
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(invalid(format!(
                "{} holds no PEM certificate",
                path.display()
            )));
        }
        let certificate =
            Certificate::from_pem(&pem).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        builder = builder
            .certificate_store(CertificateStore::None)
            .add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|e| Error::invalid("smtp_ca_file", format!("TLS setup failed: {e}")))
}

/// Whether the error is the network's: the connection was refused, reset, cut or timed
/// out. A TLS handshake that fails is reported by lettre as a connection error too, but its
/// cause is not one of these, and it stays a temporary failure of its own.
fn server_away(error: &lettre::transport::smtp::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return network_failure(io);
        }
        source = cause.source();
    }
    false
}

/// Whether an I/O error means the server could not be reached or stopped answering.
fn network_failure(io: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        io.kind(),
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::NotConnected
            | ErrorKind::BrokenPipe
            | ErrorKind::TimedOut
            | ErrorKind::UnexpectedEof
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::NetworkDown
            | ErrorKind::AddrNotAvailable
    )
}

/// Replies that refuse the session (authentication, encryption), not this message.
const SESSION_REFUSALS: [u16; 4] = [530, 534, 535, 538];

fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    let text = error.to_string();
    match error.status().map(u16::from) {
        Some(code) if error.is_permanent() && !SESSION_REFUSALS.contains(&code) => {
            SendError::Permanent(text)
        }
        Some(_) => SendError::Temporary(text),
        None if server_away(error) => SendError::Unreachable(text),
        None => SendError::Temporary(text),
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        let message = message::build(mail, &self.from)?;
        let bytes = message.formatted();
        let send = self.connections.send(message.envelope(), &bytes);
        match tokio::time::timeout(self.send_timeout, send).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Failure::Smtp(error))) => Err(classify(&error)),
            Ok(Err(Failure::Connect(error))) if network_failure(&error) => Err(
                SendError::Unreachable(format!("{}: {error}", self.endpoint.redacted())),
            ),
            Ok(Err(Failure::Connect(error))) => Err(SendError::Temporary(format!(
                "{}: {error}",
                self.endpoint.redacted()
            ))),
            Err(_elapsed) => Err(SendError::Unreachable(format!(
                "no complete answer from {} within {:?}",
                self.endpoint.redacted(),
                self.send_timeout
            ))),
        }
    }

    async fn reachable(&self) -> Result<(), SendError> {
        match tokio::time::timeout(self.send_timeout, self.transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(SendError::Unreachable(format!(
                "{} did not answer NOOP",
                self.endpoint.redacted()
            ))),
            Ok(Err(error)) => Err(classify(&error)),
            Err(_elapsed) => Err(SendError::Unreachable(format!(
                "no answer from {} within {:?}",
                self.endpoint.redacted(),
                self.send_timeout
            ))),
        }
    }
}
