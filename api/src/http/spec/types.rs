//! The schema's types as `spec` needs them, read from its SDL, and the spec's input coercion
//! of variables against them, and the arguments of variables not given left out.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    ID, InputType, Name, Pos, Positioned, ServerError, Value, Variables,
    parser::{
        parse_schema,
        types::{
            BaseType, Directive, DocumentOperations, ExecutableDocument, FieldDefinition,
            OperationDefinition, Selection, SelectionSet, Type, TypeKind, TypeSystemDefinition,
        },
    },
};
use async_graphql_value::Value as ParsedValue;

/// The code of a value the client sent that does not fit its type.
pub(super) const BAD_USER_INPUT: &str = "BAD_USER_INPUT";

/// Checks the request's variables against the operation's definitions and fills in the defaults
/// of those not given; one BAD_USER_INPUT error per variable that does not coerce. A variable of
/// a type the schema lacks is left for validation to refuse.
pub(super) fn coerce_variables(
    types: &Types,
    op: &OperationDefinition,
    variables: &mut Variables,
) -> Vec<ServerError> {
    let mut errors = Vec::new();
    for definition in &op.variable_definitions {
        let (name, ty) = (&definition.node.name.node, &definition.node.var_type.node);
        let problem = match variables.get(name) {
            Some(value) => types.coerce(ty, value).err().map(|(at, why)| format!("`${name}{at}` {why}")),
            // The default written in the document (`default_value()` would also read a nullable
            // variable's absence as null, which async-graphql does on its own when it runs).
            None => match definition.node.default_value.as_ref().map(|d| &d.node) {
                Some(default) => {
                    variables.insert(name.clone(), default.clone());
                    None
                }
                None if !ty.nullable => Some(format!("`${name}` ({ty}) is required but was not given")),
                None => None,
            },
        };
        if let Some(problem) = problem {
            let mut error = ServerError::new(format!("variable {problem}"), Some(definition.pos));
            error.extensions.get_or_insert_with(Default::default).set("code", BAD_USER_INPUT);
            errors.push(error);
        }
    }
    errors
}

/// Leaves out of the document every argument and input-object field whose value is a variable
/// the request did not give (defaults are filled in by then), as if it were not written, as the
/// spec coerces them. async-graphql reads such a variable as null instead, so an update's
/// optional field meant "leave as it is" (`MaybeUndefined`) would be cleared, and an
/// argument's own default ignored. A variable no longer used anywhere loses its definition, so
/// validation does not call it unused.
pub(super) fn leave_out_unset(doc: &mut ExecutableDocument, variables: &Variables) {
    let mut strip = Strip { variables, used: HashSet::new() };
    let operations: Vec<&mut Positioned<OperationDefinition>> = match &mut doc.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values_mut().collect(),
    };
    let mut definitions = Vec::new();
    for op in operations {
        strip.directives(&mut op.node.directives);
        strip.selections(&mut op.node.selection_set.node);
        definitions.push(&mut op.node.variable_definitions);
    }
    for fragment in doc.fragments.values_mut() {
        strip.directives(&mut fragment.node.directives);
        strip.selections(&mut fragment.node.selection_set.node);
    }
    for definitions in definitions {
        definitions
            .retain(|d| variables.contains_key(&d.node.name.node) || strip.used.contains(&d.node.name.node));
    }
}

struct Strip<'a> {
    variables: &'a Variables,
    /// Variables still written somewhere once stripped (in a list, or a directive's argument).
    used: HashSet<Name>,
}

