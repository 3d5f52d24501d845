//! The import mutation.

use async_graphql::{Context, Object, Result};

use super::{Extract, ImportReport, ImportService, gias};
use crate::{
    access::RoleGuard,
    auth::{Role, Viewer},
    error::Extend,
    scalars::Date,
};

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
}
