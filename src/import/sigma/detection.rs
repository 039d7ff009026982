//! A Sigma rule's `detection` section as a tree of field tests, per the Sigma specification:
//! a map is the AND of its fields, a list of values the OR of them (AND with `all`), a list of
//! maps the OR of the maps; the condition combines search identifiers with `and`, `or`, `not`,
//! parentheses, `1 of x*` / `all of x*` and `them` (identifiers starting with `_` excluded).

use super::value::{self, Pieces};
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

/// A detection, or a part of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// All hold.
    And(Vec<Node>),
    /// One holds.
    Or(Vec<Node>),
    /// Does not hold.
    Not(Box<Node>),
    /// One field test.
    Test(Test),
}

/// One test of one field, with the Sigma text it comes from (for warnings).
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// The CloudTrail field, as Sigma names it.
    pub field: String,
    /// What is tested.
    pub kind: Kind,
    /// `field|modifiers: value`, as written.
    pub written: String,
}

/// What a field test checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// No value (`null`, `exists: false`).
    Null,
    /// Some value (`exists: true`).
    NotNull,
    /// A string pattern (wildcards resolved, `contains`/`startswith`/`endswith` applied).
    Pattern {
        /// The pattern.
        pieces: Pieces,
        /// `cased`: compare case-sensitively.
        cased: bool,
    },
    /// A plain value that also reads as a JSON number or boolean (`123`, `'true'`): equal as
    /// a string, or as that JSON value.
    Typed {
        /// The value as a string.
        text: String,
        /// The JSON literal it reads as (`123`, `true`).
        json: String,
        /// `cased`.
        cased: bool,
    },
    /// `re`: a regular expression found in a string value.
    Regex {
        /// The expression, with its `(?m)`/`(?s)` flags.
        regex: String,
        /// `re|i`.
        insensitive: bool,
    },
    /// `cidr`.
    Cidr(String),
    /// `fieldref`: compared with another field.
    FieldRef {
        /// The other field.
        other: String,
        /// How (`ieq`, `icontains`…), without the `i` when cased.
        how: Position,
        /// `cased`.
        cased: bool,
    },
    /// `gt`, `gte`, `lt`, `lte`: a number.
    Compare {
        /// The eshunt operator.
        op: &'static str,
        /// The number as written.
        number: String,
    },
}

/// Where a value must be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// The whole value.
    Whole,
    /// Anywhere (`contains`).
    Contains,
    /// At the start (`startswith`).
    StartsWith,
    /// At the end (`endswith`).
    EndsWith,
}

/// Why a detection cannot become an eshunt condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A Sigma feature eshunt does not translate: the rule is refused, with this reason.
    Refused(String),
    /// Not a valid Sigma detection.
    Malformed(String),
}

fn refused<T>(reason: impl Into<String>) -> Result<T, Problem> {
    Err(Problem::Refused(reason.into()))
}

fn malformed<T>(reason: impl Into<String>) -> Result<T, Problem> {
    Err(Problem::Malformed(reason.into()))
}

/// Translates a `detection` map into one tree.
pub fn parse(detection: &Yaml) -> Result<Node, Problem> {
    let Yaml::Hash(map) = detection else {
        return malformed("`detection` is not a map");
    };
    let mut selections = Vec::new();
    let mut condition = None;
    for (key, value) in map {
        match key.as_str() {
            Some("condition") => condition = Some(value),
            Some("timeframe") => return refused("`timeframe`: eshunt judges one event at a time"),
            Some(name) => selections.push((name.to_string(), selection(value)?)),
            None => return malformed("a search identifier is not a string"),
        }
    }
    let Some(condition) = condition else {
        return malformed("`detection` has no `condition`");
    };
    let texts: Vec<&str> = match condition {
        Yaml::String(s) => vec![s.as_str()],
        Yaml::Array(items) => items.iter().filter_map(Yaml::as_str).collect(),
        _ => return malformed("`condition` is not a string"),
    };
    if texts.is_empty() {
        return malformed("`condition` is empty");
    }
    let parsed: Vec<Node> = texts
        .iter()
        .map(|text| Condition::parse(text, &selections))
        .collect::<Result<_, _>>()?;
    Ok(any(parsed))
}

/// One search identifier's value.
fn selection(value: &Yaml) -> Result<Node, Problem> {
    match value {
        Yaml::Hash(map) => fields(map),
        Yaml::Array(items) if items.iter().all(|i| matches!(i, Yaml::Hash(_))) => {
            let maps = items.iter().map(selection).collect::<Result<_, _>>()?;
            Ok(any(maps))
        }
        _ => refused("keyword search (values without a field): CloudTrail rules name their fields"),
    }
}

