//! `GET /reports/actions.csv`: every member school's action plan, for the local authority's
//! city admins (the plans are drafts: nobody else exports them).

use chrono::NaiveDate;
use entity::{certification, improvement_action as action, partnership, partnership_school, school};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationTrait,
};

use super::{ActionOwner, ActionStatus, overdue};
use crate::{
    error::ApiResult,
    framework::service as frameworks,
    progress::export::{cell, writer},
};

pub const HEADER: [&str; 9] =
    ["urn", "school", "area", "title", "owner", "due_on", "status", "overdue", "updated_on"];

/// The CSV of `p`'s open member schools' actions, by URN and due date, overdue as of `as_of`.
pub async fn csv(db: &impl ConnectionTrait, p: &partnership::Model, as_of: NaiveDate) -> ApiResult<Vec<u8>> {
    let rows: Vec<(action::Model, Option<school::Model>)> = action::Entity::find()
        .join(JoinType::InnerJoin, action::Relation::Certification.def())
        .join(JoinType::InnerJoin, certification::Relation::School.def())
        .join(JoinType::InnerJoin, school::Relation::PartnershipSchool.def())
        .filter(partnership_school::Column::PartnershipId.eq(p.id))
        .filter(school::Column::Open.eq(true))
        .select_also(school::Entity)
        .order_by_asc(school::Column::Urn)
        .order_by_asc(action::Column::DueOn)
        .order_by_asc(action::Column::Id)
        .all(db)
        .await?;
    let journeys: Vec<uuid::Uuid> = rows.iter().map(|(a, _)| a.certification_id).collect();
    let versions: Vec<uuid::Uuid> = certification::Entity::find()
        .select_only()
        .column(certification::Column::FrameworkId)
        .filter(certification::Column::Id.is_in(journeys))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let data = frameworks::known(db, versions).await?;
    let area = |id| data.iter().find_map(|d| d.area(id)).map(|a| a.name.clone()).unwrap_or_default();
    let mut out = writer();
    let _ = out.write_record(HEADER);
    for (a, s) in rows {
        let Some(s) = s else { continue };
        let _ = out.write_record([
            s.urn.to_string(),
            cell(&s.name),
            cell(&area(a.area_id)),
            cell(&a.title),
            ActionOwner::from_db(&a.owner).as_db().to_owned(),
            a.due_on.to_string(),
            ActionStatus::from_db(&a.status).as_db().to_owned(),
            overdue(&a, as_of).to_string(),
            a.updated_at.to_utc().date_naive().to_string(),
        ]);
    }
    Ok(out.into_inner().unwrap_or_default())
}
