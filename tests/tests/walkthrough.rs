//! README's "Starting a partnership from nothing", replayed from an empty database: the
//! operator's command lines as README prints them (through the real parser), then the city
//! admin's and a school lead's queries from the same section.

use std::time::Duration;

use api::{
    cli::{Cli, execute},
    oidc::{Oidc, OidcOptions},
};
use clap::Parser;
use serde_json::{Value, json};
use tests::{
    TestApp,
    oidc::{OIDC_AUDIENCE, TestIssuer},
};

const README: &str = include_str!("../../README.md");
const README_ISSUER: &str = "https://login.microsoftonline.com/TENANT-ID/v2.0";

/// Harbour's GIAS extract: three open schools of LA 851, one closed, one of another LA.
const EXTRACT: &str = "\
URN,LA (code),LA (name),EstablishmentName,TypeOfEstablishment (name),EstablishmentStatus (name),PhaseOfEducation (name),Trusts (code),Trusts (name),Postcode
851001,851,Portsmouth,Anchor Primary School,Academy converter,Open,Primary,17101,Tideway Trust,PO1 1AA
851002,851,Portsmouth,Beacon Primary School,Community school,Open,Primary,,,PO1 2AA
851003,851,Portsmouth,Compass Secondary School,Academy converter,Open,Secondary,17101,Tideway Trust,PO2 3AA
851004,851,Portsmouth,Closed Primary,Community school,Closed,Primary,,,PO1 9AA
852001,852,Southampton,Elsewhere Primary,Community school,Open,Primary,,,SO14 1AA
";

/// The text of README between the walkthrough markers.
fn section() -> &'static str {
    let start = README.find("<!-- walkthrough:start -->").expect("README has the walkthrough");
    let end = README.find("<!-- walkthrough:end -->").expect("README ends the walkthrough");
    &README[start..end]
}

/// The command lines of the section, continuation lines joined.
fn command_lines() -> Vec<String> {
    section()
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("partnership-api "))
        .map(str::to_owned)
        .collect()
}

/// Splits a command line as a POSIX shell would for these lines: spaces, and double quotes.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => (quoted, any) = (!quoted, true),
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

/// The GraphQL documents of the section's follow-up block (after the markers), in order.
fn documents() -> Vec<&'static str> {
    let after = &README[README.find("<!-- walkthrough:end -->").unwrap()..];
    let block = after.split("```graphql\n").nth(1).expect("a graphql block").split("```").next().unwrap();
    block.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[tokio::test]
async fn readme_walkthrough_takes_a_new_partnership_from_an_empty_database_to_progress() {
    let issuer = TestIssuer::start().await;
    let options = OidcOptions { min_refetch: Duration::ZERO, ..Default::default() };
    let app =
        TestApp::spawn().await.with_oidc(Oidc::with_options(vec![issuer.config()], OIDC_AUDIENCE, options));
    assert_eq!(app.count("partnership").await, 0, "an empty database");
    let dir = tempfile::tempdir().unwrap();
    let extract = dir.path().join("edubasealldata.csv");
    std::fs::write(&extract, EXTRACT).unwrap();
    let framework = concat!(env!("CARGO_MANIFEST_DIR"), "/../frameworks/aied-certified.toml");

    let lines = command_lines();
    assert_eq!(lines.len(), 5, "{lines:#?}");
    for line in &lines {
        let args: Vec<String> = words(line)
            .into_iter()
            .map(|w| match w.as_str() {
                "edubasealldata.csv" => extract.display().to_string(),
                "frameworks/aied-certified.toml" => framework.to_owned(),
                README_ISSUER => issuer.issuer(),
                _ => w,
            })
            .collect();
        let cli =
            Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("README line does not parse: {line}\n{e}"));
        execute(Some(&app.db), &cli.config, cli.command.expect("a command"))
            .await
            .unwrap_or_else(|e| panic!("README line failed: {line}\n{e:#}"));
    }
    assert_eq!(app.count("partnership_school").await, 3, "the open schools of LA 851 joined");
    assert_eq!(app.count("access_grant").await, 2, "an invitation and a bound grant");

    // The city admin signs in through the identity provider with the grant the operator bound.
    let admin = issuer.sign("ADMIN-OBJECT-ID", Some("Digital Learning Lead"));
    let me = app.gql(Some(&admin), "{ me { role displayName partnership { slug } } }", json!({})).await.ok();
    assert_eq!(
        me["me"],
        json!({ "role": "CITY_ADMIN", "displayName": "Digital Learning Lead", "partnership": { "slug": "harbour" } })
    );

    let mut vars = json!({});
    let mut answers: Vec<Value> = Vec::new();
    for doc in documents() {
        let data = app.gql(Some(&admin), doc, vars.clone()).await.ok();
        if let Some(id) = data.get("createCohort").map(|c| c["id"].clone()) {
            let name = if vars.get("pioneers").is_none() { "pioneers" } else { "second" };
            vars[name] = id;
        }
        answers.push(data);
    }
    let code =
        answers.iter().find_map(|a| a["createInvitation"]["code"].as_str()).expect("an invitation code");
    let pairing = answers.iter().find(|a| a.get("createMentorshipPairing").is_some()).expect("a pairing");
    assert!(pairing["createMentorshipPairing"]["id"].is_string());
    let progress = &answers.last().unwrap()["partnershipBySlug"]["progress"];
    assert_eq!(progress["totalSchools"], 3);
    assert_eq!(progress["certified"], 0);
    assert_eq!(progress["deadline"], "2028-07-31");
    let not_enrolled =
        progress["byStage"].as_array().unwrap().iter().find(|s| s["stage"] == "NOT_ENROLLED").unwrap();
    assert_eq!(not_enrolled["count"], 3);

    // The school's AI lead redeems the invitation and acts for their school.
    let lead = issuer.sign("LEAD-OBJECT-ID", Some("AI Lead, Anchor Primary"));
    app.gql(
        Some(&lead),
        "mutation($c: String!) { redeemInvitation(code: $c) { status } }",
        json!({ "c": code }),
    )
    .await
    .ok();
    let enrolled = app
        .gql(
            Some(&lead),
            r#"mutation { enrol(input: { urn: 851001, framework: "aied-certified", targetLevel: "EXPLORER" }) { stage framework { version } } }"#,
            json!({}),
        )
        .await
        .ok();
    assert_eq!(enrolled["enrol"], json!({ "stage": "ENROLLED", "framework": { "version": 1 } }));
    let audit = app.gql(Some(&admin), r#"{ partnershipBySlug(slug: "harbour") { auditLog(first: 20) { edges { node { action actorSubject } } } } }"#, json!({})).await.ok();
    let actions: Vec<&str> = audit["partnershipBySlug"]["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["action"].as_str().unwrap())
        .collect();
    for wanted in ["partnership.created", "grant.invite", "grant.redeem"] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
}
