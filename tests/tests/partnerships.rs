//! Partnership settings and goals: created and changed by the operator (the command line's
//! service calls) or by the partnership's city admins (`updatePartnership`), every change in
//! one transaction with its audit entries; a moved deadline keeps the old goal, and progress
//! and goal outcomes answer against the goal in force on the day asked about.
//!
//! The goal fixture ("Goal City") is laid out relative to today (T), so that a deadline moved
//! today (a new goal in force from T) can be read on both sides of the move:
//!
//! | URN    | journey                                                           |
//! | 100001 | certified T-100 (expires T+630)                                   |
//! | 100002 | SUBMITTED T-40, UNDER_REVIEW T-20, certified T-10 (expires T+720) |
//! | 100003 | SELF_ASSESSING since T-290                                        |
//! | 100004 | not enrolled                                                      |
//! | 100005 | closed: not counted                                               |
//!
//! The partnership started on T-400 with the deadline T-30 (passed a month ago).

use api::{
    audit::Who,
    auth::Role,
    import::Extract,
    partnership::{
        cli::{self, PartnershipCommand},
        service::{self as partnerships, Editor, NewPartnership, PartnershipPatch},
    },
};
use chrono::{NaiveDate, TimeZone, Utc};
use entity::{audit_event, certification, certification_event, partnership, partnership_goal, school};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use tests::{TestApp, fixtures};
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    fixtures::date(s)
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// T + `days` (negative: before today).
fn t(days: i64) -> NaiveDate {
    today() + chrono::Duration::days(days)
}

fn iso(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn new(slug: &str) -> NewPartnership {
    NewPartnership {
        slug: slug.to_owned(),
        name: format!("{slug} partnership"),
        starts_on: d("2024-09-01"),
        deadline: d("2026-08-31"),
        framework: fixtures::FRAMEWORK.to_owned(),
        framework_version: None,
        required_level: None,
        local_authority_codes: vec!["851".to_owned()],
        max_active_mentees: None,
    }
}

async fn by_slug(app: &TestApp, slug: &str) -> partnership::Model {
    partnership::Entity::find()
        .filter(partnership::Column::Slug.eq(slug))
        .one(&app.db)
        .await
        .expect("query")
        .expect("partnership")
}

async fn goal_rows(app: &TestApp, id: Uuid) -> Vec<partnership_goal::Model> {
    partnership_goal::Entity::find()
        .filter(partnership_goal::Column::PartnershipId.eq(id))
        .order_by_asc(partnership_goal::Column::InForceFrom)
        .order_by_asc(partnership_goal::Column::SetAt)
        .all(&app.db)
        .await
        .expect("goals")
}

async fn audit_rows(app: &TestApp, id: Uuid) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::PartnershipId.eq(id))
        .order_by_asc(audit_event::Column::At)
        .all(&app.db)
        .await
        .expect("audit")
}

