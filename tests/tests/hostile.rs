//! Every hostile request of issue 10 in one sweep, against one small partnership: each gets a
//! client error with a stable code, the server answers a plain query right after it, and not
//! one row of any table changed. The details of each limit are tested beside it (cost.rs,
//! hardening.rs, conformance.rs, the WebSocket and rate-limit modules); this is the whole list.
//!
//! Requests ask for `application/graphql-response+json`, under which GraphQL over HTTP answers
//! a request that never ran with a 4xx. An error in one field (a date out of range, a refused
//! link) is a field error: the request ran, so the spec's status is 200, with the code in the
//! error and nothing written.

use api::auth::Role;
use axum::{
    body::{Body, Bytes},
    http::{Request, StatusCode},
};
use serde_json::{Value, json};
use tests::{
    Answer, TestApp,
    fixtures::{self, Upto},
};

use crate::{
    cost::{aliases, chain},
    hardening::token_with,
};

const HARBOUR: &str = "harbour";
const URN: i32 = 930001;
const MEDIA: &str = "application/graphql-response+json";

/// Every table, to see that a refused request wrote nothing anywhere.
const TABLES: [&str; 22] = [
    "access_grant",
    "ai_policy",
    "audit_event",
    "certification",
    "certification_event",
    "cohort",
    "cohort_school",
    "criterion",
    "evidence",
    "evidence_criterion",
    "framework",
    "framework_area",
    "framework_level",
    "local_authority",
    "mentorship_pairing",
    "partnership",
    "partnership_goal",
    "partnership_school",
    "rating",
    "review",
    "school",
    "trust",
];

async fn rows(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push((table, app.count(table).await));
    }
    counts
}

/// A POST of `body` as JSON, asking for GraphQL over HTTP's media type.
fn post(token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req =
        Request::post("/graphql").header("content-type", "application/json").header("accept", MEDIA);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(body.into()).expect("request")
}

fn gql(token: Option<&str>, query: &str, variables: Value) -> Request<Body> {
    post(token, json!({ "query": query, "variables": variables }).to_string())
}

fn claims(exp: i64, name: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({ "sub": "partner-1", "name": name, "role": "partner", "partnership": HARBOUR,
        "iat": now, "exp": exp, "iss": tests::ISSUER, "aud": tests::AUDIENCE })
}

/// A body that would stream 300 MB, 64 KiB at a time, unless the server stops reading.
fn endless_body() -> Body {
    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
    let chunks = (0..4_800).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    Body::from_stream(futures::stream::iter(chunks))
}

struct Hostile {
    what: &'static str,
    request: Request<Body>,
    status: StatusCode,
    /// The error's `extensions.code`; None where the refusal is HTTP's alone (413 before any
    /// GraphQL is read).
    code: Option<&'static str>,
}

fn hostile(
    what: &'static str,
    request: Request<Body>,
    status: StatusCode,
    code: Option<&'static str>,
) -> Hostile {
    Hostile { what, request, status, code }
}

