//! Who is asking: JWT verification, the typed actor and the role guard.

mod cache;

pub use cache::TokenCache;

use std::{fmt, path::Path};

use anyhow::Context as _;
use entity::{access_grant, partnership, partnership_school, school, trust};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    grant::GrantService,
    oidc::{Identity, Oidc, OidcError},
};

/// What a signed-in caller is, from the token's `role` claim.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The local authority's digital team: runs the partnership's registry.
    CityAdmin,
    /// A trust's digital lead: reads its trust's schools in full.
    TrustLead,
    /// A school's AI lead: its own school in full, its active mentees read-only.
    SchoolLead,
    /// A framework assessor for the partnerships it is assigned to.
    Assessor,
    /// A partner frontend: aggregates, the registry and stages, read-only.
    Partner,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.replace('_', "-").to_lowercase())).map_err(|_| {
            format!("unknown role {s:?}: city-admin, trust-lead, school-lead, assessor or partner")
        })
    }
}

/// The claims this service reads. `partnership` is a slug, `trust` a GIAS group UID and
/// `school` a URN: identifiers an identity provider can know without our database ids.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partnership: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<i32>,
    /// A display name; the only personal datum kept of staff besides `sub`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub exp: i64,
    pub iat: i64,
    /// Not before: when present, the token is refused until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub iss: String,
    pub aud: Audience,
}

/// The `aud` claim: RFC 7519 allows one string or an array of them. We sign a string; we
/// accept an array that holds our audience (jsonwebtoken checks which, this only reads it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The longest `sub` a service token may carry, in characters.
pub const MAX_SUBJECT: usize = 255;
/// The longest display name (`name`) a service token may carry, in characters.
pub const MAX_NAME: usize = 200;
/// Seconds of clock difference forgiven on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 30;
/// How long a service token may live (`exp - iat`) unless configured otherwise.
pub const DEFAULT_MAX_LIFETIME_HOURS: u32 = 24;

/// Why a service token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Signature, algorithm, `exp`, `nbf`, `iss`, `aud` or the claims' shape.
    #[error(transparent)]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// A claim that verified but breaks one of our own rules; the text says which, for the
    /// caller.
    #[error("{0}")]
    Claim(&'static str),
}

/// Verifies tokens (and, with a secret or private key, signs them for the `token` command).
#[derive(Clone)]
pub struct Jwt {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    /// The longest `exp - iat` accepted, and signed, in seconds.
    max_lifetime: i64,
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("algorithm", &self.validation.algorithms)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("max_lifetime_secs", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

impl Jwt {
    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8], issuer: &str, audience: &str) -> Self {
        Self::new(
            Algorithm::HS256,
            DecodingKey::from_secret(secret),
            Some(EncodingKey::from_secret(secret)),
            issuer,
            audience,
        )
    }

    /// RS256 with a PEM public key, and optionally the private key to sign with.
    pub fn rs256(
        public_pem: &[u8],
        private_pem: Option<&[u8]>,
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<Self> {
        let decoding = DecodingKey::from_rsa_pem(public_pem).context("JWT public key is not an RSA PEM")?;
        let encoding = private_pem
            .map(EncodingKey::from_rsa_pem)
            .transpose()
            .context("JWT private key is not an RSA PEM")?;
        Ok(Self::new(Algorithm::RS256, decoding, encoding, issuer, audience))
    }

    fn new(
        alg: Algorithm,
        decoding: DecodingKey,
        encoding: Option<EncodingKey>,
        issuer: &str,
        audience: &str,
    ) -> Self {
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[issuer]);
        // Checked against a string `aud` or against each entry of an array.
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        Self {
            decoding,
            encoding,
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            max_lifetime: i64::from(DEFAULT_MAX_LIFETIME_HOURS) * 3600,
        }
    }

    /// This verifier, accepting (and signing) tokens that live at most `hours`
    /// (`JWT_MAX_LIFETIME_HOURS`).
    #[must_use]
    pub fn with_max_lifetime_hours(mut self, hours: u32) -> Self {
        self.max_lifetime = i64::from(hours) * 3600;
        self
    }