/// A journey of `school` in AiEd Certified v1 at Explorer, with its stage history; a
/// certificate when it ends CERTIFIED.
// `..Default::default()` leaves columns added later unset, as in tests/src/fixtures.rs.
#[allow(clippy::needless_update)]
async fn journey(app: &TestApp, school: Uuid, stages: &[(&str, NaiveDate)], expires: Option<NaiveDate>) {
    let f = fixtures::framework(&app.db).await;
    let explorer = api::framework::service::data(&app.db, f.id).await.expect("framework").levels[0].id;
    let at = |day: NaiveDate| Utc.from_utc_datetime(&day.and_hms_opt(9, 30, 0).expect("time")).fixed_offset();
    let (last, last_day) = *stages.last().expect("stages");
    let certified = last == "CERTIFIED";
    let id = Uuid::new_v4();
    certification::ActiveModel {
        id: Set(id),
        school_id: Set(school),
        framework_id: Set(f.id),
        framework_slug: Set(f.slug.clone()),
        target_level_id: Set(explorer),
        stage: Set(last.to_owned()),
        version: Set(stages.len() as i32),
        renewal_of: Set(None),
        enrolled_at: Set(at(stages[0].1)),
        stage_changed_at: Set(at(last_day)),
        submitted_at: Set(None),
        awarded_level_id: Set(certified.then_some(explorer)),
        certificate_number: Set(certified.then(|| format!("CERT-GOAL-{}", &id.simple().to_string()[..12]))),
        awarded_on: Set(certified.then_some(last_day)),
        expires_on: Set(expires),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("insert journey");
    for (i, (stage, day)) in stages.iter().enumerate() {
        certification_event::ActiveModel {
            id: Set(Uuid::new_v4()),
            certification_id: Set(id),
            version: Set(i as i32 + 1),
            from_stage: Set((i > 0).then(|| stages[i - 1].0.to_owned())),
            to_stage: Set((*stage).to_owned()),
            at: Set(at(*day)),
            actor_subject: Set("fixture".to_owned()),
            actor_name: Set(None),
            actor_role: Set("SCHOOL_LEAD".to_owned()),
            comment: Set(None),
            ..Default::default()
        }
        .insert(&app.db)
        .await
        .expect("insert event");
    }
}

/// "Goal City" (see the top of this file), created as the command line creates it.
async fn goal_city(app: &TestApp) -> partnership::Model {
    fixtures::framework(&app.db).await;
    let p = partnerships::create(
        &app.db,
        NewPartnership {
            slug: "goal-city".into(),
            name: "Goal City".into(),
            starts_on: t(-400),
            deadline: t(-30),
            ..new("goal-city")
        },
        &Who::operator(),
    )
    .await
    .expect("create goal-city");
    let la = fixtures::local_authority(&app.db, "851", "Portsmouth").await;
    let mut ids = Vec::new();
    for urn in 100001..=100005 {
        let s = fixtures::school(&app.db, urn, &format!("Goal School {urn}"), la.id, None).await;
        fixtures::member(&app.db, p.id, s.id).await;
        ids.push(s.id);
    }
    school::ActiveModel { id: Set(ids[4]), open: Set(false), ..Default::default() }
        .update(&app.db)
        .await
        .expect("close 100005");
    journey(
        app,
        ids[0],
        &[
            ("ENROLLED", t(-300)),
            ("SELF_ASSESSING", t(-290)),
            ("GATHERING_EVIDENCE", t(-200)),
            ("SUBMITTED", t(-150)),
            ("UNDER_REVIEW", t(-140)),
            ("CERTIFIED", t(-100)),
        ],
        Some(t(630)),
    )
    .await;
    journey(
        app,
        ids[1],
        &[
            ("ENROLLED", t(-200)),
            ("SELF_ASSESSING", t(-180)),
            ("GATHERING_EVIDENCE", t(-120)),
            ("SUBMITTED", t(-40)),
            ("UNDER_REVIEW", t(-20)),
            ("CERTIFIED", t(-10)),
        ],
        Some(t(720)),
    )
    .await;
    journey(app, ids[2], &[("ENROLLED", t(-300)), ("SELF_ASSESSING", t(-290))], None).await;
    p
}

const UPDATE: &str = "mutation($in: UpdatePartnershipInput!) { updatePartnership(input: $in) {
    name deadline frameworkVersion requiredLevel maxActiveMentees stalledAfterDays returnedAfterDays } }";

