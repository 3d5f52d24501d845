//! What a GraphQL request would cost, worked out from its text before async-graphql validates or
//! runs anything, and the ceilings it must stay under (README, "Configuration").
//!
//! async-graphql's own depth and complexity visitors walk a fragment once per spread, and walk
//! every operation and fragment definition of the document, not only the one that runs: to them
//! a 1.2 KB chain of 30 fragments that each spread the next twice is 2^30 fields, minutes of both
//! cores and gigabytes of memory before any limit is checked. Here each fragment is counted once
//! and its totals are reused wherever it is spread, so measuring is linear in the document's
//! length whatever it expands to, and a document over a limit never reaches those visitors.

use std::collections::HashMap;

use async_graphql::{
    Name, ServerError, Value as ConstValue, Variables,
    parser::{
        parse_query,
        types::{
            DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
            SelectionSet,
        },
    },
};

use crate::{
    graphql::MAX_DEPTH,
    ids::{DEFAULT_PAGE, MAX_PAGE},
    progress::service::MAX_POINTS,
};

/// The stable `extensions.code` of a request refused here.
pub const CODE: &str = "QUERY_TOO_COSTLY";

/// Nesting of selection sets (a field's, a fragment's, an inline fragment's) past which measuring
/// stops, so that it recurses no deeper than this. async-graphql refuses more than 32 anyway.
const MAX_NESTING: usize = 64;

/// The ceilings on one request. Each is a setting (config.rs); these are the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest query text, in bytes (`MAX_QUERY_BYTES`, default 64 KiB). Data travels in
    /// variables (an import's CSV too), so this bounds only the hand-written document.
    pub max_query_bytes: usize,
    /// Most fields the document expands to, every field counted (`__typename` too) and each
    /// fragment as often as it is spread (`MAX_FIELDS`, default 5,000).
    pub max_fields: u64,
    /// Most aliases in the operation that runs, counted through fragments as fields are
    /// (`MAX_ALIASES`, default 100).
    pub max_aliases: u64,
    /// Highest cost of the operation that runs (`MAX_COST`, default 100,000): each field costs 1
    /// plus what it holds, times the items of a list (`first`, default 20, at most 100, on
    /// connections; 100 for `atRisk` and `atRiskSchools`; 520 for `timeline`'s points).
    pub max_cost: u64,
    /// Largest request body on any route, in bytes (`MAX_BODY_BYTES`, default 8 MiB: an
    /// import's CSV travels in one).
    pub max_body_bytes: usize,
    /// Longest a request may take until its answer starts (`REQUEST_TIMEOUT_SECS`, default 30);
    /// 408 past it. A CSV export's streamed body and a WebSocket are not cut by it.
    pub request_timeout_secs: u64,
    /// How long a WebSocket may stay open without sending `connection_init`
    /// (`WS_INIT_TIMEOUT_SECS`, default 5 s); past it, closed with 4408. A client sends it at once,
    /// and until it does the socket holds a connection slot while doing nothing.
    pub ws_init_timeout: std::time::Duration,
    /// Most operations in flight on one WebSocket (`WS_MAX_OPERATIONS`, default 50); one more is
    /// refused with `TOO_MANY_OPERATIONS`. A page needs a handful; 5,000 on one connection made a
    /// single stage change take 26 s to fan out, every subscription reading it with its rights.
    pub ws_max_operations: usize,
    /// Most WebSockets open at once in this process (`MAX_WEBSOCKETS`, default 1,000); one more
    /// upgrade is answered 503 with `Retry-After`. About 160 KB each was measured, so ~160 MB.
    pub max_websockets: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_query_bytes: 64 * 1024,
            max_fields: 5_000,
            max_aliases: 100,
            max_cost: 100_000,
            max_body_bytes: crate::http::MAX_BODY_BYTES,
            request_timeout_secs: 30,
            ws_init_timeout: std::time::Duration::from_secs(5),
            ws_max_operations: 50,
            max_websockets: 1_000,
        }
    }
}

