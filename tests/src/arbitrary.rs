//! Calls of any field of the schema, read from its SDL: well-typed arguments with hostile
//! content (empty, huge, control characters, injections, edge numbers, ids of other rows),
//! drawn from a seeded generator so that a failing case replays, and a shallow selection of
//! the result that is enough to run its resolvers.

use std::collections::HashMap;

use async_graphql::parser::{
    parse_schema,
    types::{BaseType, FieldDefinition, Type, TypeKind, TypeSystemDefinition},
};
use rand::{Rng, SeedableRng, seq::IndexedRandom};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

/// The types of an SDL document, by name.
pub struct Sdl {
    types: HashMap<String, TypeKind>,
}

impl Sdl {
    /// Panics when the SDL does not parse: it comes from our own schema.
    pub fn parse(sdl: &str) -> Self {
        let doc = parse_schema(sdl).expect("the schema's SDL parses");
        let types = doc
            .definitions
            .into_iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node.kind)),
                _ => None,
            })
            .collect();
        Self { types }
    }

    /// The fields of an object type (`Query`, `Mutation`), in SDL order; empty if there is none.
    pub fn fields(&self, type_name: &str) -> Vec<FieldDefinition> {
        match self.types.get(type_name) {
            Some(TypeKind::Object(o)) => o.fields.iter().map(|f| f.node.clone()).collect(),
            _ => Vec::new(),
        }
    }

    /// True for scalars (built in ones are not in the SDL) and enums.
    fn is_leaf(&self, type_name: &str) -> bool {
        matches!(self.types.get(type_name), None | Some(TypeKind::Scalar | TypeKind::Enum(_)))
    }

    /// What to select of a value of type `ty`: nothing for a leaf; for an object `__typename`
    /// and its leaf fields that need no argument, plus `edges { node { __typename } }` on a
    /// connection; `__typename` for an interface or union. One level deep, so bounded.
    pub fn selection(&self, ty: &Type) -> String {
        match self.types.get(named(ty)) {
            Some(TypeKind::Object(o)) => {
                let mut parts = vec!["__typename".to_owned()];
                for f in o.fields.iter().map(|f| &f.node) {
                    let needs_argument = f
                        .arguments
                        .iter()
                        .any(|a| !a.node.ty.node.nullable && a.node.default_value.is_none());
                    if needs_argument {
                        continue;
                    }
                    if self.is_leaf(named(&f.ty.node)) {
                        parts.push(f.name.node.to_string());
                    } else if f.name.node == "edges" {
                        parts.push("edges { node { __typename } }".to_owned());
                    }
                }
                format!("{{ {} }}", parts.join(" "))
            }
            Some(TypeKind::Interface(_) | TypeKind::Union(_)) => "{ __typename }".to_owned(),
            _ => String::new(),
        }
    }
}

/// The name of the type inside any list and non-null wrappers.
pub fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

/// One request: the document (variables declared with the arguments' exact types) and the
/// variables' values.
#[derive(Clone, Debug)]
pub struct Call {
    pub document: String,
    pub variables: Value,
}

/// What the generator draws from besides its own hostile values, taken from a test's world.
#[derive(Clone, Debug, Default)]
pub struct Pools {
    /// Values by argument or input field name (`urn`, `criteria`, `after`), or by root field
    /// and name (`updateCohort.id`, which wins), when they fit its type: most values of that
    /// name in half the calls, fewer in the others. Valid values get calls past the first
    /// checks, into the services.
    pub by_name: HashMap<String, Vec<Value>>,
    /// Global ids of rows (any type, any partnership), for every `ID`.
    pub ids: Vec<String>,
}

/// Strings no input should choke on. Long ones are built in `string`.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "nul\u{0}byte",
    "\u{1}\u{7}\u{1b}[31mred\r\n\t",
    "line\nbreak",
    "\u{202e}txt.exe\u{202c} \u{200b}",
    "🏫👩‍🏫 café e\u{301}",
    "'; DROP TABLE school;--",
    "\" OR 1=1 --",
    "%_%\\",
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)",
    "@HYPERLINK(\"http://x\")",
    "<script>alert(1)</script>",
    "{{7*7}} ${jndi:ldap://x/a}",
    "null",
    "0",
    "-1",
    "99999999999999999999999999",
    "https://example.org/evidence",
    "https://user:secret@example.org/",
    "https://trusted.gov.uk@evil.example/",
    "http://127.0.0.1:8080/admin",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/",
    "http://10.0.0.7/",
    "http://localhost/",
    "file:///etc/passwd",
    "javascript:alert(1)",
];

