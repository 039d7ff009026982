//! Fault injection and request recording, in emulator mode and in proxy mode (a proxy in front
//! of a second emulator stands in for a real cluster).

mod common;

use common::{cloudtrail, Client};
use eshunt_testserver::{Action, Fault, Flavor, ItemFault, ProxyConfig, TestServer};
use serde_json::json;
use std::time::{Duration, Instant};

fn emulator() -> TestServer {
    TestServer::builder(Flavor::Elasticsearch, "8.15.0")
        .emulator_only()
        .start()
        .unwrap()
}

/// A proxy in front of `upstream`.
fn proxy(upstream: &TestServer) -> TestServer {
    let config = ProxyConfig {
        url: upstream.url().to_string(),
        ..ProxyConfig::default()
    };
    TestServer::builder(Flavor::OpenSearch, "0.0.0")
        .proxy(config)
        .start()
        .unwrap()
}

async fn seed(c: &Client, n: usize) {
    let mut lines = Vec::new();
    for i in 0..n {
        lines.push(json!({"create": {"_index": "ct", "_id": format!("d{i}")}}));
        lines.push(cloudtrail(
            i,
            "PublishLayerVersion20181031",
            "success",
            "lambda.amazonaws.com",
        ));
    }
    let (s, r) = c.bulk("/_bulk?refresh=wait_for", &lines).await;
    assert_eq!((s, r["errors"].as_bool()), (200, Some(false)), "{r}");
}