/// Why a request was refused before it ran.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "the query is {actual} bytes long, more than the limit of {max} (MAX_QUERY_BYTES): send data in variables"
    )]
    QueryBytes { actual: usize, max: usize },
    #[error(
        "the query expands to {actual} fields (each fragment counted every time it is spread, every operation and fragment in the document), more than the limit of {max} (MAX_FIELDS)"
    )]
    Fields { actual: u64, max: u64 },
    #[error("the query has {actual} aliases, more than the limit of {max} (MAX_ALIASES)")]
    Aliases { actual: u64, max: u64 },
    #[error(
        "the query costs {actual} (each field 1 plus what it holds, times the items of a list), more than the limit of {max} (MAX_COST): ask for smaller pages or fewer lists"
    )]
    Cost { actual: u64, max: u64 },
    /// As async-graphql words it, and with the code it has always had.
    #[error("Query is nested too deep: {actual} levels, more than the limit of {max}")]
    Depth { actual: u64, max: u64 },
    #[error("fragment `{0}` spreads itself")]
    FragmentCycle(String),
    #[error("fields and fragments are nested more than {max} levels deep")]
    Nesting { max: usize },
}

impl Refused {
    /// The `extensions.code`: QUERY_TOO_COSTLY, except depth, which keeps the code it had when
    /// only async-graphql checked it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Depth { .. } => "GRAPHQL_VALIDATION_FAILED",
            _ => CODE,
        }
    }

    /// The HTTP status of the refusal as `application/json`: 400, except depth, a validation
    /// error like any other (200, and 400 as `application/graphql-response+json`).
    pub fn status(&self) -> axum::http::StatusCode {
        match self {
            Self::Depth { .. } => axum::http::StatusCode::OK,
            _ => axum::http::StatusCode::BAD_REQUEST,
        }
    }

    /// The refusal as a GraphQL answer: one error with its code, no data (for WebSockets).
    pub fn response(&self) -> async_graphql::Response {
        let mut error = ServerError::new(self.to_string(), None);
        error.extensions.get_or_insert_with(Default::default).set("code", self.code());
        async_graphql::Response::from_errors(vec![error])
    }
}

/// What a document adds up to, fragments spread in full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Fields of the operation that runs (`__typename` too), each fragment counted every time it
    /// is spread.
    pub fields: u64,
    /// Fields of the whole document as validation walks it: every operation and every fragment
    /// definition, each expanded. At least `fields`; this is what MAX_FIELDS bounds.
    pub document_fields: u64,
    /// Aliases of the operation that runs, counted as its fields are.
    pub aliases: u64,
    /// The deepest nesting of fields in the document, as MAX_DEPTH counts it: `__typename` is
    /// not a level, nor is introspection's `ofType` (the type a list or non-null type wraps:
    /// introspection clients nest it 7 to 9 times to read types like `[[String!]!]!`).
    pub depth: u64,
    /// The operation's fields weighted by list sizes: each field costs 1 plus what it holds,
    /// times the items of a list.
    pub cost: u64,
}

impl Cost {
    /// Measures an already parsed document for the operation `operation_name` selects (as
    /// async-graphql selects it), reading `first: $var` from `variables` or the operation's
    /// defaults. Refuses fragment cycles and nesting past what async-graphql accepts.
    pub fn measure(
        doc: &ExecutableDocument,
        operation_name: Option<&str>,
        variables: &Variables,
    ) -> Result<Self, Refused> {
        let selected = selected(doc, operation_name);
        let defaults = selected
            .into_iter()
            .flat_map(|op| &op.variable_definitions)
            .filter_map(|d| Some((d.node.name.node.as_str(), &d.node.default_value.as_ref()?.node)))
            .collect();
        let mut counter = Counter { doc, variables, defaults, fragments: HashMap::new(), nesting: 0 };
        let mut cost = Self::default();
        for (_, operation) in doc.operations.iter() {
            let tally = counter.selection_set(&operation.node.selection_set.node)?;
            cost.document_fields = cost.document_fields.saturating_add(tally.fields);
            cost.depth = cost.depth.max(tally.depth);
            if selected.is_some_and(|s| std::ptr::eq(s, &operation.node)) {
                (cost.fields, cost.aliases, cost.cost) = (tally.fields, tally.aliases, tally.cost);
            }
        }
        for name in doc.fragments.keys() {
            let tally = counter.fragment(name)?;
            cost.document_fields = cost.document_fields.saturating_add(tally.fields);
            cost.depth = cost.depth.max(tally.depth);
        }
        Ok(cost)
    }
}

impl Limits {
    /// Checks a request against every limit: its length first, then what its document adds up
    /// to. On success the parsed document is kept in the request, so async-graphql does not
    /// parse it again. A query that does not parse passes here (None) and async-graphql answers
    /// its syntax error.
    pub fn check(&self, request: &mut async_graphql::Request) -> Result<Option<Cost>, Refused> {
        let actual = request.query.len();
        if actual > self.max_query_bytes {
            return Err(Refused::QueryBytes { actual, max: self.max_query_bytes });
        }
        let Ok(doc) = parse_query(&request.query) else { return Ok(None) };
        let cost = Cost::measure(&doc, request.operation_name.as_deref(), &request.variables)?;
        self.allow(&cost)?;
        request.set_parsed_query(doc);
        Ok(Some(cost))
    }

