//! Index mappings: which type each field has, so queries can use the type's semantics.
//!
//! [`Mapping::from_json`] reads what Elasticsearch accepts and returns: a bare
//! `{"properties": …}`, `{"mappings": …}`, an index-template body `{"template": {"mappings": …}}`
//! or a `GET <index>/_mapping` answer `{"<index>": {"mappings": …}}`. It understands objects
//! (explicit or through dotted property names), `nested`, multi-fields (`"fields"`),
//! `flattened`, `alias`, `runtime` fields without a script, `ignore_above`, `index`,
//! `doc_values`, `null_value`, `copy_to`, `dynamic` (true/false/strict/runtime) and
//! `dynamic_templates` (`match`, `unmatch`, `path_match`, `path_unmatch`,
//! `match_mapping_type`, `unmatch_mapping_type`, `match_pattern`, `{name}`/`{dynamic_type}`).
//!
//! Fields that are not mapped get Elasticsearch's dynamic mapping
//! ([`Mapping::dynamic_mapping`]): a string becomes `text` with a `keyword` sub-field
//! (`ignore_above: 256`) unless date detection recognises a date, an integer becomes `long`,
//! a float `float`, a boolean `boolean`, an object `object`.

use crate::dsl::date::DateFormat;
use crate::dsl::error::DslError;
use crate::dsl::pattern::simple_match;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Elasticsearch field types that eshunt knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// `keyword`: exact values.
    Keyword,
    /// `constant_keyword`: one value for the whole index.
    ConstantKeyword,
    /// `wildcard`: a keyword optimised for wildcard search; same matching as keyword.
    Wildcard,
    /// `text`: analysed full text.
    Text,
    /// `match_only_text`: text without scoring or positions on disk; matches like text.
    MatchOnlyText,
    /// `date`: millisecond resolution.
    Date,
    /// `date_nanos`: nanosecond resolution.
    DateNanos,
    /// `boolean`.
    Boolean,
    /// `long`.
    Long,
    /// `integer`.
    Integer,
    /// `short`.
    Short,
    /// `byte`.
    Byte,
    /// `double`.
    Double,
    /// `float` (values rounded to 32-bit precision).
    Float,
    /// `half_float` (values rounded to 16-bit precision).
    HalfFloat,
    /// `scaled_float` (values stored as `round(value * scaling_factor)`).
    ScaledFloat,
    /// `unsigned_long`.
    UnsignedLong,
    /// `ip`: IPv4 and IPv6 addresses.
    Ip,
    /// `flattened`: every leaf of an object indexed as a keyword.
    Flattened,
    /// `object`: a JSON object with its own sub-fields.
    Object,
    /// `nested`: an array of objects, each indexed as its own hidden document.
    Nested,
    /// `alias`: another name for the field at `path`.
    Alias,
    /// Any other type (geo_point, binary, dense_vector, …): stored, but not evaluated by eshunt.
    Other,
}

impl FieldType {
    /// The type for an Elasticsearch type name.
    pub fn from_name(name: &str) -> FieldType {
        match name {
            "keyword" | "version" => FieldType::Keyword,
            "constant_keyword" => FieldType::ConstantKeyword,
            "wildcard" => FieldType::Wildcard,
            "text" => FieldType::Text,
            "match_only_text" => FieldType::MatchOnlyText,
            "date" => FieldType::Date,
            "date_nanos" => FieldType::DateNanos,
            "boolean" => FieldType::Boolean,
            "long" => FieldType::Long,
            "integer" => FieldType::Integer,
            "short" => FieldType::Short,
            "byte" => FieldType::Byte,
            "double" => FieldType::Double,
            "float" => FieldType::Float,
            "half_float" => FieldType::HalfFloat,
            "scaled_float" => FieldType::ScaledFloat,
            "unsigned_long" => FieldType::UnsignedLong,
            "ip" => FieldType::Ip,
            "flattened" | "flat_object" => FieldType::Flattened,
            "object" => FieldType::Object,
            "nested" => FieldType::Nested,
            "alias" => FieldType::Alias,
            _ => FieldType::Other,
        }
    }

    /// Whether values of this type are whole keywords (term-level queries compare whole values).
    pub fn is_keyword_like(self) -> bool {
        matches!(
            self,
            FieldType::Keyword
                | FieldType::ConstantKeyword
                | FieldType::Wildcard
                | FieldType::Flattened
        )
    }

    /// Whether values of this type are analysed text.
    pub fn is_text(self) -> bool {
        matches!(self, FieldType::Text | FieldType::MatchOnlyText)
    }

    /// Whether this type holds sub-fields rather than values.
    pub fn is_object(self) -> bool {
        matches!(self, FieldType::Object | FieldType::Nested)
    }
}

/// The `dynamic` setting of an object: what happens to fields that are not mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    /// New fields are mapped and indexed (the default).
    True,
    /// New fields are kept in `_source` but not indexed: queries do not see them.
    False,
    /// Documents with new fields are rejected.
    Strict,
    /// New fields become runtime fields (strings as `keyword`).
    Runtime,
}

