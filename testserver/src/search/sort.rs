//! Sorting: the `sort` clause, the per-index resolution of each sort field against the mapping
//! (with ES's errors for text fields, unmapped fields and `_id`), the sort values of each hit
//! (what ES returns in `hits[].sort`), and the comparison used for ordering and `search_after`.
//!
//! Multi-valued fields sort on their minimum ascending and their maximum descending. A missing
//! numeric value sorts last as ES does, by standing in for `Long.MAX_VALUE`/`MIN_VALUE`; a missing
//! keyword sorts last with a `null` sort value.

use crate::error::EsError;
use esquery::dsl::{FieldType, Mapping};
use serde_json::{json, Value};
use std::cmp::Ordering;

/// What a sort clause sorts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortKey {
    /// `_score`.
    Score,
    /// `_doc`: index order.
    Doc,
    /// `_shard_doc`: shard and index order (the point-in-time tiebreaker).
    ShardDoc,
    /// `_id`.
    Id,
    /// A field.
    Field(String),
}

/// Where documents without a value go.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Missing {
    Last,
    First,
    Value(Value),
}

/// One sort clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SortSpec {
    pub key: SortKey,
    pub desc: bool,
    pub missing: Missing,
    pub unmapped_type: Option<String>,
}

impl SortSpec {
    fn new(key: SortKey) -> SortSpec {
        let desc = key == SortKey::Score;
        SortSpec {
            key,
            desc,
            missing: Missing::Last,
            unmapped_type: None,
        }
    }

    /// The `_shard_doc` tiebreaker ES appends to sorted point-in-time searches.
    pub fn shard_doc() -> SortSpec {
        SortSpec::new(SortKey::ShardDoc)
    }
}

/// Parses a `sort` clause: a string, an object, or a list of them.
pub(crate) fn parse_sort(v: &Value) -> Result<Vec<SortSpec>, EsError> {
    match v {
        Value::Array(items) => items.iter().map(parse_one).collect(),
        other => Ok(vec![parse_one(other)?]),
    }
}

/// Parses the URL form `a:asc,b`.
pub(crate) fn parse_sort_param(text: &str) -> Result<Vec<SortSpec>, EsError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| match s.rsplit_once(':') {
            Some((f, o)) => parse_one(&json!({ f: o })),
            None => parse_one(&json!(s)),
        })
        .collect()
}

fn key_of(name: &str) -> SortKey {
    match name {
        "_score" => SortKey::Score,
        "_doc" => SortKey::Doc,
        "_shard_doc" => SortKey::ShardDoc,
        "_id" => SortKey::Id,
        f => SortKey::Field(f.to_string()),
    }
}

fn parse_one(v: &Value) -> Result<SortSpec, EsError> {
    match v {
        Value::String(name) => Ok(SortSpec::new(key_of(name))),
        Value::Object(o) if o.len() == 1 => {
            let (name, opts) = o.iter().next().expect("one entry");
            let mut spec = SortSpec::new(key_of(name));
            match opts {
                Value::String(order) => spec.desc = parse_order(order)?,
                Value::Object(opts) => {
                    for (k, v) in opts {
                        match k.as_str() {
                            "order" => spec.desc = parse_order(v.as_str().unwrap_or(""))?,
                            "missing" => {
                                spec.missing = match v.as_str() {
                                    Some("_last") => Missing::Last,
                                    Some("_first") => Missing::First,
                                    _ => Missing::Value(v.clone()),
                                }
                            }
                            "unmapped_type" => spec.unmapped_type = v.as_str().map(str::to_string),
                            "mode" | "format" | "numeric_type" => {}
                            other => {
                                return Err(EsError::parsing(format!(
                                    "[field_sort] unknown field [{other}]"
                                )))
                            }
                        }
                    }
                }
                _ => {
                    return Err(EsError::parsing(format!(
                        "[sort] malformed sort for [{name}]"
                    )))
                }
            }
            Ok(spec)
        }
        _ => Err(EsError::parsing("[sort] malformed sort clause")),
    }
}

fn parse_order(order: &str) -> Result<bool, EsError> {
    match order.to_ascii_lowercase().as_str() {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(EsError::illegal_argument(format!(
            "No sort order for [{other}]"
        ))),
    }
}

/// A sort value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortValue {
    /// No value (keywords; numbers use sentinels).
    Missing,
    Long(i64),
    Double(f64),
    Str(Box<str>),
}

impl SortValue {
    /// As ES writes it in `hits[].sort`.
    pub fn to_json(&self) -> Value {
        match self {
            SortValue::Missing => Value::Null,
            SortValue::Long(n) => json!(n),
            SortValue::Double(d) => json!(d),
            SortValue::Str(s) => json!(s),
        }
    }