    /// Compares a measured cost with the limits: fields, aliases, depth, then cost.
    pub fn allow(&self, cost: &Cost) -> Result<(), Refused> {
        if cost.document_fields > self.max_fields {
            return Err(Refused::Fields { actual: cost.document_fields, max: self.max_fields });
        }
        if cost.aliases > self.max_aliases {
            return Err(Refused::Aliases { actual: cost.aliases, max: self.max_aliases });
        }
        if cost.depth > MAX_DEPTH as u64 {
            return Err(Refused::Depth { actual: cost.depth, max: MAX_DEPTH as u64 });
        }
        if cost.cost > self.max_cost {
            return Err(Refused::Cost { actual: cost.cost, max: self.max_cost });
        }
        Ok(())
    }
}

/// The operation that would run, chosen as async-graphql chooses it; None when it would refuse
/// the request for naming no operation, or one the document lacks.
pub(crate) fn selected<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Some(&op.node),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The name of the operation `request` would run: the one it names, or its document's only one.
pub(crate) fn operation_name(request: &mut async_graphql::Request) -> Option<String> {
    if request.operation_name.is_some() {
        return request.operation_name.clone();
    }
    match &request.parsed_query().ok()?.operations {
        DocumentOperations::Multiple(ops) if ops.len() == 1 => ops.keys().next().map(|n| n.to_string()),
        _ => None,
    }
}

/// The kind of operation `request` would run; None when its document does not parse or it would
/// run none (see `selected`).
pub(crate) fn operation_type(request: &mut async_graphql::Request) -> Option<OperationType> {
    let name = request.operation_name.clone();
    let doc = request.parsed_query().ok()?;
    selected(doc, name.as_deref()).map(|op| op.ty)
}

/// Whether a field counts towards depth. `ofType` only unwraps a list or non-null type, one
/// step of at most MAX_NESTING; only `__Type` has a field of that name.
fn adds_a_level(name: &str) -> bool {
    !matches!(name, "__typename" | "ofType")
}

/// Totals of one selection set.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    fields: u64,
    aliases: u64,
    depth: u64,
    cost: u64,
}

impl Tally {
    /// Two selections side by side.
    fn beside(self, other: Self) -> Self {
        Self {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
            depth: self.depth.max(other.depth),
            cost: self.cost.saturating_add(other.cost),
        }
    }
}

struct Counter<'a> {
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    /// The selected operation's variable defaults.
    defaults: HashMap<&'a str, &'a ConstValue>,
    /// Each fragment's totals once counted; None while it is being counted (a spread of it
    /// then is a cycle).
    fragments: HashMap<&'a str, Option<Tally>>,
    nesting: usize,
}