impl Dynamic {
    fn parse(v: &Value) -> Option<Dynamic> {
        match v {
            Value::Bool(true) => Some(Dynamic::True),
            Value::Bool(false) => Some(Dynamic::False),
            Value::String(s) => match s.as_str() {
                "true" => Some(Dynamic::True),
                "false" => Some(Dynamic::False),
                "strict" => Some(Dynamic::Strict),
                "runtime" => Some(Dynamic::Runtime),
                _ => None,
            },
            _ => None,
        }
    }
}

/// The mapping of one field (or multi-field, or object).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMapping {
    /// The field's type.
    pub ty: FieldType,
    /// The type name as written (useful for [`FieldType::Other`]).
    pub type_name: String,
    /// Where the field's values live in `_source`: the field's own path, or the parent's path
    /// for a multi-field (`user.name.text` reads `user.name`).
    pub source_path: String,
    /// Values longer than this many characters are not indexed (keyword, wildcard, flattened).
    pub ignore_above: Option<usize>,
    /// `index` (default true).
    pub index: bool,
    /// `doc_values` (default true for types that have them).
    pub doc_values: bool,
    /// `null_value`: indexed in place of an explicit JSON `null`.
    pub null_value: Option<Value>,
    /// `format` of a date field.
    pub format: Option<String>,
    /// `value` of a `constant_keyword` field.
    pub constant_value: Option<String>,
    /// `scaling_factor` of a `scaled_float` field.
    pub scaling_factor: Option<f64>,
    /// `analyzer` of a text field.
    pub analyzer: Option<String>,
    /// `search_analyzer` of a text field.
    pub search_analyzer: Option<String>,
    /// `normalizer` of a keyword field (only the built-in `lowercase` is evaluated).
    pub normalizer: Option<String>,
    /// `path` of an `alias` field.
    pub alias_path: Option<String>,
    /// `copy_to` targets.
    pub copy_to: Vec<String>,
    /// `dynamic` of an object, when set.
    pub dynamic: Option<Dynamic>,
    /// `enabled` of an object (default true): a disabled object is not indexed at all.
    pub enabled: bool,
    /// `include_in_parent` of a nested field.
    pub include_in_parent: bool,
    /// `include_in_root` of a nested field.
    pub include_in_root: bool,
    /// Whether the field is defined in the mapping's `runtime` section.
    pub runtime: bool,
    /// Multi-fields, by their short name.
    pub fields: BTreeMap<String, FieldMapping>,
    /// Every parameter as written, except `properties` and `fields` (kept for [`Mapping::to_json`]).
    pub params: Map<String, Value>,
}

