//! The partnership's audit log: who changed its settings, goals and access grants, and when.
//! Every entry is written in the same transaction as the change it records.

use entity::audit_event;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

use crate::{auth::Actor, error::ApiResult};

/// Who made a change: a signed-in person or service, or the operator at the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    pub subject: String,
    pub name: Option<String>,
}

impl Who {
    /// The operator, acting through the command line.
    pub fn operator() -> Self {
        Self { subject: "operator".to_owned(), name: Some("operator (command line)".to_owned()) }
    }
}

impl From<&Actor> for Who {
    fn from(actor: &Actor) -> Self {
        Self { subject: actor.subject.clone(), name: actor.display_name.clone() }
    }
}

/// Appends one entry to `partnership`'s audit log.
pub async fn record(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    who: &Who,
    action: &str,
    summary: impl Into<String>,
) -> ApiResult<()> {
    audit_event::ActiveModel {
        id: Set(Uuid::new_v4()),
        partnership_id: Set(partnership),
        at: Set(chrono::Utc::now().fixed_offset()),
        actor_subject: Set(who.subject.clone()),
        actor_name: Set(who.name.clone()),
        action: Set(action.to_owned()),
        summary: Set(summary.into()),
    }
    .insert(db)
    .await?;
    Ok(())
}
