//! Alert title and dedup templates: text with field references.
//!
//! `User [{udm.actor_user}] changed [{responseElements.functionName|LAMBDA_NAME_NOT_FOUND}]`
//! — `{path}` inserts a field, `{path|default}` a field or the default when it has no value,
//! `{arn_account(path)}` (any ARN part of the condition language) a part of the ARNs a field
//! holds, `{{` and `}}` are literal braces. Strings are inserted as they are, other values as compact
//! JSON. A field with no value and no default makes rendering fail (as Panther's title function
//! raising does); the caller then falls back to the rule id.

use super::condition::Field;
use crate::event::arn::ArnPart;
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
        self.parts.iter().filter_map(|p| match p {
            Part::Field { field, .. } => Some(field),
            Part::Text(_) => None,
        })
    }

    /// Renders the template for an event.
    pub fn render(&self, event: &Event) -> Result<String, RenderError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field { field, default } => match (resolve(field, event), default) {
                    (Ok(v), _) => push_value(&mut out, &v),
                    (Err(_), Some(d)) => out.push_str(d),
                    (Err(reason), None) => {
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

fn parse_reference(inner: &str, offset: usize) -> Result<Part, TemplateError> {
    let (name, default) = match inner.split_once('|') {
        Some((n, d)) => (n.trim(), Some(d.to_string())),
        None => (inner.trim(), None),
    };
    let field = Field::parse(name).map_err(|message| TemplateError { offset, message })?;
    Ok(Part::Field { field, default })
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
        Field::Ecs(path) => crate::event::from_ecs::lookup(event.ecs_view(), path.as_str())
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
    fn syntax_errors() {
        assert_eq!(Template::parse("a {b").unwrap_err().offset, 2);
        assert_eq!(Template::parse("a } b").unwrap_err().offset, 2);
        assert!(Template::parse("{udm.nope}").is_err());
        assert!(Template::parse("{a..b}").is_err());
    }
}