impl FieldMapping {
    /// Reads one field definition; `path` is its full name, `source_path` where its values are.
    fn parse(path: &str, source_path: &str, def: &Value) -> Result<FieldMapping, DslError> {
        let obj = def
            .as_object()
            .ok_or_else(|| DslError::mapping(format!("Expected map for property [{path}]")))?;
        let type_name = match obj.get("type") {
            Some(Value::String(t)) => t.clone(),
            Some(_) => {
                return Err(DslError::mapping(format!(
                    "No type specified for field [{path}]"
                )))
            }
            None => "object".to_string(),
        };
        let ty = FieldType::from_name(&type_name);
        let str_param = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        let bool_param = |k: &str, default: bool| match obj.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => default,
        };
        let mut params = obj.clone();
        params.remove("properties");
        params.remove("fields");
        let format = str_param("format");
        if let Some(f) = &format {
            if matches!(ty, FieldType::Date | FieldType::DateNanos) {
                DateFormat::parse(f)?;
            }
        }
        let mut fm = FieldMapping {
            ty,
            type_name,
            source_path: source_path.to_string(),
            ignore_above: obj.get("ignore_above").and_then(as_usize),
            index: bool_param("index", true),
            doc_values: bool_param("doc_values", !ty.is_text()),
            null_value: obj.get("null_value").filter(|v| !v.is_null()).cloned(),
            format,
            constant_value: obj.get("value").and_then(scalar_string),
            scaling_factor: obj.get("scaling_factor").and_then(as_f64),
            analyzer: str_param("analyzer"),
            search_analyzer: str_param("search_analyzer"),
            normalizer: str_param("normalizer"),
            alias_path: str_param("path"),
            copy_to: string_list(obj.get("copy_to")),
            dynamic: obj.get("dynamic").and_then(Dynamic::parse),
            enabled: bool_param("enabled", true),
            include_in_parent: bool_param("include_in_parent", false),
            include_in_root: bool_param("include_in_root", false),
            runtime: false,
            fields: BTreeMap::new(),
            params,
        };
        if ty == FieldType::ScaledFloat && fm.scaling_factor.is_none() {
            return Err(DslError::mapping(format!(
                "Field [scaling_factor] is required for field [{path}]"
            )));
        }
        if let Some(Value::Object(subs)) = obj.get("fields") {
            for (name, sub) in subs {
                let sub_path = format!("{path}.{name}");
                let sub_fm = FieldMapping::parse(&sub_path, source_path, sub)?;
                fm.fields.insert(name.clone(), sub_fm);
            }
        }
        Ok(fm)
    }

    /// An object mapping created implicitly for the parent of a dotted name; it has no
    /// parameters of its own, so [`Mapping::to_json`] writes only its `properties`.
    fn implicit_object(path: &str) -> FieldMapping {
        FieldMapping {
            ty: FieldType::Object,
            type_name: "object".to_string(),
            source_path: path.to_string(),
            ignore_above: None,
            index: true,
            doc_values: false,
            null_value: None,
            format: None,
            constant_value: None,
            scaling_factor: None,
            analyzer: None,
            search_analyzer: None,
            normalizer: None,
            alias_path: None,
            copy_to: Vec::new(),
            dynamic: None,
            enabled: true,
            include_in_parent: false,
            include_in_root: false,
            runtime: false,
            fields: BTreeMap::new(),
            params: Map::new(),
        }
    }

    /// A field of type `ty_name` with default parameters (used for metadata fields such as
    /// `_id`).
    pub(crate) fn synthetic(ty_name: &str, path: &str) -> FieldMapping {
        FieldMapping::parse(path, path, &json!({ "type": ty_name }))
            .unwrap_or_else(|_| FieldMapping::implicit_object(path))
    }

    /// The definition as Elasticsearch JSON (without `properties`, which [`Mapping::to_json`]
    /// adds for objects).
    fn to_json(&self) -> Value {
        let mut out = self.params.clone();
        if !self.fields.is_empty() {
            let subs: Map<String, Value> = self
                .fields
                .iter()
                .map(|(k, f)| (k.clone(), f.to_json()))
                .collect();
            out.insert("fields".to_string(), Value::Object(subs));
        }
        Value::Object(out)
    }

    /// The search analyzer (the `search_analyzer`, else the `analyzer`, else `standard`).
    pub fn search_analyzer_name(&self) -> &str {
        self.search_analyzer
            .as_deref()
            .or(self.analyzer.as_deref())
            .unwrap_or("standard")
    }
}

fn as_usize(v: &Value) -> Option<usize> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|u| usize::try_from(u).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// One entry of `dynamic_templates`.
#[derive(Debug, Clone, PartialEq)]
struct DynamicTemplate {
    name: String,
    matches: Vec<String>,
    unmatches: Vec<String>,
    path_matches: Vec<String>,
    path_unmatches: Vec<String>,
    mapping_types: Vec<String>,
    unmatch_mapping_types: Vec<String>,
    regex: bool,
    /// The `mapping` (or `runtime`) body, with `{name}`/`{dynamic_type}` placeholders.
    mapping: Value,
    /// The template as written, for [`Mapping::to_json`].
    raw: Value,
}

impl DynamicTemplate {
    fn parse(entry: &Value) -> Result<DynamicTemplate, DslError> {
        let obj = entry.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
            DslError::mapping("each dynamic template must be an object with one named entry")
        })?;
        let (name, body) = obj
            .iter()
            .next()
            .ok_or_else(|| DslError::mapping("empty dynamic template"))?;
        let body_obj = body.as_object().ok_or_else(|| {
            DslError::mapping(format!("dynamic template [{name}] must be an object"))
        })?;
        let mapping = body_obj
            .get("mapping")
            .or_else(|| body_obj.get("runtime"))
            .cloned()
            .ok_or_else(|| {
                DslError::mapping(format!(
                    "template [{name}] must have either mapping or runtime set"
                ))
            })?;
        let regex = body_obj.get("match_pattern").and_then(Value::as_str) == Some("regex");
        let t = DynamicTemplate {
            name: name.clone(),
            matches: string_list(body_obj.get("match")),
            unmatches: string_list(body_obj.get("unmatch")),
            path_matches: string_list(body_obj.get("path_match")),
            path_unmatches: string_list(body_obj.get("path_unmatch")),
            mapping_types: string_list(body_obj.get("match_mapping_type")),
            unmatch_mapping_types: string_list(body_obj.get("unmatch_mapping_type")),
            regex,
            mapping,
            raw: entry.clone(),
        };
        if regex {
            for p in t.matches.iter().chain(&t.unmatches) {
                regex::Regex::new(p).map_err(|e| {
                    DslError::mapping(format!("invalid match pattern [{p}] in [{name}]: {e}"))
                })?;
            }
        }
        Ok(t)
    }

    fn name_matches(&self, pattern: &str, name: &str) -> bool {
        if self.regex {
            regex::Regex::new(pattern).is_ok_and(|r| r.is_match(name))
        } else {
            simple_match(pattern, name)
        }
    }

    /// Whether the template applies to a field at `path` whose JSON kind is `kind`.
    fn applies(&self, path: &str, kind: &str) -> bool {
        let name = path.rsplit('.').next().unwrap_or(path);
        let type_ok = self.mapping_types.is_empty()
            || self.mapping_types.iter().any(|t| t == "*" || t == kind);
        let type_excluded = self.unmatch_mapping_types.iter().any(|t| t == kind);
        let any = |pats: &[String], f: &dyn Fn(&str) -> bool| pats.iter().any(|p| f(p));
        type_ok
            && !type_excluded
            && (self.matches.is_empty() || any(&self.matches, &|p| self.name_matches(p, name)))
            && !any(&self.unmatches, &|p| self.name_matches(p, name))
            && (self.path_matches.is_empty() || any(&self.path_matches, &|p| simple_match(p, path)))
            && !any(&self.path_unmatches, &|p| simple_match(p, path))
    }

    /// The template's mapping for a field, placeholders filled in. `{dynamic_type}` is the
    /// type dynamic mapping would pick (`text` for strings, `float` for floating point).
    fn instantiate(&self, name: &str, kind: &str) -> Value {
        fn fill(v: &Value, name: &str, ty: &str) -> Value {
            match v {
                Value::String(s) => {
                    Value::String(s.replace("{name}", name).replace("{dynamic_type}", ty))
                }
                Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, name, ty)).collect()),
                Value::Object(o) => Value::Object(
                    o.iter()
                        .map(|(k, x)| (k.clone(), fill(x, name, ty)))
                        .collect(),
                ),
                other => other.clone(),
            }
        }
        let ty = match kind {
            "string" => "text",
            "double" => "float",
            other => other,
        };
        let mut m = fill(&self.mapping, name, ty);
        if let Value::Object(o) = &mut m {
            o.entry("type")
                .or_insert_with(|| Value::String(ty.to_string()));
        }
        m
    }
}

