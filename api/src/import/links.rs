//! Reading GIAS's establishment links extract (`links_edubasealldata*.csv`): its own column
//! names `URN`, `LinkURN`, `LinkName`, `LinkType` and `LinkEstablishedDate`. GIAS writes each
//! link from both ends (a predecessor's row names its successor, and the other way round);
//! here each becomes one predecessor-to-successor pair.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::gias::{self, row_error};
use crate::{
    error::{ApiError, ApiResult},
    validate,
};

const URN: &str = "URN";
const LINK_URN: &str = "LinkURN";
const LINK_TYPE: &str = "LinkType";
const LINK_DATE: &str = "LinkEstablishedDate";
const REQUIRED: [&str; 4] = [URN, LINK_URN, LINK_TYPE, LINK_DATE];

/// What GIAS says happened between two schools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LinkKind {
    /// One school carries on another's work under a new URN (an academy conversion, a
    /// re-brokered academy): when it is one to one, applied.
    Succession,
    /// Several schools became one: reported, never applied.
    Amalgamation,
    /// One school became several: reported, never applied.
    Split,
}

impl LinkKind {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Succession => "SUCCESSION",
            Self::Amalgamation => "AMALGAMATION",
            Self::Split => "SPLIT",
        }
    }

    /// GIAS's `LinkType`, and whether the row's school (`URN`) is the predecessor; None for
    /// link types that are no succession (sixth form centres, "Other", ...).
    fn from_gias(text: &str) -> Option<(Self, bool)> {
        let text = text.trim().to_ascii_lowercase();
        let (end, detail) = text.split_once(" - ").map_or((text.as_str(), ""), |(a, b)| (a, b));
        let kind = match detail {
            "" => Self::Succession,
            "amalgamated" => Self::Amalgamation,
            "split school" => Self::Split,
            _ => return None,
        };
        match end {
            // "Successor": the row's school has a successor, so it is the predecessor.
            "successor" => Some((kind, true)),
            "predecessor" => Some((kind, false)),
            _ => None,
        }
    }
}

/// One predecessor-to-successor link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GiasLink {
    pub predecessor: i32,
    pub successor: i32,
    pub kind: LinkKind,
    pub established_on: Option<NaiveDate>,
}

/// Parses and checks every row; any bad row fails the whole file with all of them listed.
/// Rows of other link types are passed over. A pair named from both ends is one link, of the
/// more particular kind (an amalgamation or split over a plain succession).
pub fn parse(text: &str) -> ApiResult<Vec<GiasLink>> {
    let (mut reader, index) = gias::columns(text, &REQUIRED)?;
    let mut links: HashMap<(i32, i32), GiasLink> = HashMap::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(row_error(
                    e.position().map_or(0, |p| p.line()),
                    None,
                    format!("not a CSV row: {e}"),
                ));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |col: &str| index.get(col).and_then(|&i| record.get(i)).map(str::trim).unwrap_or("");
        let Some((kind, row_is_predecessor)) = LinkKind::from_gias(get(LINK_TYPE)) else { continue };
        let before = errors.len();
        let mut urn = |col: &'static str| match get(col).parse::<i32>().ok().map(validate::urn) {
            Some(Ok(urn)) => Some(urn),
            _ => {
                errors.push(row_error(line, Some(col), format!("{:?} is not a URN", get(col))));
                None
            }
        };
        let (this, other) = (urn(URN), urn(LINK_URN));
        let established_on = gias::date(get(LINK_DATE)).unwrap_or_else(|message| {
            errors.push(row_error(line, Some(LINK_DATE), message));
            None
        });
        let (Some(this), Some(other)) = (this, other) else { continue };
        if errors.len() > before {
            continue;
        }
        if this == other {
            errors.push(row_error(line, Some(LINK_URN), "a school cannot succeed itself"));
            continue;
        }
        let (predecessor, successor) = if row_is_predecessor { (this, other) } else { (other, this) };
        let link = GiasLink { predecessor, successor, kind, established_on };
        links
            .entry((predecessor, successor))
            .and_modify(|known| {
                known.kind = known.kind.max(kind);
                known.established_on = known.established_on.or(established_on);
            })
            .or_insert(link);
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRows(errors));
    }
    let mut links: Vec<GiasLink> = links.into_values().collect();
    links.sort_by_key(|l| (l.predecessor, l.successor));
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "URN,LinkURN,LinkName,LinkType,LinkEstablishedDate\n";

    #[test]
    fn both_ends_of_a_link_make_one_pair_and_other_link_types_are_passed_over() {
        let text = format!(
            "{HEADER}100001,140001,New Academy,Successor,01-09-2026\n140001,100001,Old School,Predecessor,01-09-2026\n\
             100002,140009,Sixth Form,Sixth Form Centre Link,\n100003,140003,Merged,Successor - amalgamated,01/04/2027\n\
             100004,140003,Merged,Successor - amalgamated,2027-04-01\n140003,100004,Old B,Predecessor - amalgamated,\n"
        );
        let links = parse(&text).unwrap();
        let pairs: Vec<_> = links.iter().map(|l| (l.predecessor, l.successor, l.kind)).collect();
        assert_eq!(
            pairs,
            [
                (100001, 140001, LinkKind::Succession),
                (100003, 140003, LinkKind::Amalgamation),
                (100004, 140003, LinkKind::Amalgamation)
            ]
        );
        let day = NaiveDate::from_ymd_opt;
        assert_eq!(links[0].established_on, day(2026, 9, 1));
        assert_eq!(links[1].established_on, day(2027, 4, 1));
    }

    #[test]
    fn bad_rows_are_all_reported() {
        let text =
            format!("{HEADER}10000x,140001,A,Successor,01-09-2026\n100001,140001,A,Predecessor,31-31-2026\n");
        let ApiError::BadRows(rows) = parse(&text).unwrap_err() else { panic!("bad rows expected") };
        let at: Vec<_> = rows.iter().map(|r| (r.line, r.column.clone().unwrap_or_default())).collect();
        assert_eq!(at, [(2, URN.to_owned()), (3, LINK_DATE.to_owned())]);
        let ApiError::BadRows(rows) = parse("URN,LinkURN\n").unwrap_err() else { panic!("bad header") };
        assert_eq!(rows.len(), 2);
    }
}
