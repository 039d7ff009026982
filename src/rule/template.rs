//! Alert title and dedup templates: text with field references.
//!
//! `User [{udm.actor_user}] changed [{responseElements.functionName|LAMBDA_NAME_NOT_FOUND}]`
//! — `{path}` inserts a field, `{path|default}` a field or the default when it has no value,
//! `{arn_account(path)}` (any ARN part of the condition language) a part of the ARNs a field
//! holds, `{a ?? b|default}` the first of several fields whose value is truthy (Python's
//! `a or b`; the last field, and then the default, when none is), `{{` and `}}` are literal braces. Strings are inserted as they are, other values as compact
//! JSON. A field with no value and no default makes rendering fail (as Panther's title function
//! raising does); the caller then falls back to the rule id.

use super::condition::Field;
use crate::event::arn::ArnPart;
use crate::event::path::is_falsy;
use crate::event::Event;
use serde_json::Value;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Field {
        /// Fallbacks tried in order (`a ?? b ?? …`): the first with a truthy value is used.
        fallbacks: Vec<Field>,
        /// The last field, rendered as a single field is (its value, else the default).
        field: Field,
        default: Option<String>,
    },
}

/// Why a template is invalid (at a character offset of the template text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// 0-based character offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Why a template could not be rendered for an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}` has no value and no default: {reason}")]
pub struct RenderError {
    /// The field.
    pub field: String,
    /// Details.
    pub reason: String,
}

impl Template {
    /// Parses template text.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().enumerate().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let inner: String = chars
                        .by_ref()
                        .map(|(_, c)| c)
                        .take_while(|&c| c != '}')
                        .collect();
                    if !text.chars().skip(i + 1).any(|c| c == '}') {
                        return Err(TemplateError {
                            offset: i,
                            message: "this `{` is never closed (write `{{` for a literal brace)"
                                .into(),
                        });
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_reference(&inner, i)?);
                }
                '}' => {
                    return Err(TemplateError {
                        offset: i,
                        message: "unmatched `}` (write `}}` for a literal brace)".into(),
                    })
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The fields the template reads.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.parts.iter().flat_map(|p| match p {
            Part::Field {
                fallbacks, field, ..
            } => fallbacks.iter().chain(std::iter::once(field)).collect(),
            Part::Text(_) => Vec::new(),
        })
    }

    /// Renders the template for an event.
    pub fn render(&self, event: &Event) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field {
                    fallbacks,
                    field,
                    default,
                } => match (
                    first_truthy(fallbacks, event),
                    resolve(field, event),
                    default,
                ) {
                    (Some(v), _, _) | (None, Ok(v), _) => push_value(&mut out, &v),
                    (None, Err(_), Some(d)) => out.push_str(d),
                    (None, Err(reason), None) => {
                        return Err(RenderError {
                            field: field.name(),
                            reason,
                        })
                    }
                },
            }
        }
        Ok(out)
    }
}

/// `name`, `name|default` or `a ?? b ?? name|default` (the default is everything after the
/// first `|`, so it may hold `??`).
fn parse_reference(inner: &str, offset: usize) -> Result<Part, TemplateError> {
    let (names, default) = match inner.split_once('|') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (inner, None),
    };
    let mut fields = names
        .split("??")
        .map(|name| Field::parse(name.trim()).map_err(|message| TemplateError { offset, message }))
        .collect::<Result<Vec<_>, _>>()?;
    let field = fields.pop().expect("split yields at least one name");
    Ok(Part::Field {
        fallbacks: fields,
        field,
        default,
    })
}

/// The value of the first field whose value is truthy (Python's `a or b`), if any.
fn first_truthy(fields: &[Field], event: &Event) -> Option<Value> {
    fields
        .iter()
        .filter_map(|f| resolve(f, event).ok())
        .find(|v| !is_falsy(v))
}

/// A field's value for display, or why there is none.
pub fn resolve(field: &Field, event: &Event) -> Result<Value, String> {
    let absent = || "absent".to_string();
    match field {
        Field::Path(path) => path.project(event.record()).ok_or_else(absent),
        Field::Udm(udm) => udm.compute(event.record()).map_err(|e| e.to_string()),
        Field::Arn(part, path) => path
            .project(event.record())
            .and_then(|v| project_arn(*part, &v))
            .ok_or_else(absent),
        Field::Ecs(path) => crate::event::from_ecs::lookup(event.ecs_view_for(path), path.as_str())
            .cloned()
            .ok_or_else(absent),
    }
}

