//! Test harness: a migrated database of its own for every test (a SQLite file in a temp
//! folder, or a throwaway schema in `TEST_DATABASE_URL`), the real router, real tokens.

pub mod arbitrary;
pub mod fixtures;
pub mod oidc;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use api::{
    AppState,
    auth::{Jwt, Role, TokenRequest},
    db,
    events::EventBus,
    seed,
};
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
pub const ISSUER: &str = "partnership-api";
pub const AUDIENCE: &str = "partnership-api";

pub struct TestApp {
    pub db: DatabaseConnection,
    pub jwt: Jwt,
    /// This instance's event bus (the one its schema publishes to and subscribes from).
    pub events: EventBus,
    /// What this instance's verified tokens resolved to.
    pub tokens: api::auth::TokenCache,
    /// The progress facts this instance's queries share.
    pub facts: api::progress::FactsCache,
    router: Router,
    statements: Arc<AtomicUsize>,
    /// How `db` was connected, to connect a second instance to the same database.
    options: ConnectOptions,
    _dir: Option<tempfile::TempDir>,
}

/// A GraphQL answer with helpers to read it.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// The `extensions.code` of every error, in order.
    pub fn codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errs| {
                errs.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned()).collect()
            })
            .unwrap_or_default()
    }

    /// Panics with the whole answer unless there were no errors.
    pub fn ok(self) -> Value {
        assert!(self.body.get("errors").is_none(), "unexpected errors: {:#}", self.body);
        assert_eq!(self.status, StatusCode::OK);
        self.body["data"].clone()
    }

    /// Asserts exactly one error with `code`, an HTTP 200, and no SQL in the message.
    pub fn fails_with(&self, code: &str) -> &Value {
        assert_eq!(self.codes(), vec![code.to_owned()], "answer: {:#}", self.body);
        assert_eq!(self.status, StatusCode::OK);
        let message = self.body["errors"][0]["message"].as_str().unwrap_or_default().to_lowercase();
        for leak in ["select ", "insert ", "sqlx", "constraint", "syntax error"] {
            assert!(!message.contains(leak), "error leaks internals: {message}");
        }
        &self.body["errors"][0]
    }
}

static SCHEMA_SEQ: AtomicUsize = AtomicUsize::new(0);

impl TestApp {
    /// An empty, migrated database.
    pub async fn spawn() -> Self {
        let (options, dir) = match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => (postgres_schema(&url).await, None),
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                (ConnectOptions::new(url), Some(dir))
            }
        };
        let mut db = db::connect_with(options.clone()).await.expect("connect");
        db::migrate(&db).await.expect("migrate");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let print = std::env::var_os("PRINT_SQL").is_some();
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::SeqCst);
            if print {
                eprintln!("SQL: {}", info.statement.sql);
            }
        });
        let jwt = Jwt::hs256(SECRET, ISSUER, AUDIENCE);
        let state = AppState::new(db.clone(), jwt.clone());
        let (events, tokens, facts) = (state.events.clone(), state.tokens.clone(), state.facts.clone());
        let router = api::router(state);
        Self { db, jwt, events, tokens, facts, router, statements, options, _dir: dir }
    }

    /// A second instance of the API on this one's database (its own pool and event bus), as
    /// a second server process would be. It shares the token key; `_dir` stays with `self`.
    pub async fn second_instance(&self) -> Self {
        let db = db::connect_with(self.options.clone()).await.expect("connect again");
        let state = AppState::new(db.clone(), self.jwt.clone());
        let (events, tokens, facts) = (state.events.clone(), state.tokens.clone(), state.facts.clone());
        let router = api::router(state);
        let statements = Arc::new(AtomicUsize::new(0));
        Self {
            db,
            jwt: self.jwt.clone(),
            events,
            tokens,
            facts,
            router,
            statements,
            options: self.options.clone(),
            _dir: None,
        }
    }

    /// Serves the router on a free local port, for clients that need a real socket
    /// (WebSocket). The server runs until the test's runtime ends.
    pub async fn listen(&self) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let router = self.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                eprintln!("test server stopped: {e}");
            }
        });
        addr
    }

    /// This app, trusting tokens from these identity providers too (a fresh router and bus),
    /// and checking open WebSockets' tokens and grants every 100 ms.
    pub fn with_oidc(self, oidc: api::oidc::Oidc) -> Self {
        let state = AppState::new(self.db.clone(), self.jwt.clone()).with_oidc(oidc);
        self.serving(state)
    }

    /// As `with_oidc`, offering the dashboard's sign-in through those providers too.
    pub fn with_sign_in(self, oidc: api::oidc::Oidc, sign_in: api::oidc::SignIn) -> Self {
        let state =
            AppState::new(self.db.clone(), self.jwt.clone()).with_oidc(oidc).with_sign_in(Some(sign_in));
        self.serving(state)
    }

    /// This app, signing and checking credentials with these keys for this issuer (a fresh
    /// router and bus on the same database), as a restarted server with other keys would.
    pub fn with_credentials(self, credentials: std::sync::Arc<api::certificate::Credentials>) -> Self {
        let state = AppState::new(self.db.clone(), self.jwt.clone()).with_credentials(credentials);
        self.serving(state)
    }

    /// This app's database behind a router on `state`.
    fn serving(mut self, mut state: AppState) -> Self {
        state.grant_recheck = std::time::Duration::from_millis(100);
        self.events = state.events.clone();
        (self.tokens, self.facts) = (state.tokens.clone(), state.facts.clone());
        self.router = api::router(state);
        self
    }

    /// A database with the demo city loaded.
    pub async fn with_demo() -> Self {
        let app = Self::spawn().await;
        seed::demo(&app.db).await.expect("demo");
        app
    }

    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == sea_orm::DatabaseBackend::Postgres
    }

    /// SQL statements run since the last reset.
    pub fn statements(&self) -> usize {
        self.statements.load(Ordering::SeqCst)
    }

    /// Sends one request with `token`, so that what it names is resolved and kept: statement
    /// counts measured next are the query's own.
    pub async fn warm(&self, token: &str) {
        self.gql(Some(token), "{ me { role } }", json!({})).await.ok();
    }

    pub fn reset_statements(&self) {
        self.statements.store(0, Ordering::SeqCst);
    }

    /// A token for `role` in the demo city (or the given scope).
    pub fn token(&self, role: Role) -> TokenBuilder<'_> {
        let mut req = TokenRequest::new(role);
        if matches!(role, Role::CityAdmin | Role::Partner | Role::Assessor) {
            req.partnership = Some(seed::DEMO_SLUG.to_owned());
        }
        TokenBuilder { app: self, req }
    }

    /// Posts a GraphQL document with optional bearer token and variables.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Answer {
        post(self.router.clone(), token, query, variables).await
    }

    pub async fn send(&self, req: Request<Body>) -> Answer {
        send(self.router.clone(), req).await
    }

    /// GETs `path` with an optional bearer token: the status, the content type and the body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, String, String) {
        let mut req = Request::get(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let res = self.router().oneshot(req.body(Body::empty()).expect("request")).await.expect("response");
        let status = res.status().as_u16();
        let kind =
            res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, kind, String::from_utf8(body.to_vec()).expect("UTF-8"))
    }

    /// The router, to send requests from tasks of their own.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Row count of a table, straight from the database.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// Posts a GraphQL document to `router`.
