//! The facts of the partnerships that queries and CSV exports read, kept a few seconds and
//! shared by every caller: dashboards poll, and a city's partners, trusts and cohorts all read
//! the same partnership's facts. What a caller may see is checked before its facts are asked
//! for, so sharing them across callers shows no one more.
//!
//! Queries and exports only: a mutation and a subscription's events read fresh rows (`loaders`). Every
//! mutation clears the cache once it has run (`http::run`), so on one instance a change counts
//! from the next query. A change made through another instance, or by a command-line import, is
//! seen when the entry expires (`TTL`).

use std::{
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::NaiveDate;
use uuid::Uuid;

use super::service::Facts;
use crate::comparison::Figures;

/// How long a partnership's facts are kept.
pub const TTL: Duration = Duration::from_secs(5);

/// Entries of each kind kept at most (partnerships watched at once; README): past it, expired
/// entries go, then all.
const MAX_ENTRIES: usize = 8;

/// Cheap to clone; clones share what is kept.
#[derive(Clone, Default)]
pub struct FactsCache(Arc<Mutex<Kept>>);

#[derive(Default)]
struct Kept {
    /// Moves on at every `clear`: facts read before it are not put back after it.
    generation: u64,
    facts: Entries<Uuid, Facts>,
    /// A partnership's comparison figures on a day (the CSV export's per-area columns).
    figures: Entries<(Uuid, NaiveDate), Figures>,
}

struct Entries<K, V>(HashMap<K, (Instant, Arc<V>)>);

impl<K, V> Default for Entries<K, V> {
    fn default() -> Self {
        Self(HashMap::new())
    }
}

impl<K: Eq + Hash, V> Entries<K, V> {
    fn get(&self, key: &K) -> Option<Arc<V>> {
        let (expires, value) = self.0.get(key)?;
        (Instant::now() < *expires).then(|| value.clone())
    }

    fn put(&mut self, key: K, value: Arc<V>) {
        let now = Instant::now();
        if self.0.len() >= MAX_ENTRIES {
            self.0.retain(|_, (expires, _)| now < *expires);
            if self.0.len() >= MAX_ENTRIES {
                self.0.clear();
            }
        }
        self.0.insert(key, (now + TTL, value));
    }
}

impl FactsCache {
    /// The partnership's facts, if kept and unexpired.
    pub fn get(&self, partnership: Uuid) -> Option<Arc<Facts>> {
        self.0.lock().ok()?.facts.get(&partnership)
    }

    /// The partnership's figures on `day`, if kept and unexpired.
    pub fn figures(&self, partnership: Uuid, day: NaiveDate) -> Option<Arc<Figures>> {
        self.0.lock().ok()?.figures.get(&(partnership, day))
    }

    /// What to hand `put` with facts about to be read.
    pub fn generation(&self) -> u64 {
        self.0.lock().map_or(0, |k| k.generation)
    }

    /// Keeps facts read since `generation`, unless the cache was cleared meanwhile: a mutation
    /// may have committed after they were read.
    pub fn put(&self, generation: u64, facts: Arc<Facts>) {
        self.keep(generation, |kept| kept.facts.put(facts.partnership.id, facts));
    }

    /// Keeps figures read since `generation`, as `put` keeps facts.
    pub fn put_figures(&self, generation: u64, partnership: Uuid, day: NaiveDate, figures: Arc<Figures>) {
        self.keep(generation, |kept| kept.figures.put((partnership, day), figures));
    }

    fn keep(&self, generation: u64, put: impl FnOnce(&mut Kept)) {
        if let Ok(mut kept) = self.0.lock()
            && kept.generation == generation
        {
            put(&mut kept);
        }
    }

    /// Forgets everything: anything may have changed.
    pub fn clear(&self) {
        if let Ok(mut kept) = self.0.lock() {
            kept.generation += 1;
            kept.facts = Entries::default();
            kept.figures = Entries::default();
        }
    }
}
