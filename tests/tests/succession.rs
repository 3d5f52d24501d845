//! The register over time (issue 15): GIAS extracts made here, in GIAS's column names. A
//! conversion mid-journey keeps the journey and the certificate under the new URN and the
//! counts unchanged across its date; a trust move changes trust progress from its date only;
//! an amalgamation and a split are reported and wait; a link to a school proposed to open
//! waits until it opens; importing the same extracts again changes nothing.

use api::{
    auth::Role,
    import::{Extract, ImportReport, ImportService, report::LinkStatus},
};
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::{Value, json};
use tests::{
    TestApp,
    fixtures::{self, Upto},
};
use uuid::Uuid;

const HEADER: &str = "URN,EstablishmentName,LA (code),LA (name),TypeOfEstablishment (name),PhaseOfEducation (name),EstablishmentStatus (name),Trusts (code),Trusts (name),Postcode,OpenDate,CloseDate\n";
const LINKS: &str = "URN,LinkURN,LinkName,LinkType,LinkEstablishedDate\n";

/// One establishment row: (URN, name, type, status, trust code, open date, close date).
fn row(urn: i32, name: &str, kind: &str, status: &str, trust: &str, opened: &str, closed: &str) -> String {
    let trust_name = if trust.is_empty() { String::new() } else { format!("Trust {trust}") };
    format!("{urn},{name},992,Harbourside,{kind},Primary,{status},{trust},{trust_name},,{opened},{closed}\n")
}

/// Before: seven open schools; 992002 in trust 3001, 992009 in trust 3002.
fn before() -> String {
    [
        row(992001, "Harbour Primary", "Community school", "Open", "", "01-09-1990", ""),
        row(992002, "Quay Academy", "Academy converter", "Open", "3001", "01-09-2015", ""),
        row(992003, "North Infant", "Community school", "Open", "", "", ""),
        row(992004, "North Junior", "Community school", "Open", "", "", ""),
        row(992005, "Split Primary", "Community school", "Open", "", "", ""),
        row(992006, "Mill Lane Primary", "Community school", "Open", "", "", ""),
        row(992009, "Steady Academy", "Academy converter", "Open", "3002", "", ""),
    ]
    .concat()
}

/// After, on 2027-01-01: 992001 and 992006 converted into trust 3001's academies, 992002 moved
/// to trust 3002, and the successors of a split proposed to open; those of 992009 and of an
/// amalgamation (149034) as `steady` and `north` say.
fn after(steady: &str, north: &str) -> (String, String) {
    let schools = [
        HEADER.to_owned(),
        row(992001, "Harbour Primary", "Community school", "Closed", "", "01-09-1990", "31-12-2026"),
        row(149001, "Harbour Primary Academy", "Academy converter", "Open", "3001", "01-01-2027", ""),
        row(992002, "Quay Academy", "Academy converter", "Open", "3002", "01-09-2015", ""),
        row(992003, "North Infant", "Community school", "Open", "", "", ""),
        row(992004, "North Junior", "Community school", "Open", "", "", ""),
        row(149034, "North Primary", "Community school", north, "", "01-09-2027", ""),
        row(992005, "Split Primary", "Community school", "Open", "", "", ""),
        row(149051, "Split Infant", "Community school", "Proposed to open", "", "01-09-2027", ""),
        row(149052, "Split Junior", "Community school", "Proposed to open", "", "01-09-2027", ""),
        row(992006, "Mill Lane Primary", "Community school", "Closed", "", "", "31-12-2026"),
        row(149006, "Mill Lane Academy", "Academy converter", "Open", "3001", "01-01-2027", ""),
        row(992009, "Steady Academy", "Academy converter", "Open", "3002", "", ""),
        row(149009, "Steady Academy (re-brokered)", "Academy sponsor led", steady, "3001", "", ""),
    ]
    .concat();
    let links = [
        LINKS,
        "992001,149001,Harbour Primary Academy,Successor,01-01-2027\n",
        "149001,992001,Harbour Primary,Predecessor,01-01-2027\n",
        "992006,149006,Mill Lane Academy,Successor,01-01-2027\n",
        "992003,149034,North Primary,Successor - amalgamated,01-09-2027\n",
        "992004,149034,North Primary,Successor - amalgamated,01-09-2027\n",
        "992005,149051,Split Infant,Successor - split school,01-09-2027\n",
        "992005,149052,Split Junior,Successor - split school,01-09-2027\n",
        "992009,149009,Steady Academy (re-brokered),Successor,\n",
        "992009,140000,Sixth form,Sixth Form Centre Link,\n",
    ]
    .concat();
    (schools, links)
}

