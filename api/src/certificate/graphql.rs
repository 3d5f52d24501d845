//! The Certificate and Credential types, the public certificate check, `verifyCredential`
//! and `revokeCertificate`.

use async_graphql::{Context, ID, Object, Result};
use entity::credential;

use super::{CertificateService, CertificateView, Verdict};
use crate::{
    access::RoleGuard,
    auth::{Role, Viewer},
    certification::{Certification, journey::today},
    error::Extend,
    scalars::Date,
};

/// The most bytes of a credential `verifyCredential` reads.
pub const MAX_JWT_BYTES: usize = 64 * 1024;

/// A certificate, as anyone may check it.
pub struct Certificate(pub CertificateView);

#[Object]
impl Certificate {
    async fn number(&self) -> &str {
        &self.0.number
    }
    async fn school_name(&self) -> &str {
        &self.0.school_name
    }
    /// The school's URN.
    async fn urn(&self) -> i32 {
        self.0.urn
    }
    async fn framework_name(&self) -> &str {
        &self.0.framework_name
    }
    /// The level awarded.
    async fn level(&self) -> &str {
        &self.0.level_name
    }
    async fn awarded_on(&self) -> Date {
        Date(self.0.awarded_on)
    }
    /// The last day the certificate is valid.
    async fn expires_on(&self) -> Date {
        Date(self.0.expires_on)
    }
    /// The day it was revoked; null unless it was.
    async fn revoked_on(&self) -> Option<Date> {
        self.0.revoked_on.map(Date)
    }
    /// Whether the certificate is valid on `asOf` (default today): awarded, not expired, not
    /// revoked.
    async fn valid(&self, as_of: Option<Date>) -> bool {
        self.0.valid_on(as_of.map_or_else(today, |d| d.0))
    }
    /// Its public page, with the printable certificate and the badge.
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.data::<CertificateService>()?.credentials().issuer.certificate_url(&self.0.number))
    }
}

/// A signed Open Badges 3.0 credential (a VC-JWT).
pub struct Credential(pub credential::Model);

#[Object]
impl Credential {
    /// The credential's id, as in its URL.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Where anyone fetches it (JWT, or JSON with `Accept: application/json`).
    async fn url(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(ctx.data::<CertificateService>()?.credentials().issuer.credential_url(self.0.id))
    }
    /// The compact JWT, to put in a wallet or hand to a verifier.
    async fn jwt(&self) -> &str {
        &self.0.jwt
    }
    /// The key that signed it (`kid` in `/.well-known/jwks.json`).
    async fn key_id(&self) -> &str {
        &self.0.kid
    }
}

#[derive(Default)]
pub struct CertificateQuery;

#[Object]
impl CertificateQuery {
    /// Checks a certificate by its number. Public: shows the school's name and URN, the
    /// framework, the level, the dates and whether it was revoked, nothing else.
    async fn certificate(&self, ctx: &Context<'_>, number: String) -> Result<Certificate> {
        ctx.data::<CertificateService>()?.certificate(&number).await.map(Certificate).extend()
    }

    /// Checks a credential this service issued: its signature against the published keys, its
    /// issuer, its dates and its revocation status; says why when it is not valid. Public.
    async fn verify_credential(&self, ctx: &Context<'_>, jwt: String) -> Result<Verdict> {
        if jwt.len() > MAX_JWT_BYTES {
            return Err(crate::error::ApiError::invalid(
                "jwt",
                "longer than any credential this service issues",
            ))
            .extend();
        }
        ctx.data::<CertificateService>()?.verify(&jwt).await.extend()
    }
}

#[derive(Default)]
pub struct CertificateMutation;

#[Object]
impl CertificateMutation {
    /// Revokes a certificate, saying why: the journey becomes REVOKED (its history keeps who,
    /// when and why) and the credential's bit is set in the published status list. Assessors
    /// and city admins of the school's partnership.
    #[graphql(guard = "RoleGuard(&[Role::Assessor, Role::CityAdmin])")]
    async fn revoke_certificate(
        &self,
        ctx: &Context<'_>,
        number: String,
        reason: String,
    ) -> Result<Certification> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let service = ctx.data::<CertificateService>()?;
        service.revoke(actor, &number, &reason).await.map(Certification).extend()
    }
}
