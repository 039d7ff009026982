//! Search, sorting, paging, points in time and scroll over real HTTP, on CloudTrail ECS
//! documents under the CloudTrail mapping.

mod common;

use common::{cloudtrail, seed_prefilter, Client};
use eshunt_testserver::{ContextPolicy, Flavor, TestCluster, TestServer};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

fn emulator(flavor: Flavor, version: &str) -> TestServer {
    TestServer::builder(flavor, version)
        .emulator_only()
        .start()
        .unwrap()
}

/// 40 documents, of which those with n % 4 == 0 are Lambda layer publications or updates that
/// succeeded (the seed prefilter's matches: 10), others noise.
fn corpus() -> Vec<Value> {
    (0..40)
        .map(|n| match n % 4 {
            0 if n % 8 == 0 => cloudtrail(
                n,
                "PublishLayerVersion20181031",
                "success",
                "lambda.amazonaws.com",
            ),
            0 => cloudtrail(
                n,
                "UpdateFunctionConfiguration20150331v2",
                "success",
                "lambda.amazonaws.com",
            ),
            1 => cloudtrail(
                n,
                "UpdateFunctionConfiguration20150331v2",
                "failure",
                "lambda.amazonaws.com",
            ),
            2 => cloudtrail(
                n,
                "CreateFunction20150331",
                "success",
                "lambda.amazonaws.com",
            ),
            _ => cloudtrail(
                n,
                "PublishLayerVersion20181031",
                "success",
                "s3.amazonaws.com",
            ),
        })
        .collect()
}

/// A cluster with the CloudTrail template and the corpus in its data stream.
async fn loaded(flavor: Flavor, version: &str) -> (TestCluster, String) {
    let cluster = TestCluster::with_server(emulator(flavor, version));
    let ds = cluster.install_cloudtrail_template().await.unwrap();
    let ids = cluster.bulk_load(&ds, &corpus()).await.unwrap();
    assert_eq!(ids.len(), 40);
    (cluster, ds)
}