/// The ARN part of a projected value, keeping the shape of arrays (null where an element has
/// none); `None` for a single value that is not an ARN.
fn project_arn(part: ArnPart, value: &Value) -> Option<Value> {
    match value {
        Value::String(s) => part.of(s).map(|p| Value::String(p.to_string())),
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|item| project_arn(part, item).unwrap_or(Value::Null))
                .collect(),
        )),
        _ => None,
    }
}

fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Origin;
    use serde_json::json;

    fn render(template: &str, doc: Value) -> Result<String, RenderError> {
        Template::parse(template)
            .unwrap()
            .render(&Event::from_cloudtrail(doc, Origin::Inline("t".into())))
    }

    #[test]
    fn fields_defaults_and_braces() {
        let doc = json!({"a": {"b": "x"}, "n": 3, "l": [{"arn": "p"}, {"arn": "q"}]});
        assert_eq!(
            render("[{a.b}] {n} {{lit}}", doc.clone()).unwrap(),
            "[x] 3 {lit}"
        );
        assert_eq!(
            render("{missing|NOT_FOUND}", doc.clone()).unwrap(),
            "NOT_FOUND"
        );
        assert_eq!(render("{l.arn}", doc.clone()).unwrap(), r#"["p","q"]"#);
        assert!(render("{missing}", doc).is_err());
    }

    #[test]
    fn udm_references() {
        let doc = json!({"userIdentity": {"type": "IAMUser", "userName": "bob"}});
        assert_eq!(
            render("User [{udm.actor_user}]", doc).unwrap(),
            "User [bob]"
        );
    }

    #[test]
    fn arn_parts() {
        let doc = json!({
            "userIdentity": {"arn": "arn:aws:iam::123456789012:user/alice"},
            "resources": [{"ARN": "arn:aws:s3:::b"}, {"ARN": "x"}, {"ARN": "arn:aws:kms:us-east-1:9:key/k"}],
        });
        assert_eq!(
            render(
                "{arn_resource_name(userIdentity.arn)} of {arn_account(userIdentity.arn)}",
                doc.clone()
            )
            .unwrap(),
            "alice of 123456789012"
        );
        assert_eq!(
            render("{arn_account(resources.ARN)}", doc.clone()).unwrap(),
            r#"[null,null,"9"]"#
        );
        assert_eq!(
            render("{arn_region(userIdentity.arn)|global}", doc.clone()).unwrap(),
            "global"
        );
        assert!(render("{arn_account(userIdentity)}", doc).is_err());
        assert!(Template::parse("{arn_nope(a)}").is_err());
        assert!(Template::parse("{arn_account(a..b)}").is_err());
        assert!(Template::parse("{arn_account(field(a))}").is_err());
    }

    #[test]
    fn fallbacks_between_fields() {
        let doc = json!({"a": "", "b": "bee", "z": 0, "f": false, "n": null, "c": "sea"});
        // The first truthy alternative wins, as Python's `a or b` does.
        assert_eq!(render("{a ?? b|d}", doc.clone()).unwrap(), "bee");
        assert_eq!(render("{b ?? c}", doc.clone()).unwrap(), "bee");
        assert_eq!(
            render("{missing??n ?? z ?? c}", doc.clone()).unwrap(),
            "sea"
        );
        // None truthy: the last field as a single field renders (its value, even a falsy one,
        // else the default, else no title).
        assert_eq!(render("{c ?? a}", doc.clone()).unwrap(), "sea");
        assert_eq!(render("{a ?? f}", doc.clone()).unwrap(), "false");
        assert_eq!(render("{f ?? a|d}", doc.clone()).unwrap(), "");
        assert_eq!(
            render("{a ?? missing|unknown}", doc.clone()).unwrap(),
            "unknown"
        );
        // The default is everything after the first `|`, `??` included.
        assert_eq!(
            render("{missing ?? n|a ?? b}", doc.clone()).unwrap(),
            "a ?? b"
        );
        assert!(render("{a ?? missing}", doc.clone()).is_err());
        // ARN parts and data-model fields take part too.
        let doc = json!({"r": "arn:aws:iam::123456789012:user/alice"});
        assert_eq!(
            render("{x ?? arn_account(r)}", doc).unwrap(),
            "123456789012"
        );
        let t = Template::parse("{a ?? b.c ?? udm.actor_user|d}").unwrap();
        let names: Vec<String> = t.fields().map(|f| f.name()).collect();
        assert_eq!(names, ["a", "b.c", "udm.actor_user"]);
        assert!(Template::parse("{a ?? |d}").is_err());
        assert!(Template::parse("{?? a}").is_err());
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(Template::parse("a {b").unwrap_err().offset, 2);
        assert_eq!(Template::parse("a } b").unwrap_err().offset, 2);
        assert!(Template::parse("{udm.nope}").is_err());
        assert!(Template::parse("{a..b}").is_err());
    }
}
