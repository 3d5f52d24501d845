//! What keeps PostgreSQL's plans good as the data grows: indexes under the foreign keys that
//! lookups walk.

use std::collections::BTreeSet;

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use tests::TestApp;

/// Foreign keys without an index of their own, and why none is needed: no query looks rows up
/// by them, and the rows they point at are never deleted (frameworks are versioned, not edited).
const NEVER_WALKED: [&str; 10] = [
    "access_grant.school_id",
    "access_grant.trust_id",
    "certification.awarded_level_id",
    "certification.framework_id",
    "certification.renewal_of",
    "certification.target_level_id",
    "criterion.area_id",
    "evidence_criterion.criterion_id",
    "rating.criterion_id",
    "review.awarded_level_id",
];

#[tokio::test]
#[cfg_attr(not(postgres), ignore = "needs TEST_DATABASE_URL (PostgreSQL)")]
async fn every_foreign_key_has_an_index_or_no_lookup_walks_it() {
    let app = TestApp::spawn().await;
    assert!(app.is_postgres());
    // The first column of each foreign key that no index of its table starts with.
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT c.conrelid::regclass::text || '.' || a.attname AS fk \
             FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] \
             WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace \
             AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])",
        ))
        .await
        .expect("read the catalog");
    let unindexed: BTreeSet<String> = rows.iter().map(|r| r.try_get("", "fk").expect("fk")).collect();
    let expected: BTreeSet<String> = NEVER_WALKED.iter().map(|s| s.to_string()).collect();
    assert_eq!(unindexed, expected, "index the new foreign key, or say why no lookup walks it");
}
