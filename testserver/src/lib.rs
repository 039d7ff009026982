//! An Elasticsearch/OpenSearch-compatible test server.
