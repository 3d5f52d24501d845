//! Reading the facts of a partnership's schools, however many: the schools with their trust,
//! membership and AI policy; their trust and cohort spells; the cohorts; the journeys with their
//! stage changes; the journeys' plans; and the goals unless the caller read them with the
//! partnership. Framework versions come from the process-wide cache.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate};
use entity::{
    ai_policy, certification, certification_event as event, cohort, cohort_school, improvement_action,
    partnership, partnership_goal, partnership_school, school, school_trust_spell, trust,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable, JoinType,
    QueryFilter, QueryOrder, QueryResult,
    sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement, UnionType},
};
use uuid::Uuid;

use super::service::{Certificate, Facts, Journey, PlannedAction, SchoolFacts, Span, TrustSpell};
use crate::{
    certification::Stage,
    db::{any_of, members},
    error::ApiResult,
    framework::service as frameworks,
    partnership::goals,
};

/// Which of the partnership's schools to read.
#[derive(Clone, Copy, Debug)]
pub enum Slice {
    /// Every member school.
    All,
    /// At most `limit` of them, with URNs above `after` (for streaming).
    Page { after: Option<i32>, limit: u64 },
}

/// Selects every column of `E`, named `prefix` + column, for `FromQueryResult` with that prefix.
fn columns<E: EntityTrait + Default>(q: &mut SelectStatement, prefix: &str) {
    for c in E::Column::iter() {
        q.expr_as(Expr::col((E::default(), c)), Alias::new(format!("{prefix}{}", c.as_str())));
    }
}