const INTS: &[i32] = &[
    0,
    -1,
    1,
    2,
    3,
    7,
    12,
    20,
    36,
    100,
    101,
    365,
    366,
    520,
    521,
    i32::MIN,
    i32::MIN + 1,
    i32::MAX,
    i32::MAX - 1,
];

const DATES: &[&str] = &[
    "2026-01-15",
    "2025-09-01",
    "2027-07-31",
    "2025-12-31",
    "1900-01-01",
    "2200-12-31",
    "-262143-01-01",
    "99999-01-01",
    "2026-02-30",
    "not-a-date",
    "",
];

const DATE_TIMES: &[&str] = &[
    "2026-01-15T10:00:00Z",
    "2026-01-15T10:00:00+01:00",
    "1900-01-01T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "now",
    "",
];

/// A seeded source of arguments for the fields of one SDL.
pub struct Arbitrary<'a> {
    sdl: &'a Sdl,
    pools: &'a Pools,
    rng: ChaCha8Rng,
    /// The root field being called, for `Pools::by_name`.
    field: String,
    /// How often a value comes from `Pools::by_name` when there is one: high in half the
    /// calls, so that whole inputs are valid often enough to reach the database.
    from_pool: f64,
}

impl<'a> Arbitrary<'a> {
    /// Draws from `seed` on a stream of its own for `stream` (a field's coordinate), so that
    /// one field's cases do not change when fields are added before it.
    pub fn new(sdl: &'a Sdl, pools: &'a Pools, seed: u64, stream: &str) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(fnv1a(stream));
        Self { sdl, pools, rng, field: String::new(), from_pool: 0.5 }
    }

    /// A call of the root `field` of `operation` (`query` or `mutation`). Optional arguments
    /// are sometimes left out. Errs, naming the type, when a type has no generator.
    pub fn call(&mut self, operation: &str, field: &FieldDefinition) -> Result<Call, String> {
        self.field = field.name.node.to_string();
        self.from_pool = if self.rng.random_bool(0.5) { 0.9 } else { 0.4 };
        let (mut defs, mut args, mut variables) = (Vec::new(), Vec::new(), Map::new());
        for arg in field.arguments.iter().map(|a| &a.node) {
            let ty = &arg.ty.node;
            let optional = ty.nullable || arg.default_value.is_some();
            if optional && self.rng.random_bool(0.3) {
                continue;
            }
            let name = arg.name.node.as_str();
            defs.push(format!("${name}: {ty}"));
            args.push(format!("{name}: ${name}"));
            variables.insert(name.to_owned(), self.value(name, ty, false)?);
        }
        let defs = if defs.is_empty() { String::new() } else { format!("({})", defs.join(", ")) };
        let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
        let selection = self.sdl.selection(&field.ty.node);
        let document = format!("{operation}{defs} {{ {}{args} {selection} }}", field.name.node);
        Ok(Call { document, variables: Value::Object(variables) })
    }

    /// True in the calls that mostly take valid values from the pools.
    fn mostly_valid(&self) -> bool {
        self.from_pool > 0.5
    }

    /// A value of type `ty` for an argument or input field called `name`. `small` keeps
    /// strings short and lists few, inside a list that is already long.
    fn value(&mut self, name: &str, ty: &Type, small: bool) -> Result<Value, String> {
        if ty.nullable && self.rng.random_bool(0.1) {
            return Ok(Value::Null);
        }
        match &ty.base {
            BaseType::List(inner) => {
                let len = if small {
                    self.rng.random_range(0..=2)
                } else if self.mostly_valid() {
                    *pick(&mut self.rng, &[1, 1, 2, 3])
                } else {
                    *pick(&mut self.rng, &[0, 1, 2, 200])
                };
                let small = small || len > 3;
                (0..len)
                    .map(|_| self.value(name, inner, small))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            BaseType::Named(type_name) => self.named(name, type_name, small),
        }
    }

    fn named(&mut self, name: &str, type_name: &str, small: bool) -> Result<Value, String> {
        if let Some(kind) = self.sdl.types.get(type_name) {
            match kind {
                TypeKind::Enum(e) => {
                    let values: Vec<&str> = e.values.iter().map(|v| v.node.value.node.as_str()).collect();
                    return Ok(json!(pick(&mut self.rng, &values)));
                }
                TypeKind::InputObject(input) => {
                    let mut fields = Map::new();
                    for f in input.fields.iter().map(|f| &f.node) {
                        let ty = &f.ty.node;
                        let required = !ty.nullable && f.default_value.is_none();
                        if required || self.rng.random_bool(0.5) {
                            let field = f.name.node.as_str();
                            fields.insert(field.to_owned(), self.value(field, ty, small)?);
                        }
                    }
                    return Ok(Value::Object(fields));
                }
                TypeKind::Scalar => {}
                _ => return Err(format!("{type_name} is not an input type")),
            }
        }
        let by_name = &self.pools.by_name;
        let hinted: Vec<&Value> = by_name
            .get(&format!("{}.{name}", self.field))
            .or_else(|| by_name.get(name))
            .map(|values| values.iter().filter(|v| fits(type_name, v)).collect())
            .unwrap_or_default();
        if !hinted.is_empty() && self.rng.random_bool(self.from_pool) {
            let value = (*pick(&mut self.rng, &hinted)).clone();
            // A valid value spoiled at its end or padded gets past checks of its start.
            return Ok(match value {
                Value::String(v) if self.rng.random_bool(if self.mostly_valid() { 0.03 } else { 0.2 }) => {
                    json!(match self.rng.random_range(0..3) {
                        0 => format!("{v}\u{0}"),
                        1 => format!(" {v}\t"),
                        _ => v.repeat(if small { 3 } else { 300 }),
                    })
                }
                value => value,
            });
        }
        Ok(match type_name {
            "Int" => json!(self.int()),
            "Float" => json!(*pick(&mut self.rng, &[0.0, -1.0, 0.5, 1e-300, 1e300, f64::from(i32::MAX)])),
            "Boolean" => json!(self.rng.random_bool(0.5)),
            "String" => json!(self.string(small)),
            "ID" => json!(self.id(small)),
            "Date" => json!(pick(&mut self.rng, DATES)),
            "DateTime" => json!(pick(&mut self.rng, DATE_TIMES)),
            other => {
                return Err(format!(
                    "no generator for the scalar {other}: add one to tests/src/arbitrary.rs"
                ));
            }
        })
    }

    fn int(&mut self) -> i32 {
        if self.rng.random_bool(0.2) {
            self.rng.random_range(0..1_000_000)
        } else {
            *pick(&mut self.rng, INTS)
        }
    }

    fn string(&mut self, small: bool) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        match self.rng.random_range(0..12) {
            0 if !small => "a".repeat(10 * 1024),
            1 if !small => format!("https://example.org/{}", "long/".repeat(1000)),
            2 => (0..self.rng.random_range(1..40))
                .map(|_| char::from(self.rng.random_range(b' '..=b'~')))
                .collect(),
            // Opaque strings (cursors) are base64: hostile text once decoded.
            3 => URL_SAFE_NO_PAD.encode(format!(
                "{}\n{}",
                pick(&mut self.rng, HOSTILE),
                pick(&mut self.rng, HOSTILE)
            )),
            _ => (*pick(&mut self.rng, HOSTILE)).to_owned(),
        }
    }

    fn id(&mut self, small: bool) -> String {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let nil = "00000000-0000-0000-0000-000000000000";
        match self.rng.random_range(0..10) {
            0..=4 if !self.pools.ids.is_empty() => pick(&mut self.rng, &self.pools.ids).clone(),
            5 => URL_SAFE_NO_PAD.encode(format!("School:{nil}")),
            6 => URL_SAFE_NO_PAD
                .encode(*pick(&mut self.rng, &["School:not-a-uuid", "Nothing:x", ":", "School"])),
            7 if !small => "QUFB".repeat(2500),
            _ => (*pick(
                &mut self.rng,
                &["", "x", "!!!", "====", "U2Nob29s", "'; DROP TABLE school;--", "\u{0}"],
            ))
            .to_owned(),
        }
    }
}

/// Whether a value taken from a pool has the JSON shape `type_name` accepts.
fn fits(type_name: &str, value: &Value) -> bool {
    match type_name {
        "Int" => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        "Float" => value.is_number(),
        "Boolean" => value.is_boolean(),
        _ => value.is_string(),
    }
}

fn pick<'v, T>(rng: &mut ChaCha8Rng, values: &'v [T]) -> &'v T {
    values.choose(rng).expect("a non-empty list to pick from")
}

/// A stable hash (unlike `DefaultHasher`, the same on every Rust version).
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A copy of a value with long strings and lists cut short, for failure reports.
pub fn abridged(value: &Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > 80 => {
            let head: String = s.chars().take(40).collect();
            json!(format!("{head}... ({} chars)", s.chars().count()))
        }
        Value::Array(items) if items.len() > 5 => {
            let mut head: Vec<Value> = items.iter().take(3).map(abridged).collect();
            head.push(json!(format!("... ({} items)", items.len())));
            Value::Array(head)
        }
        Value::Array(items) => Value::Array(items.iter().map(abridged).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), abridged(v))).collect()),
        other => other.clone(),
    }
}
