//! Applying an import: all rows in one transaction, upserting by URN and group UID, so a
//! second run of the same file changes nothing.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use entity::{
    local_authority, partnership, partnership_school, school, school_link, school_trust_spell, trust,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set,
};
use uuid::Uuid;

use super::{
    decide,
    gias::{self, GiasSchool},
    links,
    report::{ChangeKind, ImportReport, LinkStatus},
    succession,
};
use crate::{
    access::{self, Holding},
    audit,
    auth::Actor,
    error::{ApiError, ApiResult, RowError},
};

/// Rows per multi-row INSERT or IN list: well under SQLite's and PostgreSQL's parameter limits.
pub const CHUNK: usize = 1000;

/// One GIAS download to import: the establishments extract, perhaps the links extract, and
/// the day it describes (trust moves, and links GIAS gives no date, take effect on it;
/// default today).
#[derive(Clone, Copy, Debug, Default)]
pub struct Extract<'a> {
    pub schools: &'a str,
    pub links: Option<&'a str>,
    pub as_of: Option<NaiveDate>,
    /// Report what applying would change, and write nothing.
    pub dry_run: bool,
}

impl<'a> Extract<'a> {
    /// The establishments alone, as of today.
    pub fn schools(schools: &'a str) -> Self {
        Self { schools, ..Self::default() }
    }
}

#[derive(Clone, Debug)]
pub struct ImportService {
    db: DatabaseConnection,
}

impl ImportService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A city admin's import into its own partnership. Rows held by other partnerships are
    /// refused, and shared rows keep their GIAS fields (`access::Holding`).
    pub async fn import(
        &self,
        actor: &Actor,
        extract: Extract<'_>,
        la_codes: &[String],
    ) -> ApiResult<ImportReport> {
        let partnership = actor.admin_of()?;
        self.import_into(partnership, extract, la_codes, Acting::Admin(audit::Who::from(actor))).await
    }

    /// The GIAS links the caller's partnership's imports recorded (`decide::links`).
    pub async fn links(
        &self,
        actor: &Actor,
        status: Option<LinkStatus>,
    ) -> ApiResult<Vec<school_link::Model>> {
        decide::links(&self.db, actor, status).await
    }

    /// A city admin's decision on a reported link (`decide::decide`).
    pub async fn decide(
        &self,
        actor: &Actor,
        predecessor: i32,
        successor: i32,
        carry_on: bool,
    ) -> ApiResult<school_link::Model> {
        decide::decide(&self.db, actor, predecessor, successor, carry_on).await
    }

    /// Imports into the partnership with `slug` (the CLI's way in). With no `la_codes`, keeps
    /// the rows of the partnership's own LA codes.
    pub async fn import_by_slug(
        &self,
        slug: &str,
        extract: Extract<'_>,
        la_codes: &[String],
    ) -> ApiResult<ImportReport> {
        let p = partnership::Entity::find()
            .filter(partnership::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("partnership {slug:?}")))?;
        // No LA named: the partnership's own LAs (every LA when it names none).
        let own = crate::partnership::service::la_codes_of(&p);
        let la_codes = if la_codes.is_empty() { own.as_slice() } else { la_codes };
        self.import_into(p.id, extract, la_codes, Acting::Operator).await
    }

    pub async fn import_into(
        &self,
        partnership: Uuid,
        extract: Extract<'_>,
        la_codes: &[String],
        acting: Acting,
    ) -> ApiResult<ImportReport> {
        let parsed = gias::parse(extract.schools, la_codes)?;
        let links = extract.links.map(links::parse).transpose()?.unwrap_or_default();
        let as_of = extract.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
        let mut report = ImportReport {
            rows: parsed.rows.len() as u64 + parsed.skipped,
            skipped: parsed.skipped,
            ..Default::default()
        };
        let txn = crate::db::begin_write(&self.db).await?;
        let frozen = match acting {
            Acting::Operator => Frozen::default(),
            Acting::Admin(_) => tenancy_check(&txn, partnership, &parsed.rows).await?,
        };
        let las = upsert_las(&txn, &parsed.rows, &frozen, &mut report).await?;
        let trusts = upsert_trusts(&txn, &parsed.rows, &frozen, &mut report).await?;
        let members = upsert_schools(&txn, &parsed.rows, &las, &trusts, &frozen, as_of, &mut report).await?;
        add_members(&txn, partnership, &members, as_of, &mut report).await?;
        let p = partnership::Entity::find_by_id(partnership).one(&txn).await?;
        let framework = p.and_then(|p| p.default_framework);
        let who = match &acting {
            Acting::Operator => audit::Who::operator(),
            Acting::Admin(who) => who.clone(),
        };
        succession::apply(&txn, partnership, framework.as_deref(), &links, as_of, &who, &mut report).await?;
        report.changes.sort_by_key(|c| (c.urn, c.kind));
        if extract.dry_run {
            // Everything ran as it would; none of it is kept.
            txn.rollback().await?;
            tracing::info!(?report, "import dry run");
            return Ok(report);
        }
        report.applied = true;
        txn.commit().await?;
        if report.schools_created > 0 {
            // A bulk insert leaves the planner's statistics stale.
            crate::db::analyze(&self.db, &["local_authority", "trust", "school", "partnership_school"]).await;
        }
        tracing::info!(?report, "import applied");
        Ok(report)
    }
}

