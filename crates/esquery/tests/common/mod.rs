//! What the integration tests share: a real-world mapping to evaluate queries with.

use esquery::dsl::Mapping;

/// The mapping of Elastic's CloudTrail data streams, as eshunt bundles it (`assets/` of the
/// workspace root): keyword, text, match_only_text, flattened, ip, date, dynamic templates.
pub fn cloudtrail() -> Mapping {
    let json = include_str!("../../../../assets/cloudtrail-mapping.json");
    Mapping::from_json(&serde_json::from_str(json).expect("valid JSON")).expect("valid mapping")
}
