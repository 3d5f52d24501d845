//! Every concept's DataLoader, attached fresh to each operation: a batch never mixes two
//! callers' scopes (async-graphql #1567), and what a loader keeps dies with its operation.
//! The loaders live in their concepts' `loader.rs`; `batch` decides when their batches run.
//!
//! Most loaders keep nothing: each wave reads the keys it asks for, so an operation costs one
//! statement per relation it names whatever rows it meets (a cache would skip a wave only when
//! every key happens to be known, making the count depend on the data). The loaders whose keys
//! several waves of one operation ask for keep what they read, in DataLoader's own cache:
//! `ProgressLoader`, as every progress field (partnership, cohort, trust) reads one
//! partnership's facts; and `TrustLoader`, which a page of schools fills with their trusts,
//! read in the page's own statement when the query asks for them (`feed`). What they keep
//! depends on the operation:
//! - a query keeps it for the whole operation, and shares progress facts with other queries
//!   for a few seconds (`progress::cache`);
//! - a mutation keeps nothing: its fields run one after another, and each must see the writes
//!   of the ones before it;
//! - a subscription keeps it only while it is busy resolving: it is forgotten whenever the
//!   operation pauses (waits on anything but its own batches, such as the next event) and after
//!   each answer, so every event reads fresh rows, while its nested fields still share them.

use std::{borrow::Cow, hash::Hash, time::Duration};

use async_graphql::{
    Request,
    dataloader::{CacheFactory, CacheStorage, DataLoader, HashMapCache, Loader},
    parser::types::OperationType,
};
use sea_orm::DatabaseConnection;

use crate::{
    access::ReachLoader,
    auth::Viewer,
    batch::{Batches, Pauses},
    certification::loader::JourneyLoader,
    cohort::loader::CohortLoader,
    error::{ApiError, Extend},
    framework::loader::FrameworkLoader,
    mentorship::loader::PairingLoader,
    partnership::loader::PartnershipLoader,
    policy::loader::PolicyLoader,
    progress::{FactsCache, loader::ProgressLoader},
    school::loader::SchoolLoader,
    trust::loader::TrustLoader,
};

/// An operation's loader for `L`, as resolvers find it in the context.
pub type OperationLoader<L> = DataLoader<L, Kept>;

/// Loads `key` through this operation's loader `L`, keeping the error's code.
pub async fn load_one<L, K>(
    ctx: &async_graphql::Context<'_>,
    key: K,
) -> async_graphql::Result<Option<L::Value>>
where
    L: Loader<K, Error = ApiError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    ctx.data::<OperationLoader<L>>()?.load_one(key).await.extend()
}

/// Puts `values`, read by another loader's statement (a page of schools' trusts, joined in), in
/// this operation's keeping loader `L`: a load of their keys then costs no statement of its own.
/// A mutation's loaders keep nothing, so there such a load still reads.
pub async fn feed<L, K>(
    ctx: &async_graphql::Context<'_>,
    values: impl IntoIterator<Item = (K, L::Value)>,
) -> async_graphql::Result<()>
where
    L: Loader<K, Error = ApiError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    ctx.data::<OperationLoader<L>>()?.feed_many(values).await;
    Ok(())
}

/// Loads `key` through this operation's keeping loader `L` (see above), once the batches
/// running have answered: one of them may be reading `key`, and the cache holds its answer only
/// once it is back.
pub async fn load_kept<L, K>(
    ctx: &async_graphql::Context<'_>,
    key: K,
) -> async_graphql::Result<Option<L::Value>>
where
    L: Loader<K, Error = ApiError>,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    ctx.data::<Batches>()?.settled().await;
    load_one::<L, K>(ctx, key).await
}

