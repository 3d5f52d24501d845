//! Answers as the GraphQL spec words them where async-graphql 7.2 departs from it, done by one
//! extension (`Spec`, registered in `build_schema`) so POST, GET and WebSocket answers all get it:
//!
//! - Variables are coerced before anything runs (CoerceVariableValues): a declared variable that
//!   is missing, null where it may not be, or ill-typed is a request error (BAD_USER_INPUT, no
//!   `data`). async-graphql finds some in validation, the rest only while running, one failed
//!   field (or a half-run mutation) at a time. Defaults of variables not given are filled in,
//!   so `@skip` and `@include` read them too (async-graphql's own reading skips defaults).
//! - A failed field is null, and a null where the type says non-null makes the parent null, up
//!   to the nearest nullable place or `data` itself ("Handling Field Errors"). async-graphql 7.2
//!   records a failed field's error and leaves its key out (`do_resolve_container`).
//! - Keys come in selection order (CollectFields). async-graphql 7.2 adds each as its resolver
//!   finishes, so a field that waited on the database lands after one that did not.
//! - An argument that fails to parse while running gets BAD_USER_INPUT: async-graphql points
//!   such an error at the argument's value, where a resolver's error points at its field.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::{
    Name, Pos, Positioned, QueryPathNode, QueryPathSegment, Request, Response, ServerError, ServerResult,
    ValidationResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextPrepareRequest, NextResolve,
        NextSubscribe, NextValidation, ResolveInfo,
    },
    futures_util::{StreamExt, stream::BoxStream},
    indexmap::IndexMap,
    parser::types::{
        BaseType, Directive, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
        SelectionSet, Type,
    },
};

use crate::cost::selected;

#[cfg(test)]
mod tests;
mod types;

use types::{BAD_USER_INPUT, Types, coerce_variables, leave_out_unset};

/// The spec's answers for one schema (module docs). Reads the schema's types from its SDL on
/// the first request.
#[derive(Default)]
pub struct Spec {
    types: Arc<OnceLock<Option<Types>>>,
}

impl ExtensionFactory for Spec {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SpecExtension { types: self.types.clone(), state: Default::default() })
    }
}

/// One request's (or one subscription's) share of `Spec`.
struct SpecExtension {
    types: Arc<OnceLock<Option<Types>>>,
    state: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// Whether any field of an interface or union type has started: only then are the object
    /// types below such fields recorded.
    any_abstract: AtomicBool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The document as sent: async-graphql drops skipped selections from its own copy.
    doc: Option<ExecutableDocument>,
    operation: Option<String>,
    /// Boolean variables, defaults filled in, for `@skip` and `@include`.
    flags: Variables,
    /// Variables that do not coerce: the answer, once validation has run (`validation`).
    refused: Vec<ServerError>,
    /// Paths of the fields of an interface or union type that have started.
    abstract_fields: HashSet<Vec<Seg>>,
    /// The object type each object below such a field turned out to be, by the object's path.
    runtime: HashMap<Vec<Seg>, String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SpecExtension {
    fn types(&self, ctx: &ExtensionContext<'_>) -> Option<&Types> {
        self.types
            .get_or_init(|| {
                let types = Types::from_sdl(&ctx.sdl());
                if types.is_none() {
                    tracing::error!("the schema's own SDL does not parse: answers are left as executed");
                }
                types
            })
            .as_ref()
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for SpecExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // A document that does not parse is left for async-graphql to answer.
        if let Some(types) = self.types(ctx)
            && let Ok(doc) = request.parsed_query()
        {
            let doc = doc.clone();
            let mut state = self.state.lock();
            if let Some(op) = selected(&doc, request.operation_name.as_deref()) {
                state.refused = coerce_variables(types, op, &mut request.variables);
                state.flags = flags(op, &request.variables);
            }
            let mut run = doc.clone();
            leave_out_unset(&mut run, &request.variables);
            request.set_parsed_query(run);
            state.operation = request.operation_name.clone();
            state.doc = Some(doc);
        }
        next.run(ctx, request).await
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let validated = next.run(ctx).await;
        // The spec coerces variables once the document validates. async-graphql's validation
        // reads variables' values too, where they meet an argument or a complexity function:
        // variables that do not coerce are answered as such whichever noticed first, so one
        // mistake gets one code (BAD_USER_INPUT) wherever the variable is used.
        let refused = std::mem::take(&mut self.state.lock().refused);
        if refused.is_empty() { validated } else { Err(refused) }
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if let Some(types) = self.types(ctx) {
            let returns = info.return_type.trim_matches(|c| matches!(c, '[' | ']' | '!'));
            if types.is_abstract(returns) {
                self.state.any_abstract.store(true, Ordering::Relaxed);
                self.state.lock().abstract_fields.insert(path_of(Some(info.path_node)));
            }
            // Which object type an interface or union value is, as async-graphql resolved it.
            if self.state.any_abstract.load(Ordering::Relaxed) {
                let object = path_of(info.path_node.parent);
                let field = object.iter().rposition(|s| matches!(s, Seg::Key(_))).map_or(0, |at| at + 1);
                let mut state = self.state.lock();
                if state.abstract_fields.contains(&object[..field]) && !state.runtime.contains_key(&object) {
                    state.runtime.insert(object, info.parent_type.to_owned());
                }
            }
        }
        next.run(ctx, info).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        if let Some(types) = self.types(ctx) {
            finish(types, &self.state.lock(), &mut response);
        }
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        if self.types(ctx).is_none() {
            return next.run(ctx, stream);
        }
        let (types, state) = (self.types.clone(), self.state.clone());
        next.run(ctx, stream)
            .map(move |mut event| {
                // An error without a path: refused before it ran (it does not validate, or its
                // variables do not coerce), answered as it is.
                if let Some(Some(types)) = types.get()
                    && event.errors.iter().all(|e| !e.path.is_empty())
                {
                    finish(types, &state.lock(), &mut event);
                }
                event
            })
            .boxed()
    }
}

/// One step of a path in an answer: a response key or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg {
    Key(Name),
    Index(usize),
}

