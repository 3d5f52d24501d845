//! Settings, from flags or the environment, with defaults that run the demo as cloned.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::{Context as _, bail, ensure};
use clap::{Args, ValueEnum};

use crate::{
    auth::{Jwt, read_key},
    cost::Limits,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Local use: a missing JWT secret is generated once and kept beside the data.
    Development,
    /// A real deployment: JWT settings must be given; nothing secret is invented.
    Production,
}

/// Settings shared by every subcommand.
#[derive(Clone, Debug, Args)]
pub struct Config {
    /// Database to use: `sqlite://FILE?mode=rwc` or `postgres://...`.
    #[arg(long, global = true, env = "DATABASE_URL", default_value = "sqlite://partnership.db?mode=rwc")]
    pub database_url: String,
    /// `development` or `production`.
    #[arg(long, global = true, env = "APP_ENV", value_enum, default_value = "development")]
    pub mode: Mode,
    #[command(flatten)]
    pub jwt: JwtConfig,
    #[command(flatten)]
    pub oidc: OidcConfig,
}

/// How the database pool is made (`crate::db::Settings`; README "Configuration"). Beside
/// `Config` in `Cli` rather than in it, so code that builds a `Config` by hand need not name them.
#[derive(Clone, Debug, Args)]
pub struct DatabaseConfig {
    /// Connections in the pool, 1 to 1000. Default 8 on SQLite, 10 on PostgreSQL.
    #[arg(
        long,
        global = true,
        env = "DATABASE_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(1..=crate::db::MAX_CONNECTIONS_LIMIT as i64)
    )]
    pub database_max_connections: Option<u32>,
    /// PostgreSQL cancels a statement of `serve` that runs longer than this, in seconds, and
    /// the client gets `TIMEOUT`; 0: no limit. No effect on SQLite. Default 20.
    #[arg(
        long,
        global = true,
        env = "DATABASE_STATEMENT_TIMEOUT_SECS",
        default_value_t = crate::db::DEFAULT_STATEMENT_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(0..=86_400)
    )]
    pub database_statement_timeout_secs: u64,
    /// Seconds to wait for a free connection when all are busy (then `TIMEOUT`). Default 30.
    #[arg(
        long,
        global = true,
        env = "DATABASE_ACQUIRE_TIMEOUT_SECS",
        default_value_t = crate::db::DEFAULT_ACQUIRE_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub database_acquire_timeout_secs: u64,
    /// PostgreSQL plans each prepared statement once, for every value, rather than at every
    /// run (`plan_cache_mode = force_generic_plan`); false leaves PostgreSQL's own choice.
    /// No effect on SQLite. Default true.
    #[arg(
        long,
        global = true,
        env = "DATABASE_GENERIC_PLANS",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub database_generic_plans: bool,
}

impl DatabaseConfig {
    /// The pool settings these flags or variables ask for.
    pub fn settings(&self) -> crate::db::Settings {
        let secs = std::time::Duration::from_secs;
        crate::db::Settings {
            max_connections: self.database_max_connections,
            statement_timeout: Some(self.database_statement_timeout_secs).filter(|&s| s > 0).map(secs),
            acquire_timeout: secs(self.database_acquire_timeout_secs),
            generic_plans: self.database_generic_plans,
        }
    }
}

/// Identity providers whose people sign in with access grants (OpenID Connect).
#[derive(Clone, Debug, Args)]
pub struct OidcConfig {
    /// Trusted issuers, comma-separated: `ISSUER` (keys from its discovery document) or
    /// `ISSUER|JWKS_URL`. Empty: no sign-in through identity providers.
    #[arg(
        id = "oidc_issuers",
        long = "oidc-issuers",
        global = true,
        env = "OIDC_ISSUERS",
        default_value = ""
    )]
    pub issuers: String,
    /// The `aud` their tokens must carry: this service's client id at the provider.
    #[arg(
        id = "oidc_audience",
        long = "oidc-audience",
        global = true,
        env = "OIDC_AUDIENCE",
        default_value = "partnership-api"
    )]
    pub audience: String,
    /// This service's client secret at the providers. Set, the dashboard offers sign-in
    /// through each issuer (the authorization code flow, back to `PUBLIC_URL/auth/callback`).
    #[arg(id = "oidc_client_secret", long = "oidc-client-secret", global = true, env = "OIDC_CLIENT_SECRET")]
    pub client_secret: Option<String>,
}

