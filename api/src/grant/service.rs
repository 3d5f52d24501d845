//! Inviting, redeeming, listing and revoking access grants. Every change is one transaction
//! with its audit entry.

use chrono::{Duration, Utc};
use entity::{access_grant, partnership_school, school, trust};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    access,
    audit::{self, Who},
    auth::{Actor, Role},
    error::{ApiError, ApiResult},
    ids::{Cursor, Page},
    oidc::Identity,
};

/// The longest an invitation may stay open, and the default.
pub const MAX_INVITATION_DAYS: i64 = 30;
pub const DEFAULT_INVITATION_DAYS: i64 = 7;

/// An invitation to make.
#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub role: Role,
    /// A school lead's school.
    pub school_urn: Option<i32>,
    /// A trust lead's trust.
    pub trust: Option<Uuid>,
    pub expires_in_days: Option<i64>,
}

/// Where a grant stands.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantStatus {
    /// An invitation nobody has redeemed yet.
    Invited,
    /// An invitation that expired unredeemed.
    Expired,
    /// Bound to a person, who acts with it.
    Active,
    /// Revoked by a city admin: it no longer works.
    Revoked,
}

pub fn status(g: &access_grant::Model) -> GrantStatus {
    match (g.revoked_at, &g.subject, g.expires_at) {
        (Some(_), _, _) => GrantStatus::Revoked,
        (None, Some(_), _) => GrantStatus::Active,
        (None, None, Some(expires)) if expires < Utc::now() => GrantStatus::Expired,
        (None, None, _) => GrantStatus::Invited,
    }
}

pub fn role_of(g: &access_grant::Model) -> Role {
    g.role.parse().unwrap_or(Role::Partner)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::CityAdmin => "city-admin",
        Role::TrustLead => "trust-lead",
        Role::SchoolLead => "school-lead",
        Role::Assessor => "assessor",
        Role::Partner => "partner",
    }
}

