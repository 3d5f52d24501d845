//! Certificates anyone can verify (issue 12): the Open Badges 3.0 credential of an award,
//! checked without this service's JWT code; key rotation; revocation through the status list;
//! expiry; the public page and the printable documents.

use std::sync::Arc;

use api::{
    auth::Role,
    certificate::{
        CertificateService, Credentials, Issuer, Keys,
        credential::{LIST_SIZE, bit_set},
        keys::generate_pem,
    },
};
use axum::{
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use http_body_util::BodyExt as _;
use rsa::{BigUint, Pkcs1v15Sign, RsaPublicKey};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tests::{
    TestApp,
    fixtures::{self, Upto},
};
use tower::ServiceExt as _;

const CITY: &str = "badge-city";
const OTHER: &str = "badge-other";
const URN: i32 = 930001;
const VERIFY: &str = "query($jwt: String!) { verifyCredential(jwt: $jwt) { valid authentic revoked expired reason certificateNumber } }";
const REVOKE: &str = "mutation($n: String!, $r: String!) { revokeCertificate(number: $n, reason: $r) { stage history { to by role comment at } } }";
const CREDENTIAL: &str = "query($id: ID!) { certification(id: $id) { credential { id url jwt keyId } certificate { number url valid revokedOn } } }";

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::get(path);
    if let Some(accept) = accept {
        req = req.header("accept", accept);
    }
    let response = app.router().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn post_verify(app: &TestApp, body: String) -> Value {
    let req = Request::post("/verify").body(Body::from(body)).unwrap();
    let response = app.router().oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

/// A partnership with one school certified through the API: (its journey's id, certificate).
async fn certified(app: &TestApp) -> (Value, String) {
    let p = fixtures::partnership(&app.db, CITY, "Badge City").await;
    fixtures::partnership(&app.db, OTHER, "Other City").await;
    let la = fixtures::local_authority(&app.db, "932", "Badge Council").await;
    let school = fixtures::school(&app.db, URN, "Heron <Bay> & \"Sons\" Primary", la.id, None).await;
    fixtures::member(&app.db, p.id, school.id).await;
    let journey = fixtures::journey(app, CITY, URN, "Badge", Upto::Certified).await;
    (journey.id, journey.certificate.expect("a certificate number"))
}

async fn credential_of(app: &TestApp, journey: &Value) -> Value {
    let admin = app.token(Role::CityAdmin).partnership(CITY).sign();
    app.gql(Some(&admin), CREDENTIAL, json!({ "id": journey })).await.ok()["certification"].clone()
}

fn part(jwt: &str, i: usize) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

/// Verifies an RS256 JWT with the `rsa` crate against a key of the JWKS: no JWT library.
fn rs256_verifies(jwks: &Value, jwt: &str) -> bool {
    let kid = part(jwt, 0)["kid"].as_str().unwrap().to_owned();
    let Some(jwk) = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid) else { return false };
    let big = |m: &str| BigUint::from_bytes_be(&URL_SAFE_NO_PAD.decode(jwk[m].as_str().unwrap()).unwrap());
    let key = RsaPublicKey::new(big("n"), big("e")).unwrap();
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(signed.as_bytes()), &signature).is_ok()
}

fn credentials(pems: &[&str]) -> Arc<Credentials> {
    Arc::new(Credentials {
        keys: Keys::from_pems(pems.iter().copied()).unwrap(),
        issuer: Issuer {
            base_url: "https://certs.example.org".into(),
            name: "Badge City Partnership".into(),
            url: "https://badge-city.example.org".into(),
            email: Some("certificates@badge-city.example.org".into()),
        },
    })
}