/// Ceilings on every request (`crate::cost::Limits` says what each bounds; README "Configuration").
#[derive(Clone, Debug, Args)]
pub struct LimitsConfig {
    /// Longest query text, in bytes (data travels in variables). Default 65536.
    #[arg(
        long,
        env = "MAX_QUERY_BYTES",
        default_value_t = Limits::default().max_query_bytes as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_query_bytes: u64,
    /// Most fields a query expands to, each fragment counted every time it is spread. Default 5000.
    #[arg(
        long,
        env = "MAX_FIELDS",
        default_value_t = Limits::default().max_fields,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_fields: u64,
    /// Most aliases in a query. Default 100.
    #[arg(long, env = "MAX_ALIASES", default_value_t = Limits::default().max_aliases)]
    pub max_aliases: u64,
    /// Highest cost of a query: its fields weighted by list sizes. Default 100000.
    #[arg(
        long,
        env = "MAX_COST",
        default_value_t = Limits::default().max_cost,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_cost: u64,
    /// Largest request body on any route, in bytes. Default 8388608 (8 MiB).
    #[arg(
        long,
        env = "MAX_BODY_BYTES",
        default_value_t = Limits::default().max_body_bytes as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_body_bytes: u64,
    /// Longest a request may take until its answer starts, in seconds (408 past it). Default 30.
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = Limits::default().request_timeout_secs,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub request_timeout_secs: u64,
    /// Seconds a WebSocket may take to send `connection_init` (closed with 4408 past it). Default 5.
    #[arg(
        long,
        env = "WS_INIT_TIMEOUT_SECS",
        default_value_t = Limits::default().ws_init_timeout.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub ws_init_timeout_secs: u64,
    /// Most operations in flight on one WebSocket. Default 50.
    #[arg(
        long,
        env = "WS_MAX_OPERATIONS",
        default_value_t = Limits::default().ws_max_operations as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub ws_max_operations: u64,
    /// Most WebSockets open at once; one more upgrade is answered 503. Default 1000.
    #[arg(
        long,
        env = "MAX_WEBSOCKETS",
        default_value_t = Limits::default().max_websockets as u64,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_websockets: u64,
    /// Web origins whose pages may call the API from a browser (CORS), comma-separated, e.g.
    /// `https://dashboard.example.org`. Empty (the default): no cross-origin calls.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_allowed_origins: Vec<String>,
}

/// How tokens are verified (and minted by the `token` command).
#[derive(Clone, Args)]
pub struct JwtConfig {
    /// HS256 shared secret (at least 32 bytes in production).
    #[arg(long = "jwt-secret", global = true, env = "JWT_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// RS256 public key (PEM file); takes precedence over JWT_SECRET.
    #[arg(long = "jwt-public-key-file", global = true, env = "JWT_PUBLIC_KEY_FILE")]
    pub public_key_file: Option<PathBuf>,
    /// RS256 private key (PEM file), only to mint tokens with `token`.
    #[arg(long = "jwt-private-key-file", global = true, env = "JWT_PRIVATE_KEY_FILE")]
    pub private_key_file: Option<PathBuf>,
    /// Expected `iss` claim.
    #[arg(long = "jwt-issuer", global = true, env = "JWT_ISSUER", default_value = "partnership-api")]
    pub issuer: String,
    /// Expected `aud` claim.
    #[arg(long = "jwt-audience", global = true, env = "JWT_AUDIENCE", default_value = "partnership-api")]
    pub audience: String,
    /// The longest a service token may live (`exp - iat`), in hours, 1 to 8760; `token` signs
    /// no longer. Default 24.
    #[arg(
        long = "jwt-max-lifetime-hours",
        global = true,
        env = "JWT_MAX_LIFETIME_HOURS",
        default_value_t = crate::auth::DEFAULT_MAX_LIFETIME_HOURS,
        value_parser = clap::value_parser!(u32).range(1..=8760)
    )]
    pub max_lifetime_hours: u32,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("public_key_file", &self.public_key_file)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("max_lifetime_hours", &self.max_lifetime_hours)
            .finish_non_exhaustive()
    }
}

