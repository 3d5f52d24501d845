//! `/auth/*`: the dashboard's sign-in through an identity provider (`oidc::SignIn`). The
//! browser goes to the provider and comes back to the callback, which ends on the dashboard
//! with the ID token in the URL's fragment (kept by the page, never sent to a server) or with
//! the reason it failed.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{
    AppState,
    oidc::{Provider, SignIn, SignInError},
};

/// The cookie that ties a callback to the browser that began the sign-in.
const COOKIE: &str = "sign_in_state";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/providers", get(providers))
        .route("/auth/login", get(login))
        .route("/auth/callback", get(callback))
}

/// The identity providers the dashboard offers; empty when none is set up for sign-in.
async fn providers(State(state): State<AppState>) -> Json<Vec<Provider>> {
    Json(state.sign_in.as_ref().map(|s| s.providers()).unwrap_or_default())
}

/// `?provider=ID`: sends the browser to that provider, with this sign-in's state in a cookie.
async fn login(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let Some(sign_in) = &state.sign_in else { return back(Err(SignInError::UnknownProvider), None) };
    match sign_in.start(params.get("provider").map(String::as_str).unwrap_or_default()).await {
        Ok(started) => with_cookie(redirect(&started.location), &state_cookie(sign_in, &started.state, 600)),
        Err(e) => back(Err(e), None),
    }
}

/// Where the provider sends the browser back: `?code&state`, or `?error`.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(sign_in) = &state.sign_in else { return back(Err(SignInError::UnknownProvider), None) };
    let clear = state_cookie(sign_in, "", 0);
    let result = async {
        if let Some(error) = params.get("error") {
            // The provider's error code, shown only when it looks like one (RFC 6749: ASCII).
            let code = error.chars().take(40).filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            return Err(SignInError::Refused(code));
        }
        let (Some(state), Some(code)) = (params.get("state"), params.get("code")) else {
            return Err(SignInError::UnknownState);
        };
        if cookie(&headers, COOKIE) != Some(state.as_str()) {
            return Err(SignInError::UnknownState);
        }
        sign_in.finish(state, code).await
    };
    back(result.await, Some(&clear))
}

/// The cookie holding a sign-in's state for `max_age` seconds (`Secure` when the callback is https).
fn state_cookie(sign_in: &SignIn, state: &str, max_age: u32) -> String {
    let secure = if sign_in.secure() { "; Secure" } else { "" };
    format!("{COOKIE}={state}; Path=/auth; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// The dashboard, with the token or the failure in the fragment (and `cookie` set, if any).
fn back(result: Result<String, SignInError>, cookie: Option<&str>) -> Response {
    let fragment = match result {
        Ok(token) => format!("id_token={token}"),
        Err(e) => {
            tracing::info!(reason = %e, "a sign-in through an identity provider failed");
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("sign_in_error", &e.to_string())
                .finish()
        }
    };
    let response = redirect(&format!("/#{fragment}"));
    match cookie {
        Some(cookie) => with_cookie(response, cookie),
        None => response,
    }
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(cookie) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let h = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(location) {
        h.insert(header::LOCATION, location);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

/// The value of cookie `name` in the request, if any.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(k, v)| (k == name).then_some(v))
}
