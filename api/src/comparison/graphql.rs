//! `School.comparison`: a school's figures per area beside its cohort's, trust's and
//! partnership's; and the group figures alone, per area, for a partnership and its cohorts.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::NaiveDate;
use entity::school;
use uuid::Uuid;

use super::{AreaFigures, Figures, Group, GroupFigure, read::FiguresOf};
use crate::{access::require_full, auth::Viewer, certification::loader::JourneyLoader, loaders::load_one};

/// A group's figures in one area: the mean over its schools with ratings, or null (with the
/// reason) when too few schools have ratings for an average to hide each one.
#[derive(SimpleObject)]
pub struct GroupFigures {
    /// Schools of the group with ratings on the day.
    pub schools: i32,
    /// Mean share of the target level's criteria rated SECURE or better, in percent.
    pub secure_percent: Option<f64>,
    /// Mean number of evidence items linked to the area.
    pub evidence_mean: Option<f64>,
    /// Why the figures are null.
    pub hidden_because: Option<String>,
}

impl From<GroupFigure> for GroupFigures {
    fn from(g: GroupFigure) -> Self {
        Self {
            schools: g.schools as i32,
            secure_percent: g.secure_percent,
            evidence_mean: g.evidence_mean,
            hidden_because: g.hidden_because,
        }
    }
}

/// One area of a school's comparison.
pub struct AreaComparison {
    key: String,
    name: String,
    own: Option<AreaFigures>,
    school: school::Model,
    cohort: Option<Uuid>,
    figures: Arc<Figures>,
}

#[Object]
impl AreaComparison {
    /// The area's key.
    async fn area_key(&self) -> &str {
        &self.key
    }
    async fn area_name(&self) -> &str {
        &self.name
    }
    /// The school's share of its target level's criteria in the area rated SECURE or better,
    /// in percent; null before it rates anything.
    async fn secure_percent(&self) -> Option<f64> {
        self.own.map(|a| a.secure_percent())
    }
    /// The school's evidence items linked to the area; null before it rates anything.
    async fn evidence_count(&self) -> Option<i32> {
        self.own.map(|a| a.evidence as i32)
    }
    /// Its cohort's figures; null when it is in no cohort.
    async fn cohort(&self) -> Option<GroupFigures> {
        self.cohort.map(|c| self.figures.group(Group::Cohort(c), &self.key).into())
    }
    /// Its trust's figures, over the trust's schools in this partnership; null for a school the
    /// local authority maintains.
    async fn trust(&self) -> Option<GroupFigures> {
        self.school.trust_id.map(|t| self.figures.group(Group::Trust(t), &self.key).into())
    }
    async fn partnership(&self) -> GroupFigures {
        self.figures.group(Group::Partnership, &self.key).into()
    }
}

/// The figures of every partnership the viewer reads, on `as_of` (each loaded once a request).
async fn figures(ctx: &Context<'_>, as_of: NaiveDate) -> Result<Vec<Arc<Figures>>> {
    let partnerships: Vec<Uuid> = ctx.data::<Viewer>()?.partnerships().to_vec();
    let mut out = Vec::new();
    for p in partnerships {
        if let Some(f) = load_one::<JourneyLoader, _>(ctx, FiguresOf(p, as_of)).await? {
            out.push(f);
        }
    }
    Ok(out)
}

/// `School.comparison`: for those who read the school in full.
pub async fn for_school(
    ctx: &Context<'_>,
    school: &school::Model,
    as_of: NaiveDate,
) -> Result<Vec<AreaComparison>> {
    require_full(ctx, school.id, false).await?;
    let Some(figures) = figures(ctx, as_of).await?.into_iter().find(|f| f.schools.contains_key(&school.id))
    else {
        return Ok(Vec::new());
    };
    let mine = figures.schools.get(&school.id).cloned().unwrap_or_default();
    Ok(figures
        .areas
        .iter()
        .map(|(key, name)| AreaComparison {
            key: key.clone(),
            name: name.clone(),
            own: mine.areas.as_ref().map(|a| a.get(key).copied().unwrap_or_default()),
            school: school.clone(),
            cohort: mine.cohort,
            figures: figures.clone(),
        })
        .collect())
}

/// A group's figures in one area.
#[derive(SimpleObject)]
pub struct AreaGroupFigures {
    pub area_key: String,
    pub area_name: String,
    pub figures: GroupFigures,
}

/// A group's figures per area, in the framework's order; empty when the viewer does not read
/// the partnership.
pub async fn for_group(
    ctx: &Context<'_>,
    partnership: Uuid,
    group: Group,
    as_of: NaiveDate,
) -> Result<Vec<AreaGroupFigures>> {
    if !ctx.data::<Viewer>()?.can_read_partnership(partnership) {
        return Ok(Vec::new());
    }
    let Some(figures) = load_one::<JourneyLoader, _>(ctx, FiguresOf(partnership, as_of)).await? else {
        return Ok(Vec::new());
    };
    Ok(figures
        .areas
        .iter()
        .map(|(key, name)| AreaGroupFigures {
            area_key: key.clone(),
            area_name: name.clone(),
            figures: figures.group(group, key).into(),
        })
        .collect())
}
