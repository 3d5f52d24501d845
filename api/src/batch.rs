//! When the batches of one operation's loaders run.
//!
//! async-graphql's loaders run a batch a fixed delay after its first key. That splits a batch
//! whenever resolving a long list takes longer than the delay, so the number of statements
//! would depend on the number of rows and the speed of the machine. Here a batch instead runs
//! when the operation can make no more progress without it, and not before the batches already
//! running have answered: loads happen in waves, one per level of the query, whatever the
//! number of rows. The same driver serves an HTTP request (`run`, a future) and a WebSocket
//! operation (`stream`, its answers), so both cost the same statements.

use std::{
    future::Future,
    pin::{Pin, pin},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

use futures::{Stream, future::BoxFuture};

/// The batches of one operation: queued until the operation is blocked, then run together.
#[derive(Clone, Default)]
pub struct Batches(Arc<BatchState>);

#[derive(Default)]
struct BatchState {
    queued: Mutex<Vec<BoxFuture<'static, ()>>>,
    running: AtomicUsize,
    operation: Mutex<Option<Waker>>,
    /// Loads waiting for the running batches to answer (`settled`).
    settling: Mutex<Vec<Waker>>,
    /// Apart from the rest: caches hold it, and queued batches hold the caches.
    pauses: Arc<AtomicU64>,
}

/// Marks a batch finished when dropped, even if the batch panicked, so the operation never
/// waits for a batch that will not come back.
struct Done(Arc<BatchState>);

impl Drop for Done {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::SeqCst) == 1 {
            let settling = self.0.settling.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default();
            settling.into_iter().for_each(Waker::wake);
        }
        if let Some(w) = self.0.operation.lock().map(|w| w.clone()).ok().flatten() {
            w.wake();
        }
    }
}

/// Notes that the operation's future woke (itself or from a finished load) while being polled.
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

/// How often the operation driven by one `Batches` has paused: sent an answer, or waited on
/// something other than its own batches (the next event of a subscription, a write). A cache
/// that must not outlive an event forgets what it holds when this moves on.
#[derive(Clone)]
pub struct Pauses(Arc<AtomicU64>);

impl Pauses {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl Batches {
    /// Where a loader hands its batches: `DataLoader::new(loader, batches.spawner())`.
    pub fn spawner(&self) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let batches = self.clone();
        move |batch| batches.0.queued.lock().expect("batch queue").push(batch)
    }

    pub fn pauses(&self) -> Pauses {
        Pauses(self.0.pauses.clone())
    }

    /// Resolves once no batch is running. A load that a cache may answer waits for it: asked
    /// while a batch is running, the key may be in that batch, and only its answer would put it
    /// in the cache. It costs no wave: batches asked for meanwhile start only then anyway.
    pub async fn settled(&self) {
        std::future::poll_fn(|cx| {
            // Registered before looking, so that the last batch cannot finish unseen in between.
            self.0.settling.lock().expect("settling wakers").push(cx.waker().clone());
            if self.0.running.load(Ordering::SeqCst) == 0 { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }

    /// Starts every queued batch, if none is running; says whether any is running now.
    fn flush(&self) -> bool {
        if self.0.running.load(Ordering::SeqCst) > 0 {
            return true;
        }
        let batches = std::mem::take(&mut *self.0.queued.lock().expect("batch queue"));
        self.0.running.fetch_add(batches.len(), Ordering::SeqCst);
        let started = !batches.is_empty();
        for batch in batches {
            let done = Done(self.0.clone());
            tokio::spawn(async move {
                let _done = done;
                batch.await;
            });
        }
        started
    }

    /// Polls the operation through `step`, starting batches whenever it is blocked.
    fn drive<T>(&self, cx: &mut Context<'_>, mut step: impl FnMut(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
        *self.0.operation.lock().expect("operation waker") = Some(cx.waker().clone());
        // An operation that keeps waking itself is making progress; poll it again, within reason.
        for _ in 0..64 {
            let flag = Arc::new(Flag { woke: AtomicBool::new(false), outer: cx.waker().clone() });
            let waker = Waker::from(flag.clone());
            if let Poll::Ready(out) = step(&mut Context::from_waker(&waker)) {
                return Poll::Ready(out);
            }
            if !flag.woke.load(Ordering::SeqCst) {
                let busy = self.flush();
                // Blocked, and not on a batch of its own: one that finished since the poll
                // answered before it counted as done, so it has woken `flag`.
                if !busy && !flag.woke.load(Ordering::SeqCst) {
                    self.0.pauses.fetch_add(1, Ordering::SeqCst);
                }
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Drives `fut` (an HTTP request's execution) to its answer.
    pub async fn run<F: Future>(&self, fut: F) -> F::Output {
        let mut fut = pin!(fut);
        std::future::poll_fn(|cx| self.drive(cx, |cx| fut.as_mut().poll(cx))).await
    }

    /// Drives `answers` (a WebSocket operation's: one for a query or mutation, one per event for
    /// a subscription) as `run` drives a future, for as long as it is polled.
    pub fn stream<S>(self, answers: S) -> impl Stream<Item = S::Item> + Send + 'static
    where
        S: Stream + Send + 'static,
    {
        let mut answers = Box::pin(answers);
        futures::stream::poll_fn(move |cx| {
            let answer = self.drive(cx, |cx| Pin::as_mut(&mut answers).poll_next(cx));
            if let Poll::Ready(Some(_)) = answer {
                self.0.pauses.fetch_add(1, Ordering::SeqCst);
            }
            answer
        })
    }
}
