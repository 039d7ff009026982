//! Composable index templates and component templates: storing them as ES validates them, and
//! composing the settings and mapping of a new index (or data stream backing index) from the
//! highest-priority template whose `index_patterns` match its name.

use crate::error::EsError;
use esquery::dsl::pattern::simple_match;
use esquery::dsl::Mapping;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A stored composable index template.
#[derive(Debug, Clone)]
pub(crate) struct IndexTemplate {
    pub name: String,
    /// The body as stored (`index_patterns` always a list).
    pub body: Value,
    pub patterns: Vec<String>,
    pub priority: i64,
    pub composed_of: Vec<String>,
    /// `data_stream: {…}` present: matching names become data streams.
    pub data_stream: bool,
}

/// What a template gives a new index.
#[derive(Debug, Clone)]
pub(crate) struct Composed {
    pub settings: BTreeMap<String, String>,
    pub mapping: Mapping,
}

/// All templates of the cluster.
#[derive(Debug, Default)]
pub(crate) struct Templates {
    index: BTreeMap<String, IndexTemplate>,
    component: BTreeMap<String, Value>,
}

const INDEX_TEMPLATE_KEYS: [&str; 10] = [
    "index_patterns",
    "composed_of",
    "template",
    "priority",
    "version",
    "_meta",
    "data_stream",
    "allow_auto_create",
    "ignore_missing_component_templates",
    "deprecated",
];

