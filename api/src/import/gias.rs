//! Reading a GIAS CSV: its own column names, cp1252 or UTF-8, every bad row reported.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::{
    error::{ApiError, ApiResult, RowError},
    school::Phase,
    validate,
};

const URN: &str = "URN";
const NAME: &str = "EstablishmentName";
const LA_CODE: &str = "LA (code)";
const LA_NAME: &str = "LA (name)";
const TYPE: &str = "TypeOfEstablishment (name)";
const PHASE: &str = "PhaseOfEducation (name)";
const STATUS: &str = "EstablishmentStatus (name)";
const TRUST_CODE: &str = "Trusts (code)";
const TRUST_NAME: &str = "Trusts (name)";
const POSTCODE: &str = "Postcode";
const OPENED: &str = "OpenDate";
const CLOSED: &str = "CloseDate";

const REQUIRED: [&str; 7] = [URN, NAME, LA_CODE, LA_NAME, TYPE, PHASE, STATUS];
/// Reported rows at most; the error message still counts them all.
const MAX_REPORTED: usize = 1000;

/// One establishment as the registry will hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GiasSchool {
    pub line: u64,
    pub urn: i32,
    pub name: String,
    pub la_code: String,
    pub la_name: String,
    pub establishment_type: String,
    pub phase: Phase,
    pub open: bool,
    /// (group UID, trust name)
    pub trust: Option<(String, String)>,
    pub postcode: Option<String>,
    /// GIAS's `OpenDate` and `CloseDate`, when the extract has them.
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

/// A GIAS date: `DD-MM-YYYY` or `DD/MM/YYYY` as GIAS writes them, or ISO `YYYY-MM-DD`; empty
/// is none.
pub fn date(text: &str) -> Result<Option<NaiveDate>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    ["%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
        .filter(|d| (1800..=2200).contains(&chrono::Datelike::year(d)))
        .map(Some)
        .ok_or_else(|| format!("{text:?} is not a date (DD-MM-YYYY)"))
}

/// What a file holds: the rows to apply and how many were passed over on purpose.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<GiasSchool>,
    /// Rows outside the LA filter or not state-funded.
    pub skipped: u64,
}

/// GIAS publishes Windows-1252; a UTF-8 file (with or without BOM) is read as it is.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

pub(super) fn row_error(line: u64, column: Option<&str>, message: impl Into<String>) -> RowError {
    RowError { line, column: column.map(str::to_owned), message: message.into() }
}

/// A reader over a CSV's rows, and where each column of its header row is (by name).
pub(super) type Columns<'t> = (csv::Reader<&'t [u8]>, HashMap<String, usize>);

/// The rows of `text` and its columns; every column of `required` the header lacks is a bad row.
pub(super) fn columns<'t>(text: &'t str, required: &[&str]) -> ApiResult<Columns<'t>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| {
        ApiError::BadRows(vec![row_error(1, None, format!("cannot read the header row: {e}"))])
    })?;
    let index: HashMap<String, usize> =
        headers.iter().enumerate().map(|(i, h)| (h.trim().to_owned(), i)).collect();
    let missing: Vec<RowError> = required
        .iter()
        .filter(|c| !index.contains_key(**c))
        .map(|c| row_error(1, Some(c), "this column is missing"))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::BadRows(missing));
    }
    Ok((reader, index))
}