impl<'a> Counter<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Tally, Refused> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(Refused::Nesting { max: MAX_NESTING });
        }
        let mut total = Tally::default();
        for selection in &set.items {
            let tally = match &selection.node {
                Selection::Field(field) => self.field(&field.node)?,
                Selection::InlineFragment(inline) => self.selection_set(&inline.node.selection_set.node)?,
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node)?,
            };
            total = total.beside(tally);
        }
        self.nesting -= 1;
        Ok(total)
    }

    fn field(&mut self, field: &'a Field) -> Result<Tally, Refused> {
        let held = if field.selection_set.node.items.is_empty() {
            Tally::default()
        } else {
            self.selection_set(&field.selection_set.node)?
        };
        Ok(Tally {
            fields: held.fields.saturating_add(1),
            aliases: held.aliases.saturating_add(field.alias.is_some().into()),
            depth: held.depth.saturating_add(adds_a_level(&field.name.node).into()),
            cost: self.items(field).saturating_mul(held.cost).saturating_add(1),
        })
    }

    /// A fragment's totals, counted the first time it is met.
    fn fragment(&mut self, name: &str) -> Result<Tally, Refused> {
        // Unknown fragments count nothing: validation refuses them.
        let Some((name, definition)) = self.doc.fragments.get_key_value(name) else {
            return Ok(Tally::default());
        };
        match self.fragments.get(name.as_str()) {
            Some(Some(tally)) => return Ok(*tally),
            Some(None) => return Err(Refused::FragmentCycle(name.to_string())),
            None => {}
        }
        self.fragments.insert(name.as_str(), None);
        let tally = self.selection_set(&definition.node.selection_set.node)?;
        self.fragments.insert(name.as_str(), Some(tally));
        Ok(tally)
    }

    /// How many items a field's selection is resolved for: a page's size on connections and
    /// paged lists, the most points of a timeline, else 1. The names are the schema's list
    /// fields with `first` (schema.graphql); any other field with `first` counts it too.
    fn items(&self, field: &Field) -> u64 {
        let unless_given = match field.name.node.as_str() {
            "timeline" => return MAX_POINTS as u64,
            "atRisk" | "atRiskSchools" => MAX_PAGE,
            "schools" | "trusts" | "grants" | "reviewQueue" | "auditLog" | "missed" => DEFAULT_PAGE,
            _ if field.get_argument("first").is_some() => DEFAULT_PAGE,
            _ => return 1,
        };
        // A literal, or a variable from the request or else the operation's default for it.
        let given = field.get_argument("first").and_then(|first| {
            let lookup = |name: Name| {
                let value = self.variables.get(&name).or_else(|| self.defaults.get(name.as_str()).copied());
                value.cloned().ok_or(())
            };
            match first.node.clone().into_const_with(lookup) {
                Ok(ConstValue::Number(n)) => n.as_i64(),
                _ => None,
            }
        });
        // More than MAX_PAGE is refused when the field resolves, before it fetches anything.
        given.map_or(unless_given, |n| n.clamp(1, MAX_PAGE as i64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(query: &str, operation: Option<&str>, variables: serde_json::Value) -> Result<Cost, Refused> {
        let doc = parse_query(query).expect("parses");
        Cost::measure(&doc, operation, &Variables::from_json(variables))
    }

    fn cost(query: &str) -> Cost {
        measure(query, None, serde_json::json!({})).expect("measures")
    }

    /// `levels` fragments, each spreading the next `width` times, then one with `__typename`.
    fn chain(levels: usize, width: usize) -> String {
        let mut q = String::from("{ ...F0 }\n");
        for i in 0..levels {
            q += &format!("fragment F{i} on Query {{ {} }}\n", format!("...F{} ", i + 1).repeat(width));
        }
        q + &format!("fragment F{levels} on Query {{ __typename }}\n")
    }

    #[test]
    fn every_field_counts_typename_too() {
        let c = cost("{ __typename a: __typename partnerships { name cohorts { name } } }");
        assert_eq!((c.fields, c.aliases, c.depth, c.cost), (6, 1, 3, 6));
        assert_eq!(c.document_fields, 6);
    }

    #[test]
    fn a_fragment_counts_every_time_it_is_spread_and_is_measured_once() {
        // 2^30 fields to a walker that expands spreads; here, 31 fragments measured once each.
        let c = cost(&chain(30, 2));
        assert_eq!(c.fields, 1 << 30);
        // The operation, then F0 (2^30 fields) to F30 (1), as validation walks them too.
        assert_eq!(c.document_fields, (1 << 30) + (1u64 << 31) - 1);
        // 2^80 (a walker would never finish) saturates rather than overflows.
        let c = cost(&chain(20, 16));
        assert_eq!(c.fields, u64::MAX);
        assert_eq!(Limits::default().allow(&c), Err(Refused::Fields { actual: u64::MAX, max: 5_000 }));
    }

    #[test]
    fn fragment_cycles_are_refused_even_unused() {
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { partnerships { ...A } }";
        assert!(matches!(measure(cycle, None, serde_json::json!({})), Err(Refused::FragmentCycle(_))));
        let unused = "{ __typename } fragment A on Query { ...A }";
        assert_eq!(measure(unused, None, serde_json::json!({})), Err(Refused::FragmentCycle("A".into())));
    }

    #[test]
    fn inline_fragments_count_their_selections_and_no_level() {
        let c = cost("{ node(id: \"x\") { ... on School { urn name } ... { id } } }");
        assert_eq!((c.fields, c.depth), (4, 2));
    }

    #[test]
    fn aliases_count_through_fragments() {
        let c = cost("{ ...F ...F } fragment F on Query { a: __typename b: __typename }");
        assert_eq!(c.aliases, 4);
    }

    #[test]
    fn lists_multiply_what_they_hold() {
        // 1 + 100 * (edges 1 + 10 * (node 1 + urn 1))
        assert_eq!(cost("{ schools(first: 100) { edges { node { urn } } } }").cost, 1 + 100 * 3);
        assert_eq!(cost("{ schools { totalCount } }").cost, 1 + 20, "a page is 20 unless asked");
        assert_eq!(cost("{ schools(first: 1000) { totalCount } }").cost, 1 + 100, "at most 100");
        assert_eq!(cost("{ atRiskSchools(partnership: \"p\") { reason } }").cost, 1 + 100);
        assert_eq!(cost("{ partnerships { timeline { date } } }").cost, 1 + 1 + 520);
        assert_eq!(cost("{ partnerships { name } }").cost, 2, "other lists count once");
    }

    #[test]
    fn first_is_read_from_variables_and_their_defaults() {
        let q = "query($n: Int = 5) { schools(first: $n) { totalCount } }";
        assert_eq!(measure(q, None, serde_json::json!({ "n": 50 })).unwrap().cost, 1 + 50);
        assert_eq!(measure(q, None, serde_json::json!({})).unwrap().cost, 1 + 5);
        let q = "query($n: Int) { trusts(first: $n) { totalCount } }";
        assert_eq!(measure(q, None, serde_json::json!({ "n": null })).unwrap().cost, 1 + 20);
        let in_fragment = "query($n: Int) { ...F } fragment F on Query { schools(first: $n) { totalCount } }";
        assert_eq!(measure(in_fragment, None, serde_json::json!({ "n": 7 })).unwrap().cost, 1 + 7);
    }

    #[test]
    fn the_operation_named_is_the_one_measured_but_validation_reads_them_all() {
        let q =
            "query Small { __typename } query Big { a: schools(first: 100) { totalCount } b: __typename }";
        let small = measure(q, Some("Small"), serde_json::json!({})).unwrap();
        assert_eq!((small.fields, small.aliases, small.cost), (1, 0, 1));
        assert_eq!(small.document_fields, 4);
        let big = measure(q, Some("Big"), serde_json::json!({})).unwrap();
        assert_eq!((big.fields, big.aliases, big.cost), (3, 2, 1 + 100 + 1));
        let none = measure(q, None, serde_json::json!({})).unwrap();
        assert_eq!((none.fields, none.cost), (0, 0), "async-graphql refuses: no operation named");
    }

    #[test]
    fn depth_counts_fields_through_fragments_but_not_typename() {
        let q = "{ a { ...F } } fragment F on A { b { c { __typename } } }";
        assert_eq!(cost(q).depth, 3);
    }

    #[test]
    fn of_type_is_no_level_but_fields_and_type_are() {
        let nest = |fields: &[&str], leaf: &str| {
            let open: String = fields.iter().map(|f| format!("{f} {{ ")).collect();
            format!("{{ {open}{leaf}{} }}", " }".repeat(fields.len()))
        };
        let of_types = nest(&[&["__schema", "types", "fields", "type"][..], &["ofType"; 9]].concat(), "kind");
        assert_eq!(cost(&of_types).depth, 5);
        let hostile = nest(&[&["__schema", "types"][..], &["fields", "type"].repeat(6)].concat(), "name");
        assert_eq!(cost(&hostile).depth, 15);
        assert!(matches!(Limits::default().allow(&cost(&hostile)), Err(Refused::Depth { .. })));
    }

    #[test]
    fn nesting_past_what_async_graphql_accepts_is_refused_without_deep_recursion() {
        let mut q = String::from("{ ...F0 }\n");
        for i in 0..100 {
            q += &format!("fragment F{i} on Query {{ ...F{} }}\n", i + 1);
        }
        q += "fragment F100 on Query { __typename }";
        assert_eq!(measure(&q, None, serde_json::json!({})), Err(Refused::Nesting { max: MAX_NESTING }));
    }

    #[test]
    fn limits_refuse_in_order_and_name_the_setting() {
        let limits = Limits::default();
        let mut long = async_graphql::Request::new("{ __typename }".repeat(5_000));
        let refused = limits.check(&mut long).unwrap_err();
        assert!(refused.to_string().contains("MAX_QUERY_BYTES"), "{refused}");
        let aliases: String = (0..101).map(|i| format!("a{i}: __typename ")).collect();
        let refused = limits.check(&mut async_graphql::Request::new(format!("{{ {aliases} }}"))).unwrap_err();
        assert_eq!(refused, Refused::Aliases { actual: 101, max: 100 });
        assert_eq!(refused.code(), CODE);
        let mut fine = async_graphql::Request::new("{ partnerships { name } }");
        assert_eq!(limits.check(&mut fine).unwrap().map(|c| c.cost), Some(2));
        let mut broken = async_graphql::Request::new("{ partnerships {");
        assert_eq!(limits.check(&mut broken), Ok(None), "async-graphql reports the syntax error");
    }
}
