//! Live stage changes: published once a change has committed, delivered to the subscribers of
//! every instance of the API.
//!
//! On SQLite (one process) the bus is a tokio broadcast channel. On PostgreSQL a change is sent
//! with `pg_notify` on [`CHANNEL`], and every instance LISTENs on one connection of its pool and
//! forwards what arrives into its own broadcast channel: a change made on one instance reaches
//! the subscribers of all of them, the publisher's own included, and each only once (PostgreSQL
//! is the only path, nothing is also sent locally).

use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use entity::{certification, partnership_school};
use futures::Stream;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    Statement,
    sqlx::{
        self,
        postgres::{PgListener, PgPool},
    },
};
use serde::{Deserialize, Serialize};
use tokio::sync::{
    broadcast::{self, error::RecvError},
    watch,
};
use uuid::Uuid;

use crate::certification::Stage;

/// The PostgreSQL NOTIFY channel stage changes travel on.
pub const CHANNEL: &str = "certification_events";
/// Events a slow subscriber may fall behind by before it misses some.
const CAPACITY: usize = 1024;
/// NOTIFY refuses payloads of 8000 bytes or more; an event is a few hundred.
const MAX_PAYLOAD: usize = 7_000;
/// The longest wait between two attempts to LISTEN again after an error.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One change of stage of one journey, as subscribers receive it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEvent {
    pub certification_id: Uuid,
    pub school_id: Uuid,
    /// The partnerships the school belonged to when the change was published.
    pub partnership_ids: Vec<Uuid>,
    /// The stage before (as stored, e.g. `SELF_ASSESSING`); `None` for an enrolment.
    pub from: Option<String>,
    pub to: String,
    pub at: DateTime<FixedOffset>,
    /// The journey's version after the change.
    pub version: i32,
}

/// A NOTIFY payload. Channels span a whole database, while a deployment (or a test) lives in one
/// schema of it: the schema keeps deployments that share a database from hearing each other.
#[derive(Serialize, Deserialize)]
struct Envelope {
    schema: String,
    event: StageEvent,
}

/// Where stage changes are published and subscribed to. Cheap to clone; one per instance.
#[derive(Clone, Debug)]
pub struct EventBus {
    db: DatabaseConnection,
    local: broadcast::Sender<StageEvent>,
    /// PostgreSQL only: whether the listener is LISTENing right now.
    listening: Option<watch::Receiver<bool>>,
}

impl EventBus {
    /// The bus for `db`: LISTEN/NOTIFY on PostgreSQL, in-process otherwise. On PostgreSQL it
    /// starts the listener task, so call it inside a tokio runtime.
    pub fn new(db: &DatabaseConnection) -> Self {
        let (local, _) = broadcast::channel(CAPACITY);
        let mut bus = Self { db: db.clone(), local, listening: None };
        if db.get_database_backend() != DatabaseBackend::Postgres {
            return bus;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("no tokio runtime: stage changes reach only this instance's subscribers");
            return bus;
        };
        let (tx, rx) = watch::channel(false);
        runtime.spawn(listen(db.get_postgres_connection_pool().clone(), bus.local.clone(), tx));
        bus.listening = Some(rx);
        bus
    }

    /// Receives every event published from now on (on PostgreSQL, by any instance).
    pub fn subscribe(&self) -> broadcast::Receiver<StageEvent> {
        self.local.subscribe()
    }

    /// How many receivers this instance holds (one per live subscription).
    pub fn subscribers(&self) -> usize {
        self.local.receiver_count()
    }

    /// Resolves once events of other instances arrive: at once in-process, on PostgreSQL when
    /// the listener is LISTENing (or has stopped for good).
    pub async fn ready(&self) {
        if let Some(listening) = &self.listening {
            let _ = listening.clone().wait_for(|on| *on).await;
        }
    }

