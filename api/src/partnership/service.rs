//! Reading partnerships. Their headline (name, deadline) is public; the rest needs a role.

use entity::partnership;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::{
    auth::{Actor, Viewer},
    error::{ApiError, ApiResult},
};

#[derive(Clone, Debug)]
pub struct PartnershipService {
    db: DatabaseConnection,
}

impl PartnershipService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Every partnership for anonymous callers (headlines only reach them); a signed-in
    /// caller's own partnerships otherwise.
    pub async fn list(&self, viewer: &Viewer) -> ApiResult<Vec<partnership::Model>> {
        let mut q = partnership::Entity::find().order_by_asc(partnership::Column::Name);
        if let Viewer::Signed(actor) = viewer {
            q = q.filter(partnership::Column::Id.is_in(actor.partnerships.clone()));
        }
        Ok(q.all(&self.db).await?)
    }

    pub async fn by_id(&self, viewer: &Viewer, id: Uuid) -> ApiResult<partnership::Model> {
        let found = partnership::Entity::find_by_id(id).one(&self.db).await?;
        self.check(viewer, found)
    }

    pub async fn by_slug(&self, viewer: &Viewer, slug: &str) -> ApiResult<partnership::Model> {
        let found =
            partnership::Entity::find().filter(partnership::Column::Slug.eq(slug)).one(&self.db).await?;
        self.check(viewer, found)
    }

    /// Sets the days after which a school is at risk (DOMAIN.md): the city admin's own
    /// partnership, each between 1 and 365 days; a value left out is kept.
    pub async fn set_risk_thresholds(
        &self,
        actor: &Actor,
        stalled_after_days: Option<i32>,
        returned_after_days: Option<i32>,
    ) -> ApiResult<partnership::Model> {
        let id = actor.admin_of()?;
        for (field, days) in
            [("stalledAfterDays", stalled_after_days), ("returnedAfterDays", returned_after_days)]
        {
            if days.is_some_and(|d| !(1..=365).contains(&d)) {
                return Err(ApiError::invalid(field, "must be between 1 and 365 days"));
            }
        }
        let p = partnership::Entity::find_by_id(id)
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("partnership".into()))?;
        let mut row: partnership::ActiveModel = p.into();
        if let Some(d) = stalled_after_days {
            row.stalled_after_days = Set(d);
        }
        if let Some(d) = returned_after_days {
            row.returned_after_days = Set(d);
        }
        Ok(row.update(&self.db).await?)
    }

    fn check(&self, viewer: &Viewer, found: Option<partnership::Model>) -> ApiResult<partnership::Model> {
        match found {
            Some(p) if matches!(viewer, Viewer::Anonymous) || viewer.can_read_partnership(p.id) => Ok(p),
            _ => Err(ApiError::NotFound("partnership".into())),
        }
    }
}
