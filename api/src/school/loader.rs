//! Batched loads of schools: by id, and one page of schools for many parents at once.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use entity::{cohort_school, partnership_school, school, trust};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, IdenStatic,
    Iterable, QueryFilter,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, WindowStatement},
};
use uuid::Uuid;

use super::service::{after, visible};
use crate::{error::ApiError, ids::Page};

/// What a nested school list hangs off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parent {
    Partnership(Uuid),
    Cohort(Uuid),
    Trust(Uuid),
}

impl Parent {
    fn id(self) -> Uuid {
        match self {
            Self::Partnership(id) | Self::Cohort(id) | Self::Trust(id) => id,
        }
    }

    /// The column a parent's id lives in, and the join that brings it in.
    fn column(self) -> Expr {
        match self {
            Self::Partnership(_) => {
                Expr::col((partnership_school::Entity, partnership_school::Column::PartnershipId))
            }
            Self::Cohort(_) => Expr::col((cohort_school::Entity, cohort_school::Column::CohortId)),
            Self::Trust(_) => Expr::col((school::Entity, school::Column::TrustId)),
        }
    }

    fn join(self, q: &mut sea_orm::sea_query::SelectStatement) {
        match self {
            Self::Partnership(_) => {
                q.inner_join(
                    partnership_school::Entity,
                    Expr::col((partnership_school::Entity, partnership_school::Column::SchoolId))
                        .equals((school::Entity, school::Column::Id)),
                );
            }
            Self::Cohort(_) => {
                q.inner_join(
                    cohort_school::Entity,
                    Expr::col((cohort_school::Entity, cohort_school::Column::SchoolId))
                        .equals((school::Entity, school::Column::Id)),
                )
                // Its schools now: not those a successor replaced.
                .and_where(Expr::col((cohort_school::Entity, cohort_school::Column::LeftOn)).is_null());
            }
            Self::Trust(_) => {}
        }
    }
}

/// Key: one page of the schools under one parent; with `trusts`, the trusts that run them too,
/// read in the same statement (the caller asks for them when the query selects them).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SchoolsOf {
    pub parent: Parent,
    pub page: Page,
    pub trusts: bool,
}

/// One page of a parent's schools: the rows, whether more follow, and (when asked for) the
/// trusts that run them.
#[derive(Clone, Debug, Default)]
pub struct SchoolPage {
    pub rows: Vec<school::Model>,
    pub more: bool,
    pub trusts: Vec<trust::Model>,
}

/// The prefix of the trust's columns in a statement that reads schools with their trusts.
const TRUST: &str = "trust__";

/// Key: how many schools a parent has (that the viewer may see).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchoolCountOf(pub Parent);

/// Key: one school by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchoolById(pub Uuid);

/// Key: one school by id, with the trust that runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchoolWithTrust(pub Uuid);

/// Loads schools for one request, seeing only the viewer's partnerships.
pub struct SchoolLoader {
    pub db: DatabaseConnection,
    pub partnerships: Vec<Uuid>,
}

impl Loader<SchoolById> for SchoolLoader {
    type Value = school::Model;
    type Error = ApiError;

    async fn load(&self, keys: &[SchoolById]) -> Result<HashMap<SchoolById, Self::Value>, Self::Error> {
        let rows = school::Entity::find()
            .filter(school::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .filter(visible(&self.partnerships))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|r| (SchoolById(r.id), r)).collect())
    }
}

impl Loader<SchoolWithTrust> for SchoolLoader {
    type Value = (school::Model, Option<trust::Model>);
    type Error = ApiError;

    async fn load(
        &self,
        keys: &[SchoolWithTrust],
    ) -> Result<HashMap<SchoolWithTrust, Self::Value>, Self::Error> {
        let rows = school::Entity::find()
            .find_also_related(trust::Entity)
            .filter(school::Column::Id.is_in(keys.iter().map(|k| k.0)))
            .filter(visible(&self.partnerships))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(|(s, t)| (SchoolWithTrust(s.id), (s, t))).collect())
    }
}

impl Loader<SchoolsOf> for SchoolLoader {
    type Value = SchoolPage;
    type Error = ApiError;

