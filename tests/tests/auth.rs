use api::auth::{Jwt, Role, TokenRequest};
use serde_json::json;
use tests::{AUDIENCE, ISSUER, SECRET, TestApp};

const Q: &str = "{ me { role } }";

#[tokio::test]
async fn bad_tokens_are_refused_with_unauthenticated() {
    let app = TestApp::with_demo().await;
    let partner = TokenRequest { partnership: Some("demo-city".into()), ..TokenRequest::new(Role::Partner) };

    let expired = app.jwt.sign(partner.clone(), chrono::Duration::hours(-2)).unwrap();
    let wrong_secret = Jwt::hs256(b"another-secret-another-secret-000", ISSUER, AUDIENCE)
        .sign(partner.clone(), chrono::Duration::hours(1))
        .unwrap();
    let wrong_audience =
        Jwt::hs256(SECRET, ISSUER, "someone-else").sign(partner.clone(), chrono::Duration::hours(1)).unwrap();
    let wrong_issuer =
        Jwt::hs256(SECRET, "evil", AUDIENCE).sign(partner.clone(), chrono::Duration::hours(1)).unwrap();
    let unknown_partnership = app.token(Role::Partner).partnership("nowhere").sign();
    let no_school = app.token(Role::SchoolLead).sign();

    for (what, header) in [
        ("malformed", "Bearer not.a.jwt".to_owned()),
        ("no bearer prefix", app.token(Role::Partner).sign()),
        ("expired", format!("Bearer {expired}")),
        ("wrong secret", format!("Bearer {wrong_secret}")),
        ("wrong audience", format!("Bearer {wrong_audience}")),
        ("wrong issuer", format!("Bearer {wrong_issuer}")),
        ("unknown partnership", format!("Bearer {unknown_partnership}")),
        ("school lead without a school", format!("Bearer {no_school}")),
    ] {
        let req = axum::http::Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", header)
            .body(axum::body::Body::from(json!({ "query": Q }).to_string()))
            .unwrap();
        let answer = app.send(req).await;
        assert_eq!(answer.codes(), vec!["UNAUTHENTICATED"], "{what}: {:#}", answer.body);
        assert!(answer.body["data"].is_null(), "{what}: no data for a bad token");
    }
    let expired = app.gql(Some(&expired), Q, json!({})).await;
    assert!(expired.body["errors"][0]["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn rs256_tokens_verify_with_the_public_key() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let public = std::fs::read(format!("{dir}/rs256-public.pem")).unwrap();
    let private = std::fs::read(format!("{dir}/rs256-private.pem")).unwrap();
    let signer = Jwt::rs256(&public, Some(&private), ISSUER, AUDIENCE).unwrap();
    let verifier = Jwt::rs256(&public, None, ISSUER, AUDIENCE).unwrap();
    let token = signer.sign(TokenRequest::new(Role::Assessor), chrono::Duration::hours(1)).unwrap();
    assert_eq!(verifier.verify(&token).unwrap().role, Role::Assessor);
    // An HS256 token made with the public key as secret (the classic confusion attack) fails.
    let forged = Jwt::hs256(&public, ISSUER, AUDIENCE)
        .sign(TokenRequest::new(Role::CityAdmin), chrono::Duration::hours(1))
        .unwrap();
    assert!(verifier.verify(&forged).is_err());
    assert!(
        verifier.sign(TokenRequest::new(Role::Partner), chrono::Duration::hours(1)).is_err(),
        "no private key, no signing"
    );
}

#[test]
fn production_mode_needs_a_real_secret() {
    use api::config::{Config, JwtConfig, Mode};
    let config = |mode, secret: Option<&str>| Config {
        database_url: "sqlite::memory:".into(),
        mode,
        jwt: JwtConfig {
            secret: secret.map(str::to_owned),
            public_key_file: None,
            private_key_file: None,
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            max_lifetime_hours: 24,
        },
        oidc: api::config::OidcConfig {
            issuers: String::new(),
            audience: AUDIENCE.into(),
            client_secret: None,
        },
    };
    let err = config(Mode::Production, None).jwt().unwrap_err().to_string();
    assert!(err.contains("JWT_SECRET"), "{err}");
    assert!(config(Mode::Production, Some("short")).jwt().is_err());
    assert!(config(Mode::Production, Some(std::str::from_utf8(SECRET).unwrap())).jwt().is_ok());
}

#[tokio::test]
async fn writes_are_for_city_admins_only() {
    let app = TestApp::with_demo().await;
    let m = "mutation { createTrust(input: { name: \"Harbour Trust\", groupUid: \"4242\" }) { id } }";
    app.gql(None, m, json!({})).await.fails_with("UNAUTHENTICATED");
    for role in [Role::Partner, Role::Assessor] {
        app.gql(Some(&app.token(role).sign()), m, json!({})).await.fails_with("FORBIDDEN");
    }
    let lead = app.token(Role::SchoolLead).school(990_001).sign();
    app.gql(Some(&lead), m, json!({})).await.fails_with("FORBIDDEN");
    assert_eq!(app.count("trust").await, 14);
    app.gql(Some(&app.token(Role::CityAdmin).sign()), m, json!({})).await.ok();
    assert_eq!(app.count("trust").await, 15);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_blind() {
    let app = TestApp::with_demo().await;
    let req = axum::http::Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("bearer {}", app.token(Role::Partner).sign()))
        .body(axum::body::Body::from(json!({ "query": Q }).to_string()))
        .unwrap();
    assert_eq!(app.send(req).await.ok()["me"]["role"], "PARTNER");
}