/// An index mapping: field paths to [`FieldMapping`]s, object paths, and dynamic-mapping rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Every mapped field by full path: leaves, multi-fields, objects and nested objects.
    fields: BTreeMap<String, FieldMapping>,
    dynamic_templates: Vec<DynamicTemplate>,
    dynamic: Dynamic,
    date_detection: bool,
    numeric_detection: bool,
    dynamic_date_formats: Vec<String>,
    /// Root parameters kept verbatim for [`Mapping::to_json`] (`_source`, `_meta`, …).
    root_params: Map<String, Value>,
}

impl Default for Mapping {
    fn default() -> Self {
        Mapping {
            fields: BTreeMap::new(),
            dynamic_templates: Vec::new(),
            dynamic: Dynamic::True,
            date_detection: true,
            numeric_detection: false,
            dynamic_date_formats: default_dynamic_date_formats(),
            root_params: Map::new(),
        }
    }
}

fn default_dynamic_date_formats() -> Vec<String> {
    vec![
        "strict_date_optional_time".to_string(),
        "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z".to_string(),
    ]
}

/// Root keys of a mapping that are not kept verbatim.
const ROOT_KEYS: [&str; 7] = [
    "properties",
    "dynamic_templates",
    "dynamic",
    "date_detection",
    "numeric_detection",
    "dynamic_date_formats",
    "runtime",
];

impl Mapping {
    /// An empty mapping: every field is dynamic.
    pub fn new() -> Mapping {
        Mapping::default()
    }

