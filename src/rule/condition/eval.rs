//! Evaluating a compiled condition on an event. The hot path allocates nothing: values are
//! visited in place and compared against operands prepared at load. The exceptions are computed
//! values (data-model fields, ARN parts, which are new strings) and field-to-field comparisons,
//! which gather the other field's values (borrowed, for a path) before comparing.

use super::parser::{CmpOp, Expr, Field, Op, Predicate, RefTest, Scalar};
use super::Condition;
use crate::event::arn::ArnPart;
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
    /// The values of the field the operand refers to (`None` for a literal operand).
    pub operand_values: Option<Vec<Value>>,
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
                operand_values: match &p.op {
                    Op::Ref { other, .. } => Some(field_values(other, event)),
                    _ => None,
                },
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
    let others = match &p.op {
        Op::Ref { other, .. } => {
            let values = gather(other, event);
            if values.is_empty() {
                note_unavailable(other, event, unavailable);
            }
            values
        }
        _ => Vec::new(),
    };
    let (verdict, reached) = apply(&p.op, &others, |f| visit_field(&p.field, event, f));
    if !reached {
        note_unavailable(&p.field, event, unavailable);
    }
    verdict
}

/// Records that a field which reached no value is held only in unreadable form.
fn note_unavailable<'r>(field: &'r Field, event: &Event, unavailable: &mut Vec<&'r FieldPath>) {
    if let Some(path) = field.path() {
        if event.is_unavailable(path) && !unavailable.contains(&path) {
            unavailable.push(path);
        }
    }
}

/// Calls `f` with every value a field has in the event, computed ones included.
fn visit_field(
    field: &Field,
    event: &Event,
    f: &mut dyn FnMut(&Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match field {
        Field::Path(path) => path.visit(event.record(), &mut |v| f(v)),
        Field::Udm(udm) => match udm.compute(event.record()) {
            Ok(v) => f(&v),
            Err(_) => ControlFlow::Continue(()),
        },
        Field::Arn(part, path) => path.visit(event.record(), &mut |v| arn_parts(*part, v, f)),
        Field::Ecs(path) => path.visit(event.ecs_view_for(path), &mut |v| f(v)),
    }
}

/// Calls `f` with the part of each ARN among `value`'s string leaves; other values have none.
fn arn_parts(
    part: ArnPart,
    value: &Value,
    f: &mut dyn FnMut(&Value) -> ControlFlow<()>,
) -> ControlFlow<()> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| arn_parts(part, item, f)),
        Value::String(s) => match part.of(s) {
            Some(p) => f(&Value::String(p.to_string())),
            None => ControlFlow::Continue(()),
        },
        _ => ControlFlow::Continue(()),
    }
}

/// Every value a field has in the event: borrowed from the record for a path, computed else.
fn gather<'e>(field: &Field, event: &'e Event) -> Vec<Cow<'e, Value>> {
    let mut out = Vec::new();
    let _ = match field {
        Field::Path(path) => path.visit(event.record(), &mut |v| {
            out.push(Cow::Borrowed(v));
            ControlFlow::Continue(())
        }),
        computed => visit_field(computed, event, &mut |v| {
            out.push(Cow::Owned(v.clone()));
            ControlFlow::Continue(())
        }),
    };
    out
}

/// Applies an operator to the values produced by `source` (`others`: the values of the field a
/// field-to-field comparison refers to); returns the verdict and whether any value was reached.
fn apply(
    op: &Op,
    others: &[Cow<'_, Value>],
    source: impl FnOnce(&mut dyn FnMut(&Value) -> ControlFlow<()>) -> ControlFlow<()>,
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
        Op::Ref { test, negate, .. } => {
            any(&mut |v| {
                leaves(v, &mut |l| {
                    others
                        .iter()
                        .any(|o| leaves(o, &mut |r| ref_holds(*test, l, r)))
                })
            }) != *negate
        }
    };
    (verdict, reached)
}

