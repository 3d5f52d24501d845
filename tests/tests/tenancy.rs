//! Sealed partnerships: no role of partnership B reads or changes anything of partnership A.
//!
//! Two partnerships built by `tests::fixtures` (not the demo). A ("alpha"): LA 901, trust TA
//! running SA1 (certified, with an AI policy) and SA3 (submitted), maintained SA2 (gathering
//! evidence, noted ratings, one evidence item, mentored by SA1) and SA4 (not enrolled), two
//! cohorts, and trust TA2 that A's city admin created through `createTrust` and that runs no
//! school. B ("beta"): LA 902, trust TB running SB1 (gathering evidence), maintained SB2, a
//! cohort. Every attempt of B's five roles is its own named case; all failing cases are listed
//! together at the end. A refusal is NOT_FOUND or FORBIDDEN (never INTERNAL) with no data of A
//! in the answer, and the whole database (audit tables aside) is the same after the attempts.
//!
//! GIAS group UIDs are digits (the API refuses others), so TA, TA2 and TB are 7100001,
//! 7100002 and 7200001. Partnership headlines (name, dates) stay public to anonymous callers
//! (README, "Signing in"); a signed-in caller of B gets NOT_FOUND for A's partnership.

mod writes;

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use api::{auth::Role, ids::global_id};
use entity::{cohort, mentorship_pairing, partnership, school, trust};
use futures::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use tests::{
    Answer, TestApp,
    fixtures::{self, Journey},
};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, http::HeaderValue, protocol::Message};
use uuid::Uuid;

const ALPHA: &str = "alpha";
const BETA: &str = "beta";
const TA_UID: &str = "7100001";
const TA2_UID: &str = "7100002";
const TB_UID: &str = "7200001";
/// What a refusal may answer.
const REFUSED: &[&str] = &["NOT_FOUND", "FORBIDDEN"];

struct World {
    pa: partnership::Model,
    pb: partnership::Model,
    ta: trust::Model,
    /// TA2's global id (created through the API).
    ta2: Value,
    tb: trust::Model,
    /// SA1..SA4 (URNs 910001..910004).
    sa: Vec<school::Model>,
    ca1: cohort::Model,
    ca2: cohort::Model,
    cb: cohort::Model,
    pairing: mentorship_pairing::Model,
    /// SA1 certified, SA2 gathering evidence, SA3 submitted.
    j1: Journey,
    j2: Journey,
    j3: Journey,
    /// An open invitation of A (a school lead of SA1), by global id.
    grant: Value,
}

impl World {
    /// Text that must not appear in any answer to B: A's names (all say "Alpha"), URNs,
    /// group UIDs, certificate number and global ids.
    fn markers(&self) -> Vec<String> {
        let mut m: Vec<String> = vec!["alpha".into(), "91000".into(), "71000".into()];
        m.extend(self.j1.certificate.iter().cloned());
        m.extend(self.a_ids().into_iter().filter_map(|(_, id)| id.as_str().map(str::to_owned)));
        m.extend(self.grant.as_str().map(str::to_owned));
        m.into_iter().map(|s| s.to_lowercase()).collect()
    }

    /// A's rows as (name, global id), for `node(id:)`.
    fn a_ids(&self) -> Vec<(&'static str, Value)> {
        vec![
            ("partnership A", gid("Partnership", self.pa.id)),
            ("school SA1", gid("School", self.sa[0].id)),
            ("school SA2", gid("School", self.sa[1].id)),
            ("trust TA", gid("Trust", self.ta.id)),
            ("trust TA2", self.ta2.clone()),
            ("cohort A1", gid("Cohort", self.ca1.id)),
            ("pairing SA1->SA2", gid("MentorshipPairing", self.pairing.id)),
            ("certification of SA1", self.j1.id.clone()),
            ("certification of SA2", self.j2.id.clone()),
            ("certification of SA3", self.j3.id.clone()),
        ]
    }
}

fn gid(kind: &str, id: Uuid) -> Value {
    Value::String(global_id(kind, id).to_string())
}

