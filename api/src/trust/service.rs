//! Reading and changing trusts.

use entity::{school, trust};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Query, SimpleExpr},
};
use uuid::Uuid;

use crate::{
    access,
    auth::{Actor, Viewer},
    error::{ApiError, ApiResult},
    ids::{Cursor, Page},
    school::service::visible as visible_school,
    validate,
};

/// A trust to add.
#[derive(Clone, Debug)]
pub struct NewTrust {
    pub name: String,
    pub group_uid: String,
    pub companies_house_number: Option<String>,
}

/// Changes to a trust; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct TrustPatch {
    pub name: Option<String>,
    pub companies_house_number: Option<Option<String>>,
}

#[derive(Clone, Debug)]
pub struct TrustService {
    db: DatabaseConnection,
}

/// Trusts the viewer may see: those running a school it may see, and those its partnership's
/// admin created by hand (so a new trust is its creator's to fill, and nobody else's). For a
/// list: the trusts of every visible school are read once.
fn visible(viewer: &Viewer) -> SimpleExpr {
    let partnerships = viewer.partnerships().to_vec();
    Expr::col((trust::Entity, trust::Column::Id))
        .in_subquery(
            Query::select()
                .column(school::Column::TrustId)
                .from(school::Entity)
                .and_where(visible_school(&partnerships))
                .to_owned(),
        )
        .or(created_by(partnerships))
}

/// `visible` for one trust by id: only that trust's schools are looked at (by the index on
/// `school.trust_id`), where `visible` reads every school the viewer may see.
fn visible_one(viewer: &Viewer) -> SimpleExpr {
    let partnerships = viewer.partnerships().to_vec();
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(school::Entity)
            .and_where(
                Expr::col((school::Entity, school::Column::TrustId))
                    .equals((trust::Entity, trust::Column::Id)),
            )
            .and_where(visible_school(&partnerships))
            .to_owned(),
    )
    .or(created_by(partnerships))
}

fn created_by(partnerships: Vec<Uuid>) -> SimpleExpr {
    Expr::col((trust::Entity, trust::Column::CreatedByPartnershipId)).is_in(partnerships)
}

pub fn cursor_of(t: &trust::Model) -> Cursor {
    Cursor { name: t.name.clone(), tie: t.group_uid.clone() }
}

impl TrustService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    pub async fn by_id(&self, viewer: &Viewer, id: Uuid) -> ApiResult<trust::Model> {
        viewer.actor()?;
        trust::Entity::find_by_id(id)
            .filter(visible_one(viewer))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("trust".into()))
    }

    /// One page of trusts in (name, group UID) order, and whether more follow.
    pub async fn page(&self, viewer: &Viewer, page: &Page) -> ApiResult<(Vec<trust::Model>, bool)> {
        viewer.actor()?;
        let mut cond = Condition::all().add(visible(viewer));
        if let Some(c) = &page.after {
            let name = Expr::col((trust::Entity, trust::Column::Name));
            cond = cond.add(Condition::any().add(name.clone().gt(c.name.clone())).add(
                Condition::all().add(name.eq(c.name.clone())).add(trust::Column::GroupUid.gt(c.tie.clone())),
            ));
        }
        let rows = trust::Entity::find()
            .filter(cond)
            .order_by_asc(trust::Column::Name)
            .order_by_asc(trust::Column::GroupUid)
            .limit(page.first + 1)
            .all(&self.db)
            .await?;
        Ok(page.split(rows))
    }

    pub async fn count(&self, viewer: &Viewer) -> ApiResult<u64> {
        viewer.actor()?;
        Ok(trust::Entity::find().filter(visible(viewer)).count(&self.db).await?)
    }

    pub async fn create(&self, actor: &Actor, new: NewTrust) -> ApiResult<trust::Model> {
        let partnership = actor.admin_of()?;
        let name = validate::text("name", &new.name, 200)?;
        let group_uid = validate::group_uid(&new.group_uid)?;
        let chn = new.companies_house_number.as_deref().map(validate::companies_house_number).transpose()?;
        if trust::Entity::find().filter(trust::Column::GroupUid.eq(&group_uid)).one(&self.db).await?.is_some()
        {
            return Err(ApiError::Conflict(format!("a trust with group UID {group_uid} already exists")));
        }
        let row = trust::ActiveModel {
            id: Set(Uuid::new_v4()),
            name: Set(name),
            group_uid: Set(group_uid),
            companies_house_number: Set(chn),
            created_by_partnership_id: Set(Some(partnership)),
        }
        .insert(&self.db)
        .await?;
        tracing::info!(trust.group_uid = %row.group_uid, "created trust {}", row.name);
        Ok(row)
    }

    /// Changes a trust that only the city admin's partnership holds; a trust shared with
    /// another partnership changes only through the operator's GIAS import.
    pub async fn update(&self, viewer: &Viewer, id: Uuid, patch: TrustPatch) -> ApiResult<trust::Model> {
        let mine = viewer.actor()?.admin_of()?;
        let txn = crate::db::begin_write(&self.db).await?;
        let current = trust::Entity::find_by_id(id)
            .filter(visible_one(viewer))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::NotFound("trust".into()))?;
        access::trust_holding(&txn, id, mine)
            .await?
            .require_own("change a trust another partnership also holds: the operator's GIAS import does")?;
        let mut row = current.into_active_model();
        if let Some(name) = &patch.name {
            row.name = Set(validate::text("name", name, 200)?);
        }
        if let Some(chn) = &patch.companies_house_number {
            row.companies_house_number =
                Set(chn.as_deref().map(validate::companies_house_number).transpose()?);
        }
        let row = row.update(&txn).await?;
        txn.commit().await?;
        Ok(row)
    }
}