    fn cmp_same(&self, other: &SortValue) -> Ordering {
        match (self, other) {
            (SortValue::Long(a), SortValue::Long(b)) => a.cmp(b),
            (SortValue::Double(a), SortValue::Double(b)) => a.total_cmp(b),
            (SortValue::Long(a), SortValue::Double(b)) => (*a as f64).total_cmp(b),
            (SortValue::Double(a), SortValue::Long(b)) => a.total_cmp(&(*b as f64)),
            (SortValue::Str(a), SortValue::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
            (SortValue::Str(_), _) => Ordering::Greater,
            (_, SortValue::Str(_)) => Ordering::Less,
            // Missing only meets non-strings here; handled by the caller.
            _ => Ordering::Equal,
        }
    }
}

/// The kind of values a sort field yields in one index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ValueKind {
    Keyword,
    Long,
    Double,
    Date,
    Bool,
}

/// A sort clause resolved against one index's mapping.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedSort {
    pub spec: SortSpec,
    /// For fields: where the values are in `_source`, their kind, and `ignore_above`.
    field: Option<(String, ValueKind, Option<usize>)>,
}

/// Resolves every clause against `mapping`; errors are the shard's failure.
pub(crate) fn resolve(
    specs: &[SortSpec],
    mapping: &Mapping,
    id_sort_refused: bool,
    shard_doc_missing: bool,
) -> Result<Vec<ResolvedSort>, EsError> {
    specs
        .iter()
        .map(|spec| {
            let field = match &spec.key {
                SortKey::Field(f) => Some(resolve_field(f, spec, mapping)?),
                SortKey::Id if id_sort_refused => return Err(EsError::illegal_argument(
                    "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled",
                )),
                SortKey::ShardDoc if shard_doc_missing => return Err(no_mapping("_shard_doc")),
                _ => None,
            };
            Ok(ResolvedSort {
                spec: spec.clone(),
                field,
            })
        })
        .collect()
}

fn no_mapping(field: &str) -> EsError {
    EsError::new(
        400,
        "query_shard_exception",
        format!("No mapping found for [{field}] in order to sort on"),
    )
}

fn resolve_field(
    name: &str,
    spec: &SortSpec,
    mapping: &Mapping,
) -> Result<(String, ValueKind, Option<usize>), EsError> {
    let Some(fm) = mapping.field(name) else {
        return match spec.unmapped_type.as_deref().and_then(kind_of_name) {
            Some(kind) => Ok((name.to_string(), kind, None)),
            None => Err(no_mapping(name)),
        };
    };
    let kind = match fm.ty {
        FieldType::Keyword | FieldType::ConstantKeyword | FieldType::Ip | FieldType::Wildcard => {
            ValueKind::Keyword
        }
        FieldType::Long
        | FieldType::Integer
        | FieldType::Short
        | FieldType::Byte
        | FieldType::UnsignedLong => ValueKind::Long,
        FieldType::Double | FieldType::Float | FieldType::HalfFloat | FieldType::ScaledFloat => {
            ValueKind::Double
        }
        FieldType::Date | FieldType::DateNanos => ValueKind::Date,
        FieldType::Boolean => ValueKind::Bool,
        FieldType::Text | FieldType::MatchOnlyText => {
            return Err(EsError::illegal_argument(format!(
                "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{name}] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
            )))
        }
        _ => {
            return Err(EsError::illegal_argument(format!(
                "can't sort on field [{name}] of type [{}]",
                fm.type_name
            )))
        }
    };
    Ok((fm.source_path.clone(), kind, fm.ignore_above))
}

fn kind_of_name(t: &str) -> Option<ValueKind> {
    Some(match t {
        "keyword" | "constant_keyword" | "ip" | "wildcard" => ValueKind::Keyword,
        "long" | "integer" | "short" | "byte" | "unsigned_long" => ValueKind::Long,
        "double" | "float" | "half_float" | "scaled_float" => ValueKind::Double,
        "date" | "date_nanos" => ValueKind::Date,
        "boolean" => ValueKind::Bool,
        _ => return None,
    })
}

/// Where a hit is: for `_doc`, `_shard_doc`, `_id` and `_score`.
pub(crate) struct Position<'a> {
    pub shard: u32,
    pub pos: u32,
    pub id: &'a str,
    pub score: f64,
}

