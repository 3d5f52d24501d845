//! The partnership API: a GraphQL service that steers a partnership's schools through an
//! AI-in-education certification. See README.md.

pub mod access;
pub mod audit;
pub mod auth;
pub mod batch;
pub mod certificate;
pub mod certification;
pub mod cli;
pub mod cohort;
pub mod comparison;
pub mod config;
pub mod cost;
pub mod db;
pub mod error;
pub mod events;
pub mod framework;
pub mod grant;
pub mod graphql;
pub mod http;
pub mod ids;
pub mod import;
pub mod loaders;
pub mod mentorship;
pub mod metrics;
pub mod oidc;
pub mod partnership;
pub mod plan;
pub mod policy;
pub mod progress;
pub mod review;
pub mod scalars;
pub mod school;
pub mod seed;
pub mod serve;
pub mod trust;
pub mod validate;

use sea_orm::DatabaseConnection;

pub use graphql::{ApiSchema, schema_builder, sdl};
pub use http::router;

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub jwt: auth::Jwt,
    /// Identity providers whose people sign in with access grants; empty: none configured.
    pub oidc: oidc::Oidc,
    /// The dashboard's sign-in through those providers; None: a token is pasted instead.
    pub sign_in: Option<std::sync::Arc<oidc::SignIn>>,
    /// How often an open WebSocket checks that its token is unexpired and its grant stands.
    pub grant_recheck: std::time::Duration,
    /// Set to true when the server starts shutting down: open WebSockets then close.
    pub shutdown: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// The served schema, and where its operations run.
    pub schema: http::Runner,
    /// Stage changes, live: one bus per instance, shared by the schema and the WebSocket side.
    pub events: events::EventBus,
    /// Ceilings on every request: body size, query length, fields, aliases, cost.
    pub limits: cost::Limits,
    /// Origins whose pages may call from a browser; empty: none.
    pub cors_origins: Vec<String>,
    /// The WebSockets open now, held against `limits.max_websockets`.
    pub sockets: metrics::Sockets,
    /// Requests a minute per client address and per signed-in caller; none by default.
    pub rate_limits: http::RateLimits,
    /// What verified tokens resolved to, kept a short while (cleared by every mutation).
    pub tokens: auth::TokenCache,
    /// The progress facts queries read, kept a few seconds (cleared by every mutation).
    pub facts: progress::FactsCache,
    /// Certificates after the award: credentials, their keys and status lists, public pages.
    pub certificates: certificate::CertificateService,
}

impl AppState {
    pub fn new(db: DatabaseConnection, jwt: auth::Jwt) -> Self {
        let events = events::EventBus::new(&db);
        let tokens = auth::TokenCache::default();
        let facts = progress::FactsCache::default();
        let certificates = certificate::CertificateService::new(
            db.clone(),
            events.clone(),
            certificate::Credentials::ephemeral(),
        );
        let schema = http::Runner::new(
            build_schema(&db, &events, &certificates),
            db.clone(),
            tokens.clone(),
            facts.clone(),
        );
        let oidc = oidc::Oidc::new(Vec::new(), String::new());
        let shutdown = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
        let (grant_recheck, limits) = (std::time::Duration::from_secs(5), cost::Limits::default());
        let (cors_origins, sockets) = (Vec::new(), metrics::Sockets::default());
        let rate_limits = http::RateLimits::default();
        Self {
            db,
            jwt,
            oidc,
            sign_in: None,
            grant_recheck,
            shutdown,
            schema,
            events,
            limits,
            cors_origins,
            sockets,
            rate_limits,
            tokens,
            facts,
            certificates,
        }
    }

    /// Signs and checks credentials with these keys, for this issuer (instead of a key made for
    /// this process alone).
    pub fn with_credentials(mut self, credentials: std::sync::Arc<certificate::Credentials>) -> Self {
        self.certificates =
            certificate::CertificateService::new(self.db.clone(), self.events.clone(), credentials);
        let schema = build_schema(&self.db, &self.events, &self.certificates);
        self.schema = http::Runner::new(schema, self.db.clone(), self.tokens.clone(), self.facts.clone());
        self
    }

    /// Lets pages of these origins call the API from a browser (CORS).
    pub fn with_cors_origins(mut self, origins: Vec<String>) -> Self {
        self.cors_origins = origins;
        self
    }

    /// Applies these request limits instead of the defaults.
    pub fn with_limits(mut self, limits: cost::Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Limits requests per client address and per signed-in caller (429 past them).
    pub fn with_rate_limits(mut self, rate_limits: http::RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Offers the dashboard's sign-in through the identity providers.
    pub fn with_sign_in(mut self, sign_in: Option<oidc::SignIn>) -> Self {
        self.sign_in = sign_in.map(std::sync::Arc::new);
        self
    }

    /// Trusts these identity providers' tokens too.
    pub fn with_oidc(mut self, oidc: oidc::Oidc) -> Self {
        self.oidc = oidc;
        self
    }
}

/// The served schema: every type from `schema_builder`, plus services and limits.
pub fn build_schema(
    db: &DatabaseConnection,
    events: &events::EventBus,
    certificates: &certificate::CertificateService,
) -> ApiSchema {
    schema_builder()
        .data(partnership::PartnershipService::new(db.clone()))
        .data(school::SchoolService::new(db.clone()))
        .data(trust::TrustService::new(db.clone()))
        .data(cohort::CohortService::new(db.clone()))
        .data(mentorship::MentorshipService::new(db.clone()))
        .data(import::ImportService::new(db.clone()))
        .data(policy::PolicyService::new(db.clone()))
        .data(plan::PlanService::new(db.clone()))
        .data(framework::FrameworkService::new(db.clone()))
        .data(grant::GrantService::new(db.clone()))
        .data(progress::graphql::ProgressService::new(db.clone()))
        .data(certification::CertificationService::new(db.clone(), events.clone()))
        .data(review::ReviewService::new(db.clone(), events.clone(), certificates.credentials_arc()))
        .data(certificates.clone())
        .data(events.clone())
        // No `limit_depth` or `limit_complexity`: `cost::Limits` measures every request (POST,
        // GET, WebSocket) before async-graphql sees it. async-graphql's depth counts
        // introspection's `ofType` chain, refusing what codegen tools send; its complexity is
        // our cost again (a page's size times what it holds) with a second, fixed ceiling that
        // would cap a configured MAX_COST, under another code.
        .finish()
}
