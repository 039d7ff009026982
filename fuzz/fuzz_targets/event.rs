//! Any JSON document through the event view, the shipped rules and alert building: no panic.
#![no_main]

use eshunt::event::{Event, Origin};
use eshunt::rule::{load_dir, Rule};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| load_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries")).rules)
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let event = Event::from_document(doc, Origin::Inline("fuzz".into()));
    let _ = (event.event_id(), event.time(), event.ingested());
    for rule in rules() {
        let _ = rule.needles.may_match(data);
        let _ = rule.evaluate(&event, eshunt::rule::PrefilterCheck::Local);
        let _ = eshunt::alert::build(rule, &event, chrono::DateTime::UNIX_EPOCH);
    }
});