fn ids(page: &Value) -> Vec<String> {
    page["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            h["_source"]["event"]["id"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn seed_prefilter_selects_the_lambda_layer_events() {
    let (cluster, ds) = loaded(Flavor::Elasticsearch, "8.15.0").await;
    let c = Client::new(cluster.server());
    let body = json!({"query": seed_prefilter(), "size": 100, "sort": [{"@timestamp": "asc"}], "_source": {"includes": ["event.*", "@timestamp"], "excludes": ["event.ingested"]}});
    let (s, r) = c
        .req(
            "POST",
            &format!("/{}/_search", cluster.name("logs-aws.cloudtrail-*")),
            Some(body),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["hits"]["total"], json!({"value": 10, "relation": "eq"}));
    assert_eq!(r["_shards"]["total"], 1);
    let hits = r["hits"]["hits"].as_array().unwrap();
    assert!(hits.iter().all(|h| h["_index"]
        .as_str()
        .unwrap()
        .starts_with(&format!(".ds-{ds}"))));
    assert!(hits.iter().all(|h| h["_score"].is_null()));
    assert_eq!(hits[0]["sort"][0], 1714557600000i64);
    assert_eq!(
        hits[0]["_source"]["event"].as_object().unwrap().len(),
        7,
        "{}",
        hits[0]["_source"]
    );
    assert!(hits[0]["_source"].get("aws").is_none());
    assert_eq!(ids(&r)[..3], ["evt-000000", "evt-000004", "evt-000008"]);
    // keyword fields are exact: the lowercase action does not match.
    let q = json!({"query": {"term": {"event.action": "publishlayerversion20181031"}}});
    let (_, r) = c.req("POST", &format!("/{ds}/_search"), Some(q)).await;
    assert_eq!(r["hits"]["total"]["value"], 0);
}

#[tokio::test]
async fn query_errors_have_es_shapes() {
    let (cluster, ds) = loaded(Flavor::Elasticsearch, "8.15.0").await;
    let c = Client::new(cluster.server());
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"query": {"no_such_query": {}}})),
        )
        .await;
    assert_eq!(
        (s, r["error"]["type"].as_str()),
        (400, Some("parsing_exception")),
        "{r}"
    );
    assert_eq!(r["error"]["reason"], "unknown query [no_such_query]");
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"query": {"range": {"@timestamp": {"gte": "not a date"}}}})),
        )
        .await;
    assert_eq!(
        (s, r["error"]["type"].as_str()),
        (400, Some("search_phase_execution_exception")),
        "{r}"
    );
    assert_eq!(r["error"]["root_cause"][0]["type"], "query_shard_exception");
    let (s, r) = c
        .text(
            "POST",
            "/_search",
            Some("{\"query\":".into()),
            "application/json",
        )
        .await;
    assert_eq!(
        (s, r["error"]["type"].as_str()),
        (400, Some("x_content_parse_exception"))
    );
    let (s, r) = c.req("POST", "/_search", Some(json!({"aggs": {}}))).await;
    assert_eq!(s, 400, "{r}");
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"sort": ["event.action.nope"]})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(r["error"]["root_cause"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("No mapping found for [event.action.nope]"));
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"sort": ["message"]})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(r.to_string().contains("Text fields are not optimised"));
    let (s, _) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"sort": [{"nope": {"unmapped_type": "long"}}]})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"sort": ["_id"]})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(r
        .to_string()
        .contains("Fielddata access on the _id field is disallowed"));
    let (s, r) = c.req("POST", "/missing/_search", None).await;
    assert_eq!(
        (s, r["error"]["type"].as_str()),
        (404, Some("index_not_found_exception"))
    );
    let (s, r) = c
        .req("POST", "/missing/_search?ignore_unavailable=true", None)
        .await;
    assert_eq!(
        (s, r["hits"]["hits"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}

#[tokio::test]
async fn result_window_and_total_tracking() {
    let (cluster, ds) = loaded(Flavor::Elasticsearch, "8.15.0").await;
    let c = Client::new(cluster.server());
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"from": 9995, "size": 6})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(r["error"]["type"], "search_phase_execution_exception");
    assert!(r["error"]["root_cause"][0]["reason"].as_str().unwrap().starts_with("Result window is too large, from + size must be less than or equal to: [10000] but was [10001]"));
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"from": 38, "size": 5, "track_total_hits": 20})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(r["hits"]["total"], json!({"value": 20, "relation": "gte"}));
    assert_eq!(r["hits"]["hits"].as_array().unwrap().len(), 2);
    assert_eq!(r["hits"]["max_score"], 1.0);
    let (_, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search?rest_total_hits_as_int=true&size=0"),
            None,
        )
        .await;
    assert_eq!(r["hits"]["total"], 40);
    let (_, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"track_total_hits": false, "_source": false, "size": 1})),
        )
        .await;
    assert!(r["hits"].get("total").is_none());
    assert!(r["hits"]["hits"][0].get("_source").is_none());
}

