//! KQL tree → Elasticsearch query DSL, one function per KQL function as in Kibana's
//! `kuery/functions/*.ts` (`and`, `or`, `not`, `is`, `range`, `nested`).
//!
//! Without a data view every field is taken as written and values are matched with `match` /
//! `match_phrase`; with a [`DataView`], field types pick the query (`term` and `wildcard` for
//! keyword fields, `range` for exact dates), wildcard field names expand to the matching fields
//! and nested fields are checked and wrapped, as Kibana does.

use serde_json::{json, Map, Value};

use super::ast::{js_string, Node, RangeOp, Scalar, Term, WILDCARD_SYMBOL};
use super::error::KqlError;
use super::parser::{parse_with, ParseOptions};

/// One field of a [`DataView`] (the parts of Kibana's `DataViewFieldBase` the translation uses).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSpec {
    /// The full field name (`machine.os.keyword`).
    pub name: String,
    /// Kibana's field type (`string`, `number`, `date`, `boolean`, …).
    pub field_type: String,
    /// The Elasticsearch mapping types (`["keyword"]`); a field with exactly `keyword` gets
    /// `term` and `wildcard` queries.
    pub es_types: Vec<String>,
    /// The path of the nested object the field is in (Kibana's `subType.nested.path`).
    pub nested_path: Option<String>,
}

/// The fields of an index, as a Kibana data view describes them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataView {
    /// The fields, in data-view order (the order of the clauses a wildcard field expands to).
    pub fields: Vec<FieldSpec>,
}

/// Kibana's `KueryQueryOptions` (and the nested `KqlContext`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DslOptions {
    /// `filtersInMustClause`: `and` puts its children in `bool.must` instead of `bool.filter`.
    pub filters_in_must_clause: bool,
    /// `dateFormatTZ`: the `time_zone` of range queries on date fields (not for epoch values).
    /// Passed through as given (Kibana replaces `Browser` by the browser's zone).
    pub date_format_tz: Option<String>,
    /// `nestedIgnoreUnmapped`: sets `ignore_unmapped` on the `nested` queries.
    pub nested_ignore_unmapped: Option<bool>,
    /// `caseInsensitive`: sets `case_insensitive` on `term` and `wildcard` queries.
    pub case_insensitive: Option<bool>,
    /// Kibana's `context.nested.path`: translate as if inside `path: { … }`.
    pub nested_context: Option<String>,
}

impl DataView {
    /// Reads Kibana's field list JSON: `[{"name", "type", "esTypes"?, "subType"?: {"nested":
    /// {"path"}}, "scripted"?}, …]`. Scripted fields are not supported.
    pub fn from_kibana_fields(json: &Value) -> Result<DataView, KqlError> {
        let list = json
            .as_array()
            .ok_or_else(|| KqlError::invalid_ast("expected an array of fields".to_string()))?;
        let fields = list.iter().map(field_from_json).collect::<Result<_, _>>()?;
        Ok(DataView { fields })
    }

    /// Kibana's `getFields`: the field named by a literal, or all fields a wildcard matches.
    fn matching(&self, name: &Term) -> Vec<&FieldSpec> {
        match name {
            Term::Literal {
                value: Scalar::String(s),
                ..
            } => self
                .fields
                .iter()
                .find(|f| &f.name == s)
                .into_iter()
                .collect(),
            Term::Literal { .. } => Vec::new(),
            Term::Wildcard(pattern) => self
                .fields
                .iter()
                .filter(|f| wildcard_matches(pattern, &f.name))
                .collect(),
        }
    }
}

fn field_from_json(json: &Value) -> Result<FieldSpec, KqlError> {
    let text = |key: &str| json.get(key).and_then(Value::as_str).map(str::to_string);
    let name = text("name")
        .ok_or_else(|| KqlError::invalid_ast(format!("field without a name: {json}")))?;
    if json.get("scripted").and_then(Value::as_bool) == Some(true) {
        return Err(KqlError::invalid_ast(format!(
            "scripted field {name} is not supported"
        )));
    }
    let es_types = json
        .get("esTypes")
        .and_then(Value::as_array)
        .map(|types| types.iter().filter_map(Value::as_str).map(str::to_string))
        .into_iter()
        .flatten()
        .collect();
    let nested_path = json
        .pointer("/subType/nested/path")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(FieldSpec {
        name,
        field_type: text("type").unwrap_or_default(),
        es_types,
        nested_path,
    })
}

/// Translates a tree without a data view (what Kibana does with no data view, and what Elastic
/// Security's rule executor runs when it has none).
pub fn to_dsl(node: &Node) -> Value {
    let options = DslOptions::default();
    let mut translator = Translator::new(None, &options);
    translator.node(node, None)
}

