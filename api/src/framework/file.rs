//! The framework file: TOML or JSON, read and checked before anything is stored.
//!
//! ```toml
//! slug = "aied-certified"      # a-z, 0-9 and '-'; names the framework across versions
//! version = 1                  # a whole number; raise it to load a changed file
//! name = "AiEd Certified"
//! validity_months = 24         # a certificate's life, from the award date
//! stakeholder_groups = [{ key = "LEADERS", name = "Leaders" }]   # optional
//! [[levels]]                   # lowest first
//! key = "EXPLORER"
//! name = "Explorer"
//! [[areas]]
//! key = "AI_LITERACY"
//! name = "AI literacy"
//! [[criteria]]
//! code = "LIT-E-LEA"           # unique in the file
//! area = "AI_LITERACY"
//! level = "EXPLORER"
//! group = "LEADERS"            # required when the framework has groups, absent otherwise
//! descriptor = "..."
//! ```

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkFile {
    pub slug: String,
    pub version: i32,
    pub name: String,
    pub validity_months: i32,
    #[serde(default)]
    pub stakeholder_groups: Vec<Named>,
    pub levels: Vec<Named>,
    pub areas: Vec<Named>,
    pub criteria: Vec<CriterionEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Named {
    pub key: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionEntry {
    pub code: String,
    pub area: String,
    pub level: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub descriptor: String,
}

/// The largest framework file accepted.
pub const MAX_SOURCE: usize = 1 << 20;
const MAX_CRITERIA: usize = 2_000;

fn bad(reason: impl Into<String>) -> ApiError {
    ApiError::invalid("source", reason)
}

impl FrameworkFile {
    /// Reads TOML, or JSON when the text starts with `{`, and checks it. Errors name the line
    /// (syntax) or the field (content) at fault.
    pub fn parse(source: &str) -> ApiResult<Self> {
        if source.len() > MAX_SOURCE {
            return Err(bad(format!("the file is larger than {} KiB", MAX_SOURCE / 1024)));
        }
        let file: Self = if source.trim_start().starts_with('{') {
            serde_json::from_str(source).map_err(|e| bad(format!("JSON: {e}")))?
        } else {
            toml::from_str(source).map_err(|e| {
                // toml's message spans several lines (with a snippet); keep it readable on one.
                let msg = e.message().to_owned();
                match e.span().map(|s| line_col(source, s.start)) {
                    Some((line, col)) => bad(format!("TOML line {line}, column {col}: {msg}")),
                    None => bad(format!("TOML: {msg}")),
                }
            })?
        };
        file.check()?;
        Ok(file)
    }

    /// A digest of the content (not the formatting or comments): equal files, equal hashes.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a framework file serializes");
        Sha256::digest(canonical).iter().map(|b| format!("{b:02x}")).collect()
    }

    fn check(&self) -> ApiResult<()> {
        let slug_ok = (2..=60).contains(&self.slug.len())
            && self.slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !self.slug.starts_with('-');
        if !slug_ok {
            return Err(bad(format!("slug {:?}: use 2 to 60 of a-z, 0-9 and '-'", self.slug)));
        }
        if self.version < 1 {
            return Err(bad("version: must be 1 or more"));
        }
        name("name", &self.name, 200)?;
        if !(1..=120).contains(&self.validity_months) {
            return Err(bad("validity_months: must be 1 to 120"));
        }
        let groups = keys("stakeholder_groups", &self.stakeholder_groups)?;
        let levels = keys("levels", &self.levels)?;
        let areas = keys("areas", &self.areas)?;
        if levels.is_empty() || areas.is_empty() {
            return Err(bad("a framework needs at least one level and one area"));
        }
        if self.criteria.is_empty() || self.criteria.len() > MAX_CRITERIA {
            return Err(bad(format!("criteria: give 1 to {MAX_CRITERIA}")));
        }
        let mut codes = HashSet::new();
        for (i, c) in self.criteria.iter().enumerate() {
            let at = |field: &str| format!("criteria[{i}] ({}).{field}", c.code);
            let code_ok = (1..=40).contains(&c.code.len())
                && c.code.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !code_ok {
                return Err(bad(format!(
                    "criteria[{i}].code {:?}: use 1 to 40 of A-Z, a-z, 0-9, '.', '_', '-'",
                    c.code
                )));
            }
            if !codes.insert(c.code.as_str()) {
                return Err(bad(format!("{}: the code is used twice", at("code"))));
            }
            if !areas.contains(c.area.as_str()) {
                return Err(bad(format!("{}: no area has the key {:?}", at("area"), c.area)));
            }
            if !levels.contains(c.level.as_str()) {
                return Err(bad(format!("{}: no level has the key {:?}", at("level"), c.level)));
            }
            match (&c.group, groups.is_empty()) {
                (None, false) => {
                    return Err(bad(format!(
                        "{}: this framework has stakeholder groups; name one",
                        at("group")
                    )));
                }
                (Some(_), true) => {
                    return Err(bad(format!("{}: this framework has no stakeholder groups", at("group"))));
                }
                (Some(g), false) if !groups.contains(g.as_str()) => {
                    return Err(bad(format!("{}: no stakeholder group has the key {g:?}", at("group"))));
                }
                _ => {}
            }
            name(&at("descriptor"), &c.descriptor, 1_000)?;
        }
        for level in &self.levels {
            if !self.criteria.iter().any(|c| c.level == level.key) {
                return Err(bad(format!("level {:?} has no criteria", level.key)));
            }
        }
        Ok(())
    }
}

/// Checks the keys and names of a list, returning its keys.
fn keys<'a>(list: &str, items: &'a [Named]) -> ApiResult<HashSet<&'a str>> {
    let mut seen = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let key_ok = (1..=40).contains(&item.key.len())
            && item.key.as_bytes()[0].is_ascii_uppercase()
            && item.key.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            return Err(bad(format!(
                "{list}[{i}].key {:?}: use 1 to 40 of A-Z, 0-9 and '_', starting with a letter",
                item.key
            )));
        }
        if !seen.insert(item.key.as_str()) {
            return Err(bad(format!("{list}[{i}].key {:?} is used twice", item.key)));
        }
        name(&format!("{list}[{i}].name"), &item.name, 100)?;
    }
    Ok(seen)
}

