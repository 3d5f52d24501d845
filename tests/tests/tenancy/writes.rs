//! Every mutation of the schema, tried by B's five roles against A's rows: refused, and the
//! database the same afterwards. B's own changes (the controls) go through before the snapshot.

use api::auth::Role;
use entity::{local_authority, partnership, partnership_school, school, trust};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{TestApp, fixtures::FRAMEWORK_FILE};

use super::{Failures, REFUSED, b_roles, gid, same_database, snapshot, world};

const GIAS_HEADER: &str = "URN,EstablishmentName,LA (code),LA (name),TypeOfEstablishment (name),PhaseOfEducation (name),EstablishmentStatus (name),Trusts (code),Trusts (name),Postcode\n";
const IMPORT: &str = "mutation($csv: String!) { importSchools(csv: $csv, laCodes: [\"902\"]) { schoolsCreated schoolsUpdated trustsUpdated membersAdded } }";

#[tokio::test]
async fn partnership_b_changes_nothing_of_partnership_a() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let mut f = Failures::new(&w);
    let roles = b_roles(&app);
    let admin = &roles[0].1;

    // Controls: B's city admin changes B's own registry.
    let q = "mutation { updateSchool(urn: 920001, input: { name: \"Beta Primary One Academy\" }) { name } }";
    f.control("B city admin renames B's school SB1".into(), &app.gql(Some(admin), q, json!({})).await);
    let q = "mutation { createCohort(input: { name: \"Beta Cohort 2\", ordinal: 2, startsOn: \"2026-09-01\", targetOn: \"2027-07-15\" }) { id } }";
    f.control("B city admin creates a cohort of B".into(), &app.gql(Some(admin), q, json!({})).await);
    let q =
        "mutation { updateRiskThresholds(stalledAfterDays: 45, returnedAfterDays: 21) { stalledAfterDays } }";
    f.control("B city admin sets B's risk thresholds".into(), &app.gql(Some(admin), q, json!({})).await);
    let row = "920004,Beta Primary Four,902,Beta Council,Academy converter,Primary,Open,7200001,Beta Learning Trust,\n";
    let data = f.control(
        "B city admin imports a new school of B".into(),
        &app.gql(Some(admin), IMPORT, json!({ "csv": format!("{GIAS_HEADER}{row}") })).await,
    );
    let report = &data["importSchools"];
    f.check(
        "control: the import created one school of B".into(),
        report["schoolsCreated"] == 1 && report["membersAdded"] == 1,
        report.to_string(),
    );
    // A school of B in A's LA 901 may be refused or created, but LA 901 keeps A's name for it.
    let q = "mutation { createSchool(input: { urn: 920005, name: \"Beta Border Primary\", phase: PRIMARY, establishmentType: \"Community school\", laCode: \"901\", laName: \"Beta Renamed Council\" }) { urn } }";
    f.clean(
        "B city admin: createSchool in A's LA 901 under another LA name".into(),
        &app.gql(Some(admin), q, json!({})).await,
        &["NOT_FOUND", "FORBIDDEN", "BAD_USER_INPUT", "CONFLICT"],
    );
    let la = local_authority::Entity::find()
        .filter(local_authority::Column::Code.eq("901"))
        .one(&app.db)
        .await
        .expect("read");
    f.check(
        "LA 901 keeps its name".into(),
        la.as_ref().is_some_and(|l| l.name == "Alpha Council"),
        format!("{la:?}"),
    );
    let pa = partnership::Entity::find_by_id(w.pa.id).one(&app.db).await.expect("read").expect("A");
    f.check(
        "updateRiskThresholds by B leaves A's thresholds".into(),
        (pa.stalled_after_days, pa.returned_after_days) == (60, 30),
        format!("{pa:?}"),
    );

    // updatePartnership names no partnership: it can only ever change the caller's own.
    let q = "mutation { updatePartnership(input: { name: \"Beta Partnership Renamed\", deadline: \"2028-07-31\", deadlineReason: \"control\" }) { name } }";
    f.control(
        "B city admin changes B's own settings and goal".into(),
        &app.gql(Some(admin), q, json!({})).await,
    );
    let pa = partnership::Entity::find_by_id(w.pa.id).one(&app.db).await.expect("read").expect("A");
    f.check(
        "updatePartnership by B leaves A's name and deadline".into(),
        (pa.name.as_str(), pa.deadline.to_string().as_str()) == ("Alpha Partnership", "2027-07-31"),
        format!("{pa:?}"),
    );

    let before = snapshot(&app).await;
    let (ta, ta2) = (gid("Trust", w.ta.id), w.ta2.clone());
    let (ca1, ca2, cb) = (gid("Cohort", w.ca1.id), gid("Cohort", w.ca2.id), gid("Cohort", w.cb.id));
    let (j2, j3, evidence) = (w.j2.id.clone(), w.j3.id.clone(), w.j2.evidence[0].clone());
    let new_school = |urn: i32, trust: &Value| json!({ "i": { "urn": urn, "name": "Beta New Primary", "phase": "PRIMARY", "establishmentType": "Academy converter", "laCode": "902", "laName": "Beta Council", "trust": trust } });
    let pair = "mutation($m: Int!, $e: Int!) { createMentorshipPairing(input: { mentorUrn: $m, menteeUrn: $e }) { id } }";
    let create_school = "mutation($i: CreateSchoolInput!) { createSchool(input: $i) { urn name } }";
    let rename_trust =
        "mutation($id: ID!) { updateTrust(id: $id, input: { name: \"Beta Renamed Trust\" }) { name } }";
    let enrol = "mutation($u: Int!) { enrol(input: { urn: $u, framework: \"aied-certified\", targetLevel: \"EXPLORER\" }) { id } }";
    // (case, mutation, variables, what a refusal may answer)
    let attempts: Vec<(&str, &str, Value, &[&str])> = vec![
        (
            "createSchool(URN 910001)",
            create_school,
            json!({ "i": { "urn": 910001, "name": "Beta Takeover", "phase": "PRIMARY", "establishmentType": "Community school", "laCode": "902", "laName": "Beta Council" } }),
            &["CONFLICT", "NOT_FOUND", "FORBIDDEN"],
        ),
        ("createSchool run by A's trust TA", create_school, new_school(920006, &ta), REFUSED),
        ("createSchool run by A's trust TA2", create_school, new_school(920007, &ta2), REFUSED),
        (
            "updateSchool(910001)",
            "mutation { updateSchool(urn: 910001, input: { name: \"Beta Takeover\" }) { name } }",
            json!({}),
            REFUSED,
        ),
        (
            "updateSchool(B's 920002) into A's trust TA",
            "mutation($t: ID) { updateSchool(urn: 920002, input: { trust: $t }) { urn } }",
            json!({ "t": ta }),
            REFUSED,
        ),
        (
            "updateSchool(B's 920002) into A's trust TA2",
            "mutation($t: ID) { updateSchool(urn: 920002, input: { trust: $t }) { urn } }",
            json!({ "t": ta2 }),
            REFUSED,
        ),
        (
            "createTrust(group UID of TA)",
            "mutation { createTrust(input: { name: \"Beta Copy\", groupUid: \"7100001\" }) { id } }",
            json!({}),
            &["CONFLICT", "NOT_FOUND", "FORBIDDEN"],
        ),
        ("updateTrust(TA)", rename_trust, json!({ "id": ta }), REFUSED),
        ("updateTrust(TA2)", rename_trust, json!({ "id": ta2 }), REFUSED),
        (
            "addSchoolToCohort(B's cohort, 910001)",
            "mutation($c: ID!) { addSchoolToCohort(cohort: $c, urn: 910001) { urn } }",
            json!({ "c": cb }),
            REFUSED,
        ),
        (
            "addSchoolToCohort(A2, B's 920002)",
            "mutation($c: ID!) { addSchoolToCohort(cohort: $c, urn: 920002) { urn } }",
            json!({ "c": ca2 }),
            REFUSED,
        ),
        (
            "removeSchoolFromCohort(A1, 910001)",
            "mutation($c: ID!) { removeSchoolFromCohort(cohort: $c, urn: 910001) { urn } }",
            json!({ "c": ca1 }),
            REFUSED,
        ),
        (
            "updateCohort(A1)",
            "mutation($c: ID!) { updateCohort(id: $c, input: { name: \"Beta Took\", ordinal: 9, startsOn: \"2025-09-01\", targetOn: \"2026-07-15\" }) { name } }",
            json!({ "c": ca1 }),
            REFUSED,
        ),
        ("createMentorshipPairing(910003 -> 910004)", pair, json!({ "m": 910003, "e": 910004 }), REFUSED),
        (
            "createMentorshipPairing(A's 910001 -> B's 920002)",
            pair,
            json!({ "m": 910001, "e": 920002 }),
            REFUSED,
        ),
        (
            "endMentorshipPairing(SA1 -> SA2)",
            "mutation($id: ID!) { endMentorshipPairing(id: $id) { status } }",
            json!({ "id": gid("MentorshipPairing", w.pairing.id) }),
            REFUSED,
        ),
        ("enrol(910002)", enrol, json!({ "u": 910002 }), REFUSED),
        ("enrol(910004)", enrol, json!({ "u": 910004 }), REFUSED),
        (
            "moveTo(SA2's journey)",
            "mutation($id: ID!) { moveTo(certification: $id, stage: SELF_ASSESSING) { stage } }",
            json!({ "id": j2 }),
            REFUSED,
        ),
        (
            "rateCriteria(SA2's journey)",
            "mutation($id: ID!) { rateCriteria(certification: $id, ratings: [{ criterion: \"LIT-E-LEA\", rating: NOT_YET, note: \"Beta was here\" }]) { id } }",
            json!({ "id": j2 }),
            REFUSED,
        ),
        (
            "addEvidence(SA2's journey)",
            "mutation($id: ID!) { addEvidence(certification: $id, input: { kind: DESCRIPTION, title: \"Beta\", text: \"Beta\", criteria: [\"LIT-E-LEA\"], noPersonalData: true }) { id } }",
            json!({ "id": j2 }),
            REFUSED,
        ),
        (
            "removeEvidence(SA2's evidence)",
            "mutation($id: ID!) { removeEvidence(evidence: $id) { id } }",
            json!({ "id": evidence }),
            REFUSED,
        ),
        (
            "submitCertification(SA2's journey)",
            "mutation($id: ID!) { submitCertification(certification: $id) { stage } }",
            json!({ "id": j2 }),
            REFUSED,
        ),
        (
            "withdrawCertification(SA2's journey)",
            "mutation($id: ID!) { withdrawCertification(certification: $id) { stage } }",
            json!({ "id": j2 }),
            REFUSED,
        ),
        (
            "claimReview(SA3's submitted journey)",
            "mutation($id: ID!) { claimReview(certification: $id) { stage } }",
            json!({ "id": j3 }),
            REFUSED,
        ),
        (
            "decideReview(SA3's submitted journey)",
            "mutation($id: ID!) { decideReview(certification: $id, input: { outcome: CERTIFIED, level: \"EXPLORER\" }) { stage } }",
            json!({ "id": j3 }),
            REFUSED,
        ),
        (
            "revokeGrant(A's invitation)",
            "mutation($id: ID!) { revokeGrant(id: $id) { status } }",
            json!({ "id": w.grant }),
            REFUSED,
        ),
        (
            "createInvitation(school lead of A's 910001)",
            "mutation { createInvitation(input: { role: SCHOOL_LEAD, schoolUrn: 910001 }) { code } }",
            json!({}),
            REFUSED,
        ),
        (
            "createInvitation(trust lead of A's TA)",
            "mutation($t: ID) { createInvitation(input: { role: TRUST_LEAD, trust: $t }) { code } }",
            json!({ "t": ta }),
            REFUSED,
        ),
        (
            "createInvitation(trust lead of A's TA2)",
            "mutation($t: ID) { createInvitation(input: { role: TRUST_LEAD, trust: $t }) { code } }",
            json!({ "t": ta2 }),
            REFUSED,
        ),
        (
            "recordAiPolicy(910001)",
            "mutation { recordAiPolicy(urn: 910001, input: { adoptedOn: \"2025-01-01\" }) { status } }",
            json!({}),
            REFUSED,
        ),
    ];
    for (role, token) in &roles {
        for (case, q, vars, codes) in &attempts {
            f.refused(format!("{role}: {case}"), &app.gql(Some(token), q, vars.clone()).await, codes);
        }
    }
    for (role, token) in &roles[1..] {
        let q = "mutation { updateRiskThresholds(stalledAfterDays: 1) { stalledAfterDays } }";
        f.refused(
            format!("{role}: updateRiskThresholds"),
            &app.gql(Some(token), q, json!({})).await,
            REFUSED,
        );
    }

    // Hole (a): imports that would take over A's school or A's trust. Last among the writes:
    // one that goes through today makes A's rows B's, and the reads above would not be clean.
    let takeover = [
        (
            "importSchools: URN 910001 under another name and LA 902",
            "910001,Beta Takeover Primary,902,Beta Council,Community school,Primary,Open,,,\n",
        ),
        (
            "importSchools: a new school of B in trust 7100001 (TA) renamed",
            "920003,Beta Primary Three,902,Beta Council,Academy converter,Primary,Open,7100001,Beta Hijack Trust,\n",
        ),
    ];
    for (case, row) in takeover {
        for (role, token) in &roles {
            let answer = app.gql(Some(token), IMPORT, json!({ "csv": format!("{GIAS_HEADER}{row}") })).await;
            if token != admin {
                f.refused(format!("{role}: {case}"), &answer, REFUSED);
                continue;
            }
            f.refused(format!("{role}: {case}"), &answer, &["BAD_USER_INPUT"]);
            let rows = answer.body["errors"][0]["extensions"]["rows"].as_array().cloned().unwrap_or_default();
            let line_2 = rows.iter().any(|r| r["line"] == 2);
            f.check(format!("{role}: {case}: extensions.rows names line 2"), line_2, super::summary(&answer));
        }
    }

    // Hole (b): publishing a framework is the operator's act; the mutation leaves the schema.
    let v2 = FRAMEWORK_FILE.replacen("version = 1", "version = 2", 1);
    for (role, token) in &roles {
        let q = "mutation($s: String!) { loadFramework(source: $s) { created framework { version } } }";
        let answer = app.gql(Some(token), q, json!({ "s": v2 })).await;
        let codes = answer.codes();
        f.check(
            format!("{role}: loadFramework(aied-certified v2) is not in the schema"),
            codes == ["GRAPHQL_VALIDATION_FAILED"],
            super::summary(&answer),
        );
    }

    same_database(&mut f, &before, &snapshot(&app).await);

    // A's rows, read straight from the database.
    let sa1 = school::Entity::find_by_id(w.sa[0].id).one(&app.db).await.expect("read").expect("SA1");
    let memberships: Vec<_> = partnership_school::Entity::find()
        .filter(partnership_school::Column::SchoolId.eq(sa1.id))
        .all(&app.db)
        .await
        .expect("read");
    let ok = sa1.name == "Alpha Primary One"
        && sa1.local_authority_id == w.sa[0].local_authority_id
        && sa1.trust_id == Some(w.ta.id);
    f.check("SA1 keeps its name, LA and trust".into(), ok, format!("{sa1:?}"));
    let only_a = memberships.len() == 1 && memberships[0].partnership_id == w.pa.id;
    f.check("SA1 is a member of A only".into(), only_a, format!("{memberships:?}"));
    for (name, id, want) in [("TA", w.ta.id, "Alpha Learning Trust"), ("TB", w.tb.id, "Beta Learning Trust")]
    {
        let t = trust::Entity::find_by_id(id).one(&app.db).await.expect("read").expect("trust");
        f.check(format!("{name} keeps its name"), t.name == want, format!("{t:?}"));
    }
    let ta2_name = trust::Entity::find()
        .filter(trust::Column::GroupUid.eq(super::TA2_UID))
        .one(&app.db)
        .await
        .expect("read");
    f.check(
        "TA2 keeps its name".into(),
        ta2_name.as_ref().is_some_and(|t| t.name == "Alpha Second Trust"),
        format!("{ta2_name:?}"),
    );
    let a_schools: Vec<_> = w.sa.iter().map(|s| s.id).collect();
    let taken = partnership_school::Entity::find()
        .filter(partnership_school::Column::PartnershipId.eq(w.pb.id))
        .filter(partnership_school::Column::SchoolId.is_in(a_schools))
        .count(&app.db)
        .await
        .expect("count");
    f.check(
        "B holds none of A's schools".into(),
        taken == 0,
        format!("{taken} of A's schools are B's members"),
    );

    // After B's attempt at a new version, A's schools still start on version 1.
    let lead = app.token(Role::SchoolLead).school(910004).sign();
    let q = "mutation { enrol(input: { urn: 910004, framework: \"aied-certified\", targetLevel: \"EXPLORER\" }) { framework { version } } }";
    let answer = app.gql(Some(&lead), q, json!({})).await;
    let version = answer.data()["enrol"]["framework"]["version"].clone();
    f.check(
        "enrolling A's SA4 afterwards starts on framework version 1".into(),
        version == 1,
        super::summary(&answer),
    );
    f.finish();
}
