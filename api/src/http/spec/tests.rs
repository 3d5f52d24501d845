//! `Spec` on a small schema of its own: failures where the type says non-null or not, in lists
//! of either, an interface resolved at run time, and fields that finish out of order.

use async_graphql::{EmptyMutation, EmptySubscription, Interface, Object, Result, Schema};
use serde_json::json;

use super::Spec;

struct Item(i32);

#[Object]
impl Item {
    async fn n(&self) -> i32 {
        self.0
    }
    /// Finishes after its siblings.
    async fn slow(&self) -> i32 {
        tokio::task::yield_now().await;
        self.0
    }
    async fn fails(&self) -> Result<i32> {
        Err("fails".into())
    }
    async fn may_fail(&self) -> Result<Option<i32>> {
        Err("may fail".into())
    }
}

struct A;

#[Object]
impl A {
    /// Finishes after `n`.
    async fn a(&self) -> i32 {
        tokio::task::yield_now().await;
        1
    }
    async fn n(&self) -> i32 {
        2
    }
}

struct B;

#[Object]
impl B {
    async fn b(&self) -> i32 {
        3
    }
    async fn n(&self) -> i32 {
        4
    }
}

#[derive(Interface)]
#[graphql(field(name = "n", ty = "i32"))]
enum Thing {
    A(A),
    B(B),
}

struct Query;

#[Object]
impl Query {
    async fn items(&self) -> Vec<Item> {
        vec![Item(1), Item(2)]
    }
    async fn maybe_items(&self) -> Vec<Option<Item>> {
        vec![Some(Item(1)), Some(Item(2))]
    }
    async fn item(&self) -> Option<Item> {
        Some(Item(1))
    }
    async fn may_fail(&self) -> Result<Option<i32>> {
        Err("may fail".into())
    }
    async fn thing(&self, a: bool) -> Thing {
        tokio::task::yield_now().await;
        if a { Thing::A(A) } else { Thing::B(B) }
    }
}

/// The answer of the small schema, completed by `Spec`.
async fn answer(request: impl Into<async_graphql::Request>) -> async_graphql::Response {
    let schema = Schema::build(Query, EmptyMutation, EmptySubscription).finish();
    Spec::new(&schema.sdl()).answer(request.into(), |request| schema.execute(request)).await
}

/// The answer as sent: its keys in order, and how many errors it has.
async fn run(query: &str) -> (String, usize) {
    let answer = answer(query).await;
    (serde_json::to_string(&answer.data).unwrap(), answer.errors.len())
}

#[tokio::test]
async fn a_null_where_non_null_is_due_goes_up_to_the_nearest_nullable_place() {
    // `fails: Int!` in `Item!` in `[Item!]!`: nothing nullable but `data`.
    assert_eq!(run("{ items { n fails } }").await, ("null".into(), 2));
    // In `[Item]!` each item is null on its own.
    assert_eq!(
        run("{ maybeItems { n fails } }").await,
        (json!({ "maybeItems": [null, null] }).to_string(), 2)
    );
    assert_eq!(run("{ item { n fails } }").await, (json!({ "item": null }).to_string(), 1));
    // A nullable field that fails is there, null.
    let (data, errors) = run("{ item { n mayFail } }").await;
    assert_eq!((data.as_str(), errors), (r#"{"item":{"n":1,"mayFail":null}}"#, 1));
}

#[tokio::test]
async fn an_object_whose_every_field_failed_is_still_an_object() {
    // async-graphql answers null for both; the spec, the object with its nulls.
    assert_eq!(run("{ item { mayFail } }").await, (r#"{"item":{"mayFail":null}}"#.into(), 1));
    assert_eq!(run("{ mayFail }").await, (r#"{"mayFail":null}"#.into(), 1));
}

#[tokio::test]
async fn keys_follow_the_selection_for_the_type_each_value_resolved_to() {
    let (data, _) = run("{ item { slow n } x: item { n slow } }").await;
    assert_eq!(data, r#"{"item":{"slow":1,"n":1},"x":{"n":1,"slow":1}}"#);
    // The same keys in another order for each type of the interface.
    let q = "query($a: Boolean!) { thing(a: $a) { ... on A { k: a } n ... on B { k: b } } }";
    for (a, expected) in [(true, r#"{"thing":{"k":1,"n":2}}"#), (false, r#"{"thing":{"n":4,"k":3}}"#)] {
        let request =
            async_graphql::Request::new(q).variables(async_graphql::Variables::from_json(json!({ "a": a })));
        let answer = answer(request).await;
        assert_eq!(serde_json::to_string(&answer.data).unwrap(), expected, "{:?}", answer.errors);
    }
}

#[tokio::test]
async fn an_interface_in_a_named_fragment_resolves_and_shows_no_key_of_ours() {
    let q = "{ ...F } fragment F on Query { x: thing(a: false) { ... on B { b } n } }";
    let (data, errors) = run(q).await;
    assert_eq!((data.as_str(), errors), (r#"{"x":{"b":3,"n":4}}"#, 0));
}
