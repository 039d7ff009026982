//! Nested objects built from a fixed set of dotted paths.
//!
//! The views and alert fields eshunt makes of every event write the same ECS paths each time
//! (`event.action`, `aws.cloudtrail.user_identity.arn`, …). [`set_dotted`](super::path::set_dotted)
//! walks from the root for each path, looking every key up on the way and growing objects one
//! key at a time; a [`Shape`] knows the tree of its paths beforehand, so the values are put in
//! slots and each object is made once, at its final size, with each key inserted once. The
//! result equals what `set_dotted` makes of the present values in path order.

use serde_json::{Map, Value};

/// The tree of objects a fixed list of dotted paths makes; each distinct path is a slot.
#[derive(Debug)]
pub struct Shape {
    root: Vec<Node>,
    paths: Vec<String>,
}

/// One key of the tree: a slot's value, or an object of further keys.
#[derive(Debug)]
struct Node {
    key: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Slot(usize),
    Object(Vec<Node>),
}

/// The values of one object being built, by slot ([`Shape::values`]).
#[derive(Debug)]
pub struct Values(Vec<Option<Value>>);

impl Shape {
    /// The tree of `paths`, keys in the order they first appear; a repeated path is one slot.
    ///
    /// # Panics
    /// When one path is a strict prefix of another (`a` and `a.b`): the value at `a` could not
    /// also be an object. Shapes are made of eshunt's own constant path lists.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Shape {
        let mut shape = Shape {
            root: Vec::new(),
            paths: Vec::new(),
        };
        for path in paths {
            if !shape.paths.iter().any(|p| p == path) {
                shape.add(path);
            }
        }
        shape
    }

    fn add(&mut self, path: &str) {
        let slot = self.paths.len();
        let mut level = &mut self.root;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let at = match level.iter().position(|n| n.key == part) {
                Some(at) => at,
                None => {
                    let kind = match last {
                        true => Kind::Slot(slot),
                        false => Kind::Object(Vec::new()),
                    };
                    level.push(Node {
                        key: part.to_string(),
                        kind,
                    });
                    level.len() - 1
                }
            };
            match (&mut level[at].kind, last) {
                (Kind::Object(children), false) => level = children,
                (Kind::Slot(s), true) if *s == slot => break,
                _ => panic!("path `{path}` conflicts with another path of its shape"),
            }
        }
        self.paths.push(path.to_string());
    }

    /// The slot of `path`, a path the shape was made of.
    pub fn slot(&self, path: &str) -> Option<usize> {
        self.paths.iter().position(|p| p == path)
    }

    /// Empty values to fill for one object.
    pub fn values(&self) -> Values {
        Values(vec![None; self.paths.len()])
    }

    /// The object the values make: each present value at its path, objects only where they
    /// hold something.
    pub fn build(&self, mut values: Values) -> Map<String, Value> {
        build_level(&self.root, &mut values.0).unwrap_or_default()
    }
}

impl Values {
    /// Sets the value of `slot`, replacing any.
    pub fn set(&mut self, slot: usize, value: Value) {
        self.0[slot] = Some(value);
    }

    /// Whether `slot` holds a value.
    pub fn has(&self, slot: usize) -> bool {
        self.0[slot].is_some()
    }
}

/// The object of one level, or `None` when no value below it is present.
fn build_level(nodes: &[Node], values: &mut [Option<Value>]) -> Option<Map<String, Value>> {
    let mut object: Option<Map<String, Value>> = None;
    for node in nodes {
        let value = match &node.kind {
            Kind::Slot(slot) => values[*slot].take(),
            Kind::Object(children) => build_level(children, values).map(Value::Object),
        };
        if let Some(value) = value {
            object
                .get_or_insert_with(|| Map::with_capacity(nodes.len()))
                .insert(node.key.clone(), value);
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::path::set_dotted;
    use serde_json::json;

    const PATHS: [&str; 6] = [
        "event.action",
        "cloud.region",
        "event.id",
        "a.b.c",
        "a.d",
        "x",
    ];

    /// What `set_dotted` makes of the present values, in path order.
    fn by_set_dotted(present: &[(usize, Value)]) -> Map<String, Value> {
        let mut doc = Map::new();
        let mut sorted = present.to_vec();
        sorted.sort_by_key(|(slot, _)| *slot);
        for (slot, value) in sorted {
            set_dotted(&mut doc, PATHS[slot], value);
        }
        doc
    }

    #[test]
    fn builds_what_set_dotted_builds_for_every_subset_of_values() {
        let shape = Shape::new(PATHS);
        for mask in 0u32..(1 << PATHS.len()) {
            let present: Vec<(usize, Value)> = (0..PATHS.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| (i, json!(format!("v{i}"))))
                .collect();
            let mut values = shape.values();
            for (slot, value) in present.iter().rev() {
                values.set(*slot, value.clone());
            }
            assert_eq!(
                shape.build(values),
                by_set_dotted(&present),
                "mask {mask:b}"
            );
        }
        let mut all = shape.values();
        (0..PATHS.len()).for_each(|slot| all.set(slot, json!(slot)));
        let present: Vec<_> = (0..PATHS.len()).map(|slot| (slot, json!(slot))).collect();
        let text = |map: Map<String, Value>| Value::Object(map).to_string();
        assert_eq!(
            text(shape.build(all)),
            text(by_set_dotted(&present)),
            "key order"
        );
    }

    #[test]
    fn a_repeated_path_is_one_slot_and_empty_values_make_an_empty_object() {
        let shape = Shape::new(["user.name", "user.id", "user.name"]);
        assert_eq!(shape.slot("user.name"), Some(0));
        assert_eq!(shape.slot("user.id"), Some(1));
        assert_eq!(shape.slot("user"), None);
        assert!(shape.build(shape.values()).is_empty());
        let mut values = shape.values();
        values.set(0, json!("a"));
        values.set(0, json!("b"));
        assert!(values.has(0) && !values.has(1));
        assert_eq!(
            Value::Object(shape.build(values)),
            json!({"user": {"name": "b"}})
        );
    }

    #[test]
    #[should_panic(expected = "conflicts")]
    fn a_path_inside_another_path_is_refused() {
        Shape::new(["a.b", "a"]);
    }
}
