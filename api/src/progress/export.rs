//! The CSV behind `GET /reports/schools.csv` (served by `http::reports`): the school-level
//! table behind the progress numbers, one row per member school counted on the day, for
//! spreadsheets and BI tools. It is written page by page as it is read, so memory stays flat
//! however many schools there are. A partnership whose facts queries share (`cache`) is written
//! from them; one that fits a page is kept for them in turn, and so are the figures.

use std::{collections::HashMap, sync::Arc};

use axum::body::Bytes;
use chrono::NaiveDate;
use entity::partnership;
use futures::{Stream, stream};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{
    cache::FactsCache,
    service::{self, Facts, SchoolFacts, Slice},
};
use crate::{
    certification::journey::today,
    comparison::{self, Figures},
    error::{ApiError, ApiResult},
    ids,
    partnership::goals,
    policy::service::PolicyStatus,
    scalars,
};

/// Schools read and written per step.
pub const PAGE: u64 = 500;

pub const HEADER: [&str; 19] = [
    "urn",
    "school",
    "phase",
    "trust",
    "cohort",
    "cohort_target",
    "stage",
    "stage_since",
    "days_in_stage",
    "certified",
    "level",
    "awarded_on",
    "expires_on",
    "expired",
    "ai_policy",
    "at_risk",
    "risk_reasons",
    "open_actions",
    "overdue_actions",
];

/// The schools a file holds: those in the cohort and the trust given, on the day asked about.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter {
    pub cohort: Option<Uuid>,
    pub trust: Option<Uuid>,
}

impl Filter {
    fn keeps(&self, school: &SchoolFacts, day: NaiveDate) -> bool {
        self.cohort.is_none_or(|c| school.cohort_on(day) == Some(c))
            && self.trust.is_none_or(|t| school.trust_on(day) == Some(t))
    }
}

/// What the query string asks for, checked.
#[derive(Debug)]
pub struct Request {
    pub partnership: String,
    pub as_of: NaiveDate,
    pub filter: Filter,
}

impl Request {
    pub fn parse(params: &HashMap<String, String>) -> ApiResult<Self> {
        if let Some(unknown) =
            params.keys().find(|k| !["partnership", "asOf", "cohort", "trust"].contains(&k.as_str()))
        {
            return Err(ApiError::invalid(
                "query string",
                format!("unknown parameter {unknown:?}: use partnership, asOf, cohort, trust"),
            ));
        }
        let partnership = params
            .get("partnership")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("partnership", "required: the partnership's slug"))?
            .clone();
        let as_of = match params.get("asOf") {
            Some(s) => scalars::parse_date(s).map_err(|reason| ApiError::invalid("asOf", reason))?,
            None => today(),
        };
        let filter = Filter {
            cohort: params.get("cohort").map(|id| ids::parse(id, "Cohort")).transpose()?,
            trust: params.get("trust").map(|id| ids::parse(id, "Trust")).transpose()?,
        };
        Ok(Self { partnership, as_of, filter })
    }
}

fn stopped(e: ApiError) -> std::io::Error {
    tracing::error!(error = %e, "CSV export stopped");
    std::io::Error::other("the export failed")
}

