//! The mapping of the ECS documents in Elastic's `logs-aws.cloudtrail-*` data streams: which type
//! the cluster gives each field (keyword, text, match_only_text, flattened, ip, …), so a
//! prefilter evaluated offline on an event's ECS view means what it means in the cluster.
//!
//! The mapping itself is `assets/cloudtrail-mapping.json`, as Elastic's integration installs it.

use esquery::dsl::Mapping;
use serde_json::Value;
use std::sync::OnceLock;

/// The mapping as JSON (a mappings body: dynamic templates and properties).
const CLOUDTRAIL_MAPPING: &str = include_str!("../../assets/cloudtrail-mapping.json");

/// The mapping of Elastic's `logs-aws.cloudtrail-*` data streams.
pub fn cloudtrail_mapping() -> &'static Mapping {
    static CT: OnceLock<Mapping> = OnceLock::new();
    CT.get_or_init(|| {
        let v: Value = serde_json::from_str(CLOUDTRAIL_MAPPING)
            .expect("assets/cloudtrail-mapping.json is valid JSON");
        Mapping::from_json(&v).expect("assets/cloudtrail-mapping.json is a valid mapping")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use esquery::dsl::FieldType;

    #[test]
    fn field_types_are_those_of_elastics_integration() {
        let m = cloudtrail_mapping();
        assert_eq!(m.field("@timestamp").unwrap().ty, FieldType::Date);
        assert_eq!(m.field("event.action").unwrap().ty, FieldType::Keyword);
        assert_eq!(
            m.field("user.name.text").unwrap().ty,
            FieldType::MatchOnlyText
        );
        assert_eq!(m.field("source.ip").unwrap().ty, FieldType::Ip);
        assert_eq!(
            m.field("aws.cloudtrail.read_only").unwrap().ty,
            FieldType::Boolean
        );
        assert_eq!(
            m.field("aws.cloudtrail.request_parameters")
                .unwrap()
                .ignore_above,
            Some(8191)
        );
        assert_eq!(
            m.field("aws.cloudtrail.flattened.response_elements")
                .unwrap()
                .ty,
            FieldType::Flattened
        );
        assert_eq!(
            m.field("data_stream.dataset").unwrap().ty,
            FieldType::ConstantKeyword
        );
        let original = m.field("event.original").unwrap();
        assert!(!original.index && !original.doc_values);
    }
}