async fn import(app: &TestApp, schools: &str, links: Option<&str>, as_of: &str) -> ImportReport {
    run(app, schools, links, as_of, false).await
}

async fn run(app: &TestApp, schools: &str, links: Option<&str>, as_of: &str, dry_run: bool) -> ImportReport {
    let as_of = NaiveDate::parse_from_str(as_of, "%Y-%m-%d").ok();
    let extract = Extract { schools, links, as_of, dry_run };
    let report =
        ImportService::new(app.db.clone()).import_by_slug("conv", extract, &[]).await.expect("import");
    // As the command line imports: beside the server, whose facts are kept a few seconds.
    app.facts.clear();
    report
}

/// Every school of the register with its membership, cohort, trust spells and journeys, by URN.
async fn register(app: &TestApp) -> BTreeMap<i32, String> {
    use entity::{
        certification, cohort_school, mentorship_pairing, partnership_school, school, school_trust_spell,
    };
    use sea_orm::EntityTrait;
    let db = &app.db;
    let (members, cohorts) = (
        partnership_school::Entity::find().all(db).await.unwrap(),
        cohort_school::Entity::find().all(db).await.unwrap(),
    );
    let (spells, journeys) = (
        school_trust_spell::Entity::find().all(db).await.unwrap(),
        certification::Entity::find().all(db).await.unwrap(),
    );
    let pairings = mentorship_pairing::Entity::find().all(db).await.unwrap();
    let mut out = BTreeMap::new();
    for s in school::Entity::find().all(db).await.unwrap() {
        let id = s.id;
        let mine = |x: Uuid| x == id;
        let row = format!(
            "{s:?} {:?} {:?} {:?} {:?} {:?}",
            members
                .iter()
                .filter(|m| mine(m.school_id))
                .map(|m| (m.joined_on, m.left_on, m.succeeds_id))
                .collect::<Vec<_>>(),
            cohorts
                .iter()
                .filter(|c| mine(c.school_id))
                .map(|c| (c.cohort_id, c.joined_on, c.left_on))
                .collect::<Vec<_>>(),
            spells
                .iter()
                .filter(|t| mine(t.school_id))
                .map(|t| (t.trust_id, t.from_on, t.until_on))
                .collect::<Vec<_>>(),
            journeys.iter().filter(|j| mine(j.school_id)).map(|j| j.id).collect::<Vec<_>>(),
            pairings
                .iter()
                .filter(|p| mine(p.mentor_school_id) || mine(p.mentee_school_id))
                .map(|p| (p.id, p.status.clone()))
                .collect::<Vec<_>>(),
        );
        out.insert(s.urn, row);
    }
    out
}

/// The partnership's schools on `day`.
async fn total(app: &TestApp, token: &str, day: &str) -> Value {
    let q = "query($d: Date!) { me { partnership { progress(asOf: $d) { totalSchools } } } }";
    app.gql(Some(token), q, json!({ "d": day })).await.ok()["me"]["partnership"]["progress"]["totalSchools"]
        .clone()
}

/// Progress of the partnership, its cohort and its two trusts on `day`: (certified, total) each.
async fn counts(app: &TestApp, token: &str, day: &str) -> Value {
    let q = r#"query($d: Date!) { me { partnership { id progress(asOf: $d) { certified totalSchools }
        cohorts { progress(asOf: $d) { certified totalSchools } } } }
        trusts(first: 10) { nodes { groupUid progress(asOf: $d) { certified totalSchools } } } }"#;
    let a = app.gql(Some(token), q, json!({ "d": day })).await.ok();
    let pair = |p: &Value| json!([p["certified"], p["totalSchools"]]);
    let mut trusts: Vec<(String, Value)> = a["trusts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["groupUid"].as_str().unwrap().to_owned(), pair(&t["progress"])))
        .collect();
    trusts.sort_by(|a, b| a.0.cmp(&b.0));
    json!({
        "partnership": pair(&a["me"]["partnership"]["progress"]),
        "cohort": pair(&a["me"]["partnership"]["cohorts"][0]["progress"]),
        "trusts": trusts,
    })
}

