//! The public documents of certificates, outside GraphQL so that any verifier, wallet or
//! browser can fetch them: the issuer's keys and profile, frameworks and achievements,
//! credentials and status lists (a JWT, or JSON on `Accept: application/json`), `POST
//! /verify`, and each certificate's page, printable certificate and badge.

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE},
    },
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

use super::{CertificateService, CertificateView, graphql::MAX_JWT_BYTES, render};
use crate::{AppState, certification::journey::today, error::ApiError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/issuer", get(issuer))
        .route("/frameworks/{slug}", get(framework))
        .route("/achievements/{slug}/{level}", get(achievement))
        .route("/credentials/status/{list}", get(status_list))
        .route("/credentials/{id}", get(credential))
        .route("/verify", post(verify))
        .route("/certificates/{number}", get(page))
        .route("/certificates/{number}/certificate.svg", get(certificate_svg))
        .route("/certificates/{number}/badge.svg", get(badge_svg))
}

fn service(state: &AppState) -> &CertificateService {
    &state.certificates
}

/// A document with its type, cacheable by anyone for `max_age` seconds.
fn document(content_type: &'static str, max_age: u32, body: impl Into<axum::body::Body>) -> Response {
    let cache = HeaderValue::from_str(&format!("public, max-age={max_age}"))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    let mut response = (StatusCode::OK, body.into()).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(CACHE_CONTROL, cache);
    response
}

fn json(value: &Value, max_age: u32) -> Response {
    document("application/json", max_age, value.to_string())
}

/// Whether the caller asked for JSON rather than the JWT.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") || a.contains("application/ld+json"))
}

/// A signed document: the compact JWT, or its payload as JSON when asked.
fn signed(headers: &HeaderMap, jwt: &str, max_age: u32) -> Response {
    if wants_json(headers) {
        let payload = jwt
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .unwrap_or(Value::Null);
        return json(&payload, max_age);
    }
    document("application/vc+jwt", max_age, jwt.to_owned())
}

async fn jwks(State(state): State<AppState>) -> Response {
    json(&service(&state).credentials().keys.jwks(), 300)
}

async fn issuer(State(state): State<AppState>) -> Response {
    json(&service(&state).credentials().issuer.profile(), 3600)
}

async fn framework(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Response, ApiError> {
    Ok(json(&service(&state).framework(&slug).await?, 3600))
}

async fn achievement(
    State(state): State<AppState>,
    Path((slug, level)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(json(&service(&state).achievement(&slug, &level).await?, 3600))
}

async fn status_list(
    State(state): State<AppState>,
    Path(list): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let list = list.parse::<i32>().map_err(|_| ApiError::NotFound("status list".into()))?;
    let (_, jwt) = service(&state).status_list(list).await?;
    // Verifiers learn of a revocation within a minute.
    Ok(signed(&headers, &jwt, 60))
}

async fn credential(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = id.parse().map_err(|_| ApiError::NotFound("credential".into()))?;
    let credential = service(&state).credential(id).await?;
    Ok(signed(&headers, &credential.jwt, 3600))
}

/// Checks a credential sent as the body: the compact JWT itself, or JSON
/// `{"credential": "<jwt>"}`. The answer is 200 with the verdict, valid or not.
async fn verify(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    if body.len() > MAX_JWT_BYTES {
        return Err(ApiError::invalid("credential", "longer than any credential this service issues"));
    }
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("credential", "not UTF-8 text"))?;
    let jwt = if text.trim_start().starts_with('{') {
        let value: Value =
            serde_json::from_str(text).map_err(|_| ApiError::invalid("credential", "not a JSON object"))?;
        value["credential"].as_str().map(str::to_owned).ok_or_else(|| {
            ApiError::invalid("credential", "give the JWT as the body or as {\"credential\": \"...\"}")
        })?
    } else {
        text.trim().to_owned()
    };
    let verdict = service(&state).verify(&jwt).await?;
    Ok(json(&serde_json::to_value(verdict).unwrap_or_default(), 0))
}

/// The certificate numbered `number`, and the URL of its page.
async fn view(state: &AppState, number: &str) -> Result<(CertificateView, String), ApiError> {
    let view = service(state).certificate(number).await?;
    let url = service(state).credentials().issuer.certificate_url(&view.number);
    Ok((view, url))
}

fn card<'a>(
    state: &'a AppState,
    view: &'a CertificateView,
    page_url: &'a str,
    credential_url: Option<&'a str>,
) -> render::Card<'a> {
    let issuer = &service(state).credentials().issuer;
    render::Card {
        number: &view.number,
        school_name: &view.school_name,
        urn: view.urn,
        framework_name: &view.framework_name,
        level_name: &view.level_name,
        level_rank: view.level_rank,
        level_count: view.level_count,
        awarded_on: view.awarded_on,
        expires_on: view.expires_on,
        standing: match view.revoked_on {
            Some(on) => render::Standing::Revoked { on },
            None if view.expires_on < today() => render::Standing::Expired,
            None => render::Standing::Valid,
        },
        issuer_name: &issuer.name,
        issuer_url: &issuer.url,
        page_url,
        credential_url,
    }
}

/// The public page; a plain HTML 404 for a number that is not a certificate.
async fn page(State(state): State<AppState>, Path(number): Path<String>) -> Result<Response, ApiError> {
    let (view, url) = match view(&state, &number).await {
        Ok(found) => found,
        Err(ApiError::NotFound(_)) => {
            let body = "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Not found</title>\
                        <p>No certificate has this number.</p></html>";
            let mut response = (StatusCode::NOT_FOUND, body).into_response();
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            return Ok(response);
        }
        Err(e) => return Err(e),
    };
    let credential_url = view.credential.map(|id| service(&state).credentials().issuer.credential_url(id));
    let html = render::page(&card(&state, &view, &url, credential_url.as_deref()), today());
    let mut response = document("text/html; charset=utf-8", 60, html);
    // Only the page's own inline styles and same-origin images; no scripts at all.
    response.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"),
    );
    Ok(response)
}

async fn certificate_svg(
    State(state): State<AppState>,
    Path(number): Path<String>,
) -> Result<Response, ApiError> {
    let (view, url) = view(&state, &number).await?;
    Ok(document("image/svg+xml", 60, render::certificate_svg(&card(&state, &view, &url, None))))
}

/// The level's badge, with the credential baked in (Open Badges 3.0 SVG baking) when issued.
async fn badge_svg(State(state): State<AppState>, Path(number): Path<String>) -> Result<Response, ApiError> {
    let (view, _) = view(&state, &number).await?;
    let jwt = match view.credential {
        Some(id) => Some(service(&state).credential(id).await?.jwt),
        None => None,
    };
    let svg = render::badge_svg(&view.framework_name, &view.level_name, view.level_rank, jwt.as_deref());
    Ok(document("image/svg+xml", 60, svg))
}
