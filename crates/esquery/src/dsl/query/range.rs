//! The `range` query.
//!
//! Semantics per field type (Elasticsearch reference, "Range query"):
//! - `gt`/`gte`/`lt`/`lte` (and the older `from`/`to`/`include_lower`/`include_upper`);
//! - dates: bounds are date math, parsed with the query's `format` (else the field's) in its
//!   `time_zone`; rounding follows the documented rules: `gt` rounds up (excludes the whole
//!   rounded unit), `gte` rounds down, `lt` rounds down, `lte` rounds up; a bound without a time
//!   part is filled to the end of its day when rounding up; `date` compares at millisecond
//!   resolution, `date_nanos` at nanosecond;
//! - integers: fractional bounds are rounded inwards (`gt: 1.5` is `>= 2`), bounds are clipped to
//!   the type's range; `scaled_float` scales bounds like values;
//! - `float`/`half_float`: bounds are rounded to the field's precision;
//! - keyword-like fields compare strings in byte order; text fields compare tokens;
//! - ip bounds are addresses.

use crate::dsl::date::parse_time_zone;
use crate::dsl::date::{DateFormat, Nanos};
use crate::dsl::datemath::DateMath;
use crate::dsl::error::DslError;
use crate::dsl::mapping::FieldMapping;
use crate::dsl::query::field::{Access, Built};
use crate::dsl::query::params::{get_bool, get_str, scalar_query_text, single_field};
use crate::dsl::query::pred::{
    DateBound, DateRange, Domain, FloatRange, KwTest, Pred, TextTest, TokMatcher,
};
use crate::dsl::query::term_level::{domain_for, ip_error};
use crate::dsl::query::values::{parse_ip, parse_number_text, DateDom, IntKind, Num};
use crate::dsl::query::{Compiler, Node};
use serde_json::Value;
use std::ops::Bound;

/// A range to test: bound texts with their inclusivity, plus date options.
#[derive(Debug, Clone, Default)]
pub(crate) struct RangeSpec {
    pub lo: Option<(String, bool)>,
    pub hi: Option<(String, bool)>,
    /// `format` for date bounds.
    pub format: Option<String>,
    /// `time_zone` offset in seconds.
    pub offset: i32,
}

pub(crate) fn compile_range(c: &mut Compiler<'_>, body: &Value) -> Result<Node, DslError> {
    let (field, v) = single_field("range", body)?;
    let Value::Object(params) = v else {
        return Err(DslError::malformed(
            "range",
            "[range] query malformed, no start_object after query name",
        ));
    };
    let allowed = [
        "gt",
        "gte",
        "lt",
        "lte",
        "from",
        "to",
        "include_lower",
        "include_upper",
        "format",
        "time_zone",
        "relation",
        "boost",
        "_name",
    ];
    if let Some(k) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(DslError::unknown_param("range", k));
    }
    let p = Some(params);
    let text = |k: &str| -> Result<Option<String>, DslError> {
        match params.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => scalar_query_text("range", x).map(Some),
        }
    };
    let include_lower = get_bool("range", p, "include_lower")?.unwrap_or(true);
    let include_upper = get_bool("range", p, "include_upper")?.unwrap_or(true);
    let mut spec = RangeSpec::default();
    if let Some(f) = text("from")? {
        spec.lo = Some((f, include_lower));
    }
    if let Some(t) = text("to")? {
        spec.hi = Some((t, include_upper));
    }
    if let Some(x) = text("gt")? {
        spec.lo = Some((x, false));
    }
    if let Some(x) = text("gte")? {
        spec.lo = Some((x, true));
    }
    if let Some(x) = text("lt")? {
        spec.hi = Some((x, false));
    }
    if let Some(x) = text("lte")? {
        spec.hi = Some((x, true));
    }
    spec.format = get_str("range", p, "format")?;
    if let Some(f) = &spec.format {
        DateFormat::parse(f)
            .map_err(|_| DslError::malformed("range", format!("Invalid format: [{f}]")))?;
    }
    if let Some(tz) = get_str("range", p, "time_zone")? {
        spec.offset = parse_time_zone(&tz, "range")?;
    }
    c.leaf(field, Access::Search, &|fm, name| {
        range_built(fm, name, &spec, false)
    })
}

