//! Evaluating a compiled condition on an event. The hot path allocates nothing: values are
//! visited in place and compared against operands prepared at load.

use super::parser::{CmpOp, Expr, Field, Op, Predicate, Scalar};
use super::Condition;
use crate::event::path::{is_falsy, is_nullish, FieldPath};
use crate::event::Event;
use crate::net::parse_ip;
use serde_json::{Number, Value};
use std::borrow::Cow;
use std::ops::ControlFlow;

/// The verdict of a condition on one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation<'r> {
    /// Whether the condition holds.
    pub matched: bool,
    /// Fields the condition needed that the event holds only in unreadable form (e.g. an ECS
    /// document with neither a flattened copy nor `event.original`): the verdict may be wrong.
    pub unavailable: Vec<&'r FieldPath>,
}

/// One predicate's part in a verdict, for `eshunt explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The field as written.
    pub field: String,
    /// The operator as written.
    pub op: String,
    /// The operand, as it would be written.
    pub operand: String,
    /// The values the field had (empty when absent).
    pub values: Vec<Value>,
    /// Whether the predicate held.
    pub verdict: bool,
}

impl Condition {
    /// Evaluates the condition on an event.
    pub fn evaluate<'r>(&'r self, event: &Event) -> Evaluation<'r> {
        let mut unavailable = Vec::new();
        let matched = eval(self.expr(), event, &mut unavailable);
        Evaluation {
            matched,
            unavailable,
        }
    }

    /// Evaluates every predicate on its own, for explaining a verdict.
    pub fn explain(&self, event: &Event) -> Vec<Trace> {
        self.predicates()
            .into_iter()
            .map(|p| Trace {
                field: p.field.name(),
                op: p.op_name.clone(),
                operand: p.op.operand_text(),
                values: field_values(&p.field, event),
                verdict: predicate(p, event, &mut Vec::new()),
            })
            .collect()
    }
}

fn eval<'r>(expr: &'r Expr, event: &Event, unavailable: &mut Vec<&'r FieldPath>) -> bool {
    match expr {
        Expr::All(items) => items.iter().all(|e| eval(e, event, unavailable)),
        Expr::Any(items) => items.iter().any(|e| eval(e, event, unavailable)),
        Expr::Not(inner) => !eval(inner, event, unavailable),
        Expr::Pred(p) => predicate(p, event, unavailable),
    }
}

fn predicate<'r>(p: &'r Predicate, event: &Event, unavailable: &mut Vec<&'r FieldPath>) -> bool {
    match &p.field {
        Field::Path(path) => {
            let (verdict, reached) = apply(&p.op, |f| visit_path(path, event.record(), f));
            if !reached && event.is_unavailable(path) && !unavailable.contains(&path) {
                unavailable.push(path);
            }
            verdict
        }
        Field::Udm(udm) => {
            let value = udm.compute(event.record()).ok();
            apply(&p.op, |f| match &value {
                Some(v) => f(v),
                None => ControlFlow::Continue(()),
            })
            .0
        }
    }
}

fn visit_path<'a>(
    path: &FieldPath,
    doc: &'a Value,
    f: &mut dyn FnMut(&'a Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    path.visit(doc, f)
}