/// Who runs an import: the operator (the command line) mirrors GIAS and may change any row; a
/// city admin only rows its partnership alone holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acting {
    Operator,
    Admin(audit::Who),
}

/// Rows an import uses but must not change: shared with another partnership, or (LAs) any
/// that exists when a city admin imports.
#[derive(Debug, Default)]
struct Frozen {
    schools: HashSet<i32>,
    trusts: HashSet<String>,
    local_authorities: bool,
}

/// A city admin's import: refuses, as bad rows, schools and trusts that only other
/// partnerships hold, and freezes the GIAS fields of those shared with another partnership.
async fn tenancy_check(db: &impl ConnectionTrait, mine: Uuid, rows: &[GiasSchool]) -> ApiResult<Frozen> {
    let mut frozen = Frozen { local_authorities: true, ..Default::default() };
    let urns: Vec<i32> = rows.iter().map(|r| r.urn).collect();
    let mut schools: HashMap<i32, Uuid> = HashMap::new();
    for chunk in urns.chunks(CHUNK) {
        let found: Vec<(i32, Uuid)> = school::Entity::find()
            .select_only()
            .column(school::Column::Urn)
            .column(school::Column::Id)
            .filter(school::Column::Urn.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        schools.extend(found);
    }
    let uids: Vec<&str> = rows.iter().filter_map(|r| r.trust.as_ref().map(|t| t.0.as_str())).collect();
    let mut trusts: HashMap<String, Uuid> = HashMap::new();
    for chunk in uids.chunks(CHUNK) {
        let found: Vec<(String, Uuid)> = trust::Entity::find()
            .select_only()
            .column(trust::Column::GroupUid)
            .column(trust::Column::Id)
            .filter(trust::Column::GroupUid.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        trusts.extend(found);
    }
    let school_ids: Vec<Uuid> = schools.values().copied().collect();
    let trust_ids: Vec<Uuid> = trusts.values().copied().collect();
    let school_holders = access::school_holders(db, &school_ids).await?;
    let trust_holders = access::trust_holders(db, &trust_ids).await?;
    let mut bad = Vec::new();
    for r in rows {
        if let Some(id) = schools.get(&r.urn) {
            match Holding::of(school_holders.get(id), mine) {
                Holding::Own => {}
                Holding::Shared => _ = frozen.schools.insert(r.urn),
                Holding::Foreign => bad.push(RowError {
                    line: r.line,
                    column: Some("URN".into()),
                    message: format!(
                        "school {} belongs to another partnership; it joins yours only through the operator",
                        r.urn
                    ),
                }),
            }
        }
        if let Some((uid, _)) = &r.trust
            && let Some(id) = trusts.get(uid)
        {
            match Holding::of(trust_holders.get(id), mine) {
                Holding::Own => {}
                Holding::Shared => _ = frozen.trusts.insert(uid.clone()),
                Holding::Foreign => bad.push(RowError {
                    line: r.line,
                    column: Some("Trusts (code)".into()),
                    message: format!(
                        "trust {uid} belongs to another partnership; its schools join yours only through the operator"
                    ),
                }),
            }
        }
    }
    if bad.is_empty() { Ok(frozen) } else { Err(ApiError::BadRows(bad)) }
}

async fn upsert_las(
    db: &impl ConnectionTrait,
    rows: &[GiasSchool],
    frozen: &Frozen,
    report: &mut ImportReport,
) -> ApiResult<HashMap<String, Uuid>> {
    let wanted: HashMap<&str, &str> = rows.iter().map(|r| (r.la_code.as_str(), r.la_name.as_str())).collect();
    let mut known = HashMap::new();
    let codes: Vec<&str> = wanted.keys().copied().collect();
    for chunk in codes.chunks(CHUNK) {
        for la in local_authority::Entity::find()
            .filter(local_authority::Column::Code.is_in(chunk.iter().copied()))
            .all(db)
            .await?
        {
            if !frozen.local_authorities && wanted.get(la.code.as_str()).is_some_and(|n| *n != la.name) {
                let mut row: local_authority::ActiveModel = la.clone().into();
                row.name = Set(wanted[la.code.as_str()].to_owned());
                row.update(db).await?;
            }
            known.insert(la.code, la.id);
        }
    }
    let missing: Vec<(&str, &str)> =
        wanted.into_iter().filter(|(code, _)| !known.contains_key(*code)).collect();
    let new: Vec<local_authority::ActiveModel> = missing
        .into_iter()
        .map(|(code, name)| {
            let id = Uuid::new_v4();
            known.insert(code.to_owned(), id);
            local_authority::ActiveModel {
                id: Set(id),
                code: Set(code.to_owned()),
                name: Set(name.to_owned()),
            }
        })
        .collect();
    report.local_authorities_created = new.len() as u64;
    insert_chunks(db, new).await?;
    Ok(known)
}

async fn upsert_trusts(
    db: &impl ConnectionTrait,
    rows: &[GiasSchool],
    frozen: &Frozen,
    report: &mut ImportReport,
) -> ApiResult<HashMap<String, Uuid>> {
    let wanted: HashMap<&str, &str> = rows
        .iter()
        .filter_map(|r| r.trust.as_ref())
        .map(|(uid, name)| (uid.as_str(), name.as_str()))
        .collect();
    let mut known = HashMap::new();
    let uids: Vec<&str> = wanted.keys().copied().collect();
    for chunk in uids.chunks(CHUNK) {
        for t in
            trust::Entity::find().filter(trust::Column::GroupUid.is_in(chunk.iter().copied())).all(db).await?
        {
            if !frozen.trusts.contains(&t.group_uid)
                && wanted.get(t.group_uid.as_str()).is_some_and(|n| *n != t.name)
            {
                let mut row: trust::ActiveModel = t.clone().into();
                row.name = Set(wanted[t.group_uid.as_str()].to_owned());
                row.update(db).await?;
                report.trusts_updated += 1;
            }
            known.insert(t.group_uid, t.id);
        }
    }
    let missing: Vec<(&str, &str)> =
        wanted.into_iter().filter(|(uid, _)| !known.contains_key(*uid)).collect();
    let new: Vec<trust::ActiveModel> = missing
        .into_iter()
        .map(|(uid, name)| {
            let id = Uuid::new_v4();
            known.insert(uid.to_owned(), id);
            trust::ActiveModel {
                id: Set(id),
                name: Set(name.to_owned()),
                group_uid: Set(uid.to_owned()),
                companies_house_number: Set(None),
                created_by_partnership_id: Set(None),
            }
        })
        .collect();
    report.trusts_created = new.len() as u64;
    insert_chunks(db, new).await?;
    Ok(known)
}

/// Inserts new schools and updates changed ones; returns the ids of the open ones, which
/// belong to the partnership.
async fn upsert_schools(
    db: &impl ConnectionTrait,
    rows: &[GiasSchool],
    las: &HashMap<String, Uuid>,
    trusts: &HashMap<String, Uuid>,
    frozen: &Frozen,
    as_of: NaiveDate,
    report: &mut ImportReport,
) -> ApiResult<Vec<Uuid>> {
    let mut existing: HashMap<i32, school::Model> = HashMap::new();
    let urns: Vec<i32> = rows.iter().map(|r| r.urn).collect();
    for chunk in urns.chunks(CHUNK) {
        for s in
            school::Entity::find().filter(school::Column::Urn.is_in(chunk.iter().copied())).all(db).await?
        {
            existing.insert(s.urn, s);
        }
    }
    let mut members = Vec::new();
    let mut new = Vec::new();
    for r in rows {
        let wanted = school::Model {
            id: existing.get(&r.urn).map_or_else(Uuid::new_v4, |s| s.id),
            urn: r.urn,
            name: r.name.clone(),
            phase: r.phase.as_db().to_owned(),
            establishment_type: r.establishment_type.clone(),
            local_authority_id: las[&r.la_code],
            trust_id: r.trust.as_ref().map(|(uid, _)| trusts[uid]),
            postcode: r.postcode.clone(),
            open: r.open,
            opened_on: r.opened_on,
            closed_on: r.closed_on,
        };
        match existing.get(&r.urn) {
            Some(current) if *current == wanted || frozen.schools.contains(&r.urn) => {
                report.schools_unchanged += 1
            }
            Some(current) => {
                describe(current, &wanted, report);
                if current.trust_id != wanted.trust_id {
                    move_trust(db, current, wanted.trust_id, as_of).await?;
                    report.trust_moves += 1;
                }
                school::ActiveModel::from(wanted.clone()).reset_all().update(db).await?;
                report.schools_updated += 1;
            }
            // A closed school we never held is not worth adding.
            None if !r.open => {
                report.skipped += 1;
                continue;
            }
            None => {
                new.push(school::ActiveModel::from(wanted.clone()));
                report.schools_created += 1;
                report.change(wanted.urn, ChangeKind::New, wanted.name.clone());
            }
        }
        if wanted.open {
            members.push(wanted.id);
        }
    }
    insert_chunks(db, new).await?;
    Ok(members)
}

/// Reports how `wanted` differs from `current`, field by field.
fn describe(current: &school::Model, wanted: &school::Model, report: &mut ImportReport) {
    let urn = current.urn;
    match (current.open, wanted.open) {
        (true, false) => report.change(
            urn,
            ChangeKind::Closed,
            wanted.closed_on.map_or_else(String::new, |d| d.to_string()),
        ),
        (false, true) => report.change(urn, ChangeKind::Reopened, ""),
        _ => {}
    }
    if current.name != wanted.name {
        report.change(urn, ChangeKind::Renamed, format!("{} -> {}", current.name, wanted.name));
    }
    if current.trust_id != wanted.trust_id {
        report.change(urn, ChangeKind::MovedTrust, "");
    }
    // A closing date comes with the closure (reported above).
    let (a, b) = (current, wanted);
    let closed_on = |s: &school::Model| if a.open == b.open { s.closed_on } else { None };
    if (&a.establishment_type, &a.phase, a.local_authority_id, &a.postcode, a.opened_on, closed_on(a))
        != (&b.establishment_type, &b.phase, b.local_authority_id, &b.postcode, b.opened_on, closed_on(b))
    {
        report.change(urn, ChangeKind::Updated, "");
    }
}

/// Records that `school` left its trust for `trust` (None: none) on `day`: closes its open
/// spell, writing the one it had always been in first when it has none.
async fn move_trust(
    db: &impl ConnectionTrait,
    school: &school::Model,
    trust: Option<Uuid>,
    day: NaiveDate,
) -> ApiResult<()> {
    let spells = school_trust_spell::Entity::find()
        .filter(school_trust_spell::Column::SchoolId.eq(school.id))
        .filter(school_trust_spell::Column::UntilOn.is_null())
        .all(db)
        .await?;
    let spell = |trust: Option<Uuid>, from_on: Option<NaiveDate>, until_on: Option<NaiveDate>| {
        school_trust_spell::ActiveModel {
            id: Set(Uuid::new_v4()),
            school_id: Set(school.id),
            trust_id: Set(trust),
            from_on: Set(from_on),
            until_on: Set(until_on),
        }
    };
    if spells.is_empty() {
        spell(school.trust_id, None, Some(day)).insert(db).await?;
    }
    for open in spells {
        let mut open: school_trust_spell::ActiveModel = open.into();
        open.until_on = Set(Some(day));
        open.update(db).await?;
    }
    spell(trust, Some(day), None).insert(db).await?;
    Ok(())
}

/// Adds the open schools not yet members. Into a partnership with members already, they join
/// on `day`; the first import's schools were members from the start.
async fn add_members(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    schools: &[Uuid],
    day: NaiveDate,
    report: &mut ImportReport,
) -> ApiResult<()> {
    let first = partnership_school::Entity::find()
        .filter(partnership_school::Column::PartnershipId.eq(partnership))
        .one(db)
        .await?
        .is_none();
    let mut already = HashSet::new();
    for chunk in schools.chunks(CHUNK) {
        let rows = partnership_school::Entity::find()
            .filter(partnership_school::Column::PartnershipId.eq(partnership))
            .filter(partnership_school::Column::SchoolId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        already.extend(rows.into_iter().map(|r| r.school_id));
    }
    let new: Vec<_> = schools
        .iter()
        .filter(|id| !already.contains(*id))
        .map(|id| partnership_school::ActiveModel {
            partnership_id: Set(partnership),
            school_id: Set(*id),
            joined_on: Set((!first).then_some(day)),
            left_on: Set(None),
            succeeds_id: Set(None),
        })
        .collect();
    report.members_added = new.len() as u64;
    let joined: Vec<Uuid> = new.iter().filter_map(|m| m.school_id.clone().take()).collect();
    for chunk in joined.chunks(CHUNK) {
        let rows = school::Entity::find().filter(school::Column::Id.is_in(chunk.to_vec())).all(db).await?;
        for s in rows {
            report.change(s.urn, ChangeKind::Joined, s.name);
        }
    }
    insert_chunks(db, new).await
}

/// Multi-row INSERTs of at most CHUNK rows each.
pub async fn insert_chunks<A>(db: &impl ConnectionTrait, rows: Vec<A>) -> ApiResult<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(CHUNK).collect();
        <A::Entity as EntityTrait>::insert_many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}