/// Whether a value of the predicate's field (`a`) and one of the other field's (`b`) pass a
/// field-to-field test. Typed: strings with strings, numbers with numbers, booleans with
/// booleans; the ordering tests also read strings that parse as numbers.
fn ref_holds(test: RefTest, a: &Value, b: &Value) -> bool {
    let both_strings = |f: &dyn Fn(&str, &str) -> bool| match (a, b) {
        (Value::String(x), Value::String(y)) => f(x, y),
        _ => false,
    };
    match test {
        RefTest::Eq => values_eq(a, b),
        RefTest::IEq => both_strings(&|x, y| lower(x) == lower(y)),
        RefTest::StartsWith(ci) => both_strings(&|x, y| fold(x, ci).starts_with(&*fold(y, ci))),
        RefTest::EndsWith(ci) => both_strings(&|x, y| fold(x, ci).ends_with(&*fold(y, ci))),
        RefTest::Contains(ci) => both_strings(&|x, y| fold(x, ci).contains(&*fold(y, ci))),
        RefTest::Cmp(op) => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => cmp(op, x, y),
            _ => false,
        },
    }
}

/// Typed equality of two leaves; objects equal nothing.
fn values_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => numbers_eq(x, y),
        (Value::Bool(x), Value::Bool(y)) => x == y,
        _ => false,
    }
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
    gather(field, event)
        .into_iter()
        .map(Cow::into_owned)
        .collect()
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
    fn field_references_compare_two_fields() {
        let doc = json!({"userIdentity": {"accountId": "111"}, "recipientAccountId": "222", "same": "111"});
        assert!(check(
            "userIdentity.accountId ne field(recipientAccountId)",
            doc.clone()
        ));
        assert!(!check(
            "userIdentity.accountId eq field(recipientAccountId)",
            doc.clone()
        ));
        assert!(check("userIdentity.accountId eq field(same)", doc.clone()));
        assert!(check(
            "field(same) eq field(userIdentity.accountId)",
            doc.clone()
        ));
        assert!(check("userIdentity.accountId in field(same)", doc.clone()));
        assert!(check(
            "userIdentity.accountId not_in field(recipientAccountId)",
            doc.clone()
        ));
        // A quoted operand is a literal, never a field.
        assert!(!check(r#"userIdentity.accountId eq "same""#, doc));
        let doc = json!({"userIdentity": {"type": "IAMUser", "userName": "bob"}, "requestParameters": {"userName": "bob"}});
        assert!(check(
            "requestParameters.userName eq field(udm.actor_user)",
            doc.clone()
        ));
        assert!(check(
            "udm.actor_user eq field(requestParameters.userName)",
            doc
        ));
    }

    #[test]
    fn a_missing_side_fails_every_positive_comparison_and_passes_its_negation() {
        let doc = json!({"a": "x", "n": null, "num": 3});
        for op in [
            "eq",
            "in",
            "ieq",
            "starts_with",
            "iends_with",
            "contains",
            "gte",
            "lt",
        ] {
            assert!(
                !check(&format!("a {op} field(missing)"), doc.clone()),
                "{op}"
            );
            assert!(
                !check(&format!("missing {op} field(a)"), doc.clone()),
                "{op}"
            );
            assert!(!check(&format!("num {op} field(n)"), doc.clone()), "{op}");
        }
        for op in ["ne", "not_in", "ine", "not_iin"] {
            assert!(
                check(&format!("a {op} field(missing)"), doc.clone()),
                "{op}"
            );
            assert!(
                check(&format!("missing {op} field(a)"), doc.clone()),
                "{op}"
            );
            assert!(check(&format!("a {op} field(n)"), doc.clone()), "{op}");
        }
        // Both absent: no pair of values is equal, so `ne` holds (Python's `None != None` is
        // False: guard with `is_not_null` where that matters).
        assert!(check("missing ne field(other)", doc.clone()));
        assert!(!check("missing eq field(other)", doc));
    }

    #[test]
    fn multi_valued_fields_compare_any_value_with_any_value() {
        let doc = json!({
            "resources": [{"accountId": "1"}, {"accountId": "2"}],
            "recipientAccountId": "2",
            "list": ["3", ["2"]],
        });
        assert!(check(
            "resources.accountId eq field(recipientAccountId)",
            doc.clone()
        ));
        assert!(
            !check(
                "resources.accountId ne field(recipientAccountId)",
                doc.clone()
            ),
            "ne holds only when no value equals any other"
        );
        assert!(check("recipientAccountId in field(list)", doc.clone()));
        assert!(check("list eq field(resources.accountId)", doc.clone()));
        assert!(check(
            "recipientAccountId eq field(resources.accountId)",
            doc.clone()
        ));
        assert!(!check(
            r#"list eq field(recipientAccountId) and list eq "1""#,
            doc
        ));
    }

    #[test]
    fn field_comparisons_are_typed() {
        let doc = json!({
            "s": "200", "n": 200, "f": 200.0, "b": true, "bs": "true", "big": "1e3",
            "o": {"a": 1}, "o2": {"a": 1},
        });
        assert!(!check("s eq field(n)", doc.clone()), "string vs number");
        assert!(check("s ne field(n)", doc.clone()));
        assert!(check("n eq field(f)", doc.clone()), "200 equals 200.0");
        assert!(!check("b eq field(bs)", doc.clone()), "bool vs string");
        assert!(
            !check("o eq field(o2)", doc.clone()),
            "objects equal nothing"
        );
        assert!(
            check("s gte field(n)", doc.clone()),
            "ordering reads numeric strings"
        );
        assert!(!check("s lt field(n)", doc.clone()));
        assert!(
            check("big gt field(s)", doc.clone()),
            "1e3 > 200, not text order"
        );
        assert!(
            !check("s starts_with field(n)", doc.clone()),
            "strings only"
        );
        assert!(!check("b gt field(n)", doc), "booleans are not numbers");
    }

    #[test]
    fn case_insensitive_field_comparisons() {
        let doc = json!({"a": "AWS-CLI/2.0", "p": "aws-cli", "q": "2.0", "r": "Cli"});
        assert!(check("a istarts_with field(p)", doc.clone()));
        assert!(!check("a starts_with field(p)", doc.clone()));
        assert!(check("a iends_with field(q)", doc.clone()));
        assert!(check("a ends_with field(q)", doc.clone()));
        assert!(check("a icontains field(r)", doc.clone()));
        assert!(!check("a contains field(r)", doc.clone()));
        assert!(check("p ieq field(p)", doc.clone()));
        assert!(!check("a ieq field(p)", doc.clone()));
        assert!(check("p ine field(a)", doc.clone()));
        assert!(check("r iin field(r)", doc.clone()));
        assert!(!check("r not_iin field(r)", doc));
    }

    #[test]
    fn arn_parts_on_either_side() {
        let doc = json!({
            "userIdentity": {
                "arn": "arn:aws:sts::111:assumed-role/Admin/bob",
                "sessionContext": {"sessionIssuer": {"userName": "Admin"}},
            },
            "recipientAccountId": "222",
            "requestParameters": {"roleArn": "arn:aws:iam::222:role/x", "bad": "not-an-arn"},
            "resources": [{"ARN": "arn:aws:s3:::b/k"}, {"ARN": "arn:aws:iam::333:role/y"}, {"ARN": 5}],
        });
        assert!(check(
            "arn_account(userIdentity.arn) ne field(recipientAccountId)",
            doc.clone()
        ));
        assert!(check(
            "arn_account(requestParameters.roleArn) eq field(recipientAccountId)",
            doc.clone()
        ));
        assert!(check(
            "recipientAccountId eq arn_account(requestParameters.roleArn)",
            doc.clone()
        ));
        assert!(check(
            "arn_resource_name(userIdentity.arn) eq field(userIdentity.sessionContext.sessionIssuer.userName)",
            doc.clone()
        ));
        assert!(check(
            r#"arn_resource_type(userIdentity.arn) eq "assumed-role""#,
            doc.clone()
        ));
        assert!(check(
            r#"ARN_SERVICE(userIdentity.arn) eq "sts""#,
            doc.clone()
        ));
        // A value that is not an ARN has no parts: positive comparisons fail.
        assert!(check(
            "arn_account(requestParameters.bad) is_null",
            doc.clone()
        ));
        assert!(!check(
            "arn_account(requestParameters.bad) eq field(recipientAccountId)",
            doc.clone()
        ));
        assert!(check("arn_account(userIdentity) is_null", doc.clone()));
        // Through arrays, one part per ARN.
        assert!(check(r#"arn_account(resources.ARN) eq "333""#, doc.clone()));
        assert!(check(
            r#"arn_resource_name(resources.ARN) eq "b""#,
            doc.clone()
        ));
        assert!(check(
            r#"arn_resource_type(resources.ARN) eq "role""#,
            doc.clone()
        ));
        assert!(!check(
            "arn_account(resources.ARN) eq field(recipientAccountId)",
            doc
        ));
    }

    fn parse_error(condition: &str) -> (usize, usize, String) {
        let e = Condition::parse(condition).expect_err(condition);
        (e.pos.line, e.pos.col, e.message)
    }

    #[test]
    fn malformed_field_references_are_located() {
        let cases = [
            ("a eq field(b", 1, 12, "expected `)`"),
            ("a eq field(b c)", 1, 14, "expected `)`"),
            ("a eq field()", 1, 12, "expected a field name"),
            ("a eq fieldd(b)", 1, 6, "unknown function `fieldd`"),
            ("nope(a) eq \"x\"", 1, 1, "unknown function `nope`"),
            (
                "a matches field(b)",
                1,
                11,
                "`matches` takes a literal operand",
            ),
            (
                "a cidr arn_account(b)",
                1,
                8,
                "`cidr` takes a literal operand",
            ),
            ("a eqq field(b)", 1, 3, "unknown operator `eqq`"),
            (
                "a in [\"x\", field(b)]",
                1,
                12,
                "a list holds literal values only",
            ),
            ("a eq field(and)", 1, 12, "keyword `and`"),
            ("a eq field(b..c)", 1, 12, "invalid field path"),
            (
                "arn_account(udm.actor_user) eq \"1\"",
                1,
                13,
                "not `udm.actor_user`",
            ),
            ("a eq b", 1, 6, "field(b)"),
            ("a is_null field(b)", 1, 11, "expected `and`, `or`"),
            ("x eq 1\n  a ne field(\n b", 3, 2, "expected `)`"),
        ];
        for (text, line, col, message) in cases {
            let (l, c, m) = parse_error(text);
            assert_eq!((l, c), (line, col), "{text}: {m}");
            assert!(m.contains(message), "{text}: {m}");
        }
    }

    #[test]
    fn field_references_report_unavailable_operands() {
        let c = Condition::parse("eventName ne field(responseElements.functionName)").unwrap();
        let doc = json!({"event": {"action": "X"}, "aws": {"cloudtrail": {"response_elements": "{functionName=f}"}}});
        let event = Event::from_document(doc, Origin::Inline("t".into()));
        let result = c.evaluate(&event);
        assert_eq!(result.unavailable.len(), 1);
        assert_eq!(
            result.unavailable[0].as_str(),
            "responseElements.functionName"
        );
    }

    #[test]
    fn explain_shows_the_referenced_values() {
        let c = Condition::parse(
            "userIdentity.accountId ne field(recipientAccountId)\narn_account(userIdentity.arn) eq \"1\"",
        )
        .unwrap();
        let doc = json!({"userIdentity": {"accountId": "1", "arn": "arn:aws:iam::1:user/u"}, "recipientAccountId": "2"});
        let traces = c.explain(&Event::from_cloudtrail(doc, Origin::Inline("t".into())));
        assert_eq!(traces[0].operand, "field(recipientAccountId)");
        assert_eq!(traces[0].operand_values, Some(vec![json!("2")]));
        assert!(traces[0].verdict);
        assert_eq!(traces[1].field, "arn_account(userIdentity.arn)");
        assert_eq!(traces[1].values, vec![json!("1")]);
        assert_eq!(traces[1].operand_values, None);
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
