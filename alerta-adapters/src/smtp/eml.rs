//! Mail written as `.eml` files, for the local profile without an SMTP server.

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use alerta_core::domain::{Email, MailId, OutboxMail};
use alerta_core::ports::{Mailer, SendError};
use async_trait::async_trait;
use lettre::message::Mailbox;

use super::message;

/// Writes each message as `<mail id>.eml` under a directory, exactly as it would go over
/// SMTP.
///
/// Lettre's own file transport names each file with a fresh UUID, so a retried row would
/// leave a second file; naming the file after the row makes a retry replace the first. The
/// file is written beside its final name, flushed to disk and then renamed, so a reader
/// never sees half a message and a message reported sent survives a crash.
#[derive(Clone, Debug)]
pub struct EmlFileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl EmlFileMailer {
    /// A mailer writing under `dir` (created on the first send), from `alerta@localhost`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            from: message::sender(None).expect("the default sender is a valid address"),
        }
    }

    /// The same mailer with `from` as the sender.
    ///
    /// # Errors
    ///
    /// [`alerta_core::Error::Invalid`] when lettre does not accept the address.
    pub fn with_from(mut self, from: &Email) -> alerta_core::Result<Self> {
        self.from =
            message::sender(Some(from)).map_err(|e| alerta_core::Error::invalid("email", e))?;
        Ok(self)
    }

    /// The directory the files go to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds the message of the row `id`.
    pub fn path_of(&self, id: &MailId) -> PathBuf {
        self.dir.join(format!("{id}.eml"))
    }
}

#[async_trait]
impl Mailer for EmlFileMailer {
    async fn send(&self, mail: &OutboxMail) -> Result<(), SendError> {
        let id = message::checked_id(mail)?;
        let bytes = message::build(mail, &self.from)?.formatted();
        let dir = self.dir.clone();
        let path = self.path_of(&id);
        let shown = path.display().to_string();
        tokio::task::spawn_blocking(move || write_durably(&dir, &path, &bytes))
            .await
            .map_err(|e| SendError::Temporary(format!("writing {shown} stopped: {e}")))?
            .map_err(|e| SendError::Temporary(format!("cannot write {shown}: {e}")))
    }
}

fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temporary = dir.join(format!(
        ".{}.{}-{}.tmp",
        name.unwrap_or_default(),
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written?;
    sync_dir(dir)
}

/// Makes the rename itself durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