/// Reads the facts of the partnership's member schools that count on some day: open ones, and
/// closed ones until their closing day.
/// `goals`: the partnership's goals, when the caller read them with the partnership; else they
/// are read here for a whole partnership (a page needs only the deadline in force).
pub async fn load(
    db: &impl ConnectionTrait,
    partnership: &partnership::Model,
    goals: Option<Vec<partnership_goal::Model>>,
    slice: Slice,
) -> ApiResult<Facts> {
    let backend = db.get_database_backend();
    let mut q = Query::select();
    columns::<school::Entity>(&mut q, "s_");
    q.expr_as(Expr::col((trust::Entity, trust::Column::Name)), Alias::new("trust_name"))
        .expr_as(
            Expr::col((partnership_school::Entity, partnership_school::Column::JoinedOn)),
            Alias::new("joined_on"),
        )
        .expr_as(
            Expr::col((partnership_school::Entity, partnership_school::Column::LeftOn)),
            Alias::new("left_on"),
        )
        .expr_as(
            Expr::col((partnership_school::Entity, partnership_school::Column::SucceedsId)),
            Alias::new("succeeds_id"),
        );
    columns::<ai_policy::Entity>(&mut q, "p_");
    q.from(school::Entity)
        .left_join(
            trust::Entity,
            Expr::col((trust::Entity, trust::Column::Id)).equals((school::Entity, school::Column::TrustId)),
        )
        .left_join(
            ai_policy::Entity,
            Expr::col((ai_policy::Entity, ai_policy::Column::SchoolId))
                .equals((school::Entity, school::Column::Id)),
        )
        .join(
            JoinType::LeftJoin,
            partnership_school::Entity,
            Condition::all()
                .add(
                    Expr::col((partnership_school::Entity, partnership_school::Column::SchoolId))
                        .equals((school::Entity, school::Column::Id)),
                )
                .add(
                    Expr::col((partnership_school::Entity, partnership_school::Column::PartnershipId))
                        .eq(partnership.id),
                ),
        )
        .and_where(members(backend, Expr::col((school::Entity, school::Column::Id)), partnership.id))
        // Open schools, and closed ones that counted until their closing date; a school closed
        // on no known date never counts.
        .cond_where(
            Condition::any()
                .add(Expr::col((school::Entity, school::Column::Open)).eq(true))
                .add(Expr::col((school::Entity, school::Column::ClosedOn)).is_not_null()),
        )
        // By `urn + 0`, an expression no index answers: a page's statement, once PostgreSQL plans
        // it generically (its LIMIT unknown), would otherwise walk the URN index across every
        // school in the country, 6 ms where sorting the members takes well under one.
        .order_by_expr(Expr::col((school::Entity, school::Column::Urn)).add(0), Order::Asc);
    if let Slice::Page { after, limit, .. } = slice {
        if let Some(after) = after {
            q.and_where(Expr::col((school::Entity, school::Column::Urn)).gt(after));
        }
        q.limit(limit);
    }
    let mut schools = Vec::new();
    for row in db.query_all(&q).await? {
        let school = school::Model::from_query_result(&row, "s_")?;
        let joined: Option<NaiveDate> = row.try_get("", "joined_on")?;
        let left: Option<NaiveDate> = row.try_get("", "left_on")?;
        schools.push(SchoolFacts {
            // In the partnership from joining (or opening) until leaving (or closing).
            counts: Span::new(joined.or(school.opened_on), left.or(school.closed_on)),
            school,
            trust_name: row.try_get("", "trust_name")?,
            cohorts: Vec::new(),
            trusts: Vec::new(),
            succeeds: row.try_get("", "succeeds_id")?,
            journeys: Vec::new(),
            policy: ai_policy::Model::from_query_result_optional(&row, "p_")?,
        });
    }
    let mut history = match (goals, slice) {
        (Some(goals), _) => goals,
        (None, Slice::All) => goals::of(db, partnership.id).await?,
        (None, Slice::Page { .. }) => Vec::new(),
    };
    if history.is_empty() {
        history.push(goals::first_goal(partnership));
    }
    let cohorts = cohort::Entity::find()
        .filter(cohort::Column::PartnershipId.eq(partnership.id))
        .order_by_asc(cohort::Column::Ordinal)
        .all(db)
        .await?;

    // A page is the members with URNs up to its last; the whole partnership, the members
    // themselves (journeys of closed members are read and dropped: fewer than a join over every
    // school would cost).
    let last = schools.last().map(|s| s.school.urn);
    let school_in = |column: Expr| match (slice, last) {
        (Slice::Page { after, .. }, Some(last)) => {
            let mut page = Query::select();
            page.column((school::Entity, school::Column::Id))
                .from(school::Entity)
                .and_where(members(backend, Expr::col((school::Entity, school::Column::Id)), partnership.id))
                .and_where(Expr::col((school::Entity, school::Column::Urn)).lte(last));
            if let Some(after) = after {
                page.and_where(Expr::col((school::Entity, school::Column::Urn)).gt(after));
            }
            any_of(backend, column, page)
        }
        _ => members(backend, column, partnership.id),
    };
    if !schools.is_empty() {
        read_spells(db, partnership.id, &school_in, &mut schools).await?;
    }
    let mut journeys = match partnership.default_framework.as_deref() {
        Some(slug) if !schools.is_empty() => {
            let in_scope = school_in(Expr::col((certification::Entity, certification::Column::SchoolId)));
            read_journeys(db, partnership, slug, in_scope).await?
        }
        _ => HashMap::new(),
    };
    share_journeys_along_successions(&schools, &mut journeys);
    for s in &mut schools {
        let mut mine = journeys.remove(&s.school.id).unwrap_or_default();
        mine.sort_by_key(|(id, j)| (j.enrolled_on(), *id));
        s.journeys = mine.into_iter().map(|(_, j)| j).collect();
    }
    Ok(Facts { partnership: partnership.clone(), goals: history, cohorts, schools })
}