/// The CSV, header first, then one page of schools at a time. With `shares` (for callers who
/// read every school in full), one more column per area: the school's share of its target
/// level's criteria there rated SECURE or better (`secure_pct_<area key>`), from the
/// comparison figures, read once before the header.
pub fn rows(
    db: DatabaseConnection,
    cache: FactsCache,
    partnership: partnership::Model,
    req: Request,
    shares: bool,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send {
    // (header sent, the page after this URN, the figures)
    let start = (false, Some(None::<i32>), None::<Arc<Figures>>);
    stream::try_unfold(start, move |(sent, after, figures)| {
        let (db, cache, p) = (db.clone(), cache.clone(), partnership.clone());
        let (filter, as_of) = (req.filter, req.as_of);
        async move {
            if !sent {
                let figures = match shares {
                    true => Some(shared_figures(&db, &cache, &p, as_of).await.map_err(stopped)?),
                    false => None,
                };
                let mut header: Vec<String> = HEADER.iter().map(|h| (*h).to_owned()).collect();
                for (key, _) in figures.iter().flat_map(|f| &f.areas) {
                    header.push(format!("secure_pct_{}", key.to_ascii_lowercase()));
                }
                let mut out = writer();
                let _ = out.write_record(&header);
                return Ok(Some((Bytes::from(out.into_inner().unwrap_or_default()), (true, after, figures))));
            }
            let Some(after) = after else { return Ok(None) };
            let (facts, next) = read_page(&db, &cache, &p, after).await.map_err(stopped)?;
            let bytes = Bytes::from(page(&facts, as_of, filter, figures.as_deref()));
            Ok(Some((bytes, (true, next.map(Some), figures))))
        }
    })
}

/// The facts of the schools after URN `after`, and the last URN when more may follow. The first
/// page comes from the facts queries share when they are kept, and, when it holds the whole
/// partnership, is kept for them in turn (with the goals, read for it).
async fn read_page(
    db: &DatabaseConnection,
    cache: &FactsCache,
    p: &partnership::Model,
    after: Option<i32>,
) -> ApiResult<(Arc<Facts>, Option<i32>)> {
    let first = after.is_none();
    if first && let Some(facts) = cache.get(p.id) {
        return Ok((facts, None));
    }
    let generation = cache.generation();
    let history = match first {
        true => Some(goals::of(db, p.id).await?),
        false => None,
    };
    let facts = Arc::new(service::load(db, p, history, Slice::Page { after, limit: PAGE }).await?);
    let full = facts.schools.len() as u64 == PAGE;
    if first && !full {
        cache.put(generation, facts.clone());
    }
    let next = facts.schools.last().map(|s| s.school.urn).filter(|_| full);
    Ok((facts, next))
}

/// The partnership's comparison figures on `day`, kept as its facts are.
async fn shared_figures(
    db: &DatabaseConnection,
    cache: &FactsCache,
    p: &partnership::Model,
    day: NaiveDate,
) -> ApiResult<Arc<Figures>> {
    if let Some(figures) = cache.figures(p.id, day) {
        return Ok(figures);
    }
    let generation = cache.generation();
    let figures = Arc::new(comparison::read::load(db, p, day).await?);
    cache.put_figures(generation, p.id, day, figures.clone());
    Ok(figures)
}

fn page(facts: &Facts, as_of: NaiveDate, filter: Filter, figures: Option<&Figures>) -> Vec<u8> {
    let mut out = writer();
    for s in facts.schools_on(as_of).filter(|s| filter.keeps(s, as_of)) {
        let st = facts.status(s, as_of);
        let cohort = s.cohort_on(as_of).and_then(|c| facts.cohort(c));
        let cert = st.certificate.as_ref();
        // Text that came from people (names, levels, reasons) goes through `cell`; numbers,
        // dates, booleans and our own codes cannot start a formula.
        let fields = [
            s.school.urn.to_string(),
            cell(&s.school.name),
            cell(&s.school.phase),
            cell(s.trust_name_on(as_of).unwrap_or_default()),
            cell(cohort.map(|c| c.name.as_str()).unwrap_or_default()),
            cohort.map(|c| c.target_on.to_string()).unwrap_or_default(),
            st.stage.as_str().to_owned(),
            st.since.map(|d| d.to_string()).unwrap_or_default(),
            st.days_in_stage.map(|d| d.to_string()).unwrap_or_default(),
            st.certified.to_string(),
            cell(cert.map(|c| c.level.as_str()).unwrap_or_default()),
            cert.map(|c| c.awarded_on.to_string()).unwrap_or_default(),
            cert.map(|c| c.expires_on.to_string()).unwrap_or_default(),
            st.expired.to_string(),
            policy_name(st.policy).to_owned(),
            (!st.risks.is_empty()).to_string(),
            cell(&st.reason()),
            // The plan as counts only: what it says stays with the school.
            s.open_actions_on(as_of).to_string(),
            s.overdue_actions_on(as_of).to_string(),
        ];
        let mut fields = fields.to_vec();
        if let Some(f) = figures {
            let mine = f.schools.get(&s.school.id).and_then(|m| m.areas.as_ref());
            for (key, _) in &f.areas {
                let share = mine.map(|a| a.get(key).copied().unwrap_or_default().secure_percent());
                fields.push(share.map(|p| p.to_string()).unwrap_or_default());
            }
        }
        // Writing to memory cannot fail.
        let _ = out.write_record(&fields);
    }
    out.into_inner().unwrap_or_default()
}

/// A text cell made safe to open in a spreadsheet (OWASP, "CSV Injection"): one that starts
/// with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a formula, so it gets a
/// leading `'`, which spreadsheets show as text and do not display.
pub fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

fn policy_name(status: PolicyStatus) -> &'static str {
    match status {
        PolicyStatus::Missing => "MISSING",
        PolicyStatus::Current => "CURRENT",
        PolicyStatus::ReviewDue => "REVIEW_DUE",
        PolicyStatus::Overdue => "OVERDUE",
    }
}

/// A CSV writer to memory: RFC 4180 (CRLF line ends, fields quoted when they hold a comma, quote
/// or line break).
pub fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::with_capacity(64 * 1024))
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_that_could_start_a_formula_are_neutralised() {
        for risky in ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(cell(risky), format!("'{risky}"));
        }
        for plain in ["Harbour Primary", "", "1-2 Trust", "'quoted", " =spaced"] {
            assert_eq!(cell(plain), plain);
        }
    }
}