    /// Checks a service token: signature and algorithm, `iss`, `aud` (a string, or an array
    /// holding ours), `exp` and `nbf` with `LEEWAY_SECS` of clock skew; then our own rules:
    /// `iat` not in the future, a lifetime (`exp - iat`) within the configured maximum, a
    /// `sub` of 1 to `MAX_SUBJECT` characters and a `name` of at most `MAX_NAME`, neither
    /// with control characters.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims;
        let now = chrono::Utc::now().timestamp();
        let leeway = LEEWAY_SECS as i64;
        if claims.iat > now.saturating_add(leeway) {
            return Err(TokenError::Claim("the token is not valid yet"));
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime {
            return Err(TokenError::Claim("the token lives longer than this service accepts"));
        }
        let sub_len = claims.sub.chars().count();
        if sub_len == 0 || sub_len > MAX_SUBJECT || claims.sub.chars().any(char::is_control) {
            return Err(TokenError::Claim("the token's subject is empty, too long or not text"));
        }
        if let Some(name) = &claims.name
            && (name.chars().count() > MAX_NAME || name.chars().any(char::is_control))
        {
            return Err(TokenError::Claim("the token's name is too long or not text"));
        }
        Ok(claims)
    }

    /// Signs a token for `who`, valid for `ttl` from now; a `ttl` beyond the maximum lifetime
    /// is refused, as the token would be.
    pub fn sign(&self, who: TokenRequest, ttl: chrono::Duration) -> anyhow::Result<String> {
        let key = self
            .encoding
            .as_ref()
            .context("no signing key: set JWT_SECRET, or JWT_PRIVATE_KEY_FILE for RS256")?;
        if ttl.num_seconds() > self.max_lifetime {
            anyhow::bail!(
                "a token may live at most {} hours (JWT_MAX_LIFETIME_HOURS): ask for fewer --hours",
                self.max_lifetime / 3600
            );
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: who.sub,
            role: who.role,
            partnership: who.partnership,
            trust: who.trust,
            school: who.school,
            name: who.name,
            iat: now,
            exp: now + ttl.num_seconds(),
            nbf: None,
            iss: self.issuer.clone(),
            aud: Audience::One(self.audience.clone()),
        };
        Ok(jsonwebtoken::encode(&Header::new(self.validation.algorithms[0]), &claims, key)?)
    }
}

/// What to put in a token; see `Jwt::sign`.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub sub: String,
    pub role: Role,
    pub partnership: Option<String>,
    pub trust: Option<String>,
    pub school: Option<i32>,
    pub name: Option<String>,
}

impl TokenRequest {
    pub fn new(role: Role) -> Self {
        Self {
            sub: format!("dev-{role:?}").to_lowercase(),
            role,
            partnership: None,
            trust: None,
            school: None,
            name: None,
        }
    }
}

/// Where a signed-in caller belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// City admins, partners and assessors: one partnership.
    Partnership(Uuid),
    /// Trust leads: one trust's schools.
    Trust(Uuid),
    /// School leads: one school.
    School(Uuid),
}

/// A verified caller, with its claims (or its access grant) resolved against the registry.
#[derive(Clone, Debug)]
pub struct Actor {
    pub subject: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub scope: Scope,
    /// The partnerships whose registry this caller may read.
    pub partnerships: Vec<Uuid>,
    /// The access grant the caller acts with; None for service tokens (role in the claims).
    pub grant: Option<Uuid>,
    /// When the caller's token expires (Unix seconds): a WebSocket opened with it closes then.
    pub expires_at: Option<i64>,
}

/// Who is asking, worked out once per request (see `http::viewer`).
#[derive(Clone, Debug)]
pub enum Viewer {
    Anonymous,
    Signed(Actor),
    /// A person signed in through a trusted identity provider who holds no access grant yet:
    /// they may redeem an invitation, and do nothing else.
    Unbound(Identity),
}

