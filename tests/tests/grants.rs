//! Sign-in through a partnership's identity provider: a person's token carries no role; a city
//! admin's invitation, once redeemed, gives exactly one role and scope; revoking it ends it.

use std::time::Duration;

use api::{
    auth::Role,
    oidc::{Oidc, OidcOptions},
};
use serde_json::json;
use tests::{
    TestApp, fixtures,
    oidc::{OIDC_AUDIENCE, TestIssuer},
};

struct World {
    app: TestApp,
    issuer: TestIssuer,
    admin: String,
    other_admin: String,
}

/// Partnership "alpha" with schools 930001 (in trust 9301) and 930002; "beta" with 940001.
async fn world() -> World {
    let issuer = TestIssuer::start().await;
    // Keys may be refetched at once here (the service waits 10 s between fetches).
    let options = OidcOptions { min_refetch: Duration::ZERO, ..Default::default() };
    let oidc = Oidc::with_options(vec![issuer.config()], OIDC_AUDIENCE, options);
    let app = TestApp::spawn().await.with_oidc(oidc);
    let db = &app.db;
    let alpha = fixtures::partnership(db, "alpha", "Alpha City").await;
    let beta = fixtures::partnership(db, "beta", "Beta Cluster").await;
    let la = fixtures::local_authority(db, "931", "Alpha Council").await;
    let trust = fixtures::trust(db, "9301", "Alpha Learning Trust").await;
    for (p, urn, trust) in [(&alpha, 930001, Some(trust.id)), (&alpha, 930002, None), (&beta, 940001, None)] {
        let s = fixtures::school(db, urn, &format!("School {urn}"), la.id, trust).await;
        fixtures::member(db, p.id, s.id).await;
    }
    let admin = app.token(Role::CityAdmin).partnership("alpha").sign();
    let other_admin = app.token(Role::CityAdmin).partnership("beta").sign();
    World { app, issuer, admin, other_admin }
}

impl World {
    async fn invite(&self, input: serde_json::Value) -> (String, String) {
        let data = self
            .app
            .gql(
                Some(&self.admin),
                "mutation($i: CreateInvitationInput!) { createInvitation(input: $i) { code grant { id status role } } }",
                json!({ "i": input }),
            )
            .await
            .ok();
        let inv = &data["createInvitation"];
        assert_eq!(inv["grant"]["status"], "INVITED");
        (inv["code"].as_str().unwrap().to_owned(), inv["grant"]["id"].as_str().unwrap().to_owned())
    }

    async fn redeem(&self, token: &str, code: &str) -> tests::Answer {
        self.app
            .gql(
                Some(token),
                "mutation($c: String!) { redeemInvitation(code: $c) { id role status subject displayName } }",
                json!({ "c": code }),
            )
            .await
    }
}

const MY_SCHOOL: &str =
    "{ me { role subject displayName school { urn } } school(urn: 930001) { name certifications { id } } }";