impl Strip<'_> {
    fn unset(&self, value: &ParsedValue) -> bool {
        matches!(value, ParsedValue::Variable(name) if !self.variables.contains_key(name))
    }

    fn value(&mut self, value: &mut ParsedValue) {
        match value {
            ParsedValue::Variable(name) => {
                self.used.insert(name.clone());
            }
            ParsedValue::Object(fields) => {
                fields.retain(|_, field| !self.unset(field));
                fields.values_mut().for_each(|field| self.value(field));
            }
            ParsedValue::List(items) => items.iter_mut().for_each(|item| self.value(item)),
            _ => {}
        }
    }

    fn arguments(&mut self, arguments: &mut Vec<(Positioned<Name>, Positioned<ParsedValue>)>, drop: bool) {
        if drop {
            arguments.retain(|(_, argument)| !self.unset(&argument.node));
        }
        arguments.iter_mut().for_each(|(_, argument)| self.value(&mut argument.node));
    }

    /// Directives' arguments are kept as written (`@skip(if: $s)` needs its variable).
    fn directives(&mut self, directives: &mut [Positioned<Directive>]) {
        directives.iter_mut().for_each(|d| self.arguments(&mut d.node.arguments, false));
    }

    fn selections(&mut self, set: &mut SelectionSet) {
        for selection in &mut set.items {
            match &mut selection.node {
                Selection::Field(field) => {
                    self.arguments(&mut field.node.arguments, true);
                    self.directives(&mut field.node.directives);
                    self.selections(&mut field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => {
                    self.directives(&mut inline.node.directives);
                    self.selections(&mut inline.node.selection_set.node);
                }
                Selection::FragmentSpread(spread) => self.directives(&mut spread.node.directives),
            }
        }
    }
}

/// The schema's types, as far as executing and coercing need them, read from its SDL plus the
/// built-in types (`BUILT_IN`).
#[derive(Debug, Default)]
pub(crate) struct Types {
    pub(super) query: String,
    pub(super) mutation: Option<String>,
    pub(super) subscription: Option<String>,
    types: HashMap<String, Def>,
}

#[derive(Debug)]
enum Def {
    Object {
        fields: HashMap<String, Type>,
        implements: HashSet<String>,
    },
    Interface {
        fields: HashMap<String, Type>,
    },
    Union {
        members: HashSet<String>,
    },
    Enum {
        values: HashSet<String>,
    },
    /// Fields in order: (name, type, whether it has a default).
    Input {
        fields: Vec<(String, Type, bool)>,
    },
    Scalar,
}

/// What an SDL export leaves out: the built-in scalars and async-graphql 7.2's introspection
/// types (`src/model`), these without arguments or descriptions, which executing does not read.
const BUILT_IN: &str = "
scalar Int
scalar Float
scalar String
scalar Boolean
scalar ID
type __Schema { description: String! types: [__Type!]! queryType: __Type! mutationType: __Type
  subscriptionType: __Type directives: [__Directive!]! }
type __Type { kind: __TypeKind! name: String description: String fields: [__Field!]
  interfaces: [__Type!] possibleTypes: [__Type!] enumValues: [__EnumValue!]
  inputFields: [__InputValue!] ofType: __Type specifiedByURL: String isOneOf: Boolean }
type __Field { name: String! description: String args: [__InputValue!]! type: __Type!
  isDeprecated: Boolean! deprecationReason: String }
type __InputValue { name: String! description: String type: __Type! defaultValue: String
  isDeprecated: Boolean! deprecationReason: String }
type __EnumValue { name: String! description: String isDeprecated: Boolean! deprecationReason: String }
type __Directive { name: String! description: String locations: [__DirectiveLocation!]!
  args: [__InputValue!]! isRepeatable: Boolean! }
scalar __TypeKind
scalar __DirectiveLocation
";

impl Types {
    /// Reads the types of an SDL export; None if it does not parse.
    pub(crate) fn from_sdl(sdl: &str) -> Option<Self> {
        let doc = parse_schema(format!("{sdl}\n{BUILT_IN}")).ok()?;
        let mut types = Self::default();
        let fields_of = |fields: Vec<Positioned<FieldDefinition>>| -> HashMap<String, Type> {
            fields.into_iter().map(|f| (f.node.name.node.to_string(), f.node.ty.node)).collect()
        };
        for definition in doc.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    types.query = schema.query.map(|n| n.node.to_string()).unwrap_or_default();
                    types.mutation = schema.mutation.map(|n| n.node.to_string());
                    types.subscription = schema.subscription.map(|n| n.node.to_string());
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let def = match ty.kind {
                        TypeKind::Scalar => Def::Scalar,
                        TypeKind::Object(o) => Def::Object {
                            fields: fields_of(o.fields),
                            implements: o.implements.into_iter().map(|n| n.node.to_string()).collect(),
                        },
                        TypeKind::Interface(i) => Def::Interface { fields: fields_of(i.fields) },
                        TypeKind::Union(u) => Def::Union {
                            members: u.members.into_iter().map(|n| n.node.to_string()).collect(),
                        },
                        TypeKind::Enum(e) => Def::Enum {
                            values: e.values.into_iter().map(|v| v.node.value.node.to_string()).collect(),
                        },
                        TypeKind::InputObject(i) => Def::Input {
                            fields: (i.fields.into_iter())
                                .map(|f| {
                                    (
                                        f.node.name.node.to_string(),
                                        f.node.ty.node,
                                        f.node.default_value.is_some(),
                                    )
                                })
                                .collect(),
                        },
                    };
                    types.types.insert(ty.name.node.to_string(), def);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        // No `schema` block: the default root names, where the types exist.
        if types.query.is_empty() {
            types.query = "Query".to_owned();
            let exists = |name: &str| types.types.contains_key(name).then(|| name.to_owned());
            (types.mutation, types.subscription) = (exists("Mutation"), exists("Subscription"));
        }
        // Introspection's entry points, on the query root only.
        if let Some(Def::Object { fields, .. }) = types.types.get_mut(&types.query) {
            fields.insert("__schema".to_owned(), Type::new("__Schema!")?);
            fields.insert("__type".to_owned(), Type::new("__Type")?);
        }
        Some(types)
    }

    pub(super) fn is_abstract(&self, name: &str) -> bool {
        matches!(self.types.get(name), Some(Def::Interface { .. } | Def::Union { .. }))
    }

    pub(super) fn is_composite(&self, name: &str) -> bool {
        matches!(self.types.get(name), Some(Def::Object { .. } | Def::Interface { .. } | Def::Union { .. }))
    }

    /// Whether a fragment on `condition` applies to an object of type `object`.
    pub(super) fn applies(&self, object: &str, condition: &str) -> bool {
        object == condition
            || matches!(self.types.get(object), Some(Def::Object { implements, .. }) if implements.contains(condition))
            || matches!(self.types.get(condition), Some(Def::Union { members }) if members.contains(object))
    }

    pub(super) fn field(&self, ty: &str, name: &str) -> Option<&Type> {
        match self.types.get(ty)? {
            Def::Object { fields, .. } | Def::Interface { fields } => fields.get(name),
            _ => None,
        }
    }

    /// Checks a variable's value against its type (the spec's input coercion); on failure, where
    /// in the value (`.field[2]`) and why.
    fn coerce(&self, ty: &Type, value: &Value) -> Result<(), (String, String)> {
        if *value == Value::Null {
            return if ty.nullable {
                Ok(())
            } else {
                Err((String::new(), format!("must not be null ({ty})")))
            };
        }
        let name = match &ty.base {
            BaseType::Named(name) => name,
            BaseType::List(item) => {
                let Value::List(items) = value else { return self.coerce(item, value) }; // one value: a list of one
                for (i, value) in items.iter().enumerate() {
                    self.coerce(item, value).map_err(|(at, why)| (format!("[{i}]{at}"), why))?;
                }
                return Ok(());
            }
        };
        match self.types.get(name.as_str()) {
            Some(Def::Scalar) => {
                scalar(name, value).unwrap_or(Ok(())).map_err(|why| (String::new(), format!("({ty}): {why}")))
            }
            Some(Def::Enum { values }) => match value {
                Value::String(v) if values.contains(v) => Ok(()),
                Value::Enum(v) if values.contains(v.as_str()) => Ok(()),
                _ => Err((String::new(), format!("is not a value of the enum {name}: got {value}"))),
            },
            Some(Def::Input { fields }) => {
                let Value::Object(given) = value else {
                    return Err((
                        String::new(),
                        format!("is not an object of the input type {name}: got {value}"),
                    ));
                };
                if let Some(unknown) = given.keys().find(|k| !fields.iter().any(|(f, ..)| f == k.as_str())) {
                    return Err((String::new(), format!("has `{unknown}`, which is not a field of {name}")));
                }
                for (field, ty, has_default) in fields {
                    match given.get(field.as_str()) {
                        Some(value) => {
                            self.coerce(ty, value).map_err(|(at, why)| (format!(".{field}{at}"), why))?
                        }
                        None if !ty.nullable && !has_default => {
                            return Err((
                                format!(".{field}"),
                                format!("({ty}) is required but was not given"),
                            ));
                        }
                        None => {}
                    }
                }
                Ok(())
            }
            // Not an input type: validation refuses the variable.
            _ => Ok(()),
        }
    }
}

/// Parses a scalar's value as async-graphql will when the operation runs; None for a scalar
/// this does not know, left to run (and to fail with BAD_USER_INPUT there).
fn scalar(name: &str, value: &Value) -> Option<Result<(), String>> {
    fn parse<T: InputType>(value: &Value) -> Result<(), String> {
        T::parse(Some(value.clone())).map(drop).map_err(|e| e.into_server_error(Pos::default()).message)
    }
    Some(match name {
        // Not cloned: an import's CSV travels in a String variable.
        "String" if matches!(value, Value::String(_)) => Ok(()),
        "String" => parse::<String>(value),
        "Int" => parse::<i32>(value),
        "Float" => parse::<f64>(value),
        "Boolean" => parse::<bool>(value),
        "ID" => parse::<ID>(value),
        "Date" => parse::<crate::scalars::Date>(value),
        "DateTime" => parse::<chrono::DateTime<chrono::Utc>>(value),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> Types {
        Types::from_sdl(&crate::sdl()).expect("our SDL parses")
    }

    #[test]
    fn every_scalar_of_the_schema_is_parsed_before_running() {
        for (name, def) in &types().types {
            if matches!(def, Def::Scalar) && !name.starts_with("__") {
                assert!(scalar(name, &Value::Null).is_some(), "scalar {name} has no parser in `scalar`");
            }
        }
    }

    #[test]
    fn values_coerce_as_the_spec_says() {
        let types = types();
        let ty = |t: &str| Type::new(t).unwrap();
        let value = |v: serde_json::Value| Value::from_json(v).unwrap();
        assert!(types.coerce(&ty("Int"), &value(serde_json::json!(5))).is_ok());
        assert!(types.coerce(&ty("[Int!]"), &value(serde_json::json!(5))).is_ok(), "one value for a list");
        let (at, why) = types.coerce(&ty("[Int!]!"), &value(serde_json::json!([1, null]))).unwrap_err();
        assert_eq!((at.as_str(), why.as_str()), ("[1]", "must not be null (Int!)"));
        assert!(types.coerce(&ty("Int"), &value(serde_json::json!(99_999_999_999_i64))).is_err());
        assert!(types.coerce(&ty("Float"), &value(serde_json::json!(1))).is_ok());
        assert!(types.coerce(&ty("ID"), &value(serde_json::json!(7))).is_ok());
        assert!(types.coerce(&ty("Boolean"), &value(serde_json::json!("true"))).is_err());
        assert!(types.coerce(&ty("Date"), &value(serde_json::json!("2026-02-30"))).is_err());
        assert!(types.coerce(&ty("Unknown"), &value(serde_json::json!({}))).is_ok(), "left to validation");
    }
}