/// The sort values of one document.
pub(crate) fn values(sorts: &[ResolvedSort], doc: &Value, at: &Position<'_>) -> Box<[SortValue]> {
    sorts
        .iter()
        .map(|s| match &s.spec.key {
            SortKey::Score => SortValue::Double(at.score),
            SortKey::Doc => SortValue::Long(i64::from(at.pos)),
            SortKey::ShardDoc => SortValue::Long((i64::from(at.shard) << 32) | i64::from(at.pos)),
            SortKey::Id => SortValue::Str(at.id.into()),
            SortKey::Field(_) => field_value(s, doc),
        })
        .collect()
}

fn field_value(sort: &ResolvedSort, doc: &Value) -> SortValue {
    let Some((path, kind, ignore_above)) = &sort.field else {
        return SortValue::Missing;
    };
    let mut best: Option<SortValue> = None;
    esquery::dsl::source::visit_values(doc, path, &mut |v| {
        if let Some(value) = convert(v, *kind, *ignore_above) {
            let better = best.as_ref().is_none_or(|b| {
                let o = value.cmp_same(b);
                if sort.spec.desc {
                    o == Ordering::Greater
                } else {
                    o == Ordering::Less
                }
            });
            if better {
                best = Some(value);
            }
        }
        false
    });
    match best {
        Some(v) => v,
        None => missing_value(&sort.spec, *kind),
    }
}

fn missing_value(spec: &SortSpec, kind: ValueKind) -> SortValue {
    let last_is_max = !spec.desc;
    let high = |k: ValueKind| match k {
        ValueKind::Double => SortValue::Double(f64::MAX),
        _ => SortValue::Long(i64::MAX),
    };
    let low = |k: ValueKind| match k {
        ValueKind::Double => SortValue::Double(-f64::MAX),
        _ => SortValue::Long(i64::MIN),
    };
    match (&spec.missing, kind) {
        (Missing::Value(v), k) => convert(v, k, None).unwrap_or(SortValue::Missing),
        (_, ValueKind::Keyword) => SortValue::Missing,
        (Missing::Last, k) if last_is_max => high(k),
        (Missing::Last, k) => low(k),
        (Missing::First, k) if last_is_max => low(k),
        (Missing::First, k) => high(k),
    }
}