/// Translates a tree with a data view. Fails, as Kibana does, when a nested field is queried
/// outside its nested group (or a plain field inside one).
pub fn to_dsl_with(node: &Node, view: &DataView) -> Result<Value, KqlError> {
    to_dsl_opts(node, Some(view), &DslOptions::default())
}

/// Translates a tree with an optional data view and Kibana's query options.
pub fn to_dsl_opts(
    node: &Node,
    view: Option<&DataView>,
    options: &DslOptions,
) -> Result<Value, KqlError> {
    let mut translator = Translator::new(view, options);
    let context = options.nested_context.clone().map(Value::String);
    let dsl = translator.node(node, context.as_ref());
    match translator.error {
        Some(error) => Err(error),
        None => Ok(dsl),
    }
}

/// Kibana's `buildEsQuery` for one KQL query and no filters: the query's DSL inside
/// `bool.filter` (or `bool.must`), in a `bool` with all four clauses, `match_all` removed.
pub fn build_es_query(
    query: &str,
    view: Option<&DataView>,
    parse_options: &ParseOptions,
    options: &DslOptions,
) -> Result<Value, KqlError> {
    let node = parse_with(query, parse_options)?;
    let dsl = to_dsl_opts(&Node::And(vec![node]), view, options)?;
    let clause = |name: &str, drop_match_all: bool| -> Value {
        let items = dsl["bool"][name].as_array().cloned().unwrap_or_default();
        let match_all = json!({"match_all": {}});
        Value::Array(
            items
                .into_iter()
                .filter(|q| !drop_match_all || *q != match_all)
                .collect(),
        )
    };
    Ok(json!({"bool": {
        "must": clause("must", true),
        "filter": clause("filter", true),
        "should": clause("should", true),
        "must_not": clause("must_not", false),
    }}))
}

/// A field a leaf query runs on: a data-view field, or the name as written.
struct Target<'v> {
    /// The name; not necessarily a string when taken as written (`true: x`).
    name: Value,
    spec: Option<&'v FieldSpec>,
}

impl Target<'_> {
    fn key(&self) -> String {
        js_string(&self.name)
    }

    fn is_date(&self) -> bool {
        self.spec.is_some_and(|f| f.field_type == "date")
    }

    /// Kibana's `isKeywordField`: exactly one mapping type, `keyword`.
    fn is_keyword(&self) -> bool {
        self.spec.is_some_and(|f| f.es_types == ["keyword"])
    }

    fn nested_path(&self) -> Option<&str> {
        self.spec.and_then(|f| f.nested_path.as_deref())
    }
}

struct Translator<'a> {
    view: Option<&'a DataView>,
    options: &'a DslOptions,
    /// The first data-view error (Kibana throws it).
    error: Option<KqlError>,
}

/// Kibana's `KqlContext`: `Some(path)` inside a nested group (the path need not be a string).
type Context<'c> = Option<&'c Value>;