#[tokio::test]
async fn status_answers_delays_and_ranges() {
    let server = emulator();
    let c = Client::new(&server);
    let f = server.faults().add(
        Fault::on("GET", "^/$")
            .requests(2, 3)
            .then(Action::too_many_requests()),
    );
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(c.req("GET", "/", None).await.0);
    }
    assert_eq!(statuses, vec![200, 429, 429, 200]);
    assert_eq!(server.faults().applied(f), 2);
    server.faults().clear();
    for (action, status, kind) in [
        (
            Action::unavailable(),
            503,
            Some("unavailable_shards_exception"),
        ),
        (
            Action::cluster_block(),
            503,
            Some("cluster_block_exception"),
        ),
        (Action::bad_gateway(), 502, None),
        (Action::gateway_timeout(), 504, None),
    ] {
        let id = server
            .faults()
            .add(Fault::on("*", "_count").nth(1).then(action));
        let (s, r) = c.req("GET", "/_count", None).await;
        assert_eq!((s, r["error"]["type"].as_str()), (status, kind));
        server.faults().remove(id);
    }
    server
        .faults()
        .add(Fault::on("GET", "^/$").then(Action::delay(Duration::from_millis(300))));
    let started = Instant::now();
    assert_eq!(c.req("GET", "/", None).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn dropped_connections_get_no_answer() {
    let server = emulator();
    server.faults().add(
        Fault::on("POST", "_bulk")
            .nth(1)
            .then(Action::drop_connection()),
    );
    let http = reqwest::Client::new();
    let err = http
        .post(format!("{}/_bulk", server.url()))
        .body("{\"index\":{\"_index\":\"x\"}}\n{}\n")
        .send()
        .await;
    assert!(err.is_err(), "the connection was closed without an answer");
    let ok = http
        .post(format!("{}/_bulk", server.url()))
        .body("{\"index\":{\"_index\":\"x\"}}\n{}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let recorded = server.requests().matching("POST", "_bulk");
    assert_eq!(recorded[0].status, 0);
    assert!(recorded[0].faulted);
}

#[tokio::test]
async fn search_pages_can_be_partial() {
    let server = emulator();
    let c = Client::new(&server);
    seed(&c, 10).await;
    server.faults().add(
        Fault::on("POST", "_search")
            .nth(1)
            .then(Action::shard_failure()),
    );
    server.faults().add(
        Fault::on("POST", "_search")
            .nth(2)
            .then(Action::timed_out()),
    );
    let (_, r) = c
        .req("POST", "/ct/_search", Some(json!({"size": 10})))
        .await;
    assert_eq!(r["_shards"]["failed"], 1);
    assert_eq!(
        r["_shards"]["failures"][0]["reason"]["type"],
        "node_not_connected_exception"
    );
    assert_eq!(r["hits"]["hits"].as_array().unwrap().len(), 5);
    let (_, r) = c
        .req("POST", "/ct/_search", Some(json!({"size": 10})))
        .await;
    assert_eq!(r["timed_out"], true);
    let (_, r) = c
        .req("POST", "/ct/_search", Some(json!({"size": 10})))
        .await;
    assert_eq!(
        (
            r["timed_out"].as_bool(),
            r["hits"]["hits"].as_array().unwrap().len()
        ),
        (Some(false), 10)
    );
}

#[tokio::test]
async fn bulk_items_fail_by_id_and_position_and_are_not_written() {
    let server = emulator();
    let c = Client::new(&server);
    server.faults().add(
        Fault::on("POST", "_bulk")
            .nth(1)
            .then(Action::fail_items(vec![
                ItemFault::id("b", 429),
                ItemFault::position(2, 400),
                ItemFault::position(3, 500),
                ItemFault::id("e", 409),
            ])),
    );
    let mut lines = Vec::new();
    for id in ["a", "b", "c", "d", "e", "f"] {
        lines.push(json!({"create": {"_index": "items", "_id": id}}));
        lines.push(json!({"v": id}));
    }
    let (s, r) = c.bulk("/_bulk", &lines).await;
    assert_eq!(s, 200);
    assert_eq!(r["errors"], true);
    let statuses: Vec<u64> = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["create"]["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 429, 400, 500, 409, 201]);
    assert_eq!(
        r["items"][1]["create"]["error"]["type"],
        "es_rejected_execution_exception"
    );
    assert_eq!(
        r["items"][2]["create"]["error"]["type"],
        "mapper_parsing_exception"
    );
    assert_eq!(r["items"][1]["create"]["_id"], "b");
    c.req("POST", "/items/_refresh", None).await;
    let (_, r) = c.req("GET", "/items/_count", None).await;
    assert_eq!(r["count"], 2, "failed items were not written");
    let recorded = server.requests().matching("POST", "^/_bulk$");
    assert_eq!(recorded[0].bulk_actions(), 6);
}

#[tokio::test]
async fn pit_can_be_expired_now() {
    let server = emulator();
    let c = Client::new(&server);
    seed(&c, 5).await;
    let (_, r) = c.req("POST", "/ct/_pit?keep_alive=5m", None).await;
    let pit = r["id"].as_str().unwrap().to_string();
    server.faults().add(
        Fault::on("POST", "^/_search$")
            .body_contains("\"pit\"")
            .nth(2)
            .then(Action::expire_context()),
    );
    let (s, r) = c
        .req(
            "POST",
            "/_search",
            Some(
                json!({"pit": {"id": pit, "keep_alive": "5m"}, "size": 1, "sort": ["_shard_doc"]}),
            ),
        )
        .await;
    assert_eq!(s, 200);
    let pit = r["pit_id"].as_str().unwrap();
    let (s, r) = c
        .req(
            "POST",
            "/_search",
            Some(
                json!({"pit": {"id": pit, "keep_alive": "5m"}, "size": 1, "sort": ["_shard_doc"]}),
            ),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        r["error"]["root_cause"][0]["type"],
        "search_context_missing_exception"
    );
}

#[tokio::test]
async fn requests_are_recorded() {
    let server = emulator();
    let c = Client::new(&server);
    seed(&c, 3).await;
    c.req(
        "POST",
        "/ct/_search?size=2&from=1",
        Some(json!({"query": {"match_all": {}}})),
    )
    .await;
    let searches = server.requests().matching("POST", "_search$");
    assert_eq!(searches.len(), 1);
    assert_eq!(searches[0].param("from").as_deref(), Some("1"));
    assert_eq!(
        searches[0].json().unwrap()["query"],
        json!({"match_all": {}})
    );
    assert_eq!(searches[0].status, 200);
    assert!(!searches[0].faulted);
    let all = server.requests().all();
    assert_eq!(all[0].bulk_actions(), 3);
    assert_eq!(all[0].param("refresh").as_deref(), Some("wait_for"));
    server.requests().clear();
    assert!(server.requests().all().is_empty());
}

#[tokio::test]
async fn proxy_forwards_and_applies_the_same_faults() {
    let upstream = emulator();
    let front = proxy(&upstream);
    assert!(front.is_proxy());
    assert_eq!(
        front.info().flavor,
        Flavor::Elasticsearch,
        "flavour comes from the real GET /"
    );
    assert_eq!(front.info().version.to_string(), "8.15.0");
    let c = Client::new(&front);
    seed(&c, 10).await;
    assert_eq!(upstream.requests().matching("POST", "_bulk").len(), 1);
    front.faults().add(
        Fault::on("POST", "_bulk")
            .nth(1)
            .then(Action::fail_items(vec![ItemFault::id("x1", 429)])),
    );
    let (s, r) = c
        .bulk(
            "/_bulk",
            &[
                json!({"create": {"_index": "ct", "_id": "x1"}}),
                json!({"a": 1}),
                json!({"create": {"_index": "ct", "_id": "x2"}}),
                json!({"a": 2}),
            ],
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(r["items"][0]["create"]["status"], 429);
    assert_eq!(r["items"][1]["create"]["status"], 201);
    assert_eq!(
        upstream.requests().matching("POST", "_bulk")[1].bulk_actions(),
        1,
        "the failed item never reached the cluster"
    );
    front.faults().add(
        Fault::on("POST", "_search")
            .nth(1)
            .then(Action::shard_failure()),
    );
    let (_, r) = c.req("POST", "/ct/_search", Some(json!({"size": 4}))).await;
    assert_eq!(
        (
            r["_shards"]["failed"].as_u64(),
            r["hits"]["hits"].as_array().unwrap().len()
        ),
        (Some(1), 2)
    );
    let (_, r) = c.req("POST", "/ct/_pit?keep_alive=1m", None).await;
    let pit = r["id"].as_str().unwrap().to_string();
    front
        .faults()
        .add(Fault::on("POST", "^/_search$").then(Action::expire_context()));
    let (s, _) = c
        .req("POST", "/_search", Some(json!({"pit": {"id": pit}})))
        .await;
    assert_eq!(s, 404, "the PIT was closed on the cluster");
    front.faults().clear();
    front.faults().add(
        Fault::on("GET", "^/$")
            .nth(1)
            .then(Action::gateway_timeout()),
    );
    assert_eq!(c.req("GET", "/", None).await.0, 504);
    let resp = reqwest::get(front.url()).await.unwrap();
    assert_eq!(resp.headers()["x-elastic-product"], "Elasticsearch");
}

#[tokio::test]
async fn proxy_to_nowhere_fails_to_start() {
    let config = ProxyConfig {
        url: "http://127.0.0.1:9".to_string(),
        ..ProxyConfig::default()
    };
    assert!(TestServer::builder(Flavor::Elasticsearch, "8.15.0")
        .proxy(config)
        .start()
        .is_err());
}
