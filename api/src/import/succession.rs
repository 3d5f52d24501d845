//! GIAS links applied to one partnership, inside the import's transaction. A one-to-one
//! succession (a conversion) whose successor is open hands the successor, on the link's date,
//! the predecessor's membership, cohort, mentoring pairings, open journey, valid certificate
//! and AI policy; the audit log says so. Amalgamations and splits are recorded for the city
//! admin and never applied; a succession whose successor is not open yet waits for an import
//! that finds it open. A link seen before is not applied twice.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::{
    ai_policy, certification, cohort_school, mentorship_pairing as pairing, partnership_school, school,
    school_link,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, JoinType,
    QueryFilter, QuerySelect, RelationTrait, Set,
};
use uuid::Uuid;

use super::{
    links::{GiasLink, LinkKind},
    report::{ChangeKind, ImportReport, LinkReport, LinkStatus},
};
use crate::{
    audit::{self, Who},
    certification::Stage,
    error::ApiResult,
    mentorship::service::{ACTIVE, ENDED},
    scalars::Date,
};

/// Records the links of `links` whose predecessor is a member of `partnership`, and applies
/// the one-to-one successions whose successor is open. `as_of`: the day a link without dates
/// takes effect.
pub async fn apply(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    framework: Option<&str>,
    links: &[GiasLink],
    as_of: NaiveDate,
    who: &Who,
    report: &mut ImportReport,
) -> ApiResult<()> {
    // The partnership's members among the predecessors first: a national extract links
    // thousands of schools the partnership never held. Then the successors of those.
    let member_predecessors = |chunk: Vec<i32>| {
        school::Entity::find()
            .join(JoinType::InnerJoin, school::Relation::PartnershipSchool.def())
            .filter(partnership_school::Column::PartnershipId.eq(partnership))
            .filter(school::Column::Urn.is_in(chunk))
            .all(db)
    };
    let members = by_urn(links.iter().map(|l| l.predecessor), member_predecessors).await?;
    let successors = links.iter().filter(|l| members.contains_key(&l.predecessor)).map(|l| l.successor);
    let found =
        by_urn(successors, |chunk| school::Entity::find().filter(school::Column::Urn.is_in(chunk)).all(db))
            .await?;
    let known: HashMap<(i32, i32), school_link::Model> = school_link::Entity::find()
        .filter(school_link::Column::PartnershipId.eq(partnership))
        .all(db)
        .await?
        .into_iter()
        .map(|l| ((l.predecessor_urn, l.successor_urn), l))
        .collect();
    let count = |f: &dyn Fn(&GiasLink) -> bool| links.iter().filter(|l| f(l)).count();

    for link in links {
        let Some(before) = members.get(&link.predecessor) else { continue };
        let after = found.get(&link.successor);
        // One to one, or not: several predecessors make an amalgamation, several successors a split.
        let kind = match link.kind {
            LinkKind::Succession if count(&|l| l.successor == link.successor) > 1 => LinkKind::Amalgamation,
            LinkKind::Succession if count(&|l| l.predecessor == link.predecessor) > 1 => LinkKind::Split,
            kind => kind,
        };
        let established_on = link.established_on.or(after.and_then(|s| s.opened_on));
        let status = match (kind, after) {
            (LinkKind::Succession, Some(after)) if after.open => LinkStatus::Applied,
            (LinkKind::Succession, _) => LinkStatus::Waiting,
            _ => LinkStatus::Reported,
        };
        let seen = known.get(&(link.predecessor, link.successor));
        // A city admin's decision stands: no import changes it.
        if let Some(decided) = seen.filter(|s| LinkStatus::from_db(&s.status).decided()) {
            report.links.push(LinkReport::from(decided));
            continue;
        }
        let changed = seen.is_none_or(|s| s.status != status.as_db() || s.kind != kind.as_db());
        if changed {
            if status == LinkStatus::Applied
                && let Some(after) = after
            {
                let day = established_on.unwrap_or(as_of);
                let partners = succeed(db, partnership, framework, before, after, day).await?;
                report.change(after.urn, ChangeKind::Converted, format!("carries on from {}", before.urn));
                report.change(before.urn, ChangeKind::Left, format!("carried on by {}", after.urn));
                for partner in
                    school::Entity::find().filter(school::Column::Id.is_in(partners)).all(db).await?
                {
                    let detail = format!("mentoring goes on with {} instead of {}", after.urn, before.urn);
                    report.change(partner.urn, ChangeKind::PairingMoved, detail);
                }
                let summary = format!(
                    "school {} ({}) carries on from {} ({}) from {day} (GIAS succession)",
                    after.urn, after.name, before.urn, before.name
                );
                audit::record(db, partnership, who, "school.succeeded", summary).await?;
            }
            record(db, partnership, link, kind, established_on, status, seen).await?;
        }
        report.links.push(LinkReport {
            predecessor_urn: link.predecessor,
            successor_urn: link.successor,
            kind: kind.into(),
            established_on: established_on.map(Date),
            status,
            changed,
        });
    }
    Ok(())
}

/// The schools `find` returns for the URNs, a chunk of distinct URNs at a time, by URN.
async fn by_urn<F, Fut>(urns: impl Iterator<Item = i32>, find: F) -> ApiResult<HashMap<i32, school::Model>>
where
    F: Fn(Vec<i32>) -> Fut,
    Fut: Future<Output = Result<Vec<school::Model>, sea_orm::DbErr>>,
{
    let mut urns: Vec<i32> = urns.collect();
    urns.sort_unstable();
    urns.dedup();
    let mut out = HashMap::new();
    for chunk in urns.chunks(super::service::CHUNK) {
        out.extend(find(chunk.to_vec()).await?.into_iter().map(|s| (s.urn, s)));
    }
    Ok(out)
}

