//! The dashboard's sign-in through an identity provider (issue 14): the authorization code
//! flow with PKCE against a test provider, ending on the dashboard with an ID token the API
//! accepts; and the ways it must fail.

use api::{
    auth::Role,
    oidc::{Oidc, SignIn},
};
use axum::{
    body::Body,
    http::{Request, header},
};
use serde_json::json;
use tests::{
    TestApp, fixtures,
    oidc::{OIDC_AUDIENCE, OIDC_CLIENT_SECRET, TestIssuer},
};
use tower::ServiceExt as _;

async fn world() -> (TestApp, TestIssuer) {
    let idp = TestIssuer::start().await;
    let oidc = Oidc::new(vec![idp.config()], OIDC_AUDIENCE);
    let sign_in =
        SignIn::new(oidc.clone(), vec![idp.config()], OIDC_CLIENT_SECRET.into(), "http://127.0.0.1:8080/");
    let app = TestApp::spawn().await.with_sign_in(oidc, sign_in);
    fixtures::partnership(&app.db, "signin", "Sign-in City").await;
    (app, idp)
}

/// A GET with an optional cookie: (status, Location, Set-Cookie, body).
async fn get(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String, String, String) {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let response = app.router().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let h = |name| response.headers().get(name).map(|v: &header::HeaderValue| v.to_str().unwrap().to_owned());
    let (location, cookie) =
        (h(header::LOCATION).unwrap_or_default(), h(header::SET_COOKIE).unwrap_or_default());
    let status = response.status().as_u16();
    let body = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    (status, location, cookie, String::from_utf8_lossy(&body).into_owned())
}

/// Begins a sign-in: the provider's authorization URL and the cookie to bring back.
async fn start(app: &TestApp) -> (String, String) {
    let (status, location, cookie, _) = get(app, "/auth/login?provider=0", None).await;
    assert_eq!(status, 303);
    let cookie = cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("sign_in_state="), "{cookie}");
    (location, cookie)
}

fn state_of(authorize_url: &str) -> String {
    let url = url::Url::parse(authorize_url).unwrap();
    url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned()
}

/// Where the dashboard was sent back to, split at the fragment.
fn fragment(location: &str) -> std::collections::HashMap<String, String> {
    let (page, fragment) = location.split_once('#').expect("a fragment");
    assert_eq!(page, "/");
    url::form_urlencoded::parse(fragment.as_bytes()).into_owned().collect()
}

#[tokio::test]
async fn a_city_admin_signs_in_with_their_provider_and_the_page_reads_with_the_id_token() {
    let (app, idp) = world().await;
    let (_, _, _, providers) = get(&app, "/auth/providers", None).await;
    let host = url::Url::parse(&idp.issuer()).unwrap().host_str().unwrap().to_owned();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&providers).unwrap(),
        json!([{ "id": "0", "name": host }])
    );

    // The admin's grant, by invitation, as README's walkthrough has it.
    let admin = app.token(Role::CityAdmin).partnership("signin").sign();
    let invite = "mutation { createInvitation(input: { role: CITY_ADMIN }) { code } }";
    let code = app.gql(Some(&admin), invite, json!({})).await.ok()["createInvitation"]["code"].clone();

    let (authorize, cookie) = start(&app).await;
    assert!(authorize.starts_with(&format!("{}/authorize?", idp.issuer())), "{authorize}");
    let redirect = url::Url::parse(&authorize).unwrap();
    let redirect = redirect.query_pairs().find(|(k, _)| k == "redirect_uri").unwrap().1.into_owned();
    assert_eq!(redirect, "http://127.0.0.1:8080/auth/callback");
    let granted = idp.authorize(&authorize, "entra-oid-admin", "Dana Admin");
    let back = format!("/auth/callback?code={granted}&state={}", state_of(&authorize));
    let (status, location, cleared, _) = get(&app, &back, Some(&cookie)).await;
    assert_eq!(status, 303);
    assert!(cleared.starts_with("sign_in_state=; Path=/auth; Max-Age=0"), "{cleared}");
    let token = fragment(&location).remove("id_token").unwrap_or_else(|| panic!("no token: {location}"));

    // The page's token is the person's: redeem the invitation, then read as the admin.
    let redeem = "mutation($c: String!) { redeemInvitation(code: $c) { role } }";
    app.gql(Some(&token), redeem, json!({ "c": code })).await.ok();
    let me = app.gql(Some(&token), "{ me { role displayName partnership { name } } }", json!({})).await.ok();
    assert_eq!(
        me["me"],
        json!({ "role": "CITY_ADMIN", "displayName": "Dana Admin", "partnership": { "name": "Sign-in City" } })
    );

    // A code is good once.
    let (_, again, _, _) = get(&app, &back, Some(&cookie)).await;
    assert!(fragment(&again)["sign_in_error"].contains("sign in again"), "{again}");
}

#[tokio::test]
async fn a_callback_without_its_browser_or_with_a_forged_answer_gives_no_token() {
    let (app, idp) = world().await;

    // Another browser (no cookie, or another sign-in's) cannot finish this sign-in.
    let (authorize, _) = start(&app).await;
    let (_, other_cookie) = start(&app).await;
    let code = idp.authorize(&authorize, "someone", "Some One");
    let back = format!("/auth/callback?code={code}&state={}", state_of(&authorize));
    for cookie in [None, Some(other_cookie.as_str())] {
        let (status, location, _, _) = get(&app, &back, cookie).await;
        assert_eq!(status, 303);
        let answer = fragment(&location);
        assert!(
            !answer.contains_key("id_token") && answer["sign_in_error"].contains("another browser"),
            "{location}"
        );
    }

    // A code made for another sign-in (another PKCE challenge) is refused by the provider.
    let (first, first_cookie) = start(&app).await;
    let (second, _) = start(&app).await;
    let code = idp.authorize(&second, "someone", "Some One");
    let back = format!("/auth/callback?code={code}&state={}", state_of(&first));
    let (_, location, _, _) = get(&app, &back, Some(&first_cookie)).await;
    assert!(fragment(&location)["sign_in_error"].contains("refused"), "{location}");

    // The provider's own refusal is reported by its code, and nothing else it sent.
    let (authorize, cookie) = start(&app).await;
    let denied = format!("/auth/callback?error=access_denied%3Cscript%3E&state={}", state_of(&authorize));
    let (_, location, _, _) = get(&app, &denied, Some(&cookie)).await;
    assert_eq!(
        fragment(&location)["sign_in_error"],
        "the identity provider refused the sign-in (access_deniedscript)"
    );

    // Unknown providers, and no sign-in configured at all.
    let (_, location, _, _) = get(&app, "/auth/login?provider=7", None).await;
    assert!(fragment(&location)["sign_in_error"].contains("no such identity provider"));
    let plain = TestApp::spawn().await;
    assert_eq!(get(&plain, "/auth/providers", None).await.3, "[]");
    let (status, location, _, _) = get(&plain, "/auth/login?provider=0", None).await;
    assert_eq!(status, 303);
    assert!(fragment(&location).contains_key("sign_in_error"));
}