/// Just enough of an unverified token to pick the key that verifies it.
#[derive(Deserialize)]
struct Peek {
    iss: Option<String>,
    exp: Option<i64>,
}

impl Viewer {
    /// No header means anonymous; a header that does not verify is an error, never anonymous.
    /// A token from a configured OpenID Connect issuer is a person, whose role comes from their
    /// live access grant; any other token must be one of ours, with role and scope in its claims.
    /// What a token names is looked up once and kept in `cache` a short while.
    pub async fn from_bearer(
        header: Option<&str>,
        jwt: &Jwt,
        oidc: &Oidc,
        db: &DatabaseConnection,
        cache: &TokenCache,
    ) -> ApiResult<Self> {
        let Some(value) = header else { return Ok(Self::Anonymous) };
        let token = value
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or(ApiError::Unauthenticated("use `Authorization: Bearer <token>`"))?;
        let peek = jsonwebtoken::dangerous::insecure_decode_claims::<Peek>(token).ok();
        let issuer = peek.as_ref().and_then(|p| p.iss.clone());
        if let Some(issuer) = issuer.filter(|iss| oidc.trusts(iss)) {
            let identity = oidc.verify(token).await.map_err(|e| {
                tracing::info!(error = %e, issuer = %issuer, "rejected identity provider token");
                match e {
                    OidcError::Expired => ApiError::Unauthenticated("the token has expired"),
                    _ => ApiError::Unauthenticated("the token is not valid"),
                }
            })?;
            // Verified just now, so its `exp` can be trusted.
            let expires_at = peek.and_then(|p| p.exp);
            let key =
                cache::Key::Person { issuer: identity.issuer.clone(), subject: identity.subject.clone() };
            let grant = match cache.get(&key) {
                Some(cache::Entry::Grant(grant)) => grant.map(|g| *g),
                _ => {
                    let grant = GrantService::live_for(db, &identity.issuer, &identity.subject).await?;
                    cache.put(key, cache::Entry::Grant(grant.clone().map(Box::new)));
                    grant
                }
            };
            return match grant {
                Some(grant) => Actor::from_grant(grant, identity, expires_at).map(Self::Signed),
                None => Ok(Self::Unbound(identity)),
            };
        }
        let claims = jwt.verify(token).map_err(|e| {
            tracing::info!(error = %e, "rejected token");
            match e {
                TokenError::Jwt(e) => match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        ApiError::Unauthenticated("the token has expired")
                    }
                    jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                        ApiError::Unauthenticated("the token is not valid yet")
                    }
                    _ => ApiError::Unauthenticated("the token is not valid"),
                },
                TokenError::Claim(why) => ApiError::Unauthenticated(why),
            }
        })?;
        Actor::resolve(claims, db, cache).await.map(Self::Signed)
    }

    /// The signed-in actor; UNAUTHENTICATED for anonymous callers, FORBIDDEN for a person
    /// without an access grant.
    pub fn actor(&self) -> ApiResult<&Actor> {
        match self {
            Self::Signed(actor) => Ok(actor),
            Self::Anonymous => Err(ApiError::Unauthenticated("this needs a signed-in caller")),
            Self::Unbound(_) => Err(ApiError::Forbidden(
                "do this yet: your sign-in has no access grant; redeem the invitation a city admin gave you",
            )),
        }
    }
}

impl Actor {
    /// Turns claims into a scope: a slug, URN or group UID that names nothing here is refused
    /// (and not kept, so that it counts once it is created).
    async fn resolve(claims: Claims, db: &DatabaseConnection, cache: &TokenCache) -> ApiResult<Self> {
        let key = cache::Key::Claims {
            role: claims.role,
            partnership: claims.partnership.clone(),
            trust: claims.trust.clone(),
            school: claims.school,
        };
        let (scope, partnerships) = match cache.get(&key) {
            Some(cache::Entry::Claims { scope, partnerships }) => (scope, partnerships),
            _ => {
                let (scope, partnerships) = Self::scope_of(&claims, db).await?;
                cache.put(key, cache::Entry::Claims { scope, partnerships: partnerships.clone() });
                (scope, partnerships)
            }
        };
        Ok(Self {
            expires_at: Some(claims.exp),
            subject: claims.sub,
            display_name: claims.name,
            role: claims.role,
            scope,
            partnerships,
            grant: None,
        })
    }

