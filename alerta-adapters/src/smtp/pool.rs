//! SMTP connections kept open between messages, for mail sent in bursts.
//!
//! A connection goes back to the pool only after a conversation that ended normally: the
//! future that sends owns its connection, so a send cut short (by the send timeout, or by
//! the dispatcher stopping) drops the connection with it and closes the socket. lettre's own
//! pool hands every dropped connection back, and one dropped mid-conversation would answer
//! the next message's commands with the replies meant for the last one.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

/// How long a connection may sit unused before it is closed rather than reused: well under
/// the five minutes after which servers commonly drop a silent client.
const IDLE_LIMIT: Duration = Duration::from_secs(60);

/// Where and how to connect.
pub(super) struct Server {
    pub host: String,
    pub port: u16,
    pub connect_timeout: Duration,
    pub tls: Tls,
    pub credentials: Option<Credentials>,
}

/// Why a send failed: the connection could not be opened, or the SMTP conversation failed.
pub(super) enum Failure {
    Connect(io::Error),
    Smtp(SmtpError),
}

impl From<SmtpError> for Failure {
    fn from(error: SmtpError) -> Self {
        Self::Smtp(error)
    }
}

/// Up to `max_idle` open connections to one server, each used by one send at a time.
pub(super) struct ConnectionPool {
    server: Server,
    hello: ClientId,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    max_idle: usize,
}

impl ConnectionPool {
    /// A pool that keeps at most `max_idle` connections open between sends (at least 1).
    pub fn new(server: Server, max_idle: usize) -> Self {
        Self {
            server,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        }
    }

    /// Sends one message over an open connection, or a new one when none is free.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), Failure> {
        let mut connection = match self.reusable().await {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        // On an error lettre has already ended the session, and the connection is dropped.
        connection.send(envelope, message).await?;
        self.put_back(connection).await;
        Ok(())
    }

    /// A new connection, with TLS and login as configured.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let server = &self.server;
        let mut connection = if let Tls::Wrapper(parameters) = &server.tls {
            // TLS from the first byte needs lettre's own connect, which leaves Nagle's
            // algorithm on.
            AsyncSmtpConnection::connect_tokio1(
                (server.host.as_str(), server.port),
                Some(server.connect_timeout),
                &self.hello,
                Some(parameters.clone()),
                None,
            )
            .await?
        } else {
            let address = (server.host.as_str(), server.port);
            let tcp = tokio::time::timeout(server.connect_timeout, TcpStream::connect(address))
                .await
                .map_err(|_| {
                    Failure::Connect(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no connection within {:?}", server.connect_timeout),
                    ))
                })?
                .map_err(Failure::Connect)?;
            // A message's body and its final dot go out as separate writes; with Nagle's
            // algorithm the second waits for the server's delayed acknowledgement of the
            // first, about 40 ms on every message.
            tcp.set_nodelay(true).map_err(Failure::Connect)?;
            AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?
        };
        if let Tls::Required(parameters) = &server.tls {
            connection.starttls(parameters.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &server.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }

    /// An idle connection that still answers, if there is one. Those idle too long, or
    /// closed by the server meanwhile, are ended.
    async fn reusable(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut connection, since) = self.idle().pop()?;
            if since.elapsed() > IDLE_LIMIT {
                connection.abort().await;
                continue;
            }
            // A server may end a session at any time; NOOP finds out before a message is
            // started on it.
            if connection.test_connected().await {
                return Some(connection);
            }
            connection.abort().await;
        }
    }

    async fn put_back(&self, mut connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        {
            let mut idle = self.idle();
            if idle.len() < self.max_idle {
                idle.push((connection, Instant::now()));
                return;
            }
        }
        let _ = connection.quit().await;
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}
