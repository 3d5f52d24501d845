//! A partnership's comparison figures on one day, in a fixed number of statements whatever its
//! size: its open member schools with trust, their cohorts, their journeys on its framework,
//! the newest framework version, the ratings and the evidence links of each school's current
//! journey (framework versions come from their cache).

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use chrono::{NaiveDate, NaiveTime};
use entity::{
    certification, cohort_school, evidence, evidence_criterion, mentorship_pairing as pairing, partnership,
    rating, school,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect, RelationTrait,
    sea_query::Expr,
};
use uuid::Uuid;

use super::{AreaFigures, Figures, MIN_GROUP_FLOOR, SchoolFigures};
use crate::{
    certification::{SelfRating, Stage, journey::stage_on},
    error::{ApiError, ApiResult},
    framework::service::{self as frameworks},
};

/// The figures of `partnership`'s open member schools on `as_of`.
pub async fn load(db: &impl ConnectionTrait, p: &partnership::Model, as_of: NaiveDate) -> ApiResult<Figures> {
    let min_schools = p.comparison_min_schools.max(MIN_GROUP_FLOOR) as usize;
    let mut out = Figures { min_schools, ..Default::default() };
    let Some(slug) = p.default_framework.as_deref() else { return Ok(out) };
    let end_of_day = as_of.and_time(NaiveTime::MIN).and_utc().fixed_offset() + chrono::Duration::days(1);

    // Members by id (`db::members`): joined to the membership table instead, PostgreSQL read
    // every school in the country.
    let backend = db.get_database_backend();
    let member = |column: Expr| crate::db::members(backend, column, p.id);
    let members: Vec<(Uuid, Option<Uuid>)> = school::Entity::find()
        .select_only()
        .column(school::Column::Id)
        .column(school::Column::TrustId)
        .filter(member(Expr::col((school::Entity, school::Column::Id))))
        .filter(school::Column::Open.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let cohorts: HashMap<Uuid, Uuid> = cohort_school::Entity::find()
        .filter(cohort_school::Column::PartnershipId.eq(p.id))
        .filter(cohort_school::Column::LeftOn.is_null())
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.school_id, c.cohort_id))
        .collect();
    for (id, trust) in &members {
        let (trust, cohort) = (*trust, cohorts.get(id).copied());
        out.schools.insert(*id, SchoolFigures { trust, cohort, ..Default::default() });
    }

    // Each school's current journey: the newest it had started by the day.
    let journeys = certification::Entity::find()
        .filter(member(Expr::col((certification::Entity, certification::Column::SchoolId))))
        .filter(certification::Column::FrameworkSlug.eq(slug))
        .filter(certification::Column::EnrolledAt.lt(end_of_day))
        .all(db)
        .await?;
    let mut current: HashMap<Uuid, certification::Model> = HashMap::new();
    for j in journeys {
        let newer = current.get(&j.school_id).is_none_or(|c| (j.enrolled_at, j.id) > (c.enrolled_at, c.id));
        if newer {
            current.insert(j.school_id, j);
        }
    }
    let mentoring: Vec<Uuid> = pairing::Entity::find()
        .select_only()
        .column(pairing::Column::MentorSchoolId)
        .filter(pairing::Column::PartnershipId.eq(p.id))
        .filter(pairing::Column::EndedOn.is_null())
        .into_tuple()
        .all(db)
        .await?;
    for (school_id, s) in out.schools.iter_mut() {
        let certified = current.get(school_id).is_some_and(|j| stage_on(j, as_of) == Stage::Certified);
        s.may_mentor = certified || mentoring.contains(school_id);
    }
    let ids: Vec<Uuid> = current.values().map(|j| j.id).collect();
    // The areas are the newest version's, whether or not any school has started on it.
    let newest = match frameworks::latest(db, slug).await {
        Ok(f) => Some(f.id),
        // A partnership whose framework is not loaded yet has no areas to compare.
        Err(ApiError::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let mut versions: Vec<Uuid> = current.values().map(|j| j.framework_id).chain(newest).collect();
    versions.sort();
    versions.dedup();
    let data = frameworks::known(db, versions).await?;
    if let Some(latest) = data.iter().max_by_key(|d| d.framework.version) {
        out.areas = latest.areas.iter().map(|a| (a.key.clone(), a.name.clone())).collect();
    }
    if ids.is_empty() {
        return Ok(out);
    }
    // Only what the shares need (a rating's note can be long): (journey, criterion, rating).
    let ratings: Vec<(Uuid, Uuid, String)> = rating::Entity::find()
        .select_only()
        .columns([rating::Column::CertificationId, rating::Column::CriterionId, rating::Column::Rating])
        .filter(rating::Column::CertificationId.is_in(ids.clone()))
        .filter(rating::Column::RatedAt.lt(end_of_day))
        .into_tuple()
        .all(db)
        .await?;
    let links: Vec<(Uuid, Uuid, Uuid)> = evidence_criterion::Entity::find()
        .select_only()
        .column(evidence::Column::CertificationId)
        .column(evidence_criterion::Column::EvidenceId)
        .column(evidence_criterion::Column::CriterionId)
        .join(JoinType::InnerJoin, evidence_criterion::Relation::Evidence.def())
        .filter(evidence::Column::CertificationId.is_in(ids))
        .filter(evidence::Column::AddedAt.lt(end_of_day))
        .into_tuple()
        .all(db)
        .await?;

    let mut rated: HashMap<Uuid, Vec<(Uuid, &str)>> = HashMap::new();
    for (journey, criterion, rating) in &ratings {
        rated.entry(*journey).or_default().push((*criterion, rating.as_str()));
    }
    let mut linked: HashMap<Uuid, Vec<(Uuid, Uuid)>> = HashMap::new();
    for (journey, item, criterion) in links {
        linked.entry(journey).or_default().push((item, criterion));
    }
    for (school_id, journey) in &current {
        let Some(rows) = rated.get(&journey.id) else { continue };
        let Some(fw) = data.iter().find(|d| d.framework.id == journey.framework_id) else { continue };
        let mut areas: HashMap<String, AreaFigures> = HashMap::new();
        let mut not_yet = Vec::new();
        let area_key = |area: Uuid| fw.area(area).map(|a| a.key.clone()).unwrap_or_default();
        for c in fw.criteria_at(journey.target_level_id) {
            let f = areas.entry(area_key(c.area_id)).or_default();
            f.total += 1;
            let rating =
                rows.iter().find(|(criterion, _)| *criterion == c.id).map(|(_, r)| SelfRating::from_db(r));
            f.secure += usize::from(matches!(rating, Some(SelfRating::Secure | SelfRating::Exceeding)));
            if rating == Some(SelfRating::NotYet) {
                not_yet.push(c.code.clone());
            }
        }
        let mut items: HashMap<String, HashSet<Uuid>> = HashMap::new();
        for (item, criterion) in linked.get(&journey.id).into_iter().flatten() {
            if let Some(c) = fw.criteria.iter().find(|c| c.id == *criterion) {
                items.entry(area_key(c.area_id)).or_default().insert(*item);
            }
        }
        for (area, set) in items {
            areas.entry(area).or_default().evidence = set.len();
        }
        if let Some(s) = out.schools.get_mut(school_id) {
            s.areas = Some(areas);
            s.not_yet = not_yet;
        }
    }
    Ok(out)
}

/// Key: a partnership's figures on a day (`JourneyLoader` answers it, for the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FiguresOf(pub Uuid, pub NaiveDate);

impl async_graphql::dataloader::Loader<FiguresOf> for crate::certification::loader::JourneyLoader {
    type Value = Arc<Figures>;
    type Error = crate::error::ApiError;

    async fn load(&self, keys: &[FiguresOf]) -> Result<HashMap<FiguresOf, Arc<Figures>>, Self::Error> {
        let mut out = HashMap::new();
        for key in keys {
            let Some(p) = partnership::Entity::find_by_id(key.0).one(&self.db).await? else { continue };
            out.insert(*key, Arc::new(load(&self.db, &p, key.1).await?));
        }
        Ok(out)
    }
}
