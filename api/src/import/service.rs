//! Applying an import: all rows in one transaction, upserting by URN and group UID, so a
//! second run of the same file changes nothing.

use std::collections::{HashMap, HashSet};

use entity::{local_authority, partnership, partnership_school, school, trust};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::gias::{self, GiasSchool};
use crate::{
    auth::Actor,
    error::{ApiError, ApiResult},
};

/// Rows per multi-row INSERT or IN list: well under SQLite's and PostgreSQL's parameter limits.
pub const CHUNK: usize = 1000;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, async_graphql::SimpleObject)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows passed over: outside the LA filter, not state-funded, or closed and never imported.
    pub skipped: u64,
    pub schools_created: u64,
    pub schools_updated: u64,
    pub schools_unchanged: u64,
    pub trusts_created: u64,
    pub trusts_updated: u64,
    pub local_authorities_created: u64,
    /// Schools that joined the partnership with this import.
    pub members_added: u64,
}

#[derive(Clone, Debug)]
pub struct ImportService {
    db: DatabaseConnection,
}

impl ImportService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A city admin's import into its own partnership.
    pub async fn import(&self, actor: &Actor, text: &str, la_codes: &[String]) -> ApiResult<ImportReport> {
        let partnership = actor.admin_of()?;
        self.import_into(partnership, text, la_codes).await
    }

    /// Imports into the partnership with `slug` (the CLI's way in).
    pub async fn import_by_slug(
        &self,
        slug: &str,
        text: &str,
        la_codes: &[String],
    ) -> ApiResult<ImportReport> {
        let p = partnership::Entity::find()
            .filter(partnership::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("partnership {slug:?}")))?;
        self.import_into(p.id, text, la_codes).await
    }

    pub async fn import_into(
        &self,
        partnership: Uuid,
        text: &str,
        la_codes: &[String],
    ) -> ApiResult<ImportReport> {
        let parsed = gias::parse(text, la_codes)?;
        let mut report = ImportReport {
            rows: parsed.rows.len() as u64 + parsed.skipped,
            skipped: parsed.skipped,
            ..Default::default()
        };
        let txn = crate::db::begin_write(&self.db).await?;
        let las = upsert_las(&txn, &parsed.rows, &mut report).await?;
        let trusts = upsert_trusts(&txn, &parsed.rows, &mut report).await?;
        let members = upsert_schools(&txn, &parsed.rows, &las, &trusts, &mut report).await?;
        add_members(&txn, partnership, &members, &mut report).await?;
        txn.commit().await?;
        tracing::info!(?report, "import applied");
        Ok(report)
    }
}

async fn upsert_las(
    db: &impl ConnectionTrait,
    rows: &[GiasSchool],
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
            if wanted.get(la.code.as_str()).is_some_and(|n| *n != la.name) {
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
            if wanted.get(t.group_uid.as_str()).is_some_and(|n| *n != t.name) {
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
        };
        match existing.get(&r.urn) {
            Some(current) if *current == wanted => report.schools_unchanged += 1,
            Some(_) => {
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
            }
        }
        if wanted.open {
            members.push(wanted.id);
        }
    }
    insert_chunks(db, new).await?;
    Ok(members)
}

async fn add_members(
    db: &impl ConnectionTrait,
    partnership: Uuid,
    schools: &[Uuid],
    report: &mut ImportReport,
) -> ApiResult<()> {
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
        .map(|id| partnership_school::ActiveModel { partnership_id: Set(partnership), school_id: Set(*id) })
        .collect();
    report.members_added = new.len() as u64;
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
