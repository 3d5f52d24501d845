use api::{
    auth::Role,
    import::{Extract, ImportService, gias},
};
use serde_json::json;
use tests::TestApp;

/// A GIAS-shaped extract: GIAS's own headers (and a few of its other columns), real-world
/// quirks (quoted commas, a non-ASCII name, an independent school, another LA, a closed school).
const EXTRACT: &str = "\
URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,TypeOfEstablishment (name),EstablishmentTypeGroup (name),EstablishmentStatus (name),PhaseOfEducation (name),Trusts (code),Trusts (name),Postcode
700001,851,Portsmouth,2001,Harbour View Primary School,Community school,Local authority maintained schools,Open,Primary,,,PO1 1AA
700002,851,Portsmouth,4001,\"St Anne's, Southsea\",Academy converter,Academies,Open,Secondary,17001,Solent Learning Trust,PO4 0AB
700003,851,Portsmouth,7001,Ysgol Fach Café,Academy special converter,Academies,\"Open, but proposed to close\",Not applicable,17001,Solent Learning Trust,PO2 9ZZ
700004,851,Portsmouth,6001,Private Prep,Other independent school,Independent schools,Open,Not applicable,,,PO3 5XY
700005,852,Southampton,2002,Elsewhere Primary,Community school,Local authority maintained schools,Open,Primary,,,SO14 1AA
700006,851,Portsmouth,2003,Gone Primary,Community school,Local authority maintained schools,Closed,Primary,,,PO1 2AA
";

fn cp1252() -> Vec<u8> {
    encoding_rs::WINDOWS_1252.encode(EXTRACT).0.into_owned()
}

#[tokio::test]
async fn a_gias_extract_loads_unchanged_and_reimports_as_a_no_op() {
    let app = TestApp::with_demo().await;
    let service = ImportService::new(app.db.clone());
    let bytes = cp1252();
    assert!(std::str::from_utf8(&bytes).is_err(), "the fixture really is cp1252");
    let la = vec!["851".to_owned()];
    let report =
        service.import_by_slug("demo-city", Extract::schools(&gias::decode(&bytes)), &la).await.unwrap();
    assert_eq!(report.rows, 6);
    assert_eq!(report.skipped, 3, "independent, other LA, closed and never held");
    assert_eq!((report.schools_created, report.trusts_created, report.local_authorities_created), (3, 1, 1));
    assert_eq!(report.members_added, 3);

    let token = app.token(Role::CityAdmin).sign();
    let q = "{ school(urn: 700003) { name phase open maintained trust { name groupUid } localAuthority { code name } } }";
    let data = app.gql(Some(&token), q, json!({})).await.ok();
    assert_eq!(
        data["school"],
        json!({ "name": "Ysgol Fach Café", "phase": "SPECIAL", "open": true, "maintained": false,
                "trust": { "name": "Solent Learning Trust", "groupUid": "17001" },
                "localAuthority": { "code": "851", "name": "Portsmouth" } })
    );
    let quoted = app.gql(Some(&token), "{ school(urn: 700002) { name } }", json!({})).await.ok();
    assert_eq!(quoted["school"]["name"], "St Anne's, Southsea");

    let counts = (app.count("school").await, app.count("trust").await, app.count("partnership_school").await);
    let again =
        service.import_by_slug("demo-city", Extract::schools(&gias::decode(&bytes)), &la).await.unwrap();
    assert_eq!((again.schools_created, again.schools_updated, again.schools_unchanged), (0, 0, 3));
    assert_eq!((again.trusts_created, again.trusts_updated, again.members_added), (0, 0, 0));
    assert_eq!(
        counts,
        (app.count("school").await, app.count("trust").await, app.count("partnership_school").await)
    );

    // The same file as UTF-8 through the mutation is the same data: still nothing to change.
    let m = "mutation($csv: String!, $la: [String!]!) { importSchools(csv: $csv, laCodes: $la) { schoolsCreated schoolsUpdated schoolsUnchanged } }";
    let data = app.gql(Some(&token), m, json!({ "csv": EXTRACT, "la": ["851"] })).await.ok();
    assert_eq!(
        data["importSchools"],
        json!({ "schoolsCreated": 0, "schoolsUpdated": 0, "schoolsUnchanged": 3 })
    );

    // A school that closes is updated, not dropped.
    let closing = EXTRACT.replace("700001,851,Portsmouth,2001,Harbour View Primary School,Community school,Local authority maintained schools,Open", "700001,851,Portsmouth,2001,Harbour View Primary School,Community school,Local authority maintained schools,Closed");
    let data = app.gql(Some(&token), m, json!({ "csv": closing, "la": ["851"] })).await.ok();
    assert_eq!(data["importSchools"]["schoolsUpdated"], 1);
    let closed = app.gql(Some(&token), "{ school(urn: 700001) { open } }", json!({})).await.ok();
    assert_eq!(closed["school"]["open"], false);
}

#[tokio::test]
async fn bad_rows_are_all_reported_and_nothing_is_applied() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::CityAdmin).sign();
    let bad = format!(
        "{EXTRACT}7000x7,851,Portsmouth,2004,Bad URN,Community school,Local authority maintained schools,Open,Primary,,,PO1 3AA\n\
         700008,851,Portsmouth,2005,Bad Phase,Community school,Local authority maintained schools,Open,Kindergarten,,,PO1 3AB\n\
         700009,85,Portsmouth,2006,Bad LA,Community school,Local authority maintained schools,Open,Primary,,,PO1 3AC\n"
    );
    let m = "mutation($csv: String!) { importSchools(csv: $csv) { schoolsCreated } }";
    let answer = app.gql(Some(&token), m, json!({ "csv": bad })).await;
    let err = answer.fails_with("BAD_USER_INPUT");
    let rows: Vec<(i64, String)> = err["extensions"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_i64().unwrap(), r["column"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        rows,
        vec![(8, "URN".into()), (9, "PhaseOfEducation (name)".into()), (10, "LA (code)".into())]
    );
    assert_eq!(app.count("school").await, 61);
    assert_eq!(app.count("trust").await, 14);
    assert_eq!(app.count("local_authority").await, 1);

    let missing = app.gql(Some(&token), m, json!({ "csv": "URN,EstablishmentName\n700001,X\n" })).await;
    let err = missing.fails_with("BAD_USER_INPUT");
    assert_eq!(err["extensions"]["rows"][0]["line"], 1);

    let partner = app.token(Role::Partner).sign();
    app.gql(Some(&partner), m, json!({ "csv": EXTRACT })).await.fails_with("FORBIDDEN");
    assert_eq!(app.count("school").await, 61);
}
