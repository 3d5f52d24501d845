//! `partnership-api grant`: the operator gives someone a role in a partnership, usually its
//! first city admin, who then invites everyone else.

use clap::Args;
use entity::{partnership, trust};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::{
    GrantService,
    service::{DEFAULT_INVITATION_DAYS, NewInvitation},
};
use crate::{audit::Who, auth::Role, oidc::Identity};

#[derive(Clone, Debug, Args)]
pub struct GrantArgs {
    /// The partnership's slug.
    #[arg(long)]
    pub partnership: String,
    /// city-admin, trust-lead, school-lead, assessor or partner.
    #[arg(long)]
    pub role: Role,
    /// A school lead's school (URN).
    #[arg(long)]
    pub school: Option<i32>,
    /// A trust lead's trust (GIAS group UID).
    #[arg(long)]
    pub trust: Option<String>,
    /// Bind the grant at once to this identity provider (`iss`)...
    #[arg(long, requires = "subject")]
    pub issuer: Option<String>,
    /// ...and this person's subject id there (`sub`). Without both, an invitation code is
    /// printed for the person to redeem after signing in.
    #[arg(long, requires = "issuer")]
    pub subject: Option<String>,
    /// The person's display name, when binding at once.
    #[arg(long)]
    pub name: Option<String>,
    /// Days until an invitation expires unredeemed (1 to 30).
    #[arg(long, default_value_t = DEFAULT_INVITATION_DAYS)]
    pub expires_in_days: i64,
}

/// Runs `grant`: prints the invitation code, or the bound grant's id.
pub async fn run(db: &DatabaseConnection, args: GrantArgs) -> anyhow::Result<()> {
    let p = partnership::Entity::find()
        .filter(partnership::Column::Slug.eq(&args.partnership))
        .one(db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no partnership with slug {:?}", args.partnership))?;
    let trust = match &args.trust {
        Some(uid) => Some(
            trust::Entity::find()
                .filter(trust::Column::GroupUid.eq(uid))
                .one(db)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no trust with group UID {uid:?}"))?
                .id,
        ),
        None => None,
    };
    let new = NewInvitation {
        role: args.role,
        school_urn: args.school,
        trust,
        expires_in_days: Some(args.expires_in_days),
    };
    let grants = GrantService::new(db.clone());
    let fail = |e: crate::error::ApiError| anyhow::anyhow!("{e}");
    match (args.issuer, args.subject) {
        (Some(issuer), Some(subject)) => {
            let identity = Identity { issuer, subject, name: args.name };
            let grant = grants.grant_directly(p.id, new, &identity).await.map_err(fail)?;
            eprintln!("granted {} in {} to {} at {}", grant.role, p.slug, identity.subject, identity.issuer);
            println!("{}", grant.id);
        }
        _ => {
            let (grant, code) = grants.invite_into(p.id, &Who::operator(), new).await.map_err(fail)?;
            eprintln!(
                "invitation to {} in {}: redeem it with redeemInvitation before {}",
                grant.role,
                p.slug,
                grant.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            );
            println!("{code}");
        }
    }
    Ok(())
}