/// A map: every field holds.
fn fields(map: &Hash) -> Result<Node, Problem> {
    let mut tests = Vec::new();
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            return malformed("a field name is not a string");
        };
        tests.push(field(key, value)?);
    }
    if tests.is_empty() {
        return malformed("an empty selection");
    }
    Ok(every(tests))
}

/// The modifiers of one field.
#[derive(Debug, Default)]
struct Modifiers {
    position: Option<Position>,
    all: bool,
    cased: bool,
    re: Option<(bool, bool, bool)>,
    cidr: bool,
    exists: bool,
    fieldref: bool,
    windash: bool,
    neq: bool,
    compare: Option<&'static str>,
}

impl Modifiers {
    fn parse(names: &[&str]) -> Result<Modifiers, Problem> {
        let mut m = Modifiers::default();
        for name in names {
            match *name {
                "contains" => m.position = Some(Position::Contains),
                "startswith" => m.position = Some(Position::StartsWith),
                "endswith" => m.position = Some(Position::EndsWith),
                "all" => m.all = true,
                "cased" => m.cased = true,
                "re" => m.re = Some((false, false, false)),
                "i" | "m" | "s" => m.regex_flag(name)?,
                "cidr" => m.cidr = true,
                "exists" => m.exists = true,
                "fieldref" => m.fieldref = true,
                "windash" => m.windash = true,
                "neq" => m.neq = true,
                "gt" | "gte" | "lt" | "lte" => m.compare = Some(compare_op(name)),
                other => {
                    return refused(format!("modifier `{other}`: eshunt does not translate it"))
                }
            }
        }
        m.check()?;
        Ok(m)
    }

    fn regex_flag(&mut self, flag: &str) -> Result<(), Problem> {
        let Some((i, m, s)) = &mut self.re else {
            return malformed(format!("modifier `{flag}` without `re`"));
        };
        match flag {
            "i" => *i = true,
            "m" => *m = true,
            _ => *s = true,
        }
        Ok(())
    }

    /// Combinations without a meaning: two value types (`re`, `cidr`, `exists`, a comparison,
    /// `fieldref`), a position on anything but a string or a field reference, `windash` on
    /// anything but a string.
    fn check(&self) -> Result<(), Problem> {
        let types = [
            self.re.is_some(),
            self.cidr,
            self.exists,
            self.compare.is_some(),
            self.fieldref,
        ];
        let typed = types.iter().filter(|t| **t).count();
        let misplaced = self.position.is_some() && typed > usize::from(self.fieldref);
        match typed > 1 || misplaced || (self.windash && typed > 0) {
            true => refused("a combination of modifiers eshunt does not translate"),
            false => Ok(()),
        }
    }
}

fn compare_op(name: &str) -> &'static str {
    match name {
        "gt" => "gt",
        "gte" => "gte",
        "lt" => "lt",
        _ => "lte",
    }
}

