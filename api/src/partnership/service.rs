//! Partnerships: reading them (their headline is public; the rest needs a role), creating them
//! (the operator, at the command line) and changing their settings (a city admin its own, or
//! the operator any). Every change is one transaction that also writes its audit entries.

use std::sync::Arc;

use chrono::NaiveDate;
use entity::{audit_event, framework, partnership, partnership_goal, partnership_school};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::goals;
use crate::{
    audit::{self, Who},
    auth::{Actor, Viewer},
    error::{ApiError, ApiResult},
    framework::service::{self as frameworks, FrameworkData},
    ids::{Cursor, Page},
    validate,
};

/// The most local authorities one partnership names (the column holds 200 characters).
pub const MAX_LA_CODES: usize = 50;

/// A partnership to create.
#[derive(Clone, Debug)]
pub struct NewPartnership {
    /// a-z, 0-9 and '-', 3 to 64 characters; tokens name the partnership by it.
    pub slug: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub deadline: NaiveDate,
    /// The framework's slug.
    pub framework: String,
    /// The version new journeys start on; None: the latest loaded.
    pub framework_version: Option<i32>,
    /// A level key of that version; None: the lowest level.
    pub required_level: Option<String>,
    /// Three-digit LA codes: the default filter of the partnership's imports.
    pub local_authority_codes: Vec<String>,
    /// None: 3.
    pub max_active_mentees: Option<i32>,
}

/// Changes to a partnership's settings; fields left out stay as they are.
#[derive(Clone, Debug, Default)]
pub struct PartnershipPatch {
    pub name: Option<String>,
    /// A new deadline: appends a goal in force from today. Needs `deadline_reason`.
    pub deadline: Option<NaiveDate>,
    pub deadline_reason: Option<String>,
    /// Another version of the partnership's framework for new journeys.
    pub framework_version: Option<i32>,
    pub required_level: Option<String>,
    pub max_active_mentees: Option<i32>,
    pub stalled_after_days: Option<i32>,
    pub returned_after_days: Option<i32>,
    pub overdue_actions_at_risk: Option<bool>,
    pub comparison_min_schools: Option<i32>,
    /// Replaces the partnership's LA codes.
    pub local_authority_codes: Option<Vec<String>>,
}

/// Who changes a partnership's settings.
#[derive(Clone, Copy, Debug)]
pub enum Editor<'a> {
    /// A city admin: its own partnership only.
    CityAdmin(&'a Actor),
    /// The operator at the command line: any partnership.
    Operator,
}

impl Editor<'_> {
    fn who(&self) -> Who {
        match self {
            Self::CityAdmin(actor) => Who::from(*actor),
            Self::Operator => Who::operator(),
        }
    }
}

/// One row of the operator's list.
#[derive(Clone, Debug)]
pub struct Listed {
    pub partnership: partnership::Model,
    /// Member schools, open or not.
    pub schools: u64,
}

#[derive(Clone, Debug)]
pub struct PartnershipService {
    db: DatabaseConnection,
}