#[tokio::test]
async fn the_operator_creates_partnerships_with_their_first_goal() {
    let app = TestApp::spawn().await;
    fixtures::framework(&app.db).await;
    // As `partnership-api partnership create` runs it.
    cli::run(
        &app.db,
        PartnershipCommand::Create {
            slug: "harbour-cluster".into(),
            name: "Harbour Cluster".into(),
            starts_on: d("2025-09-01"),
            deadline: d("2027-07-31"),
            framework: "aied-certified".into(),
            framework_version: None,
            required_level: Some("PRACTITIONER".into()),
            la_codes: vec!["851".into(), "852".into(), "851".into()],
            max_active_mentees: 4,
        },
    )
    .await
    .expect("create from the command line");
    let p = by_slug(&app, "harbour-cluster").await;
    assert_eq!(
        (
            p.name.as_str(),
            p.default_framework.as_deref(),
            p.framework_version,
            p.required_level.as_deref(),
            p.local_authority_codes.as_str(),
            p.max_active_mentees,
            p.synthetic,
        ),
        ("Harbour Cluster", Some("aied-certified"), Some(1), Some("PRACTITIONER"), "851,852", 4, false)
    );
    let goals = goal_rows(&app, p.id).await;
    assert_eq!(goals.len(), 1);
    assert_eq!((goals[0].id, goals[0].deadline, goals[0].in_force_from), (p.id, p.deadline, p.starts_on));
    assert_eq!(goals[0].set_by, "operator");
    let audit = audit_rows(&app, p.id).await;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor_subject.as_str()),
        ("partnership.created", "operator")
    );
    assert!(audit[0].summary.contains("aied-certified@1"), "{}", audit[0].summary);

    // The defaults: the latest version, the lowest level (null), 3 mentees, no LA.
    let q = partnerships::create(
        &app.db,
        NewPartnership { local_authority_codes: vec![], ..new("quay-cluster") },
        &Who::operator(),
    )
    .await
    .expect("create with defaults");
    assert_eq!((q.framework_version, q.required_level, q.max_active_mentees), (Some(1), None, 3));
    assert_eq!(q.local_authority_codes, "");

    // Every refusal names its field, has a stable code, and writes nothing.
    let (before, goals_before, audit_before) =
        (app.count("partnership").await, app.count("partnership_goal").await, app.count("audit_event").await);
    let refused: Vec<(NewPartnership, &str, &str)> = vec![
        (new("ab"), "BAD_USER_INPUT", "slug"),
        (new("Has Caps"), "BAD_USER_INPUT", "slug"),
        (new(&"x".repeat(65)), "BAD_USER_INPUT", "slug"),
        (NewPartnership { name: "n".repeat(201), ..new("long-name") }, "BAD_USER_INPUT", "name"),
        (NewPartnership { name: "  ".into(), ..new("blank-name") }, "BAD_USER_INPUT", "name"),
        (NewPartnership { deadline: d("2024-08-31"), ..new("early") }, "BAD_USER_INPUT", "deadline"),
        (
            NewPartnership { framework: "ai-quality-mark".into(), ..new("no-framework") },
            "BAD_USER_INPUT",
            "framework",
        ),
        (
            NewPartnership { framework_version: Some(2), ..new("no-version") },
            "BAD_USER_INPUT",
            "frameworkVersion",
        ),
        (
            NewPartnership { required_level: Some("GOLD".into()), ..new("no-level") },
            "BAD_USER_INPUT",
            "requiredLevel",
        ),
        (
            NewPartnership { local_authority_codes: vec!["85".into()], ..new("bad-la") },
            "BAD_USER_INPUT",
            "laCode",
        ),
        (
            NewPartnership { max_active_mentees: Some(0), ..new("no-mentees") },
            "BAD_USER_INPUT",
            "maxActiveMentees",
        ),
        (
            NewPartnership { max_active_mentees: Some(21), ..new("many-mentees") },
            "BAD_USER_INPUT",
            "maxActiveMentees",
        ),
        (new("harbour-cluster"), "CONFLICT", "already exists"),
    ];
    for (input, code, says) in refused {
        let slug = input.slug.clone();
        let err = partnerships::create(&app.db, input, &Who::operator()).await.expect_err(&slug);
        assert_eq!(err.code(), code, "{slug}: {err}");
        assert!(err.to_string().contains(says), "{slug}: {err}");
    }
    assert_eq!(
        (app.count("partnership").await, app.count("partnership_goal").await, app.count("audit_event").await),
        (before, goals_before, audit_before)
    );

    // The command line says what is wrong, in words.
    let err = cli::run(&app.db, update_command("no-such-city", PartnershipPatch::default()))
        .await
        .expect_err("unknown slug");
    assert_eq!(err.to_string(), "partnership \"no-such-city\" not found");
}

/// `partnership update --slug SLUG` with the options of `patch`.
fn update_command(slug: &str, patch: PartnershipPatch) -> PartnershipCommand {
    PartnershipCommand::Update {
        slug: slug.to_owned(),
        name: patch.name,
        deadline: patch.deadline,
        reason: patch.deadline_reason,
        framework_version: patch.framework_version,
        required_level: patch.required_level,
        max_active_mentees: patch.max_active_mentees,
        stalled_after_days: patch.stalled_after_days,
        returned_after_days: patch.returned_after_days,
        la_codes: patch.local_authority_codes,
    }
}