pub async fn post(router: Router, token: Option<&str>, query: &str, variables: Value) -> Answer {
    let mut req = Request::post("/graphql").header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = json!({ "query": query, "variables": variables }).to_string();
    send(router, req.body(Body::from(body)).expect("request")).await
}

async fn send(router: Router, req: Request<Body>) -> Answer {
    let res = router.oneshot(req).await.expect("router answers");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer { status, body }
}

pub struct TokenBuilder<'a> {
    app: &'a TestApp,
    req: TokenRequest,
}

impl TokenBuilder<'_> {
    pub fn partnership(mut self, slug: &str) -> Self {
        self.req.partnership = Some(slug.to_owned());
        self
    }
    pub fn school(mut self, urn: i32) -> Self {
        self.req.school = Some(urn);
        self
    }
    pub fn trust(mut self, uid: &str) -> Self {
        self.req.trust = Some(uid.to_owned());
        self
    }
    pub fn sign(self) -> String {
        self.app.jwt.sign(self.req, chrono::Duration::hours(1)).expect("sign")
    }
}

/// TEST_DATABASE_URL, for tests marked `#[cfg_attr(not(postgres), ignore = ...)]`: they only
/// run when it was set as the suite was built.
pub fn postgres_url() -> String {
    std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()).expect("TEST_DATABASE_URL (PostgreSQL)")
}

/// A fresh schema in the PostgreSQL database, named after this process so that schemas left
/// by dead test processes can be dropped.
async fn postgres_schema(url: &str) -> ConnectOptions {
    static CLEANED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let admin = db::connect(url).await.expect("connect to TEST_DATABASE_URL");
    CLEANED
        .get_or_init(|| async {
            let rows = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    sea_orm::DatabaseBackend::Postgres,
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'test\\_%'",
                ))
                .await
                .expect("list schemas");
            for row in rows {
                let name: String = row.try_get("", "nspname").expect("nspname");
                let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
                let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
                if !alive {
                    let _ =
                        admin.execute_unprepared(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).await;
                }
            }
        })
        .await;
    let schema = format!("test_{}_{}", std::process::id(), SCHEMA_SEQ.fetch_add(1, Ordering::SeqCst));
    admin.execute_unprepared(&format!("CREATE SCHEMA \"{schema}\"")).await.expect("create schema");
    let mut options = ConnectOptions::new(url);
    options.set_schema_search_path(schema).max_connections(6).min_connections(6);
    options
}
