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
            // Per-area self-assessment shares are drafts: only the partnership's city admins,
            // who read every member school in full, get those columns.
            start(&state, &viewer, &params).await.map(|(p, req)| {
                let shares = viewer.actor().ok().and_then(|a| a.admin_of().ok()) == Some(p.id);
                (p, req, shares)
            })
        }
        Err(e) => Err(e),
    };
    match started {
        Ok((p, req, shares)) => {
            tracing::info!(partnership = %p.slug, as_of = %req.as_of, "CSV export");
            let name = format!("{}-schools-{}.csv", p.slug, req.as_of);
            csv_file(Body::from_stream(rows(state.db.clone(), state.facts.clone(), p, req, shares)), &name)
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /reports/actions.csv?partnership=SLUG[&asOf=YYYY-MM-DD]`: the member schools' action
/// plans, for the partnership's city admins only.
pub async fn actions_csv(
    State(state): State<AppState>,
    viewer: Result<Viewer, ApiError>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let answer = async {
        let viewer = viewer?;
        if let Some(throttled) = state.rate_limits.refuse_caller(&viewer) {
            return Ok(throttled);
        }
        let (p, req) = start(&state, &viewer, &params).await?;
        if viewer.actor()?.admin_of()? != p.id {
            return Err(ApiError::Forbidden("export action plans: only the partnership's city admins can"));
        }
        let body = crate::plan::export::csv(&state.db, &p, req.as_of).await?;
        tracing::info!(partnership = %p.slug, as_of = %req.as_of, "action plans export");
        Ok(csv_file(Body::from(body), &format!("{}-actions-{}.csv", p.slug, req.as_of)))
    };
    answer.await.unwrap_or_else(|e: ApiError| e.into_response())
}

/// A CSV download named `file`.
fn csv_file(body: Body, file: &str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
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