/// Applies an operator to the values produced by `source`; returns the verdict and whether any
/// value was reached at all.
fn apply<'a>(
    op: &Op,
    source: impl FnOnce(&mut dyn FnMut(&'a Value) -> ControlFlow<()>) -> ControlFlow<()>,
) -> (bool, bool) {
    let mut reached = false;
    let any = |test: &mut dyn FnMut(&Value) -> bool| {
        source(&mut |v| {
            reached = true;
            if test(v) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .is_break()
    };
    let verdict = match op {
        Op::IsNotNull => any(&mut |v| !is_nullish(v)),
        Op::IsNull => !any(&mut |v| !is_nullish(v)),
        Op::IsTruthy => any(&mut |v| !is_falsy(v)),
        Op::IsFalsy => !any(&mut |v| !is_falsy(v)),
        Op::Eq(s) => any(&mut |v| leaves(v, &mut |l| scalar_eq(s, l))),
        Op::Ne(s) => !any(&mut |v| leaves(v, &mut |l| scalar_eq(s, l))),
        Op::In(set) => any(&mut |v| leaves(v, &mut |l| set.iter().any(|s| scalar_eq(s, l)))),
        Op::NotIn(set) => !any(&mut |v| leaves(v, &mut |l| set.iter().any(|s| scalar_eq(s, l)))),
        Op::IEq(set, negate) => {
            any(&mut |v| strings(v, &mut |s| set.iter().any(|p| lower(s) == p.as_str()))) != *negate
        }
        Op::StartsWith(set, ci) => any(&mut |v| {
            strings(v, &mut |s| {
                set.iter().any(|p| fold(s, *ci).starts_with(p.as_str()))
            })
        }),
        Op::EndsWith(set, ci) => any(&mut |v| {
            strings(v, &mut |s| {
                set.iter().any(|p| fold(s, *ci).ends_with(p.as_str()))
            })
        }),
        Op::Contains(set, ci) => any(&mut |v| {
            strings(v, &mut |s| {
                set.iter().any(|p| fold(s, *ci).contains(p.as_str()))
            })
        }),
        Op::Matches(re) => any(&mut |v| strings(v, &mut |s| re.is_match(s))),
        Op::Cmp(op, n) => {
            any(&mut |v| leaves(v, &mut |l| as_number(l).is_some_and(|x| cmp(*op, x, *n))))
        }
        Op::Cidr(blocks) => any(&mut |v| {
            strings(v, &mut |s| {
                parse_ip(s).is_some_and(|ip| blocks.iter().any(|b| b.contains(ip)))
            })
        }),
    };
    (verdict, reached)
}

/// Calls `f` on a value, or on every element of an array (recursively); true if any call was.
fn leaves(value: &Value, f: &mut dyn FnMut(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|item| leaves(item, f)),
        other => f(other),
    }
}

/// Like [`leaves`], for string leaves only.
fn strings(value: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    leaves(value, &mut |l| l.as_str().is_some_and(&mut *f))
}

fn scalar_eq(scalar: &Scalar, value: &Value) -> bool {
    match (scalar, value) {
        (Scalar::Str(a), Value::String(b)) => a == b,
        (Scalar::Num(a), Value::Number(b)) => numbers_eq(a, b),
        (Scalar::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

fn numbers_eq(a: &Number, b: &Number) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64() == b.as_f64(),
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

fn cmp(op: CmpOp, x: f64, n: f64) -> bool {
    match op {
        CmpOp::Gt => x > n,
        CmpOp::Gte => x >= n,
        CmpOp::Lt => x < n,
        CmpOp::Lte => x <= n,
    }
}

/// Lower-cases for case-insensitive comparison; borrows when nothing changes (the common case).
fn lower(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_uppercase) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

fn fold(s: &str, case_insensitive: bool) -> Cow<'_, str> {
    if case_insensitive {
        lower(s)
    } else {
        Cow::Borrowed(s)
    }
}

fn field_values(field: &Field, event: &Event) -> Vec<Value> {
    match field {
        Field::Path(path) => {
            let mut out = Vec::new();
            let _ = path.visit(event.record(), &mut |v| {
                out.push(v.clone());
                ControlFlow::<()>::Continue(())
            });
            out
        }
        Field::Udm(udm) => udm.compute(event.record()).ok().into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, Origin};
    use crate::rule::condition::Condition;
    use serde_json::{json, Value};

    fn check(condition: &str, doc: Value) -> bool {
        let c = Condition::parse(condition).unwrap_or_else(|e| panic!("{condition}: {e}"));
        c.evaluate(&Event::from_cloudtrail(doc, Origin::Inline("t".into())))
            .matched
    }

    #[test]
    fn equality_is_typed() {
        let doc = json!({"s": "200", "n": 200, "f": 1.0, "b": true});
        assert!(check(r#"s eq "200""#, doc.clone()));
        assert!(!check("s eq 200", doc.clone()));
        assert!(check("n eq 200", doc.clone()));
        assert!(check("f eq 1", doc.clone()));
        assert!(check("b eq true", doc.clone()));
        assert!(!check(r#"b eq "true""#, doc.clone()));
        assert!(check(r#"missing ne "x""#, doc));
    }

    #[test]
    fn arrays_match_if_any_element_matches() {
        let doc = json!({"r": {"layers": [{"arn": "a:1"}, {"arn": "b:2"}]}, "tags": ["x", ["y"]]});
        assert!(check(r#"r.layers.arn eq "b:2""#, doc.clone()));
        assert!(check(r#"r.layers.arn starts_with "b""#, doc.clone()));
        assert!(check(r#"tags eq "y""#, doc.clone()));
        assert!(!check(r#"r.layers.arn eq "c""#, doc.clone()));
        assert!(check(r#"r.layers.arn not_in ["c", "d"]"#, doc));
    }

    #[test]
    fn null_checks_follow_panther_truthiness() {
        for empty in [json!(null), json!(""), json!([]), json!({})] {
            assert!(check("x is_null", json!({ "x": empty })));
            assert!(!check("x is_not_null", json!({ "x": empty })));
        }
        assert!(check("x is_null", json!({})));
        assert!(check("x is_not_null", json!({"x": 0})));
        assert!(check("x is_not_null", json!({"x": false})));
    }

    #[test]
    fn truthiness_checks_follow_python() {
        for falsy in [
            json!(null),
            json!(""),
            json!([]),
            json!({}),
            json!(0),
            json!(false),
        ] {
            assert!(check("x is_falsy", json!({ "x": falsy })), "{falsy}");
            assert!(!check("x is_truthy", json!({ "x": falsy })), "{falsy}");
        }
        assert!(check("x is_falsy", json!({})));
        for truthy in [
            json!(1),
            json!(true),
            json!("0"),
            json!([0]),
            json!({"a": null}),
        ] {
            assert!(check("x is_truthy", json!({ "x": truthy })), "{truthy}");
        }
        // Through arrays, as every operator: truthy if any value reached is.
        assert!(check("r.a is_truthy", json!({"r": [{"a": 0}, {"a": 2}]})));
        assert!(check(
            "r.a is_falsy",
            json!({"r": [{"a": 0}, {"a": false}]})
        ));
    }

    #[test]
    fn case_insensitive_variants() {
        let doc = json!({"ua": "AWS-CLI/2.0 Python"});
        assert!(check(r#"ua istarts_with "aws-cli""#, doc.clone()));
        assert!(!check(r#"ua starts_with "aws-cli""#, doc.clone()));
        assert!(check(r#"ua icontains "PYTHON""#, doc.clone()));
        assert!(check(r#"ua iends_with "python""#, doc.clone()));
        assert!(check(r#"ua ieq "aws-cli/2.0 python""#, doc.clone()));
        assert!(check(r#"ua ine "other""#, doc.clone()));
        assert!(check(r#"ua iin ["x", "AWS-cli/2.0 PYTHON"]"#, doc.clone()));
        assert!(check(r#"ua imatches "^aws-cli/\d""#, doc));
    }

    #[test]
    fn regex_numbers_and_cidr() {
        let doc = json!({"ip": "10.1.2.3", "v6": "2001:db8::1", "n": "42", "name": "prod-api-7"});
        assert!(check(r#"name matches "-\d+$""#, doc.clone()));
        assert!(check("n gt 41", doc.clone()));
        assert!(check("n lte 42", doc.clone()));
        assert!(!check("n lt 42", doc.clone()));
        assert!(check(r#"ip cidr "10.0.0.0/8""#, doc.clone()));
        assert!(!check(
            r#"ip cidr ["192.168.0.0/16", "172.16.0.0/12"]"#,
            doc.clone()
        ));
        assert!(check(r#"v6 cidr "2001:db8::/32""#, doc.clone()));
        assert!(!check(r#"name cidr "0.0.0.0/0""#, doc));
    }

    #[test]
    fn precedence_and_lines() {
        let doc = json!({"a": 1, "b": 2});
        assert!(check("a eq 1 or a eq 5 and b eq 9", doc.clone()));
        assert!(!check("(a eq 1 or a eq 5) and b eq 9", doc.clone()));
        assert!(!check("not a eq 1 or b eq 9", doc.clone()));
        assert!(check("a eq 1\nb eq 2", doc.clone()));
        assert!(!check("a eq 1\nb eq 3", doc.clone()));
        assert!(check("a eq 1 and\n  b eq 2", doc));
    }

    #[test]
    fn udm_fields_in_conditions() {
        let doc = json!({"userIdentity": {"type": "IAMUser", "userName": "bob"}});
        assert!(check(r#"udm.actor_user eq "bob""#, doc));
    }

    #[test]
    fn reports_unavailable_fields_on_rebuilt_ecs_documents() {
        let c = Condition::parse("responseElements.layers is_not_null").unwrap();
        let doc = json!({"event": {"action": "X"}, "aws": {"cloudtrail": {"response_elements": "{layers=[]}"}}});
        let event = Event::from_document(doc, Origin::Inline("t".into()));
        let result = c.evaluate(&event);
        assert!(!result.matched);
        assert_eq!(result.unavailable.len(), 1);
        assert_eq!(result.unavailable[0].as_str(), "responseElements.layers");
    }

    #[test]
    fn explain_lists_values_and_verdicts() {
        let c = Condition::parse(r#"a eq 1 and b eq "x""#).unwrap();
        let event = Event::from_cloudtrail(json!({"a": 1}), Origin::Inline("t".into()));
        let traces = c.explain(&event);
        assert_eq!(traces.len(), 2);
        assert!(traces[0].verdict && traces[0].values == vec![json!(1)]);
        assert!(!traces[1].verdict && traces[1].values.is_empty());
    }
}
