//! Tests that need PostgreSQL are marked `#[cfg_attr(not(postgres), ignore = "...")]`: built
//! without TEST_DATABASE_URL the runner reports them ignored, never passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(postgres)");
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        println!("cargo::rustc-cfg=postgres");
    }
}
