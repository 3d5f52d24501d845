//! Checks on text that comes from outside, shared by mutations and the importer.

use std::{collections::HashMap, sync::LazyLock};

use crate::error::{ApiError, ApiResult};

/// GIAS establishment types (OGL v3.0, see `api/data/`), with their type group.
static ESTABLISHMENT_TYPES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    let mut reader =
        csv::Reader::from_reader(include_str!("../data/gias-establishment-types-20250422.csv").as_bytes());
    reader.records().filter_map(Result::ok).map(|r| (r[3].to_ascii_lowercase(), r[1].to_owned())).collect()
});

/// Trims `value` and checks it is 1 to `max` characters with no control characters.
pub fn text(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("use at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Like `text`, for longer text that may hold line breaks and tabs.
pub fn long_text(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("use at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ApiError::invalid(field, "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A GIAS URN: six digits.
pub fn urn(urn: i32) -> ApiResult<i32> {
    if (100_000..=999_999).contains(&urn) {
        Ok(urn)
    } else {
        Err(ApiError::invalid("urn", format!("{urn} is not a six-digit URN")))
    }
}

/// A local authority code: three digits.
pub fn la_code(code: &str) -> ApiResult<String> {
    let code = code.trim();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(ApiError::invalid("laCode", format!("{code:?} is not a three-digit LA code")))
    }
}

/// A UK postcode, normalised to upper case with one space before the inward code.
pub fn postcode(value: &str) -> ApiResult<String> {
    let compact: String =
        value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
    let ok = (5..=7).contains(&compact.len())
        && compact.bytes().all(|b| b.is_ascii_alphanumeric())
        && compact.as_bytes()[0].is_ascii_alphabetic()
        && compact.as_bytes()[compact.len() - 3].is_ascii_digit();
    if !ok {
        return Err(ApiError::invalid("postcode", format!("{value:?} is not a UK postcode")));
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    Ok(format!("{outward} {inward}"))
}

/// A GIAS type of establishment, spelled as GIAS spells it.
pub fn establishment_type(value: &str) -> ApiResult<String> {
    let value = text("establishmentType", value, 120)?;
    if ESTABLISHMENT_TYPES.contains_key(&value.to_ascii_lowercase()) {
        Ok(value)
    } else {
        Err(ApiError::invalid("establishmentType", format!("{value:?} is not a GIAS establishment type")))
    }
}

/// Whether an establishment type is state-funded (what a partnership certifies).
pub fn is_state_funded(establishment_type: &str) -> bool {
    let key = establishment_type.trim().to_ascii_lowercase();
    match ESTABLISHMENT_TYPES.get(&key).map(String::as_str) {
        Some("Local authority maintained schools" | "Academies" | "Free Schools") => true,
        Some("Special schools") => key == "community special school" || key == "foundation special school",
        _ => false,
    }
}

/// A GIAS group UID: digits.
pub fn group_uid(value: &str) -> ApiResult<String> {
    let value = value.trim();
    if !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid("groupUid", format!("{value:?} is not a GIAS group UID")))
    }
}

/// A Companies House number: eight letters or digits.
pub fn companies_house_number(value: &str) -> ApiResult<String> {
    let value = value.trim().to_ascii_uppercase();
    if value.len() == 8 && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(value)
    } else {
        Err(ApiError::invalid("companiesHouseNumber", format!("{value:?} is not a Companies House number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_are_normalised_or_refused() {
        assert_eq!(postcode("po1 2ab").unwrap(), "PO1 2AB");
        assert_eq!(postcode("SW1A1AA").unwrap(), "SW1A 1AA");
        assert!(postcode("12345").is_err());
        assert!(postcode("PO1 2AB; DROP").is_err());
    }

    #[test]
    fn establishment_types_come_from_the_gias_list() {
        assert!(establishment_type("Community school").is_ok());
        assert!(establishment_type("Made-up school").is_err());
        assert!(is_state_funded("Academy converter"));
        assert!(!is_state_funded("Other independent school"));
        assert!(!is_state_funded("Other independent special school"));
    }
}