    /// Reads a mapping from Elasticsearch JSON; see the module documentation for the accepted
    /// shapes.
    pub fn from_json(v: &Value) -> Result<Mapping, DslError> {
        let root = locate_mappings(v)?;
        let mut m = Mapping::default();
        if let Some(d) = root.get("dynamic") {
            m.dynamic = Dynamic::parse(d)
                .ok_or_else(|| DslError::mapping(format!("invalid dynamic value [{d}]")))?;
        }
        if let Some(Value::Bool(b)) = root.get("date_detection") {
            m.date_detection = *b;
        }
        if let Some(Value::Bool(b)) = root.get("numeric_detection") {
            m.numeric_detection = *b;
        }
        if root.contains_key("dynamic_date_formats") {
            m.dynamic_date_formats = string_list(root.get("dynamic_date_formats"));
            for f in &m.dynamic_date_formats {
                DateFormat::parse(f)?;
            }
        }
        match root.get("dynamic_templates") {
            Some(Value::Array(ts)) => {
                for t in ts {
                    m.dynamic_templates.push(DynamicTemplate::parse(t)?);
                }
            }
            Some(_) => return Err(DslError::mapping("dynamic_templates must be an array")),
            None => {}
        }
        if let Some(props) = root.get("properties") {
            m.add_properties("", props)?;
        }
        if let Some(Value::Object(rt)) = root.get("runtime") {
            for (name, def) in rt {
                m.add_runtime(name, def)?;
            }
        }
        m.root_params = root
            .iter()
            .filter(|(k, _)| !ROOT_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(m)
    }

    fn add_properties(&mut self, prefix: &str, props: &Value) -> Result<(), DslError> {
        let props = props.as_object().ok_or_else(|| {
            DslError::mapping(format!("properties of [{prefix}] must be an object"))
        })?;
        for (name, def) in props {
            if name.is_empty() || name.split('.').any(str::is_empty) {
                return Err(DslError::mapping(format!(
                    "field name [{name}] cannot be empty or contain empty parts"
                )));
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            self.ensure_parents(&path);
            self.add_field(&path, def)?;
        }
        Ok(())
    }

    /// Creates implicit object mappings for the parents of a dotted name (`a.b.c` → `a`, `a.b`).
    fn ensure_parents(&mut self, path: &str) {
        for (i, _) in path.match_indices('.') {
            let parent = &path[..i];
            if !self.fields.contains_key(parent) {
                self.fields
                    .insert(parent.to_string(), FieldMapping::implicit_object(parent));
            }
        }
    }

    fn add_field(&mut self, path: &str, def: &Value) -> Result<(), DslError> {
        let fm = FieldMapping::parse(path, path, def)?;
        if fm.ty.is_object() {
            if let Some(props) = def.get("properties") {
                self.add_properties(path, props)?;
            }
        }
        self.insert_with_subfields(path, fm);
        Ok(())
    }

    /// Inserts a field and registers each multi-field under its full path.
    fn insert_with_subfields(&mut self, path: &str, fm: FieldMapping) {
        for (name, sub) in &fm.fields {
            self.fields.insert(format!("{path}.{name}"), sub.clone());
        }
        self.fields.insert(path.to_string(), fm);
    }

    /// A runtime field: without a script it reads `_source` like an indexed field; with one,
    /// eshunt cannot compute it, so it is recorded as [`FieldType::Other`].
    fn add_runtime(&mut self, name: &str, def: &Value) -> Result<(), DslError> {
        let mut fm = FieldMapping::parse(name, name, def)?;
        if def.get("script").is_some() {
            fm.ty = FieldType::Other;
        }
        fm.runtime = true;
        self.fields.insert(name.to_string(), fm);
        Ok(())
    }

    /// Adds every field of `other`; a field mapped in both takes `other`'s definition (as a later
    /// component template overrides an earlier one). Dynamic templates with the same name are
    /// replaced, others appended.
    pub fn merge(&mut self, other: &Mapping) {
        for (path, fm) in &other.fields {
            let implicit_object = fm.ty == FieldType::Object && fm.params.is_empty();
            if implicit_object && self.fields.contains_key(path) {
                continue;
            }
            self.fields.insert(path.clone(), fm.clone());
        }
        for t in &other.dynamic_templates {
            match self.dynamic_templates.iter_mut().find(|x| x.name == t.name) {
                Some(existing) => *existing = t.clone(),
                None => self.dynamic_templates.push(t.clone()),
            }
        }
        if other.dynamic != Dynamic::True {
            self.dynamic = other.dynamic;
        }
        if !other.date_detection {
            self.date_detection = false;
        }
        if other.numeric_detection {
            self.numeric_detection = true;
        }
        if other.dynamic_date_formats != default_dynamic_date_formats() {
            self.dynamic_date_formats = other.dynamic_date_formats.clone();
        }
        for (k, v) in &other.root_params {
            self.root_params.insert(k.clone(), v.clone());
        }
    }

    /// The mapping of a field, multi-field or object by full path.
    pub fn field(&self, path: &str) -> Option<&FieldMapping> {
        self.fields.get(path)
    }

    /// Every mapped path (fields, multi-fields and objects), sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// Every mapped path that is a searchable leaf (not an object, alias or runtime script).
    pub(crate) fn leaf_paths(&self) -> impl Iterator<Item = (&str, &FieldMapping)> {
        self.fields
            .iter()
            .filter(|(_, f)| {
                !f.ty.is_object() && !matches!(f.ty, FieldType::Alias | FieldType::Other)
            })
            .map(|(k, f)| (k.as_str(), f))
    }

    /// If `path` is, or lies under, a `flattened` field, returns the field's path and the key
    /// inside it (empty for the field itself).
    pub(crate) fn flattened_root<'p>(&self, path: &'p str) -> Option<(&'p str, &'p str)> {
        if self
            .fields
            .get(path)
            .is_some_and(|f| f.ty == FieldType::Flattened)
        {
            return Some((path, ""));
        }
        path.match_indices('.').find_map(|(i, _)| {
            let root = &path[..i];
            self.fields
                .get(root)
                .filter(|f| f.ty == FieldType::Flattened)
                .map(|_| (root, &path[i + 1..]))
        })
    }

    /// The innermost `nested` object that contains `path` (not `path` itself).
    pub(crate) fn nested_scope<'p>(&self, path: &'p str) -> Option<&'p str> {
        path.match_indices('.')
            .rev()
            .map(|(i, _)| &path[..i])
            .find(|p| {
                self.fields
                    .get(*p)
                    .is_some_and(|f| f.ty == FieldType::Nested)
            })
    }

    /// Whether `path` may carry a dynamically mapped field: no ancestor is a leaf field, a
    /// disabled object, or an object whose effective `dynamic` is `false` or `strict`.
    /// Returns the effective `dynamic` setting when it may.
    pub(crate) fn dynamic_allowed(&self, path: &str) -> Option<Dynamic> {
        let mut effective = self.dynamic;
        for (i, _) in path.match_indices('.') {
            let Some(anc) = self.fields.get(&path[..i]) else {
                continue;
            };
            if !anc.ty.is_object() || !anc.enabled {
                return None;
            }
            if let Some(d) = anc.dynamic {
                effective = d;
            }
        }
        match effective {
            Dynamic::True | Dynamic::Runtime => Some(effective),
            Dynamic::False | Dynamic::Strict => None,
        }
    }

    /// The default dynamic mapping type of a JSON value, ignoring templates and date detection:
    /// string → text, integer → long, float → float, boolean → boolean, object → object
    /// (an array takes the type of its first non-null element; `null` → object).
    pub fn dynamic_for(value: &Value) -> FieldType {
        match value {
            Value::String(_) => FieldType::Text,
            Value::Number(n) if n.is_f64() => FieldType::Float,
            Value::Number(_) => FieldType::Long,
            Value::Bool(_) => FieldType::Boolean,
            Value::Array(a) => a
                .iter()
                .find(|x| !x.is_null())
                .map_or(FieldType::Object, Mapping::dynamic_for),
            Value::Object(_) | Value::Null => FieldType::Object,
        }
    }

    /// The value-kind detector of this mapping (date and numeric detection settings).
    pub(crate) fn detector(&self) -> Detector {
        Detector {
            date_detection: self.date_detection,
            numeric_detection: self.numeric_detection,
            formats: self
                .dynamic_date_formats
                .iter()
                .filter_map(|f| DateFormat::parse(f).ok().map(|df| (f.clone(), df)))
                .collect(),
        }
    }

    /// The mapping Elasticsearch would create for an unmapped field at `path` holding `value`:
    /// dynamic templates first, then the defaults. `None` when the value is null, or dynamic
    /// mapping is off for that path.
    pub fn dynamic_mapping(&self, path: &str, value: &Value) -> Option<FieldMapping> {
        let detector = self.detector();
        let kind = detector.kind(value)?;
        let format = match kind {
            "date" => first_string(value).and_then(|s| detector.date_format(s)),
            _ => None,
        };
        self.dynamic_mapping_for_kind(path, kind, format)
    }

    /// The dynamic mapping for a value of `kind` (`string`, `date`, `long`, `double`, `boolean`, `object`) at `path`;
    /// `date_format` is the detected format of a date string, when known.
    pub(crate) fn dynamic_mapping_for_kind(
        &self,
        path: &str,
        kind: &str,
        date_format: Option<&str>,
    ) -> Option<FieldMapping> {
        let mode = self.dynamic_allowed(path)?;
        let name = path.rsplit('.').next().unwrap_or(path);
        if let Some(t) = self
            .dynamic_templates
            .iter()
            .find(|t| t.applies(path, kind))
        {
            let def = t.instantiate(name, kind);
            if let Ok(fm) = FieldMapping::parse(path, path, &def) {
                return Some(fm);
            }
        }
        let def = match (kind, mode) {
            ("string", Dynamic::Runtime) => json!({"type": "keyword"}),
            ("string", _) => {
                json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
            }
            ("date", _) => {
                let all = self.dynamic_date_formats.join("||");
                json!({"type": "date", "format": date_format.unwrap_or(&all)})
            }
            ("long", _) => json!({"type": "long"}),
            ("double", Dynamic::Runtime) => json!({"type": "double"}),
            ("double", _) => json!({"type": "float"}),
            ("boolean", _) => json!({"type": "boolean"}),
            _ => json!({"type": "object"}),
        };
        FieldMapping::parse(path, path, &def).ok()
    }

    /// Adds the dynamic mappings a document would create, as indexing it into Elasticsearch
    /// does (new fields only; existing mappings are kept).
    pub fn update_dynamic(&mut self, doc: &Value) {
        if let Value::Object(map) = doc {
            for (k, v) in map {
                self.learn(k, v);
            }
        }
    }

    fn learn(&mut self, path: &str, value: &Value) {
        if path.split('.').any(|p| p.trim().is_empty()) {
            // Elasticsearch rejects such field names.
            return;
        }
        if self.flattened_root(path).is_some() {
            return;
        }
        if let Value::Array(items) = value {
            for item in items {
                self.learn(path, item);
            }
            return;
        }
        if let Some(existing) = self.fields.get(path) {
            if existing.ty.is_object() && existing.enabled {
                if let Value::Object(map) = value {
                    for (k, v) in map {
                        self.learn(&format!("{path}.{k}"), v);
                    }
                }
            }
            return;
        }
        let Some(fm) = self.dynamic_mapping(path, value) else {
            return;
        };
        self.ensure_parents(path);
        let is_object = fm.ty.is_object();
        self.insert_with_subfields(path, fm);
        if is_object {
            if let Value::Object(map) = value {
                for (k, v) in map {
                    self.learn(&format!("{path}.{k}"), v);
                }
            }
        }
    }

    /// The mapping as Elasticsearch JSON (`{"dynamic_templates": …, "properties": …}`), ready to
    /// be used as `mappings` of an index or index template.
    pub fn to_json(&self) -> Value {
        let mut root = self.root_params.clone();
        if self.dynamic != Dynamic::True {
            let d = match self.dynamic {
                Dynamic::False => json!(false),
                Dynamic::Strict => json!("strict"),
                Dynamic::Runtime => json!("runtime"),
                Dynamic::True => json!(true),
            };
            root.insert("dynamic".to_string(), d);
        }
        if !self.date_detection {
            root.insert("date_detection".to_string(), json!(false));
        }
        if self.numeric_detection {
            root.insert("numeric_detection".to_string(), json!(true));
        }
        if self.dynamic_date_formats != default_dynamic_date_formats() {
            root.insert(
                "dynamic_date_formats".to_string(),
                json!(self.dynamic_date_formats),
            );
        }
        if !self.dynamic_templates.is_empty() {
            let ts: Vec<Value> = self
                .dynamic_templates
                .iter()
                .map(|t| t.raw.clone())
                .collect();
            root.insert("dynamic_templates".to_string(), Value::Array(ts));
        }
        let mut runtime = Map::new();
        let mut props = Map::new();
        for (path, fm) in &self.fields {
            if fm.runtime {
                runtime.insert(path.clone(), fm.to_json());
            } else if self.is_top_level_definition(path) {
                props.insert(path.clone(), self.field_json(path, fm));
            }
        }
        if !runtime.is_empty() {
            root.insert("runtime".to_string(), Value::Object(runtime));
        }
        root.insert("properties".to_string(), Value::Object(props));
        Value::Object(root)
    }

    /// Whether `path` has no mapped parent object (so it is written at the top level).
    fn is_top_level_definition(&self, path: &str) -> bool {
        !path.contains('.')
    }

    /// A field's JSON, with `properties` for objects built from the fields under it.
    fn field_json(&self, path: &str, fm: &FieldMapping) -> Value {
        let mut v = fm.to_json();
        if fm.ty.is_object() {
            let prefix = format!("{path}.");
            let mut props = Map::new();
            for (child, cfm) in self.fields.range(prefix.clone()..) {
                let Some(rest) = child.strip_prefix(&prefix) else {
                    break;
                };
                if rest.contains('.') || cfm.runtime {
                    continue;
                }
                props.insert(rest.to_string(), self.field_json(child, cfm));
            }
            if let Value::Object(o) = &mut v {
                o.insert("properties".to_string(), Value::Object(props));
            }
        }
        v
    }
}

