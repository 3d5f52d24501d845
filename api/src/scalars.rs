//! Scalars of our own, so the SDL says what a value is, not which Rust crate made it.

use std::ops::RangeInclusive;

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// The years a date may fall in. Journeys, goals, cohorts and policies all lie well inside
/// them; a date outside is a typo or a probe, and refusing it here keeps date arithmetic
/// everywhere else far from the ends of the calendar.
pub const YEARS: RangeInclusive<i32> = 1900..=2200;

/// A calendar date in ISO 8601 form, e.g. `2026-08-31`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

/// Reads a date written exactly `YYYY-MM-DD` with a year in `YEARS`, or says in words what is
/// wrong with it. Shared by the `Date` scalar and the report endpoints' query strings.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let not_a_date = || format!("{text:?} is not a date: use YYYY-MM-DD");
    // The year is whatever stands before `-MM-DD`, sign and all, so "-262143-01-01" and
    // "99999-01-01" are refused for their year rather than their shape.
    let (year, _) = text
        .len()
        .checked_sub(6)
        .filter(|at| text.is_char_boundary(*at))
        .map(|at| text.split_at(at))
        .filter(|(_, md)| {
            md.bytes().enumerate().all(|(i, b)| if i % 3 == 0 { b == b'-' } else { b.is_ascii_digit() })
        })
        .ok_or_else(not_a_date)?;
    let year: i64 = year.parse().map_err(|_| not_a_date())?;
    if !(i64::from(*YEARS.start())..=i64::from(*YEARS.end())).contains(&year) {
        return Err(format!(
            "{text:?} is out of range: use a year from {} to {}",
            YEARS.start(),
            YEARS.end()
        ));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| not_a_date())?;
    // One spelling per day: "+2026-08-31" and "02026-08-31" parse but are not ISO 8601.
    if date.format("%Y-%m-%d").to_string() != text {
        return Err(not_a_date());
    }
    Ok(date)
}

/// A calendar date in ISO 8601 form, e.g. `2026-08-31`, with a year from 1900 to 2200. Any
/// other text, or a year outside that range, is refused with the code `BAD_USER_INPUT`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        // Errors of a scalar carry no code unless given one: without it the handler would
        // take a refused argument for a failed resolver (INTERNAL).
        match &value {
            Value::String(s) => parse_date(s).map(Date).map_err(InputValueError::custom),
            _ => Err(InputValueError::expected_type(value)),
        }
        .map_err(|e| e.with_extension("code", "BAD_USER_INPUT"))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(d: NaiveDate) -> Self {
        Self(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_and_within_the_service_years() {
        assert_eq!(parse_date("2026-08-31"), Ok(NaiveDate::from_ymd_opt(2026, 8, 31).unwrap()));
        assert!(parse_date("1900-01-01").is_ok());
        assert!(parse_date("2200-12-31").is_ok());
        for out in ["-262143-01-01", "99999-01-01", "1899-12-31", "2201-01-01"] {
            assert!(parse_date(out).unwrap_err().contains("out of range"), "{out}");
        }
        for bad in [
            "2026-13-45",
            "2026-02-30",
            "2026-8-31",
            "+2026-08-31",
            "02026-08-31",
            " 2026-08-31",
            "2026-08-31 ",
            "2026/08/31",
            "",
            "yesterday",
            "été-01-01",
        ] {
            assert!(parse_date(bad).unwrap_err().contains("not a date"), "{bad:?}");
        }
    }
}