impl<'a> Translator<'a> {
    fn new(view: Option<&'a DataView>, options: &'a DslOptions) -> Translator<'a> {
        Translator {
            view,
            options,
            error: None,
        }
    }

    fn node(&mut self, node: &Node, context: Context) -> Value {
        match node {
            Node::Is { field, value } => self.is(field, value, context),
            Node::Range { field, op, value } => self.range(field, *op, value, context),
            Node::Nested { path, query } => self.nested(path, query, context),
            Node::And(children) => self.and(children, context),
            Node::Or(children) => self.or(children, context),
            Node::Not(child) => self.not(child, context),
        }
    }

    fn children(&mut self, children: &[Node], context: Context) -> Value {
        Value::Array(children.iter().map(|c| self.node(c, context)).collect())
    }

    /// `and.ts`: `bool.filter` (or `bool.must`) of the children.
    fn and(&mut self, children: &[Node], context: Context) -> Value {
        let key = if self.options.filters_in_must_clause {
            "must"
        } else {
            "filter"
        };
        let clauses = self.children(children, context);
        json!({"bool": object(key, clauses)})
    }

    /// `or.ts`: `bool.should` of the children, one must match.
    fn or(&mut self, children: &[Node], context: Context) -> Value {
        let clauses = self.children(children, context);
        json!({"bool": {"should": clauses, "minimum_should_match": 1}})
    }

    /// `not.ts`: `bool.must_not` of the child (an object, not a list).
    fn not(&mut self, child: &Node, context: Context) -> Value {
        json!({"bool": {"must_not": self.node(child, context)}})
    }

    /// `nested.ts`: a `nested` query whose child is translated inside the (full) path.
    fn nested(&mut self, path: &Term, child: &Node, context: Context) -> Value {
        let path = match context.filter(|c| truthy(c)) {
            Some(outer) => Value::String(format!("{}.{}", js_string(outer), path.display())),
            None => path.es_value(),
        };
        let query = self.node(child, Some(&path));
        let mut body = json!({"path": path, "query": query, "score_mode": "none"});
        self.add_ignore_unmapped(&mut body);
        json!({ "nested": body })
    }

    /// `is.ts`: `field: value`.
    fn is(&mut self, field: &Term, value: &Term, context: Context) -> Value {
        let exists = value.is_lone_wildcard();
        if exists && field.is_lone_wildcard() {
            return json!({"match_all": {}});
        }
        let full = self.full_field_name(field, context);
        if full.is_null() {
            return free_text(value);
        }
        let queries = self
            .targets(&full)
            .into_iter()
            .map(|target| {
                let query = self.is_query(&target, value, exists);
                self.wrap_nested(&target, &full, context, query)
            })
            .collect();
        should(queries)
    }

    /// The leaf query of `is` on one field.
    fn is_query(&self, target: &Target, value: &Term, exists: bool) -> Value {
        let key = target.key();
        if exists {
            return json!({"exists": {"field": target.name}});
        }
        if let Term::Wildcard(_) = value {
            let pattern = query_string_pattern(value);
            if target.is_keyword() {
                let mut body = json!({ "value": pattern });
                self.add_case_insensitive(&mut body);
                return json!({"wildcard": object(&key, body)});
            }
            return json!({"query_string": {"fields": [target.name], "query": pattern}});
        }
        let quoted = value.is_quoted();
        let value = value.es_value();
        if target.is_date() {
            let mut bounds = json!({"gte": value, "lte": value});
            self.add_time_zone(&mut bounds, &value);
            return json!({"range": object(&key, bounds)});
        }
        if target.is_keyword() {
            let mut body = json!({ "value": value });
            self.add_case_insensitive(&mut body);
            return json!({"term": object(&key, body)});
        }
        let query = if quoted { "match_phrase" } else { "match" };
        json!({ query: object(&key, value) })
    }

    /// `range.ts`: `field < value` and friends.
    fn range(&mut self, field: &Term, op: RangeOp, value: &Term, context: Context) -> Value {
        let full = self.full_field_name(field, context);
        let value = value.es_value();
        let queries = self
            .targets(&full)
            .into_iter()
            .map(|target| {
                let mut params = object(op.name(), value.clone());
                if target.is_date() {
                    self.add_time_zone(&mut params, &value);
                }
                let query = json!({"range": object(&target.key(), params)});
                self.wrap_nested(&target, &full, context, query)
            })
            .collect();
        should(queries)
    }

    /// Kibana's `getFullFieldNameNode`: the name prefixed by the nested path, checked against
    /// the data view's nested fields.
    fn full_field_name(&mut self, field: &Term, context: Context) -> Term {
        let path = context.filter(|c| truthy(c));
        let full = match path {
            Some(path) => prefixed(path, field),
            None => field.clone(),
        };
        let is_wildcard = matches!(full, Term::Wildcard(_));
        if let Some(view) = self.view {
            if !(is_wildcard && path.is_none()) {
                self.check_nesting(view, &full, context);
            }
        }
        full
    }

    /// The nested-path errors of `getFullFieldNameNode`, one per offending field.
    fn check_nesting(&mut self, view: &DataView, full: &Term, context: Context) {
        let in_group = context.is_some_and(truthy);
        let messages: Vec<String> = view
            .matching(full)
            .into_iter()
            .filter_map(|field| nesting_error(field, context, in_group))
            .collect();
        if !messages.is_empty() && self.error.is_none() {
            self.error = Some(KqlError::data_view(&messages));
        }
    }

    /// The fields a leaf query runs on: the data view's matching fields, or else the name as
    /// written.
    fn targets(&self, full: &Term) -> Vec<Target<'a>> {
        let fields = self.view.map(|v| v.matching(full)).unwrap_or_default();
        if fields.is_empty() {
            return vec![Target {
                name: full.es_value(),
                spec: None,
            }];
        }
        fields
            .into_iter()
            .map(|f| Target {
                name: Value::String(f.name.clone()),
                spec: Some(f),
            })
            .collect()
    }

    /// Kibana's `wrapWithNestedQuery`: a wildcard field name outside any nested group that hits
    /// a nested field gets a `nested` query around the leaf.
    fn wrap_nested(&self, target: &Target, full: &Term, context: Context, query: Value) -> Value {
        let path = match target.nested_path() {
            Some(path) if matches!(full, Term::Wildcard(_)) && context.is_none() => path,
            _ => return query,
        };
        let mut body = json!({"path": path, "query": query, "score_mode": "none"});
        self.add_ignore_unmapped(&mut body);
        json!({ "nested": body })
    }

    fn add_ignore_unmapped(&self, body: &mut Value) {
        if let (Some(flag), Some(map)) = (self.options.nested_ignore_unmapped, body.as_object_mut())
        {
            map.insert("ignore_unmapped".to_string(), Value::Bool(flag));
        }
    }

    fn add_case_insensitive(&self, body: &mut Value) {
        if let (Some(flag), Some(map)) = (self.options.case_insensitive, body.as_object_mut()) {
            map.insert("case_insensitive".to_string(), Value::Bool(flag));
        }
    }

    /// `time_zone` for date fields, unless the value is an epoch (a number or all digits).
    fn add_time_zone(&self, params: &mut Value, value: &Value) {
        let zone = self
            .options
            .date_format_tz
            .as_deref()
            .filter(|z| !z.is_empty());
        if let (Some(zone), false, Some(map)) = (zone, is_epoch(value), params.as_object_mut()) {
            map.insert("time_zone".to_string(), Value::String(zone.to_string()));
        }
    }
}

