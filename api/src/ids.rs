//! Relay global ids and page cursors: opaque to clients, checked when they come back.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// The largest page any list returns.
pub const MAX_PAGE: u64 = 100;
/// The page size when `first` is not given.
pub const DEFAULT_PAGE: u64 = 20;

/// A global id: `base64url("Type:uuid")`.
pub fn global_id(type_name: &str, id: Uuid) -> async_graphql::ID {
    async_graphql::ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
}

/// Splits a global id into its type name and row id.
pub fn parse_any(id: &str) -> ApiResult<(String, Uuid)> {
    let bad = || ApiError::invalid("id", "not an id this API issued");
    let raw = URL_SAFE_NO_PAD.decode(id.trim_end_matches('=')).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (kind, uuid) = text.split_once(':').ok_or_else(bad)?;
    Ok((kind.to_owned(), Uuid::parse_str(uuid).map_err(|_| bad())?))
}

/// Reads a global id that must name a `type_name`.
pub fn parse(id: &str, type_name: &'static str) -> ApiResult<Uuid> {
    let (kind, uuid) = parse_any(id)?;
    if kind != type_name {
        return Err(ApiError::invalid(
            "id",
            format!("expected the id of a {type_name}, got one of a {kind}"),
        ));
    }
    Ok(uuid)
}

/// Where a page starts: after the row with this sort key (name, then a unique tie-breaker).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Cursor {
    pub name: String,
    pub tie: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}", self.tie, self.name))
    }

    pub fn decode(cursor: &str) -> ApiResult<Self> {
        let bad = || ApiError::invalid("after", "not a cursor this API issued");
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let (tie, name) = text.split_once('\n').ok_or_else(bad)?;
        // A name we issued is stored text: it never holds a NUL, which PostgreSQL refuses.
        if tie.is_empty() || tie.len() > 40 || name.len() > 400 || !crate::validate::matchable(&text) {
            return Err(bad());
        }
        Ok(Self { name: name.to_owned(), tie: tie.to_owned() })
    }
}

/// A checked request for one page.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Page {
    pub first: u64,
    pub after: Option<Cursor>,
}

impl Page {
    /// Checks `first` (1 to MAX_PAGE) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<&str>) -> ApiResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE,
            Some(n) if (1..=MAX_PAGE as i32).contains(&n) => n as u64,
            Some(n) => {
                return Err(ApiError::invalid(
                    "first",
                    format!("{n} is out of range: ask for 1 to {MAX_PAGE}"),
                ));
            }
        };
        Ok(Self { first, after: after.map(Cursor::decode).transpose()? })
    }
}

impl Page {
    /// Cuts rows fetched with `first + 1` to the page, and says whether more follow.
    pub fn split<T>(&self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let more = rows.len() as u64 > self.first;
        rows.truncate(self.first as usize);
        (rows, more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_types() {
        let id = Uuid::new_v4();
        let gid = global_id("School", id);
        assert_eq!(parse(&gid, "School").unwrap(), id);
        assert_eq!(parse(&gid, "Trust").unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(parse("not-base64!", "School").unwrap_err().code(), "BAD_USER_INPUT");
    }

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let c = Cursor { name: "Amber Otter Primary".into(), tie: "900001".into() };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("bm9wZQ").is_err());
        let nul = URL_SAFE_NO_PAD.encode("900001\nAmber\0");
        assert_eq!(Cursor::decode(&nul).unwrap_err().code(), "BAD_USER_INPUT");
        assert!(Page::new(Some(1000), None).is_err());
        assert!(Page::new(Some(0), None).is_err());
        assert_eq!(Page::new(None, None).unwrap().first, DEFAULT_PAGE);
    }
}