impl PartnershipService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Every partnership for anonymous callers (headlines only reach them); a signed-in
    /// caller's own partnerships otherwise.
    pub async fn list(&self, viewer: &Viewer) -> ApiResult<Vec<partnership::Model>> {
        let mut q = partnership::Entity::find().order_by_asc(partnership::Column::Name);
        if let Viewer::Signed(actor) = viewer {
            q = q.filter(partnership::Column::Id.is_in(actor.partnerships.clone()));
        }
        Ok(q.all(&self.db).await?)
    }

    pub async fn by_id(&self, viewer: &Viewer, id: Uuid) -> ApiResult<partnership::Model> {
        let found = partnership::Entity::find_by_id(id).one(&self.db).await?;
        self.check(viewer, found)
    }

    pub async fn by_slug(&self, viewer: &Viewer, slug: &str) -> ApiResult<partnership::Model> {
        if !crate::validate::matchable(slug) {
            return self.check(viewer, None);
        }
        let found =
            partnership::Entity::find().filter(partnership::Column::Slug.eq(slug)).one(&self.db).await?;
        self.check(viewer, found)
    }

    /// A city admin changes its own partnership's settings.
    pub async fn update_own(&self, actor: &Actor, patch: PartnershipPatch) -> ApiResult<partnership::Model> {
        let id = actor.admin_of()?;
        update(&self.db, Editor::CityAdmin(actor), id, patch).await
    }

    /// A page of the partnership's audit log, newest first: its city admins only.
    pub async fn audit_page(
        &self,
        viewer: &Viewer,
        partnership: Uuid,
        page: &Page,
    ) -> ApiResult<(Vec<audit_event::Model>, bool)> {
        own_admin(viewer, partnership)?;
        let mut q = audit_event::Entity::find()
            .filter(audit_event::Column::PartnershipId.eq(partnership))
            .order_by_desc(audit_event::Column::At)
            .order_by_desc(audit_event::Column::Id);
        if let Some(c) = &page.after {
            let (at, id) = audit_cursor(c)?;
            let at_col = Expr::col((audit_event::Entity, audit_event::Column::At));
            q = q.filter(
                Condition::any()
                    .add(at_col.clone().lt(at))
                    .add(Condition::all().add(at_col.eq(at)).add(audit_event::Column::Id.lt(id))),
            );
        }
        let rows = q.limit(page.first + 1).all(&self.db).await?;
        Ok(page.split(rows))
    }

    /// How many entries the partnership's audit log holds: its city admins only.
    pub async fn audit_count(&self, viewer: &Viewer, partnership: Uuid) -> ApiResult<u64> {
        own_admin(viewer, partnership)?;
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::PartnershipId.eq(partnership))
            .count(&self.db)
            .await?)
    }

    fn check(&self, viewer: &Viewer, found: Option<partnership::Model>) -> ApiResult<partnership::Model> {
        match found {
            Some(p) if matches!(viewer, Viewer::Anonymous) || viewer.can_read_partnership(p.id) => Ok(p),
            _ => Err(ApiError::NotFound("partnership".into())),
        }
    }
}

/// UNAUTHENTICATED for anonymous callers, FORBIDDEN unless a city admin of `partnership`.
fn own_admin(viewer: &Viewer, partnership: Uuid) -> ApiResult<()> {
    let actor = viewer.actor()?;
    if actor.admin_of().ok() != Some(partnership) {
        return Err(ApiError::Forbidden("read the audit log: that needs the partnership's city-admin role"));
    }
    Ok(())
}

/// An audit entry's place in the log: its time and id.
pub fn audit_cursor_of(e: &audit_event::Model) -> Cursor {
    Cursor { name: e.at.to_rfc3339(), tie: e.id.to_string() }
}

fn audit_cursor(c: &Cursor) -> ApiResult<(chrono::DateTime<chrono::FixedOffset>, Uuid)> {
    let bad = || ApiError::invalid("after", "not a cursor this API issued");
    let at = chrono::DateTime::parse_from_rfc3339(&c.name).map_err(|_| bad())?;
    let id = Uuid::parse_str(&c.tie).map_err(|_| bad())?;
    Ok((at, id))
}

/// Creates a partnership with its first goal, in one transaction with its audit entry. A
/// slug already taken is CONFLICT; anything else out of shape is BAD_USER_INPUT.
pub async fn create(
    db: &DatabaseConnection,
    new: NewPartnership,
    who: &Who,
) -> ApiResult<partnership::Model> {
    let slug = check_slug(&new.slug)?;
    let name = validate::text("name", &new.name, 200)?;
    if new.deadline < new.starts_on {
        return Err(ApiError::invalid(
            "deadline",
            format!("{} is before startsOn ({})", new.deadline, new.starts_on),
        ));
    }
    let la_codes = check_la_codes(&new.local_authority_codes)?;
    let max_active_mentees = check_max_active_mentees(new.max_active_mentees.unwrap_or(3))?;
    let framework_slug = new.framework.trim().to_owned();
    let txn = crate::db::begin_write(db).await?;
    let data = framework_version(&txn, &framework_slug, new.framework_version).await?;
    let required_level = new.required_level.as_deref().map(|key| check_level(&data, key)).transpose()?;
    let taken =
        partnership::Entity::find().filter(partnership::Column::Slug.eq(slug.as_str())).count(&txn).await?;
    if taken > 0 {
        return Err(slug_taken(&slug));
    }
    let row = partnership::Model {
        id: Uuid::new_v4(),
        slug: slug.clone(),
        name,
        starts_on: new.starts_on,
        deadline: new.deadline,
        default_framework: Some(framework_slug),
        max_active_mentees,
        synthetic: false,
        required_level,
        stalled_after_days: 60,
        returned_after_days: 30,
        overdue_actions_at_risk: false,
        comparison_min_schools: 5,
        framework_version: Some(data.framework.version),
        local_authority_codes: la_codes,
    };
    let p = row.into_active_model().insert(&txn).await.map_err(|e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => slug_taken(&slug),
        _ => e.into(),
    })?;
    let goal = partnership_goal::Model {
        set_by: who.subject.clone(),
        set_by_name: who.name.clone(),
        set_at: chrono::Utc::now().fixed_offset(),
        ..goals::first_goal(&p)
    };
    goal.into_active_model().insert(&txn).await?;
    let summary = format!(
        "created the partnership {} ({:?}): from {} to the deadline {}, {}, required level {}, local authorities {}, at most {} active mentees per mentor",
        p.slug,
        p.name,
        p.starts_on,
        p.deadline,
        framework_label(&p),
        p.required_level.as_deref().unwrap_or("the lowest"),
        la_label(&p.local_authority_codes),
        p.max_active_mentees,
    );
    audit::record(&txn, p.id, who, "partnership.created", summary).await?;
    txn.commit().await?;
    tracing::info!(partnership.id = %p.id, partnership.slug = %p.slug, "created partnership");
    Ok(p)
}