/// `is` without a field: `query_string` for wildcards, else a lenient `multi_match`.
fn free_text(value: &Term) -> Value {
    if let Term::Wildcard(_) = value {
        return json!({"query_string": {"query": query_string_pattern(value)}});
    }
    let kind = if value.is_quoted() {
        "phrase"
    } else {
        "best_fields"
    };
    json!({"multi_match": {"type": kind, "query": value.es_value(), "lenient": true}})
}

/// `{"bool": {"should": queries, "minimum_should_match": 1}}`
fn should(queries: Vec<Value>) -> Value {
    json!({"bool": {"should": queries, "minimum_should_match": 1}})
}

/// The one error `getFullFieldNameNode` reports for a field, if any.
fn nesting_error(field: &FieldSpec, context: Context, in_group: bool) -> Option<String> {
    let name = &field.name;
    let own = field.nested_path.as_deref();
    if in_group && own.is_none() {
        let group = context.map(js_string).unwrap_or_default();
        return Some(format!(
            "{name} is not a nested field but is in nested group \"{group}\" in the KQL expression."
        ));
    }
    if own.is_some() && !in_group {
        return Some(format!(
            "{name} is a nested field, but is not in a nested group in the KQL expression."
        ));
    }
    let same = match (own, context) {
        (None, None) => true,
        (Some(own), Some(Value::String(group))) => own == group,
        _ => false,
    };
    (!same).then(|| {
        format!(
            "Nested field {name} is being queried with the incorrect nested path. The correct \
             path is {}.",
            own.unwrap_or("undefined")
        )
    })
}

/// `${nestedPath}.${name}`, keeping the term's kind.
fn prefixed(path: &Value, field: &Term) -> Term {
    let path = js_string(path);
    match field {
        Term::Literal { value, quoted } => Term::Literal {
            value: Scalar::String(format!("{path}.{}", js_string(&value.to_json()))),
            quoted: *quoted,
        },
        Term::Wildcard(pattern) => Term::Wildcard(format!("{path}.{pattern}")),
    }
}

/// Kibana's `wildcard.toQueryStringQuery`: query_string syntax escaped, wildcards as `*`.
fn query_string_pattern(value: &Term) -> String {
    match value {
        Term::Wildcard(pattern) => pattern
            .split(WILDCARD_SYMBOL)
            .map(escape_query_string)
            .collect::<Vec<_>>()
            .join("*"),
        Term::Literal { .. } => js_string(&value.es_value()),
    }
}

/// Kibana's `escapeQueryString`: a backslash before each of `+-=&|><!(){}[]^"~*?:\/`.
/// Whitespace is left as is, as Kibana does.
fn escape_query_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "+-=&|><!(){}[]^\"~*?:\\/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Kibana's `wildcard.test`: the whole name matches the pattern, a wildcard matching anything.
fn wildcard_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split(WILDCARD_SYMBOL).collect();
    let (first, last) = match parts.as_slice() {
        [only] => return *only == name,
        [first, .., last] => (*first, *last),
        [] => return false,
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Epoch values (numbers, or digit-only strings) get no `time_zone`.
fn is_epoch(value: &Value) -> bool {
    match value {
        Value::Number(_) => true,
        Value::String(s) => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The JSON object `{key: value}`.
fn object(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_string(), value);
    Value::Object(map)
}
