//! The blob store on a local directory.
//!
//! A key such as `adjuntos/{incident}/{attachment}` is the relative path of one file under
//! the root directory. Each file holds a short header and then the bytes:
//!
//! ```text
//! alerta-blob 1\n
//! <content type>\n
//! <bytes, exactly as stored>
//! ```
//!
//! Keeping the content type in the same file as the bytes means one rename replaces both at
//! once, so a reader can never pair new bytes with an old type.
//!
//! A write goes to a temporary file in the key's directory, is flushed to disk, renamed over
//! the key's file, and then the directory itself is flushed so the rename survives a crash.
//! Temporary files start with a dot; key components may not, so the two never meet.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alerta_core::domain::{Blob, BlobKey};
use alerta_core::ports::BlobStore;
use alerta_core::{Error, Result};
use async_trait::async_trait;

const MAGIC: &[u8] = b"alerta-blob 1\n";

/// The longest content type stored.
const MAX_CONTENT_TYPE: usize = 255;

/// Blobs as files under one directory. Cloning is cheap and shares the directory.
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    /// Makes temporary file names unique among concurrent writers of this process.
    writes: AtomicU64,
}

/// What went wrong on disk. Private: it only travels as the source of
/// [`Error::Unavailable`].
#[derive(Debug, thiserror::Error)]
enum FsError {
    #[error("blob file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("blob file {0} is not in the blob format")]
    Format(PathBuf),
    #[error("the blob task stopped: {0}")]
    Task(String),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| {
        Error::unavailable(
            "blob store",
            FsError::Io {
                path: path.to_path_buf(),
                source,
            },
        )
    }
}

impl FsBlobStore {
    /// A store under `root`, created on the first write if missing.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            inner: Arc::new(Inner {
                root: root.into(),
                writes: AtomicU64::new(0),
            }),
        }
    }

    /// The directory blobs live under.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The file of `key`. Keys are made by the core from ids, but a key is still checked
    /// here: only plain, non-empty components that do not start with a dot.
    fn path_of(&self, key: &BlobKey) -> Result<PathBuf> {
        let refused = || Error::invalid("key", "blob keys are relative paths of plain names");
        let text = key.as_str();
        if text.is_empty() || text.contains(['\\', '\0']) {
            return Err(refused());
        }
        let mut path = self.inner.root.clone();
        for part in text.split('/') {
            let plain = matches!(
                Path::new(part).components().collect::<Vec<_>>().as_slice(),
                [Component::Normal(_)]
            );
            if part.is_empty() || part.starts_with('.') || !plain {
                return Err(refused());
            }
            path.push(part);
        }
        Ok(path)
    }
}

async fn blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::unavailable("blob store", FsError::Task(e.to_string())))?
}

/// Flushes a directory's entries (a rename or a new file in it) to disk.
fn sync_dir(dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing on every platform; where they can, the
    // rename is not durable until they are.
    if cfg!(unix) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Creates `dir` and any missing parents up to `root`, flushing each parent that gained an
/// entry so the new directories survive a crash.
fn create_dirs(root: &Path, dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut current = dir;
    while !current.is_dir() {
        missing.push(current);
        match current.parent() {
            Some(parent) if current != root => current = parent,
            _ => break,
        }
    }
    fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

fn write_atomically(root: &Path, path: &Path, tmp_name: &str, contents: &[&[u8]]) -> Result<()> {
    let dir = path.parent().unwrap_or(root);
    create_dirs(root, dir).map_err(io_error(dir))?;
    let tmp = dir.join(tmp_name);
    let written = (|| {
        let mut file = File::create(&tmp)?;
        for part in contents {
            file.write_all(part)?;
        }
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(&tmp)(e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io_error(path)(e));
    }
    sync_dir(dir).map_err(io_error(dir))
}

fn read_blob(path: &Path) -> Result<Blob> {
    let data = match fs::read(path) {
        Ok(data) => data,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::IsADirectory
                    | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(Error::NotFound("blob"));
        }
        Err(e) => return Err(io_error(path)(e)),
    };
    let malformed = || Error::unavailable("blob store", FsError::Format(path.to_path_buf()));
    let rest = data.strip_prefix(MAGIC).ok_or_else(malformed)?;
    let end = rest
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(malformed)?;
    let content_type = std::str::from_utf8(&rest[..end])
        .map_err(|_| malformed())?
        .to_owned();
    let bytes = rest[end + 1..].to_vec();
    Ok(Blob {
        content_type,
        bytes,
    })
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &BlobKey, content_type: &str, bytes: Vec<u8>) -> Result<()> {
        if content_type.len() > MAX_CONTENT_TYPE || content_type.chars().any(char::is_control) {
            return Err(Error::invalid(
                "content_type",
                "a content type is one line of at most 255 bytes",
            ));
        }
        let path = self.path_of(key)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
        let tmp_name = format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            self.inner.writes.fetch_add(1, Ordering::Relaxed)
        );
        let root = self.inner.root.clone();
        let header = [MAGIC, content_type.as_bytes(), b"\n"].concat();
        blocking(move || write_atomically(&root, &path, &tmp_name, &[&header, &bytes])).await
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob> {
        let path = self.path_of(key)?;
        blocking(move || read_blob(&path)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_must_be_plain_relative_paths() {
        let store = FsBlobStore::new("/data/blobs");
        let ok = store
            .path_of(&BlobKey::from_stored("adjuntos/I1/A1".into()))
            .unwrap();
        assert_eq!(ok, Path::new("/data/blobs/adjuntos/I1/A1"));
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a/./b",
            "a/",
            ".hidden",
            "a/.b.tmp",
            "a\\b",
            "a\0b",
        ] {
            assert!(
                store.path_of(&BlobKey::from_stored(bad.into())).is_err(),
                "{bad:?} accepted"
            );
        }
    }
}