#[tokio::test]
async fn the_operator_lists_and_updates_partnerships() {
    let app = TestApp::spawn().await;
    let city = goal_city(&app).await;
    partnerships::create(&app.db, new("quay-cluster"), &Who::operator()).await.expect("create");
    let listed = partnerships::list(&app.db).await.expect("list");
    let rows: Vec<(&str, u64)> = listed.iter().map(|l| (l.partnership.slug.as_str(), l.schools)).collect();
    assert_eq!(rows, [("goal-city", 5), ("quay-cluster", 0)]);
    cli::run(&app.db, PartnershipCommand::List { json: false }).await.expect("list as a table");

    let old_deadline = city.deadline;
    let patch = PartnershipPatch {
        name: Some("Goal City Partnership".into()),
        deadline: Some(t(200)),
        deadline_reason: Some("the second cohort started a term late".into()),
        local_authority_codes: Some(vec!["851".into(), "852".into()]),
        max_active_mentees: Some(5),
        ..Default::default()
    };
    cli::run(&app.db, update_command("goal-city", patch)).await.expect("update from the command line");
    let p = by_slug(&app, "goal-city").await;
    assert_eq!(
        (p.name.as_str(), p.deadline, p.local_authority_codes.as_str(), p.max_active_mentees),
        ("Goal City Partnership", t(200), "851,852", 5)
    );
    let goals = goal_rows(&app, p.id).await;
    assert_eq!(goals.len(), 2, "the old goal is kept");
    assert_eq!(
        (goals[0].deadline, goals[1].deadline, goals[1].in_force_from),
        (old_deadline, t(200), today())
    );
    assert_eq!(goals[1].reason.as_deref(), Some("the second cohort started a term late"));
    let audit = audit_rows(&app, p.id).await;
    let mut actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            "goal.deadline_moved",
            "partnership.created",
            "partnership.local_authorities_set",
            "partnership.max_active_mentees_set",
            "partnership.renamed"
        ]
    );
    assert!(audit.iter().all(|a| a.actor_subject == "operator"));
    let moved = audit.iter().find(|a| a.action == "goal.deadline_moved").expect("move");
    assert_eq!(
        moved.summary,
        format!(
            "moved the deadline from {} to {}: the second cohort started a term late",
            iso(old_deadline),
            iso(t(200))
        )
    );

    // The same values again change nothing and log nothing.
    let n = audit.len();
    let patch = PartnershipPatch {
        max_active_mentees: Some(5),
        name: Some("Goal City Partnership".into()),
        ..Default::default()
    };
    partnerships::update(&app.db, Editor::Operator, p.id, patch).await.expect("no-op");
    assert_eq!(audit_rows(&app, p.id).await.len(), n);
    // A refused change (one bad field among good ones) writes nothing.
    let patch = PartnershipPatch {
        name: Some("Renamed".into()),
        stalled_after_days: Some(400),
        ..Default::default()
    };
    let err = partnerships::update(&app.db, Editor::Operator, p.id, patch).await.expect_err("400 days");
    assert_eq!((err.code(), err.to_string().starts_with("stalledAfterDays")), ("BAD_USER_INPUT", true));
    assert_eq!(by_slug(&app, "goal-city").await.name, "Goal City Partnership");
    assert_eq!(audit_rows(&app, p.id).await.len(), n);
}

#[tokio::test]
async fn imports_keep_the_partnerships_own_local_authorities_by_default() {
    let app = TestApp::spawn().await;
    fixtures::framework(&app.db).await;
    partnerships::create(&app.db, new("solent"), &Who::operator()).await.expect("create");
    let csv = "\
URN,LA (code),LA (name),EstablishmentName,TypeOfEstablishment (name),EstablishmentStatus (name),PhaseOfEducation (name)
700001,851,Portsmouth,Harbour View Primary School,Community school,Open,Primary
700005,852,Southampton,Elsewhere Primary,Community school,Open,Primary
";
    let service = api::import::ImportService::new(app.db.clone());
    let report = service.import_by_slug("solent", Extract::schools(csv), &[]).await.expect("import");
    assert_eq!((report.schools_created, report.skipped), (1, 1), "only LA 851, the partnership's own");
    let report =
        service.import_by_slug("solent", Extract::schools(csv), &["852".to_owned()]).await.expect("import");
    assert_eq!((report.schools_created, report.skipped), (1, 1), "--la overrides it");
}

async fn progress(app: &TestApp, token: &str, as_of: NaiveDate) -> Value {
    let q = "query($asOf: Date) { partnershipBySlug(slug: \"goal-city\") {
        progress(asOf: $asOf) { totalSchools certified deadline daysToDeadline percentTimeElapsed recentlyCertified projectedCompletion onTrack } } }";
    app.gql(Some(token), q, json!({ "asOf": iso(as_of) })).await.ok()["partnershipBySlug"]["progress"].clone()
}

#[tokio::test]
async fn a_moved_deadline_keeps_the_old_goal_and_progress_answers_by_date() {
    let app = TestApp::spawn().await;
    goal_city(&app).await;
    let admin = app.token(Role::CityAdmin).partnership("goal-city").sign();

    // Yesterday, against the deadline of a month ago: 100001 (T-100) and 100002 (T-10) of 4
    // certified; all the time has passed; one newly certified in 84 days puts the other two
    // 168 days out, long after the deadline: not on track.
    let before = json!({
        "totalSchools": 4, "certified": 2, "deadline": iso(t(-30)), "daysToDeadline": -29,
        "percentTimeElapsed": 100.0, "recentlyCertified": 1, "projectedCompletion": iso(t(167)), "onTrack": false,
    });
    assert_eq!(progress(&app, &admin, t(-1)).await, before);

    let moved = app
        .gql(
            Some(&admin),
            UPDATE,
            json!({ "in": { "deadline": iso(t(200)), "deadlineReason": "The second cohort started a term late." } }),
        )
        .await
        .ok();
    assert_eq!(moved["updatePartnership"]["deadline"], iso(t(200)));

    // Yesterday still answers against the old goal ...
    assert_eq!(progress(&app, &admin, t(-1)).await, before);
    // ... today against the new one: 400 of 600 days have passed and 2 of 4 are certified,
    // behind time, but the projection (T+168) is before the new deadline (T+200).
    assert_eq!(
        progress(&app, &admin, today()).await,
        json!({
            "totalSchools": 4, "certified": 2, "deadline": iso(t(200)), "daysToDeadline": 200,
            "percentTimeElapsed": 66.7, "recentlyCertified": 1, "projectedCompletion": iso(t(168)), "onTrack": true,
        })
    );

    let q = "{ partnershipBySlug(slug: \"goal-city\") { deadline
        goals { deadline inForceFrom setBy reason current }
        timeline(interval: MONTH) { date } } }";
    let data = app.gql(Some(&admin), q, json!({})).await.ok();
    let p = &data["partnershipBySlug"];
    assert_eq!(p["deadline"], iso(t(200)));
    assert_eq!(
        p["goals"],
        json!([
            { "deadline": iso(t(-30)), "inForceFrom": iso(t(-400)), "setBy": "operator (command line)",
              "reason": "the goal the partnership started with", "current": false },
            { "deadline": iso(t(200)), "inForceFrom": iso(today()), "setBy": "dev-cityadmin",
              "reason": "The second cohort started a term late.", "current": true },
        ])
    );
    // The timeline runs to the deadline in force today by default.
    let points = p["timeline"].as_array().expect("points");
    let last = d(points.last().expect("a point")["date"].as_str().expect("date"));
    assert!(last > t(170) && last <= t(200), "last point {last}");
}