/// A JSON value as a sort value of `kind` (also used for `search_after`).
pub(crate) fn convert(
    v: &Value,
    kind: ValueKind,
    ignore_above: Option<usize>,
) -> Option<SortValue> {
    match (kind, v) {
        (_, Value::Null) => None,
        (ValueKind::Keyword, Value::String(s)) => (ignore_above
            .is_none_or(|n| s.chars().count() <= n))
        .then(|| SortValue::Str(s.as_str().into())),
        (ValueKind::Keyword, Value::Number(_) | Value::Bool(_)) => {
            Some(SortValue::Str(v.to_string().into()))
        }
        (ValueKind::Long, Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map(SortValue::Long),
        (ValueKind::Long, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .map(|f| SortValue::Long(f as i64)),
        (ValueKind::Double, Value::Number(n)) => n.as_f64().map(SortValue::Double),
        (ValueKind::Double, Value::String(s)) => s.trim().parse().ok().map(SortValue::Double),
        (ValueKind::Date, Value::Number(n)) => n.as_i64().map(SortValue::Long),
        (ValueKind::Date, Value::String(s)) => s
            .parse::<i64>()
            .ok()
            .or_else(|| {
                esquery::dsl::datemath::parse(s, chrono::Utc::now(), false)
                    .ok()
                    .map(|d| d.timestamp_millis())
            })
            .map(SortValue::Long),
        (ValueKind::Bool, Value::Bool(b)) => Some(SortValue::Long(i64::from(*b))),
        (ValueKind::Bool, Value::String(s)) => match s.as_str() {
            "true" => Some(SortValue::Long(1)),
            "false" | "" => Some(SortValue::Long(0)),
            _ => None,
        },
        _ => None,
    }
}

/// Orders two hits' sort values under `specs`.
pub(crate) fn compare(a: &[SortValue], b: &[SortValue], specs: &[SortSpec]) -> Ordering {
    for ((x, y), spec) in a.iter().zip(b).zip(specs) {
        let o = match (x, y) {
            (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
            // Missing keywords sort last (or first) whatever the order.
            (SortValue::Missing, _) => return missing_order(spec),
            (_, SortValue::Missing) => return missing_order(spec).reverse(),
            _ if spec.desc => y.cmp_same(x),
            _ => x.cmp_same(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

fn missing_order(spec: &SortSpec) -> Ordering {
    match spec.missing {
        Missing::First => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// Reads `search_after` values for `specs` (numbers, numeric strings, dates, strings, null).
pub(crate) fn parse_search_after(
    after: &[Value],
    specs: &[SortSpec],
    kinds: &[Option<ValueKind>],
) -> Result<Vec<SortValue>, EsError> {
    if after.len() != specs.len() {
        return Err(EsError::illegal_argument(format!(
            "search_after has {} value(s) but sort has {}.",
            after.len(),
            specs.len()
        )));
    }
    after
        .iter()
        .zip(specs)
        .zip(kinds)
        .map(|((v, spec), kind)| {
            let kind = match spec.key {
                SortKey::Score => ValueKind::Double,
                SortKey::Doc | SortKey::ShardDoc => ValueKind::Long,
                SortKey::Id => ValueKind::Keyword,
                SortKey::Field(_) => kind.unwrap_or(ValueKind::Keyword),
            };
            if v.is_null() {
                return Ok(SortValue::Missing);
            }
            convert(v, kind, None).ok_or_else(|| {
                EsError::illegal_argument(format!(
                    "Failed to parse search_after value for field [{}]: {v}",
                    match &spec.key {
                        SortKey::Field(f) => f.as_str(),
                        _ => "_doc",
                    }
                ))
            })
        })
        .collect()
}

/// The value kind of each resolved clause (for `search_after` parsing).
pub(crate) fn kinds(sorts: &[ResolvedSort]) -> Vec<Option<ValueKind>> {
    sorts
        .iter()
        .map(|s| s.field.as_ref().map(|f| f.1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping::from_json(&json!({"properties": {
            "k": {"type": "keyword"}, "n": {"type": "long"}, "t": {"type": "date"}, "x": {"type": "text"}
        }}))
        .unwrap()
    }

    fn pos() -> Position<'static> {
        Position {
            shard: 1,
            pos: 2,
            id: "a",
            score: 1.0,
        }
    }

    #[test]
    fn parses_the_sort_shapes() {
        let s = parse_sort(
            &json!(["k", {"n": "desc"}, {"t": {"order": "asc", "missing": "_first"}}, "_score"]),
        )
        .unwrap();
        assert_eq!(s.len(), 4);
        assert!(s[1].desc);
        assert_eq!(s[2].missing, Missing::First);
        assert!(s[3].desc);
        assert_eq!(
            parse_sort_param("n:desc,k").unwrap()[0].key,
            SortKey::Field("n".into())
        );
        assert!(parse_sort(&json!({"k": "sideways"})).is_err());
    }

    #[test]
    fn values_and_missing_sentinels() {
        let specs = parse_sort(&json!(["k", {"n": "desc"}, "t", "_shard_doc"])).unwrap();
        let sorts = resolve(&specs, &mapping(), true, false).unwrap();
        let v = values(
            &sorts,
            &json!({"k": ["b", "a"], "t": "1970-01-01T00:00:01Z"}),
            &pos(),
        );
        assert_eq!(v[0], SortValue::Str("a".into()));
        assert_eq!(v[1], SortValue::Long(i64::MIN));
        assert_eq!(v[2], SortValue::Long(1000));
        assert_eq!(v[3], SortValue::Long((1 << 32) | 2));
    }

    #[test]
    fn refuses_what_es_refuses() {
        let m = mapping();
        assert!(resolve(&parse_sort(&json!("x")).unwrap(), &m, false, false)
            .unwrap_err()
            .reason
            .contains("Text fields"));
        assert!(
            resolve(&parse_sort(&json!("nope")).unwrap(), &m, false, false)
                .unwrap_err()
                .reason
                .contains("No mapping found for [nope]")
        );
        assert!(resolve(
            &parse_sort(&json!({"nope": {"unmapped_type": "long"}})).unwrap(),
            &m,
            false,
            false
        )
        .is_ok());
        assert!(resolve(&parse_sort(&json!("_id")).unwrap(), &m, true, false).is_err());
        assert!(
            resolve(&parse_sort(&json!("_shard_doc")).unwrap(), &m, false, true)
                .unwrap_err()
                .reason
                .contains("No mapping found for [_shard_doc]")
        );
    }

    #[test]
    fn missing_keywords_sort_last_both_ways() {
        let asc = parse_sort(&json!("k")).unwrap();
        let a = [SortValue::Missing];
        let b = [SortValue::Str("z".into())];
        assert_eq!(compare(&a, &b, &asc), Ordering::Greater);
        let desc = parse_sort(&json!({"k": "desc"})).unwrap();
        assert_eq!(compare(&a, &b, &desc), Ordering::Greater);
    }
}
