//! Tokens from OpenID Connect issuers, verified by the keys those issuers publish. No database:
//! a test issuer on a local port plays the identity provider.

use std::time::{Duration, Instant};

use api::oidc::{Identity, Oidc, OidcError, OidcIssuer, OidcOptions, parse_issuers};
use serde_json::json;
use tests::oidc::{OIDC_AUDIENCE, SignWith, TestAlg, TestIssuer};

fn oidc(issuer: &TestIssuer) -> Oidc {
    Oidc::new(vec![issuer.config()], OIDC_AUDIENCE)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[track_caller]
fn assert_invalid(result: Result<Identity, OidcError>, needle: &str) {
    match result {
        Err(OidcError::Invalid(reason)) => {
            assert!(reason.contains(needle), "refused, but for {reason:?}, not {needle:?}")
        }
        other => panic!("expected Invalid({needle:?}), got {other:?}"),
    }
}

#[tokio::test]
async fn good_rs256_token_verifies() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let who = oidc.verify(&idp.sign("user-123", Some("  Ada Lovelace "))).await.expect("verified");
    assert_eq!(
        who,
        Identity { issuer: idp.issuer(), subject: "user-123".into(), name: Some("Ada Lovelace".into()) }
    );
    assert!(oidc.trusts(&idp.issuer()) && !oidc.is_empty());
    assert_eq!(idp.discoveries(), 1, "keys found through the discovery document");
}

#[tokio::test]
async fn good_es256_token_verifies() {
    let idp = TestIssuer::start().await;
    let who = oidc(&idp).verify(&idp.sign_with(idp.claims("ec-user"), SignWith::es256())).await;
    assert_eq!(who.expect("verified").subject, "ec-user");
}

#[tokio::test]
async fn configured_jwks_url_skips_discovery() {
    let idp = TestIssuer::start().await;
    let config = OidcIssuer { issuer: idp.issuer(), jwks_url: Some(idp.jwks_url()) };
    let oidc = Oidc::new(vec![config], OIDC_AUDIENCE);
    let who = oidc.verify(&idp.sign("user-1", None)).await.expect("verified");
    assert_eq!(who.name, None);
    assert_eq!((idp.discoveries(), idp.fetches()), (0, 1));
}

#[tokio::test]
async fn audience_array_containing_ours_is_accepted() {
    let idp = TestIssuer::start().await;
    let mut claims = idp.claims("user-1");
    claims["aud"] = json!(["some-other-api", OIDC_AUDIENCE]);
    assert!(oidc(&idp).verify(&idp.sign_with(claims, SignWith::rs256())).await.is_ok());
}

#[tokio::test]
async fn wrong_or_missing_audience_is_refused() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let mut claims = idp.claims("user-1");
    claims["aud"] = json!("another-api");
    assert_invalid(oidc.verify(&idp.sign_with(claims.clone(), SignWith::rs256())).await, "audience");
    claims["aud"] = json!(["another-api", "a-third"]);
    assert_invalid(oidc.verify(&idp.sign_with(claims.clone(), SignWith::rs256())).await, "audience");
    claims.as_object_mut().unwrap().remove("aud");
    assert_invalid(oidc.verify(&idp.sign_with(claims, SignWith::rs256())).await, "aud claim");
}

#[tokio::test]
async fn expiry_is_checked_with_a_minute_of_leeway() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let mut claims = idp.claims("user-1");
    claims["exp"] = json!(now() - 120);
    let refused = oidc.verify(&idp.sign_with(claims.clone(), SignWith::rs256())).await;
    assert!(matches!(refused, Err(OidcError::Expired)), "{refused:?}");
    claims["exp"] = json!(now() - 20);
    assert!(oidc.verify(&idp.sign_with(claims.clone(), SignWith::rs256())).await.is_ok(), "within leeway");
    claims.as_object_mut().unwrap().remove("exp");
    assert_invalid(oidc.verify(&idp.sign_with(claims, SignWith::rs256())).await, "exp claim");
}

#[tokio::test]
async fn not_before_in_the_future_is_refused() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let mut claims = idp.claims("user-1");
    claims["nbf"] = json!(now() + 300);
    assert_invalid(oidc.verify(&idp.sign_with(claims.clone(), SignWith::rs256())).await, "not valid yet");
    claims["nbf"] = json!(now() + 20);
    assert!(oidc.verify(&idp.sign_with(claims, SignWith::rs256())).await.is_ok(), "within leeway");
}