#[tokio::test]
async fn an_award_issues_an_open_badges_credential_that_verifies_with_the_published_key() {
    let app = TestApp::spawn().await.with_credentials(credentials(&[&generate_pem().unwrap()]));
    let (journey, number) = certified(&app).await;
    let c = credential_of(&app, &journey).await;
    let jwt = c["credential"]["jwt"].as_str().unwrap().to_owned();
    let id = c["credential"]["id"].as_str().unwrap();
    let url = format!("https://certs.example.org/credentials/{id}");
    assert_eq!(c["credential"]["url"], url);

    // The key comes only from the JWKS; the signature is checked without jsonwebtoken.
    let (status, headers, jwks) = get(&app, "/.well-known/jwks.json", None).await;
    assert_eq!((status, &headers["content-type"]), (StatusCode::OK, &"application/json".parse().unwrap()));
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    assert!(rs256_verifies(&jwks, &jwt));
    let mut tampered = jwt.clone();
    tampered.replace_range(tampered.len() - 3.., "AAA");
    assert!(!rs256_verifies(&jwks, &tampered));

    let header = part(&jwt, 0);
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("RS256"), c["credential"]["keyId"].as_str())
    );
    // What OB 3.0 requires of the credential, its subject, the achievement and the issuer.
    let vc = part(&jwt, 1);
    assert_eq!(vc["@context"][0], "https://www.w3.org/ns/credentials/v2");
    assert!(
        vc["@context"][1]
            .as_str()
            .unwrap()
            .starts_with("https://purl.imsglobal.org/spec/ob/v3p0/context-3.0")
    );
    assert_eq!(vc["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
    assert_eq!((vc["id"].as_str(), vc["jti"].as_str()), (Some(url.as_str()), Some(url.as_str())));
    assert_eq!(vc["iss"], "https://certs.example.org/issuer");
    assert!(vc["name"].as_str().unwrap().contains("Explorer"));
    let school_uri =
        format!("https://get-information-schools.service.gov.uk/Establishments/Establishment/Details/{URN}");
    assert_eq!(
        (vc["sub"].as_str(), vc["credentialSubject"]["id"].as_str()),
        (Some(&*school_uri), Some(&*school_uri))
    );
    let issuer = &vc["issuer"];
    assert_eq!(issuer["id"], "https://certs.example.org/issuer");
    assert_eq!(issuer["type"], json!(["Profile"]));
    assert_eq!(issuer["name"], "Badge City Partnership");
    assert_eq!(issuer["email"], "certificates@badge-city.example.org");
    let subject = &vc["credentialSubject"];
    assert_eq!(subject["type"], json!(["AchievementSubject"]));
    let achievement = &subject["achievement"];
    assert_eq!(achievement["id"], "https://certs.example.org/achievements/aied-certified/explorer");
    assert_eq!(achievement["type"], json!(["Achievement"]));
    for field in ["name", "description"] {
        assert!(!achievement[field].as_str().unwrap().is_empty(), "{field}");
    }
    assert!(achievement["criteria"]["narrative"].as_str().unwrap().contains("15 criteria"));
    let alignment = &achievement["alignment"][0];
    assert_eq!(alignment["type"], json!(["Alignment"]));
    assert_eq!(alignment["targetName"], "AiEd Certified");
    assert_eq!(alignment["targetUrl"], "https://certs.example.org/frameworks/aied-certified");
    // Dates: the award day, through the last valid day, in the claims too.
    let today = chrono::Utc::now().date_naive();
    assert_eq!(vc["validFrom"], format!("{today}T00:00:00Z"));
    let until = today.checked_add_months(chrono::Months::new(24)).unwrap();
    assert_eq!(vc["validUntil"], format!("{until}T23:59:59Z"));
    assert_eq!(vc["nbf"].as_i64(), Some(today.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp()));
    assert_eq!(vc["exp"].as_i64(), Some(until.and_hms_opt(23, 59, 59).unwrap().and_utc().timestamp()));
    let status = &vc["credentialStatus"];
    assert_eq!(
        (status["type"].as_str(), status["statusPurpose"].as_str()),
        (Some("BitstringStatusListEntry"), Some("revocation"))
    );

    // Fetched as a JWT and as JSON; the issuer profile and achievement dereference.
    let (status_code, headers, body) = get(&app, &format!("/credentials/{id}"), None).await;
    assert_eq!((status_code, body.as_str()), (StatusCode::OK, jwt.as_str()));
    assert_eq!(headers["content-type"], "application/vc+jwt");
    let (_, _, body) = get(&app, &format!("/credentials/{id}"), Some("application/json")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), vc);
    let (_, _, profile) = get(&app, "/issuer", None).await;
    assert_eq!(serde_json::from_str::<Value>(&profile).unwrap()["name"], "Badge City Partnership");
    let (_, _, a) = get(&app, "/achievements/aied-certified/explorer", None).await;
    assert_eq!(serde_json::from_str::<Value>(&a).unwrap()["name"], achievement["name"]);
    assert_eq!(get(&app, "/credentials/not-a-uuid", None).await.0, StatusCode::NOT_FOUND);

    // Anyone verifies it: POST /verify (raw or JSON) and GraphQL, anonymously.
    let verdict = json!({ "valid": true, "authentic": true, "revoked": false, "expired": false, "reason": null, "certificateNumber": number });
    assert_eq!(post_verify(&app, jwt.clone()).await, verdict);
    assert_eq!(post_verify(&app, json!({ "credential": jwt }).to_string()).await, verdict);
    assert_eq!(app.gql(None, VERIFY, json!({ "jwt": jwt })).await.ok()["verifyCredential"], verdict);
    let forged = app.gql(None, VERIFY, json!({ "jwt": tampered })).await.ok()["verifyCredential"].clone();
    assert_eq!((forged["valid"].as_bool(), forged["authentic"].as_bool()), (Some(false), Some(false)));
    let junk = post_verify(&app, "not a jwt".into()).await;
    assert_eq!(junk["reason"], "this is not a JWT (header.payload.signature)");
    // Bodies no credential could be are refused with a code, never a 500.
    for body in [vec![b'a'; 70_000], vec![0xff, 0xfe], b"{\"credential\": 5}".to_vec()] {
        let req = Request::post("/verify").body(Body::from(body)).unwrap();
        let response = app.router().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let answer: Value =
            serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
    let long = "x".repeat(70_000);
    app.gql(None, VERIFY, json!({ "jwt": long })).await.fails_with("BAD_USER_INPUT");
    assert_eq!(get(&app, "/credentials/status/0", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/credentials/status/2", None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/achievements/aied-certified/nope", None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_retired_key_verifies_while_published_and_not_once_removed() {
    let (old, new) = (generate_pem().unwrap(), generate_pem().unwrap());
    let app = TestApp::spawn().await.with_credentials(credentials(&[&old]));
    let (journey, _) = certified(&app).await;
    let old_jwt = credential_of(&app, &journey).await["credential"]["jwt"].as_str().unwrap().to_owned();

    // The new key signs; the old one stays published (its public half is enough).
    let old_public = {
        use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&old).unwrap();
        key.to_public_key().to_public_key_pem(rsa::pkcs8::LineEnding::LF).unwrap()
    };
    let app = app.with_credentials(credentials(&[&new, &old_public]));
    let (_, _, jwks) = get(&app, "/.well-known/jwks.json", None).await;
    assert_eq!(serde_json::from_str::<Value>(&jwks).unwrap()["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.gql(None, VERIFY, json!({ "jwt": old_jwt })).await.ok()["verifyCredential"]["valid"],
        true
    );
    let second = fixtures::school(
        &app.db,
        URN + 1,
        "Egret Primary",
        fixtures::local_authority(&app.db, "933", "Egret").await.id,
        None,
    )
    .await;
    let p = entity::partnership::Entity::find()
        .filter(entity::partnership::Column::Slug.eq(CITY))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    fixtures::member(&app.db, p.id, second.id).await;
    let j2 = fixtures::journey(&app, CITY, URN + 1, "Second", Upto::Certified).await;
    let new_jwt = credential_of(&app, &j2.id).await["credential"]["jwt"].as_str().unwrap().to_owned();
    assert_ne!(part(&new_jwt, 0)["kid"], part(&old_jwt, 0)["kid"]);

    // Removed from the set: the old credential no longer verifies; the new one does.
    let app = app.with_credentials(credentials(&[&new]));
    let gone = app.gql(None, VERIFY, json!({ "jwt": old_jwt })).await.ok()["verifyCredential"].clone();
    assert_eq!((gone["valid"].as_bool(), gone["authentic"].as_bool()), (Some(false), Some(false)));
    assert!(gone["reason"].as_str().unwrap().contains("does not publish"), "{gone}");
    assert_eq!(
        app.gql(None, VERIFY, json!({ "jwt": new_jwt })).await.ok()["verifyCredential"]["valid"],
        true
    );
}

#[tokio::test]
async fn revoking_sets_the_status_bit_and_keeps_who_when_and_why() {
    let app = TestApp::spawn().await.with_credentials(credentials(&[&generate_pem().unwrap()]));
    let (journey, number) = certified(&app).await;
    let jwt = credential_of(&app, &journey).await["credential"]["jwt"].as_str().unwrap().to_owned();
    let status = part(&jwt, 1)["credentialStatus"].clone();
    let place: i32 = status["statusListIndex"].as_str().unwrap().parse().unwrap();
    assert!((0..LIST_SIZE).contains(&place));
    assert_eq!(status["statusListCredential"], "https://certs.example.org/credentials/status/1");
    let list = |app: &TestApp| {
        let app = app.router();
        async move {
            let req = Request::get("/credentials/status/1").header("accept", "application/json");
            let response = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let body: Value =
                serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
            assert_eq!(body["type"], json!(["VerifiableCredential", "BitstringStatusListCredential"]));
            bit_set(body["credentialSubject"]["encodedList"].as_str().unwrap(), place).unwrap()
        }
    };
    assert!(!list(&app).await);

    // Only the awarding side, of this partnership, may revoke; and with a reason.
    let lead = app.token(Role::SchoolLead).school(URN).sign();
    let vars = json!({ "n": number, "r": "Evidence was copied from another school" });
    app.gql(Some(&lead), REVOKE, vars.clone()).await.fails_with("FORBIDDEN");
    let stranger = app.token(Role::Assessor).partnership(OTHER).sign();
    app.gql(Some(&stranger), REVOKE, vars.clone()).await.fails_with("NOT_FOUND");
    let assessor = app.token(Role::Assessor).partnership(CITY).sign();
    app.gql(Some(&assessor), REVOKE, json!({ "n": number, "r": "  " })).await.fails_with("BAD_USER_INPUT");
    assert!(!list(&app).await);

    let admin = app.token(Role::CityAdmin).partnership(CITY).sign();
    let revoked = app.gql(Some(&admin), REVOKE, vars.clone()).await.ok()["revokeCertificate"].clone();
    assert_eq!(revoked["stage"], "REVOKED");
    let last = revoked["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["to"].as_str(), last["role"].as_str()), (Some("REVOKED"), Some("CITY_ADMIN")));
    assert_eq!(last["comment"], "Evidence was copied from another school");
    assert!(last["by"].as_str().is_some_and(|b| !b.is_empty()) && last["at"].is_string());
    app.gql(Some(&admin), REVOKE, vars).await.fails_with("CONFLICT");

    assert!(list(&app).await);
    let verdict = app.gql(None, VERIFY, json!({ "jwt": jwt })).await.ok()["verifyCredential"].clone();
    assert_eq!(
        (verdict["valid"].as_bool(), verdict["authentic"].as_bool(), verdict["revoked"].as_bool()),
        (Some(false), Some(true), Some(true))
    );
    let public = app
        .gql(
            None,
            "query($n: String!) { certificate(number: $n) { valid revokedOn } }",
            json!({ "n": number }),
        )
        .await
        .ok();
    assert_eq!(public["certificate"]["valid"], false);
    assert!(public["certificate"]["revokedOn"].is_string());
    let (_, _, page) = get(&app, &format!("/certificates/{number}"), None).await;
    assert!(page.contains("Revoked on"), "{page}");

    // The journey is closed: the school starts again, as a new journey rather than a renewal.
    let enrol = "mutation($urn: Int!) { enrol(input: { urn: $urn, framework: \"aied-certified\", targetLevel: \"EXPLORER\" }) { stage renewalOf { id } } }";
    let again = app.gql(Some(&lead), enrol, json!({ "urn": URN })).await.ok();
    assert_eq!(again["enrol"], json!({ "stage": "ENROLLED", "renewalOf": null }));
}

#[tokio::test]
async fn an_expired_certificate_verifies_as_expired_not_as_invalid() {
    let app = TestApp::spawn().await;
    let (journey, number) = certified(&app).await;
    // Make the award two and a half years old, and issue its credential again as an older
    // award would get it (`issue_missing`, which `serve` runs at start).
    entity::credential::Entity::delete_many().exec(&app.db).await.unwrap();
    let row = entity::certification::Entity::find()
        .filter(entity::certification::Column::CertificateNumber.eq(&number))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut row: entity::certification::ActiveModel = row.into();
    row.awarded_on = Set(Some(fixtures::date("2024-03-01")));
    row.expires_on = Set(Some(fixtures::date("2026-03-01")));
    row.update(&app.db).await.unwrap();
    let service = CertificateService::new(app.db.clone(), app.events.clone(), Credentials::ephemeral());
    assert_eq!(service.issue_missing().await.unwrap(), 1);
    assert_eq!(service.issue_missing().await.unwrap(), 0);

    let c = credential_of(&app, &journey).await;
    let jwt = c["credential"]["jwt"].as_str().unwrap();
    assert_eq!(part(jwt, 1)["validUntil"], "2026-03-01T23:59:59Z");
    let verdict = app.gql(None, VERIFY, json!({ "jwt": jwt })).await.ok()["verifyCredential"].clone();
    assert_eq!(
        verdict,
        json!({ "valid": false, "authentic": true, "revoked": false, "expired": true,
                "reason": "expired on 2026-03-01", "certificateNumber": number })
    );
    assert_eq!(c["certificate"]["valid"], false);
}

#[tokio::test]
async fn the_public_page_has_no_scripts_and_the_printable_documents_parse() {
    let app = TestApp::spawn().await;
    let (journey, number) = certified(&app).await;
    let jwt = credential_of(&app, &journey).await["credential"]["jwt"].as_str().unwrap().to_owned();

    let (status, headers, page) = get(&app, &format!("/certificates/{number}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    assert!(!page.to_ascii_lowercase().contains("<script"));
    // The school's name is escaped, and every link stays on this service or the issuer's site.
    assert!(page.contains("Heron &lt;Bay&gt; &amp; &quot;Sons&quot; Primary"));
    assert!(!page.contains("Heron <Bay>"));
    for attr in ["src=\"", "href=\""] {
        for link in page.split(attr).skip(1).map(|rest| rest.split('"').next().unwrap()) {
            assert!(
                link == "http://localhost:8080" || link.starts_with("http://localhost:8080/"),
                "{attr}{link}"
            );
        }
    }
    assert!(page.contains("Valid"));
    assert_eq!(get(&app, "/certificates/CERT-NOPE", None).await.0, StatusCode::NOT_FOUND);

    let (status, headers, svg) = get(&app, &format!("/certificates/{number}/certificate.svg"), None).await;
    assert_eq!((status, &headers["content-type"]), (StatusCode::OK, &"image/svg+xml".parse().unwrap()));
    let doc = roxmltree::Document::parse(&svg).expect("the certificate is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    assert_eq!(doc.root_element().tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    let text: String = doc.descendants().filter_map(|n| n.text()).collect();
    for expected in ["Heron <Bay> & \"Sons\" Primary", number.as_str(), "Explorer"] {
        assert!(text.contains(expected), "{expected} in {text}");
    }

    let (_, _, badge) = get(&app, &format!("/certificates/{number}/badge.svg"), None).await;
    let doc = roxmltree::Document::parse(&badge).expect("the badge is well-formed XML");
    let baked = doc
        .descendants()
        .find(|n| {
            n.tag_name().name() == "credential"
                && n.tag_name().namespace() == Some("https://purl.imsglobal.org/ob/v3p0")
        })
        .expect("the credential is baked into the badge");
    assert_eq!(baked.text().map(str::trim), Some(jwt.as_str()));
}