fn path_of(mut node: Option<&QueryPathNode<'_>>) -> Vec<Seg> {
    let mut path = Vec::new();
    while let Some(at) = node {
        path.push(match at.segment {
            QueryPathSegment::Index(i) => Seg::Index(i),
            QueryPathSegment::Name(key) => Seg::Key(Name::new(key)),
        });
        node = at.parent;
    }
    path.reverse();
    path
}

/// The operation's Boolean variables: all that `@skip(if:)` and `@include(if:)` may read.
fn flags(op: &OperationDefinition, variables: &Variables) -> Variables {
    let mut flags = Variables::default();
    for definition in &op.variable_definitions {
        let name = &definition.node.name.node;
        let boolean = matches!(&definition.node.var_type.node.base, BaseType::Named(t) if t == "Boolean");
        if let (true, Some(value)) = (boolean, variables.get(name)) {
            flags.insert(name.clone(), value.clone());
        }
    }
    flags
}

/// Completes an executed answer: input errors coded, nulls propagated, keys in selection order.
fn finish(types: &Types, state: &State, response: &mut Response) {
    let Some(doc) = &state.doc else { return };
    let Some(op) = selected(doc, state.operation.as_deref()) else { return };
    code_input_errors(doc, &mut response.errors);
    let root = match op.ty {
        OperationType::Query => Some(&types.query),
        OperationType::Mutation => types.mutation.as_ref(),
        OperationType::Subscription => types.subscription.as_ref(),
    };
    let Some(root) = root else { return };
    let mut failed_under = HashSet::new();
    for error in &response.errors {
        let path: Vec<Seg> = error
            .path
            .iter()
            .map(|s| match s {
                async_graphql::PathSegment::Field(key) => Seg::Key(Name::new(key)),
                async_graphql::PathSegment::Index(i) => Seg::Index(*i),
            })
            .collect();
        for len in 0..path.len() {
            failed_under.insert(path[..len].to_vec());
        }
    }
    let mut walk = Walk {
        types,
        doc,
        flags: &state.flags,
        runtime: &state.runtime,
        failed_under,
        path: Vec::new(),
        collected: HashMap::new(),
    };
    // The root object always exists once the operation ran: async-graphql answers null for one
    // whose every field failed.
    let data = match std::mem::take(&mut response.data) {
        Value::Null => Value::Object(IndexMap::new()),
        data => data,
    };
    response.data = walk.object(root, true, Some(data), &[&op.selection_set.node]);
}