#[tokio::test]
async fn a_conversion_keeps_the_journey_and_the_counts_and_a_trust_move_counts_from_its_date() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let p = fixtures::partnership(db, "conv", "Conversion City").await;
    let first = import(&app, &format!("{HEADER}{}", before()), None, "2025-09-01").await;
    assert_eq!((first.schools_created, first.members_added), (7, 7));

    // The pioneers: 992001 certified, 992006 gathering evidence, mentored by 992009.
    let id = |urn: i32| async move {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::school::Entity::find()
            .filter(entity::school::Column::Urn.eq(urn))
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id
    };
    let pioneers = fixtures::cohort(db, p.id, "Pioneers", 1, "2025-09-01", "2027-07-31").await;
    fixtures::cohort_member(db, &pioneers, id(992001).await).await;
    fixtures::cohort_member(db, &pioneers, id(992006).await).await;
    fixtures::pairing(db, &pioneers, id(992009).await, id(992006).await, "2026-09-01").await;
    fixtures::ai_policy(db, id(992001).await, "2026-01-10", "Harbour").await;
    let certified = fixtures::journey(&app, "conv", 992001, "conv", Upto::Certified).await;
    fixtures::journey(&app, "conv", 992006, "conv", Upto::GatheringEvidence).await;

    let admin = app.token(Role::CityAdmin).partnership("conv").sign();
    let eve = counts(&app, &admin, "2026-12-31").await;
    assert_eq!(eve["partnership"], json!([1, 7]));
    assert_eq!(eve["cohort"], json!([1, 2]));

    // A dry run reports every change, and writes none.
    let (schools, links) = after("Proposed to open", "Proposed to open");
    let before = register(&app).await;
    let preview = run(&app, &schools, Some(&links), "2027-01-01", true).await;
    assert!(!preview.applied);
    assert_eq!(register(&app).await, before, "a dry run wrote nothing");
    let listed: Vec<String> = preview.changes.iter().map(|c| format!("{} {:?}", c.urn, c.kind)).collect();
    assert_eq!(
        listed,
        [
            "149001 New",
            "149001 Joined",
            "149001 Converted",
            "149006 New",
            "149006 Joined",
            "149006 Converted",
            "992001 Closed",
            "992001 Left",
            "992002 MovedTrust",
            "992006 Closed",
            "992006 Left",
            "992009 PairingMoved",
        ]
    );

    let report = import(&app, &schools, Some(&links), "2027-01-01").await;
    assert!(report.applied);
    assert_eq!(
        (&report.changes, &report.links),
        (&preview.changes, &preview.links),
        "the preview was the import"
    );
    // Applying it changed exactly the schools the preview listed.
    let now = register(&app).await;
    let changed: BTreeSet<i32> =
        now.iter().filter(|(urn, row)| before.get(*urn) != Some(*row)).map(|(urn, _)| *urn).collect();
    let listed: BTreeSet<i32> = preview.changes.iter().map(|c| c.urn).collect();
    assert_eq!(changed, listed);
    let statuses: Vec<(i32, i32, String)> = report
        .links
        .iter()
        .map(|l| (l.predecessor_urn, l.successor_urn, format!("{:?} {:?} {}", l.kind, l.status, l.changed)))
        .collect();
    assert_eq!(
        statuses,
        [
            (992001, 149001, "Succession Applied true".to_owned()),
            (992003, 149034, "Amalgamation Reported true".to_owned()),
            (992004, 149034, "Amalgamation Reported true".to_owned()),
            (992005, 149051, "Split Reported true".to_owned()),
            (992005, 149052, "Split Reported true".to_owned()),
            (992006, 149006, "Succession Applied true".to_owned()),
            (992009, 149009, "Succession Waiting true".to_owned()),
        ]
    );
    assert_eq!((report.trust_moves, report.members_added), (1, 2));

    // Across the conversion date the counts hold; the trusts count each school from its move.
    let day = counts(&app, &admin, "2027-01-01").await;
    assert_eq!(day["partnership"], eve["partnership"]);
    assert_eq!(day["cohort"], eve["cohort"]);
    assert_eq!(eve["trusts"], json!([["3001", [0, 1]], ["3002", [0, 1]]]));
    assert_eq!(day["trusts"], json!([["3001", [1, 2]], ["3002", [0, 2]]]));
    // So does the CSV export's trust filter, and its trust column: by the trust each school was
    // in on the day asked about.
    let q = "{ trusts(first: 10) { nodes { id groupUid name } } }";
    let trusts = app.gql(Some(&admin), q, json!({})).await.ok();
    let nodes = trusts["trusts"]["nodes"].as_array().unwrap().clone();
    let trust = |key: &str, value: &str, want: &str| {
        let t = nodes.iter().find(|t| t[key] == value).unwrap();
        t[want].as_str().unwrap().to_owned()
    };
    let in_trust = |uid: &str, day: &str| {
        let path = format!(
            "/reports/schools.csv?partnership=conv&trust={}&asOf={day}",
            trust("groupUid", uid, "id")
        );
        let (app, admin, trust) = (&app, admin.clone(), &trust);
        async move {
            let (status, _, body) = app.get(&path, Some(&admin)).await;
            assert_eq!(status, 200, "{body}");
            let mut file = csv::Reader::from_reader(body.as_bytes());
            let rows = file.records().map(|r| r.unwrap());
            rows.map(|r| format!("{} {}", &r[0], trust("name", &r[3], "groupUid"))).collect::<Vec<_>>()
        }
    };
    assert_eq!(in_trust("3001", "2026-12-31").await, ["992002 3001"]);
    assert_eq!(in_trust("3001", "2027-01-01").await, ["149001 3001", "149006 3001"]);
    assert_eq!(in_trust("3002", "2027-01-01").await, ["992002 3002", "992009 3002"]);

    // Asked again about the eve, after the import, the answer is what it was; the burn-up
    // holds its one certified school, in its cohort, every week across the date.
    assert_eq!(counts(&app, &admin, "2026-12-31").await, eve);
    let q = r#"{ me { partnership { timeline(from: "2026-12-17", to: "2027-01-14") { certified byCohort { certified } } } } }"#;
    let burn_up = app.gql(Some(&admin), q, json!({})).await.ok();
    let points: Vec<Value> = burn_up["me"]["partnership"]["timeline"].as_array().unwrap().clone();
    assert_eq!(points.len(), 5);
    assert!(points.iter().all(|t| t["certified"] == 1 && t["byCohort"][0]["certified"] == 1), "{points:?}");

    // The journey, the certificate, the AI policy and the pairing are the successors' now.
    let q = r#"{ a: school(urn: 149001) { certifications { stage certificate { number } } aiPolicy(asOf: "2027-01-02") { status } }
        b: school(urn: 149006) { certifications { stage } }
        mentor: school(urn: 992009) { mentees { mentee { urn } } } }"#;
    let now = app.gql(Some(&admin), q, json!({})).await.ok();
    assert_eq!(now["a"]["certifications"][0]["certificate"]["number"], json!(certified.certificate));
    assert_ne!(now["a"]["aiPolicy"]["status"], "MISSING");
    assert_eq!(now["b"]["certifications"][0]["stage"], "GATHERING_EVIDENCE");
    assert_eq!(now["mentor"]["mentees"], json!([{ "mentee": { "urn": 149006 } }]));
    let q = "{ me { partnership { cohorts { schools(first: 10) { nodes { urn } } } } } }";
    let cohort = app.gql(Some(&admin), q, json!({})).await.ok();
    let members = &cohort["me"]["partnership"]["cohorts"][0]["schools"]["nodes"];
    assert_eq!(
        members,
        &json!([{ "urn": 149001 }, { "urn": 149006 }]),
        "the successors, not those they replaced"
    );

    // The same extracts again change nothing.
    let again = import(&app, &schools, Some(&links), "2027-01-01").await;
    assert!(again.links.iter().all(|l| !l.changed), "{:?}", again.links);
    assert_eq!((again.trust_moves, again.members_added, again.schools_updated), (0, 0, 0));
    assert_eq!(counts(&app, &admin, "2027-01-01").await, day);

    // Once the re-brokered academy opens, the waiting link is applied.
    let (schools, links) = after("Open", "Proposed to open");
    let opened = import(&app, &schools, Some(&links), "2027-02-01").await;
    let waiting = opened.links.iter().find(|l| l.successor_urn == 149009).unwrap();
    assert_eq!((waiting.status, waiting.changed), (LinkStatus::Applied, true));
    let later = counts(&app, &admin, "2027-02-01").await;
    assert_eq!(later["partnership"], json!([1, 7]), "149009 took 992009's place");
}

