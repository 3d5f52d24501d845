//! Loading framework files into the database and reading frameworks back.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, RwLock},
};

use entity::{criterion, framework, framework_area, framework_level, partnership, partnership_school};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::FrameworkFile;
use crate::{
    error::{ApiError, ApiResult},
    import::service::insert_chunks,
};

/// One framework version with all its parts, in their order.
#[derive(Clone, Debug)]
pub struct FrameworkData {
    pub framework: framework::Model,
    /// Lowest first.
    pub levels: Vec<framework_level::Model>,
    pub areas: Vec<framework_area::Model>,
    pub criteria: Vec<criterion::Model>,
}

impl FrameworkData {
    pub fn level(&self, id: Uuid) -> Option<&framework_level::Model> {
        self.levels.iter().find(|l| l.id == id)
    }
    pub fn level_by_key(&self, key: &str) -> Option<&framework_level::Model> {
        self.levels.iter().find(|l| l.key == key)
    }
    pub fn area(&self, id: Uuid) -> Option<&framework_area::Model> {
        self.areas.iter().find(|a| a.id == id)
    }
    pub fn area_by_key(&self, key: &str) -> Option<&framework_area::Model> {
        self.areas.iter().find(|a| a.key == key)
    }
    /// The criteria a school rates when it aims at `level`.
    pub fn criteria_at(&self, level: Uuid) -> impl Iterator<Item = &criterion::Model> {
        self.criteria.iter().filter(move |c| c.level_id == level)
    }
    /// The criteria a school rates at `level`, by code.
    pub fn codes_at(&self, level: Uuid) -> HashMap<&str, Uuid> {
        self.criteria_at(level).map(|c| (c.code.as_str(), c.id)).collect()
    }
    /// Stakeholder groups as (key, name), in file order.
    pub fn groups(&self) -> Vec<(String, String)> {
        serde_json::from_value::<Vec<super::file::Named>>(self.framework.stakeholder_groups.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|g| (g.key, g.name))
            .collect()
    }
}

/// What loading a file did.
pub struct Loaded {
    pub framework: framework::Model,
    /// False when this exact version was already loaded with the same content.
    pub created: bool,
}

#[derive(Clone, Debug)]
pub struct FrameworkService {
    db: DatabaseConnection,
}

impl FrameworkService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Frameworks with their parts, by slug and newest version first; only the latest
    /// version of each unless `all_versions`.
    pub async fn list(&self, slug: Option<&str>, all_versions: bool) -> ApiResult<Vec<Arc<FrameworkData>>> {
        let mut q = framework::Entity::find();
        if let Some(slug) = slug {
            if !crate::validate::matchable(slug) {
                return Ok(Vec::new());
            }
            q = q.filter(framework::Column::Slug.eq(slug));
        }
        let rows = q
            .order_by_asc(framework::Column::Slug)
            .order_by_desc(framework::Column::Version)
            .all(&self.db)
            .await?;
        let mut seen = std::collections::HashSet::new();
        let order: Vec<Uuid> =
            rows.into_iter().filter(|f| all_versions || seen.insert(f.slug.clone())).map(|f| f.id).collect();
        let mut data = data_of(&self.db, order.clone()).await?;
        data.sort_by_key(|d| order.iter().position(|id| *id == d.framework.id));
        Ok(data)
    }
}

/// The version of framework `slug` that new journeys of `school` start on: the version its
/// partnership pins (the newest pin, should two of its partnerships use the framework; the
/// latest published version when none pins one). BAD_USER_INPUT when none of the school's
/// partnerships uses that framework.
pub async fn pinned_for_school(
    db: &impl ConnectionTrait,
    school: Uuid,
    slug: &str,
) -> ApiResult<framework::Model> {
    let unused = || ApiError::invalid("framework", format!("the school's partnership does not use {slug:?}"));
    if !crate::validate::matchable(slug) {
        return Err(unused());
    }
    let pins: Vec<Option<i32>> = partnership::Entity::find()
        .select_only()
        .column(partnership::Column::FrameworkVersion)
        .inner_join(partnership_school::Entity)
        .filter(partnership_school::Column::SchoolId.eq(school))
        .filter(partnership::Column::DefaultFramework.eq(slug))
        .into_tuple()
        .all(db)
        .await?;
    if pins.is_empty() {
        return Err(unused());
    }
    let Some(version) = pins.into_iter().flatten().max() else { return latest(db, slug).await };
    framework::Entity::find()
        .filter(framework::Column::Slug.eq(slug))
        .filter(framework::Column::Version.eq(version))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("framework {slug:?} version {version}")))
}

/// The latest version of the framework `slug`.
pub async fn latest(db: &impl ConnectionTrait, slug: &str) -> ApiResult<framework::Model> {
    if !crate::validate::matchable(slug) {
        return Err(ApiError::NotFound(format!("framework {slug:?}")));
    }
    framework::Entity::find()
        .filter(framework::Column::Slug.eq(slug))
        .order_by_desc(framework::Column::Version)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("framework {slug:?}")))
}