/// Every partnership with its number of member schools, by slug: two statements.
pub async fn list(db: &DatabaseConnection) -> ApiResult<Vec<Listed>> {
    let rows = partnership::Entity::find().order_by_asc(partnership::Column::Slug).all(db).await?;
    let counts: Vec<(Uuid, i64)> = partnership_school::Entity::find()
        .select_only()
        .column(partnership_school::Column::PartnershipId)
        .column_as(partnership_school::Column::SchoolId.count(), "n")
        .group_by(partnership_school::Column::PartnershipId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let schools = counts.iter().find(|(id, _)| *id == p.id).map_or(0, |(_, n)| *n as u64);
            Listed { partnership: p, schools }
        })
        .collect())
}

/// The partnership with `slug`, for the operator; NOT_FOUND when there is none.
pub async fn by_slug(db: &DatabaseConnection, slug: &str) -> ApiResult<partnership::Model> {
    partnership::Entity::find()
        .filter(partnership::Column::Slug.eq(slug))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("partnership {slug:?}")))
}

/// Changes a partnership's settings in one transaction, with one audit entry per setting that
/// changed; a value equal to the current one changes nothing. A city admin may change only
/// its own partnership. A deadline move appends a goal and keeps the old ones; moving the
/// framework pin changes what new journeys start on, never a journey already started.
pub async fn update(
    db: &DatabaseConnection,
    editor: Editor<'_>,
    id: Uuid,
    patch: PartnershipPatch,
) -> ApiResult<partnership::Model> {
    if let Editor::CityAdmin(actor) = editor
        && actor.admin_of()? != id
    {
        return Err(ApiError::Forbidden("change another partnership's settings"));
    }
    let who = editor.who();
    // Everything that needs no database first.
    let name = patch.name.as_deref().map(|n| validate::text("name", n, 200)).transpose()?;
    let reason = match (patch.deadline, patch.deadline_reason.as_deref()) {
        (Some(_), Some(r)) => Some(validate::long_text("deadlineReason", r, 500)?),
        (Some(_), None) => return Err(ApiError::invalid("deadlineReason", "say why the deadline moves")),
        (None, Some(_)) => return Err(ApiError::invalid("deadlineReason", "give it with a new deadline")),
        (None, None) => None,
    };
    let max_active_mentees = patch.max_active_mentees.map(check_max_active_mentees).transpose()?;
    let stalled = patch.stalled_after_days.map(|d| check_days("stalledAfterDays", d)).transpose()?;
    let returned = patch.returned_after_days.map(|d| check_days("returnedAfterDays", d)).transpose()?;
    let la_codes = patch.local_authority_codes.as_deref().map(check_la_codes).transpose()?;
    let min_schools = patch.comparison_min_schools.map(check_min_schools).transpose()?;

    let txn = crate::db::begin_write(db).await?;
    // Two changes at once must not both read the old row (PostgreSQL; SQLite has one writer).
    let p = partnership::Entity::find_by_id(id)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::NotFound("partnership".into()))?;
    let mut row: partnership::ActiveModel = p.clone().into();
    let mut changes: Vec<(&'static str, String)> = Vec::new();

    if let Some(name) = name.filter(|n| *n != p.name) {
        changes
            .push(("partnership.renamed", format!("renamed the partnership from {:?} to {name:?}", p.name)));
        row.name = Set(name);
    }
    if let (Some(deadline), Some(reason)) = (patch.deadline.filter(|d| *d != p.deadline), reason) {
        if deadline < p.starts_on {
            return Err(ApiError::invalid(
                "deadline",
                format!("{deadline} is before the partnership's start ({})", p.starts_on),
            ));
        }
        changes.push((
            "goal.deadline_moved",
            format!("moved the deadline from {} to {deadline}: {reason}", p.deadline),
        ));
        // A partnership made without its first goal (rows written by hand) gets it now, so
        // that the deadline it had is kept.
        let held = partnership_goal::Entity::find()
            .filter(partnership_goal::Column::PartnershipId.eq(p.id))
            .count(&txn)
            .await?;
        if held == 0 {
            goals::first_goal(&p).into_active_model().insert(&txn).await?;
        }
        goals::moved(&p, deadline, &who, reason).into_active_model().insert(&txn).await?;
        row.deadline = Set(deadline);
    }

    // The framework pin and the required level are checked together: the level must be a key
    // of the version pinned after the change.
    let version = patch.framework_version.filter(|v| Some(*v) != p.framework_version);
    let level =
        patch.required_level.as_deref().map(str::trim).filter(|l| Some(*l) != p.required_level.as_deref());
    if version.is_some() || level.is_some() {
        let Some(slug) = p.default_framework.as_deref() else {
            return Err(ApiError::invalid("frameworkVersion", "the partnership has no framework to pin"));
        };
        let data = framework_version(&txn, slug, version.or(p.framework_version)).await?;
        let required = match level {
            Some(key) => Some(check_level(&data, key)?),
            None => p.required_level.clone(),
        };
        if let Some(key) = required.as_deref()
            && data.level_by_key(key).is_none()
        {
            return Err(ApiError::invalid(
                "frameworkVersion",
                format!(
                    "version {} of {slug:?} has no level {key:?}, the partnership's required level: set requiredLevel too",
                    data.framework.version
                ),
            ));
        }
        if let Some(v) = version {
            let from = p.framework_version.map_or("none".to_owned(), |v| format!("version {v}"));
            changes.push((
                "partnership.framework_pinned",
                format!("pinned {slug} from {from} to version {v} for new journeys; journeys already started keep theirs"),
            ));
            row.framework_version = Set(Some(v));
        }
        if let Some(key) = level {
            let from = p.required_level.as_deref().unwrap_or("the lowest");
            changes.push((
                "partnership.required_level_set",
                format!("set the required level from {from} to {key}"),
            ));
            row.required_level = Set(Some(key.to_owned()));
        }
    }

    if let Some(n) = max_active_mentees.filter(|n| *n != p.max_active_mentees) {
        changes.push((
            "partnership.max_active_mentees_set",
            format!("set the most active mentees per mentor from {} to {n}", p.max_active_mentees),
        ));
        row.max_active_mentees = Set(n);
    }
    if let Some(d) = stalled.filter(|d| *d != p.stalled_after_days) {
        changes.push((
            "partnership.stalled_after_days_set",
            format!("set stalledAfterDays from {} to {d}", p.stalled_after_days),
        ));
        row.stalled_after_days = Set(d);
    }
    if let Some(d) = returned.filter(|d| *d != p.returned_after_days) {
        changes.push((
            "partnership.returned_after_days_set",
            format!("set returnedAfterDays from {} to {d}", p.returned_after_days),
        ));
        row.returned_after_days = Set(d);
    }
    if let Some(on) = patch.overdue_actions_at_risk.filter(|on| *on != p.overdue_actions_at_risk) {
        changes
            .push(("partnership.overdue_actions_at_risk_set", format!("set overdueActionsAtRisk to {on}")));
        row.overdue_actions_at_risk = Set(on);
    }
    if let Some(n) = min_schools.filter(|n| *n != p.comparison_min_schools) {
        changes.push((
            "partnership.comparison_min_schools_set",
            format!("set comparisonMinSchools from {} to {n}", p.comparison_min_schools),
        ));
        row.comparison_min_schools = Set(n);
    }
    if let Some(codes) = la_codes.filter(|c| *c != p.local_authority_codes) {
        changes.push((
            "partnership.local_authorities_set",
            format!(
                "set the local authorities from {} to {}",
                la_label(&p.local_authority_codes),
                la_label(&codes)
            ),
        ));
        row.local_authority_codes = Set(codes);
    }

    if changes.is_empty() {
        return Ok(p);
    }
    let updated = row.update(&txn).await?;
    for (action, summary) in changes {
        audit::record(&txn, id, &who, action, summary).await?;
    }
    txn.commit().await?;
    tracing::info!(partnership.id = %id, actor.subject = %who.subject, "changed partnership settings");
    Ok(updated)
}

