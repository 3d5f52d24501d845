//! The one error type of the service and its mapping to GraphQL errors.

use std::sync::Arc;

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;

/// A bad row of an import: where it is and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, async_graphql::SimpleObject)]
pub struct RowError {
    /// Line number in the file, counting the header as line 1.
    pub line: u64,
    /// The column at fault, by its header name; null when the whole row is at fault.
    pub column: Option<String>,
    /// What is wrong, in words.
    pub message: String,
}

#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("sign in first: {0}")]
    Unauthenticated(&'static str),
    #[error("you cannot {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{0}")]
    Conflict(String),
    #[error("not ready to submit: {}", .0.join("; "))]
    NotReady(Vec<String>),
    #[error("{} bad row(s); nothing was imported", .0.len())]
    BadRows(Vec<RowError>),
    /// The database cancelled a statement past DATABASE_STATEMENT_TIMEOUT_SECS, or no
    /// connection came free within DATABASE_ACQUIRE_TIMEOUT_SECS. The cause is logged only.
    #[error("the database took too long to answer: try again, or ask for less at once")]
    Timeout,
    #[error("something went wrong on our side")]
    Internal(Arc<anyhow::Error>),
}

impl ApiError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { field, reason: reason.into() }
    }

    /// This error as a GraphQL error, code included.
    pub fn into_gql(self) -> async_graphql::Error {
        ErrorExtensions::extend(&self)
    }

    /// The stable code clients switch on. Add codes; never rename one.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Invalid { .. } | Self::BadRows(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::NotReady(_) => "NOT_READY",
            Self::Timeout => "TIMEOUT",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::Internal(Arc::new(err))
    }
}

/// True when `err` says the statement ran out of time (PostgreSQL's `query_canceled`, SQLSTATE
/// 57014, which `statement_timeout` raises) or the pool had no connection to give in time.
pub fn is_timeout(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout) => true,
        DbErr::Exec(sea_orm::RuntimeErr::SqlxError(e)) | DbErr::Query(sea_orm::RuntimeErr::SqlxError(e)) => {
            matches!(&**e, sea_orm::sqlx::Error::Database(d) if d.code().as_deref() == Some("57014"))
        }
        _ => false,
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if is_timeout(&err) {
            tracing::warn!(error = %err, "database timeout");
            return Self::Timeout;
        }
        // A constraint the service did not check first (a race, usually) is the caller's
        // conflict, not our failure; its SQL text still stays in the log.
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                tracing::warn!(error = %err, "unique constraint violated");
                Self::Conflict("that record already exists".into())
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                tracing::warn!(error = %err, "foreign key constraint violated");
                Self::Conflict("that change refers to a record that does not exist or is still in use".into())
            }
            _ => anyhow::Error::from(err).into(),
        }
    }
}

impl From<Arc<DbErr>> for ApiError {
    fn from(err: Arc<DbErr>) -> Self {
        if is_timeout(&err) {
            tracing::warn!(error = %err, "database timeout");
            return Self::Timeout;
        }
        anyhow::anyhow!("{err}").into()
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
        }
        let code = self.code();
        let err = async_graphql::Error::new(self.to_string());
        match self {
            Self::BadRows(rows) => err.extend_with(|_, e| {
                e.set("code", code);
                e.set("rows", async_graphql::to_value(rows).unwrap_or(async_graphql::Value::Null));
            }),
            Self::NotReady(missing) => err.extend_with(|_, e| {
                e.set("code", code);
                e.set("missing", missing.clone());
            }),
            _ => err.extend_with(|_, e| e.set("code", code)),
        }
    }
}

/// Ends a resolver: converts a service result into a GraphQL result that keeps its code.
pub trait Extend<T> {
    fn extend(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<ApiError>> Extend<T> for Result<T, E> {
    fn extend(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().extend())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