#[tokio::test]
async fn every_hostile_request_is_refused_with_a_code_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let p = fixtures::partnership(&app.db, HARBOUR, "Harbour Partnership").await;
    let la = fixtures::local_authority(&app.db, "931", "Harbour Council").await;
    let school = fixtures::school(&app.db, URN, "Harbour Primary", la.id, None).await;
    fixtures::member(&app.db, p.id, school.id).await;
    let journey = fixtures::journey(&app, HARBOUR, URN, "Harbour", Upto::GatheringEvidence).await;
    let partner = app.token(Role::Partner).partnership(HARBOUR).sign();
    let lead = app.token(Role::SchoolLead).school(URN).sign();
    let pid = json!(api::ids::global_id("Partnership", p.id).to_string());
    let now = chrono::Utc::now().timestamp();
    let (bad, field) = (StatusCode::BAD_REQUEST, StatusCode::OK);
    let costly = Some("QUERY_TOO_COSTLY");
    let link = |url: &str| {
        json!({ "id": journey.id, "in": { "kind": "LINK", "title": "Plan", "url": url,
            "criteria": ["LIT-E-LEA"], "noPersonalData": true } })
    };
    let add_evidence =
        "mutation($id: ID!, $in: EvidenceInput!) { addEvidence(certification: $id, input: $in) { id } }";
    let deep =
        format!("{{ partnerships {{ {}name{} }} }}", "cohorts { schools { ".repeat(7), " } }".repeat(7));

    let cases = vec![
        hostile(
            "a 1.2 KB fragment chain expanding to 2^30 fields",
            gql(None, &chain(30), json!({})),
            bad,
            costly,
        ),
        hostile(
            "a fragment that spreads itself",
            gql(None, "{ ...A } fragment A on Query { ...A }", json!({})),
            bad,
            costly,
        ),
        hostile(
            "1,000 aliases of a year of weekly timeline points",
            gql(
                Some(&partner),
                &format!("{{ {} }}", aliases(1_000, "partnerships { timeline(interval: WEEK) { date } }")),
                json!({}),
            ),
            bad,
            costly,
        ),
        hostile(
            "200,000 aliases of __typename (3.9 MB)",
            gql(None, &format!("{{ {} }}", aliases(200_000, "__typename")), json!({})),
            bad,
            costly,
        ),
        hostile(
            "nesting past the depth limit",
            gql(Some(&partner), &deep, json!({})),
            bad,
            Some("GRAPHQL_VALIDATION_FAILED"),
        ),
        hostile(
            "a 300 MB body",
            post(None, endless_body()),
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("BAD_REQUEST"),
        ),
        hostile("a body that is not JSON", post(None, "{\"query\": "), bad, Some("BAD_REQUEST")),
        hostile(
            "a batch of requests",
            post(None, "[{\"query\": \"{ __typename }\"}]"),
            bad,
            Some("BAD_REQUEST"),
        ),
        hostile(
            "a mutation over GET",
            Request::get("/graphql?query=mutation%7BredeemInvitation(code%3A%22x%22)%7Bid%7D%7D")
                .header("accept", MEDIA)
                .body(Body::empty())
                .expect("request"),
            StatusCode::METHOD_NOT_ALLOWED,
            Some("BAD_REQUEST"),
        ),
        hostile(
            "a mutation without a content type",
            Request::post("/graphql")
                .header("accept", MEDIA)
                .header("authorization", format!("Bearer {lead}"))
                .body(Body::from(
                    json!({ "query": add_evidence, "variables": link("https://example.org/") }).to_string(),
                ))
                .expect("request"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("BAD_REQUEST"),
        ),
        hostile(
            "a mutation missing its required variables",
            gql(Some(&lead), add_evidence, json!({})),
            bad,
            Some("BAD_USER_INPUT"),
        ),
        hostile(
            "an Int variable past 32 bits",
            gql(
                Some(&partner),
                "query($n: Int) { schools(first: $n) { totalCount } }",
                json!({ "n": 99_999_999_999i64 }),
            ),
            bad,
            Some("BAD_USER_INPUT"),
        ),
        hostile(
            "a page larger than the maximum",
            gql(Some(&partner), "{ schools(first: 100000) { totalCount } }", json!({})),
            field,
            Some("BAD_USER_INPUT"),
        ),
        hostile(
            "an anonymous date 262,143 years before Christ",
            gql(
                None,
                "query($p: ID!) { partnership(id: $p) { progress(asOf: \"-262143-01-01\") { certified } } }",
                json!({ "p": pid }),
            ),
            field,
            Some("BAD_USER_INPUT"),
        ),
        hostile(
            "a token valid until the year 9999",
            gql(Some(&token_with(&claims(253_402_300_799, "Partner"))), "{ __typename }", json!({})),
            StatusCode::UNAUTHORIZED,
            Some("UNAUTHENTICATED"),
        ),
        hostile(
            "a token whose name is 100 KB with control characters",
            gql(Some(&token_with(&claims(now + 600, &"\u{7}x".repeat(50_000)))), "{ __typename }", json!({})),
            StatusCode::UNAUTHORIZED,
            Some("UNAUTHENTICATED"),
        ),
        hostile(
            "an evidence link with credentials before the host",
            gql(Some(&lead), add_evidence, link("https://trusted.gov.uk@evil.example/")),
            field,
            Some("BAD_USER_INPUT"),
        ),
        hostile(
            "an evidence link to the cloud metadata address",
            gql(Some(&lead), add_evidence, link("http://169.254.169.254/latest/meta-data/")),
            field,
            Some("BAD_USER_INPUT"),
        ),
    ];

    let before = rows(&app).await;
    let mut failures = Vec::new();
    for case in cases {
        let answer = app.send(case.request).await;
        let codes = answer.codes();
        let code_ok = match case.code {
            Some(code) => codes.iter().any(|c| c == code),
            None => true,
        };
        let internal = codes.iter().any(|c| c == "INTERNAL");
        if answer.status != case.status || !code_ok || internal {
            failures.push(format!(
                "{}: expected {} {:?}, got {} {}",
                case.what,
                case.status,
                case.code,
                answer.status,
                truncated(&answer)
            ));
        }
        let after = app.send(gql(None, "{ __typename }", json!({}))).await;
        assert_eq!(after.status, StatusCode::OK, "the server answers after {}", case.what);
        assert_eq!(after.body["data"]["__typename"], "Query", "after {}", case.what);
        assert_eq!(rows(&app).await, before, "nothing was written by {}", case.what);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn truncated(answer: &Answer) -> String {
    answer.body.to_string().chars().take(400).collect()
}