const OUTCOME: &str = "query($asOf: Date, $first: Int, $after: String) { partnershipBySlug(slug: \"goal-city\") {
    goals { deadline outcome(asOf: $asOf) { deadline asOf passed totalSchools certifiedByDeadline missedCount certifiedSince
        missed(first: $first, after: $after) { school { urn } certifiedOn stageOnDeadline } } } } }";

#[tokio::test]
async fn goal_outcomes_name_the_schools_that_missed_and_who_certified_since() {
    let app = TestApp::spawn().await;
    goal_city(&app).await;
    let admin = app.token(Role::CityAdmin).partnership("goal-city").sign();
    let patch = json!({ "in": { "deadline": iso(t(200)), "deadlineReason": "a term late" } });
    app.gql(Some(&admin), UPDATE, patch).await.ok();
    let partner = app.token(Role::Partner).partnership("goal-city").sign();
    let outcome = |data: &Value, i: usize| data["partnershipBySlug"]["goals"][i]["outcome"].clone();

    // Today: of the 4 open schools only 100001 was certified on the old deadline (T-30);
    // 100002 (SUBMITTED then) was certified at T-10; 100003 and 100004 still are not.
    let data = app.gql(Some(&partner), OUTCOME, json!({ "asOf": iso(today()) })).await.ok();
    assert_eq!(
        outcome(&data, 0),
        json!({
            "deadline": iso(t(-30)), "asOf": iso(today()), "passed": true, "totalSchools": 4,
            "certifiedByDeadline": 1, "missedCount": 3, "certifiedSince": 1,
            "missed": [
                { "school": { "urn": 100002 }, "certifiedOn": iso(t(-10)), "stageOnDeadline": "SUBMITTED" },
                { "school": { "urn": 100003 }, "certifiedOn": null, "stageOnDeadline": "SELF_ASSESSING" },
                { "school": { "urn": 100004 }, "certifiedOn": null, "stageOnDeadline": "NOT_ENROLLED" },
            ],
        })
    );
    // The new goal has not passed: as things stand, 100001 and 100002 would make it.
    let new_goal = outcome(&data, 1);
    assert_eq!(
        (
            &new_goal["passed"],
            &new_goal["certifiedByDeadline"],
            &new_goal["missedCount"],
            &new_goal["certifiedSince"]
        ),
        (&json!(false), &json!(2), &json!(2), &json!(0))
    );

    // Twenty days ago 100002 was under review: nobody had been certified since the deadline.
    let data = app.gql(Some(&partner), OUTCOME, json!({ "asOf": iso(t(-20)) })).await.ok();
    let old = outcome(&data, 0);
    assert_eq!((&old["passed"], &old["certifiedSince"]), (&json!(true), &json!(0)));
    assert_eq!(
        old["missed"][0],
        json!({ "school": { "urn": 100002 }, "certifiedOn": null, "stageOnDeadline": "SUBMITTED" })
    );
    // On the deadline itself it has not passed yet.
    let data = app.gql(Some(&partner), OUTCOME, json!({ "asOf": iso(t(-30)) })).await.ok();
    assert_eq!(outcome(&data, 0)["passed"], false);

    // Pages by URN.
    let urns = |data: &Value| -> Vec<i64> {
        outcome(data, 0)["missed"]
            .as_array()
            .expect("missed")
            .iter()
            .map(|m| m["school"]["urn"].as_i64().expect("urn"))
            .collect()
    };
    let page = app.gql(Some(&partner), OUTCOME, json!({ "first": 2 })).await.ok();
    assert_eq!(urns(&page), [100002, 100003]);
    let page = app.gql(Some(&partner), OUTCOME, json!({ "first": 2, "after": "100003" })).await.ok();
    assert_eq!(urns(&page), [100004]);
    // One error per goal's list.
    for bad in [json!({ "first": 101 }), json!({ "after": "not-a-urn" })] {
        assert_eq!(app.gql(Some(&partner), OUTCOME, bad).await.codes(), ["BAD_USER_INPUT", "BAD_USER_INPUT"]);
    }
    app.gql(None, OUTCOME, json!({})).await.fails_with("UNAUTHENTICATED");
}