/// SHA-256 of an invitation code, hex: the only form in which codes are stored.
fn hash(code: &str) -> String {
    Sha256::digest(code.trim().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A new code: 128 random bits, as 32 hex digits in groups of four.
fn new_code() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    let groups: Vec<&str> = (0..8).map(|i| &hex[i * 4..i * 4 + 4]).collect();
    format!("INV-{}", groups.join("-"))
}

#[derive(Clone, Debug)]
pub struct GrantService {
    db: DatabaseConnection,
}

impl GrantService {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// A city admin invites someone to a role in its partnership. Returns the grant and the
    /// code, which is shown this once and stored only as a hash.
    pub async fn invite(
        &self,
        actor: &Actor,
        new: NewInvitation,
    ) -> ApiResult<(access_grant::Model, String)> {
        let partnership = actor.admin_of()?;
        self.invite_into(partnership, &Who::from(actor), new).await
    }

    /// An invitation into `partnership` (the operator's `grant` command comes this way too).
    pub async fn invite_into(
        &self,
        partnership: Uuid,
        who: &Who,
        new: NewInvitation,
    ) -> ApiResult<(access_grant::Model, String)> {
        let txn = crate::db::begin_write(&self.db).await?;
        let (grant, code) = invite_in(&txn, partnership, who, new).await?;
        txn.commit().await?;
        tracing::info!(grant.id = %grant.id, role = %grant.role, "invitation created");
        Ok((grant, code))
    }

    /// The operator's direct grant: binds a role to a known issuer and subject at once.
    pub async fn grant_directly(
        &self,
        partnership: Uuid,
        new: NewInvitation,
        identity: &Identity,
    ) -> ApiResult<access_grant::Model> {
        // One transaction: a redemption that fails leaves no invitation behind.
        let txn = crate::db::begin_write(&self.db).await?;
        let (_, code) = invite_in(&txn, partnership, &Who::operator(), new).await?;
        let grant = redeem_in(&txn, identity, &code).await?;
        txn.commit().await?;
        tracing::info!(grant.id = %grant.id, role = %grant.role, "grant bound by the operator");
        Ok(grant)
    }

    /// Binds the invitation with `code` to the signed-in person. One-time: the code stops
    /// working once redeemed, revoked or expired.
    pub async fn redeem(&self, identity: &Identity, code: &str) -> ApiResult<access_grant::Model> {
        let txn = crate::db::begin_write(&self.db).await?;
        let grant = redeem_in(&txn, identity, code).await?;
        txn.commit().await?;
        tracing::info!(grant.id = %grant.id, "invitation redeemed");
        Ok(grant)
    }

    /// The live grant of a person, if any (read on every request that carries their token).
    pub async fn live_for(
        db: &impl ConnectionTrait,
        issuer: &str,
        subject: &str,
    ) -> ApiResult<Option<access_grant::Model>> {
        Ok(access_grant::Entity::find()
            .filter(access_grant::Column::Issuer.eq(issuer))
            .filter(access_grant::Column::Subject.eq(subject))
            .filter(access_grant::Column::RevokedAt.is_null())
            .one(db)
            .await?)
    }

    /// One page of the city admin's partnership's grants and invitations, newest first.
    pub async fn page(
        &self,
        actor: &Actor,
        include_revoked: bool,
        page: &Page,
    ) -> ApiResult<(Vec<access_grant::Model>, bool)> {
        let partnership = actor.admin_of()?;
        let mut q = access_grant::Entity::find().filter(access_grant::Column::PartnershipId.eq(partnership));
        if !include_revoked {
            q = q.filter(access_grant::Column::RevokedAt.is_null());
        }
        if let Some(c) = &page.after {
            let at = chrono::DateTime::parse_from_rfc3339(&c.name)
                .map_err(|_| ApiError::invalid("after", "not a cursor this API issued"))?;
            let id = Uuid::parse_str(&c.tie)
                .map_err(|_| ApiError::invalid("after", "not a cursor this API issued"))?;
            q = q.filter(
                Condition::any().add(access_grant::Column::CreatedAt.lt(at)).add(
                    Condition::all()
                        .add(access_grant::Column::CreatedAt.eq(at))
                        .add(access_grant::Column::Id.lt(id)),
                ),
            );
        }
        let rows = q
            .order_by_desc(access_grant::Column::CreatedAt)
            .order_by_desc(access_grant::Column::Id)
            .limit(page.first + 1)
            .all(&self.db)
            .await?;
        Ok(page.split(rows))
    }

    /// Revokes a grant (or cancels an invitation) of the city admin's partnership. It stops
    /// working on the holder's next request.
    pub async fn revoke(&self, actor: &Actor, id: Uuid) -> ApiResult<access_grant::Model> {
        let partnership = actor.admin_of()?;
        let txn = crate::db::begin_write(&self.db).await?;
        let grant = access_grant::Entity::find_by_id(id)
            .filter(access_grant::Column::PartnershipId.eq(partnership))
            .one(&txn)
            .await?
            .ok_or_else(|| ApiError::NotFound("grant".into()))?;
        if grant.revoked_at.is_some() {
            return Err(ApiError::Conflict("that grant is revoked already".into()));
        }
        let summary = format!(
            "revoked the {} grant of {}",
            grant.role,
            grant.display_name.as_deref().or(grant.subject.as_deref()).unwrap_or("an unredeemed invitation")
        );
        let mut row = grant.into_active_model();
        row.revoked_at = Set(Some(Utc::now().fixed_offset()));
        row.revoked_by = Set(Some(actor.subject.clone()));
        let grant = row.update(&txn).await?;
        audit::record(&txn, partnership, &Who::from(actor), "grant.revoke", summary).await?;
        txn.commit().await?;
        tracing::info!(grant.id = %grant.id, "grant revoked");
        Ok(grant)
    }
}

/// Writes an invitation and its audit entry in `txn`; returns it and its code.
async fn invite_in(
    txn: &DatabaseTransaction,
    partnership: Uuid,
    who: &Who,
    new: NewInvitation,
) -> ApiResult<(access_grant::Model, String)> {
    let days = new.expires_in_days.unwrap_or(DEFAULT_INVITATION_DAYS);
    if !(1..=MAX_INVITATION_DAYS).contains(&days) {
        return Err(ApiError::invalid("expiresInDays", format!("use 1 to {MAX_INVITATION_DAYS} days")));
    }
    let (school_id, trust_id, scope) = match (new.role, new.school_urn, new.trust) {
        (Role::SchoolLead, Some(urn), None) => {
            let school = school::Entity::find()
                .filter(school::Column::Urn.eq(urn))
                .inner_join(partnership_school::Entity)
                .filter(partnership_school::Column::PartnershipId.eq(partnership))
                .one(txn)
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("school with URN {urn} in your partnership")))?;
            (Some(school.id), None, format!(" of school {urn}"))
        }
        (Role::TrustLead, None, Some(id)) => {
            // Only a trust the partnership holds: one running its schools, or created by it.
            let holders = access::trust_holders(txn, &[id]).await?;
            let trust = trust::Entity::find_by_id(id).one(txn).await?;
            match trust {
                Some(t) if holders.get(&id).is_some_and(|h| h.contains(&partnership)) => {
                    (None, Some(id), format!(" of trust {}", t.group_uid))
                }
                _ => return Err(ApiError::NotFound("trust in your partnership".into())),
            }
        }
        (Role::SchoolLead, _, _) => {
            return Err(ApiError::invalid("school", "a school lead's invitation names one school"));
        }
        (Role::TrustLead, _, _) => {
            return Err(ApiError::invalid("trust", "a trust lead's invitation names one trust"));
        }
        (_, None, None) => (None, None, String::new()),
        (_, _, _) => {
            return Err(ApiError::invalid(
                "role",
                "only school and trust leads' invitations name a school or trust",
            ));
        }
    };
    let code = new_code();
    let now = Utc::now().fixed_offset();
    let grant = access_grant::ActiveModel {
        id: Set(Uuid::new_v4()),
        partnership_id: Set(partnership),
        role: Set(role_name(new.role).to_owned()),
        trust_id: Set(trust_id),
        school_id: Set(school_id),
        issuer: Set(None),
        subject: Set(None),
        display_name: Set(None),
        code_hash: Set(Some(hash(&code))),
        expires_at: Set(Some(now + Duration::days(days))),
        created_at: Set(now),
        created_by: Set(who.subject.clone()),
        redeemed_at: Set(None),
        revoked_at: Set(None),
        revoked_by: Set(None),
    }
    .insert(txn)
    .await?;
    let summary = format!("invited a {}{scope}; the invitation expires in {days} days", role_name(new.role));
    audit::record(txn, partnership, who, "grant.invite", summary).await?;
    Ok((grant, code))
}