/// Gives BAD_USER_INPUT to the errors of a run that point at an argument's value and carry no
/// code: an argument that did not parse (async-graphql's `InputValueError`).
fn code_input_errors(doc: &ExecutableDocument, errors: &mut [ServerError]) {
    let uncoded = |e: &ServerError| e.extensions.as_ref().is_none_or(|x| x.get("code").is_none());
    if !errors.iter().any(|e| !e.path.is_empty() && uncoded(e)) {
        return;
    }
    fn arguments(set: &SelectionSet, out: &mut HashSet<Pos>) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    out.extend(field.node.arguments.iter().map(|(_, value)| value.pos));
                    arguments(&field.node.selection_set.node, out);
                }
                Selection::InlineFragment(inline) => arguments(&inline.node.selection_set.node, out),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut positions = HashSet::new();
    for (_, op) in doc.operations.iter() {
        arguments(&op.node.selection_set.node, &mut positions);
    }
    for fragment in doc.fragments.values() {
        arguments(&fragment.node.selection_set.node, &mut positions);
    }
    for error in errors.iter_mut().filter(|e| !e.path.is_empty()) {
        if uncoded(error) && error.locations.iter().any(|at| positions.contains(at)) {
            error.extensions.get_or_insert_with(Default::default).set("code", BAD_USER_INPUT);
        }
    }
}

/// Walks an executed answer along the operation's selections and the schema's types.
struct Walk<'a> {
    types: &'a Types,
    doc: &'a ExecutableDocument,
    flags: &'a Variables,
    runtime: &'a HashMap<Vec<Seg>, String>,
    /// Every path that has an error somewhere below it.
    failed_under: HashSet<Vec<Seg>>,
    path: Vec<Seg>,
    /// The fields each object type's selections collect to: every item of a list has the same,
    /// so a list is collected once, not once an item.
    collected: Collected<'a>,
}

/// Fields by response key, for an object type and the selection sets (by address) it answers.
type Collected<'a> = HashMap<(String, Vec<usize>), std::rc::Rc<IndexMap<Name, Vec<&'a Field>>>>;

