//! Reading partnerships. Their headline (name, deadline) is public; the rest needs a role.

use entity::partnership;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::{
    auth::Viewer,
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

    fn check(&self, viewer: &Viewer, found: Option<partnership::Model>) -> ApiResult<partnership::Model> {
        match found {
            Some(p) if matches!(viewer, Viewer::Anonymous) || viewer.can_read_partnership(p.id) => Ok(p),
            _ => Err(ApiError::NotFound("partnership".into())),
        }
    }
}