#[tokio::test]
async fn untrusted_issuer_is_refused_without_fetching_its_keys() {
    let (ours, theirs) = (TestIssuer::start().await, TestIssuer::start().await);
    let oidc = oidc(&ours);
    assert!(!oidc.trusts(&theirs.issuer()));
    let refused = oidc.verify(&theirs.sign("user-1", None)).await;
    assert!(matches!(refused, Err(OidcError::UntrustedIssuer)), "{refused:?}");
    assert_eq!(theirs.fetches() + theirs.discoveries(), 0);

    // Their token relabelled with our issuer: our keys don't verify their signature.
    let mut claims = theirs.claims("user-1");
    claims["iss"] = json!(ours.issuer());
    let relabelled = theirs.sign_with(claims, SignWith::rs256().kid(ours.kid()));
    assert_invalid(oidc.verify(&relabelled).await, "signature");

    let mut claims = ours.claims("user-1");
    claims.as_object_mut().unwrap().remove("iss");
    assert_invalid(oidc.verify(&ours.sign_with(claims, SignWith::rs256())).await, "iss");
}

#[tokio::test]
async fn unknown_or_missing_kid_is_refused() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let refused = oidc.verify(&idp.sign_with(idp.claims("user-1"), SignWith::rs256().kid("nope"))).await;
    assert!(matches!(refused, Err(OidcError::UnknownKey)), "{refused:?}");
    assert_invalid(
        oidc.verify(&idp.sign_with(idp.claims("user-1"), SignWith::rs256().no_kid())).await,
        "kid",
    );
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let idp = TestIssuer::start().await;
    let token = idp.sign_with(idp.claims("mallory"), SignWith::alg(TestAlg::Hs256WithRsaPublicKey));
    assert_invalid(oidc(&idp).verify(&token).await, "algorithm");
}

#[tokio::test]
async fn alg_none_is_refused() {
    let idp = TestIssuer::start().await;
    let token = idp.sign_with(idp.claims("mallory"), SignWith::alg(TestAlg::None));
    assert!(token.ends_with('.'), "unsigned: {token}");
    assert!(matches!(oidc(&idp).verify(&token).await, Err(OidcError::Invalid(_))));
}

#[tokio::test]
async fn algorithm_must_match_the_key() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    // ES256 in the header, the RSA key's kid (and the other way round).
    let token = idp.sign_with(idp.claims("mallory"), SignWith::es256().kid(idp.kid()));
    assert_invalid(oidc.verify(&token).await, "does not match its key");
    let token = idp.sign_with(idp.claims("mallory"), SignWith::rs256().kid(idp.ec_kid()));
    assert_invalid(oidc.verify(&token).await, "does not match its key");
}

#[tokio::test]
async fn keys_not_for_rs256_or_es256_signing_are_skipped() {
    let idp = TestIssuer::start().await;
    // The current RSA key again, published for encryption, for RS512, and as an HMAC secret.
    let mut enc = idp.rsa_jwk();
    enc["kid"] = json!("enc-key");
    enc["use"] = json!("enc");
    let mut rs512 = idp.rsa_jwk();
    rs512["kid"] = json!("rs512-key");
    rs512["alg"] = json!("RS512");
    let mut verify_only_not = idp.rsa_jwk();
    verify_only_not["kid"] = json!("sign-ops-key");
    verify_only_not.as_object_mut().unwrap().remove("use");
    verify_only_not["key_ops"] = json!(["encrypt"]);
    idp.publish(enc);
    idp.publish(rs512);
    idp.publish(verify_only_not);
    idp.publish(json!({ "kty": "oct", "kid": "hmac-key", "k": "c2VjcmV0", "use": "sig" }));
    idp.publish(json!({ "kty": "weird", "kid": 7 }));
    let oidc = oidc(&idp);
    for kid in ["enc-key", "rs512-key", "sign-ops-key"] {
        let token = idp.sign_with(idp.claims("user-1"), SignWith::rs256().kid(kid));
        let refused = oidc.verify(&token).await;
        assert!(matches!(refused, Err(OidcError::UnknownKey)), "{kid}: {refused:?}");
    }
    // The good keys in the same set still work.
    assert!(oidc.verify(&idp.sign("user-1", None)).await.is_ok());
}

#[tokio::test]
async fn subject_must_be_a_short_plain_non_empty_string() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let with_sub = |sub: serde_json::Value| {
        let mut claims = idp.claims("x");
        claims["sub"] = sub;
        idp.sign_with(claims, SignWith::rs256())
    };
    assert_invalid(oidc.verify(&with_sub(json!(""))).await, "sub claim is empty");
    assert_invalid(oidc.verify(&with_sub(json!("a\u{0}b"))).await, "control characters");
    assert_invalid(oidc.verify(&with_sub(json!("x".repeat(256)))).await, "longer than 255");
    assert_invalid(oidc.verify(&with_sub(json!(42))).await, "sub claim");
    assert!(oidc.verify(&with_sub(json!("é".repeat(255)))).await.is_ok(), "255 characters are fine");

    let mut claims = idp.claims("x");
    claims.as_object_mut().unwrap().remove("sub");
    assert_invalid(oidc.verify(&idp.sign_with(claims, SignWith::rs256())).await, "sub claim");
}