#[tokio::test]
async fn a_closed_school_leaves_the_count_on_its_closing_date_and_a_dry_run_through_graphql_writes_nothing() {
    let app = TestApp::spawn().await;
    fixtures::partnership(&app.db, "conv", "Conversion City").await;
    import(&app, &format!("{HEADER}{}", before()), None, "2025-09-01").await;
    let admin = app.token(Role::CityAdmin).partnership("conv").sign();
    let closing = format!(
        "{HEADER}{}{}",
        before().replace(
            &row(992005, "Split Primary", "Community school", "Open", "", "", ""),
            &row(992005, "Split Primary", "Community school", "Closed", "", "", "31-03-2027"),
        ),
        ""
    );
    let m = r#"mutation($csv: String!, $dry: Boolean!) { importSchools(csv: $csv, asOf: "2027-04-01", dryRun: $dry) {
        applied schoolsUpdated changes { urn kind detail } } }"#;
    let preview = app.gql(Some(&admin), m, json!({ "csv": closing, "dry": true })).await.ok();
    let expected = json!([{ "urn": 992005, "kind": "CLOSED", "detail": "2027-03-31" }]);
    assert_eq!(preview["importSchools"]["changes"], expected);
    assert_eq!(preview["importSchools"]["applied"], false);
    let total = |day: &'static str| total(&app, &admin, day);
    assert_eq!(total("2027-04-01").await, 7, "the dry run wrote nothing");

    let applied = app.gql(Some(&admin), m, json!({ "csv": closing, "dry": false })).await.ok();
    assert_eq!(
        (&applied["importSchools"]["applied"], &applied["importSchools"]["changes"]),
        (&json!(true), &expected)
    );
    assert_eq!((total("2027-03-30").await, total("2027-03-31").await), (json!(7), json!(6)));
}