impl<'a> Walk<'a> {
    /// The value of a place of type `ty`, or None when it is null but may not be: the parent
    /// then becomes null in turn.
    fn place(&mut self, ty: &Type, value: Option<Value>, sets: &[&'a SelectionSet]) -> Option<Value> {
        match self.complete(&ty.base, ty.nullable, value, sets) {
            Value::Null if !ty.nullable => None,
            value => Some(value),
        }
    }

    fn complete(
        &mut self,
        base: &BaseType,
        nullable: bool,
        value: Option<Value>,
        sets: &[&'a SelectionSet],
    ) -> Value {
        match (base, value) {
            (BaseType::List(item), Some(Value::List(items))) => {
                let mut done = Vec::with_capacity(items.len());
                for (i, value) in items.into_iter().enumerate() {
                    self.path.push(Seg::Index(i));
                    let value = self.place(item, Some(value), sets);
                    self.path.pop();
                    // A null item where the list holds non-null ones: the list is null.
                    let Some(value) = value else { return Value::Null };
                    done.push(value);
                }
                Value::List(done)
            }
            (BaseType::Named(name), value) if self.types.is_composite(name) => {
                self.object(name, nullable, value, sets)
            }
            // A leaf, or a failed field (no key at all): as it is, or null.
            (_, value) => value.unwrap_or_default(),
        }
    }

    /// An object in a place of the declared type `declared` (an object type, an interface or a
    /// union).
    fn object(
        &mut self,
        declared: &str,
        nullable: bool,
        value: Option<Value>,
        sets: &[&'a SelectionSet],
    ) -> Value {
        let mut given = match value {
            Some(Value::Object(given)) => given,
            // async-graphql answers null for an object it answered no field of: every one failed,
            // or none applies to its type (`{}`; null only where a resolver may return none).
            Some(Value::Null) | None if self.failed_under.contains(&self.path) => IndexMap::new(),
            Some(Value::Null) if !nullable => IndexMap::new(),
            value => return value.unwrap_or_default(),
        };
        let Some(concrete) = self.concrete(declared, &given, sets) else { return Value::Object(given) };
        let mut done = IndexMap::with_capacity(given.len());
        let collected = self.collected(&concrete, sets);
        for (key, fields) in collected.iter() {
            let key = key.clone();
            // What is left of `given` is appended below in no particular order: swap, not shift.
            let value = given.swap_remove(&key);
            let name = fields[0].name.node.as_str();
            let ty = match (name, self.types.field(&concrete, name)) {
                ("__typename", _) => {
                    done.insert(key, value.unwrap_or_else(|| Value::String(concrete.clone())));
                    continue;
                }
                (_, Some(ty)) => ty,
                (_, None) => {
                    done.extend(value.map(|v| (key, v)));
                    continue;
                }
            };
            let inner: Vec<&'a SelectionSet> = fields.iter().map(|f| &f.selection_set.node).collect();
            self.path.push(Seg::Key(key.clone()));
            let value = self.place(ty, value, &inner);
            self.path.pop();
            let Some(value) = value else { return Value::Null };
            done.insert(key, value);
        }
        // Keys async-graphql answered that the selections do not explain: kept, last.
        done.extend(given);
        Value::Object(done)
    }

    /// The object type of an object in a place of type `declared`: itself, or for an interface
    /// or union the type async-graphql resolved (recorded while it ran, or its `__typename`).
    fn concrete(
        &self,
        declared: &str,
        given: &IndexMap<Name, Value>,
        sets: &[&'a SelectionSet],
    ) -> Option<String> {
        if !self.types.is_abstract(declared) {
            return Some(declared.to_owned());
        }
        if let Some(ty) = self.runtime.get(&self.path) {
            return Some(ty.clone());
        }
        let mut keys = Vec::new();
        for set in sets {
            self.typename_keys(set, &mut HashSet::new(), &mut keys);
        }
        keys.iter().find_map(|key| match given.get(key) {
            Some(Value::String(ty)) if self.types.is_composite(ty) => Some(ty.clone()),
            _ => None,
        })
    }

    /// The response keys of `__typename` in a selection set, fragments included.
    fn typename_keys(&self, set: &'a SelectionSet, seen: &mut HashSet<&'a str>, keys: &mut Vec<Name>) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(f) if f.node.name.node == "__typename" => {
                    keys.push(f.node.response_key().node.clone());
                }
                Selection::Field(_) => {}
                Selection::InlineFragment(inline) => {
                    self.typename_keys(&inline.node.selection_set.node, seen, keys)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(fragment) = self.doc.fragments.get(name).filter(|_| seen.insert(name)) {
                        self.typename_keys(&fragment.node.selection_set.node, seen, keys);
                    }
                }
            }
        }
    }

    /// The spec's CollectFields for an object of type `object`, merged over the selection sets of
    /// every field that shares a response key: response keys in order, with their fields.
    fn collected(
        &mut self,
        object: &str,
        sets: &[&'a SelectionSet],
    ) -> std::rc::Rc<IndexMap<Name, Vec<&'a Field>>> {
        let key = (object.to_owned(), sets.iter().map(|s| std::ptr::from_ref(*s) as usize).collect());
        if let Some(fields) = self.collected.get(&key) {
            return fields.clone();
        }
        let fields = std::rc::Rc::new(self.collect(object, sets));
        self.collected.insert(key, fields.clone());
        fields
    }

    fn collect(&self, object: &str, sets: &[&'a SelectionSet]) -> IndexMap<Name, Vec<&'a Field>> {
        let mut fields = IndexMap::new();
        for set in sets {
            self.collect_into(object, set, &mut HashSet::new(), &mut fields);
        }
        fields
    }

    fn collect_into(
        &self,
        object: &str,
        set: &'a SelectionSet,
        visited: &mut HashSet<&'a str>,
        fields: &mut IndexMap<Name, Vec<&'a Field>>,
    ) {
        for selection in &set.items {
            if !self.included(selection.node.directives()) {
                continue;
            }
            match &selection.node {
                Selection::Field(field) => {
                    fields.entry(field.node.response_key().node.clone()).or_default().push(&field.node);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if !visited.insert(name) {
                        continue;
                    }
                    if let Some(fragment) = self.doc.fragments.get(name)
                        && self.types.applies(object, &fragment.node.type_condition.node.on.node)
                    {
                        self.collect_into(object, &fragment.node.selection_set.node, visited, fields);
                    }
                }
                Selection::InlineFragment(inline) => {
                    let condition = inline.node.type_condition.as_ref();
                    if condition.is_none_or(|c| self.types.applies(object, &c.node.on.node)) {
                        self.collect_into(object, &inline.node.selection_set.node, visited, fields);
                    }
                }
            }
        }
    }

    /// Whether `@skip` and `@include` keep a selection, read as async-graphql reads them.
    fn included(&self, directives: &[Positioned<Directive>]) -> bool {
        directives.iter().all(|directive| {
            let include = match directive.node.name.node.as_str() {
                "skip" => false,
                "include" => true,
                _ => return true,
            };
            let Some(condition) = directive.node.get_argument("if") else { return true };
            let value =
                condition.node.clone().into_const_with(|name| self.flags.get(&name).cloned().ok_or(()));
            include == matches!(value, Ok(Value::Boolean(true)))
        })
    }
}