#[tokio::test]
async fn goals_and_outcomes_cost_no_statement_beyond_the_progress_read() {
    let app = TestApp::with_demo().await;
    let token = app.token(Role::Partner).sign();
    let progress = "{ partnershipBySlug(slug: \"demo-city\") { progress(asOf: \"2026-09-30\") { certified deadline onTrack } } }";
    let both = "{ partnershipBySlug(slug: \"demo-city\") { progress(asOf: \"2026-09-30\") { certified deadline onTrack }
        goals { deadline current outcome(asOf: \"2026-09-30\") { certifiedByDeadline missedCount certifiedSince
            missed(first: 100) { school { urn name } certifiedOn stageOnDeadline } } } } }";
    app.warm(&token).await;
    app.reset_statements();
    app.gql(Some(&token), progress, json!({})).await.ok();
    let alone = app.statements();
    // Each read from the database, not from the facts the first one left for the next queries.
    app.facts.clear();
    app.reset_statements();
    let data = app.gql(Some(&token), both, json!({})).await.ok();
    let with_goals = app.statements();
    eprintln!("progress alone: {alone} statements; with goals and outcomes: {with_goals}");
    assert_eq!(with_goals, alone, "goals and outcomes come from the facts already read");
    let goal = &data["partnershipBySlug"]["goals"][0];
    assert_eq!(goal["deadline"], "2026-08-31");
    let outcome = &goal["outcome"];
    assert_eq!(
        outcome["certifiedByDeadline"].as_i64().unwrap() + outcome["missedCount"].as_i64().unwrap(),
        61,
        "{outcome}"
    );
}

#[tokio::test]
async fn update_partnership_is_for_its_own_city_admins() {
    let app = TestApp::spawn().await;
    let city = goal_city(&app).await;
    let other = partnerships::create(&app.db, new("quay-cluster"), &Who::operator()).await.expect("create");
    let admin = app.token(Role::CityAdmin).partnership("goal-city").sign();
    let input = json!({ "in": { "name": "Taken Over", "maxActiveMentees": 9 } });

    for token in [
        app.token(Role::Partner).partnership("goal-city").sign(),
        app.token(Role::Assessor).partnership("goal-city").sign(),
        app.token(Role::SchoolLead).school(100001).sign(),
    ] {
        app.gql(Some(&token), UPDATE, input.clone()).await.fails_with("FORBIDDEN");
    }
    app.gql(None, UPDATE, input.clone()).await.fails_with("UNAUTHENTICATED");
    // Another partnership's admin changes its own partnership, never this one.
    let theirs = app.token(Role::CityAdmin).partnership("quay-cluster").sign();
    let data = app.gql(Some(&theirs), UPDATE, input.clone()).await.ok();
    assert_eq!(data["updatePartnership"]["name"], "Taken Over");
    assert_eq!(by_slug(&app, "quay-cluster").await.name, "Taken Over");
    assert_eq!(by_slug(&app, "goal-city").await.name, "Goal City");
    assert_eq!(audit_rows(&app, city.id).await.len(), 1, "only the creation");
    assert_eq!(audit_rows(&app, other.id).await.len(), 3, "created, renamed, mentees");

    // Refusals name the field; the partnership and its log stay as they were.
    let refused = [
        (json!({ "deadline": iso(t(100)) }), "deadlineReason"),
        (json!({ "deadlineReason": "because" }), "deadlineReason"),
        (json!({ "deadline": iso(t(100)), "deadlineReason": "" }), "deadlineReason"),
        (json!({ "deadline": iso(t(100)), "deadlineReason": "x".repeat(501) }), "deadlineReason"),
        (json!({ "deadline": iso(t(-401)), "deadlineReason": "before the start" }), "deadline"),
        (json!({ "name": "" }), "name"),
        (json!({ "frameworkVersion": 2 }), "frameworkVersion"),
        (json!({ "requiredLevel": "GOLD" }), "requiredLevel"),
        (json!({ "maxActiveMentees": 0 }), "maxActiveMentees"),
        (json!({ "maxActiveMentees": 21 }), "maxActiveMentees"),
        (json!({ "stalledAfterDays": 0 }), "stalledAfterDays"),
        (json!({ "returnedAfterDays": 366 }), "returnedAfterDays"),
        (json!({ "name": "Fine", "returnedAfterDays": 366 }), "returnedAfterDays"),
    ];
    for (input, field) in refused {
        let answer = app.gql(Some(&admin), UPDATE, json!({ "in": input })).await;
        let err = answer.fails_with("BAD_USER_INPUT");
        assert!(err["message"].as_str().unwrap_or_default().starts_with(field), "{input}: {err}");
    }
    assert_eq!(by_slug(&app, "goal-city").await, city);
    assert_eq!(goal_rows(&app, city.id).await.len(), 1);
    assert_eq!(audit_rows(&app, city.id).await.len(), 1);
}

