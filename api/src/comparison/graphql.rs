//! `School.comparison`: a school's figures per area beside its cohort's, trust's and
//! partnership's; and the group figures alone, per area, for a partnership and its cohorts.

use std::sync::Arc;

use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::NaiveDate;
use entity::school;
use uuid::Uuid;

use super::{
    AreaFigures, Figures, Group, GroupFigure,
    focus::{Focus, StrongSchool, focus},
    read::FiguresOf,
};
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

/// An area where schools most often stand below SECURE.
#[derive(SimpleObject)]
pub struct WeakArea {
    pub area_key: String,
    pub area_name: String,
    /// Schools with ratings that rate a criterion of the area below SECURE (or not at all).
    pub schools_below: i32,
    /// Schools with ratings.
    pub schools_rated: i32,
}

/// A criterion and how many schools rate it NOT_YET.
#[derive(SimpleObject)]
pub struct CriterionGap {
    pub code: String,
    pub schools: i32,
}

/// A school able to mentor (mentoring now, or certified) that rates every criterion of some
/// of the weakest areas SECURE or better.
pub struct StrongMentor(StrongSchool);

#[Object]
impl StrongMentor {
    async fn school(&self, ctx: &Context<'_>) -> Result<crate::school::School> {
        crate::school::graphql::school_by_id(ctx, self.0.school).await
    }
    /// The weakest areas it is strong in.
    async fn area_keys(&self) -> &[String] {
        &self.0.areas
    }
}

/// What the city should do next, on one day.
pub struct PartnershipFocus(Focus);

#[Object]
impl PartnershipFocus {
    /// The areas with the most schools below SECURE, most first.
    async fn weakest_areas(&self) -> Vec<WeakArea> {
        self.0
            .weakest
            .iter()
            .map(|w| WeakArea {
                area_key: w.key.clone(),
                area_name: w.name.clone(),
                schools_below: w.below as i32,
                schools_rated: w.rated as i32,
            })
            .collect()
    }
    /// The criteria most often rated NOT_YET, most first.
    async fn not_yet_criteria(&self) -> Vec<CriterionGap> {
        self.0
            .not_yet
            .iter()
            .map(|(code, n)| CriterionGap { code: code.clone(), schools: *n as i32 })
            .collect()
    }
    /// Schools that could pair with others or run training in those areas, the strongest first.
    async fn strong_mentors(&self) -> Vec<StrongMentor> {
        self.0.mentors.iter().cloned().map(StrongMentor).collect()
    }
}

/// `Partnership.focus`: the partnership's figures on `as_of`, read once, summed up.
pub async fn focus_of(
    ctx: &Context<'_>,
    partnership: Uuid,
    as_of: NaiveDate,
    first: usize,
) -> Result<PartnershipFocus> {
    let figures = load_one::<JourneyLoader, _>(ctx, FiguresOf(partnership, as_of)).await?.unwrap_or_default();
    Ok(PartnershipFocus(focus(&figures, first)))
}