async fn world(app: &TestApp) -> World {
    use fixtures::*;
    let db = &app.db;
    let pa = partnership(db, ALPHA, "Alpha Partnership").await;
    let pb = partnership(db, BETA, "Beta Partnership").await;
    let (la_a, la_b) =
        (local_authority(db, "901", "Alpha Council").await, local_authority(db, "902", "Beta Council").await);
    let ta = trust(db, TA_UID, "Alpha Learning Trust").await;
    let tb = trust(db, TB_UID, "Beta Learning Trust").await;
    let mut sa = Vec::new();
    for (urn, name, in_trust) in [
        (910001, "Alpha Primary One", true),
        (910002, "Alpha Primary Two", false),
        (910003, "Alpha Primary Three", true),
        (910004, "Alpha Primary Four", false),
    ] {
        let s = school(db, urn, name, la_a.id, in_trust.then_some(ta.id)).await;
        member(db, pa.id, s.id).await;
        sa.push(s);
    }
    let mut sb = Vec::new();
    for (urn, name, t) in [(920001, "Beta Primary One", Some(tb.id)), (920002, "Beta Primary Two", None)] {
        let s = school(db, urn, name, la_b.id, t).await;
        member(db, pb.id, s.id).await;
        sb.push(s);
    }
    let ca1 = cohort(db, pa.id, "Alpha Cohort 1", 1, "2025-09-01", "2026-07-15").await;
    let ca2 = cohort(db, pa.id, "Alpha Cohort 2", 2, "2026-01-05", "2027-07-15").await;
    let cb = cohort(db, pb.id, "Beta Cohort 1", 1, "2025-09-01", "2026-07-15").await;
    for (c, s) in
        [(&ca1, &sa[0]), (&ca1, &sa[2]), (&ca2, &sa[1]), (&ca2, &sa[3]), (&cb, &sb[0]), (&cb, &sb[1])]
    {
        cohort_member(db, c, s.id).await;
    }
    let pairing = pairing(db, &ca2, sa[0].id, sa[1].id, "2025-10-01").await;
    ai_policy(db, sa[0].id, "2025-09-01", "Alpha").await;

    let a_admin = app.token(Role::CityAdmin).partnership(ALPHA).sign();
    let create = "mutation($uid: String!) { createTrust(input: { name: \"Alpha Second Trust\", groupUid: $uid }) { id } }";
    let ta2 =
        app.gql(Some(&a_admin), create, json!({ "uid": TA2_UID })).await.ok()["createTrust"]["id"].clone();
    let j1 = journey(app, ALPHA, 910001, "Alpha", Upto::Certified).await;
    let j2 = journey(app, ALPHA, 910002, "Alpha", Upto::GatheringEvidence).await;
    let j3 = journey(app, ALPHA, 910003, "Alpha", Upto::Submitted).await;
    journey(app, BETA, 920001, "Beta", Upto::GatheringEvidence).await;
    let invite =
        "mutation { createInvitation(input: { role: SCHOOL_LEAD, schoolUrn: 910001 }) { grant { id } } }";
    let grant =
        app.gql(Some(&a_admin), invite, json!({})).await.ok()["createInvitation"]["grant"]["id"].clone();
    let w = World { pa, pb, ta, ta2, tb, sa, ca1, ca2, cb, pairing, j1, j2, j3, grant };

    // The fixtures are sound: A's own roles read all of it (these are not tenancy cases).
    let q = "{ school(urn: 910002) { name certifications { evidence { title } selfAssessment { ratings { note } } } mentors { mentor { urn } } } cert: school(urn: 910001) { certifications { certificate { number } } aiPolicy { roles { title } } } }";
    let data = app.gql(Some(&a_admin), q, json!({})).await.ok().to_string();
    assert!(
        data.contains("Alpha note on") && data.contains("Alpha evidence for LIT") && data.contains("CERT-"),
        "{data}"
    );
    for (name, id) in w.a_ids() {
        let node =
            app.gql(Some(&a_admin), "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(node.ok()["node"]["id"], id, "A's city admin reads {name}");
    }
    let a_assessor = app.token(Role::Assessor).partnership(ALPHA).sign();
    let queue =
        app.gql(Some(&a_assessor), "{ reviewQueue(first: 100) { nodes { id } } }", json!({})).await.ok();
    assert_eq!(
        queue["reviewQueue"]["nodes"],
        json!([{ "id": w.j3.id }]),
        "A's assessor sees SA3's submission"
    );
    w
}

/// B's five roles, each with a signed token.
fn b_roles(app: &TestApp) -> Vec<(&'static str, String)> {
    vec![
        ("B city admin", app.token(Role::CityAdmin).partnership(BETA).sign()),
        ("B partner", app.token(Role::Partner).partnership(BETA).sign()),
        ("B assessor", app.token(Role::Assessor).partnership(BETA).sign()),
        ("B trust lead", app.token(Role::TrustLead).trust(TB_UID).sign()),
        ("B school lead", app.token(Role::SchoolLead).school(920001).sign()),
    ]
}

/// The cases run so far and those that failed, with what happened.
struct Failures {
    markers: Vec<String>,
    cases: usize,
    failed: Vec<String>,
}

fn summary(answer: &Answer) -> String {
    let text = answer.body.to_string();
    let cut: String = text.chars().take(300).collect();
    format!("HTTP {} {cut}{}", answer.status.as_u16(), if text.len() > cut.len() { "..." } else { "" })
}

impl Failures {
    fn new(world: &World) -> Self {
        Self { markers: world.markers(), cases: 0, failed: Vec::new() }
    }

    /// Records a case; `problem` says what went wrong, if anything.
    fn case(&mut self, case: String, problem: Option<String>) {
        self.cases += 1;
        if let Some(p) = problem {
            self.failed.push(format!("{case}: {p}"));
        }
    }

    /// The first of A's markers in `data`, if any.
    fn leak(&self, data: &Value) -> Option<String> {
        let text = data.to_string().to_lowercase();
        self.markers.iter().find(|m| text.contains(m.as_str())).cloned()
    }

    /// The answer must be an error with one of `codes` (and no other), holding no data of A.
    fn refused(&mut self, case: String, answer: &Answer, codes: &[&str]) {
        let got = answer.codes();
        let problem = if got.is_empty() {
            Some(format!("not refused: {}", summary(answer)))
        } else if let Some(code) = got.iter().find(|c| !codes.contains(&c.as_str())) {
            Some(format!("refused with {code}, expected one of {codes:?}: {}", summary(answer)))
        } else {
            self.leak(answer.data()).map(|m| format!("answer holds A's {m:?}: {}", summary(answer)))
        };
        self.case(case, problem);
    }

    /// The answer may be data or a refusal with one of `codes`, but holds nothing of A.
    fn clean(&mut self, case: String, answer: &Answer, codes: &[&str]) {
        let problem = match answer.codes().into_iter().find(|c| !codes.contains(&c.as_str())) {
            Some(code) => Some(format!("error {code}: {}", summary(answer))),
            None => self.leak(answer.data()).map(|m| format!("answer holds A's {m:?}: {}", summary(answer))),
        };
        self.case(case, problem);
    }

    /// A positive control: B doing what B may do succeeds. Returns the data.
    fn control(&mut self, case: String, answer: &Answer) -> Value {
        let failed = answer.body.get("errors").is_some();
        self.case(format!("control: {case}"), failed.then(|| format!("failed: {}", summary(answer))));
        answer.data().clone()
    }

    fn check(&mut self, case: String, ok: bool, detail: String) {
        self.case(case, (!ok).then_some(detail));
    }

    fn finish(self) {
        let list: String = self.failed.iter().map(|f| format!("\n  - {f}")).collect();
        assert!(
            self.failed.is_empty(),
            "{} of {} tenancy cases failed:{list}",
            self.failed.len(),
            self.cases
        );
    }
}

/// Every table's rows as sorted JSON text, and its row count. Leaves out sea-orm's migrations
/// table and audit logs (which a refused attempt may rightly write to).
struct Snapshot {
    rows: BTreeMap<String, Vec<String>>,
    counts: BTreeMap<String, i64>,
}

async fn snapshot(app: &TestApp) -> Snapshot {
    let backend = app.db.get_database_backend();
    let all = |sql: String| async move {
        app.db
            .query_all_raw(Statement::from_string(backend, sql.clone()))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let list = if app.is_postgres() {
        "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    };
    let (mut rows, mut counts) = (BTreeMap::new(), BTreeMap::new());
    for t in all(list.to_owned()).await {
        let table: String = t.try_get("", "name").expect("a table name");
        if table == "seaql_migrations" || table.contains("audit") {
            continue;
        }
        let select = if app.is_postgres() {
            format!("SELECT row_to_json(t)::text AS j FROM \"{table}\" t")
        } else {
            let columns = all(format!("SELECT name FROM pragma_table_info('{table}')")).await;
            let pairs: Vec<String> = columns
                .iter()
                .map(|c| {
                    let c: String = c.try_get("", "name").expect("a column name");
                    format!("'{c}', CASE WHEN typeof(\"{c}\") = 'blob' THEN hex(\"{c}\") ELSE \"{c}\" END")
                })
                .collect();
            format!("SELECT json_object({}) AS j FROM \"{table}\"", pairs.join(", "))
        };
        let mut dump: Vec<String> =
            all(select).await.iter().map(|r| r.try_get::<String>("", "j").expect("a JSON row")).collect();
        dump.sort();
        counts.insert(table.clone(), app.count(&format!("\"{table}\"")).await);
        rows.insert(table, dump);
    }
    Snapshot { rows, counts }
}

/// Records one case per table that changed, naming the rows that differ.
fn same_database(f: &mut Failures, before: &Snapshot, after: &Snapshot) {
    let tables: std::collections::BTreeSet<&String> = before.rows.keys().chain(after.rows.keys()).collect();
    for table in tables {
        let (b, a) = (
            before.rows.get(table).cloned().unwrap_or_default(),
            after.rows.get(table).cloned().unwrap_or_default(),
        );
        let gone: Vec<&String> = b.iter().filter(|r| !a.contains(r)).take(3).collect();
        let new: Vec<&String> = a.iter().filter(|r| !b.contains(r)).take(3).collect();
        f.check(
            format!("database: table {table} unchanged"),
            a == b,
            format!("rows before {gone:?}, after {new:?}"),
        );
        let (cb, ca) = (before.counts.get(table), after.counts.get(table));
        f.check(format!("database: row count of {table} unchanged"), cb == ca, format!("{cb:?} -> {ca:?}"));
    }
}

/// Subscribes over graphql-transport-ws as `token`: the codes of the `error` the server
/// answers with, or what it did instead (an event, or nothing: the subscription was accepted).
async fn subscribe(
    addr: SocketAddr,
    token: &str,
    query: &str,
    variables: Value,
) -> Result<Vec<String>, String> {
    const WAIT: Duration = Duration::from_secs(5);
    let mut req = format!("ws://{addr}/graphql").into_client_request().expect("a request");
    req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
        .await
        .map_err(|_| "no upgrade in time".to_owned())?
        .map_err(|e| format!("upgrade failed: {e}"))?;
    let init =
        json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    let subscribe =
        json!({ "type": "subscribe", "id": "1", "payload": { "query": query, "variables": variables } });
    for message in [init, subscribe] {
        ws.send(Message::Text(message.to_string().into())).await.map_err(|e| format!("send: {e}"))?;
    }
    loop {
        let frame = match tokio::time::timeout(WAIT, ws.next()).await {
            Err(_) => return Err("no error within 5 s: the subscription was accepted".into()),
            Ok(Some(Ok(frame))) => frame,
            Ok(other) => return Err(format!("connection ended: {other:?}")),
        };
        let Message::Text(text) = frame else { continue };
        let message: Value = serde_json::from_str(text.as_str()).map_err(|e| format!("not JSON: {e}"))?;
        match message["type"].as_str() {
            Some("connection_ack" | "ping" | "pong") => {}
            Some("error") => {
                let errors = message["payload"].as_array().cloned().unwrap_or_default();
                return Ok(errors
                    .iter()
                    .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
                    .collect());
            }
            _ => return Err(format!("answered {message}")),
        }
    }
}

/// GET /reports/schools.csv?`query` as `token`: status and body.
async fn csv(app: &TestApp, token: &str, query: &str) -> (u16, String) {
    let req = axum::http::Request::get(format!("/reports/schools.csv?{query}"))
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("a request");
    let answer = app.send(req).await;
    (answer.status.as_u16(), answer.body.to_string())
}

#[tokio::test]
async fn partnership_b_reads_nothing_of_partnership_a() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let mut f = Failures::new(&w);
    let roles = b_roles(&app);
    let before = snapshot(&app).await;
    let (pa, tb) = (gid("Partnership", w.pa.id), gid("Trust", w.tb.id));

    // Controls: B reads its own rows; A's headline stays public to anonymous callers only.
    for (role, token) in &roles {
        let q = "{ school(urn: 920001) { name trust { groupUid } } partnerships { slug } }";
        let data =
            f.control(format!("{role} reads B's school SB1"), &app.gql(Some(token), q, json!({})).await);
        f.check(
            format!("control: {role} sees SB1 in trust TB"),
            data["school"]["trust"]["groupUid"] == TB_UID,
            data.to_string(),
        );
    }
    for (role, token) in [&roles[0], &roles[3], &roles[4]] {
        let q = "{ school(urn: 920001) { certifications { evidence { title } selfAssessment { ratings { note } } } } }";
        let data = f.control(format!("{role} reads SB1 in full"), &app.gql(Some(token), q, json!({})).await);
        f.check(
            format!("control: {role} sees SB1's notes"),
            data.to_string().contains("Beta note on"),
            data.to_string(),
        );
    }
    let headline = "{ partnershipBySlug(slug: \"alpha\") { name startsOn deadline } }";
    let data = f.control("anonymous reads A's headline".into(), &app.gql(None, headline, json!({})).await);
    f.check(
        "control: A's headline is A's".into(),
        data["partnershipBySlug"]["name"] == "Alpha Partnership",
        data.to_string(),
    );
    let beyond = "{ partnershipBySlug(slug: \"alpha\") { schools { totalCount } cohorts { name } timeline { certified } } }";
    let answer = app.gql(None, beyond, json!({}));
    f.refused(
        "anonymous: A beyond its headline".into(),
        &answer.await,
        &["UNAUTHENTICATED", "NOT_FOUND", "FORBIDDEN"],
    );

    // Reads of A's rows by URN, id or slug: refused.
    let full = "certifications { id stage evidence { title url } selfAssessment { ratings { note } } history { by } certificate { number } }";
    let mut reads: Vec<(String, String, Value)> = [910001, 910002, 910003, 910004]
        .iter()
        .map(|u| (format!("school({u})"), format!("{{ school(urn: {u}) {{ urn name }} }}"), json!({})))
        .collect();
    reads.extend([
        (
            "school(910001).certifications".to_owned(),
            format!("{{ school(urn: 910001) {{ {full} }} }}"),
            json!({}),
        ),
        (
            "school(910002).certifications (drafts)".to_owned(),
            format!("{{ school(urn: 910002) {{ {full} }} }}"),
            json!({}),
        ),
        (
            "school(910001).aiPolicy".to_owned(),
            "{ school(urn: 910001) { aiPolicy { status adoptedOn roles { role title } } } }".to_owned(),
            json!({}),
        ),
    ]);
    for (name, id) in w.a_ids() {
        let q = "query($id: ID!) { node(id: $id) { __typename id ... on School { name } ... on Trust { name } ... on Partnership { name } ... on Cohort { name } } }";
        reads.push((format!("node({name})"), q.to_owned(), json!({ "id": id })));
    }
    let by_id = [
        ("trust(TA)", "query($id: ID!) { trust(id: $id) { name groupUid } }", gid("Trust", w.ta.id)),
        ("trust(TA2)", "query($id: ID!) { trust(id: $id) { name groupUid } }", w.ta2.clone()),
        (
            "cohort(A1)",
            "query($id: ID!) { cohort(id: $id) { name schools { nodes { urn } } } }",
            gid("Cohort", w.ca1.id),
        ),
        ("cohorts(partnership: A)", "query($id: ID!) { cohorts(partnership: $id) { name } }", pa.clone()),
        (
            "certification(SA1)",
            "query($id: ID!) { certification(id: $id) { stage certificate { number } } }",
            w.j1.id.clone(),
        ),
        (
            "certification(SA2) drafts",
            "query($id: ID!) { certification(id: $id) { evidence { title } selfAssessment { ratings { note } } } }",
            w.j2.id.clone(),
        ),
        (
            "certification(SA3)",
            "query($id: ID!) { certification(id: $id) { stage school { name } } }",
            w.j3.id.clone(),
        ),
        ("partnership(id: A)", "query($id: ID!) { partnership(id: $id) { name } }", pa.clone()),
        (
            "partnership(id: A) beyond headline",
            "query($id: ID!) { partnership(id: $id) { defaultFramework schools { totalCount } cohorts { name } progress { totalSchools atRisk { reason } } } }",
            pa.clone(),
        ),
        (
            "atRiskSchools(partnership: A)",
            "query($id: ID!) { atRiskSchools(partnership: $id) { school { urn } reason } }",
            pa.clone(),
        ),
    ];
    reads.extend(by_id.into_iter().map(|(n, q, id)| (n.to_owned(), q.to_owned(), json!({ "id": id }))));
    reads.push((
        "partnershipBySlug(alpha)".into(),
        "{ partnershipBySlug(slug: \"alpha\") { name deadline } }".into(),
        json!({}),
    ));
    let trust_progress = "query($t: ID!, $p: ID) { trust(id: $t) { progress(partnership: $p) { totalSchools certified deadline } } }";
    reads.push((
        "Trust(TB).progress(partnership: A)".into(),
        trust_progress.into(),
        json!({ "t": tb, "p": pa }),
    ));
    for (role, token) in &roles {
        for (case, q, vars) in &reads {
            f.refused(format!("{role}: {case}"), &app.gql(Some(token), q, vars.clone()).await, REFUSED);
        }
    }

    // Lists: none of A's rows, whatever the filter.
    let lists = [
        ("schools", "{ schools(first: 100) { nodes { urn name } } }", json!({})),
        (
            "schools(filter: partnership A)",
            "query($v: ID) { schools(filter: { partnership: $v }, first: 100) { totalCount nodes { urn } } }",
            pa.clone(),
        ),
        (
            "schools(filter: trust TA)",
            "query($v: ID) { schools(filter: { trust: $v }, first: 100) { totalCount nodes { urn } } }",
            gid("Trust", w.ta.id),
        ),
        (
            "schools(filter: cohort A1)",
            "query($v: ID) { schools(filter: { cohort: $v }, first: 100) { totalCount nodes { urn } } }",
            gid("Cohort", w.ca1.id),
        ),
        ("trusts", "{ trusts(first: 100) { totalCount nodes { name groupUid } } }", json!({})),
        ("partnerships", "{ partnerships { slug name cohorts { name } } }", json!({})),
        (
            "grants",
            "{ grants(first: 100, includeRevoked: true) { edges { node { id school { urn } } } } }",
            json!({}),
        ),
        (
            "reviewQueue",
            "{ reviewQueue(first: 100, includeClaimed: true) { nodes { id school { urn } } } }",
            json!({}),
        ),
        (
            "me",
            "{ me { partnership { slug } trust { schools { nodes { urn } } } school { partnerships { slug } mentors { mentor { urn } } } } }",
            json!({}),
        ),
    ];
    for (role, token) in &roles {
        for (case, q, v) in &lists {
            f.clean(format!("{role}: {case}"), &app.gql(Some(token), q, json!({ "v": v })).await, REFUSED);
        }
    }

    // The CSV export and the subscriptions.
    let addr = app.listen().await;
    let ca1 = gid("Cohort", w.ca1.id);
    for (role, token) in &roles {
        let (status, body) = csv(&app, token, "partnership=alpha").await;
        // The refusal's message may echo the slug asked for; a refusal holds no rows.
        let refused =
            matches!(status, 403 | 404) && (body.contains("NOT_FOUND") || body.contains("FORBIDDEN"));
        f.check(
            format!("{role}: GET schools.csv?partnership=alpha"),
            refused && !body.contains("91000"),
            format!("HTTP {status} {body:.300}"),
        );
        let (status, body) =
            csv(&app, token, &format!("partnership=beta&cohort={}", ca1.as_str().unwrap_or_default())).await;
        let leak = f.leak(&Value::String(body.clone()));
        f.check(
            format!("{role}: GET schools.csv?partnership=beta&cohort=A1"),
            status != 500 && leak.is_none(),
            format!("HTTP {status} {body:.300}"),
        );
        let subscriptions = [
            (
                "progressChanged(partnership: A)",
                "subscription($v: ID!) { progressChanged(partnership: $v) { totalSchools } }",
                pa.clone(),
            ),
            (
                "certificationEvents(school: 910001)",
                "subscription($v: Int!) { certificationEvents(school: $v) { to school { name } } }",
                json!(910001),
            ),
        ];
        for (case, q, v) in subscriptions {
            let got = subscribe(addr, token, q, json!({ "v": v })).await;
            let ok = got
                .as_ref()
                .is_ok_and(|codes| !codes.is_empty() && codes.iter().all(|c| REFUSED.contains(&c.as_str())));
            f.check(format!("{role}: subscription {case}"), ok, format!("{got:?}"));
        }
    }

    same_database(&mut f, &before, &snapshot(&app).await);
    f.finish();
}
