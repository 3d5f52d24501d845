//! Answers as the GraphQL spec words them where async-graphql 7.2 departs from it. Every
//! operation, POST's, GET's and WebSocket's, runs between `Spec::prepare` and `Prepared::finish`
//! (`http::run`). Not an async-graphql extension: any extension at all sends every field of every
//! answer through the extension chain, which cost a page of 100 schools a third of its time.
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

use std::{collections::HashSet, rc::Rc, sync::Arc};

use async_graphql::{
    Name, Pos, Positioned, Request, Response, ServerError, Value, Variables,
    indexmap::IndexMap,
    parser::types::{
        BaseType, Directive, DocumentOperations, ExecutableDocument, Field, OperationDefinition,
        OperationType, Selection, SelectionSet, Type,
    },
};

use crate::cost::selected;

#[cfg(test)]
mod tests;
mod types;

use types::{BAD_USER_INPUT, Types, coerce_variables, leave_out_unset};

/// The response key under which every object in an interface or union place also answers its
/// `__typename`, asked for by `prepare`: the answer's walk reads the object's type from it, then
/// takes the key out.
const RUNTIME_TYPE: &str = "__runtimeType";

/// The spec's answers for one schema (module docs): its types, read from its SDL.
#[derive(Clone)]
pub struct Spec(Option<Arc<Types>>);

/// One operation, readied to run by `Spec::prepare`: what its answer is completed with.
pub struct Prepared {
    types: Arc<Types>,
    /// The document as sent: async-graphql drops skipped selections from its own copy.
    doc: ExecutableDocument,
    operation: Option<String>,
    /// Boolean variables, defaults filled in, for `@skip` and `@include`.
    flags: Variables,
    /// Variables that do not coerce: the answer, instead of running.
    refused: Vec<ServerError>,
}

impl Spec {
    /// The spec's answers for the schema of this SDL.
    pub fn new(sdl: &str) -> Self {
        let types = Types::from_sdl(sdl);
        if types.is_none() {
            tracing::error!("the schema's own SDL does not parse: answers are left as executed");
        }
        Self(types.map(Arc::new))
    }

    /// Coerces the variables of `request` and readies its document to run: unset arguments left
    /// out, interface and union places asked for their object type. None when the document does
    /// not parse (async-graphql answers that) or the schema's types are unknown.
    pub fn prepare(&self, request: &mut Request) -> Option<Prepared> {
        let types = self.0.clone()?;
        let doc = request.parsed_query().ok()?.clone();
        let (mut refused, mut flags) = (Vec::new(), Variables::default());
        if let Some(op) = selected(&doc, request.operation_name.as_deref()) {
            refused = coerce_variables(&types, op, &mut request.variables);
            flags = flags_of(op, &request.variables);
        }
        let mut run = doc.clone();
        leave_out_unset(&mut run, &request.variables);
        ask_runtime_types(&types, &mut run);
        request.set_parsed_query(run);
        Some(Prepared { types, doc, operation: request.operation_name.clone(), flags, refused })
    }

    /// Answers `request` as the spec says, `run` (the schema's execute) running it.
    pub async fn answer<F>(&self, mut request: Request, run: impl FnOnce(Request) -> F) -> Response
    where
        F: Future<Output = Response>,
    {
        let Some(mut prepared) = self.prepare(&mut request) else { return run(request).await };
        if let Some(refused) = prepared.refused() {
            return refused;
        }
        let mut response = run(request).await;
        prepared.finish(&mut response);
        response
    }
}

impl Prepared {
    /// The answer when the variables do not coerce: the operation must not run. The spec coerces
    /// them once the document validates; async-graphql's validation reads variables too, where
    /// they meet an argument or a complexity function. Either way one mistake gets one code
    /// (BAD_USER_INPUT), wherever the variable is used.
    pub fn refused(&mut self) -> Option<Response> {
        (!self.refused.is_empty()).then(|| Response::from_errors(std::mem::take(&mut self.refused)))
    }

    /// Completes an executed answer: input errors coded, nulls propagated, keys in selection
    /// order. A subscription's event counts as an answer, unless it was refused before running
    /// (errors without a path), which is answered as it is.
    pub fn finish(&self, response: &mut Response) {
        if response.errors.iter().any(|e| e.path.is_empty()) {
            return;
        }
        finish(self, response);
    }
}

/// Asks every interface or union place of `doc` for its object type, under `RUNTIME_TYPE`.
fn ask_runtime_types(types: &Types, doc: &mut ExecutableDocument) {
    let operations: Vec<&mut Positioned<OperationDefinition>> = match &mut doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values_mut().collect(),
    };
    for op in operations {
        let root = match op.node.ty {
            OperationType::Query => Some(types.query.clone()),
            OperationType::Mutation => types.mutation.clone(),
            OperationType::Subscription => types.subscription.clone(),
        };
        if let Some(root) = root {
            ask_in(types, &root, &mut op.node.selection_set.node);
        }
    }
    for fragment in doc.fragments.values_mut() {
        let on = fragment.node.type_condition.node.on.node.to_string();
        ask_in(types, &on, &mut fragment.node.selection_set.node);
    }
}