/// Builds a range test for one field. `normalize` applies the field's normalization to string
/// bounds (as `query_string` ranges do).
pub(crate) fn range_built(
    fm: &FieldMapping,
    name: &str,
    spec: &RangeSpec,
    normalize: bool,
) -> Result<Built, DslError> {
    let Some(dom) = domain_for(fm, name)? else {
        return Ok(Built::None);
    };
    let pred = match dom {
        Domain::Keyword(d) => {
            let b = |e: &Option<(String, bool)>| string_bound(e, |s| d.normalize(s));
            Pred::Keyword(d.clone(), KwTest::Range(b(&spec.lo), b(&spec.hi)))
        }
        Domain::Text(analyzer) => {
            let norm = |s: &str| {
                if normalize {
                    analyzer.normalize(s)
                } else {
                    s.to_string()
                }
            };
            let m = TokMatcher::Range(string_bound(&spec.lo, norm), string_bound(&spec.hi, norm));
            Pred::Text {
                analyzer,
                test: TextTest::Tokens {
                    matchers: vec![m],
                    min: 1,
                },
            }
        }
        Domain::Int(d) => match int_range(d.kind, name, spec)? {
            Some(r) => Pred::Int(d, vec![r]),
            None => return Ok(Built::None),
        },
        Domain::Float(d) => {
            let b = |e: &Option<(String, bool)>| -> Result<Bound<f64>, DslError> {
                Ok(match e {
                    None => Bound::Unbounded,
                    Some((t, incl)) => {
                        let x = d.round(
                            parse_number_text(t.trim())
                                .ok_or_else(|| number_error(name, t))?
                                .as_f64(),
                        );
                        if *incl {
                            Bound::Included(x)
                        } else {
                            Bound::Excluded(x)
                        }
                    }
                })
            };
            Pred::Float(
                d.clone(),
                vec![FloatRange {
                    lo: b(&spec.lo)?,
                    hi: b(&spec.hi)?,
                }],
            )
        }
        Domain::Date(d) => {
            let r = date_range(&d, spec)?;
            Pred::Date(d, vec![r])
        }
        Domain::Ip(d) => {
            let lo = match &spec.lo {
                None => 0,
                Some((t, incl)) => {
                    let ip = parse_ip(t).ok_or_else(|| ip_error(name, t))?;
                    if *incl {
                        ip
                    } else {
                        match ip.checked_add(1) {
                            Some(n) => n,
                            None => return Ok(Built::None),
                        }
                    }
                }
            };
            let hi = match &spec.hi {
                None => u128::MAX,
                Some((t, incl)) => {
                    let ip = parse_ip(t).ok_or_else(|| ip_error(name, t))?;
                    if *incl {
                        ip
                    } else {
                        match ip.checked_sub(1) {
                            Some(n) => n,
                            None => return Ok(Built::None),
                        }
                    }
                }
            };
            Pred::Ip(d, vec![(lo, hi)])
        }
        Domain::Object => return Ok(Built::None),
    };
    Ok(Built::Pred(pred))
}

fn string_bound(e: &Option<(String, bool)>, norm: impl Fn(&str) -> String) -> Bound<String> {
    match e {
        None => Bound::Unbounded,
        Some((s, true)) => Bound::Included(norm(s)),
        Some((s, false)) => Bound::Excluded(norm(s)),
    }
}

fn number_error(name: &str, v: &str) -> DslError {
    DslError::invalid_value(name, format!("For input string: \"{v}\""))
}

/// Inclusive integer bounds for an integer-valued field; `None` when the range is empty.
fn int_range(
    kind: IntKind,
    name: &str,
    spec: &RangeSpec,
) -> Result<Option<(i128, i128)>, DslError> {
    let (min, max) = kind.bounds();
    let lo = match &spec.lo {
        None => min,
        Some((t, incl)) => int_bound(kind, name, t, *incl, true)?,
    };
    let hi = match &spec.hi {
        None => max,
        Some((t, incl)) => int_bound(kind, name, t, *incl, false)?,
    };
    let (lo, hi) = (lo.max(min), hi.min(max));
    Ok((lo <= hi).then_some((lo, hi)))
}

