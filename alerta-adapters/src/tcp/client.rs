//! A client of the JSON-lines protocol, for `alerta send-event`, scripts and tests.

use std::io;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, ToSocketAddrs};

/// The longest reply line read; replies are short, so anything longer is not this protocol.
const MAX_REPLY_BYTES: u64 = 64 * 1024;

/// One alert as a request line.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct AlertLine<'a> {
    /// Where it comes from, 1–100 characters.
    pub source: &'a str,
    /// `info`, `warning`, `error` or `critical`.
    pub severity: &'a str,
    /// What it says, 1–4,000 characters.
    pub message: &'a str,
    /// An ingest key, when the server requires one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<&'a str>,
}

impl AlertLine<'_> {
    /// The line as sent, without its `\n`.
    pub fn to_json(&self) -> String {
        // A struct of strings always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The server's answer to one line.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Reply {
    /// Whether the alert was stored.
    pub ok: bool,
    /// The stored alert's id, when `ok`.
    #[serde(default)]
    pub id: Option<String>,
    /// Why not, when not `ok`.
    #[serde(default)]
    pub error: Option<String>,
}

impl Reply {
    /// The id of the stored alert, or the server's reason for refusing it.
    pub fn into_result(self) -> Result<String, String> {
        match (self.ok, self.id, self.error) {
            (true, Some(id), _) => Ok(id),
            (_, _, Some(error)) => Err(error),
            _ => Err("the server gave no reason".into()),
        }
    }
}

/// A connection to the TCP ingestion listener.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    /// Connects to the listener at `addr`.
    ///
    /// # Errors
    ///
    /// When the connection cannot be made.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, writer) = stream.into_split();
        Ok(Self {
            reader: BufReader::new(read),
            writer,
        })
    }

    /// Sends one alert and waits for its reply.
    ///
    /// # Errors
    ///
    /// On a connection failure, a reply that is not of this protocol, or a connection closed
    /// before the reply.
    pub async fn send(&mut self, alert: &AlertLine<'_>) -> io::Result<Reply> {
        self.send_lines([alert.to_json()])
            .await?
            .pop()
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    /// Sends alerts without waiting between them and returns their replies in order.
    ///
    /// # Errors
    ///
    /// As [`send_lines`](Self::send_lines).
    pub async fn send_all(&mut self, alerts: &[AlertLine<'_>]) -> io::Result<Vec<Reply>> {
        self.send_lines(alerts.iter().map(AlertLine::to_json)).await
    }

    /// Sends raw lines (each without its `\n`) without waiting between them, and reads their
    /// replies while still sending. Returns the replies in order; fewer replies than lines
    /// means the server closed the connection early, after replying why.
    ///
    /// # Errors
    ///
    /// On a connection failure or a reply that is not of this protocol.
    pub async fn send_lines<I, L>(&mut self, lines: I) -> io::Result<Vec<Reply>>
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]>,
    {
        let mut request = Vec::new();
        let mut count = 0;
        for line in lines {
            request.extend_from_slice(line.as_ref());
            request.push(b'\n');
            count += 1;
        }
        let writer = &mut self.writer;
        let write = async {
            // A server that closed early stops reading; its replies still tell why.
            let _ = writer.write_all(&request).await;
            Ok::<_, io::Error>(())
        };
        let read = read_replies(&mut self.reader, count);
        let ((), replies) = tokio::try_join!(write, read)?;
        Ok(replies)
    }
}

async fn read_replies(
    reader: &mut BufReader<OwnedReadHalf>,
    count: usize,
) -> io::Result<Vec<Reply>> {
    let mut replies = Vec::with_capacity(count);
    let mut line = Vec::new();
    while replies.len() < count {
        line.clear();
        let read = (&mut *reader)
            .take(MAX_REPLY_BYTES)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            break;
        }
        let reply = serde_json::from_slice(&line)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        replies.push(reply);
    }
    Ok(replies)
}

/// Connects to `addr`, sends `lines` (each without its `\n`) and returns the replies.
///
/// # Errors
///
/// As [`Client::connect`] and [`Client::send_lines`].
pub async fn send_lines<I, L>(addr: impl ToSocketAddrs, lines: I) -> io::Result<Vec<Reply>>
where
    I: IntoIterator<Item = L>,
    L: AsRef<[u8]>,
{
    Client::connect(addr).await?.send_lines(lines).await
}
