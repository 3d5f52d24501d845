/// Fails when schema.graphql is stale. To refresh it: `UPDATE_SCHEMA=1 cargo test -p tests schema`
/// (or `cargo run -p api -- schema > schema.graphql`).
#[test]
fn committed_schema_matches_code() {
    let sdl = api::sdl();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &sdl).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema.graphql differs from the code; regenerate it with `UPDATE_SCHEMA=1 cargo test -p tests schema`"
    );
}

#[test]
fn doc_comments_become_descriptions() {
    let sdl = api::sdl();
    assert!(sdl.contains("Unique reference number from GIAS"), "field docs missing from SDL");
    assert!(sdl.contains("A school of the registry"), "type docs missing from SDL");
}