/// `field|modifiers: value(s)`.
fn field(key: &str, value: &Yaml) -> Result<Node, Problem> {
    let mut parts = key.split('|');
    let name = parts.next().unwrap_or_default().trim();
    if name.is_empty() {
        return refused(
            "keyword search (values without a field): CloudTrail rules name their fields",
        );
    }
    if crate::rule::condition::Field::parse(name).is_err() || name.contains(['(', ')']) {
        return refused(format!("field `{name}` is not a CloudTrail field path"));
    }
    let modifiers: Vec<&str> = parts.collect();
    let m = Modifiers::parse(&modifiers)?;
    let written = format!("{key}: {}", yaml_text(value));
    let make = |kind| {
        Node::Test(Test {
            field: name.to_string(),
            kind,
            written: written.clone(),
        })
    };
    let values: Vec<&Yaml> = match value {
        Yaml::Array(items) if items.is_empty() => {
            return malformed(format!("`{key}` has no value"))
        }
        Yaml::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    if m.all && values.len() < 2 {
        return malformed(format!("`{key}`: `all` needs a list of values"));
    }
    let tests = values
        .into_iter()
        .map(|v| kind(&m, v).map(make))
        .collect::<Result<Vec<_>, _>>()?;
    let joined = match m.all {
        true => every(tests),
        false => any(tests),
    };
    Ok(match m.neq {
        true => Node::Not(Box::new(joined)),
        false => joined,
    })
}

/// The test one value makes under the modifiers.
fn kind(m: &Modifiers, v: &Yaml) -> Result<Kind, Problem> {
    if matches!(v, Yaml::Null) {
        return match m.position.is_some() || m.re.is_some() || m.cidr || m.fieldref {
            true => malformed("`null` with a value modifier"),
            false => Ok(Kind::Null),
        };
    }
    let text = scalar(v)?;
    if m.exists {
        return match text.to_ascii_lowercase().as_str() {
            "true" => Ok(Kind::NotNull),
            "false" => Ok(Kind::Null),
            _ => malformed("`exists` takes `true` or `false`"),
        };
    }
    if let Some(op) = m.compare {
        return match value::is_number(&text) {
            true => Ok(Kind::Compare { op, number: text }),
            false => malformed(format!("`{op}` takes a number, not `{text}`")),
        };
    }
    if m.fieldref {
        if crate::rule::condition::Field::parse(&text).is_err() || text.contains(['(', ')']) {
            return refused(format!(
                "`fieldref` names `{text}`, not a CloudTrail field path"
            ));
        }
        return Ok(Kind::FieldRef {
            other: text,
            how: m.position.unwrap_or(Position::Whole),
            cased: m.cased,
        });
    }
    if m.cidr {
        return Ok(Kind::Cidr(text));
    }
    if let Some((i, multi, dot_all)) = m.re {
        return regex(&text, i, multi, dot_all);
    }
    let pieces = value::pieces(&text, m.windash);
    if m.position.is_none() && pieces.is_literal() {
        if let Some(json) = value::typed(v, &text) {
            return Ok(Kind::Typed {
                text,
                json,
                cased: m.cased,
            });
        }
    }
    Ok(Kind::Pattern {
        pieces: pieces.placed(m.position.unwrap_or(Position::Whole)),
        cased: m.cased,
    })
}

/// `re` (with `i`, `m`, `s`): checked against Rust's regex syntax now, so that a PCRE feature
/// it lacks (look-around, back-references) refuses the rule instead of breaking its file.
fn regex(text: &str, insensitive: bool, multi: bool, dot_all: bool) -> Result<Kind, Problem> {
    let flags = match (multi, dot_all) {
        (false, false) => "",
        (true, false) => "(?m)",
        (false, true) => "(?s)",
        (true, true) => "(?ms)",
    };
    let regex = format!("{flags}{text}");
    match regex::Regex::new(&regex) {
        Ok(_) => Ok(Kind::Regex { regex, insensitive }),
        Err(_) => refused(format!(
            "regular expression `{text}`: not in the syntax eshunt runs (no look-around or back-references)"
        )),
    }
}

/// A scalar value as Sigma reads it: a string.
fn scalar(v: &Yaml) -> Result<String, Problem> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Ok(s.clone()),
        Yaml::Integer(i) => Ok(i.to_string()),
        Yaml::Boolean(b) => Ok(b.to_string()),
        _ => malformed("a value is not a string, number or boolean"),
    }
}

/// A value for messages.
fn yaml_text(v: &Yaml) -> String {
    match v {
        Yaml::Array(items) => format!(
            "[{}]",
            items.iter().map(yaml_text).collect::<Vec<_>>().join(", ")
        ),
        Yaml::Null => "null".into(),
        other => scalar(other).map_or_else(|_| "…".into(), |s| format!("'{s}'")),
    }
}

fn any(mut nodes: Vec<Node>) -> Node {
    match nodes.len() {
        1 => nodes.remove(0),
        _ => Node::Or(nodes),
    }
}

fn every(mut nodes: Vec<Node>) -> Node {
    match nodes.len() {
        1 => nodes.remove(0),
        _ => Node::And(nodes),
    }
}

/// The condition's parser: `or` < `and` < `not` < `x of` < parentheses.
struct Condition<'a> {
    tokens: Vec<String>,
    at: usize,
    selections: &'a [(String, Node)],
}

