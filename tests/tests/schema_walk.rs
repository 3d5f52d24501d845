//! No argument makes the service fail (issue 10): every field of `Query` and `Mutation`, read
//! from the SDL, is called with seeded, well-typed, hostile arguments (`tests::arbitrary`) by
//! seven callers, and no answer may be a 5xx, anything but JSON, an error without a code or an
//! INTERNAL one; a mutation that is refused writes nothing. Failures are listed together, each
//! with the seed, field, caller, document and variables, so that a run replays:
//! `SCHEMA_WALK_SEED=<seed> cargo test -p tests --test api schema_walk` (and
//! `SCHEMA_WALK_ONLY=<part of a field's coordinate>` to run fewer fields, `SCHEMA_WALK_PRINT=1`
//! with `--nocapture` to see every call and answer).

use std::collections::BTreeMap;

use api::{auth::Role, ids::global_id};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tests::{
    Answer, TestApp,
    arbitrary::{Arbitrary, Call, Pools, Sdl, abridged},
    fixtures,
};
use uuid::Uuid;

/// The seed when `SCHEMA_WALK_SEED` is not set.
const SEED: u64 = 20_261_010;
/// Calls per field; each is sent by every caller.
const CASES: usize = 20;
const ALPHA: &str = "alpha";
const BETA: &str = "beta";
/// Alpha's schools: 910001 (certified, AI policy), 910002 (gathering evidence, mentored by
/// 910001), 910003 (submitted), 910004 (not enrolled); beta's: 920001 (gathering evidence), 920002.
const URNS: [i32; 6] = [910001, 910002, 910003, 910004, 920001, 920002];

/// A GIAS extract of one new school in alpha's LA, for `importSchools`.
const GIAS_ROW: &str = "\
URN,LA (code),LA (name),EstablishmentName,TypeOfEstablishment (name),EstablishmentStatus (name),\
PhaseOfEducation (name),Trusts (code),Trusts (name),Postcode
930001,901,Alpha Council,Gamma Primary,Community school,Open,Primary,,,PO1 1AA
";