#[tokio::test]
async fn name_with_control_characters_is_refused() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    assert_invalid(oidc.verify(&idp.sign("user-1", Some("Ada\u{1b}[31m"))).await, "control characters");
    assert_invalid(oidc.verify(&idp.sign("user-1", Some("Ada\nLovelace"))).await, "control characters");
}

#[tokio::test]
async fn name_is_trimmed_and_cut_to_200_characters() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let long = "Ñ".repeat(300);
    let who = oidc.verify(&idp.sign("user-1", Some(&long))).await.expect("verified");
    assert_eq!(who.name, Some("Ñ".repeat(200)));
    let who = oidc.verify(&idp.sign("user-1", Some("   "))).await.expect("verified");
    assert_eq!(who.name, None, "blank is no name");
}

#[tokio::test]
async fn rotated_key_verifies_and_the_retired_one_is_refused() {
    let idp = TestIssuer::start().await;
    // The default waits 10 s between fetches; a shorter wait keeps this test quick.
    let options = OidcOptions { min_refetch: Duration::from_millis(300), ..OidcOptions::default() };
    let oidc = Oidc::with_options(vec![idp.config()], OIDC_AUDIENCE, options);
    let old = idp.sign("user-1", None);
    oidc.verify(&old).await.expect("old key verifies");

    let new_kid = idp.rotate();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let new = idp.sign("user-1", None);
    assert_eq!(jsonwebtoken::decode_header(&new).unwrap().kid, Some(new_kid));
    let same_oidc = oidc.clone();
    same_oidc.verify(&new).await.expect("the new kid makes the verifier fetch the new key set");
    assert_eq!(idp.fetches(), 2);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let refused = oidc.verify(&old).await;
    assert!(matches!(refused, Err(OidcError::UnknownKey)), "{refused:?}");
    assert!(oidc.verify(&new).await.is_ok());
}

#[tokio::test]
async fn a_new_kid_within_ten_seconds_of_a_fetch_waits_for_the_next_one() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    oidc.verify(&idp.sign("user-1", None)).await.expect("verified");
    idp.rotate();
    let refused = oidc.verify(&idp.sign("user-1", None)).await;
    assert!(matches!(refused, Err(OidcError::UnknownKey)), "{refused:?}");
    assert_eq!(idp.fetches(), 1);
}

#[tokio::test]
async fn twenty_verifications_cost_one_fetch() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    for n in 0..20 {
        oidc.verify(&idp.sign(&format!("user-{n}"), None)).await.expect("verified");
    }
    assert_eq!((idp.fetches(), idp.discoveries()), (1, 1));
}

#[tokio::test]
async fn concurrent_first_verifications_share_one_fetch() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    let tokens: Vec<String> = (0..20).map(|n| idp.sign(&format!("user-{n}"), None)).collect();
    let handles: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let oidc = oidc.clone();
            tokio::spawn(async move { oidc.verify(&t).await })
        })
        .collect();
    for h in handles {
        h.await.expect("task").expect("verified");
    }
    assert_eq!(idp.fetches(), 1);
}