    /// The scope and readable partnerships the claims name, from the registry.
    async fn scope_of(claims: &Claims, db: &DatabaseConnection) -> ApiResult<(Scope, Vec<Uuid>)> {
        Ok(match claims.role {
            Role::CityAdmin | Role::Partner | Role::Assessor => {
                let slug = claims
                    .partnership
                    .as_deref()
                    .ok_or(ApiError::Unauthenticated("the token names no partnership"))?;
                if !crate::validate::matchable(slug) {
                    return Err(ApiError::Unauthenticated("the token names an unknown partnership"));
                }
                let id = partnership::Entity::find()
                    .select_only()
                    .column(partnership::Column::Id)
                    .filter(partnership::Column::Slug.eq(slug))
                    .into_tuple::<Uuid>()
                    .one(db)
                    .await?
                    .ok_or(ApiError::Unauthenticated("the token names an unknown partnership"))?;
                (Scope::Partnership(id), vec![id])
            }
            Role::TrustLead => {
                let uid =
                    claims.trust.as_deref().ok_or(ApiError::Unauthenticated("the token names no trust"))?;
                if !crate::validate::matchable(uid) {
                    return Err(ApiError::Unauthenticated("the token names an unknown trust"));
                }
                let id = trust::Entity::find()
                    .select_only()
                    .column(trust::Column::Id)
                    .filter(trust::Column::GroupUid.eq(uid))
                    .into_tuple::<Uuid>()
                    .one(db)
                    .await?
                    .ok_or(ApiError::Unauthenticated("the token names an unknown trust"))?;
                let partnerships = partnership_school::Entity::find()
                    .select_only()
                    .column(partnership_school::Column::PartnershipId)
                    .distinct()
                    .inner_join(school::Entity)
                    .filter(school::Column::TrustId.eq(id))
                    .into_tuple::<Uuid>()
                    .all(db)
                    .await?;
                (Scope::Trust(id), partnerships)
            }
            Role::SchoolLead => {
                let urn = claims.school.ok_or(ApiError::Unauthenticated("the token names no school"))?;
                let rows: Vec<(Uuid, Option<Uuid>)> = school::Entity::find()
                    .select_only()
                    .column(school::Column::Id)
                    .column(partnership_school::Column::PartnershipId)
                    .left_join(partnership_school::Entity)
                    .filter(school::Column::Urn.eq(urn))
                    .into_tuple()
                    .all(db)
                    .await?;
                let id = rows
                    .first()
                    .map(|r| r.0)
                    .ok_or(ApiError::Unauthenticated("the token names an unknown school"))?;
                (Scope::School(id), rows.into_iter().filter_map(|r| r.1).collect())
            }
        })
    }

    /// A person acting with an access grant: the grant's role, scoped to its partnership.
    fn from_grant(
        grant: access_grant::Model,
        identity: Identity,
        expires_at: Option<i64>,
    ) -> ApiResult<Self> {
        let role: Role = grant.role.parse().map_err(|e: String| anyhow::anyhow!(e))?;
        let broken =
            || ApiError::from(anyhow::anyhow!("access grant {} has no scope for its role", grant.id));
        let scope = match role {
            Role::CityAdmin | Role::Partner | Role::Assessor => Scope::Partnership(grant.partnership_id),
            Role::TrustLead => Scope::Trust(grant.trust_id.ok_or_else(broken)?),
            Role::SchoolLead => Scope::School(grant.school_id.ok_or_else(broken)?),
        };
        Ok(Self {
            subject: identity.subject,
            display_name: identity.name,
            role,
            scope,
            partnerships: vec![grant.partnership_id],
            grant: Some(grant.id),
            expires_at,
        })
    }
}

/// Reads a file holding a key or secret, naming the file when it can't.
pub fn read_key(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read key file {}", path.display()))
}