/// Two partnerships as `tenancy` builds them, smaller, and what the walk draws from: every
/// row's global id (and a few of them as ids of the wrong type), and valid values by
/// argument name so that calls get past the first checks.
async fn world(app: &TestApp) -> Pools {
    use fixtures::*;
    let db = &app.db;
    let pa = partnership(db, ALPHA, "Alpha Partnership").await;
    let pb = partnership(db, BETA, "Beta Partnership").await;
    let (la_a, la_b) =
        (local_authority(db, "901", "Alpha Council").await, local_authority(db, "902", "Beta Council").await);
    let ta = trust(db, "7100001", "Alpha Learning Trust").await;
    let tb = trust(db, "7200001", "Beta Learning Trust").await;
    let mut schools = Vec::new();
    for (urn, la, trust, p) in [
        (URNS[0], la_a.id, Some(ta.id), pa.id),
        (URNS[1], la_a.id, None, pa.id),
        (URNS[2], la_a.id, Some(ta.id), pa.id),
        (URNS[3], la_a.id, None, pa.id),
        (URNS[4], la_b.id, Some(tb.id), pb.id),
        (URNS[5], la_b.id, None, pb.id),
    ] {
        let s = school(db, urn, &format!("School {urn}"), la, trust).await;
        member(db, p, s.id).await;
        schools.push(s);
    }
    let ca1 = cohort(db, pa.id, "Alpha Cohort 1", 1, "2025-09-01", "2026-07-15").await;
    let ca2 = cohort(db, pa.id, "Alpha Cohort 2", 2, "2026-01-05", "2027-07-15").await;
    let cb = cohort(db, pb.id, "Beta Cohort 1", 1, "2025-09-01", "2026-07-15").await;
    for (c, s) in [(&ca1, 0), (&ca1, 2), (&ca2, 1), (&ca2, 3), (&cb, 4), (&cb, 5)] {
        cohort_member(db, c, schools[s].id).await;
    }
    let pairing = pairing(db, &ca2, schools[0].id, schools[1].id, "2025-10-01").await;
    ai_policy(db, schools[0].id, "2025-09-01", "Alpha").await;
    let journeys: Vec<Journey> = vec![
        journey(app, ALPHA, URNS[0], "Alpha", Upto::Certified).await,
        journey(app, ALPHA, URNS[1], "Alpha", Upto::GatheringEvidence).await,
        journey(app, ALPHA, URNS[2], "Alpha", Upto::Submitted).await,
        journey(app, BETA, URNS[4], "Beta", Upto::GatheringEvidence).await,
    ];

    let admin = app.token(Role::CityAdmin).partnership(ALPHA).sign();
    let read = |query: &'static str| {
        let admin = admin.clone();
        async move { app.gql(Some(&admin), query, json!({})).await.ok() }
    };
    let invite = "mutation { createInvitation(input: { role: SCHOOL_LEAD, schoolUrn: 910002 }) { code grant { id } } }";
    let invitation = read(invite).await["createInvitation"].clone();
    let framework =
        read("{ frameworks { id levels { key } areas { key } criteria { id code level { rank } } } }").await;
    let framework = &framework["frameworks"][0];
    let cursors = read(
        "{ schools(first: 1) { pageInfo { endCursor } } trusts(first: 1) { pageInfo { endCursor } } grants(first: 1) { pageInfo { endCursor } } }",
    )
    .await;

    let mut ids: Vec<Value> = vec![
        gid("Partnership", pa.id),
        gid("Partnership", pb.id),
        gid("LocalAuthority", la_a.id),
        gid("LocalAuthority", la_b.id),
        gid("Trust", ta.id),
        gid("Trust", tb.id),
        gid("Cohort", ca1.id),
        gid("Cohort", ca2.id),
        gid("Cohort", cb.id),
        gid("MentorshipPairing", pairing.id),
        invitation["grant"]["id"].clone(),
        framework["id"].clone(),
        framework["criteria"][0]["id"].clone(),
        // Real rows named as another type.
        gid("Cohort", schools[0].id),
        gid("Certification", pa.id),
        gid("Evidence", ta.id),
    ];
    ids.extend(schools.iter().map(|s| gid("School", s.id)));
    ids.extend(journeys.iter().map(|j| j.id.clone()));
    ids.extend(journeys.iter().flat_map(|j| j.evidence.clone()));
    let keys = |list: &Value, key: &str| -> Vec<Value> {
        list.as_array().into_iter().flatten().map(|item| item[key].clone()).collect()
    };
    // The journeys aim at the lowest level: its criteria are the ones they rate.
    let lowest: Vec<Value> = framework["criteria"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["level"]["rank"] == 1)
        .cloned()
        .collect();
    let (levels, areas, criteria) = (
        keys(&framework["levels"], "key"),
        keys(&framework["areas"], "key"),
        keys(&Value::Array(lowest), "code"),
    );
    let urns: Vec<Value> = URNS.iter().map(|u| json!(u)).chain([json!(100000), json!(999999)]).collect();
    let after: Vec<Value> = ["schools", "trusts", "grants"]
        .iter()
        .map(|list| cursors[list]["pageInfo"]["endCursor"].clone())
        .chain([json!(910002), json!(0)])
        .collect();
    let mut by_name: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for name in ["urn", "menteeUrn", "mentorUrn", "schoolUrn"] {
        by_name.insert(name, urns.clone());
    }
    for name in ["targetLevel", "level", "requiredLevel"] {
        by_name.insert(name, levels.clone());
    }
    by_name.insert("criterion", criteria.clone());
    by_name.insert("criteria", criteria);
    by_name.insert("area", areas);
    by_name.insert("after", after);
    by_name.insert("first", vec![json!(1), json!(20), json!(100)]);
    by_name.insert("framework", vec![json!(fixtures::FRAMEWORK)]);
    by_name.insert("slug", vec![json!(fixtures::FRAMEWORK), json!(ALPHA), json!(BETA)]);
    by_name.insert("laCode", vec![json!("901"), json!("902"), json!("903")]);
    by_name.insert("laCodes", vec![json!("901"), json!("903")]);
    by_name.insert("laName", vec![json!("Alpha Council"), json!("Gamma Council")]);
    by_name.insert("groupUid", vec![json!("7100001"), json!("7300001")]);
    by_name.insert("companiesHouseNumber", vec![json!("01234567")]);
    by_name.insert("establishmentType", vec![json!("Community school"), json!("Academy converter")]);
    by_name.insert("postcode", vec![json!("PO1 2AB")]);
    by_name.insert("name", vec![json!("Alpha Cohort 1"), json!("Gamma"), json!("=HYPERLINK(\"x\")")]);
    // A date that fits the fixtures' calendar (2025-09 to 2027-07), and one at its edge.
    for (name, dates) in [
        ("startsOn", ["2026-09-01", "2025-09-01"]),
        ("targetOn", ["2027-07-15", "2026-08-31"]),
        ("startedOn", ["2026-01-10", "2025-09-01"]),
        ("endedOn", ["2026-03-01", "2025-09-01"]),
        ("adoptedOn", ["2025-09-01", "2024-01-31"]),
        ("lastReviewedOn", ["2026-01-10", "2025-08-31"]),
        ("awardedOn", ["2026-02-01", "2025-09-01"]),
        ("deadline", ["2027-12-31", "2025-09-01"]),
        ("asOf", ["2026-03-01", "2030-01-01"]),
        ("from", ["2025-09-01", "2027-07-31"]),
        ("to", ["2027-07-31", "2025-09-01"]),
    ] {
        by_name.insert(name, dates.iter().map(|d| json!(d)).collect());
    }
    for name in ["title", "text", "note", "feedback", "comment", "deadlineReason"] {
        by_name.insert(name, vec![json!("Plain words"), json!("Café 'quoted' <b>bold</b>\nnext line")]);
    }
    by_name.insert("number", journeys[0].certificate.iter().map(|n| json!(n)).collect());
    by_name.insert("code", vec![invitation["code"].clone()]);
    by_name.insert("url", vec![json!("https://example.org/evidence")]);
    by_name.insert("noPersonalData", vec![json!(true)]);
    by_name.insert("expectedVersion", (0..8).map(|v| json!(v)).collect());
    by_name.insert("expiresInDays", vec![json!(1), json!(7), json!(30)]);
    by_name.insert("ordinal", vec![json!(1), json!(3)]);
    by_name.insert("csv", vec![json!(GIAS_ROW)]);
    // Ids by the argument or input field they go in, the school lead's journey (910002's)
    // three times over.
    let partnerships = vec![gid("Partnership", pa.id), gid("Partnership", pb.id)];
    let trusts = vec![gid("Trust", ta.id), gid("Trust", tb.id)];
    let cohorts = vec![gid("Cohort", ca1.id), gid("Cohort", ca2.id), gid("Cohort", cb.id)];
    let mut certifications: Vec<Value> = journeys.iter().map(|j| j.id.clone()).collect();
    certifications.extend([journeys[1].id.clone(), journeys[1].id.clone()]);
    by_name.insert("partnership", partnerships.clone());
    by_name.insert("partnership.id", partnerships);
    by_name.insert("trust", trusts.clone());
    by_name.insert("trust.id", trusts.clone());
    by_name.insert("updateTrust.id", trusts);
    by_name.insert("cohort", cohorts.clone());
    by_name.insert("cohort.id", cohorts.clone());
    by_name.insert("updateCohort.id", cohorts);
    by_name.insert("certification", certifications.clone());
    by_name.insert("certification.id", certifications);
    by_name.insert("evidence", journeys.iter().flat_map(|j| j.evidence.clone()).collect());
    by_name.insert("revokeGrant.id", vec![invitation["grant"]["id"].clone()]);
    by_name.insert("endMentorshipPairing.id", vec![gid("MentorshipPairing", pairing.id)]);
    let by_name = by_name.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let ids = ids.into_iter().filter_map(|id| id.as_str().map(str::to_owned)).collect();
    Pools { by_name, ids }
}

