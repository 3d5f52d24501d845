//! Where every GraphQL operation runs, POST's, GET's and WebSocket's alike: with loaders of its
//! own, batched by `Batches`, completed as the spec says (`spec`), its errors coded, counted in
//! the metrics, and, for a mutation, the token and facts caches cleared once it has run.
//!
//! This is done around the schema, not as async-graphql extensions: with any extension at all,
//! async-graphql sends every field of every answer through the extension chain.

use std::{sync::Arc, time::Instant};

use async_graphql::{Data, Request, Response, parser::types::OperationType};
use futures::{StreamExt, stream::BoxStream};
use sea_orm::DatabaseConnection;

use super::{graphql::fill_codes, spec::Spec};
use crate::{
    ApiSchema,
    auth::{TokenCache, Viewer},
    batch::Batches,
    cost, loaders, metrics,
    progress::FactsCache,
};

/// Runs operations on the served schema.
#[derive(Clone)]
pub struct Runner {
    schema: ApiSchema,
    spec: Spec,
    db: DatabaseConnection,
    tokens: TokenCache,
    facts: FactsCache,
}

impl Runner {
    pub fn new(schema: ApiSchema, db: DatabaseConnection, tokens: TokenCache, facts: FactsCache) -> Self {
        let spec = Spec::new(&schema.sdl());
        Self { schema, spec, db, tokens, facts }
    }

    /// Runs an HTTP request's operation (a query or mutation) for `viewer`, to its answer.
    pub async fn run(&self, mut request: Request, viewer: Viewer) -> Response {
        let started = Instant::now();
        let mutation = cost::operation_type(&mut request) == Some(OperationType::Mutation);
        let operation = cost::operation_name(&mut request);
        let batches = Batches::default();
        let request = loaders::attach(request, &self.db, &viewer, &batches, &self.facts).data(viewer);
        let mut answer = self.spec.answer(request, |request| batches.run(self.schema.execute(request))).await;
        self.done(operation.as_deref(), mutation, &mut answer, started);
        answer
    }

    /// Runs a WebSocket operation for `viewer`: one answer for a query or mutation, one per event
    /// for a subscription.
    pub fn stream(
        &self,
        mut request: Request,
        viewer: &Viewer,
        session: Arc<Data>,
    ) -> BoxStream<'static, Response> {
        let started = Instant::now();
        let kind = cost::operation_type(&mut request);
        let operation = cost::operation_name(&mut request);
        let mut prepared = self.spec.prepare(&mut request);
        if let Some(mut refused) = prepared.as_mut().and_then(|p| p.refused()) {
            fill_codes(&mut refused.errors);
            return futures::stream::iter([refused]).boxed();
        }
        // Batched as on POST, by a driver of its own: fresh loaders for every operation.
        let batches = Batches::default();
        let request = loaders::attach(request, &self.db, viewer, &batches, &self.facts);
        let answers = batches.stream(self.schema.execute_stream_with_session_data(request, session));
        let runner = self.clone();
        answers
            .map(move |mut answer| {
                if let Some(prepared) = &prepared {
                    prepared.finish(&mut answer);
                }
                match kind {
                    Some(OperationType::Subscription) => fill_codes(&mut answer.errors),
                    _ => {
                        let mutation = kind == Some(OperationType::Mutation);
                        runner.done(operation.as_deref(), mutation, &mut answer, started);
                    }
                }
                answer
            })
            .boxed()
    }

    /// What follows an operation's answer: codes for errors that have none, the metrics, and
    /// after a mutation the caches forgotten, as grants, memberships, trusts and journeys change
    /// only through mutations (clearing after them all keeps this free of a list of which matter).
    fn done(&self, operation: Option<&str>, mutation: bool, answer: &mut Response, started: Instant) {
        fill_codes(&mut answer.errors);
        metrics::operation_done(operation, answer, started);
        if mutation {
            self.tokens.clear();
            self.facts.clear();
        }
    }
}
