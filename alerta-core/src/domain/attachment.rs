//! Attachment metadata and the checks on uploaded bytes.

use serde::{Deserialize, Serialize};

use super::wire_names::wire_names;
use super::{AttachmentId, IncidentId, Timestamp};
use crate::Error;

wire_names! {
    /// The kinds of file an incident can carry, recognised by their first bytes, on the wire by
    /// their MIME names. `ALL` is also the default allow-list.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum MediaType, field "content_type" {
        /// `image/png`
        Png = "image/png",
        /// `image/jpeg`
        Jpeg = "image/jpeg",
        /// `image/webp`
        Webp = "image/webp",
        /// `image/gif`
        Gif = "image/gif",
        /// `application/pdf`
        Pdf = "application/pdf",
        /// `text/plain` (UTF-8 without NUL bytes)
        Text = "text/plain",
    }
}

impl MediaType {
    /// The kind a `Content-Type` header names, ignoring parameters such as `charset`.
    pub fn from_header(header: &str) -> Option<Self> {
        let essence = header
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Self::ALL.into_iter().find(|m| m.as_str() == essence)
    }

    /// Whether `bytes` really are this kind of file.
    pub fn matches(self, bytes: &[u8]) -> bool {
        match self {
            Self::Png => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            Self::Jpeg => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
            Self::Gif => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
            Self::Webp => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
            Self::Pdf => bytes.starts_with(b"%PDF-"),
            Self::Text => !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok(),
        }
    }
}

/// A file name as the uploader gave it, shown back but never used as a path: the last path
/// component, 1–255 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileName(String);

impl FileName {
    /// Keeps the last component of `raw` and checks it.
    pub fn parse(raw: &str) -> Result<Self, Error> {
        let last = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
        let count = last.chars().count();
        if count == 0
            || count > 255
            || last == "."
            || last == ".."
            || last.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "filename",
                "filename must be 1 to 255 characters with no control characters",
            ));
        }
        Ok(Self(last.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the API shows of a stored attachment:
/// `{attachment_id, filename, content_type, size, sha256}` plus where and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    /// The attachment's id.
    pub attachment_id: AttachmentId,
    /// The incident it belongs to.
    pub incident_id: IncidentId,
    /// The uploaded name.
    pub filename: FileName,
    /// The checked type.
    pub content_type: MediaType,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// When it was attached.
    pub created_at: Timestamp,
}

impl Attachment {
    /// Where the bytes live in the blob store: made from ids only, never from the file name.
    pub fn blob_key(&self) -> super::BlobKey {
        super::BlobKey::attachment(&self.incident_id, &self.attachment_id)
    }
}

super::schema::string_schema!(
    FileName,
    "`filename`: the uploaded name's last component, 1 to 255 characters.",
    min 1,
    max 255
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_checked_against_bytes() {
        assert!(MediaType::Png.matches(b"\x89PNG\r\n\x1a\nrest"));
        assert!(!MediaType::Png.matches(b"GIF89a"));
        assert!(MediaType::Webp.matches(b"RIFF\0\0\0\0WEBPVP8 "));
        assert!(!MediaType::Text.matches(b"\x89PNG\r\n\x1a\n\0"));
        assert_eq!(
            MediaType::from_header("text/plain; charset=utf-8"),
            Some(MediaType::Text)
        );
        assert_eq!(MediaType::from_header("application/x-msdownload"), None);
    }

    #[test]
    fn file_names_lose_their_paths() {
        assert_eq!(
            FileName::parse("../../etc/passwd").unwrap().as_str(),
            "passwd"
        );
        assert_eq!(
            FileName::parse("C:\\fotos\\grieta.png").unwrap().as_str(),
            "grieta.png"
        );
        assert!(FileName::parse("dir/..").is_err());
        assert!(FileName::parse("").is_err());
    }
}