/// Settings of the `serve` command.
#[derive(Clone, Debug, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Load the synthetic demo partnership first, if the database does not have it yet.
    #[arg(long)]
    pub demo: bool,
    /// On SIGTERM or SIGINT, how long requests in flight may take to finish.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
    /// Seconds a client may take to send a request's headers, and an idle keep-alive connection
    /// may wait for its next request, before the connection is closed (slowloris). Default 10.
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT_SECS",
        default_value_t = crate::serve::DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_read_timeout_secs: u64,
    #[command(flatten)]
    pub limits: LimitsConfig,
    #[command(flatten)]
    pub rate_limits: RateLimitConfig,
    #[command(flatten)]
    pub credentials: CredentialConfig,
}

/// Who awards the certificates and with which keys their credentials are signed (README
/// "Certificates anyone can verify").
#[derive(Clone, Debug, Args)]
pub struct CredentialConfig {
    /// RSA keys (PEM files), comma-separated. The first private key signs; every key (a
    /// retired one may be its public half only) is published and verifies what it signed. In
    /// development, when empty, a key is made once and kept beside the SQLite database.
    #[arg(long, env = "CREDENTIAL_KEY_FILES", value_delimiter = ',')]
    pub credential_key_files: Vec<PathBuf>,
    /// This service's public address (scheme, host, optional port and path), the start of
    /// every URL in a credential. Default: http:// and BIND.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The awarding body's name, in every credential.
    #[arg(long, env = "ISSUER_NAME", default_value = "Partnership certification (development)")]
    pub issuer_name: String,
    /// The awarding body's web site. Default: PUBLIC_URL.
    #[arg(long, env = "ISSUER_URL")]
    pub issuer_url: Option<String>,
    /// The awarding body's e-mail address, if it gives one.
    #[arg(long, env = "ISSUER_EMAIL")]
    pub issuer_email: Option<String>,
}

/// Requests a minute per client (`http::RateLimits`; README "Configuration"): 429 past them.
#[derive(Clone, Debug, Args)]
pub struct RateLimitConfig {
    /// Requests a minute from one client address (IPv6: one /64) on every route but /health*
    /// and /metrics, all of which may come at once. 0: no limit. Default 600.
    #[arg(long, env = "RATE_LIMIT_PER_ADDRESS", default_value_t = crate::http::RateLimits::DEFAULT_PER_ADDRESS)]
    pub rate_limit_per_address: u32,
    /// Requests a minute from one signed-in caller (a person's grant or a token's subject), to
    /// /graphql and the reports. 0: no limit. Default 300.
    #[arg(long, env = "RATE_LIMIT_PER_SUBJECT", default_value_t = crate::http::RateLimits::DEFAULT_PER_SUBJECT)]
    pub rate_limit_per_subject: u32,
    /// Count a request against the right-most `X-Forwarded-For` entry rather than the peer. Set
    /// only behind a reverse proxy that appends it, or clients could pick their own address.
    #[arg(
        long,
        env = "TRUST_FORWARDED_FOR",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub trust_forwarded_for: bool,
}

impl Config {
    /// The identity-provider verifier; an unreadable OIDC_ISSUERS stops start-up.
    pub fn oidc(&self) -> anyhow::Result<crate::oidc::Oidc> {
        let issuers = crate::oidc::parse_issuers(&self.oidc.issuers).context("OIDC_ISSUERS")?;
        Ok(crate::oidc::Oidc::new(issuers, self.oidc.audience.clone()))
    }