/// Decides the dynamic-mapping kind of a value (`string`, `date`, `long`, `double`,
/// `boolean`, `object`), with the mapping's date and numeric detection settings.
#[derive(Debug, Clone)]
pub(crate) struct Detector {
    date_detection: bool,
    numeric_detection: bool,
    /// `dynamic_date_formats`, as written and parsed.
    formats: Vec<(String, DateFormat)>,
}

impl Detector {
    /// The kind of a value; arrays take the kind of their first non-null element.
    pub(crate) fn kind(&self, value: &Value) -> Option<&'static str> {
        match value {
            Value::Null => None,
            Value::Bool(_) => Some("boolean"),
            Value::Number(n) if n.is_f64() => Some("double"),
            Value::Number(_) => Some("long"),
            Value::Object(_) => Some("object"),
            Value::Array(a) => a.iter().find_map(|x| self.kind(x)),
            Value::String(s) => Some(self.string_kind(s)),
        }
    }

    /// Date detection only tries strings containing `:`, `-` or `/`, as Elasticsearch does.
    fn string_kind(&self, s: &str) -> &'static str {
        if self.date_detection && s.contains([':', '-', '/']) && self.date_format(s).is_some() {
            return "date";
        }
        if self.numeric_detection {
            if s.parse::<i64>().is_ok() {
                return "long";
            }
            if s.parse::<f64>().is_ok_and(f64::is_finite) {
                return "double";
            }
        }
        "string"
    }

    /// The first `dynamic_date_formats` entry that parses `s`.
    fn date_format(&self, s: &str) -> Option<&str> {
        self.formats
            .iter()
            .find(|(_, f)| f.parse_instant(s, false, 0).is_some())
            .map(|(name, _)| name.as_str())
    }
}

