//! DataLoaders, fresh for each request (a batch never mixes two callers' scopes), and the
//! scheduler that decides when their batches run.
//!
//! async-graphql's loaders run a batch a fixed delay after its first key. That splits a batch
//! whenever resolving a long list takes longer than the delay, so the number of statements
//! would depend on the number of rows and the speed of the machine. Here a batch instead runs
//! when the request can make no more progress without it, and not before the batches already
//! running have answered: loads happen in waves, one per level of the query, whatever the
//! number of rows.

use std::{
    future::Future,
    pin::pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use async_graphql::{
    Request,
    dataloader::{DataLoader, Loader},
};
use futures::future::BoxFuture;
use sea_orm::DatabaseConnection;

use crate::{
    access::ReachLoader,
    auth::Viewer,
    certification::loader::JourneyLoader,
    cohort::loader::CohortLoader,
    error::{ApiError, Extend},
    framework::loader::FrameworkLoader,
    mentorship::loader::PairingLoader,
    partnership::loader::PartnershipLoader,
    policy::loader::PolicyLoader,
    progress::graphql::ProgressLoader,
    school::loader::SchoolLoader,
    trust::loader::TrustLoader,
};

/// The batches of one request: queued until the request is blocked, then run together.
#[derive(Clone, Default)]
pub struct Batches(Arc<BatchState>);

#[derive(Default)]
struct BatchState {
    queued: Mutex<Vec<BoxFuture<'static, ()>>>,
    running: AtomicUsize,
    request: Mutex<Option<Waker>>,
}

/// Marks a batch finished when dropped, even if the batch panicked, so the request never
/// waits for a batch that will not come back.
struct Done(Arc<BatchState>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        if let Some(w) = self.0.request.lock().map(|w| w.clone()).ok().flatten() {
            w.wake();
        }
    }
}

/// Notes that the request's future woke (itself or from a finished load) while being polled.
struct Flag {
    woke: AtomicBool,
    outer: Waker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woke.store(true, Ordering::SeqCst);
        self.outer.wake_by_ref();
    }
}

impl Batches {
    fn queue(&self, batch: BoxFuture<'static, ()>) {
        self.0.queued.lock().expect("batch queue").push(batch);
    }

    /// Starts every queued batch, if none is running.
    fn flush(&self) {
        if self.0.running.load(Ordering::SeqCst) > 0 {
            return;
        }
        let batches = std::mem::take(&mut *self.0.queued.lock().expect("batch queue"));
        self.0.running.fetch_add(batches.len(), Ordering::SeqCst);
        for batch in batches {
            let done = Done(self.0.clone());
            tokio::spawn(async move {
                let _done = done;
                batch.await;
            });
        }
    }

    /// Drives `fut` (the request's execution), starting batches whenever it is blocked.
    pub async fn run<F: Future>(&self, fut: F) -> F::Output {
        let mut fut = pin!(fut);
        std::future::poll_fn(|cx| {
            *self.0.request.lock().expect("request waker") = Some(cx.waker().clone());
            // A future that keeps waking itself is making progress; poll it again, within reason.
            for _ in 0..64 {
                let flag = Arc::new(Flag { woke: AtomicBool::new(false), outer: cx.waker().clone() });
                let waker = Waker::from(flag.clone());
                if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                    return Poll::Ready(out);
                }
                if !flag.woke.load(Ordering::SeqCst) {
                    self.flush();
                    return Poll::Pending;
                }
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await
    }
}

/// Loads `key` through this request's loader `L`, keeping the error's code.
pub async fn load_one<L, K>(
    ctx: &async_graphql::Context<'_>,
    key: K,
) -> async_graphql::Result<Option<L::Value>>
where
    L: Loader<K, Error = ApiError>,
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
{
    ctx.data::<DataLoader<L>>()?.load_one(key).await.extend()
}

/// Where a loader's batches run.
enum Spawner<'a> {
    /// Queued for `Batches::run`, which starts them when the request is blocked.
    Batches(&'a Batches),
    /// On the runtime, a moment after the first key (async-graphql's own scheduling).
    Tokio,
}

fn loader<T>(inner: T, batches: &Spawner) -> DataLoader<T> {
    match batches {
        Spawner::Batches(batches) => {
            let batches = (*batches).clone();
            DataLoader::new(inner, move |batch| batches.queue(batch)).delay(Duration::ZERO)
        }
        Spawner::Tokio => DataLoader::new(inner, tokio::spawn),
    }
}

/// Adds this request's loaders. Execute the request inside `batches.run(..)`: outside it,
/// their batches are queued and never start.
pub fn attach(req: Request, db: &DatabaseConnection, viewer: &Viewer, batches: &Batches) -> Request {
    attach_with(req, db, viewer, &Spawner::Batches(batches))
}

/// Adds loaders whose batches start on their own (on `tokio::spawn`), for operations that are not
/// driven by `Batches::run`: those of a WebSocket connection, whose subscription events resolve
/// long after the operation started. Loaders do not cache, so no event sees stale rows.
pub fn attach_spawned(req: Request, db: &DatabaseConnection, viewer: &Viewer) -> Request {
    attach_with(req, db, viewer, &Spawner::Tokio)
}

fn attach_with(req: Request, db: &DatabaseConnection, viewer: &Viewer, batches: &Spawner) -> Request {
    let partnerships = viewer.partnerships().to_vec();
    let db = || db.clone();
    req.data(loader(SchoolLoader { db: db(), partnerships: partnerships.clone() }, batches))
        .data(loader(TrustLoader { db: db() }, batches))
        .data(loader(CohortLoader { db: db(), partnerships: partnerships.clone() }, batches))
        .data(loader(PairingLoader { db: db(), partnerships: partnerships.clone() }, batches))
        .data(loader(PartnershipLoader { db: db(), partnerships: partnerships.clone() }, batches))
        .data(loader(PolicyLoader { db: db() }, batches))
        // One request reads a partnership's facts once; a connection's events read them afresh.
        .data(loader(ProgressLoader::new(db(), matches!(batches, Spawner::Batches(_))), batches))
        .data(loader(JourneyLoader { db: db(), partnerships }, batches))
        .data(loader(FrameworkLoader { db: db() }, batches))
        .data(loader(ReachLoader { db: db(), viewer: viewer.clone() }, batches))
}