fn slug_taken(slug: &str) -> ApiError {
    ApiError::Conflict(format!("a partnership with the slug {slug:?} already exists"))
}

fn check_slug(value: &str) -> ApiResult<String> {
    let value = value.trim();
    if !(3..=64).contains(&value.len()) {
        return Err(ApiError::invalid("slug", "use 3 to 64 characters"));
    }
    if !value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(ApiError::invalid("slug", format!("{value:?}: use only a-z, 0-9 and '-'")));
    }
    Ok(value.to_owned())
}

/// Checked, without repeats, in the order given, joined with commas as the column holds them.
fn check_la_codes(codes: &[String]) -> ApiResult<String> {
    let mut out: Vec<String> = Vec::new();
    for code in codes {
        let code = validate::la_code(code)?;
        if !out.contains(&code) {
            out.push(code);
        }
    }
    if out.len() > MAX_LA_CODES {
        return Err(ApiError::invalid("laCodes", format!("name at most {MAX_LA_CODES} local authorities")));
    }
    Ok(out.join(","))
}

fn check_max_active_mentees(n: i32) -> ApiResult<i32> {
    if (1..=20).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::invalid("maxActiveMentees", "must be between 1 and 20"))
    }
}

/// The fewest schools a group shows averages for: at least 3, so that an average never hides
/// fewer schools than that.
fn check_min_schools(n: i32) -> ApiResult<i32> {
    if (crate::comparison::MIN_GROUP_FLOOR..=100).contains(&n) {
        Ok(n)
    } else {
        Err(ApiError::invalid("comparisonMinSchools", "from 3 to 100"))
    }
}