/// The trusts (with their names) of the schools that changed trust and the cohorts of every
/// school, each spell with its days, in one statement: both have a school, an id and two dates.
/// Schools without trust spells were always in their current trust.
async fn read_spells(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    school_in: &impl Fn(Expr) -> Expr,
    schools: &mut [SchoolFacts],
) -> ApiResult<()> {
    use school_trust_spell::Column as T;
    let (cohort, trust) = (1, 2);
    let mut q = Query::select();
    q.expr_as(Expr::cust(cohort.to_string()), Alias::new("kind"))
        .expr_as(Expr::col(cohort_school::Column::SchoolId), Alias::new("school_id"))
        .expr_as(Expr::col(cohort_school::Column::CohortId), Alias::new("other_id"))
        .expr_as(Expr::col(cohort_school::Column::JoinedOn), Alias::new("from_on"))
        .expr_as(Expr::col(cohort_school::Column::LeftOn), Alias::new("until_on"))
        .expr_as(Expr::cust("NULL"), Alias::new("name"))
        .from(cohort_school::Entity)
        .and_where(Expr::col(cohort_school::Column::PartnershipId).eq(partnership))
        .and_where(school_in(Expr::col((cohort_school::Entity, cohort_school::Column::SchoolId))))
        .union(
            UnionType::All,
            Query::select()
                .expr(Expr::cust(trust.to_string()))
                .columns(
                    [T::SchoolId, T::TrustId, T::FromOn, T::UntilOn].map(|c| (school_trust_spell::Entity, c)),
                )
                .column((trust::Entity, trust::Column::Name))
                .from(school_trust_spell::Entity)
                .left_join(
                    trust::Entity,
                    Expr::col((trust::Entity, trust::Column::Id))
                        .equals((school_trust_spell::Entity, T::TrustId)),
                )
                .and_where(school_in(Expr::col((school_trust_spell::Entity, T::SchoolId))))
                .to_owned(),
        );
    let mut cohorts: HashMap<Uuid, Vec<(Uuid, Span)>> = HashMap::new();
    let mut trusts: HashMap<Uuid, Vec<TrustSpell>> = HashMap::new();
    for row in db.query_all(&q).await? {
        let kind: i32 = row.try_get("", "kind")?;
        let school: Uuid = row.try_get("", "school_id")?;
        let other: Option<Uuid> = row.try_get("", "other_id")?;
        let span = Span::new(row.try_get("", "from_on")?, row.try_get("", "until_on")?);
        match (kind == cohort, other) {
            (true, Some(c)) => cohorts.entry(school).or_default().push((c, span)),
            (true, None) => {}
            (false, trust) => {
                let name = row.try_get("", "name")?;
                trusts.entry(school).or_default().push(TrustSpell { trust, name, span })
            }
        }
    }
    for s in schools {
        s.cohorts = cohorts.remove(&s.school.id).unwrap_or_default();
        s.trusts = trusts.remove(&s.school.id).unwrap_or_default();
    }
    Ok(())
}

/// A school that carries on another's work (a conversion) has the other's journeys too, and
/// the other its: whichever of them counts on a day brings the one history.
fn share_journeys_along_successions(
    schools: &[SchoolFacts],
    journeys: &mut HashMap<Uuid, Vec<(Uuid, Journey)>>,
) {
    // Each chain's first school, for every school of the chain.
    let succeeds: HashMap<Uuid, Uuid> =
        schools.iter().filter_map(|s| Some((s.school.id, s.succeeds?))).collect();
    if succeeds.is_empty() {
        return;
    }
    let root = |mut id: Uuid| {
        for _ in 0..=succeeds.len() {
            match succeeds.get(&id) {
                Some(before) => id = *before,
                None => break,
            }
        }
        id
    };
    let mut chains: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for s in schools {
        chains.entry(root(s.school.id)).or_default().push(s.school.id);
    }
    for chain in chains.into_values().filter(|c| c.len() > 1) {
        let all: Vec<(Uuid, Journey)> =
            chain.iter().flat_map(|id| journeys.get(id).cloned().unwrap_or_default()).collect();
        for id in chain {
            journeys.insert(id, all.clone());
        }
    }
}