/// One integer bound: lower bounds round up, upper bounds round down; exclusive bounds step
/// inwards.
fn int_bound(
    kind: IntKind,
    name: &str,
    t: &str,
    incl: bool,
    lower: bool,
) -> Result<i128, DslError> {
    if kind == IntKind::Boolean {
        let b: i128 = match t {
            "true" => 1,
            "false" | "" => 0,
            _ => {
                return Err(DslError::invalid_value(
                    name,
                    format!("Can't parse boolean value [{t}], expected [true] or [false]"),
                ));
            }
        };
        return Ok(match (incl, lower) {
            (true, _) => b,
            (false, true) => b + 1,
            (false, false) => b - 1,
        });
    }
    let num = parse_number_text(t.trim()).ok_or_else(|| number_error(name, t))?;
    let x = match (kind, num) {
        (IntKind::Scaled(f), n) => n.as_f64() * f,
        (_, Num::Int(i)) => {
            return Ok(match (incl, lower) {
                (true, _) => i,
                (false, true) => i.saturating_add(1),
                (false, false) => i.saturating_sub(1),
            });
        }
        (_, Num::Float(x)) => x,
    };
    let stepped = match (incl, lower) {
        (true, _) => x,
        (false, true) => next_toward(x, true),
        (false, false) => next_toward(x, false),
    };
    Ok(if lower {
        stepped.ceil() as i128
    } else {
        stepped.floor() as i128
    })
}

/// The adjacent representable `f64` above (`up`) or below `x` (Java's `Math.nextUp`/`nextDown`).
fn next_toward(x: f64, up: bool) -> f64 {
    if x.is_nan() || (up && x == f64::INFINITY) || (!up && x == f64::NEG_INFINITY) {
        return x;
    }
    if x == 0.0 {
        let tiny = f64::from_bits(1);
        return if up { tiny } else { -tiny };
    }
    let bits = x.to_bits();
    f64::from_bits(if (x > 0.0) == up { bits + 1 } else { bits - 1 })
}

/// The date range of a `range` spec on a date field.
pub(crate) fn date_range(dom: &DateDom, spec: &RangeSpec) -> Result<DateRange, DslError> {
    let format = match &spec.format {
        Some(f) => DateFormat::parse(f)?,
        None => (*dom.format).clone(),
    };
    let lo = match &spec.lo {
        None => DateBound::Unbounded,
        Some((t, incl)) => date_bound(dom, &format, t, !incl, *incl, true, spec.offset)?,
    };
    let hi = match &spec.hi {
        None => DateBound::Unbounded,
        Some((t, incl)) => date_bound(dom, &format, t, *incl, *incl, false, spec.offset)?,
    };
    Ok(DateRange { lo, hi })
}

/// The range a date `term` covers: the value rounded down to the value rounded up.
pub(crate) fn date_term_range(
    dom: &DateDom,
    text: &str,
    format: Option<&str>,
    offset: i32,
) -> Result<DateRange, DslError> {
    let spec = RangeSpec {
        lo: Some((text.to_string(), true)),
        hi: Some((text.to_string(), true)),
        format: format.map(str::to_string),
        offset,
    };
    date_range(dom, &spec)
}

fn date_bound(
    dom: &DateDom,
    format: &DateFormat,
    text: &str,
    round_up: bool,
    incl: bool,
    lower: bool,
    offset: i32,
) -> Result<DateBound, DslError> {
    let math = DateMath::compile(text, format, offset)?;
    if math.is_now_relative() {
        return Ok(DateBound::Now {
            math,
            round_up,
            exclusive: !incl,
        });
    }
    let at = math
        .resolve(chrono::DateTime::<chrono::Utc>::MIN_UTC, round_up)
        .ok_or_else(|| DslError::date(text, "date out of range"))?;
    let n: Nanos = dom.truncate_bound(at);
    Ok(DateBound::Fixed(match (incl, lower) {
        (true, _) => n,
        (false, true) => n + dom.resolution(),
        (false, false) => n - dom.resolution(),
    }))
}