#[tokio::test]
async fn a_person_acts_only_through_a_redeemed_grant_until_it_is_revoked() {
    let w = world().await;
    let person = w.issuer.sign("entra-oid-7f3a", Some("Sam Lead"));

    // Signed in, but no grant: nothing but redeeming an invitation.
    let before = w.app.gql(Some(&person), "{ me { role } }", json!({})).await.ok();
    assert_eq!(before["me"], serde_json::Value::Null);
    w.app.gql(Some(&person), "{ school(urn: 930001) { name } }", json!({})).await.fails_with("FORBIDDEN");
    w.app.gql(Some(&person), "{ schools(first: 5) { totalCount } }", json!({})).await.fails_with("FORBIDDEN");

    let (code, grant) = w.invite(json!({ "role": "SCHOOL_LEAD", "schoolUrn": 930001 })).await;
    let redeemed = w.redeem(&person, &code).await.ok();
    let g = &redeemed["redeemInvitation"];
    assert_eq!((g["role"].as_str(), g["status"].as_str()), (Some("SCHOOL_LEAD"), Some("ACTIVE")));
    assert_eq!(
        (g["subject"].as_str(), g["displayName"].as_str()),
        (Some("entra-oid-7f3a"), Some("Sam Lead"))
    );

    // Exactly the granted role and scope: its own school in full, nothing else.
    let mine = w.app.gql(Some(&person), MY_SCHOOL, json!({})).await.ok();
    assert_eq!(mine["me"]["role"], "SCHOOL_LEAD");
    assert_eq!(mine["me"]["school"]["urn"], 930001);
    assert_eq!(mine["school"]["name"], "School 930001");
    w.app.gql(Some(&person), "{ school(urn: 940001) { name } }", json!({})).await.fails_with("NOT_FOUND");
    w.app
        .gql(Some(&person), r#"mutation { createCohort(input: { name: "X", ordinal: 9, startsOn: "2026-01-01", targetOn: "2026-12-01" }) { id } }"#, json!({}))
        .await
        .fails_with("FORBIDDEN");
    let partner_view =
        w.app.gql(Some(&person), "{ schools(first: 10) { totalCount } }", json!({})).await.ok();
    assert_eq!(
        partner_view["schools"]["totalCount"], 2,
        "the school lead sees its partnership's registry only"
    );

    // The code worked once.
    let someone_else = w.issuer.sign("entra-oid-0000", None);
    w.redeem(&someone_else, &code).await.fails_with("NOT_FOUND");

    // Key rotation at the provider: a token with the new kid works without a restart.
    w.issuer.rotate();
    let rotated = w.issuer.sign("entra-oid-7f3a", Some("Sam Lead"));
    let after_rotation = w.app.gql(Some(&rotated), "{ me { role } }", json!({})).await.ok();
    assert_eq!(after_rotation["me"]["role"], "SCHOOL_LEAD");

    // The admin lists and revokes; the next request is refused.
    let list = w
        .app
        .gql(Some(&w.admin), "{ grants { edges { node { id status subject } } } }", json!({}))
        .await
        .ok();
    let ids: Vec<&str> = list["grants"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![grant.as_str()]);
    w.app
        .gql(
            Some(&w.other_admin),
            "mutation($id: ID!) { revokeGrant(id: $id) { status } }",
            json!({ "id": grant }),
        )
        .await
        .fails_with("NOT_FOUND");
    let revoked = w
        .app
        .gql(
            Some(&w.admin),
            "mutation($id: ID!) { revokeGrant(id: $id) { status revokedAt } }",
            json!({ "id": grant }),
        )
        .await
        .ok();
    assert_eq!(revoked["revokeGrant"]["status"], "REVOKED");
    w.app.gql(Some(&rotated), "{ school(urn: 930001) { name } }", json!({})).await.fails_with("FORBIDDEN");
    let gone = w.app.gql(Some(&rotated), "{ me { role } }", json!({})).await.ok();
    assert_eq!(gone["me"], serde_json::Value::Null);

    // Invite, redeem and revoke are in the partnership's audit log, attributed.
    let audit = w.app.count("audit_event WHERE action LIKE 'grant.%'").await;
    assert_eq!(audit, 3);
}

#[tokio::test]
async fn invitations_are_scoped_checked_and_expire() {
    let w = world().await;
    // Scope must fit the role and belong to the partnership.
    for (input, code) in [
        (json!({ "role": "SCHOOL_LEAD" }), "BAD_USER_INPUT"),
        (json!({ "role": "SCHOOL_LEAD", "schoolUrn": 940001 }), "NOT_FOUND"),
        (json!({ "role": "PARTNER", "schoolUrn": 930001 }), "BAD_USER_INPUT"),
        (json!({ "role": "PARTNER", "expiresInDays": 31 }), "BAD_USER_INPUT"),
    ] {
        w.app
            .gql(
                Some(&w.admin),
                "mutation($i: CreateInvitationInput!) { createInvitation(input: $i) { code } }",
                json!({ "i": input }),
            )
            .await
            .fails_with(code);
    }
    let partner = w.app.token(Role::Partner).partnership("alpha").sign();
    w.app
        .gql(Some(&partner), r#"mutation { createInvitation(input: { role: PARTNER }) { code } }"#, json!({}))
        .await
        .fails_with("FORBIDDEN");

    // A trust lead's grant reads its trust's schools in full.
    let trust_id =
        w.app.gql(Some(&w.admin), "{ school(urn: 930001) { trust { id } } }", json!({})).await.ok()["school"]
            ["trust"]["id"]
            .clone();
    let (code, _) = w.invite(json!({ "role": "TRUST_LEAD", "trust": trust_id })).await;
    let lead = w.issuer.sign("google-1138", Some("Trust Lead"));
    w.redeem(&lead, &code).await.ok();
    let me = w.app.gql(Some(&lead), "{ me { role trust { groupUid } } }", json!({})).await.ok();
    assert_eq!(me["me"]["role"], "TRUST_LEAD");
    assert_eq!(me["me"]["trust"]["groupUid"], "9301");
    // One live grant per person.
    let (second, _) = w.invite(json!({ "role": "PARTNER" })).await;
    w.redeem(&lead, &second).await.fails_with("CONFLICT");
    // The operator's direct grant to that person fails too, and leaves no invitation behind.
    let alpha = <entity::partnership::Entity as sea_orm::EntityTrait>::find()
        .all(&w.app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.slug == "alpha")
        .unwrap();
    let grants_before = w.app.count("access_grant").await;
    let person = api::oidc::Identity { issuer: w.issuer.issuer(), subject: "google-1138".into(), name: None };
    let new = api::grant::service::NewInvitation {
        role: Role::Partner,
        school_urn: None,
        trust: None,
        expires_in_days: None,
    };
    let refused =
        api::grant::GrantService::new(w.app.db.clone()).grant_directly(alpha.id, new, &person).await;
    assert_eq!(refused.err().map(|e| e.code()), Some("CONFLICT"));
    assert_eq!(w.app.count("access_grant").await, grants_before, "nothing written");

    // An expired invitation cannot be redeemed.
    let (code, _) = w.invite(json!({ "role": "PARTNER", "expiresInDays": 1 })).await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &w.app.db,
        "UPDATE access_grant SET expires_at = '2020-01-01T00:00:00+00:00' WHERE subject IS NULL AND revoked_at IS NULL AND role = 'partner' AND redeemed_at IS NULL",
    )
    .await
    .unwrap();
    let late = w.issuer.sign("late-person", None);
    w.redeem(&late, &code).await.fails_with("CONFLICT");
    // Service tokens and anonymous callers do not redeem.
    w.redeem(&w.admin, &second).await.fails_with("CONFLICT");
    w.app
        .gql(None, r#"mutation { redeemInvitation(code: "x") { id } }"#, json!({}))
        .await
        .fails_with("UNAUTHENTICATED");
    // An untrusted issuer's token is refused outright.
    let stranger = TestIssuer::start().await.sign("x", None);
    w.app.gql(Some(&stranger), "{ me { role } }", json!({})).await.fails_with("UNAUTHENTICATED");
}

#[tokio::test]
async fn revoking_a_grant_closes_the_holders_open_websocket() {
    use crate::subscriptions::{Client, bearer};
    let w = world().await;
    let (code, grant) = w.invite(json!({ "role": "SCHOOL_LEAD", "schoolUrn": 930001 })).await;
    let person = w.issuer.sign("entra-oid-ws", Some("Socket Lead"));
    w.redeem(&person, &code).await.ok();
    let addr = w.app.listen().await;
    let mut client = Client::open(addr, None).await;
    client.init(bearer(&person)).await;
    client.subscribe("1", "subscription { certificationEvents(school: 930001) { to } }", json!({})).await;
    w.app
        .gql(Some(&w.admin), "mutation($id: ID!) { revokeGrant(id: $id) { status } }", json!({ "id": grant }))
        .await
        .ok();
    let frame = client.closed().await;
    assert_eq!(u16::from(frame.code), 4403, "closed as forbidden: {frame:?}");
}

#[tokio::test]
async fn a_websocket_closes_when_its_token_expires() {
    use crate::subscriptions::{Client, bearer};
    let w = world().await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({ "sub": "script", "role": "partner", "partnership": "alpha", "iat": now, "exp": now + 2,
                          "iss": tests::ISSUER, "aud": tests::AUDIENCE });
    let key = jsonwebtoken::EncodingKey::from_secret(tests::SECRET);
    let short = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap();
    let addr = w.app.listen().await;
    let mut client = Client::open(addr, None).await;
    client.init(bearer(&short)).await;
    client.subscribe("1", "subscription { certificationEvents(school: 930001) { to } }", json!({})).await;
    let frame = client.closed().await;
    assert_eq!(u16::from(frame.code), 4401, "closed as unauthorized: {frame:?}");
}
