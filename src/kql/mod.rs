//! Kibana Query Language (KQL) → Elasticsearch query DSL.