impl Templates {
    /// `PUT /_index_template/{name}`.
    pub fn put_index(
        &mut self,
        name: &str,
        body: Value,
        create_only: bool,
        forbidden_types: &[&str],
    ) -> Result<(), EsError> {
        if create_only && self.index.contains_key(name) {
            return Err(EsError::illegal_argument(format!(
                "index template [{name}] already exists"
            )));
        }
        let template = parse_index_template(name, body)?;
        let missing: Vec<&str> = template
            .composed_of
            .iter()
            .filter(|c| !self.component.contains_key(*c))
            .filter(|c| !ignored_missing(&template.body, c))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(EsError::new(
                400,
                "invalid_index_template_exception",
                format!(
                    "index_template [{name}] invalid, cause [index template [{name}] specifies component templates {missing:?} that do not exist]"
                ),
            ));
        }
        self.check_overlap(&template)?;
        let composed = self.compose(&template)?;
        check_types(&composed.mapping.to_json(), forbidden_types, "")?;
        self.index.insert(name.to_string(), template);
        Ok(())
    }

    /// Refuses a template overlapping another with the same priority (ES cannot choose).
    fn check_overlap(&self, t: &IndexTemplate) -> Result<(), EsError> {
        for other in self.index.values() {
            if other.name == t.name || other.priority != t.priority {
                continue;
            }
            let overlaps = t.patterns.iter().any(|a| {
                other
                    .patterns
                    .iter()
                    .any(|b| simple_match(a, b) || simple_match(b, a))
            });
            if overlaps {
                return Err(EsError::illegal_argument(format!(
                    "index template [{}] has index patterns {:?} matching patterns from existing templates [{}] with patterns ({} => {:?}) that have the same priority [{}], multiple index templates may not match during index creation, please use a different priority",
                    t.name, t.patterns, other.name, other.name, other.patterns, t.priority
                )));
            }
        }
        Ok(())
    }

    /// `PUT /_component_template/{name}`.
    pub fn put_component(
        &mut self,
        name: &str,
        body: Value,
        create_only: bool,
        forbidden_types: &[&str],
    ) -> Result<(), EsError> {
        if create_only && self.component.contains_key(name) {
            return Err(EsError::illegal_argument(format!(
                "component template [{name}] already exists"
            )));
        }
        let Some(template) = body.get("template") else {
            return Err(EsError::validation(&["template is missing"]));
        };
        if let Some(m) = template.get("mappings") {
            let mapping = Mapping::from_json(&json!({ "mappings": m })).map_err(mapping_error)?;
            check_types(&mapping.to_json(), forbidden_types, "")?;
        }
        self.component.insert(name.to_string(), body);
        Ok(())
    }

    /// `GET /_index_template[/{names}]`.
    pub fn get_index(&self, names: Option<&str>) -> Result<Value, EsError> {
        let found: Vec<Value> = self
            .index
            .values()
            .filter(|t| names.is_none_or(|n| name_matches(n, &t.name)))
            .map(|t| json!({"name": t.name, "index_template": t.body}))
            .collect();
        match names {
            Some(n) if found.is_empty() => Err(EsError::new(
                404,
                "resource_not_found_exception",
                format!("index template matching [{n}] not found"),
            )),
            _ => Ok(json!({ "index_templates": found })),
        }
    }

    /// `GET /_component_template[/{names}]`.
    pub fn get_component(&self, names: Option<&str>) -> Result<Value, EsError> {
        let found: Vec<Value> = self
            .component
            .iter()
            .filter(|(k, _)| names.is_none_or(|n| name_matches(n, k)))
            .map(|(k, v)| json!({"name": k, "component_template": v}))
            .collect();
        match names {
            Some(n) if found.is_empty() => Err(EsError::new(
                404,
                "resource_not_found_exception",
                format!("component template matching [{n}] not found"),
            )),
            _ => Ok(json!({ "component_templates": found })),
        }
    }

    /// `DELETE /_index_template/{names}`.
    pub fn delete_index(&mut self, names: &str) -> Result<(), EsError> {
        let doomed: Vec<String> = self
            .index
            .keys()
            .filter(|k| name_matches(names, k))
            .cloned()
            .collect();
        if doomed.is_empty() {
            return Err(EsError::new(
                404,
                "index_template_missing_exception",
                format!("index_template [{names}] missing"),
            ));
        }
        for k in doomed {
            self.index.remove(&k);
        }
        Ok(())
    }

    /// `DELETE /_component_template/{names}`; components still in use cannot go.
    pub fn delete_component(&mut self, names: &str) -> Result<(), EsError> {
        let doomed: Vec<String> = self
            .component
            .keys()
            .filter(|k| name_matches(names, k))
            .cloned()
            .collect();
        if doomed.is_empty() {
            return Err(EsError::new(
                404,
                "resource_not_found_exception",
                names.to_string(),
            ));
        }
        let users: Vec<&str> = self
            .index
            .values()
            .filter(|t| t.composed_of.iter().any(|c| doomed.contains(c)))
            .map(|t| t.name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(EsError::illegal_argument(format!(
                "component templates {doomed:?} cannot be removed as they are still in use by index templates {users:?}"
            )));
        }
        for k in doomed {
            self.component.remove(&k);
        }
        Ok(())
    }

    /// The index template called `name`.
    pub fn index_template(&self, name: &str) -> Option<IndexTemplate> {
        self.index.get(name).cloned()
    }

    /// The highest-priority template matching a new index or data stream name.
    pub fn find(&self, index_name: &str) -> Option<&IndexTemplate> {
        self.index
            .values()
            .filter(|t| t.patterns.iter().any(|p| simple_match(p, index_name)))
            .max_by_key(|t| t.priority)
    }

    /// The settings and mapping a template gives: its components in order, then its own.
    pub fn compose(&self, t: &IndexTemplate) -> Result<Composed, EsError> {
        let mut settings = BTreeMap::new();
        let mut mapping = Mapping::new();
        let own = t.body.get("template");
        let parts = t
            .composed_of
            .iter()
            .filter_map(|c| self.component.get(c).and_then(|b| b.get("template")))
            .chain(own);
        for part in parts {
            if let Some(s) = part.get("settings") {
                settings.extend(flatten_settings(s));
            }
            if let Some(m) = part.get("mappings") {
                let piece = Mapping::from_json(&json!({ "mappings": m })).map_err(mapping_error)?;
                mapping.merge(&piece);
            }
        }
        if t.data_stream && mapping.field("@timestamp").is_none() {
            let ts = Mapping::from_json(&json!({"properties": {"@timestamp": {"type": "date"}}}))
                .map_err(mapping_error)?;
            mapping.merge(&ts);
        }
        Ok(Composed { settings, mapping })
    }
}

fn ignored_missing(body: &Value, component: &str) -> bool {
    body["ignore_missing_component_templates"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c.as_str() == Some(component)))
}

fn parse_index_template(name: &str, body: Value) -> Result<IndexTemplate, EsError> {
    let Value::Object(mut obj) = body else {
        return Err(EsError::parsing("request body is required"));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !INDEX_TEMPLATE_KEYS.contains(&k.as_str()))
    {
        return Err(EsError::new(
            400,
            "x_content_parse_exception",
            format!("[1:2] [index_template] unknown field [{k}]"),
        ));
    }
    let patterns = string_list(obj.get("index_patterns"));
    if patterns.is_empty() {
        return Err(EsError::validation(&["index patterns are missing"]));
    }
    obj.insert("index_patterns".into(), json!(patterns));
    let composed_of = string_list(obj.get("composed_of"));
    obj.insert("composed_of".into(), json!(composed_of));
    let data_stream = obj.get("data_stream").is_some_and(Value::is_object);
    if data_stream {
        let ds = obj
            .get_mut("data_stream")
            .and_then(Value::as_object_mut)
            .map(std::mem::take)
            .unwrap_or_default();
        obj.insert("data_stream".into(), data_stream_options(ds));
    }
    Ok(IndexTemplate {
        name: name.to_string(),
        priority: obj.get("priority").and_then(Value::as_i64).unwrap_or(0),
        body: Value::Object(obj),
        patterns,
        composed_of,
        data_stream,
    })
}

