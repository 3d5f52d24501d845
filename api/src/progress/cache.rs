//! The facts of the partnerships that queries read, kept a few seconds and shared by every
//! caller: dashboards poll, and a city's partners, trusts and cohorts all read the same
//! partnership's facts. What a caller may see is checked before its facts are asked for, so
//! sharing them across callers shows no one more.
//!
//! Queries only: a mutation and a subscription's events read fresh rows (`loaders`). Every
//! mutation clears the cache once it has run (`http::run`), so on one instance a change counts
//! from the next query. A change made through another instance, or by a command-line import, is
//! seen when the entry expires (`TTL`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use uuid::Uuid;

use super::service::Facts;

/// How long a partnership's facts are kept.
pub const TTL: Duration = Duration::from_secs(5);

/// Partnerships kept at most: past it, expired entries go, then all.
const MAX_ENTRIES: usize = 64;

/// Cheap to clone; clones share what is kept.
#[derive(Clone, Default)]
pub struct FactsCache(Arc<Mutex<Kept>>);

#[derive(Default)]
struct Kept {
    /// Moves on at every `clear`: facts read before it are not put back after it.
    generation: u64,
    entries: HashMap<Uuid, (Instant, Arc<Facts>)>,
}

impl FactsCache {
    /// The partnership's facts, if kept and unexpired.
    pub fn get(&self, partnership: Uuid) -> Option<Arc<Facts>> {
        let kept = self.0.lock().ok()?;
        let (expires, facts) = kept.entries.get(&partnership)?;
        (Instant::now() < *expires).then(|| facts.clone())
    }

    /// What to hand `put` with facts about to be read.
    pub fn generation(&self) -> u64 {
        self.0.lock().map_or(0, |k| k.generation)
    }

    /// Keeps facts read since `generation`, unless the cache was cleared meanwhile: a mutation
    /// may have committed after they were read.
    pub fn put(&self, generation: u64, facts: Arc<Facts>) {
        let Ok(mut kept) = self.0.lock() else { return };
        if kept.generation != generation {
            return;
        }
        let now = Instant::now();
        if kept.entries.len() >= MAX_ENTRIES {
            kept.entries.retain(|_, (expires, _)| now < *expires);
            if kept.entries.len() >= MAX_ENTRIES {
                kept.entries.clear();
            }
        }
        kept.entries.insert(facts.partnership.id, (now + TTL, facts));
    }

    /// Forgets everything: anything may have changed.
    pub fn clear(&self) {
        if let Ok(mut kept) = self.0.lock() {
            kept.generation += 1;
            kept.entries.clear();
        }
    }
}