fn check_days(field: &'static str, days: i32) -> ApiResult<i32> {
    if (1..=365).contains(&days) {
        Ok(days)
    } else {
        Err(ApiError::invalid(field, "must be between 1 and 365 days"))
    }
}

fn check_level(data: &FrameworkData, key: &str) -> ApiResult<String> {
    let key = key.trim();
    match data.level_by_key(key) {
        Some(level) => Ok(level.key.clone()),
        None => {
            let keys: Vec<&str> = data.levels.iter().map(|l| l.key.as_str()).collect();
            Err(ApiError::invalid(
                "requiredLevel",
                format!(
                    "version {} of {:?} has no level {key:?}; its levels are {}",
                    data.framework.version,
                    data.framework.slug,
                    keys.join(", ")
                ),
            ))
        }
    }
}

/// Framework `slug` at `version` (None: the latest loaded), with its parts.
async fn framework_version(
    db: &impl ConnectionTrait,
    slug: &str,
    version: Option<i32>,
) -> ApiResult<Arc<FrameworkData>> {
    let mut q = framework::Entity::find().filter(framework::Column::Slug.eq(slug));
    if let Some(v) = version {
        q = q.filter(framework::Column::Version.eq(v));
    }
    let row = q.order_by_desc(framework::Column::Version).one(db).await?.ok_or_else(|| match version {
        Some(v) => ApiError::invalid("frameworkVersion", format!("{slug:?} has no version {v} loaded")),
        None => ApiError::invalid("framework", format!("no framework {slug:?} is loaded")),
    })?;
    frameworks::data(db, row.id).await
}

/// "aied-certified@1", as the list and the audit log name a partnership's framework.
pub fn framework_label(p: &partnership::Model) -> String {
    match (p.default_framework.as_deref(), p.framework_version) {
        (Some(slug), Some(v)) => format!("{slug}@{v}"),
        (Some(slug), None) => slug.to_owned(),
        (None, _) => "no framework".to_owned(),
    }
}

fn la_label(codes: &str) -> String {
    if codes.is_empty() { "none".to_owned() } else { codes.replace(',', ", ") }
}

/// The partnership's LA codes, as a list.
pub fn la_codes_of(p: &partnership::Model) -> Vec<String> {
    p.local_authority_codes.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}