#[tokio::test]
async fn a_reported_amalgamation_waits_for_the_city_admins_decision_which_stands() {
    let app = TestApp::spawn().await;
    fixtures::partnership(&app.db, "conv", "Conversion City").await;
    import(&app, &format!("{HEADER}{}", before()), None, "2025-09-01").await;
    let (schools, links) = after("Proposed to open", "Open");
    import(&app, &schools, Some(&links), "2027-09-01").await;
    let admin = app.token(Role::CityAdmin).partnership("conv").sign();
    let list = "{ schoolLinks(status: REPORTED) { predecessorUrn successorUrn kind status } }";
    let reported = app.gql(Some(&admin), list, json!({})).await.ok();
    let pairs: Vec<String> = reported["schoolLinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| format!("{} {} {}", l["predecessorUrn"], l["successorUrn"], l["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            "992003 149034 AMALGAMATION",
            "992004 149034 AMALGAMATION",
            "992005 149051 SPLIT",
            "992005 149052 SPLIT"
        ]
    );
    let partner = app.token(Role::Partner).partnership("conv").sign();
    app.gql(Some(&partner), list, json!({})).await.fails_with("FORBIDDEN");

    let decide = "mutation($p: Int!, $s: Int!, $c: Boolean!) { decideSchoolLink(predecessorUrn: $p, successorUrn: $s, carryOn: $c) { status changed } }";
    let ask = |p: i32, s: i32, c: bool| app.gql(Some(&admin), decide, json!({ "p": p, "s": s, "c": c }));
    // Refusals write nothing: a split's successor cannot carry on alone, a link no extract
    // reported is not there, and another partnership's city admin sees neither the links nor
    // a way to decide them.
    let untouched = register(&app).await;
    ask(992005, 149051, true).await.fails_with("CONFLICT");
    ask(992001, 149034, true).await.fails_with("NOT_FOUND");
    fixtures::partnership(&app.db, "other", "Other City").await;
    let stranger = app.token(Role::CityAdmin).partnership("other").sign();
    let theirs = app.gql(Some(&stranger), list, json!({})).await.ok();
    assert_eq!(theirs["schoolLinks"], json!([]));
    let vars = json!({ "p": 992003, "s": 149034, "c": true });
    app.gql(Some(&stranger), decide, vars).await.fails_with("NOT_FOUND");
    // Nor does a links extract with a bad row: the whole import is refused.
    let bad = format!("{links}992006,not-a-urn,Mill Lane Academy,Successor,01-01-2027\n");
    let m = r#"mutation($csv: String!, $links: String!) { importSchools(csv: $csv, links: $links, asOf: "2027-09-01") { applied } }"#;
    app.gql(Some(&admin), m, json!({ "csv": &schools, "links": bad })).await.fails_with("BAD_USER_INPUT");
    assert_eq!(register(&app).await, untouched, "no refusal wrote anything");
    let total = |day: &'static str| total(&app, &admin, day);
    // Before the decisions 149034 has joined beside the two it replaces.
    assert_eq!((total("2027-08-31").await, total("2027-09-01").await), (json!(7), json!(8)));
    let carried = ask(992003, 149034, true).await.ok();
    assert_eq!(carried["decideSchoolLink"], json!({ "status": "APPLIED", "changed": true }));
    let dismissed = ask(992004, 149034, false).await.ok();
    assert_eq!(dismissed["decideSchoolLink"], json!({ "status": "DISMISSED", "changed": true }));
    ask(992003, 149034, false).await.fails_with("CONFLICT");
    assert_eq!((total("2027-08-31").await, total("2027-09-01").await), (json!(7), json!(6)));

    // No import changes a decision.
    let again = import(&app, &schools, Some(&links), "2027-09-02").await;
    let north: Vec<(LinkStatus, bool)> =
        again.links.iter().filter(|l| l.successor_urn == 149034).map(|l| (l.status, l.changed)).collect();
    assert_eq!(north, [(LinkStatus::Applied, false), (LinkStatus::Dismissed, false)]);
}