impl<'a> Condition<'a> {
    fn parse(text: &str, selections: &'a [(String, Node)]) -> Result<Node, Problem> {
        if text.contains('|') {
            return refused("aggregation (`| count()` …): eshunt judges one event at a time");
        }
        let tokens = tokenize(text);
        if tokens.iter().any(|t| t.eq_ignore_ascii_case("near")) {
            return refused("`near`: eshunt judges one event at a time");
        }
        let mut parser = Condition {
            tokens,
            at: 0,
            selections,
        };
        let node = parser.or()?;
        match parser.peek() {
            None => Ok(node),
            Some(t) => malformed(format!("condition `{text}`: unexpected `{t}`")),
        }
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn eat(&mut self, word: &str) -> bool {
        let hit = self.peek().is_some_and(|t| t.eq_ignore_ascii_case(word));
        self.at += usize::from(hit);
        hit
    }

    fn or(&mut self) -> Result<Node, Problem> {
        let mut items = vec![self.and()?];
        while self.eat("or") {
            items.push(self.and()?);
        }
        Ok(any(items))
    }

    fn and(&mut self) -> Result<Node, Problem> {
        let mut items = vec![self.not()?];
        while self.eat("and") {
            items.push(self.not()?);
        }
        Ok(every(items))
    }

    fn not(&mut self) -> Result<Node, Problem> {
        match self.eat("not") {
            true => Ok(Node::Not(Box::new(self.not()?))),
            false => self.atom(),
        }
    }

    fn atom(&mut self) -> Result<Node, Problem> {
        let Some(token) = self.peek().map(str::to_string) else {
            return malformed("the condition ends too early");
        };
        self.at += 1;
        if token == "(" {
            let node = self.or()?;
            return match self.eat(")") {
                true => Ok(node),
                false => malformed("the condition misses a `)`"),
            };
        }
        if self.eat("of") {
            return self.quantified(&token);
        }
        match self.selections.iter().find(|(name, _)| *name == token) {
            Some((_, node)) => Ok(node.clone()),
            None => malformed(format!(
                "the condition names `{token}`, which is not defined"
            )),
        }
    }

    /// `1 of x*`, `all of them`.
    fn quantified(&mut self, count: &str) -> Result<Node, Problem> {
        let Some(target) = self.peek().map(str::to_string) else {
            return malformed(format!("`{count} of` names nothing"));
        };
        self.at += 1;
        let matched: Vec<Node> = self
            .selections
            .iter()
            .filter(|(name, _)| match target.as_str() {
                "them" => !name.starts_with('_'),
                pattern => glob(pattern, name),
            })
            .map(|(_, node)| node.clone())
            .collect();
        if matched.is_empty() {
            return malformed(format!(
                "`{count} of {target}` matches no search identifier"
            ));
        }
        match count {
            "1" | "any" => Ok(any(matched)),
            "all" => Ok(every(matched)),
            other => refused(format!(
                "`{other} of`: Sigma conditions count `1 of` or `all of` only"
            )),
        }
    }
}

/// Splits a condition into words and parentheses.
fn tokenize(text: &str) -> Vec<String> {
    text.replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// A search-identifier pattern: `*` matches any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    fn detection(text: &str) -> Result<Node, Problem> {
        let docs = YamlLoader::load_from_str(text).unwrap();
        parse(&docs[0])
    }

    #[test]
    fn search_identifier_patterns() {
        assert!(glob("selection_*", "selection_a"));
        assert!(glob("*_a", "selection_a"));
        assert!(glob("s*n*a", "selection_a"));
        assert!(!glob("filter*", "selection"));
        assert!(glob("exact", "exact"));
    }

    #[test]
    fn condition_precedence_and_quantifiers() {
        let node = detection(
            "a: {x: '1'}\nb: {y: '2'}\n_c: {z: '3'}\ncondition: not a and b or 1 of them",
        )
        .unwrap();
        let Node::Or(items) = node else {
            panic!("{node:?}")
        };
        assert!(matches!(&items[0], Node::And(v) if matches!(v[0], Node::Not(_))));
        assert!(
            matches!(&items[1], Node::Or(v) if v.len() == 2),
            "`them` skips `_c`"
        );
    }

    #[test]
    fn refusals_name_their_reason() {
        let refusal = |text: &str| match detection(text) {
            Err(Problem::Refused(r)) => r,
            other => panic!("{other:?}"),
        };
        assert!(refusal("a: {x: 1}\ncondition: a | count() > 5").contains("aggregation"));
        assert!(refusal("a: {x: 1}\ntimeframe: 5m\ncondition: a").contains("timeframe"));
        assert!(refusal("a: {x: 1}\nb: {y: 1}\ncondition: a near b").contains("near"));
        assert!(refusal("a: [foo, bar]\ncondition: a").contains("keyword"));
        assert!(refusal("a: {x|base64: foo}\ncondition: a").contains("base64"));
        assert!(refusal("a: {x|re: '(?<=a)b'}\ncondition: a").contains("regular expression"));
    }

    #[test]
    fn malformed_detections() {
        assert!(matches!(
            detection("a: {x: 1}\ncondition: b"),
            Err(Problem::Malformed(_))
        ));
        assert!(matches!(
            detection("a: {x: 1}\ncondition: (a"),
            Err(Problem::Malformed(_))
        ));
        assert!(matches!(
            detection("a: {x|all: 1}\ncondition: a"),
            Err(Problem::Malformed(_))
        ));
    }
}