/// Adds the operation's loaders, their batches handed to `batches`. Execute the request inside
/// `batches.run(..)` or `batches.stream(..)`: outside them, batches are queued and never start.
pub fn attach(
    mut req: Request,
    db: &DatabaseConnection,
    viewer: &Viewer,
    batches: &Batches,
    facts: &FactsCache,
) -> Request {
    // A document that does not parse, or holds no operation to run, is refused before anything
    // loads: it counts as a query.
    let kind = crate::cost::operation_type(&mut req).unwrap_or(OperationType::Query);
    let kept = match kind {
        OperationType::Query => Some(Kept(None)),
        OperationType::Mutation => None,
        OperationType::Subscription => Some(Kept(Some(batches.pauses()))),
    };
    let loader = Attach { batches, kept };
    let partnerships = viewer.partnerships().to_vec();
    let db = || db.clone();
    req.data(batches.clone())
        .data(loader.of(SchoolLoader { db: db(), partnerships: partnerships.clone() }))
        .data(loader.keeping(TrustLoader { db: db() }))
        .data(loader.of(CohortLoader { db: db(), partnerships: partnerships.clone() }))
        .data(loader.of(PairingLoader { db: db(), partnerships: partnerships.clone() }))
        .data(loader.of(PartnershipLoader { db: db(), partnerships: partnerships.clone() }))
        .data(loader.of(PolicyLoader { db: db() }))
        .data(loader.keeping(ProgressLoader {
            db: db(),
            cache: (kind == OperationType::Query).then(|| facts.clone()),
        }))
        .data(loader.of(JourneyLoader { db: db(), partnerships }))
        .data(loader.of(FrameworkLoader { db: db() }))
        .data(loader.of(ReachLoader { db: db(), viewer: viewer.clone() }))
}

/// How one operation's loaders are made.
struct Attach<'a> {
    batches: &'a Batches,
    /// What a keeping loader keeps; `None`: nothing (a mutation).
    kept: Option<Kept>,
}

impl Attach<'_> {
    /// A loader that keeps nothing.
    fn of<T>(&self, inner: T) -> OperationLoader<T> {
        let loader = self.loader(inner);
        loader.enable_all_cache(false);
        loader
    }

    /// A loader that keeps what it read as the operation allows.
    fn keeping<T>(&self, inner: T) -> OperationLoader<T> {
        let loader = self.loader(inner);
        loader.enable_all_cache(self.kept.is_some());
        loader
    }

    fn loader<T>(&self, inner: T) -> OperationLoader<T> {
        let kept = self.kept.clone().unwrap_or(Kept(None));
        // No delay: `Batches` starts a batch once the operation is blocked, not on a timer.
        DataLoader::with_cache(inner, self.batches.spawner(), kept).delay(Duration::ZERO)
    }
}

/// DataLoader's `HashMapCache`, emptied each time the operation pauses when it holds `Pauses`
/// (a subscription's loaders), else kept for the operation's life.
#[derive(Clone)]
pub struct Kept(Option<Pauses>);

impl CacheFactory for Kept {
    fn create<K, V>(&self) -> Box<dyn CacheStorage<Key = K, Value = V>>
    where
        K: Send + Sync + Clone + Eq + Hash + 'static,
        V: Send + Sync + Clone + 'static,
    {
        let rows = HashMapCache::default().create::<K, V>();
        match &self.0 {
            None => rows,
            Some(pauses) => Box::new(UntilPause { seen: pauses.count(), pauses: pauses.clone(), rows }),
        }
    }
}

/// Rows read since the operation last paused.
struct UntilPause<K, V> {
    rows: Box<dyn CacheStorage<Key = K, Value = V>>,
    pauses: Pauses,
    /// The pause count the rows were read after.
    seen: u64,
}

impl<K, V> UntilPause<K, V>
where
    K: Send + Sync + Clone + Eq + Hash + 'static,
    V: Send + Sync + Clone + 'static,
{
    /// Forgets the rows if the operation has paused since they were read. No batch is running
    /// when it pauses, so none can store rows from before the pause after it.
    fn forget_if_paused(&mut self) {
        let now = self.pauses.count();
        if now != self.seen {
            self.seen = now;
            self.rows.clear();
        }
    }
}

impl<K, V> CacheStorage for UntilPause<K, V>
where
    K: Send + Sync + Clone + Eq + Hash + 'static,
    V: Send + Sync + Clone + 'static,
{
    type Key = K;
    type Value = V;

    fn get(&mut self, key: &K) -> Option<&V> {
        self.forget_if_paused();
        self.rows.get(key)
    }

    fn insert(&mut self, key: Cow<'_, K>, val: Cow<'_, V>) {
        self.forget_if_paused();
        self.rows.insert(key, val);
    }

    fn remove(&mut self, key: &K) {
        self.rows.remove(key);
    }

    fn clear(&mut self) {
        self.rows.clear();
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&'_ K, &'_ V)> + '_> {
        self.rows.iter()
    }
}