    /// The dashboard's sign-in through the identity providers, when a client secret is set.
    pub fn sign_in(
        &self,
        oidc: &crate::oidc::Oidc,
        public_url: &str,
    ) -> anyhow::Result<Option<crate::oidc::SignIn>> {
        let Some(secret) = self.oidc.client_secret.clone().filter(|s| !s.is_empty()) else { return Ok(None) };
        let issuers = crate::oidc::parse_issuers(&self.oidc.issuers).context("OIDC_ISSUERS")?;
        ensure!(!issuers.is_empty(), "OIDC_CLIENT_SECRET is set but OIDC_ISSUERS names no identity provider");
        Ok(Some(crate::oidc::SignIn::new(oidc.clone(), issuers, secret, public_url)))
    }

    /// Builds the token verifier. In development a missing secret is created once, in a file
    /// beside the SQLite database (or the working folder), so `serve` and `token` agree.
    pub fn jwt(&self) -> anyhow::Result<Jwt> {
        Ok(self.jwt_verifier()?.with_max_lifetime_hours(self.jwt.max_lifetime_hours))
    }

    /// The verifier for the configured key, before the lifetime limit is applied.
    fn jwt_verifier(&self) -> anyhow::Result<Jwt> {
        let JwtConfig { secret, public_key_file, private_key_file, issuer, audience, .. } = &self.jwt;
        if let Some(public) = public_key_file {
            let private = private_key_file.as_deref().map(read_key).transpose()?;
            return Jwt::rs256(&read_key(public)?, private.as_deref(), issuer, audience);
        }
        if let Some(secret) = secret {
            if self.mode == Mode::Production && secret.len() < 32 {
                bail!("JWT_SECRET must be at least 32 bytes in production");
            }
            return Ok(Jwt::hs256(secret.as_bytes(), issuer, audience));
        }
        if self.mode == Mode::Production {
            bail!("in production, set JWT_SECRET (HS256) or JWT_PUBLIC_KEY_FILE (RS256)");
        }
        let path = self.beside_data("jwt-secret");
        let secret = match std::fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => s.trim().to_owned(),
            _ => {
                let s: String =
                    (0..48).map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16)])).collect();
                write_private(&path, &s)
                    .with_context(|| format!("cannot write development secret {}", path.display()))?;
                tracing::info!(path = %path.display(), "generated a development JWT secret");
                s
            }
        };
        Ok(Jwt::hs256(secret.as_bytes(), issuer, audience))
    }

    /// The credential issuer and its keys. In production the keys, PUBLIC_URL and ISSUER_NAME
    /// must be given; in development a missing key is made once beside the data.
    pub fn credentials(&self, serve: &ServeConfig) -> anyhow::Result<crate::certificate::Credentials> {
        let set = &serve.credentials;
        let production = self.mode == Mode::Production;
        if production && (set.public_url.is_none() || set.credential_key_files.is_empty()) {
            bail!("in production, set PUBLIC_URL and CREDENTIAL_KEY_FILES (and ISSUER_NAME)");
        }
        let base_url = match &set.public_url {
            Some(url) => parse_public_url(url)?,
            None => format!("http://{}", serve.bind),
        };
        let keys = if set.credential_key_files.is_empty() {
            let path = self.beside_data("credential-key.pem");
            if !path.exists() {
                write_private(&path, &crate::certificate::keys::generate_pem()?)
                    .with_context(|| format!("cannot write development credential key {}", path.display()))?;
                tracing::info!(path = %path.display(), "generated a development credential signing key");
            }
            crate::certificate::Keys::from_files(&[path])?
        } else {
            crate::certificate::Keys::from_files(&set.credential_key_files).context("CREDENTIAL_KEY_FILES")?
        };
        if keys.signing_kid().is_none() {
            bail!("CREDENTIAL_KEY_FILES: no private key to sign with (the first private key signs)");
        }
        let issuer_url = match &set.issuer_url {
            Some(url) => parse_public_url(url).context("ISSUER_URL")?,
            None => base_url.clone(),
        };
        let email = set.issuer_email.as_deref().map(str::trim).filter(|e| !e.is_empty());
        if email.is_some_and(|e| !e.contains('@')) {
            bail!("ISSUER_EMAIL is not an e-mail address");
        }
        Ok(crate::certificate::Credentials {
            keys,
            issuer: crate::certificate::Issuer {
                base_url,
                name: set.issuer_name.trim().to_owned(),
                url: issuer_url,
                email: email.map(str::to_owned),
            },
        })
    }

    /// A development file beside the SQLite database (`FILE.suffix`), else in the working folder.
    fn beside_data(&self, suffix: &str) -> PathBuf {
        let file = self
            .database_url
            .strip_prefix("sqlite://")
            .map(|rest| rest.split('?').next().unwrap_or(rest))
            .filter(|f| !f.is_empty() && !f.starts_with(':'));
        match file {
            Some(f) => PathBuf::from(format!("{f}.{suffix}")),
            None => PathBuf::from(format!(".partnership-api.{suffix}")),
        }
    }
}