/// The journeys on the partnership's framework of the schools `in_scope` selects, by school,
/// each with its dated stage changes: one statement, a row per stage change.
async fn read_journeys(
    db: &impl ConnectionTrait,
    partnership: &partnership::Model,
    slug: &str,
    in_scope: Expr,
) -> ApiResult<HashMap<Uuid, Vec<(Uuid, Journey)>>> {
    let mut q = Query::select();
    columns::<certification::Entity>(&mut q, "c_");
    q.expr_as(Expr::col((event::Entity, event::Column::ToStage)), Alias::new("e_to_stage"))
        .expr_as(Expr::col((event::Entity, event::Column::At)), Alias::new("e_at"))
        .from(certification::Entity)
        .left_join(
            event::Entity,
            Expr::col((event::Entity, event::Column::CertificationId))
                .equals((certification::Entity, certification::Column::Id)),
        )
        .and_where(Expr::col((certification::Entity, certification::Column::FrameworkSlug)).eq(slug))
        .and_where(in_scope)
        .order_by((certification::Entity, certification::Column::Id), Order::Asc)
        .order_by((event::Entity, event::Column::Version), Order::Asc);
    let mut rows: Vec<(certification::Model, Vec<(NaiveDate, Stage)>)> = Vec::new();
    for row in db.query_all(&q).await? {
        let id: Uuid = row.try_get("", "c_id")?;
        if rows.last().is_none_or(|(c, _)| c.id != id) {
            rows.push((certification::Model::from_query_result(&row, "c_")?, Vec::new()));
        }
        if let Some(change) = change(&row)?
            && let Some((_, changes)) = rows.last_mut()
        {
            changes.push(change);
        }
    }

    let mut versions: Vec<Uuid> = rows.iter().map(|(r, _)| r.framework_id).collect();
    versions.sort();
    versions.dedup();
    let data = frameworks::known(db, versions).await?;
    // The required level's rank, from the newest version (ranks are comparable across versions).
    let min_rank = match partnership.required_level.as_deref() {
        Some(key) => data
            .iter()
            .max_by_key(|d| d.framework.version)
            .and_then(|d| d.level_by_key(key))
            .map_or(1, |l| l.rank),
        None => 1,
    };
    let mut actions = read_actions(db, rows.iter().map(|(r, _)| r.id).collect()).await?;
    let mut journeys: HashMap<Uuid, Vec<(Uuid, Journey)>> = HashMap::new();
    for (row, changes) in rows {
        let certificate = match (row.awarded_on, row.expires_on, row.awarded_level_id) {
            (Some(awarded_on), Some(expires_on), Some(level))
                if Stage::from_db(&row.stage) == Stage::Certified =>
            {
                let level =
                    data.iter().find(|d| d.framework.id == row.framework_id).and_then(|d| d.level(level));
                Some(Certificate {
                    awarded_on,
                    expires_on,
                    level: level.map(|l| l.name.clone()).unwrap_or_default(),
                    counts: level.is_some_and(|l| l.rank >= min_rank),
                })
            }
            _ => None,
        };
        let actions = actions.remove(&row.id).unwrap_or_default();
        journeys.entry(row.school_id).or_default().push((row.id, Journey { changes, certificate, actions }));
    }
    Ok(journeys)
}

/// The plans of `journeys`, by journey: one statement (none without journeys).
async fn read_actions(
    db: &impl ConnectionTrait,
    journeys: Vec<Uuid>,
) -> ApiResult<HashMap<Uuid, Vec<PlannedAction>>> {
    let mut out: HashMap<Uuid, Vec<PlannedAction>> = HashMap::new();
    if journeys.is_empty() {
        return Ok(out);
    }
    let rows = improvement_action::Entity::find()
        .filter(improvement_action::Column::CertificationId.is_in(journeys))
        .all(db)
        .await?;
    for a in rows {
        let closed = !crate::plan::ActionStatus::from_db(&a.status).is_open();
        out.entry(a.certification_id).or_default().push(PlannedAction {
            added_on: a.created_at.to_utc().date_naive(),
            due_on: a.due_on,
            closed_on: closed.then(|| a.updated_at.to_utc().date_naive()),
        });
    }
    Ok(out)
}

/// The stage change a joined row holds; None for a journey without any.
fn change(row: &QueryResult) -> ApiResult<Option<(NaiveDate, Stage)>> {
    let stage: Option<String> = row.try_get("", "e_to_stage")?;
    let at: Option<DateTime<FixedOffset>> = row.try_get("", "e_at")?;
    Ok(stage.zip(at).map(|(stage, at)| (at.to_utc().date_naive(), Stage::from_db(&stage))))
}
