//! Framework types, the `frameworks` query and the `loadFramework` mutation.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{criterion, framework_area, framework_level};

use super::{
    FrameworkData, FrameworkService,
    loader::{FrameworkById, FrameworkLoader},
};
use crate::{
    error::{ApiError, Extend},
    ids::global_id,
    loaders::load_one,
};

/// One version of a certification framework.
#[derive(Clone)]
pub struct Framework(pub Arc<FrameworkData>);

/// Loads one framework version for a relation (journey.framework, ...).
pub async fn framework_by_id(ctx: &Context<'_>, id: uuid::Uuid) -> Result<Arc<FrameworkData>> {
    load_one::<FrameworkLoader, _>(ctx, FrameworkById(id))
        .await?
        .ok_or_else(|| ApiError::NotFound("framework".into()).into_gql())
}

#[Object]
impl Framework {
    async fn id(&self) -> ID {
        global_id("Framework", self.0.framework.id)
    }
    /// Names the framework across its versions, e.g. `aied-certified`.
    async fn slug(&self) -> &str {
        &self.0.framework.slug
    }
    async fn version(&self) -> i32 {
        self.0.framework.version
    }
    async fn name(&self) -> &str {
        &self.0.framework.name
    }
    /// How long a certificate stays valid, in months from its award date.
    async fn validity_months(&self) -> i32 {
        self.0.framework.validity_months
    }
    async fn loaded_at(&self) -> DateTime<Utc> {
        self.0.framework.loaded_at.to_utc()
    }
    /// Who rates each criterion; empty when the criteria have no groups.
    async fn stakeholder_groups(&self) -> Vec<StakeholderGroup> {
        self.0.groups().into_iter().map(|(key, name)| StakeholderGroup { key, name }).collect()
    }
    /// Levels, lowest first.
    async fn levels(&self) -> Vec<FrameworkLevel> {
        self.0.levels.iter().cloned().map(FrameworkLevel).collect()
    }
    async fn areas(&self) -> Vec<FrameworkArea> {
        self.0.areas.iter().map(|a| FrameworkArea(a.clone(), self.0.clone())).collect()
    }
    /// Criteria in file order; only those of one level when `level` (a level key) is given.
    async fn criteria(&self, level: Option<String>) -> Result<Vec<Criterion>> {
        criteria(&self.0, None, level.as_deref())
    }
}

fn criteria(
    data: &Arc<FrameworkData>,
    area: Option<uuid::Uuid>,
    level: Option<&str>,
) -> Result<Vec<Criterion>> {
    let level = match level {
        Some(key) => Some(
            data.level_by_key(key)
                .ok_or_else(|| {
                    ApiError::invalid("level", format!("this framework has no level {key:?}")).into_gql()
                })?
                .id,
        ),
        None => None,
    };
    Ok(data
        .criteria
        .iter()
        .filter(|c| level.is_none_or(|l| c.level_id == l) && area.is_none_or(|a| c.area_id == a))
        .map(|c| Criterion(c.clone(), data.clone()))
        .collect())
}

#[derive(SimpleObject)]
pub struct StakeholderGroup {
    pub key: String,
    pub name: String,
}

/// A level of a framework; a higher rank is a higher level.
pub struct FrameworkLevel(pub framework_level::Model);

#[Object]
impl FrameworkLevel {
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 1 for the lowest level.
    async fn rank(&self) -> i32 {
        self.0.rank
    }
}

/// An area of a framework.
pub struct FrameworkArea(pub framework_area::Model, pub Arc<FrameworkData>);

#[Object]
impl FrameworkArea {
    async fn key(&self) -> &str {
        &self.0.key
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The area's criteria; only one level's when `level` is given.
    async fn criteria(&self, level: Option<String>) -> Result<Vec<Criterion>> {
        criteria(&self.1, Some(self.0.id), level.as_deref())
    }
}

/// What a school rates itself against: one area, one level and (in some frameworks) one
/// stakeholder group.
pub struct Criterion(pub criterion::Model, pub Arc<FrameworkData>);

#[Object]
impl Criterion {
    async fn id(&self) -> ID {
        global_id("Criterion", self.0.id)
    }
    /// Unique within the framework, e.g. `LIT-E-LEA`; ratings and evidence name criteria by code.
    async fn code(&self) -> &str {
        &self.0.code
    }
    async fn descriptor(&self) -> &str {
        &self.0.descriptor
    }
    async fn area(&self) -> Option<FrameworkArea> {
        self.1.area(self.0.area_id).map(|a| FrameworkArea(a.clone(), self.1.clone()))
    }
    async fn level(&self) -> Option<FrameworkLevel> {
        self.1.level(self.0.level_id).cloned().map(FrameworkLevel)
    }
    /// The stakeholder group that rates it; null in frameworks without groups.
    async fn stakeholder_group(&self) -> Option<StakeholderGroup> {
        let key = self.0.group_key.as_ref()?;
        self.1.groups().into_iter().find(|(k, _)| k == key).map(|(key, name)| StakeholderGroup { key, name })
    }
}

#[derive(Default)]
pub struct FrameworkQuery;

#[Object]
impl FrameworkQuery {
    /// Loaded frameworks (public), the latest version of each unless `allVersions`.
    async fn frameworks(
        &self,
        ctx: &Context<'_>,
        slug: Option<String>,
        #[graphql(default = false)] all_versions: bool,
    ) -> Result<Vec<Framework>> {
        let rows = ctx.data::<FrameworkService>()?.list(slug.as_deref(), all_versions).await.extend()?;
        Ok(rows.into_iter().map(Framework).collect())
    }
}