    /// Sends `event` to the subscribers of every instance. Call it after the change commits.
    pub async fn publish(&self, event: StageEvent) -> anyhow::Result<()> {
        if self.listening.is_none() {
            // No receivers is not an error: nobody is watching.
            let _ = self.local.send(event);
            return Ok(());
        }
        let payload = serde_json::to_string(&event)?;
        anyhow::ensure!(
            payload.len() <= MAX_PAYLOAD,
            "the event is too large to NOTIFY ({} bytes)",
            payload.len()
        );
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DatabaseBackend::Postgres,
                "SELECT pg_notify($1, json_build_object('schema', COALESCE(current_schema(), ''), \
                 'event', $2::json)::text)",
                [CHANNEL.into(), payload.into()],
            ))
            .await?;
        Ok(())
    }

    /// Publishes a committed stage change of `journey` (from `from`). Never fails: the change is
    /// saved whatever happens here, so a failure is logged and the event lost.
    pub async fn stage_changed(&self, journey: &certification::Model, from: Option<Stage>) {
        let published = async {
            let partnership_ids = partnership_school::Entity::find()
                .select_only()
                .column(partnership_school::Column::PartnershipId)
                .filter(partnership_school::Column::SchoolId.eq(journey.school_id))
                .into_tuple::<Uuid>()
                .all(&self.db)
                .await?;
            self.publish(StageEvent {
                certification_id: journey.id,
                school_id: journey.school_id,
                partnership_ids,
                from: from.map(|s| s.as_db().to_owned()),
                to: journey.stage.clone(),
                at: journey.stage_changed_at,
                version: journey.version,
            })
            .await
        };
        if let Err(e) = published.await {
            tracing::error!(certification.id = %journey.id, error = %e, "could not publish a stage change");
        }
    }
}

/// The events of `school` that a caller of `partnerships` may see, as a stream that ends when the
/// bus goes away.
pub fn of_school(
    events: broadcast::Receiver<StageEvent>,
    school: Uuid,
    partnerships: Vec<Uuid>,
) -> impl Stream<Item = StageEvent> + Send + 'static {
    futures::stream::unfold((events, partnerships), move |(mut events, partnerships)| async move {
        loop {
            match events.recv().await {
                Ok(e)
                    if e.school_id == school
                        && e.partnership_ids.iter().any(|p| partnerships.contains(p)) =>
                {
                    return Some((e, (events, partnerships)));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(school.id = %school, missed, "a subscriber fell behind; events dropped");
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// Holds a LISTEN connection for as long as the bus exists, reconnecting after errors.
async fn listen(pool: PgPool, local: broadcast::Sender<StageEvent>, listening: watch::Sender<bool>) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let error = tokio::select! {
            // Every clone of the bus is gone: nobody needs the events any more.
            () = listening.closed() => return,
            error = forward(&pool, &local, &listening, &mut backoff) => error,
        };
        listening.send_replace(false);
        if pool.is_closed() {
            return;
        }
        tracing::error!(error = %error, retry_in_ms = backoff.as_millis() as u64, "LISTEN {CHANNEL} failed");
        tokio::select! {
            () = listening.closed() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// LISTENs and forwards notifications until the connection fails; returns why.
async fn forward(
    pool: &PgPool,
    local: &broadcast::Sender<StageEvent>,
    listening: &watch::Sender<bool>,
    backoff: &mut Duration,
) -> sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(e) => return e,
    };
    if let Err(e) = listener.listen(CHANNEL).await {
        return e;
    }
    // Every connection of the pool has the same search path, so the same current schema.
    let schema =
        match sqlx::query_scalar::<_, Option<String>>("SELECT current_schema()").fetch_one(pool).await {
            Ok(schema) => schema.unwrap_or_default(),
            Err(e) => return e,
        };
    listening.send_replace(true);
    *backoff = Duration::from_millis(500);
    tracing::info!(schema = %schema, "listening for stage changes on {CHANNEL}");
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) => deliver(notification.payload(), &schema, local),
            // The listener has already reconnected and LISTENs again.
            Ok(None) => tracing::warn!("lost the LISTEN connection; stage changes made meanwhile are lost"),
            Err(e) => return e,
        }
    }
}

fn deliver(payload: &str, schema: &str, local: &broadcast::Sender<StageEvent>) {
    match serde_json::from_str::<Envelope>(payload) {
        Ok(envelope) if envelope.schema == schema => {
            let _ = local.send(envelope.event);
        }
        // Another deployment sharing the database.
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, bytes = payload.len(), "skipped a malformed stage change notification")
        }
    }
}