#[tokio::test]
async fn random_unknown_kids_do_not_hammer_the_provider() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    oidc.verify(&idp.sign("user-1", None)).await.expect("verified");
    let started = Instant::now();
    for _ in 0..50 {
        let kid = uuid::Uuid::new_v4().to_string();
        let refused = oidc.verify(&idp.sign_with(idp.claims("mallory"), SignWith::rs256().kid(kid))).await;
        assert!(matches!(refused, Err(OidcError::UnknownKey)), "{refused:?}");
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the 50 tokens took {:?}", started.elapsed());
    assert!(idp.fetches() <= 2, "{} fetches", idp.fetches());
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_refused() {
    let idp = TestIssuer::start().await;
    idp.set_discovery_issuer("https://login.example.org/evil");
    let refused = oidc(&idp).verify(&idp.sign("user-1", None)).await;
    assert!(matches!(refused, Err(OidcError::KeysUnavailable)), "{refused:?}");
    assert_eq!(idp.fetches(), 0, "the key set it points to is never read");
}

#[tokio::test]
async fn closed_port_means_keys_unavailable_quickly() {
    let idp = TestIssuer::start().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let gone = format!("http://127.0.0.1:{port}");
    let oidc = Oidc::new(vec![OidcIssuer { issuer: gone.clone(), jwks_url: None }], OIDC_AUDIENCE);
    let mut claims = idp.claims("user-1");
    claims["iss"] = json!(gone);
    let token = idp.sign_with(claims, SignWith::rs256());
    let started = Instant::now();
    let refused = oidc.verify(&token).await;
    assert!(matches!(refused, Err(OidcError::KeysUnavailable)), "{refused:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    // Retried no sooner than 10 s later: the second answer comes without a connection.
    assert!(matches!(oidc.verify(&token).await, Err(OidcError::KeysUnavailable)));
    let message = OidcError::KeysUnavailable.to_string();
    assert!(!message.contains("127.0.0.1") && !message.contains("http"), "{message}");
}

#[tokio::test]
async fn keys_are_fetched_again_once_they_are_an_hour_old() {
    let idp = TestIssuer::start().await;
    // An hour by default; 200 ms here.
    let options = OidcOptions {
        key_ttl: Duration::from_millis(200),
        min_refetch: Duration::ZERO,
        ..OidcOptions::default()
    };
    let oidc = Oidc::with_options(vec![idp.config()], OIDC_AUDIENCE, options);
    let token = idp.sign("user-1", None);
    oidc.verify(&token).await.expect("verified");
    oidc.verify(&token).await.expect("verified");
    assert_eq!(idp.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    oidc.verify(&token).await.expect("verified");
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test]
async fn key_set_over_a_mebibyte_is_refused() {
    let idp = TestIssuer::start().await;
    let padding = json!({ "kty": "RSA", "kid": "padding", "n": "A".repeat(600 * 1024), "e": "AQAB" });
    idp.publish(padding.clone());
    assert!(oidc(&idp).verify(&idp.sign("user-1", None)).await.is_ok(), "600 KiB is fine");
    idp.publish(padding);
    let refused = oidc(&idp).verify(&idp.sign("user-1", None)).await;
    assert!(matches!(refused, Err(OidcError::KeysUnavailable)), "{refused:?}");
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test]
async fn provider_that_never_answers_times_out() {
    let idp = TestIssuer::start().await;
    // Accepts connections and says nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let silent = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let options = OidcOptions { http_timeout: Duration::from_millis(300), ..OidcOptions::default() };
    let config = OidcIssuer { issuer: silent.clone(), jwks_url: None };
    let oidc = Oidc::with_options(vec![config], OIDC_AUDIENCE, options);
    let mut claims = idp.claims("user-1");
    claims["iss"] = json!(silent);
    let started = Instant::now();
    let refused = oidc.verify(&idp.sign_with(claims, SignWith::rs256())).await;
    assert!(matches!(refused, Err(OidcError::KeysUnavailable)), "{refused:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn garbage_is_refused_without_fetching() {
    let idp = TestIssuer::start().await;
    let oidc = oidc(&idp);
    for token in ["", "abc", "a.b.c", "a.b", &"x".repeat(20_000)] {
        assert!(matches!(oidc.verify(token).await, Err(OidcError::Invalid(_))), "{token:.20}");
    }
    assert_eq!(idp.fetches() + idp.discoveries(), 0);
}

#[test]
fn issuers_setting_is_parsed() {
    assert_eq!(parse_issuers("").unwrap(), vec![]);
    assert_eq!(parse_issuers("  ").unwrap(), vec![]);
    let parsed = parse_issuers(
        " https://accounts.google.com , https://login.microsoftonline.com/t/v2.0|https://login.microsoftonline.com/t/discovery/v2.0/keys,http://127.0.0.1:8080",
    )
    .unwrap();
    assert_eq!(
        parsed,
        vec![
            OidcIssuer { issuer: "https://accounts.google.com".into(), jwks_url: None },
            OidcIssuer {
                issuer: "https://login.microsoftonline.com/t/v2.0".into(),
                jwks_url: Some("https://login.microsoftonline.com/t/discovery/v2.0/keys".into()),
            },
            OidcIssuer { issuer: "http://127.0.0.1:8080".into(), jwks_url: None },
        ]
    );
    assert_eq!(parse_issuers("http://localhost:9000|http://[::1]:9000/jwks").unwrap().len(), 1);
}

#[test]
fn bad_issuers_setting_names_the_entry() {
    for (setting, entry) in [
        ("http://idp.example.org", "http://idp.example.org"),
        ("https://ok.example.org,ftp://idp.example.org", "ftp://idp.example.org"),
        ("not a url", "not a url"),
        ("https://ok.example.org|http://keys.example.org/jwks", "https://ok.example.org|http://keys"),
        ("https://a.example.org,https://a.example.org", "https://a.example.org"),
    ] {
        let e = format!("{:#}", parse_issuers(setting).expect_err(setting));
        assert!(e.contains(entry), "{setting}: {e}");
    }
    let e = format!("{:#}", parse_issuers("https://user:hunter2@idp.example.org").unwrap_err());
    assert!(!e.contains("hunter2"), "{e}");
}
