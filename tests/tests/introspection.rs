//! The full introspection query codegen tools send answers, for anyone, with every type of the
//! schema; introspection that nests for its own sake is still refused by depth and the limits.

use std::time::Duration;

use api::auth::Role;
use async_graphql::parser::{
    parse_schema,
    types::{TypeKind, TypeSystemDefinition},
};
use serde_json::{Value, json};
use tests::TestApp;

/// The shape of graphql-js's `getIntrospectionQuery` with every option on: descriptions,
/// `specifiedByURL`, `isRepeatable`, the schema's description, deprecated arguments and input
/// fields, `isOneOf`; `ofType` nested 9 levels deep.
fn full_introspection() -> String {
    let type_ref = format!("kind name {}", "ofType { kind name ".repeat(9) + &"}".repeat(9));
    format!(
        "query IntrospectionQuery {{
          __schema {{
            description
            queryType {{ name kind }} mutationType {{ name kind }} subscriptionType {{ name kind }}
            types {{ ...FullType }}
            directives {{
              name description isRepeatable locations args(includeDeprecated: true) {{ ...InputValue }}
            }}
          }}
        }}
        fragment FullType on __Type {{
          kind name description specifiedByURL isOneOf
          fields(includeDeprecated: true) {{
            name description args(includeDeprecated: true) {{ ...InputValue }}
            type {{ ...TypeRef }} isDeprecated deprecationReason
          }}
          inputFields(includeDeprecated: true) {{ ...InputValue }}
          interfaces {{ ...TypeRef }}
          enumValues(includeDeprecated: true) {{ name description isDeprecated deprecationReason }}
          possibleTypes {{ ...TypeRef }}
        }}
        fragment InputValue on __InputValue {{
          name description type {{ ...TypeRef }} defaultValue isDeprecated deprecationReason
        }}
        fragment TypeRef on __Type {{ {type_ref} }}"
    )
}

/// Names listed under `key` of an introspected type, sorted.
fn names(ty: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = ty[key]
        .as_array()
        .map(|list| list.iter().map(|x| x["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn the_full_introspection_query_answers_with_every_type() {
    let app = TestApp::with_demo().await;
    let partner = app.token(Role::Partner).sign();
    let sdl = parse_schema(api::sdl()).expect("our SDL parses");
    for token in [None, Some(partner.as_str())] {
        let data = app.gql(token, &full_introspection(), json!({})).await.ok();
        let schema = &data["__schema"];
        assert_eq!(
            (
                &schema["queryType"]["name"],
                &schema["mutationType"]["name"],
                &schema["subscriptionType"]["name"]
            ),
            (&json!("Query"), &json!("Mutation"), &json!("Subscription"))
        );
        let types = schema["types"].as_array().unwrap();
        let mut checked = 0;
        for definition in &sdl.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            let name = ty.node.name.node.as_str();
            let found =
                types.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("{name} is missing"));
            let (kind, key, mut expected): (_, _, Vec<String>) = match &ty.node.kind {
                TypeKind::Object(o) => {
                    ("OBJECT", "fields", o.fields.iter().map(|f| f.node.name.node.to_string()).collect())
                }
                TypeKind::Interface(i) => {
                    ("INTERFACE", "fields", i.fields.iter().map(|f| f.node.name.node.to_string()).collect())
                }
                TypeKind::InputObject(i) => (
                    "INPUT_OBJECT",
                    "inputFields",
                    i.fields.iter().map(|f| f.node.name.node.to_string()).collect(),
                ),
                TypeKind::Enum(e) => {
                    ("ENUM", "enumValues", e.values.iter().map(|v| v.node.value.node.to_string()).collect())
                }
                TypeKind::Union(u) => {
                    ("UNION", "possibleTypes", u.members.iter().map(|m| m.node.to_string()).collect())
                }
                TypeKind::Scalar => ("SCALAR", "fields", Vec::new()),
            };
            expected.sort();
            assert_eq!(found["kind"], kind, "{name}");
            assert_eq!(names(found, key), expected, "{name}'s {key}");
            checked += 1;
        }
        assert!(checked > 50, "only {checked} types checked");
        // Deprecated fields are listed with includeDeprecated, with their reason.
        let mutation = types.iter().find(|t| t["name"] == "Mutation").unwrap();
        let old = mutation["fields"].as_array().unwrap().iter().find(|f| f["name"] == "updateRiskThresholds");
        assert_eq!(old.map(|f| &f["isDeprecated"]), Some(&json!(true)));
        let directives = names(schema, "directives");
        for directive in ["deprecated", "include", "skip", "specifiedBy"] {
            assert!(directives.contains(&directive.to_owned()), "{directives:?}");
        }
    }
}

#[tokio::test]
async fn introspection_nested_for_its_own_sake_is_refused_at_once() {
    let app = TestApp::spawn().await;
    let deep =
        format!("{{ __schema {{ types {{ {}name{} }} }} }}", "fields { type { ".repeat(6), " } }".repeat(6));
    // `ofType` adds no level, but the `fields` and `type` between them still do.
    let interleaved = format!(
        "{{ __schema {{ types {{ {}name{} }} }} }}",
        "fields { type { ofType { ofType { ".repeat(6),
        " } } } }".repeat(6)
    );
    for query in [deep, interleaved] {
        let answer = tokio::time::timeout(Duration::from_secs(10), app.gql(None, &query, json!({})))
            .await
            .expect("refused in time");
        answer.fails_with("GRAPHQL_VALIDATION_FAILED");
        assert!(answer.body["errors"][0]["message"].as_str().unwrap().contains("nested too deep"));
    }
    // The other limits hold for introspection too.
    let aliases: String = (0..101).map(|i| format!("a{i}: __schema {{ description }} ")).collect();
    let answer = app.gql(None, &format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(answer.codes(), vec!["QUERY_TOO_COSTLY"], "{:#}", answer.body);
}