    /// One statement per distinct (kind of parent, page, trusts or not) in the batch: a window
    /// function numbers each parent's schools and keeps the first `first + 1`.
    async fn load(&self, keys: &[SchoolsOf]) -> Result<HashMap<SchoolsOf, Self::Value>, Self::Error> {
        let mut groups: HashMap<(std::mem::Discriminant<Parent>, &Page, bool), Vec<Parent>> = HashMap::new();
        for key in keys {
            groups
                .entry((std::mem::discriminant(&key.parent), &key.page, key.trusts))
                .or_default()
                .push(key.parent);
        }
        let mut out = HashMap::new();
        for ((_, page, trusts), parents) in groups {
            let sample = parents[0];
            let mut cond = Condition::all()
                .add(sample.column().is_in(parents.iter().map(|p| p.id())))
                .add(visible(&self.partnerships));
            if let Some(cursor) = &page.after {
                cond = cond.add(after(cursor)?);
            }
            let mut inner = Query::select();
            inner
                .columns(school::Column::iter().map(|c| (school::Entity, c)))
                .expr_as(sample.column(), Alias::new("parent_id"))
                .expr_window_as(
                    Func::cust("ROW_NUMBER"),
                    WindowStatement::partition_by_custom(match sample {
                        Parent::Partnership(_) => "partnership_school.partnership_id",
                        Parent::Cohort(_) => "cohort_school.cohort_id",
                        Parent::Trust(_) => "school.trust_id",
                    })
                    .order_by((school::Entity, school::Column::Name), Order::Asc)
                    .order_by((school::Entity, school::Column::Urn), Order::Asc)
                    .to_owned(),
                    Alias::new("rn"),
                )
                .from(school::Entity)
                .cond_where(cond);
            sample.join(&mut inner);
            if trusts {
                for c in trust::Column::iter() {
                    inner
                        .expr_as(Expr::col((trust::Entity, c)), Alias::new(format!("{TRUST}{}", c.as_str())));
                }
                inner.left_join(
                    trust::Entity,
                    Expr::col((trust::Entity, trust::Column::Id))
                        .equals((school::Entity, school::Column::TrustId)),
                );
            }
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("rn")).lte(page.first as i64 + 1))
                .order_by(Alias::new("parent_id"), Order::Asc)
                .order_by(Alias::new("rn"), Order::Asc)
                .to_owned();
            let rows = self.db.query_all(&outer).await?;
            let mut by_parent: HashMap<Uuid, SchoolPage> = HashMap::new();
            for row in rows {
                let parent: Uuid = row.try_get("", "parent_id")?;
                let school = school::Model::from_query_result(&row, "")?;
                let entry = by_parent.entry(parent).or_default();
                if trusts && school.trust_id.is_some() {
                    entry.trusts.push(trust::Model::from_query_result(&row, TRUST)?);
                }
                entry.rows.push(school);
            }
            for parent in parents {
                let mut found = by_parent.remove(&parent.id()).unwrap_or_default();
                (found.rows, found.more) = page.split(found.rows);
                out.insert(SchoolsOf { parent, page: page.clone(), trusts }, found);
            }
        }
        Ok(out)
    }
}

impl Loader<SchoolCountOf> for SchoolLoader {
    type Value = u64;
    type Error = ApiError;

    async fn load(&self, keys: &[SchoolCountOf]) -> Result<HashMap<SchoolCountOf, Self::Value>, Self::Error> {
        let mut out = HashMap::new();
        let mut kinds: HashMap<std::mem::Discriminant<Parent>, Vec<Parent>> = HashMap::new();
        for SchoolCountOf(parent) in keys {
            kinds.entry(std::mem::discriminant(parent)).or_default().push(*parent);
        }
        for parents in kinds.into_values() {
            let sample = parents[0];
            let mut q = Query::select();
            q.expr_as(sample.column(), Alias::new("parent_id"))
                .expr_as(Expr::col((school::Entity, school::Column::Id)).count(), Alias::new("n"))
                .from(school::Entity)
                .cond_where(
                    Condition::all()
                        .add(sample.column().is_in(parents.iter().map(|p| p.id())))
                        .add(visible(&self.partnerships)),
                )
                .add_group_by([sample.column()]);
            sample.join(&mut q);
            let rows = self.db.query_all(&q).await?;
            let mut counts = HashMap::new();
            for row in rows {
                let parent: Uuid = row.try_get("", "parent_id")?;
                let n: i64 = row.try_get("", "n")?;
                counts.insert(parent, n as u64);
            }
            for parent in parents {
                out.insert(SchoolCountOf(parent), counts.get(&parent.id()).copied().unwrap_or(0));
            }
        }
        Ok(out)
    }
}
