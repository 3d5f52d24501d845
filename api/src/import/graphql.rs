//! The import mutation, and the GIAS links it recorded with the city admin's decisions.

use async_graphql::{Context, Object, Result};

use super::{
    Extract, ImportReport, ImportService, gias,
    report::{LinkReport, LinkStatus},
};
use crate::{
    access::RoleGuard,
    auth::{Role, Viewer},
    error::Extend,
    scalars::Date,
};

#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// The GIAS links your partnership's imports recorded, by predecessor URN; only those of
    /// `status` when given (REPORTED: the amalgamations and splits waiting for your decision).
    /// City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn school_links(&self, ctx: &Context<'_>, status: Option<LinkStatus>) -> Result<Vec<LinkReport>> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let links = ctx.data::<ImportService>()?.links(actor, status).await.extend()?;
        Ok(links.iter().map(LinkReport::from).collect())
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports schools and trusts from a GIAS "all establishment data" CSV (GIAS's own column
    /// names) into your partnership. All rows apply or none: a bad row fails the import with
    /// BAD_USER_INPUT and `extensions.rows` listing every bad row by line. Importing the same
    /// file again changes nothing. `laCodes` keeps only rows of those local authorities;
    /// rows that are not state-funded are skipped. `links`: GIAS's establishment links CSV;
    /// a one-to-one succession whose predecessor is a member and whose successor is open hands
    /// the successor its membership, cohort, pairings, open journey, valid certificate and AI
    /// policy on the link's date; amalgamations and splits are reported, never applied.
    /// `asOf` (default today): the day the extracts describe, when trust moves take effect.
    /// With `dryRun` the import runs in full and is rolled back: `changes` lists what applying
    /// the same extracts would change, school by school, and nothing is written. City admins
    /// only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn import_schools(
        &self,
        ctx: &Context<'_>,
        csv: String,
        #[graphql(default)] la_codes: Vec<String>,
        links: Option<String>,
        as_of: Option<Date>,
        #[graphql(default)] dry_run: bool,
    ) -> Result<ImportReport> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let (schools, links) = (gias::decode(csv.as_bytes()), links.map(|l| gias::decode(l.as_bytes())));
        let extract =
            Extract { schools: &schools, links: links.as_deref(), as_of: as_of.map(|d| d.0), dry_run };
        ctx.data::<ImportService>()?.import(actor, extract, &la_codes).await.extend()
    }

    /// Decides a REPORTED link of your partnership (an amalgamation or a split; GIAS says which
    /// schools, not whose work goes on). With `carryOn` the successor carries on the
    /// predecessor's work from the link's date, as a conversion does (membership, cohort,
    /// pairings, open journey, valid certificate, AI policy): APPLIED. Without, the predecessor
    /// leaves on that date and the successor joins as a school of its own: DISMISSED. NOT_FOUND
    /// for no such link, CONFLICT when it is not REPORTED or the successor is not open yet. One
    /// transaction, in the audit log; no import changes a decision. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn decide_school_link(
        &self,
        ctx: &Context<'_>,
        predecessor_urn: i32,
        successor_urn: i32,
        carry_on: bool,
    ) -> Result<LinkReport> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let service = ctx.data::<ImportService>()?;
        let link = service.decide(actor, predecessor_urn, successor_urn, carry_on).await.extend()?;
        Ok(LinkReport { changed: true, ..LinkReport::from(&link) })
    }
}
