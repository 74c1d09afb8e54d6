//! The blob store on a local directory.
//!
//! A key such as `adjuntos/{incident}/{attachment}` is the relative path of one file under
//! the root directory, and that file holds the blob's bytes exactly: a report stored as
//! `reportes/global/reporte_....json` is a JSON file any tool can open. Beside it, a hidden
//! sidecar `.{name}.blob` holds the content type, with the length and SHA-256 of the bytes
//! it describes:
//!
//! ```text
//! alerta-blob-meta 1\n
//! <sha-256 hex> <length> <content type>\n      the blob as written last
//! <sha-256 hex> <length> <content type>\n      the one before, while it may still be on disk
//! ```
//!
//! A write replaces the sidecar (with the new entry and the entry of the bytes still on disk)
//! and then the bytes, each by writing a temporary file, flushing it, renaming it over the
//! old one and flushing the directory. A reader takes the entry that matches the bytes it
//! read, so it never pairs bytes with the wrong type: in the instant between the two
//! renames, or after a crash there, the bytes on disk still match an entry. Writers of one
//! directory take turns under an advisory lock on it, across processes.
//!
//! Earlier versions wrote a two-line header (`alerta-blob 1`, the content type) before the
//! bytes, in the file itself. [`FsBlobStore::migrate`] rewrites such files into the form
//! above (sidecar first, then the bytes, so a crash part-way leaves a file that is migrated
//! again on the next run); until then they are still read.
//!
//! Temporary files and sidecars start with a dot; key components may not, so neither ever
//! meets a key.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alerta_core::domain::{Blob, BlobKey};
use alerta_core::ports::BlobStore;
use alerta_core::{Error, Result};
use async_trait::async_trait;

/// The header of the old single-file format.
const OLD_MAGIC: &[u8] = b"alerta-blob 1\n";

/// The first line of a sidecar.
const META_MAGIC: &str = "alerta-blob-meta 1";

/// How often a read starts over when it raced a writer between its two renames.
const READ_ATTEMPTS: usize = 20;

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
        crate::backend_errors::record("fs");
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

/// What a sidecar says about one version of the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    sha256: String,
    length: u64,
    content_type: String,
}

impl Entry {
    fn of(bytes: &[u8], content_type: &str) -> Self {
        Self {
            sha256: sha256_hex(bytes),
            length: bytes.len() as u64,
            content_type: content_type.to_owned(),
        }
    }