#[tokio::test]
async fn a_school_moved_between_cohorts_counts_in_its_old_cohort_until_the_move() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let p = fixtures::partnership(db, "conv", "Conversion City").await;
    import(&app, &format!("{HEADER}{}", before()), None, "2025-09-01").await;
    let first = fixtures::cohort(db, p.id, "First", 1, "2025-09-01", "2027-07-31").await;
    fixtures::cohort(db, p.id, "Second", 2, "2025-09-01", "2027-07-31").await;
    let school = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::school::Entity::find()
            .filter(entity::school::Column::Urn.eq(992001))
            .one(db)
            .await
            .unwrap()
            .unwrap()
    };
    fixtures::cohort_member(db, &first, school.id).await;
    let admin = app.token(Role::CityAdmin).partnership("conv").sign();
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.pred_opt().unwrap();
    // Schools in each cohort (First, Second) on a day, and First's schools now.
    let sizes = |day: NaiveDate| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let q = "query($d: Date!) { me { partnership { cohorts { id progress(asOf: $d) { totalSchools } schools(first: 5) { nodes { urn } } } } } }";
            let a = app.gql(Some(&admin), q, json!({ "d": day.to_string() })).await.ok();
            let cohorts = a["me"]["partnership"]["cohorts"].as_array().unwrap().clone();
            let totals: Vec<i64> =
                cohorts.iter().map(|c| c["progress"]["totalSchools"].as_i64().unwrap()).collect();
            (
                totals,
                cohorts[0]["id"].clone(),
                cohorts[1]["id"].clone(),
                cohorts[0]["schools"]["nodes"].clone(),
            )
        }
    };
    let (before_move, first_id, second_id, _) = sizes(yesterday).await;
    assert_eq!(before_move, [1, 0]);
    let move_to = |from: Value, to: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let out = "mutation($c: ID!) { removeSchoolFromCohort(cohort: $c, urn: 992001) { urn } }";
            app.gql(Some(&admin), out, json!({ "c": from })).await.ok();
            let into = "mutation($c: ID!) { addSchoolToCohort(cohort: $c, urn: 992001) { urn } }";
            app.gql(Some(&admin), into, json!({ "c": to })).await.ok();
        }
    };
    move_to(first_id.clone(), second_id.clone()).await;
    // Yesterday it was in First; from today it is in Second, and First lists it no more.
    assert_eq!(sizes(yesterday).await.0, [1, 0]);
    let (now, _, _, first_now) = sizes(today).await;
    assert_eq!((now, first_now), (vec![0, 1], json!([])));
    let into_first = "mutation($c: ID!) { addSchoolToCohort(cohort: $c, urn: 992001) { urn } }";
    app.gql(Some(&admin), into_first, json!({ "c": first_id })).await.fails_with("CONFLICT");
    // Back the same day: Second keeps no trace, First has it again from when it first joined.
    move_to(second_id, first_id).await;
    assert_eq!((sizes(yesterday).await.0, sizes(today).await.0), (vec![1, 0], vec![1, 0]));
}