/// An http(s) URL without a trailing slash, query or fragment.
fn parse_public_url(text: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(text.trim()).with_context(|| format!("{text:?} is not a URL"))?;
    if !matches!(url.scheme(), "https" | "http") || url.query().is_some() || url.fragment().is_some() {
        bail!("{text:?} is not an http(s) address without query or fragment");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

impl ServeConfig {
    /// How the server runs: its grace period and header-read timeout.
    pub fn serve_options(&self) -> crate::serve::Options {
        crate::serve::Options {
            grace: std::time::Duration::from_secs(self.shutdown_grace_secs),
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout_secs),
        }
    }

    /// The rate limits, from flags or the environment, else the defaults.
    pub fn rate_limits(&self) -> crate::http::RateLimits {
        let set = &self.rate_limits;
        crate::http::RateLimits::new(
            set.rate_limit_per_address,
            set.rate_limit_per_subject,
            set.trust_forwarded_for,
        )
    }

    /// The request limits, from flags or the environment, else the defaults.
    pub fn limits(&self) -> Limits {
        let bytes = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let set = &self.limits;
        Limits {
            max_query_bytes: bytes(set.max_query_bytes),
            max_fields: set.max_fields,
            max_aliases: set.max_aliases,
            max_cost: set.max_cost,
            max_body_bytes: bytes(set.max_body_bytes),
            request_timeout_secs: set.request_timeout_secs,
            ws_init_timeout: std::time::Duration::from_secs(set.ws_init_timeout_secs),
            ws_max_operations: usize::try_from(set.ws_max_operations).unwrap_or(usize::MAX),
            max_websockets: usize::try_from(set.max_websockets).unwrap_or(usize::MAX),
        }
    }

    /// The origins allowed to call from a browser; an entry that is not an origin stops start-up.
    pub fn cors_origins(&self) -> anyhow::Result<Vec<String>> {
        let mut out = Vec::new();
        for origin in self.limits.cors_allowed_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            let url = url::Url::parse(origin)
                .with_context(|| format!("CORS_ALLOWED_ORIGINS: {origin:?} is not a URL"))?;
            if !matches!(url.scheme(), "https" | "http") || url.path() != "/" || origin.ends_with('/') {
                bail!("CORS_ALLOWED_ORIGINS: {origin:?} is not an origin (scheme://host[:port], no path)");
            }
            out.push(origin.to_owned());
        }
        Ok(out)
    }

    /// `serve`'s settings when no subcommand is given: BIND from the environment, no demo.
    pub fn default_from_env() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeConfig,
        }
        Only::parse_from(["serve"]).serve
    }
}
