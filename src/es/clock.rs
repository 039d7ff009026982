//! How far this host's clock is from the cluster's. The daemon closes windows at its own
//! `now − settle_delay`: a host running ahead of the cluster would close windows on time the
//! cluster has not reached yet, and documents indexed there later would never be hunted.

use super::{Cluster, Request};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

/// This host's clock minus the cluster's (positive: the host is ahead), measured against the
/// node stats' timestamp at the middle of the request; or why it cannot be measured.
pub async fn skew(cluster: &Cluster) -> Result<TimeDelta, String> {
    let request = Request::get("/_nodes/_local/stats/os").param("filter_path", "nodes.*.timestamp");
    let sent = Utc::now();
    let reply = cluster
        .execute(&request)
        .await
        .map_err(|e| format!("reading the node stats failed: {e}"))?;
    let received = Utc::now();
    if reply.status >= 300 {
        return Err(unreadable(reply.status));
    }
    let cluster_now = node_timestamp(&reply.body)
        .ok_or_else(|| "the node stats hold no timestamp".to_string())?;
    Ok(sent + (received - sent) / 2 - cluster_now)
}

/// Why the node stats answered `status`.
fn unreadable(status: u16) -> String {
    match status {
        401 | 403 => format!("no privilege to read the node stats (HTTP {status}; grant cluster:monitor/nodes/stats, e.g. the `monitor` cluster privilege)"),
        404 | 405 | 410 | 501 => format!("the cluster has no node stats endpoint (HTTP {status}; managed and serverless services may hide it)"),
        _ => format!("the node stats answered HTTP {status}"),
    }
}

fn node_timestamp(body: &Value) -> Option<DateTime<Utc>> {
    let millis = body["nodes"]
        .as_object()?
        .values()
        .find_map(|n| n["timestamp"].as_i64())?;
    DateTime::from_timestamp_millis(millis)
}

/// What to say about a skew, given the daemon's settle delay: nothing when the host is behind
/// or less than a second ahead, a warning beyond that, and that windows are at risk when it is
/// ahead by more than the settle delay.
pub fn verdict(skew: TimeDelta, settle: TimeDelta) -> Option<String> {
    if skew <= TimeDelta::seconds(1) {
        return None;
    }
    let ahead = skew.num_milliseconds() as f64 / 1000.0;
    Some(if skew > settle {
        format!("this host's clock is {ahead:.1}s ahead of the cluster's, more than settle_delay: windows close on time the cluster has not reached, and documents indexed there later can be missed; sync the clock (NTP)")
    } else {
        format!("this host's clock is {ahead:.1}s ahead of the cluster's (settle_delay absorbs it); sync the clock (NTP)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_node_timestamp_and_judges_the_skew() {
        let body = json!({"nodes": {"n1": {"timestamp": 1_773_480_000_123_i64}}});
        assert_eq!(
            node_timestamp(&body).map(|t| t.timestamp_millis()),
            Some(1_773_480_000_123)
        );
        assert_eq!(node_timestamp(&json!({"error": "forbidden"})), None);
        assert!(unreadable(403).starts_with("no privilege"));
        assert!(unreadable(404).starts_with("the cluster has no node stats endpoint"));
        let settle = TimeDelta::seconds(30);
        assert_eq!(
            verdict(TimeDelta::seconds(-90), settle),
            None,
            "behind is safe"
        );
        assert_eq!(verdict(TimeDelta::milliseconds(400), settle), None);
        assert!(verdict(TimeDelta::seconds(5), settle)
            .unwrap()
            .contains("settle_delay absorbs it"));
        assert!(verdict(TimeDelta::seconds(45), settle)
            .unwrap()
            .contains("can be missed"));
    }
}
