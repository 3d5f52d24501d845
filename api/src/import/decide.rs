//! The links an import recorded for a partnership, and the city admin's decision on the ones it
//! reported (amalgamations and splits): the successor carries on the predecessor's work (as a
//! conversion does), or the predecessor simply leaves on the link's date and the successor
//! joins as a school of its own.

use entity::{partnership, partnership_school, school, school_link};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, Set,
};

use super::{report::LinkStatus, succession};
use crate::{
    audit::{self, Who},
    auth::Actor,
    error::{ApiError, ApiResult},
};

/// The partnership's links, oldest predecessor first; only those of `status` when given.
pub async fn links(
    db: &DatabaseConnection,
    actor: &Actor,
    status: Option<LinkStatus>,
) -> ApiResult<Vec<school_link::Model>> {
    let mut q = school_link::Entity::find().filter(school_link::Column::PartnershipId.eq(actor.admin_of()?));
    if let Some(status) = status {
        q = q.filter(school_link::Column::Status.eq(status.as_db()));
    }
    let q =
        q.order_by_asc(school_link::Column::PredecessorUrn).order_by_asc(school_link::Column::SuccessorUrn);
    Ok(q.all(db).await?)
}

/// Decides a reported link of the caller's partnership: with `carry_on`, `successor` carries on
/// `predecessor`'s work from the link's date; without, `predecessor` leaves then and
/// `successor` joins. One transaction, written to the audit log.
pub async fn decide(
    db: &DatabaseConnection,
    actor: &Actor,
    predecessor: i32,
    successor: i32,
    carry_on: bool,
) -> ApiResult<school_link::Model> {
    let partnership = actor.admin_of()?;
    let txn = crate::db::begin_write(db).await?;
    let link = school_link::Entity::find()
        .filter(school_link::Column::PartnershipId.eq(partnership))
        .filter(school_link::Column::PredecessorUrn.eq(predecessor))
        .filter(school_link::Column::SuccessorUrn.eq(successor))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!("a link from school {predecessor} to school {successor}"))
        })?;
    if link.status != LinkStatus::Reported.as_db() {
        return Err(ApiError::Conflict(format!(
            "the link from {predecessor} to {successor} is {}: only reported links wait for a decision",
            link.status
        )));
    }
    let find = |urn: i32| school::Entity::find().filter(school::Column::Urn.eq(urn)).one(&txn);
    let before =
        find(predecessor).await?.ok_or_else(|| ApiError::NotFound(format!("school {predecessor}")))?;
    let after = find(successor).await?.filter(|s| s.open).ok_or_else(|| {
        ApiError::Conflict(format!("school {successor} is not open yet: decide once an import finds it open"))
    })?;
    let day = link.established_on.or(after.opened_on).unwrap_or_else(|| chrono::Utc::now().date_naive());
    let framework =
        partnership::Entity::find_by_id(partnership).one(&txn).await?.and_then(|p| p.default_framework);
    let (status, summary) = if carry_on {
        succession::succeed(&txn, partnership, framework.as_deref(), &before, &after, day).await?;
        (
            LinkStatus::Applied,
            format!("school {successor} carries on from {predecessor} from {day} (decided)"),
        )
    } else {
        leave_and_join(&txn, partnership, &before, &after, day).await?;
        (
            LinkStatus::Dismissed,
            format!("school {predecessor} left on {day}; {successor} joined on its own (decided)"),
        )
    };
    audit::record(&txn, partnership, &Who::from(actor), "school.link_decided", summary).await?;
    let mut row = link.into_active_model();
    row.status = Set(status.as_db().to_owned());
    row.applied_at = Set(Some(chrono::Utc::now().fixed_offset()));
    let row = row.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// `before` leaves the partnership on `day`; `after` joins on it (a member already: from it).
async fn leave_and_join(
    db: &impl ConnectionTrait,
    partnership: uuid::Uuid,
    before: &school::Model,
    after: &school::Model,
    day: chrono::NaiveDate,
) -> ApiResult<()> {
    for (school, leaving) in [(before, true), (after, false)] {
        match partnership_school::Entity::find_by_id((partnership, school.id)).one(db).await? {
            Some(m) => {
                let mut m = m.into_active_model();
                if leaving {
                    m.left_on = Set(Some(day));
                } else {
                    m.joined_on = Set(Some(day));
                }
                m.update(db).await?;
            }
            None if !leaving => {
                partnership_school::ActiveModel {
                    partnership_id: Set(partnership),
                    school_id: Set(school.id),
                    joined_on: Set(Some(day)),
                    left_on: Set(None),
                    succeeds_id: Set(None),
                }
                .insert(db)
                .await?;
            }
            None => {}
        }
    }
    Ok(())
}
