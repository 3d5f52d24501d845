//! `GET /reports/schools.csv`: the caller and the parameters checked before the first byte, then
//! `progress::export`'s rows streamed as they are read.

use std::collections::HashMap;

use axum::{
    body::Body,
    extract::{Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use entity::{cohort, partnership};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    AppState,
    auth::Viewer,
    error::{ApiError, ApiResult},
    progress::export::{Request, rows},
};

pub async fn schools_csv(
    State(state): State<AppState>,
    viewer: Result<Viewer, ApiError>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let started = match viewer {
        Ok(viewer) => {
            if let Some(throttled) = state.rate_limits.refuse_caller(&viewer) {
                return throttled;
            }
            start(&state, &viewer, &params).await
        }
        Err(e) => Err(e),
    };
    match started {
        Ok((p, req)) => {
            tracing::info!(partnership = %p.slug, as_of = %req.as_of, "CSV export");
            let name = format!("attachment; filename=\"{}-schools-{}.csv\"", p.slug, req.as_of);
            let mut res = Body::from_stream(rows(state.db.clone(), p, req)).into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Err(e) => e.into_response(),
    }
}

/// Checks the caller and the parameters before the first byte is sent.
async fn start(
    state: &AppState,
    viewer: &Viewer,
    params: &HashMap<String, String>,
) -> ApiResult<(partnership::Model, Request)> {
    viewer.actor()?;
    let req = Request::parse(params)?;
    let p = partnership::Entity::find()
        .filter(partnership::Column::Slug.eq(&req.partnership))
        .one(&state.db)
        .await?
        .filter(|p| viewer.can_read_partnership(p.id))
        .ok_or_else(|| ApiError::NotFound(format!("partnership {:?}", req.partnership)))?;
    if let Some(c) = req.filter.cohort {
        cohort::Entity::find_by_id(c)
            .filter(cohort::Column::PartnershipId.eq(p.id))
            .one(&state.db)
            .await?
            .ok_or_else(|| ApiError::NotFound("cohort".into()))?;
    }
    Ok((p, req))
}
