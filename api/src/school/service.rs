//! Reading and changing schools, scoped to what the viewer may see.

use entity::{cohort_school, local_authority, partnership_school, school, trust};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait, Func, Query, SimpleExpr},
};
use uuid::Uuid;

use super::Phase;
use crate::{
    access,
    auth::{Actor, Viewer},
    error::{ApiError, ApiResult},
    ids::{Cursor, Page},
    validate,
};

/// Which schools a list shows; every field narrows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SchoolFilter {
    pub partnership: Option<Uuid>,
    pub trust: Option<Uuid>,
    pub cohort: Option<Uuid>,
    pub phase: Option<Phase>,
    pub maintained: Option<bool>,
    pub search: Option<String>,
}

/// The orders `Query.schools` can be read in, each paged by its key (keyset, not offset): (name,
/// URN), or the URN alone, which the unique index on `school.urn` serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SchoolOrder {
    /// By name, schools of the same name by URN.
    #[default]
    Name,
    /// By URN.
    Urn,
}

impl SchoolOrder {
    /// The mark its cursors carry (`ids::Cursor::encode_in`). By name carries none: it is the
    /// order cursors were made for before there was another, and the nested lists' only one.
    pub fn tag(self) -> Option<&'static str> {
        match self {
            Self::Name => None,
            Self::Urn => Some("URN"),
        }
    }

    /// The cursor of `s` in this order, as the client gets it.
    pub fn cursor(self, s: &school::Model) -> String {
        match self {
            Self::Name => cursor_of(s).encode(),
            Self::Urn => Cursor { name: String::new(), tie: s.urn.to_string() }.encode_in(self.tag()),
        }
    }

    /// Rows after `cursor` in this order.
    fn after(self, cursor: &Cursor) -> ApiResult<Condition> {
        match self {
            Self::Name => after(cursor),
            Self::Urn => {
                Ok(Condition::all().add(Expr::col((school::Entity, school::Column::Urn)).gt(urn_of(cursor)?)))
            }
        }
    }
}

/// The URN a school cursor ends at.
fn urn_of(cursor: &Cursor) -> ApiResult<i32> {
    cursor.tie.parse().map_err(|_| ApiError::invalid("after", "not a cursor this API issued"))
}

/// A school to add by hand (the importer adds them in bulk).
#[derive(Clone, Debug)]
pub struct NewSchool {
    pub urn: i32,
    pub name: String,
    pub phase: Phase,
    pub establishment_type: String,
    pub la_code: String,
    pub la_name: String,
    pub trust: Option<Uuid>,
    pub postcode: Option<String>,
    pub open: bool,
}

/// Changes to a school; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct SchoolPatch {
    pub name: Option<String>,
    pub phase: Option<Phase>,
    pub establishment_type: Option<String>,
    /// `Some(None)` makes the school LA-maintained.
    pub trust: Option<Option<Uuid>>,
    pub postcode: Option<Option<String>>,
    pub open: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct SchoolService {
    db: DatabaseConnection,
}

/// `school.id IN (schools of these partnerships)`: the visibility rule of every school read.
pub fn visible(partnerships: &[Uuid]) -> SimpleExpr {
    Expr::col((school::Entity, school::Column::Id)).in_subquery(
        Query::select()
            .column(partnership_school::Column::SchoolId)
            .from(partnership_school::Entity)
            .and_where(partnership_school::Column::PartnershipId.is_in(partnerships.to_vec()))
            .to_owned(),
    )
}

/// The school with `urn` in one of `partnerships`, or NOT_FOUND.
pub async fn visible_by_urn(
    db: &impl ConnectionTrait,
    partnerships: &[Uuid],
    urn: i32,
) -> ApiResult<school::Model> {
    school::Entity::find()
        .filter(school::Column::Urn.eq(urn))
        .filter(visible(partnerships))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("school with URN {urn}")))
}

/// Rows after `cursor` in (name, urn) order.
pub fn after(cursor: &Cursor) -> ApiResult<Condition> {
    let urn = urn_of(cursor)?;
    let name = Expr::col((school::Entity, school::Column::Name));
    Ok(Condition::any().add(name.clone().gt(cursor.name.clone())).add(
        Condition::all()
            .add(name.eq(cursor.name.clone()))
            .add(Expr::col((school::Entity, school::Column::Urn)).gt(urn)),
    ))
}