/// Parses and checks every row; any bad row fails the whole file with all of them listed.
pub fn parse(text: &str, la_codes: &[String]) -> ApiResult<Parsed> {
    let (mut reader, index) = columns(text, &REQUIRED)?;

    let mut parsed = Parsed::default();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(row_error(line, None, format!("not a CSV row: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |col: &str| index.get(col).and_then(|&i| record.get(i)).map(str::trim).unwrap_or("");
        let before = errors.len();
        let check = |errors: &mut Vec<RowError>, col: &'static str, result: ApiResult<String>| match result {
            Ok(v) => Some(v),
            Err(e) => {
                let message = match e {
                    ApiError::Invalid { reason, .. } => reason,
                    other => other.to_string(),
                };
                errors.push(row_error(line, Some(col), message));
                None
            }
        };

        let urn = check(
            &mut errors,
            URN,
            get(URN)
                .parse::<i32>()
                .map_err(|_| ApiError::invalid("urn", format!("{:?} is not a number", get(URN))))
                .and_then(validate::urn)
                .map(|u| u.to_string()),
        );
        let la_code = check(&mut errors, LA_CODE, validate::la_code(get(LA_CODE)));
        if la_code.as_ref().is_some_and(|c| !la_codes.is_empty() && !la_codes.contains(c)) {
            parsed.skipped += 1;
            errors.truncate(before);
            continue;
        }
        let establishment_type = check(&mut errors, TYPE, validate::establishment_type(get(TYPE)));
        if establishment_type.as_deref().is_some_and(|t| !validate::is_state_funded(t)) {
            parsed.skipped += 1;
            errors.truncate(before);
            continue;
        }
        let name = check(&mut errors, NAME, validate::text("name", get(NAME), 200));
        let la_name = check(&mut errors, LA_NAME, validate::text("laName", get(LA_NAME), 200));
        let phase = Phase::from_gias(get(PHASE), establishment_type.as_deref().unwrap_or(""));
        if phase.is_none() {
            errors.push(row_error(
                line,
                Some(PHASE),
                format!("{:?} is not a GIAS phase of education", get(PHASE)),
            ));
        }
        let open = match get(STATUS).to_ascii_lowercase().as_str() {
            "open" | "open, but proposed to close" => Some(true),
            "closed" | "proposed to open" => Some(false),
            other => {
                errors.push(row_error(
                    line,
                    Some(STATUS),
                    format!("{other:?} is not a GIAS establishment status"),
                ));
                None
            }
        };
        let trust = match (get(TRUST_CODE), get(TRUST_NAME)) {
            ("", "") => None,
            (code, name) => {
                let code = check(&mut errors, TRUST_CODE, validate::group_uid(code));
                let name = check(&mut errors, TRUST_NAME, validate::text("trustName", name, 200));
                code.zip(name)
            }
        };
        let postcode = match get(POSTCODE) {
            "" => None,
            p => check(&mut errors, POSTCODE, validate::postcode(p)),
        };
        let mut dated = |col: &'static str| match date(get(col)) {
            Ok(d) => d,
            Err(message) => {
                errors.push(row_error(line, Some(col), message));
                None
            }
        };
        let (opened_on, closed_on) = (dated(OPENED), dated(CLOSED));
        if let Some(urn) = &urn
            && !seen.insert(urn.clone())
        {
            errors.push(row_error(line, Some(URN), format!("URN {urn} appears more than once")));
        }
        if errors.len() > before {
            continue;
        }
        // Every check above passed, so every value is present.
        if let (
            Some(urn),
            Some(name),
            Some(la_code),
            Some(la_name),
            Some(establishment_type),
            Some(phase),
            Some(open),
        ) = (urn, name, la_code, la_name, establishment_type, phase, open)
        {
            parsed.rows.push(GiasSchool {
                line,
                urn: urn.parse().unwrap_or_default(),
                name,
                la_code,
                la_name,
                establishment_type,
                phase,
                open,
                trust,
                postcode,
                opened_on,
                closed_on,
            });
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        let total = errors.len();
        errors.truncate(MAX_REPORTED);
        if total > MAX_REPORTED {
            errors.push(row_error(0, None, format!("{} more bad rows not listed", total - MAX_REPORTED)));
        }
        Err(ApiError::BadRows(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "URN,EstablishmentName,LA (code),LA (name),TypeOfEstablishment (name),PhaseOfEducation (name),EstablishmentStatus (name),Trusts (code),Trusts (name),Postcode\n";

    #[test]
    fn reads_cp1252_and_utf8_alike() {
        let utf8 = format!(
            "{HEADER}123456,Ysgol Gymraeg Caerdydd – Ffôn,851,Portsmouth,Community school,Primary,Open,,,PO1 2AB\n"
        );
        let cp1252 = encoding_rs::WINDOWS_1252.encode(&utf8).0.into_owned();
        assert_ne!(cp1252.as_slice(), utf8.as_bytes());
        assert_eq!(decode(&cp1252), utf8);
        let rows = parse(&decode(&cp1252), &[]).unwrap().rows;
        assert_eq!(rows[0].name, "Ysgol Gymraeg Caerdydd – Ffôn");
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let text = format!(
            "{HEADER}123456,Good,851,Portsmouth,Community school,Primary,Open,,,\n12x,Bad urn,851,Portsmouth,Community school,Primary,Open,,,\n123457,Bad phase,851,Portsmouth,Community school,Kindergarten,Open,,,\n123456,Again,851,Portsmouth,Community school,Primary,Open,,,\n"
        );
        let ApiError::BadRows(rows) = parse(&text, &[]).unwrap_err() else { panic!("expected bad rows") };
        let lines: Vec<_> = rows.iter().map(|r| (r.line, r.column.clone().unwrap_or_default())).collect();
        assert_eq!(lines, vec![(3, URN.to_owned()), (4, PHASE.to_owned()), (5, URN.to_owned())]);
    }

    #[test]
    fn independent_schools_and_other_las_are_skipped() {
        let text = format!(
            "{HEADER}123456,Indie,851,Portsmouth,Other independent school,Not applicable,Open,,,\n123457,Elsewhere,852,Southampton,Community school,Primary,Open,,,\n123458,Kept,851,Portsmouth,Academy converter,Secondary,\"Open, but proposed to close\",5001,Harbour Trust,\n"
        );
        let parsed = parse(&text, &["851".to_owned()]).unwrap();
        assert_eq!(parsed.skipped, 2);
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].trust, Some(("5001".into(), "Harbour Trust".into())));
        assert!(parsed.rows[0].open);
    }
}