fn first_string(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Array(a) => a.iter().find_map(first_string),
        _ => None,
    }
}

/// Finds the `{"properties": …}` object inside the accepted wrappers.
fn locate_mappings(v: &Value) -> Result<&Map<String, Value>, DslError> {
    let obj = v
        .as_object()
        .ok_or_else(|| DslError::mapping("a mapping must be a JSON object"))?;
    if let Some(t) = obj.get("template") {
        if let Some(m) = t.get("mappings") {
            return locate_mappings(m);
        }
        return Ok(&EMPTY);
    }
    if let Some(m) = obj.get("mappings") {
        return locate_mappings(m);
    }
    if obj.len() == 1 {
        if let Some((_, inner)) = obj.iter().next() {
            if inner.get("mappings").is_some() {
                return locate_mappings(inner);
            }
        }
    }
    Ok(obj)
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_dotted_and_multi_fields() {
        let m = Mapping::from_json(&json!({"mappings": {"properties": {
            "user": {"properties": {"name": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}}}},
            "a.b": {"type": "long"},
            "tags": {"type": "nested", "properties": {"k": {"type": "keyword"}}}
        }}}))
        .unwrap();
        assert_eq!(m.field("user").unwrap().ty, FieldType::Object);
        assert_eq!(m.field("user.name").unwrap().ty, FieldType::Keyword);
        let sub = m.field("user.name.text").unwrap();
        assert_eq!(sub.ty, FieldType::MatchOnlyText);
        assert_eq!(sub.source_path, "user.name");
        assert_eq!(m.field("a").unwrap().ty, FieldType::Object);
        assert_eq!(m.field("a.b").unwrap().ty, FieldType::Long);
        assert_eq!(m.nested_scope("tags.k"), Some("tags"));
        assert_eq!(m.nested_scope("user.name"), None);
    }

    #[test]
    fn template_body_and_round_trip() {
        let body = json!({"template": {"mappings": {"properties": {"x": {"type": "keyword", "ignore_above": 10}}}}});
        let m = Mapping::from_json(&body).unwrap();
        assert_eq!(m.field("x").unwrap().ignore_above, Some(10));
        let again = Mapping::from_json(&m.to_json()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn default_dynamic_mapping() {
        let m = Mapping::new();
        let s = m.dynamic_mapping("msg", &json!("hello")).unwrap();
        assert_eq!(s.ty, FieldType::Text);
        assert_eq!(s.fields["keyword"].ignore_above, Some(256));
        assert_eq!(
            m.dynamic_mapping("t", &json!("2024-01-01T00:00:00Z"))
                .unwrap()
                .ty,
            FieldType::Date
        );
        assert_eq!(
            m.dynamic_mapping("n", &json!(3)).unwrap().ty,
            FieldType::Long
        );
        assert_eq!(
            m.dynamic_mapping("f", &json!(3.5)).unwrap().ty,
            FieldType::Float
        );
        assert_eq!(
            m.dynamic_mapping("b", &json!([null, true])).unwrap().ty,
            FieldType::Boolean
        );
        assert!(m.dynamic_mapping("z", &json!(null)).is_none());
        // "2024" has no ':', '-' or '/', so date detection does not try it.
        assert_eq!(
            m.dynamic_mapping("y", &json!("2024")).unwrap().ty,
            FieldType::Text
        );
        assert_eq!(Mapping::dynamic_for(&json!("x")), FieldType::Text);
    }

    #[test]
    fn dynamic_templates_apply_in_order() {
        let m = Mapping::from_json(&json!({
            "dynamic_templates": [
                {"ips": {"path_match": "*.ip", "match_mapping_type": "string", "mapping": {"type": "ip"}}},
                {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}}
            ],
            "properties": {}
        }))
        .unwrap();
        assert_eq!(
            m.dynamic_mapping("source.ip", &json!("1.2.3.4"))
                .unwrap()
                .ty,
            FieldType::Ip
        );
        let kw = m.dynamic_mapping("foo", &json!("x")).unwrap();
        assert_eq!((kw.ty, kw.ignore_above), (FieldType::Keyword, Some(1024)));
    }

    #[test]
    fn dynamic_false_hides_unmapped_fields() {
        let m = Mapping::from_json(
            &json!({"properties": {"o": {"type": "object", "dynamic": false, "properties": {}}}}),
        )
        .unwrap();
        assert!(m.dynamic_mapping("o.x", &json!("v")).is_none());
        assert!(m.dynamic_mapping("p", &json!("v")).is_some());
    }

    #[test]
    fn update_dynamic_learns_fields() {
        let mut m = Mapping::new();
        m.update_dynamic(&json!({"a": {"b": "text", "c.d": 1}, "e": [1.5]}));
        assert_eq!(m.field("a.b").unwrap().ty, FieldType::Text);
        assert_eq!(m.field("a.b.keyword").unwrap().ty, FieldType::Keyword);
        assert_eq!(m.field("a.c.d").unwrap().ty, FieldType::Long);
        assert_eq!(m.field("e").unwrap().ty, FieldType::Float);
    }
}