async fn record(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    link: &GiasLink,
    kind: LinkKind,
    established_on: Option<NaiveDate>,
    status: LinkStatus,
    seen: Option<&school_link::Model>,
) -> ApiResult<()> {
    let now = chrono::Utc::now().fixed_offset();
    let applied_at = (status == LinkStatus::Applied).then_some(now);
    match seen {
        Some(row) => {
            let mut row = row.clone().into_active_model();
            row.kind = Set(kind.as_db().to_owned());
            row.status = Set(status.as_db().to_owned());
            row.established_on = Set(established_on);
            row.seen_at = Set(now);
            row.applied_at = Set(applied_at);
            row.update(db).await?;
        }
        None => {
            school_link::ActiveModel {
                id: Set(Uuid::new_v4()),
                partnership_id: Set(partnership),
                predecessor_urn: Set(link.predecessor),
                successor_urn: Set(link.successor),
                kind: Set(kind.as_db().to_owned()),
                established_on: Set(established_on),
                status: Set(status.as_db().to_owned()),
                seen_at: Set(now),
                applied_at: Set(applied_at),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// `after` carries on `before`'s work in the partnership from `day`. Returns the schools on
/// the other side of the pairings that moved.
pub(super) async fn succeed(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    framework: Option<&str>,
    before: &school::Model,
    after: &school::Model,
    day: NaiveDate,
) -> ApiResult<Vec<Uuid>> {
    // Membership: the predecessor leaves on the day, the successor joins on it.
    let membership = |school: Uuid| partnership_school::Entity::find_by_id((partnership, school)).one(db);
    if let Some(m) = membership(before.id).await? {
        let mut m = m.into_active_model();
        m.left_on = Set(Some(day));
        m.update(db).await?;
    }
    match membership(after.id).await? {
        Some(m) => {
            let mut m = m.into_active_model();
            m.joined_on = Set(Some(day));
            m.succeeds_id = Set(Some(before.id));
            m.update(db).await?;
        }
        None => {
            partnership_school::ActiveModel {
                partnership_id: Set(partnership),
                school_id: Set(after.id),
                joined_on: Set(Some(day)),
                left_on: Set(None),
                succeeds_id: Set(Some(before.id)),
            }
            .insert(db)
            .await?;
        }
    }

    // Cohort: the successor takes the predecessor's place from the day.
    let cohort_of = |school: Uuid| {
        cohort_school::Entity::find()
            .filter(cohort_school::Column::PartnershipId.eq(partnership))
            .filter(cohort_school::Column::SchoolId.eq(school))
            .one(db)
    };
    if let Some(row) = cohort_of(before.id).await?
        && cohort_of(after.id).await?.is_none()
    {
        let cohort = row.cohort_id;
        let mut row = row.into_active_model();
        row.left_on = Set(Some(day));
        row.update(db).await?;
        cohort_school::ActiveModel {
            cohort_id: Set(cohort),
            school_id: Set(after.id),
            partnership_id: Set(partnership),
            joined_on: Set(Some(day)),
            left_on: Set(None),
        }
        .insert(db)
        .await?;
    }

    // Mentoring: each active pairing ends on the day and goes on with the successor.
    let pairings = pairing::Entity::find()
        .filter(pairing::Column::PartnershipId.eq(partnership))
        .filter(pairing::Column::Status.eq(ACTIVE))
        .filter(
            Condition::any()
                .add(pairing::Column::MentorSchoolId.eq(before.id))
                .add(pairing::Column::MenteeSchoolId.eq(before.id)),
        )
        .all(db)
        .await?;
    let mut partners = Vec::new();
    for p in pairings {
        partners.push(if p.mentor_school_id == before.id { p.mentee_school_id } else { p.mentor_school_id });
        let swap = |id: Uuid| if id == before.id { after.id } else { id };
        let (mentor, mentee, cohort) = (swap(p.mentor_school_id), swap(p.mentee_school_id), p.cohort_id);
        let mut ended = p.into_active_model();
        ended.ended_on = Set(Some(day));
        ended.status = Set(ENDED.to_owned());
        ended.update(db).await?;
        pairing::ActiveModel {
            id: Set(Uuid::new_v4()),
            partnership_id: Set(partnership),
            cohort_id: Set(cohort),
            mentor_school_id: Set(mentor),
            mentee_school_id: Set(mentee),
            started_on: Set(day),
            ended_on: Set(None),
            status: Set(ACTIVE.to_owned()),
        }
        .insert(db)
        .await?;
    }

    // The open journey and a valid certificate move to the successor, unless it has an open
    // journey of its own (two open journeys of one school are not allowed).
    if let Some(slug) = framework {
        let journeys = |school: Uuid| {
            certification::Entity::find()
                .filter(certification::Column::SchoolId.eq(school))
                .filter(certification::Column::FrameworkSlug.eq(slug))
                .all(db)
        };
        let open = |c: &certification::Model| !Stage::from_db(&c.stage).is_closed();
        let successor_open = journeys(after.id).await?.iter().any(open);
        for c in journeys(before.id).await? {
            let valid = Stage::from_db(&c.stage) == Stage::Certified && c.expires_on.is_some_and(|e| e > day);
            if valid || (open(&c) && !successor_open) {
                let mut c = c.into_active_model();
                c.school_id = Set(after.id);
                c.update(db).await?;
            }
        }
    }

    // The AI policy, unless the successor has recorded its own.
    if let Some(policy) = ai_policy::Entity::find_by_id(before.id).one(db).await?
        && ai_policy::Entity::find_by_id(after.id).one(db).await?.is_none()
    {
        let mut copy = policy.into_active_model().reset_all();
        copy.school_id = Set(after.id);
        copy.insert(db).await?;
    }
    Ok(partners)
}