fn gid(kind: &str, id: Uuid) -> Value {
    json!(global_id(kind, id).to_string())
}

/// The callers: anonymous, five roles of alpha, and beta's city admin (another partnership).
fn callers(app: &TestApp) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("anonymous", None),
        ("alpha partner", Some(app.token(Role::Partner).partnership(ALPHA).sign())),
        ("alpha city admin", Some(app.token(Role::CityAdmin).partnership(ALPHA).sign())),
        ("alpha school lead", Some(app.token(Role::SchoolLead).school(URNS[1]).sign())),
        ("alpha trust lead", Some(app.token(Role::TrustLead).trust("7100001").sign())),
        ("alpha assessor", Some(app.token(Role::Assessor).partnership(ALPHA).sign())),
        ("beta city admin", Some(app.token(Role::CityAdmin).partnership(BETA).sign())),
    ]
}

/// Row counts of every table but sea-orm's migrations and audit logs (two statements).
async fn row_counts(app: &TestApp) -> BTreeMap<String, i64> {
    let backend = app.db.get_database_backend();
    let list = if app.is_postgres() {
        "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    };
    let tables: Vec<String> = app
        .db
        .query_all_raw(Statement::from_string(backend, list))
        .await
        .expect("list tables")
        .iter()
        .map(|r| r.try_get::<String>("", "name").expect("a table name"))
        .filter(|t| t != "seaql_migrations" && !t.contains("audit"))
        .collect();
    let select = tables
        .iter()
        .map(|t| format!("SELECT '{t}' AS name, COUNT(*) AS n FROM \"{t}\""))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    app.db
        .query_all_raw(Statement::from_string(backend, select))
        .await
        .expect("count rows")
        .iter()
        .map(|r| (r.try_get("", "name").expect("name"), r.try_get("", "n").expect("n")))
        .collect()
}

/// What is wrong with an answer, if anything: a 5xx, a body that is not a JSON object, an
/// error without a code, or an INTERNAL one.
fn problem(answer: &Answer) -> Option<String> {
    if answer.status.is_server_error() {
        return Some(format!("HTTP {}", answer.status.as_u16()));
    }
    if !answer.body.is_object() {
        return Some("the body is not a JSON object".into());
    }
    let errors = answer.body["errors"].as_array().cloned().unwrap_or_default();
    if errors.iter().any(|e| !e["extensions"]["code"].is_string()) {
        return Some("an error without a code".into());
    }
    answer.codes().contains(&"INTERNAL".to_owned()).then(|| "an INTERNAL error".into())
}

/// True when the root field answered nothing: an error and no data for it.
fn refused(answer: &Answer, field: &str) -> bool {
    !answer.codes().is_empty() && answer.data().get(field).is_none_or(Value::is_null)
}

/// After a mutation: what is wrong if it was refused yet changed a row count, or if an
/// anonymous caller got it through. `counts` holds the counts before and is brought up to date.
async fn judge_write(
    app: &TestApp,
    counts: &mut BTreeMap<String, i64>,
    answer: &Answer,
    field: &str,
    anonymous: bool,
) -> Option<String> {
    let after = row_counts(app).await;
    let before = std::mem::replace(counts, after);
    if !refused(answer, field) {
        return anonymous.then(|| "an anonymous caller's mutation was not refused".into());
    }
    let changed: Vec<String> = counts
        .iter()
        .filter(|(t, n)| before.get(*t) != Some(n))
        .map(|(t, n)| format!("{t}: {:?} -> {n}", before.get(t)))
        .collect();
    (!changed.is_empty()).then(|| format!("refused, yet wrote: {}", changed.join(", ")))
}

#[tokio::test]
async fn no_argument_of_any_field_answers_internal_or_5xx() {
    let seed = std::env::var("SCHEMA_WALK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(SEED);
    let only = std::env::var("SCHEMA_WALK_ONLY").ok();
    let print = std::env::var_os("SCHEMA_WALK_PRINT").is_some();
    eprintln!("schema walk: seed {seed} (replay with SCHEMA_WALK_SEED={seed})");
    let app = TestApp::spawn().await;
    let pools = world(&app).await;
    let callers = callers(&app);
    let sdl = Sdl::parse(&api::sdl());

    let mut failures: Vec<String> = Vec::new();
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    // What each field answered (`data` or the first error's code) and how often: printed, so
    // a run with `--nocapture` shows how far the calls got.
    let mut tally: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (root, operation) in [("Query", "query"), ("Mutation", "mutation")] {
        let fields = sdl.fields(root);
        assert!(!fields.is_empty(), "the SDL has no fields of {root}");
        for field in fields {
            let name = field.name.node.to_string();
            let coordinate = format!("{root}.{name}");
            if only.as_deref().is_some_and(|part| !coordinate.contains(part)) {
                continue;
            }
            let mut counts = row_counts(&app).await;
            let mut arbitrary = Arbitrary::new(&sdl, &pools, seed, &coordinate);
            let ran = runs.entry(coordinate.clone()).or_default();
            for case in 0..CASES {
                let call = match arbitrary.call(operation, &field) {
                    Ok(call) => call,
                    Err(e) => {
                        failures.push(format!("{coordinate}: no cases: {e}"));
                        break;
                    }
                };
                for (caller, token) in &callers {
                    let answer = app.gql(token.as_deref(), &call.document, call.variables.clone()).await;
                    let outcome = answer.codes().first().cloned().unwrap_or_else(|| "data".into());
                    *tally.entry(coordinate.clone()).or_default().entry(outcome).or_default() += 1;
                    let report = |what: &str| report(&coordinate, case, caller, &call, &answer, what);
                    if print {
                        eprintln!("{}", report("sent"));
                    }
                    if let Some(p) = problem(&answer) {
                        failures.push(report(&p));
                    }
                    if operation == "mutation"
                        && let Some(p) = judge_write(&app, &mut counts, &answer, &name, token.is_none()).await
                    {
                        failures.push(report(&p));
                    }
                }
                *ran += 1;
            }
        }
    }

    for (coordinate, outcomes) in &tally {
        eprintln!("{coordinate}: {outcomes:?}");
    }
    // Every field has its cases, so a field added later is walked without anyone listing it.
    for (coordinate, ran) in &runs {
        if *ran < CASES {
            failures.push(format!("{coordinate}: {ran} of {CASES} cases ran"));
        }
    }
    let list: String = failures.iter().map(|f| format!("\n  - {f}")).collect();
    assert!(
        failures.is_empty(),
        "{} failures in {} calls (seed {seed}; replay with SCHEMA_WALK_SEED={seed}):{list}",
        failures.len(),
        runs.values().sum::<usize>() * callers.len()
    );
}

/// One failure, with everything needed to send the same request again.
fn report(coordinate: &str, case: usize, caller: &str, call: &Call, answer: &Answer, what: &str) -> String {
    let body = answer.body.to_string();
    let body: String = body.chars().take(600).collect();
    format!(
        "{coordinate} case {case} as {caller}: {what}\n      document: {}\n      variables: {}\n      answer: HTTP {} {body}",
        call.document,
        abridged(&call.variables),
        answer.status.as_u16()
    )
}