fn data_stream_options(mut ds: Map<String, Value>) -> Value {
    ds.entry("hidden").or_insert(json!(false));
    ds.entry("allow_custom_routing").or_insert(json!(false));
    Value::Object(ds)
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `name` matches a comma list of names/wildcards (`*` and `_all` match all).
pub(crate) fn name_matches(names: &str, name: &str) -> bool {
    names
        .split(',')
        .any(|n| n == "_all" || simple_match(n, name))
}

/// Settings in any of ES's spellings, flattened to `index.*` keys with string values.
pub(crate) fn flatten_settings(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten_into(v, "", &mut out);
    out.into_iter()
        .map(|(k, v)| {
            if k.starts_with("index.") {
                (k, v)
            } else {
                (format!("index.{k}"), v)
            }
        })
        .collect()
}

fn flatten_into(v: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_into(child, &key, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// A mapping error as ES answers it.
pub(crate) fn mapping_error(e: esquery::dsl::DslError) -> EsError {
    let text = e.to_string();
    let reason = text
        .strip_prefix("mapper_parsing_exception: ")
        .unwrap_or(&text);
    EsError::new(400, "mapper_parsing_exception", reason.to_string())
}

/// Refuses field types this flavour does not have (OpenSearch has no `flattened`).
pub(crate) fn check_types(mapping: &Value, forbidden: &[&str], path: &str) -> Result<(), EsError> {
    let Some(props) = mapping.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    for (name, def) in props {
        let full = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        if let Some(t) = def.get("type").and_then(Value::as_str) {
            if forbidden.contains(&t) {
                return Err(EsError::new(
                    400,
                    "mapper_parsing_exception",
                    format!("No handler for type [{t}] declared on field [{name}]"),
                ));
            }
        }
        check_types(def, forbidden, &full)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_components_then_own_mapping() {
        let mut t = Templates::default();
        t.put_component(
            "c1",
            json!({"template": {"mappings": {"properties": {"a": {"type": "keyword"}}}, "settings": {"number_of_shards": 1}}}),
            false,
            &[],
        )
        .unwrap();
        t.put_index(
            "t1",
            json!({"index_patterns": ["logs-*"], "composed_of": ["c1"], "data_stream": {},
                   "template": {"mappings": {"properties": {"b": {"type": "long"}}}}}),
            false,
            &[],
        )
        .unwrap();
        let found = t.find("logs-x").unwrap();
        assert!(found.data_stream);
        let c = t.compose(found).unwrap();
        assert!(c.mapping.field("a").is_some());
        assert!(c.mapping.field("b").is_some());
        assert!(c.mapping.field("@timestamp").is_some());
        assert_eq!(c.settings["index.number_of_shards"], "1");
        assert!(t.delete_component("c1").is_err());
        assert!(t.find("other").is_none());
    }

    #[test]
    fn validates_like_es() {
        let mut t = Templates::default();
        let e = t
            .put_index("x", json!({"template": {}}), false, &[])
            .unwrap_err();
        assert_eq!(e.kind, "action_request_validation_exception");
        let e = t
            .put_index(
                "x",
                json!({"index_patterns": "a*", "composed_of": ["nope"]}),
                false,
                &[],
            )
            .unwrap_err();
        assert_eq!(e.kind, "invalid_index_template_exception");
        t.put_index("x", json!({"index_patterns": "a*"}), false, &[])
            .unwrap();
        let e = t
            .put_index("y", json!({"index_patterns": "ab*"}), false, &[])
            .unwrap_err();
        assert!(e.reason.contains("same priority"));
        let e = t
            .put_index(
                "z",
                json!({"index_patterns": "z*", "template": {"mappings": {"properties": {"f": {"type": "flattened"}}}}}),
                false,
                &["flattened"],
            )
            .unwrap_err();
        assert_eq!(e.kind, "mapper_parsing_exception");
    }
}
