//! `schools(orderBy:)` (issue 11): by name (the default) or by URN, each paged by its own key,
//! and a cursor only works in the order it was made for.

use api::auth::Role;
use serde_json::{Value, json};
use tests::{TestApp, fixtures};

const Q: &str = "query($order: SchoolOrder, $first: Int, $after: String, $maintained: Boolean) {
  schools(orderBy: $order, first: $first, after: $after, filter: { maintained: $maintained }) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { urn name } } } }";

/// Names start with distinct letters so that every collation (SQLite's bytes, PostgreSQL's
/// locale) sorts them alike; two schools share a name, so URN breaks the tie. URNs run against
/// the names, so the two orders differ throughout.
const SCHOOLS: [(i32, &str); 13] = [
    (951013, "Ash Primary"),
    (951002, "Birch Primary"),
    (951011, "Cedar Primary"),
    (951004, "Damson Primary"),
    (951009, "Elm Primary"),
    (951006, "Elm Primary"),
    (951007, "Fir Primary"),
    (951008, "Hazel Primary"),
    (951005, "Juniper Primary"),
    (951010, "Larch Primary"),
    (951003, "Maple Primary"),
    (951012, "Oak Primary"),
    (951001, "Willow Primary"),
];

/// The harbour partnership with SCHOOLS (every third one in a trust), and a school of another
/// partnership that its partner must not see. Returns a harbour partner's token.
async fn harbour(app: &TestApp) -> String {
    let db = &app.db;
    let p = fixtures::partnership(db, "harbour", "Harbour Partnership").await;
    let other = fixtures::partnership(db, "inland", "Inland Partnership").await;
    let la = fixtures::local_authority(db, "851", "Harbour Council").await;
    let trust = fixtures::trust(db, "7100001", "Harbour Learning Trust").await;
    for (i, (urn, name)) in SCHOOLS.iter().enumerate() {
        let s = fixtures::school(db, *urn, name, la.id, (i % 3 == 0).then_some(trust.id)).await;
        fixtures::member(db, p.id, s.id).await;
    }
    let hidden = fixtures::school(db, 951000, "Aardvark Primary", la.id, None).await;
    fixtures::member(db, other.id, hidden.id).await;
    app.token(Role::Partner).partnership("harbour").sign()
}

/// Walks every page of `schools` in `order` (null: the default), `first` at a time, with
/// `maintained`; returns the URNs in the order they came and the number of pages.
async fn walk(app: &TestApp, token: &str, order: Value, first: i32, maintained: Value) -> (Vec<i64>, usize) {
    let (mut urns, mut pages, mut after) = (Vec::new(), 0, Value::Null);
    loop {
        let mut vars = json!({ "first": first, "after": after, "maintained": maintained });
        // Left out rather than null: `orderBy` is `SchoolOrder!`, NAME when not given.
        if !order.is_null() {
            vars["order"] = order.clone();
        }
        let data = app.gql(Some(token), Q, vars).await.ok();
        let conn = &data["schools"];
        let edges = conn["edges"].as_array().expect("edges");
        urns.extend(edges.iter().map(|e| e["node"]["urn"].as_i64().expect("a URN")));
        pages += 1;
        assert!(pages <= SCHOOLS.len(), "paging does not end");
        if conn["pageInfo"]["hasNextPage"] == false {
            assert!(edges.len() <= first as usize);
            return (urns, pages);
        }
        assert_eq!(edges.len(), first as usize, "a page before the last is full");
        assert_eq!(edges.last().map(|e| &e["cursor"]), Some(&conn["pageInfo"]["endCursor"]));
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

fn by_name() -> Vec<i64> {
    let mut rows = SCHOOLS.to_vec();
    rows.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    rows.iter().map(|(urn, _)| i64::from(*urn)).collect()
}

fn by_urn() -> Vec<i64> {
    let mut urns: Vec<i64> = SCHOOLS.iter().map(|(urn, _)| i64::from(*urn)).collect();
    urns.sort();
    urns
}

#[tokio::test]
async fn both_orders_page_through_every_school_once() {
    let app = TestApp::spawn().await;
    let token = harbour(&app).await;
    assert_ne!(by_name(), by_urn());

    // By name, the default: the two Elm Primaries by URN; pages of 3, the last of one.
    assert_eq!(walk(&app, &token, Value::Null, 3, Value::Null).await, (by_name(), 5));
    assert_eq!(walk(&app, &token, json!("NAME"), 3, Value::Null).await, (by_name(), 5));
    // By URN: pages of 4, and of one, and all at once.
    assert_eq!(walk(&app, &token, json!("URN"), 4, Value::Null).await, (by_urn(), 4));
    assert_eq!(walk(&app, &token, json!("URN"), 1, Value::Null).await, (by_urn(), 13));
    assert_eq!(walk(&app, &token, json!("URN"), 100, Value::Null).await, (by_urn(), 1));

    // With a filter, the order holds among the schools it keeps.
    let maintained: Vec<i64> =
        SCHOOLS.iter().enumerate().filter(|(i, _)| i % 3 != 0).map(|(_, (urn, _))| i64::from(*urn)).collect();
    let (urns, _) = walk(&app, &token, json!("URN"), 2, json!(true)).await;
    let mut expected = maintained.clone();
    expected.sort();
    assert_eq!(urns, expected);
    let (urns, _) = walk(&app, &token, json!("NAME"), 2, json!(true)).await;
    assert_eq!(urns, by_name().into_iter().filter(|u| maintained.contains(u)).collect::<Vec<_>>());

    // totalCount is the whole list's, whatever the order.
    let vars = json!({ "order": "URN", "first": 2 });
    assert_eq!(app.gql(Some(&token), Q, vars).await.ok()["schools"]["totalCount"], 13);
}

#[tokio::test]
async fn a_cursor_from_the_other_order_is_refused() {
    let app = TestApp::spawn().await;
    let token = harbour(&app).await;
    let end = |data: Value| data["schools"]["pageInfo"]["endCursor"].clone();
    let name_cursor = end(app.gql(Some(&token), Q, json!({ "first": 2 })).await.ok());
    let urn_cursor = end(app.gql(Some(&token), Q, json!({ "order": "URN", "first": 2 })).await.ok());
    assert_ne!(name_cursor, urn_cursor);

    for (order, after) in [(Some("URN"), &name_cursor), (Some("NAME"), &urn_cursor), (None, &urn_cursor)] {
        let mut vars = json!({ "first": 2, "after": after });
        if let Some(order) = order {
            vars["order"] = json!(order);
        }
        let answer = app.gql(Some(&token), Q, vars).await;
        let error = answer.fails_with("BAD_USER_INPUT");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("order"), "the message says why: {message}");
    }
    // The nested lists read by name only: a URN cursor is no cursor of theirs either.
    let nested = "query($after: String) { partnerships { schools(first: 2, after: $after) { totalCount } } }";
    app.gql(Some(&token), nested, json!({ "after": urn_cursor })).await.fails_with("BAD_USER_INPUT");
    // A forged order mark is refused like any forged cursor, and its text is not echoed.
    let forged = base64_url("<b>SHOUT</b>|951005\n");
    let answer = app.gql(Some(&token), Q, json!({ "order": "URN", "after": forged })).await;
    let error = answer.fails_with("BAD_USER_INPUT");
    assert!(!error["message"].as_str().unwrap_or_default().contains("SHOUT"));
    // The cursors keep working in their own order.
    app.gql(Some(&token), Q, json!({ "order": "URN", "after": urn_cursor })).await.ok();
    app.gql(Some(&token), Q, json!({ "order": "NAME", "after": name_cursor })).await.ok();
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