fn name(field: &str, value: &str, max: usize) -> ApiResult<()> {
    let n = value.trim().chars().count();
    if n == 0 || n > max || value.chars().any(char::is_control) {
        return Err(bad(format!("{field}: give 1 to {max} characters of text")));
    }
    Ok(())
}

/// 1-based line and column of a byte offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The AiEd Certified file the project ships (and the demo loads).
pub const AIED_CERTIFIED: &str = include_str!("../../../frameworks/aied-certified.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_holds_45_criteria() {
        let f = FrameworkFile::parse(AIED_CERTIFIED).unwrap();
        assert_eq!(
            (f.areas.len(), f.levels.len(), f.stakeholder_groups.len(), f.criteria.len()),
            (5, 3, 3, 45)
        );
    }

    #[test]
    fn toml_and_json_of_the_same_content_hash_alike() {
        let f = FrameworkFile::parse(AIED_CERTIFIED).unwrap();
        let json = serde_json::to_string_pretty(&f).unwrap();
        assert_eq!(FrameworkFile::parse(&json).unwrap().content_hash(), f.content_hash());
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let src = "slug = \"x-y\"\nversion = 1\nname = \"X\"\nvalidity_months = oops\n";
        let err = FrameworkFile::parse(src).unwrap_err().to_string();
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn content_errors_name_the_field() {
        let src = AIED_CERTIFIED.replacen("area = \"POLICIES_AND_ETHICS\"", "area = \"POLICY\"", 1);
        let err = FrameworkFile::parse(&src).unwrap_err().to_string();
        assert!(err.contains("criteria[9] (POL-E-LEA).area"), "{err}");
        let src =
            AIED_CERTIFIED.replacen("validity_months = 24", "validity_months = 24\ncolour = \"red\"", 1);
        let err = FrameworkFile::parse(&src).unwrap_err().to_string();
        assert!(err.contains("line 14") && err.contains("colour"), "{err}");
    }
}