pub fn cursor_of(s: &school::Model) -> Cursor {
    Cursor { name: s.name.clone(), tie: s.urn.to_string() }
}

impl SchoolFilter {
    fn condition(&self, viewer: &Viewer) -> ApiResult<Condition> {
        let mut cond = Condition::all().add(visible(viewer.partnerships()));
        if let Some(p) = self.partnership {
            cond = cond.add(
                school::Column::Id.in_subquery(
                    Query::select()
                        .column(partnership_school::Column::SchoolId)
                        .from(partnership_school::Entity)
                        .and_where(partnership_school::Column::PartnershipId.eq(p))
                        .to_owned(),
                ),
            );
        }
        if let Some(c) = self.cohort {
            cond = cond.add(
                school::Column::Id.in_subquery(
                    Query::select()
                        .column(cohort_school::Column::SchoolId)
                        .from(cohort_school::Entity)
                        .and_where(cohort_school::Column::CohortId.eq(c))
                        .and_where(cohort_school::Column::LeftOn.is_null())
                        .to_owned(),
                ),
            );
        }
        if let Some(t) = self.trust {
            cond = cond.add(school::Column::TrustId.eq(t));
        }
        if let Some(phase) = self.phase {
            cond = cond.add(school::Column::Phase.eq(phase.as_db()));
        }
        match self.maintained {
            Some(true) => cond = cond.add(school::Column::TrustId.is_null()),
            Some(false) => cond = cond.add(school::Column::TrustId.is_not_null()),
            None => {}
        }
        if let Some(search) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            if search.chars().count() > 100 {
                return Err(ApiError::invalid("search", "use at most 100 characters"));
            }
            if search.chars().any(char::is_control) {
                return Err(ApiError::invalid("search", "must not contain control characters"));
            }
            if let Ok(urn) = search.parse::<i32>() {
                cond = cond.add(school::Column::Urn.eq(urn));
            } else {
                // LIKE patterns from user text: escape the wildcards, compare case-blind on both
                // databases (PostgreSQL's LIKE is case-sensitive, SQLite's is not).
                let escaped =
                    search.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                cond = cond.add(
                    Expr::expr(Func::lower(Expr::col((school::Entity, school::Column::Name))))
                        .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
                );
            }
        }
        Ok(cond)
    }
}

