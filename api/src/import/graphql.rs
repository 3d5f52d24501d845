//! The import mutation.

use async_graphql::{Context, Object, Result};

use super::{ImportReport, ImportService, gias};
use crate::{
    access::RoleGuard,
    auth::{Role, Viewer},
    error::Extend,
};

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports schools and trusts from a GIAS "all establishment data" CSV (GIAS's own column
    /// names) into your partnership. All rows apply or none: a bad row fails the import with
    /// BAD_USER_INPUT and `extensions.rows` listing every bad row by line. Importing the same
    /// file again changes nothing. `laCodes` keeps only rows of those local authorities;
    /// rows that are not state-funded are skipped. City admins only.
    #[graphql(guard = "RoleGuard(&[Role::CityAdmin])")]
    async fn import_schools(
        &self,
        ctx: &Context<'_>,
        csv: String,
        #[graphql(default)] la_codes: Vec<String>,
    ) -> Result<ImportReport> {
        let actor = ctx.data::<Viewer>()?.actor().extend()?;
        let text = gias::decode(csv.as_bytes());
        ctx.data::<ImportService>()?.import(actor, &text, &la_codes).await.extend()
    }
}
