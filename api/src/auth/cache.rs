//! What verified tokens resolved to, kept a short while: a caller's requests then do not each
//! look up the partnership, trust, school or access grant their token names, which on a busy
//! server was the first SQL statement of every request.
//!
//! An entry lives `CLAIMS_TTL` (a service token's scope) or `GRANT_TTL` (a person's access
//! grant). Every mutation clears the whole cache once it has run (`http::run`), so on one
//! instance a revoked grant, a new member school or a school's new trust counts from the next
//! request. Another instance, or a command-line import, is seen when the entry expires.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use entity::access_grant;
use uuid::Uuid;

use super::{Role, Scope};

/// How long a service token's resolved scope is kept.
pub const CLAIMS_TTL: Duration = Duration::from_secs(30);
/// How long a person's access grant is kept: as long as an open WebSocket goes between checks.
pub const GRANT_TTL: Duration = Duration::from_secs(5);
/// Entries kept at most; only verified tokens make entries, so this is a bound, not a defence.
const MAX_ENTRIES: usize = 10_000;

/// What a token names, whatever else it holds: many tokens share an entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Claims { role: Role, partnership: Option<String>, trust: Option<String>, school: Option<i32> },
    Person { issuer: String, subject: String },
}

#[derive(Clone, Debug)]
pub(super) enum Entry {
    Claims {
        scope: Scope,
        partnerships: Vec<Uuid>,
    },
    /// The person's live grant; None while they hold none.
    Grant(Option<Box<access_grant::Model>>),
}

/// Shared by every request of an instance; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct TokenCache(Arc<Mutex<HashMap<Key, (Instant, Entry)>>>);

impl TokenCache {
    pub(super) fn get(&self, key: &Key) -> Option<Entry> {
        let entries = self.0.lock().ok()?;
        let (expires, entry) = entries.get(key)?;
        (Instant::now() < *expires).then(|| entry.clone())
    }

    pub(super) fn put(&self, key: Key, entry: Entry) {
        let ttl = match entry {
            Entry::Claims { .. } => CLAIMS_TTL,
            Entry::Grant(_) => GRANT_TTL,
        };
        let Ok(mut entries) = self.0.lock() else { return };
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now + ttl, entry));
    }

    /// Forgets everything: access may have changed.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.0.lock() {
            entries.clear();
        }
    }

    /// Whether nothing is kept (a poisoned lock counts as empty: nothing can be read from it).
    pub fn is_empty(&self) -> bool {
        self.0.lock().map_or(true, |e| e.is_empty())
    }
}
