//! Index, template, data stream, document and bulk APIs over real HTTP.

mod common;

use common::Client;
use eshunt_testserver::{Flavor, SecurityConfig, TestServer};
use serde_json::json;

fn es() -> TestServer {
    TestServer::builder(Flavor::Elasticsearch, "8.15.0")
        .emulator_only()
        .start()
        .unwrap()
}

#[tokio::test]
async fn root_identifies_each_flavour() {
    let server = es();
    let c = Client::new(&server);
    let resp = reqwest::get(server.url()).await.unwrap();
    assert_eq!(resp.headers()["x-elastic-product"], "Elasticsearch");
    let (_, root) = c.req("GET", "/", None).await;
    assert_eq!(root["version"]["number"], "8.15.0");
    assert_eq!(root["tagline"], "You Know, for Search");
    assert_eq!(root["version"]["build_flavor"], "default");

    let os = TestServer::builder(Flavor::OpenSearch, "2.11.0")
        .emulator_only()
        .start()
        .unwrap();
    let resp = reqwest::get(os.url()).await.unwrap();
    assert!(resp.headers().get("x-elastic-product").is_none());
    let root: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(root["version"]["distribution"], "opensearch");
    assert_eq!(root["version"]["number"], "2.11.0");
}

#[tokio::test]
async fn document_crud_conflicts_and_concurrency() {
    let server = es();
    let c = Client::new(&server);
    let (s, r) = c
        .req("PUT", "/docs/_doc/1?refresh=true", Some(json!({"a": 1})))
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["result"], "created");
    assert_eq!(r["_seq_no"], 0);
    assert_eq!(r["forced_refresh"], true);
    let (s, r) = c.req("PUT", "/docs/_create/1", Some(json!({"a": 2}))).await;
    assert_eq!(s, 409);
    assert_eq!(r["error"]["type"], "version_conflict_engine_exception");
    assert_eq!(
        r["error"]["reason"],
        "[1]: version conflict, document already exists (current version [1])"
    );
    let (s, r) = c
        .req("PUT", "/docs/_doc/1?op_type=create", Some(json!({"a": 2})))
        .await;
    assert_eq!((s, r["status"].as_u64()), (409, Some(409)));
    let (s, r) = c.req("GET", "/docs/_doc/1", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            r["found"].as_bool(),
            r["_source"]["a"].as_i64(),
            r["_primary_term"].as_i64()
        ),
        (Some(true), Some(1), Some(1))
    );
    let (s, r) = c
        .req(
            "PUT",
            "/docs/_doc/1?if_seq_no=7&if_primary_term=1",
            Some(json!({"a": 3})),
        )
        .await;
    assert_eq!(s, 409, "{r}");
    assert!(r["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("required seqNo [7]"));
    let (s, r) = c
        .req(
            "PUT",
            "/docs/_doc/1?if_seq_no=0&if_primary_term=1",
            Some(json!({"a": 3})),
        )
        .await;
    assert_eq!(
        (s, r["result"].as_str(), r["_version"].as_i64()),
        (200, Some("updated"), Some(2))
    );
    let (s, r) = c
        .req("POST", "/docs/_update/1", Some(json!({"doc": {"b": true}})))
        .await;
    assert_eq!((s, r["result"].as_str()), (200, Some("updated")));
    let (_, r) = c.req("GET", "/docs/_doc/1?_source_includes=b", None).await;
    assert_eq!(r["_source"], json!({"b": true}));
    let (s, r) = c.req("POST", "/docs/_doc", Some(json!({"auto": 1}))).await;
    assert_eq!(s, 201);
    assert_eq!(r["_id"].as_str().unwrap().len(), 20);
    let (s, r) = c.req("DELETE", "/docs/_doc/1", None).await;
    assert_eq!((s, r["result"].as_str()), (200, Some("deleted")));
    let (s, r) = c.req("DELETE", "/docs/_doc/1", None).await;
    assert_eq!((s, r["result"].as_str()), (404, Some("not_found")));
    let (s, r) = c.req("GET", "/docs/_doc/1", None).await;
    assert_eq!((s, r["found"].as_bool()), (404, Some(false)));
    let (s, r) = c.req("GET", "/nope/_doc/1", None).await;
    assert_eq!(
        (s, r["error"]["type"].as_str()),
        (404, Some("index_not_found_exception"))
    );
    let (s, r) = c
        .text(
            "PUT",
            "/docs/_doc/2",
            Some("{not json".into()),
            "application/json",
        )
        .await;
    assert_eq!(s, 400, "{r}");
    assert_eq!(r["error"]["type"], "document_parsing_exception");
}

#[tokio::test]
async fn bulk_answers_per_item() {
    let server = es();
    let c = Client::new(&server);
    c.req(
        "PUT",
        "/b",
        Some(json!({"mappings": {"properties": {"n": {"type": "long"}}}})),
    )
    .await;
    let (s, r) = c
        .bulk(
            "/_bulk",
            &[
                json!({"create": {"_index": "b", "_id": "1"}}),
                json!({"n": 1}),
                json!({"create": {"_index": "b", "_id": "1"}}),
                json!({"n": 2}),
                json!({"index": {"_index": "b", "_id": "2"}}),
                json!({"n": "not a number"}),
                json!({"update": {"_index": "b", "_id": "1"}}),
                json!({"doc": {"m": 5}}),
                json!({"delete": {"_index": "b", "_id": "9"}}),
            ],
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["errors"], true);
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["create"]["status"], 201);
    assert_eq!(items[0]["create"]["_seq_no"], 0);
    assert_eq!(items[1]["create"]["status"], 409);
    assert_eq!(
        items[1]["create"]["error"]["type"],
        "version_conflict_engine_exception"
    );
    assert_eq!(items[2]["index"]["status"], 400);
    assert_eq!(
        items[2]["index"]["error"]["type"],
        "document_parsing_exception"
    );
    assert_eq!(items[3]["update"]["status"], 200);
    assert_eq!(items[4]["delete"]["status"], 404);
    let (s, r) = c
        .text(
            "POST",
            "/b/_bulk",
            Some("{\"index\":{}}\n{}".into()),
            "application/json",
        )
        .await;
    assert_eq!(s, 400);
    assert!(r["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("terminated by a newline"));
    let (s, r) = c
        .bulk(
            "/b/_bulk",
            &[json!({"index": {"_id": "x"}}), json!({"n": 3})],
        )
        .await;
    assert_eq!((s, r["errors"].as_bool()), (200, Some(false)));
    c.req("POST", "/b/_refresh", None).await;
    let (_, r) = c.req("GET", "/b/_count", None).await;
    assert_eq!(r["count"], 2);
}

#[tokio::test]
async fn templates_data_streams_and_rollover() {
    let server = es();
    let c = Client::new(&server);
    let (s, r) = c
        .req(
            "PUT",
            "/_component_template/ct",
            Some(json!({"template": {"mappings": {"properties": {"k": {"type": "keyword"}}}}})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = c
        .req("PUT", "/_index_template/t", Some(json!({"index_patterns": ["logs-x-*"], "composed_of": ["ct"], "priority": 200, "data_stream": {}})))
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, _) = c.req("GET", "/_index_template/t", None).await;
    assert_eq!(s, 200);
    let (s, r) = c
        .req(
            "PUT",
            "/_index_template/t2",
            Some(json!({"index_patterns": ["logs-x-a*"], "priority": 200})),
        )
        .await;
    assert_eq!(s, 400, "{r}");
    // Auto-creation by a create op; index ops are refused.
    let (s, r) = c
        .req(
            "PUT",
            "/logs-x-a/_doc/1",
            Some(json!({"@timestamp": "2024-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(s, 400, "{r}");
    assert_eq!(
        r["error"]["reason"],
        "only write ops with an op_type of create are allowed in data streams"
    );
    let (s, r) = c
        .req(
            "PUT",
            "/logs-x-a/_create/1",
            Some(json!({"@timestamp": "2024-01-01T00:00:00Z", "k": "v"})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let first_backing = r["_index"].as_str().unwrap().to_string();
    assert!(first_backing.starts_with(".ds-logs-x-a-") && first_backing.ends_with("-000001"));
    let (s, r) = c
        .req(
            "PUT",
            "/logs-x-a/_create/2",
            Some(json!({"k": "no timestamp"})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(r["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("[@timestamp] is missing"));
    let (_, r) = c.req("GET", "/_data_stream/logs-x-a", None).await;
    assert_eq!(r["data_streams"][0]["generation"], 1);
    assert_eq!(r["data_streams"][0]["template"], "t");
    let (s, r) = c.req("POST", "/logs-x-a/_rollover", None).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["new_index"].as_str().unwrap().ends_with("-000002"));
    // _id uniqueness is per backing index: the same id can be created again after rollover.
    let (s, r) = c
        .bulk(
            "/_bulk",
            &[
                json!({"create": {"_index": "logs-x-a", "_id": "1"}}),
                json!({"@timestamp": "2024-01-02T00:00:00Z"}),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(r["items"][0]["create"]["status"], 201, "{r}");
    let (_, r) = c.req("GET", "/logs-x-a/_count", None).await;
    assert_eq!(r["count"], 0, "writes are not refreshed yet");
    c.req("POST", "/logs-x-a/_refresh", None).await;
    let (_, r) = c.req("GET", "/logs-x-a/_count", None).await;
    assert_eq!(r["count"], 2);
    // Backing indices are hidden from `*`, data streams are not.
    let (_, r) = c.req("GET", "/*/_count", None).await;
    assert_eq!(r["count"], 2);
    let (_, r) = c.req("GET", "/.ds-*/_count", None).await;
    assert_eq!(r["count"], 0);
    let (_, r) = c
        .req("GET", "/.ds-*/_count?expand_wildcards=all", None)
        .await;
    assert_eq!(r["count"], 2);
    let (_, r) = c
        .req("GET", &format!("/{first_backing}/_mapping"), None)
        .await;
    assert_eq!(
        r[&first_backing]["mappings"]["properties"]["k"]["type"],
        "keyword"
    );
    let (s, _) = c.req("DELETE", "/_data_stream/logs-*", None).await;
    assert_eq!(s, 400, "ES 8 refuses wildcard deletes");
    let (s, _) = c.req("DELETE", "/_data_stream/logs-x-a", None).await;
    assert_eq!(s, 200);
    let (s, _) = c.req("DELETE", "/_component_template/ct", None).await;
    assert_eq!(s, 400, "still used by t");
    let (s, _) = c.req("DELETE", "/_index_template/t", None).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn indices_are_managed_like_es() {
    let server = es();
    let c = Client::new(&server);
    let (s, r) = c.req("PUT", "/idx", Some(json!({"settings": {"number_of_shards": 1}, "mappings": {"properties": {"a": {"type": "keyword"}}}}))).await;
    assert_eq!((s, r["index"].as_str()), (200, Some("idx")));
    let (s, r) = c.req("PUT", "/idx", None).await;
    assert_eq!(
        (s, r["error"]["type"].as_str()),
        (400, Some("resource_already_exists_exception"))
    );
    let (s, r) = c.req("PUT", "/Bad", None).await;
    assert_eq!(
        (s, r["error"]["type"].as_str()),
        (400, Some("invalid_index_name_exception"))
    );
    let (_, r) = c.req("GET", "/idx", None).await;
    assert_eq!(r["idx"]["settings"]["index"]["number_of_shards"], "1");
    let (s, _) = c.req("HEAD", "/idx", None).await;
    assert_eq!(s, 200);
    let (s, _) = c.req("HEAD", "/missing", None).await;
    assert_eq!(s, 404);
    let (s, _) = c.req("POST", "/idx/_refresh", None).await;
    assert_eq!(s, 200);
    let (s, r) = c.req("GET", "/_unknown/thing", None).await;
    assert_eq!(s, 400);
    assert_eq!(
        r["error"],
        "no handler found for uri [/_unknown/thing] and method [GET]"
    );
    let (s, _) = c.req("DELETE", "/idx*", None).await;
    assert_eq!(s, 400);
    let (s, _) = c.req("DELETE", "/idx", None).await;
    assert_eq!(s, 200);
    let (s, _) = c.req("GET", "/idx", None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn security_answers_from_configuration() {
    let server = TestServer::builder(Flavor::Elasticsearch, "8.15.0")
        .emulator_only()
        .security(
            SecurityConfig::open()
                .with_user("eshunt", "secret")
                .deny("logs-*", "write"),
        )
        .start()
        .unwrap();
    let c = Client::new(&server);
    let (s, r) = c.req("GET", "/", None).await;
    assert_eq!(s, 401);
    assert_eq!(r["error"]["type"], "security_exception");
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/_security/_authenticate", server.url()))
        .basic_auth("eshunt", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body = json!({"index": [{"names": ["logs-a", "other"], "privileges": ["read", "write"]}]});
    let resp = http
        .post(format!("{}/_security/user/_has_privileges", server.url()))
        .basic_auth("eshunt", Some("secret"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let r: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(r["username"], "eshunt");
    assert_eq!(r["has_all_requested"], false);
    assert_eq!(r["index"]["logs-a"], json!({"read": true, "write": false}));
    assert_eq!(r["index"]["other"]["write"], true);
    // OpenSearch: no `_security` API.
    let os = TestServer::builder(Flavor::OpenSearch, "2.11.0")
        .emulator_only()
        .start()
        .unwrap();
    let (s, _) = Client::new(&os)
        .req("GET", "/_security/_authenticate", None)
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn indices_denied_read_are_hidden_or_refused_as_each_flavour_does() {
    for (flavor, version) in [
        (Flavor::Elasticsearch, "8.15.0"),
        (Flavor::OpenSearch, "2.11.0"),
    ] {
        let server = TestServer::builder(flavor, version)
            .emulator_only()
            .security(SecurityConfig::open().deny("secret-*", "read"))
            .start()
            .unwrap();
        let c = Client::new(&server);
        for index in ["secret-a", "public-a"] {
            let (s, _) = c
                .req(
                    "PUT",
                    &format!("/{index}/_doc/1?refresh=true"),
                    Some(json!({"x": 1})),
                )
                .await;
            assert_eq!(s, 201);
        }
        let (s, r) = c.req("POST", "/secret-a/_search", Some(json!({}))).await;
        assert_eq!(s, 403, "{flavor:?}: a concrete name is refused");
        assert_eq!(r["error"]["type"], "security_exception");
        let (s, r) = c.req("POST", "/*-a/_search", Some(json!({}))).await;
        if flavor == Flavor::Elasticsearch {
            assert_eq!(s, 200, "{r}");
            assert_eq!(r["hits"]["total"]["value"], 1, "ES leaves it out: {r}");
            assert_eq!(r["hits"]["hits"][0]["_index"], "public-a");
        } else {
            assert_eq!(s, 403, "OpenSearch refuses the whole request: {r}");
        }
        let (s, _) = c.req("POST", "/secret-*/_count", Some(json!({}))).await;
        let expected = if flavor == Flavor::OpenSearch {
            403
        } else {
            200
        };
        assert_eq!(s, expected, "{flavor:?}");
        let (s, r) = c.req("GET", "/_plugins/_security/api/account", None).await;
        let expected = if flavor == Flavor::OpenSearch {
            200
        } else {
            400
        };
        assert_eq!(s, expected, "{flavor:?}: {r}");
    }
}