/// Every part of the given framework versions, in four statements.
pub async fn data_of(db: &impl ConnectionTrait, ids: Vec<Uuid>) -> ApiResult<Vec<Arc<FrameworkData>>> {
    let frameworks =
        framework::Entity::find().filter(framework::Column::Id.is_in(ids.clone())).all(db).await?;
    let levels = framework_level::Entity::find()
        .filter(framework_level::Column::FrameworkId.is_in(ids.clone()))
        .order_by_asc(framework_level::Column::Rank)
        .all(db)
        .await?;
    let areas = framework_area::Entity::find()
        .filter(framework_area::Column::FrameworkId.is_in(ids.clone()))
        .order_by_asc(framework_area::Column::Position)
        .all(db)
        .await?;
    let criteria = criterion::Entity::find()
        .filter(criterion::Column::FrameworkId.is_in(ids))
        .order_by_asc(criterion::Column::Position)
        .all(db)
        .await?;
    Ok(frameworks
        .into_iter()
        .map(|f| {
            Arc::new(FrameworkData {
                levels: levels.iter().filter(|l| l.framework_id == f.id).cloned().collect(),
                areas: areas.iter().filter(|a| a.framework_id == f.id).cloned().collect(),
                criteria: criteria.iter().filter(|c| c.framework_id == f.id).cloned().collect(),
                framework: f,
            })
        })
        .collect())
}

/// Framework versions already read by this process. A version is never changed once loaded
/// (a changed file needs a new version), so a copy can never go stale.
static KNOWN: LazyLock<RwLock<HashMap<Uuid, Arc<FrameworkData>>>> = LazyLock::new(Default::default);

/// Like `data_of`, reading each version from the database only the first time.
pub async fn known(db: &impl ConnectionTrait, ids: Vec<Uuid>) -> ApiResult<Vec<Arc<FrameworkData>>> {
    let (mut found, missing): (Vec<_>, Vec<_>) = {
        let cache = KNOWN.read().map_err(|_| anyhow::anyhow!("framework cache poisoned"))?;
        let (hits, misses): (Vec<_>, Vec<_>) = ids.into_iter().partition(|id| cache.contains_key(id));
        (hits.iter().filter_map(|id| cache.get(id).cloned()).collect(), misses)
    };
    if !missing.is_empty() {
        let loaded = data_of(db, missing).await?;
        let mut cache = KNOWN.write().map_err(|_| anyhow::anyhow!("framework cache poisoned"))?;
        for d in &loaded {
            cache.insert(d.framework.id, d.clone());
        }
        found.extend(loaded);
    }
    Ok(found)
}

/// One framework version with its parts.
pub async fn data(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<Arc<FrameworkData>> {
    known(db, vec![id]).await?.pop().ok_or_else(|| ApiError::NotFound("framework".into()))
}

/// Loads a framework file in one transaction. Loading a version already held with the same
/// content changes nothing; the same version with other content is a CONFLICT.
pub async fn load(db: &DatabaseConnection, source: &str) -> ApiResult<Loaded> {
    let file = FrameworkFile::parse(source)?;
    let hash = file.content_hash();
    let txn = crate::db::begin_write(db).await?;
    let held = framework::Entity::find()
        .filter(framework::Column::Slug.eq(&file.slug))
        .filter(framework::Column::Version.eq(file.version))
        .one(&txn)
        .await?;
    if let Some(held) = held {
        if held.content_hash == hash {
            return Ok(Loaded { framework: held, created: false });
        }
        return Err(ApiError::Conflict(format!(
            "version {} of {:?} is already loaded with other content; raise `version` to load a changed file",
            file.version, file.slug
        )));
    }
    let framework = framework::ActiveModel {
        id: Set(Uuid::new_v4()),
        slug: Set(file.slug.clone()),
        version: Set(file.version),
        name: Set(file.name.trim().to_owned()),
        validity_months: Set(file.validity_months),
        stakeholder_groups: Set(serde_json::to_value(&file.stakeholder_groups).map_err(anyhow::Error::from)?),
        content_hash: Set(hash),
        loaded_at: Set(chrono::Utc::now().fixed_offset()),
    }
    .insert(&txn)
    .await?;
    let levels: Vec<framework_level::Model> = file
        .levels
        .iter()
        .zip(1..)
        .map(|(l, rank)| framework_level::Model {
            id: Uuid::new_v4(),
            framework_id: framework.id,
            key: l.key.clone(),
            name: l.name.trim().to_owned(),
            rank,
        })
        .collect();
    let areas: Vec<framework_area::Model> = file
        .areas
        .iter()
        .zip(1..)
        .map(|(a, position)| framework_area::Model {
            id: Uuid::new_v4(),
            framework_id: framework.id,
            key: a.key.clone(),
            name: a.name.trim().to_owned(),
            position,
        })
        .collect();
    let id_of = |key: &str, ids: &[(String, Uuid)]| ids.iter().find(|(k, _)| k == key).map(|(_, id)| *id);
    let level_ids: Vec<_> = levels.iter().map(|l| (l.key.clone(), l.id)).collect();
    let area_ids: Vec<_> = areas.iter().map(|a| (a.key.clone(), a.id)).collect();
    let criteria: Vec<criterion::Model> = file
        .criteria
        .iter()
        .zip(1..)
        .map(|(c, position)| criterion::Model {
            id: Uuid::new_v4(),
            framework_id: framework.id,
            // The file was checked: every key resolves.
            area_id: id_of(&c.area, &area_ids).unwrap_or_default(),
            level_id: id_of(&c.level, &level_ids).unwrap_or_default(),
            group_key: c.group.clone(),
            code: c.code.clone(),
            descriptor: c.descriptor.trim().to_owned(),
            position,
        })
        .collect();
    insert_chunks(&txn, levels.into_iter().map(framework_level::ActiveModel::from).collect()).await?;
    insert_chunks(&txn, areas.into_iter().map(framework_area::ActiveModel::from).collect()).await?;
    insert_chunks(&txn, criteria.into_iter().map(criterion::ActiveModel::from).collect()).await?;
    txn.commit().await?;
    tracing::info!(framework.slug = %framework.slug, framework.version = framework.version, "loaded framework");
    Ok(Loaded { framework, created: true })
}