    fn describes(&self, bytes: &[u8]) -> bool {
        self.length == bytes.len() as u64 && self.sha256 == sha256_hex(bytes)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sidecar_of(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
    path.with_file_name(format!(".{name}.blob"))
}

fn encode_sidecar(entries: &[Entry]) -> Vec<u8> {
    let mut text = format!("{META_MAGIC}\n");
    for entry in entries {
        text.push_str(&format!(
            "{} {} {}\n",
            entry.sha256, entry.length, entry.content_type
        ));
    }
    text.into_bytes()
}

/// The entries of a sidecar, or `None` when there is none; a sidecar that cannot be read as
/// one is an error.
fn read_sidecar(path: &Path) -> Result<Option<Vec<Entry>>> {
    let sidecar = sidecar_of(path);
    let text = match fs::read(&sidecar) {
        Ok(text) => text,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::IsADirectory
                    | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io_error(&sidecar)(e)),
    };
    let malformed = || Error::unavailable("blob store", FsError::Format(sidecar.clone()));
    let text = String::from_utf8(text).map_err(|_| malformed())?;
    let mut lines = text.lines();
    if lines.next() != Some(META_MAGIC) {
        return Err(malformed());
    }
    lines
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let sha256 = parts
                .next()
                .filter(|h| h.len() == 64)
                .ok_or_else(malformed)?;
            let length = parts
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(malformed)?;
            let content_type = parts.next().ok_or_else(malformed)?;
            Ok(Entry {
                sha256: sha256.to_owned(),
                length,
                content_type: content_type.to_owned(),
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The bytes of a key's file, or NotFound.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(data) => Ok(data),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::IsADirectory
                    | io::ErrorKind::NotADirectory
            ) =>
        {
            Err(Error::NotFound("blob"))
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

/// A file in the old format: its content type and its bytes, or `None` if it is not one.
fn parse_old_format(data: &[u8]) -> Option<Blob> {
    let rest = data.strip_prefix(OLD_MAGIC)?;
    let end = rest.iter().position(|&b| b == b'\n')?;
    let content_type = std::str::from_utf8(&rest[..end]).ok()?.to_owned();
    Some(Blob {
        content_type,
        bytes: rest[end + 1..].to_vec(),
    })
}

fn read_blob(path: &Path) -> Result<Blob> {
    for _ in 0..READ_ATTEMPTS {
        let before = read_sidecar(path)?;
        let bytes = read_bytes(path)?;
        let matching = before
            .as_ref()
            .and_then(|entries| entries.iter().find(|e| e.describes(&bytes)));
        if let Some(entry) = matching {
            return Ok(Blob {
                content_type: entry.content_type.clone(),
                bytes,
            });
        }
        // Not migrated yet: the old format names its own type.
        if let Some(blob) = parse_old_format(&bytes) {
            return Ok(blob);
        }
        // Bytes no entry describes are either a writer's, renamed after this read took the
        // sidecar (which has changed since: read both again), or not a blob at all.
        if before.is_none() || read_sidecar(path)? == before {
            break;
        }
    }
    Err(Error::unavailable(
        "blob store",
        FsError::Format(path.to_path_buf()),
    ))
}

/// Holds the advisory lock of a directory while its blobs are written, so that two writers
/// of one key (in this process or another) cannot interleave their two renames.
fn lock_dir(dir: &Path) -> io::Result<File> {
    let handle = File::open(dir)?;
    handle.lock()?;
    Ok(handle)
}

impl FsBlobStore {
    fn temporary_name(&self, path: &Path) -> String {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("blob");
        format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            self.inner.writes.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Writes `bytes` as the blob at `path`: the sidecar with the new entry (and the one of
    /// the bytes still on disk), then the bytes.
    fn write_blob(&self, path: &Path, content_type: &str, bytes: &[u8]) -> Result<()> {
        let root = &self.inner.root;
        let dir = path.parent().unwrap_or(root);
        create_dirs(root, dir).map_err(io_error(dir))?;
        let _lock = lock_dir(dir).map_err(io_error(dir))?;
        let mut entries = vec![Entry::of(bytes, content_type)];
        match fs::read(path) {
            Ok(current) => {
                let known = read_sidecar(path)
                    .ok()
                    .flatten()
                    .and_then(|old| old.into_iter().find(|e| e.describes(&current)));
                // A file in the old format names its own type, and is read as such.
                entries.extend(known);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(path)(e)),
        }
        entries.dedup();
        let sidecar = sidecar_of(path);
        let sidecar_tmp = self.temporary_name(&sidecar);
        write_atomically(root, &sidecar, &sidecar_tmp, &[&encode_sidecar(&entries)])?;
        let tmp = self.temporary_name(path);
        write_atomically(root, path, &tmp, &[bytes])
    }

    /// Rewrites every file still in the old single-file format (a header before the bytes)
    /// into the bytes alone with a sidecar, and returns how many it rewrote. Safe to run
    /// again at any time, and after a crash part-way: a file is rewritten only while it is
    /// in the old format and no sidecar describes it as it is.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the directory cannot be read or a file cannot be written.
    pub async fn migrate(&self) -> Result<usize> {
        let store = self.clone();
        blocking(move || store.migrate_now()).await
    }

    /// The key of every blob under the root, in key order; none when the root is missing.
    /// Reads the directory only: what a move to another blob store copies.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when the directory cannot be read.
    pub async fn keys(&self) -> Result<Vec<BlobKey>> {
        let root = self.inner.root.clone();
        blocking(move || {
            let mut keys = Vec::new();
            if !root.is_dir() {
                return Ok(keys);
            }
            let mut pending = vec![root.clone()];
            while let Some(dir) = pending.pop() {
                for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
                    let entry = entry.map_err(io_error(&dir))?;
                    let path = entry.path();
                    if entry.file_name().to_string_lossy().starts_with('.') {
                        continue;
                    }
                    let kind = entry.file_type().map_err(io_error(&path))?;
                    if kind.is_dir() {
                        pending.push(path);
                    } else if kind.is_file()
                        && let Ok(relative) = path.strip_prefix(&root)
                    {
                        let parts: Vec<String> = relative
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect();
                        keys.push(BlobKey::from_stored(parts.join("/")));
                    }
                }
            }
            keys.sort();
            Ok(keys)
        })
        .await
    }

    fn migrate_now(&self) -> Result<usize> {
        let root = self.inner.root.clone();
        if !root.is_dir() {
            return Ok(0);
        }
        let mut migrated = 0;
        let mut pending = vec![root];
        while let Some(dir) = pending.pop() {
            for entry in fs::read_dir(&dir).map_err(io_error(&dir))? {
                let entry = entry.map_err(io_error(&dir))?;
                let path = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                let kind = entry.file_type().map_err(io_error(&path))?;
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() && !hidden && self.migrate_file(&path)? {
                    migrated += 1;
                }
            }
        }
        Ok(migrated)
    }

    fn migrate_file(&self, path: &Path) -> Result<bool> {
        let data = fs::read(path).map_err(io_error(path))?;
        let Some(old) = parse_old_format(&data) else {
            return Ok(false);
        };
        let described = read_sidecar(path)
            .ok()
            .flatten()
            .is_some_and(|entries| entries.iter().any(|e| e.describes(&data)));
        if described {
            // Bytes that happen to start like the old header, written in the new format.
            return Ok(false);
        }
        self.write_blob(path, &old.content_type, &old.bytes)?;
        Ok(true)
    }
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
        let store = self.clone();
        let content_type = content_type.to_owned();
        blocking(move || store.write_blob(&path, &content_type, &bytes)).await
    }

    async fn get(&self, key: &BlobKey) -> Result<Blob> {
        let path = self.path_of(key)?;
        blocking(move || read_blob(&path)).await
    }

    async fn check(&self) -> Result<()> {
        let root = self.inner.root.clone();
        blocking(move || match std::fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(io_error(&root)(io::Error::new(
                io::ErrorKind::NotADirectory,
                "the blob root is not a directory",
            ))),
            // Made on the first write, as long as its parent lets it be.
            Err(e) if e.kind() == io::ErrorKind::NotFound => match root.parent() {
                Some(parent) if parent.as_os_str().is_empty() || parent.is_dir() => Ok(()),
                _ => Err(io_error(&root)(e)),
            },
            Err(e) => Err(io_error(&root)(e)),
        })
        .await
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