/// Binds the invitation with `code` to `identity` in `txn`, with its audit entry.
async fn redeem_in(
    txn: &DatabaseTransaction,
    identity: &Identity,
    code: &str,
) -> ApiResult<access_grant::Model> {
    if code.trim().is_empty() || code.len() > 100 {
        return Err(ApiError::invalid("code", "not an invitation code"));
    }
    let found = access_grant::Entity::find()
        .filter(access_grant::Column::CodeHash.eq(hash(code)))
        .one(txn)
        .await?
        .filter(|g| g.subject.is_none() && g.revoked_at.is_none())
        .ok_or_else(|| ApiError::NotFound("invitation".into()))?;
    if found.expires_at.is_some_and(|at| at < Utc::now()) {
        return Err(ApiError::Conflict("the invitation has expired: ask for a new one".into()));
    }
    if GrantService::live_for(txn, &identity.issuer, &identity.subject).await?.is_some() {
        return Err(ApiError::Conflict(
            "you hold an access grant already: ask a city admin to revoke it first".into(),
        ));
    }
    let partnership = found.partnership_id;
    let mut row = found.into_active_model();
    row.issuer = Set(Some(identity.issuer.clone()));
    row.subject = Set(Some(identity.subject.clone()));
    row.display_name = Set(identity.name.clone());
    row.code_hash = Set(None);
    row.redeemed_at = Set(Some(Utc::now().fixed_offset()));
    let grant = row.update(txn).await?;
    let who = Who { subject: identity.subject.clone(), name: identity.name.clone() };
    let summary = format!("redeemed an invitation as {}", grant.role);
    audit::record(txn, partnership, &who, "grant.redeem", summary).await?;
    Ok(grant)
}

/// The cursor of a grant in `page`'s order.
pub fn cursor_of(g: &access_grant::Model) -> Cursor {
    Cursor { name: g.created_at.to_rfc3339(), tie: g.id.to_string() }
}