#[tokio::test]
async fn the_framework_pin_moves_for_new_journeys_only() {
    let app = TestApp::spawn().await;
    let city = goal_city(&app).await;
    let started = certification::Entity::find().all(&app.db).await.expect("journeys");
    let v2 = fixtures::FRAMEWORK_FILE.replacen("version = 1", "version = 2", 1);
    assert_ne!(v2, fixtures::FRAMEWORK_FILE, "the file names its version");
    api::framework::service::load(&app.db, &v2).await.expect("load version 2");
    let admin = app.token(Role::CityAdmin).partnership("goal-city").sign();

    let data = app
        .gql(
            Some(&admin),
            UPDATE,
            json!({ "in": { "frameworkVersion": 2, "requiredLevel": "PRACTITIONER" } }),
        )
        .await
        .ok();
    assert_eq!(
        (&data["updatePartnership"]["frameworkVersion"], &data["updatePartnership"]["requiredLevel"]),
        (&json!(2), &json!("PRACTITIONER"))
    );
    assert_eq!(
        certification::Entity::find().all(&app.db).await.expect("journeys"),
        started,
        "journeys keep theirs"
    );
    app.gql(Some(&admin), UPDATE, json!({ "in": { "frameworkVersion": 3 } }))
        .await
        .fails_with("BAD_USER_INPUT");
    let actions: Vec<String> = audit_rows(&app, city.id).await.into_iter().map(|a| a.summary).collect();
    assert!(
        actions.contains(&"pinned aied-certified from version 1 to version 2 for new journeys; journeys already started keep theirs".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"set the required level from the lowest to PRACTITIONER".to_owned()),
        "{actions:?}"
    );
    let q =
        "{ partnershipBySlug(slug: \"goal-city\") { frameworkVersion localAuthorityCodes requiredLevel } }";
    assert_eq!(
        app.gql(Some(&admin), q, json!({})).await.ok()["partnershipBySlug"],
        json!({ "frameworkVersion": 2, "localAuthorityCodes": ["851"], "requiredLevel": "PRACTITIONER" })
    );
    let q = "{ partnershipBySlug(slug: \"goal-city\") { frameworkVersion } }";
    app.gql(None, q, json!({})).await.fails_with("UNAUTHENTICATED");
}

const AUDIT: &str = "query($first: Int, $after: String) { partnershipBySlug(slug: \"goal-city\") {
    auditLog(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { at actorSubject actorName action summary } } } } }";

