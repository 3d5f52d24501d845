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

/// Parts the order a cursor was made for from its tie-breaker; no tie-breaker holds it.
const ORDER_MARK: char = '|';

impl Cursor {
    pub fn encode(&self) -> String {
        self.encode_in(None)
    }

    /// This cursor for a list read in `order`, when the list can be read in more than one:
    /// the order rides in front of the tie-breaker, so that `decode_in` can tell a cursor made
    /// for another order. `None` is the list's first order, whose cursors carry no mark (those
    /// issued before the list had a second order still read the same).
    pub fn encode_in(&self, order: Option<&str>) -> String {
        match order {
            Some(order) => URL_SAFE_NO_PAD.encode(format!("{order}{ORDER_MARK}{}\n{}", self.tie, self.name)),
            None => URL_SAFE_NO_PAD.encode(format!("{}\n{}", self.tie, self.name)),
        }
    }

    pub fn decode(cursor: &str) -> ApiResult<Self> {
        Self::decode_in(cursor, None)
    }

    /// Reads a cursor made by `encode_in(order)`; one made for another order is BAD_USER_INPUT.
    pub fn decode_in(cursor: &str, order: Option<&str>) -> ApiResult<Self> {
        let bad = || ApiError::invalid("after", "not a cursor this API issued");
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let (head, name) = text.split_once('\n').ok_or_else(bad)?;
        let (made_for, tie) = match head.split_once(ORDER_MARK) {
            Some((made_for, tie)) => (Some(made_for), tie),
            None => (None, head),
        };
        // A name we issued is stored text: it never holds a NUL, which PostgreSQL refuses.
        if tie.is_empty() || tie.len() > 40 || name.len() > 400 || !crate::validate::matchable(&text) {
            return Err(bad());
        }
        // An order is a GraphQL enum value: anything else was not made here (and is not echoed).
        if made_for.is_some_and(|o| {
            o.is_empty() || o.len() > 30 || !o.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        }) {
            return Err(bad());
        }
        if made_for != order {
            let made_for = made_for.map_or_else(|| "its default order".to_owned(), |o| format!("order {o}"));
            return Err(ApiError::invalid(
                "after",
                format!(
                    "this cursor was made for the list in {made_for}: ask in that order, or leave out `after`"
                ),
            ));
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
        Self::new_in(first, after, None)
    }

    /// As `new`, for a list read in `order` (see `Cursor::encode_in`).
    pub fn new_in(first: Option<i32>, after: Option<&str>, order: Option<&str>) -> ApiResult<Self> {
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
        Ok(Self { first, after: after.map(|a| Cursor::decode_in(a, order)).transpose()? })
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

    #[test]
    fn a_cursor_only_reads_in_the_order_it_was_made_for() {
        let c = Cursor { name: String::new(), tie: "900001".into() };
        let by_urn = c.encode_in(Some("URN"));
        assert_eq!(Cursor::decode_in(&by_urn, Some("URN")).unwrap(), c);
        assert_eq!(Cursor::decode(&by_urn).unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(Cursor::decode_in(&c.encode(), Some("URN")).unwrap_err().code(), "BAD_USER_INPUT");
        assert_eq!(Cursor::decode_in(&by_urn, Some("NAME")).unwrap_err().code(), "BAD_USER_INPUT");
        // The default order's cursors are the ones issued before lists had orders.
        assert_eq!(c.encode_in(None), c.encode());
        assert_eq!(Page::new_in(Some(5), Some(&by_urn), Some("URN")).unwrap().after, Some(c));
    }
}