impl SchoolService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A school the viewer may see, by URN; NOT_FOUND also when it exists but is out of scope.
    pub async fn by_urn(&self, viewer: &Viewer, urn: i32) -> ApiResult<school::Model> {
        viewer.actor()?;
        visible_by_urn(&self.db, viewer.partnerships(), urn).await
    }

    /// `by_urn`, with the trust that runs the school read in the same statement.
    pub async fn by_urn_with_trust(
        &self,
        viewer: &Viewer,
        urn: i32,
    ) -> ApiResult<(school::Model, Option<trust::Model>)> {
        viewer.actor()?;
        school::Entity::find()
            .find_also_related(trust::Entity)
            .filter(school::Column::Urn.eq(urn))
            .filter(visible(viewer.partnerships()))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("school with URN {urn}")))
    }

    pub async fn by_id(&self, viewer: &Viewer, id: Uuid) -> ApiResult<school::Model> {
        viewer.actor()?;
        school::Entity::find_by_id(id)
            .filter(visible(viewer.partnerships()))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("school".into()))
    }

    /// One page of schools in `order`, and whether more follow. `page.after` must have been
    /// read for that order (`Page::new_in(.., order.tag())`).
    pub async fn page(
        &self,
        viewer: &Viewer,
        filter: &SchoolFilter,
        order: SchoolOrder,
        page: &Page,
    ) -> ApiResult<(Vec<school::Model>, bool)> {
        viewer.actor()?;
        let mut cond = filter.condition(viewer)?;
        if let Some(cursor) = &page.after {
            cond = cond.add(order.after(cursor)?);
        }
        let query = school::Entity::find().filter(cond);
        let query = match order {
            SchoolOrder::Name => query.order_by_asc(school::Column::Name).order_by_asc(school::Column::Urn),
            SchoolOrder::Urn => query.order_by_asc(school::Column::Urn),
        };
        let rows = query.limit(page.first + 1).all(&self.db).await?;
        Ok(page.split(rows))
    }

    pub async fn count(&self, viewer: &Viewer, filter: &SchoolFilter) -> ApiResult<u64> {
        viewer.actor()?;
        Ok(school::Entity::find().filter(filter.condition(viewer)?).count(&self.db).await?)
    }

    /// Adds a school to the city admin's partnership, creating its LA if new. One transaction.
    pub async fn create(&self, actor: &Actor, new: NewSchool) -> ApiResult<school::Model> {
        let partnership = actor.admin_of()?;
        validate::urn(new.urn)?;
        let name = validate::text("name", &new.name, 200)?;
        let establishment_type = validate::establishment_type(&new.establishment_type)?;
        let la_code = validate::la_code(&new.la_code)?;
        let la_name = validate::text("laName", &new.la_name, 200)?;
        let postcode = new.postcode.as_deref().map(validate::postcode).transpose()?;

        let txn = crate::db::begin_write(&self.db).await?;
        if school::Entity::find().filter(school::Column::Urn.eq(new.urn)).one(&txn).await?.is_some() {
            return Err(ApiError::Conflict(format!("a school with URN {} already exists", new.urn)));
        }
        if let Some(t) = new.trust {
            usable_trust(&txn, t, partnership).await?;
        }
        let la = local_authority_id(&txn, &la_code, &la_name).await?;
        let row = school::ActiveModel {
            id: Set(Uuid::new_v4()),
            urn: Set(new.urn),
            name: Set(name),
            phase: Set(new.phase.as_db().to_owned()),
            establishment_type: Set(establishment_type),
            local_authority_id: Set(la),
            trust_id: Set(new.trust),
            postcode: Set(postcode),
            open: Set(new.open),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        partnership_school::ActiveModel {
            partnership_id: Set(partnership),
            school_id: Set(row.id),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        tracing::info!(school.urn = row.urn, "created school {}", row.name);
        Ok(row)
    }

    /// Changes a school of the city admin's partnership.
    pub async fn update(&self, actor: &Actor, urn: i32, patch: SchoolPatch) -> ApiResult<school::Model> {
        let partnership = actor.admin_of()?;
        let txn = crate::db::begin_write(&self.db).await?;
        let current = school::Entity::find()
            .filter(school::Column::Urn.eq(urn))
            .filter(visible(&[partnership]))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("school with URN {urn}")))?;
        access::school_holding(&txn, current.id, partnership)
            .await?
            .require_own("change a school another partnership also holds: the operator's GIAS import does")?;
        let mut row = current.into_active_model();
        if let Some(name) = &patch.name {
            row.name = Set(validate::text("name", name, 200)?);
        }
        if let Some(phase) = patch.phase {
            row.phase = Set(phase.as_db().to_owned());
        }
        if let Some(t) = &patch.establishment_type {
            row.establishment_type = Set(validate::establishment_type(t)?);
        }
        if let Some(postcode) = &patch.postcode {
            row.postcode = Set(postcode.as_deref().map(validate::postcode).transpose()?);
        }
        if let Some(open) = patch.open {
            row.open = Set(open);
        }
        if let Some(t) = patch.trust {
            if let Some(t) = t {
                usable_trust(&txn, t, partnership).await?;
            }
            row.trust_id = Set(t);
        }
        let row = row.update(&txn).await?;
        txn.commit().await?;
        tracing::info!(school.urn = row.urn, "updated school");
        Ok(row)
    }
}

/// NOT_FOUND unless `partnership`'s admin may link a school to trust `id` (it exists, and no
/// other partnership alone holds it).
async fn usable_trust(db: &impl ConnectionTrait, id: Uuid, partnership: Uuid) -> ApiResult<()> {
    let exists = trust::Entity::find_by_id(id).one(db).await?.is_some();
    if !exists || access::trust_holding(db, id, partnership).await? == access::Holding::Foreign {
        return Err(ApiError::NotFound("trust".into()));
    }
    Ok(())
}

/// The id of the LA with `code`, inserting it when new. An existing LA keeps its name: LAs are
/// shared by every partnership in them, and only the operator's GIAS import renames one.
pub async fn local_authority_id(db: &impl ConnectionTrait, code: &str, name: &str) -> ApiResult<Uuid> {
    if let Some(la) =
        local_authority::Entity::find().filter(local_authority::Column::Code.eq(code)).one(db).await?
    {
        return Ok(la.id);
    }
    let la = local_authority::ActiveModel {
        id: Set(Uuid::new_v4()),
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
    };
    Ok(la.insert(db).await?.id)
}