#[tokio::test]
async fn sort_and_search_after_page_through_everything() {
    let (cluster, ds) = loaded(Flavor::Elasticsearch, "8.15.0").await;
    let c = Client::new(cluster.server());
    let mut after: Option<Value> = None;
    let mut seen = Vec::new();
    loop {
        let mut body = json!({"size": 7, "sort": [{"user.name": "desc"}, {"event.id": "asc"}], "_source": ["event.id", "user.name"]});
        if let Some(a) = &after {
            body["search_after"] = a.clone();
        }
        let (s, r) = c.req("POST", &format!("/{ds}/_search"), Some(body)).await;
        assert_eq!(s, 200, "{r}");
        let hits = r["hits"]["hits"].as_array().unwrap().clone();
        if hits.is_empty() {
            break;
        }
        after = Some(hits.last().unwrap()["sort"].clone());
        seen.extend(hits);
    }
    assert_eq!(seen.len(), 40);
    let keys: Vec<(String, String)> = seen
        .iter()
        .map(|h| {
            (
                h["sort"][0].as_str().unwrap().to_string(),
                h["sort"][1].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut expected = keys.clone();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(keys, expected);
}

#[tokio::test]
async fn pit_is_a_snapshot_with_rotating_ids_and_keep_alive() {
    let (cluster, ds) = loaded(Flavor::Elasticsearch, "8.15.0").await;
    let c = Client::new(cluster.server());
    let (s, r) = c
        .req("POST", &format!("/{ds}/_pit?keep_alive=1m"), None)
        .await;
    assert_eq!(s, 200, "{r}");
    let mut pit = r["id"].as_str().unwrap().to_string();
    assert_eq!(r["_shards"]["total"], 1);
    // Written after the PIT opened: invisible to it.
    cluster
        .bulk_load(
            &ds,
            &[cloudtrail(
                99,
                "PublishLayerVersion20181031",
                "success",
                "lambda.amazonaws.com",
            )],
        )
        .await
        .unwrap();
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search"),
            Some(json!({"pit": {"id": pit}})),
        )
        .await;
    assert_eq!(s, 400, "an index with a pit");
    assert!(r["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("cannot be used with point in time"));
    let mut after: Option<Value> = None;
    let mut seen = HashSet::new();
    let mut ids_used = HashSet::new();
    let mut stale = None;
    loop {
        let mut body = json!({"size": 6, "pit": {"id": pit, "keep_alive": "1m"}, "sort": [{"@timestamp": "asc"}], "track_total_hits": false});
        if let Some(a) = &after {
            body["search_after"] = a.clone();
        }
        let (s, r) = c.req("POST", "/_search", Some(body)).await;
        assert_eq!(s, 200, "{r}");
        let newest = r["pit_id"].as_str().unwrap().to_string();
        if newest != pit {
            stale = Some(pit.clone());
        }
        ids_used.insert(newest.clone());
        pit = newest;
        let hits = r["hits"]["hits"].as_array().unwrap().clone();
        if hits.is_empty() {
            break;
        }
        // The implicit _shard_doc tiebreaker is the second sort value.
        assert_eq!(hits[0]["sort"].as_array().unwrap().len(), 2);
        after = Some(hits.last().unwrap()["sort"].clone());
        for h in hits {
            assert!(seen.insert(h["_id"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(seen.len(), 40, "the PIT does not see the 41st document");
    assert!(ids_used.len() > 1, "the id changed while paging");
    let (s, r) = c
        .req(
            "POST",
            "/_search",
            Some(json!({"pit": {"id": stale.unwrap()}})),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        r["error"]["root_cause"][0]["type"],
        "search_context_missing_exception"
    );
    let (_, r) = c.req("POST", &format!("/{ds}/_count"), None).await;
    assert_eq!(r["count"], 41);
    let (s, r) = c.req("DELETE", "/_pit", Some(json!({"id": pit}))).await;
    assert_eq!(
        (s, r["succeeded"].as_bool(), r["num_freed"].as_u64()),
        (200, Some(true), Some(1))
    );
    let (s, r) = c.req("DELETE", "/_pit", Some(json!({"id": pit}))).await;
    assert_eq!((s, r["num_freed"].as_u64()), (404, Some(0)));
    let (s, _) = c
        .req("POST", "/_search", Some(json!({"pit": {"id": pit}})))
        .await;
    assert_eq!(s, 404);

    // Keep-alive is enforced.
    let (_, r) = c
        .req("POST", &format!("/{ds}/_pit?keep_alive=100ms"), None)
        .await;
    let short = r["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let (s, _) = c
        .req("POST", "/_search", Some(json!({"pit": {"id": short}})))
        .await;
    assert_eq!(s, 404);
    let (s, r) = c.req("POST", &format!("/{ds}/_pit"), None).await;
    assert_eq!(s, 400, "{r}");
    let (s, _) = c
        .req(
            "POST",
            &format!("/{ds}/_search/point_in_time?keep_alive=1m"),
            None,
        )
        .await;
    assert_eq!(s, 400, "no OpenSearch PIT API on Elasticsearch");
}

#[tokio::test]
async fn opensearch_pit_api_and_no_shard_doc() {
    let (cluster, ds) = loaded(Flavor::OpenSearch, "2.11.0").await;
    let c = Client::new(cluster.server());
    let (s, _) = c
        .req("POST", &format!("/{ds}/_pit?keep_alive=1m"), None)
        .await;
    assert_eq!(s, 400, "no ES PIT API on OpenSearch");
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search/point_in_time?keep_alive=1m"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["creation_time"].is_i64());
    let pit = r["pit_id"].as_str().unwrap().to_string();
    let (s, r) = c
        .req(
            "POST",
            "/_search",
            Some(json!({"pit": {"id": pit}, "sort": ["_shard_doc"]})),
        )
        .await;
    assert_eq!(s, 400);
    assert!(
        r.to_string()
            .contains("No mapping found for [_shard_doc] in order to sort on"),
        "{r}"
    );
    // OpenSearch allows sorting on _id and adds no tiebreaker.
    let (s, r) = c
        .req(
            "POST",
            "/_search",
            Some(json!({"pit": {"id": pit}, "sort": [{"_id": "asc"}], "size": 3})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["hits"]["hits"][0]["sort"].as_array().unwrap().len(), 1);
    assert!(r["pit_id"].is_string());
    let (_, r) = c.req("GET", "/_search/point_in_time/_all", None).await;
    assert_eq!(r["pits"].as_array().unwrap().len(), 1);
    let (s, r) = c
        .req(
            "DELETE",
            "/_search/point_in_time",
            Some(json!({"pit_id": [pit]})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(r["pits"][0]["successful"], true);
    // OpenSearch 3.3 has _shard_doc.
    let (cluster, ds) = loaded(Flavor::OpenSearch, "3.3.0").await;
    let c = Client::new(cluster.server());
    let (_, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search/point_in_time?keep_alive=1m"),
            None,
        )
        .await;
    let (s, _) = c
        .req(
            "POST",
            "/_search",
            Some(json!({"pit": {"id": r["pit_id"]}, "sort": ["_shard_doc"]})),
        )
        .await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn scroll_pages_a_frozen_result() {
    let (cluster, ds) = loaded(Flavor::Elasticsearch, "8.15.0").await;
    let c = Client::new(cluster.server());
    let (s, r) = c
        .req(
            "POST",
            &format!("/{ds}/_search?scroll=1m"),
            Some(json!({"size": 15, "sort": ["_doc"], "query": seed_prefilter()})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["hits"]["total"]["value"], 10);
    let id = r["_scroll_id"].as_str().unwrap().to_string();
    let mut total = r["hits"]["hits"].as_array().unwrap().len();
    let (s, r) = c
        .req(
            "POST",
            "/_search/scroll",
            Some(json!({"scroll": "1m", "scroll_id": id})),
        )
        .await;
    assert_eq!(s, 200);
    total += r["hits"]["hits"].as_array().unwrap().len();
    assert_eq!(total, 10);
    let (s, r) = c
        .req(
            "DELETE",
            "/_search/scroll",
            Some(json!({"scroll_id": [id]})),
        )
        .await;
    assert_eq!((s, r["num_freed"].as_u64()), (200, Some(1)));
    let (s, r) = c
        .req(
            "POST",
            "/_search/scroll",
            Some(json!({"scroll": "1m", "scroll_id": id})),
        )
        .await;
    assert_eq!(
        (s, r["error"]["root_cause"][0]["type"].as_str()),
        (404, Some("search_context_missing_exception"))
    );
    let (s, _) = c
        .req(
            "POST",
            &format!("/{ds}/_search?scroll=1m"),
            Some(json!({"size": 10001})),
        )
        .await;
    assert_eq!(s, 400);
    let (s, _) = c
        .req(
            "POST",
            &format!("/{ds}/_search?scroll=1m"),
            Some(json!({"from": 3})),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn pit_id_policy_is_configurable() {
    let server = TestServer::builder(Flavor::Elasticsearch, "9.1.0")
        .emulator_only()
        .context_policy(ContextPolicy {
            rotate_pit_id_every: None,
            ..ContextPolicy::default()
        })
        .start()
        .unwrap();
    let c = Client::new(&server);
    c.req("PUT", "/i/_doc/1", Some(json!({"a": 1}))).await;
    let (_, r) = c.req("POST", "/i/_pit?keep_alive=1m", None).await;
    let id = r["id"].as_str().unwrap().to_string();
    for _ in 0..5 {
        let (s, r) = c
            .req("POST", "/_search", Some(json!({"pit": {"id": id}})))
            .await;
        assert_eq!((s, r["pit_id"].as_str()), (200, Some(id.as_str())));
    }
}
