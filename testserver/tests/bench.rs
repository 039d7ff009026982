//! Throughput of the emulator (ignored by default; run in release):
//! `ESHUNT_BENCH_DOCS=1000000 cargo test --release -p eshunt-testserver --test bench -- --ignored --nocapture`
//!
//! Loads N CloudTrail ECS documents of about 1.5 KB (directly, and a slice over HTTP bulk),
//! then pages the whole window through a point in time in pages of 1,000 as eshunt does
//! (`_shard_doc` sort, `search_after`, `_source` includes, the seed prefilter).

mod common;

use common::{cloudtrail, seed_prefilter, Client};
use eshunt_testserver::{Flavor, TestCluster, TestServer};
use serde_json::{json, Value};
use std::time::Instant;

fn document(n: usize) -> Value {
    let action = if n.is_multiple_of(2) {
        "PublishLayerVersion20181031"
    } else {
        "UpdateFunctionConfiguration20150331v2"
    };
    let mut doc = cloudtrail(n, action, "success", "lambda.amazonaws.com");
    doc["aws"]["cloudtrail"]["response_elements"] = json!("x".repeat(700));
    doc
}

#[tokio::test]
#[ignore]
async fn throughput() {
    let total: usize = std::env::var("ESHUNT_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let server = TestServer::builder(Flavor::Elasticsearch, "8.15.0")
        .emulator_only()
        .record_body_limit(1024)
        .start()
        .unwrap();
    let cluster = TestCluster::with_server(server);
    let ds = cluster.install_cloudtrail_template().await.unwrap();
    let size = document(0).to_string().len();

    let http_docs = (total / 10).max(1000);
    let started = Instant::now();
    for chunk in (0..http_docs).collect::<Vec<_>>().chunks(5000) {
        let docs: Vec<Value> = chunk.iter().map(|n| document(*n)).collect();
        cluster.bulk_load(&ds, &docs).await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "HTTP bulk: {http_docs} docs of ~{size} bytes in {secs:.1}s = {:.0} docs/s",
        http_docs as f64 / secs
    );

    let docs: Vec<(Option<String>, String)> = (http_docs..total)
        .map(|n| (None, document(n).to_string()))
        .collect();
    let started = Instant::now();
    cluster.server().load(&ds, docs).unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "direct load: {} docs in {secs:.1}s = {:.0} docs/s",
        total - http_docs,
        (total - http_docs) as f64 / secs
    );

    let c = Client::new(cluster.server());
    let (_, r) = c
        .req("POST", &format!("/{ds}/_pit?keep_alive=5m"), None)
        .await;
    let mut pit = r["id"].as_str().unwrap().to_string();
    let started = Instant::now();
    let mut after: Option<Value> = None;
    let mut hits = 0;
    let mut first_page = None;
    let mut server_ms = 0;
    loop {
        let mut body = json!({
            "size": 1000, "timeout": "30s", "track_total_hits": false,
            "_source": {"includes": ["@timestamp", "event.*", "user.name", "aws.cloudtrail.user_identity.*", "aws.cloudtrail.flattened.request_parameters", "cloud.*"]},
            "query": {"bool": {"filter": [seed_prefilter(), {"range": {"@timestamp": {"gte": "2024-01-01T00:00:00Z", "lt": "2025-01-01T00:00:00Z", "format": "strict_date_optional_time"}}}]}},
            "pit": {"id": pit, "keep_alive": "5m"}, "sort": ["_shard_doc"],
        });
        if let Some(a) = &after {
            body["search_after"] = a.clone();
        }
        let (s, r) = c.req("POST", "/_search", Some(body)).await;
        assert_eq!(s, 200, "{r}");
        first_page.get_or_insert(started.elapsed());
        server_ms += r["took"].as_u64().unwrap();
        pit = r["pit_id"].as_str().unwrap().to_string();
        let page = r["hits"]["hits"].as_array().unwrap();
        hits += page.len();
        if page.len() < 1000 {
            break;
        }
        after = Some(page.last().unwrap()["sort"].clone());
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(hits, total);
    println!(
        "PIT window: {hits} hits in pages of 1000 in {secs:.1}s = {:.0} hits/s (first page, which evaluates the query, after {:.1}s; server time {:.1}s)",
        hits as f64 / secs,
        first_page.unwrap().as_secs_f64(),
        server_ms as f64 / 1000.0
    );
}
