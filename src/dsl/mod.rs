//! Local evaluation of Elasticsearch query DSL against a JSON document.
