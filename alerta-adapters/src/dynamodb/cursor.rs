//! Opaque page cursors: the last id served, tagged with its list and base64url-encoded, so a
//! client treats it as a token and a cursor of one list is refused by another.
//!
//! The id alone is enough to continue: every list is read from an index sorted by id, and the
//! next page starts at `id < cursor` in every partition the list reads. DynamoDB's own
//! `LastEvaluatedKey` cannot serve as the cursor, because a page of filtered and merged
//! results rarely ends where a page of one query does.

use alerta_core::domain::{Cursor, Page, PageRequest};
use alerta_core::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The lists this store pages through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum List {
    Incidents,
    Alerts,
    Mails,
    Silences,
    Occurrences,
}

impl List {
    fn tag(self) -> &'static str {
        match self {
            Self::Incidents => "ddb-incidents",
            Self::Alerts => "ddb-alerts",
            Self::Mails => "ddb-mails",
            Self::Silences => "ddb-silences",
            Self::Occurrences => "ddb-occurrences",
        }
    }
}

fn encode(list: List, id: &str) -> Cursor {
    Cursor::new(URL_SAFE_NO_PAD.encode(format!("{}:{id}", list.tag())))
}

/// Whether `id` could be an id this store wrote; anything else in a cursor is forged.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id a page request continues after, `None` for the first page.
pub(super) fn position(list: List, page: &PageRequest) -> Result<Option<String>> {
    let Some(cursor) = &page.cursor else {
        return Ok(None);
    };
    let refused = || Error::invalid("cursor", "this cursor was not made by this list");
    let plain = URL_SAFE_NO_PAD
        .decode(cursor.as_str())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(refused)?;
    let id = plain
        .strip_prefix(list.tag())
        .and_then(|rest| rest.strip_prefix(':'))
        .filter(|id| plausible_id(id))
        .ok_or_else(refused)?;
    Ok(Some(id.to_owned()))
}

/// A page of `items`, fetched newest first and holding at most one more than the page.
pub(super) fn page<T>(
    list: List,
    items: Vec<T>,
    page: &PageRequest,
    id_of: impl Fn(&T) -> &str,
) -> Page<T> {
    Page::from_overfetched(items, page.limit, |last| encode(list, id_of(last)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alerta_core::domain::Limit;

    fn request(cursor: Cursor) -> PageRequest {
        PageRequest::after(Limit::DEFAULT, cursor)
    }

    #[test]
    fn cursors_round_trip_within_their_list_only() {
        let cursor = encode(List::Alerts, "01JD2Z9R1K7Q3C6ZP0S8T4W5XY");
        assert_eq!(
            position(List::Alerts, &request(cursor.clone())).unwrap(),
            Some("01JD2Z9R1K7Q3C6ZP0S8T4W5XY".to_owned())
        );
        for other in [List::Incidents, List::Mails] {
            let err = position(other, &request(cursor.clone())).unwrap_err();
            assert_eq!(err.code(), "invalid_cursor");
        }
    }

    #[test]
    fn unreadable_or_forged_cursors_are_invalid() {
        let forged = URL_SAFE_NO_PAD.encode("ddb-alerts:a b");
        for text in ["", "garbage!", "zz", forged.as_str()] {
            let err = position(List::Alerts, &request(Cursor::new(text))).unwrap_err();
            assert_eq!(err.code(), "invalid_cursor", "{text:?}");
        }
    }
}