#[tokio::test]
async fn the_audit_log_lists_changes_newest_first_for_city_admins_only() {
    let app = TestApp::spawn().await;
    goal_city(&app).await;
    let admin = app.token(Role::CityAdmin).partnership("goal-city").sign();
    let started = Utc::now();
    app.gql(Some(&admin), UPDATE, json!({ "in": { "name": "Goal City Partnership" } })).await.ok();
    app.gql(
        Some(&admin),
        UPDATE,
        json!({ "in": { "deadline": iso(t(200)), "deadlineReason": "a term late" } }),
    )
    .await
    .ok();
    let old = "mutation { updateRiskThresholds(stalledAfterDays: 45) { stalledAfterDays } }";
    app.gql(Some(&admin), old, json!({})).await.ok();

    let page = app.gql(Some(&admin), AUDIT, json!({ "first": 2 })).await.ok();
    let log = &page["partnershipBySlug"]["auditLog"];
    assert_eq!(log["totalCount"], 4);
    assert_eq!(log["pageInfo"]["hasNextPage"], true);
    let node = |v: &Value, i: usize| v["edges"][i]["node"].clone();
    assert_eq!(
        (node(log, 0)["action"].as_str(), node(log, 0)["summary"].as_str()),
        (Some("partnership.stalled_after_days_set"), Some("set stalledAfterDays from 60 to 45"))
    );
    assert_eq!(
        node(log, 1)["summary"],
        format!("moved the deadline from {} to {}: a term late", iso(t(-30)), iso(t(200)))
    );
    assert_eq!(
        (node(log, 1)["actorSubject"].as_str(), &node(log, 1)["actorName"]),
        (Some("dev-cityadmin"), &Value::Null)
    );
    let at = chrono::DateTime::parse_from_rfc3339(node(log, 1)["at"].as_str().expect("at")).expect("a time");
    assert!(at >= started - chrono::Duration::seconds(5) && at <= Utc::now(), "{at}");

    let next =
        app.gql(Some(&admin), AUDIT, json!({ "first": 2, "after": log["pageInfo"]["endCursor"] })).await.ok();
    let log = &next["partnershipBySlug"]["auditLog"];
    let actions: Vec<&str> = log["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["action"].as_str().expect("action"))
        .collect();
    assert_eq!(actions, ["partnership.renamed", "partnership.created"]);
    assert_eq!(log["pageInfo"]["hasNextPage"], false);
    assert_eq!(log["edges"][1]["node"]["actorSubject"], "operator");

    app.gql(Some(&admin), AUDIT, json!({ "first": 101 })).await.fails_with("BAD_USER_INPUT");
    app.gql(Some(&admin), AUDIT, json!({ "after": "bm9wZQ" })).await.fails_with("BAD_USER_INPUT");
    for token in [
        app.token(Role::Partner).partnership("goal-city").sign(),
        app.token(Role::Assessor).partnership("goal-city").sign(),
        app.token(Role::SchoolLead).school(100001).sign(),
    ] {
        app.gql(Some(&token), AUDIT, json!({})).await.fails_with("FORBIDDEN");
    }
}

#[tokio::test]
async fn update_risk_thresholds_still_works_through_the_same_service() {
    let app = TestApp::spawn().await;
    let city = goal_city(&app).await;
    let admin = app.token(Role::CityAdmin).partnership("goal-city").sign();
    let set = "mutation($s: Int, $r: Int) { updateRiskThresholds(stalledAfterDays: $s, returnedAfterDays: $r) { stalledAfterDays returnedAfterDays } }";
    let data = app.gql(Some(&admin), set, json!({ "s": 90, "r": 14 })).await.ok();
    assert_eq!(data["updateRiskThresholds"], json!({ "stalledAfterDays": 90, "returnedAfterDays": 14 }));
    app.gql(Some(&admin), set, json!({ "s": 366 })).await.fails_with("BAD_USER_INPUT");
    let partner = app.token(Role::Partner).partnership("goal-city").sign();
    app.gql(Some(&partner), set, json!({ "s": 10 })).await.fails_with("FORBIDDEN");
    let actions: Vec<String> = audit_rows(&app, city.id).await.into_iter().map(|a| a.action).collect();
    assert_eq!(
        actions.iter().filter(|a| a.ends_with("_after_days_set")).count(),
        2,
        "one entry per setting: {actions:?}"
    );
    let p = by_slug(&app, "goal-city").await;
    assert_eq!((p.stalled_after_days, p.returned_after_days), (90, 14));
    // Deprecated in the schema, pointing at its successor.
    let q = "{ __type(name: \"Mutation\") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }";
    let data = app.gql(None, q, json!({})).await.ok();
    let field = data["__type"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "updateRiskThresholds")
        .expect("still there")
        .clone();
    assert_eq!(field["deprecationReason"], "use updatePartnership");
}

#[tokio::test]
async fn a_partnership_written_without_its_first_goal_keeps_its_deadline_when_moved() {
    let app = TestApp::spawn().await;
    let p = fixtures::partnership(&app.db, "bare-city", "Bare City").await;
    assert!(goal_rows(&app, p.id).await.is_empty(), "the fixture writes no goal");
    let admin = app.token(Role::CityAdmin).partnership("bare-city").sign();
    let input = json!({ "in": { "deadline": "2028-07-31", "deadlineReason": "one more year" } });
    app.gql(Some(&admin), UPDATE, input).await.ok();
    let q = "query($asOf: Date) { partnershipBySlug(slug: \"bare-city\") {
        goals { deadline inForceFrom } progress(asOf: $asOf) { deadline } } }";
    let data = app.gql(Some(&admin), q, json!({ "asOf": iso(t(-1)) })).await.ok();
    assert_eq!(
        data["partnershipBySlug"],
        json!({
            "goals": [
                { "deadline": "2027-07-31", "inForceFrom": "2025-09-01" },
                { "deadline": "2028-07-31", "inForceFrom": iso(today().max(d("2025-09-01"))) },
            ],
            "progress": { "deadline": "2027-07-31" },
        })
    );
}