fn ask_in(types: &Types, parent: &str, set: &mut SelectionSet) {
    for selection in &mut set.items {
        match &mut selection.node {
            Selection::Field(field) => {
                let Some(ty) = types.field(parent, &field.node.name.node) else { continue };
                let mut base = &ty.base;
                while let BaseType::List(item) = base {
                    base = &item.base;
                }
                let BaseType::Named(named) = base else { continue };
                let (at, inner) = (field.pos, &mut field.node.selection_set.node);
                if types.is_abstract(named) {
                    let ask = Field {
                        alias: Some(Positioned::new(Name::new(RUNTIME_TYPE), at)),
                        name: Positioned::new(Name::new("__typename"), at),
                        arguments: Vec::new(),
                        directives: Vec::new(),
                        selection_set: Positioned::new(SelectionSet::default(), at),
                    };
                    inner.items.push(Positioned::new(Selection::Field(Positioned::new(ask, at)), at));
                }
                ask_in(types, named, inner);
            }
            Selection::InlineFragment(inline) => {
                let on = inline.node.type_condition.as_ref().map(|c| c.node.on.node.to_string());
                ask_in(types, on.as_deref().unwrap_or(parent), &mut inline.node.selection_set.node);
            }
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// One step of a path in an answer: a response key or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Seg {
    Key(Name),
    Index(usize),
}

/// The operation's Boolean variables: all that `@skip(if:)` and `@include(if:)` may read.
fn flags_of(op: &OperationDefinition, variables: &Variables) -> Variables {
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
fn finish(prepared: &Prepared, response: &mut Response) {
    let (types, doc) = (&*prepared.types, &prepared.doc);
    let Some(op) = selected(doc, prepared.operation.as_deref()) else { return };
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
    let mut walk =
        Walk { types, doc, flags: &prepared.flags, failed_under, path: Vec::new(), collected: Vec::new() };
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
    /// Every path that has an error somewhere below it.
    failed_under: HashSet<Vec<Seg>>,
    path: Vec<Seg>,
    /// The fields each object type's selections collect to: every item of a list has the same,
    /// so a list is collected once, not once an item.
    collected: Collected<'a>,
}

/// The slots of an object type under some selection sets (by address), as collected.
type Collected<'a> = Vec<(String, Vec<usize>, Rc<Vec<Slot<'a>>>)>;

/// One response key of an object, with what completing its value needs.
struct Slot<'a> {
    key: Name,
    /// `__typename`, answered with the object's type where async-graphql left it out.
    typename: bool,
    /// The field's type; None for a field the schema does not know, kept as answered.
    ty: Option<&'a Type>,
    /// The selection sets of the fields under this key.
    inner: Vec<&'a SelectionSet>,
}

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
        // The object type: the declared one, or for an interface or union the one `prepare` asked.
        let concrete = match given.swap_remove(RUNTIME_TYPE) {
            _ if !self.types.is_abstract(declared) => declared.to_owned(),
            Some(Value::String(ty)) => ty,
            _ => return Value::Object(given),
        };
        let slots = self.collected(&concrete, sets);
        // Mostly async-graphql answered the keys in selection order: then values are completed
        // in place, and the object is not built again.
        let in_order = given.len() == slots.len() && given.keys().zip(slots.iter()).all(|(k, s)| *k == s.key);
        let mut done = IndexMap::with_capacity(if in_order { 0 } else { given.len() });
        for (i, slot) in slots.iter().enumerate() {
            let value = match in_order {
                true => given.get_index_mut(i).map(|(_, v)| std::mem::take(v)),
                // What is left of `given` is appended below in no particular order: swap, not shift.
                false => given.swap_remove(&slot.key),
            };
            let value = match slot.ty {
                _ if slot.typename => Some(value.unwrap_or_else(|| Value::String(concrete.clone()))),
                None => value,
                Some(ty) => {
                    self.path.push(Seg::Key(slot.key.clone()));
                    let value = self.place(ty, value, &slot.inner);
                    self.path.pop();
                    let Some(value) = value else { return Value::Null };
                    Some(value)
                }
            };
            let Some(value) = value else { continue };
            if in_order {
                given[i] = value;
            } else {
                done.insert(slot.key.clone(), value);
            }
        }
        if in_order {
            return Value::Object(given);
        }
        // Keys async-graphql answered that the selections do not explain: kept, last.
        done.extend(given);
        Value::Object(done)
    }

    /// The spec's CollectFields for an object of type `object`, merged over the selection sets of
    /// every field that shares a response key: response keys in order, with their fields.
    fn collected(&mut self, object: &str, sets: &[&'a SelectionSet]) -> Rc<Vec<Slot<'a>>> {
        let at = |s: &&'a SelectionSet| std::ptr::from_ref(*s) as usize;
        let known = self.collected.iter().find(|(o, addresses, _)| {
            o == object
                && addresses.len() == sets.len()
                && addresses.iter().zip(sets).all(|(a, s)| *a == at(s))
        });
        if let Some((_, _, slots)) = known {
            return slots.clone();
        }
        let slots: Vec<Slot<'a>> = (self.collect(object, sets).into_iter())
            .map(|(key, fields)| {
                let name = fields[0].name.node.as_str();
                Slot {
                    key,
                    typename: name == "__typename",
                    ty: self.types.field(object, name),
                    inner: fields.iter().map(|f| &f.selection_set.node).collect(),
                }
            })
            .collect();
        let slots = Rc::new(slots);
        self.collected.push((object.to_owned(), sets.iter().map(at).collect(), slots.clone()));
        slots
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
