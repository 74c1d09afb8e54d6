//! Opaque page cursors: the last id served, tagged with the list it came from and hex-encoded,
//! so that clients treat it as a token and a cursor of one list is refused by another.

use alerta_core::domain::{Cursor, Page, PageRequest, SearchText};
use alerta_core::{Error, Result};
use sqlx::sqlite::SqliteRow;
use sqlx::{Encode, QueryBuilder, Sqlite, SqlitePool, Type};

use super::error::db;

/// The lists this store pages through.
#[derive(Clone, Copy, Debug)]
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
            Self::Incidents => "i1",
            Self::Alerts => "a1",
            Self::Mails => "m1",
            Self::Silences => "s1",
            Self::Occurrences => "o1",
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn encode(list: List, id: &str) -> Cursor {
    let plain = format!("{}.{id}", list.tag());
    let mut text = String::with_capacity(plain.len() * 2);
    for byte in plain.bytes() {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    Cursor::new(text)
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

/// The id a page request continues after, `None` for the first page.
pub(super) fn position(list: List, page: &PageRequest) -> Result<Option<String>> {
    let Some(cursor) = &page.cursor else {
        return Ok(None);
    };
    let refused = || Error::invalid("cursor", "this cursor was not made by this list");
    let plain = unhex(cursor.as_str())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(refused)?;
    let id = plain
        .strip_prefix(list.tag())
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|id| !id.is_empty())
        .ok_or_else(refused)?;
    Ok(Some(id.to_owned()))
}

/// How many rows to fetch for a page: one more than it holds, to learn whether another follows.
pub(super) fn fetch_limit(page: &PageRequest) -> i64 {
    i64::try_from(page.limit.get()).unwrap_or(i64::MAX - 1) + 1
}

/// A page of `items` fetched newest first with [`fetch_limit`].
pub(super) fn page<T>(
    list: List,
    items: Vec<T>,
    page: &PageRequest,
    id_of: impl Fn(&T) -> &str,
) -> Page<T> {
    Page::from_overfetched(items, page.limit, |last| encode(list, id_of(last)))
}

/// Adds `AND <condition> ?` with `value` bound, when there is a value: a filter left out
/// matches everything.
pub(super) fn push_filter<'t, T>(
    query: &mut QueryBuilder<Sqlite>,
    condition: &str,
    value: Option<T>,
) where
    T: Encode<'t, Sqlite> + Type<Sqlite>,
{
    if let Some(value) = value {
        query
            .push(" AND ")
            .push(condition)
            .push(" ")
            .push_bind(value);
    }
}

/// Adds the text search `q` to a query over a table with a lower-cased `search` column.
pub(super) fn push_search(query: &mut QueryBuilder<Sqlite>, needle: Option<&SearchText>) {
    if let Some(needle) = needle {
        // instr, not LIKE: an exact substring test, with no wildcards to escape.
        query
            .push(" AND instr(search, ")
            .push_bind(needle.as_str().to_lowercase())
            .push(") > 0");
    }
}

/// Reads one page of `list`. `query` is a `SELECT ... WHERE` with the list's filters; this adds
/// the position after the cursor, the newest-first order and the limit.
pub(super) async fn fetch_page<T>(
    pool: &SqlitePool,
    mut query: QueryBuilder<Sqlite>,
    list: List,
    request: &PageRequest,
    from_row: fn(&SqliteRow) -> Result<T>,
    id_of: impl Fn(&T) -> &str,
) -> Result<Page<T>> {
    if let Some(after) = position(list, request)? {
        query.push(" AND id < ").push_bind(after);
    }
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(fetch_limit(request));
    let rows = query.build().fetch_all(pool).await.map_err(db)?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(page(list, items, request, id_of))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alerta_core::domain::Limit;

    fn request(cursor: Cursor) -> PageRequest {
        PageRequest::after(Limit::DEFAULT, cursor)
    }

    #[test]
    fn cursors_round_trip_within_their_list() {
        let cursor = encode(List::Incidents, "01JD2Z9R1K7Q3C6ZP0S8T4W5XY");
        assert_eq!(
            position(List::Incidents, &request(cursor.clone())).unwrap(),
            Some("01JD2Z9R1K7Q3C6ZP0S8T4W5XY".to_owned())
        );
        let err = position(List::Alerts, &request(cursor)).unwrap_err();
        assert_eq!(err.code(), "invalid_cursor");
    }

    #[test]
    fn unreadable_cursors_are_invalid() {
        for text in ["", "zz", "abc", "69312e", "not a cursor"] {
            let err = position(List::Incidents, &request(Cursor::new(text))).unwrap_err();
            assert_eq!(err.code(), "invalid_cursor", "{text:?}");
        }
    }
}
