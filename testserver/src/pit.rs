//! Search contexts: points in time and scrolls.
//!
//! A point in time is a snapshot of its indices' live documents when it opened: later writes
//! are invisible to it. Each distinct query/sort searched through it is evaluated once and its
//! sorted matches cached, so pages are cheap. Keep-alive is enforced: an expired or closed
//! context answers 404 `search_context_missing_exception`. The id changes every
//! [`ContextPolicy::rotate_pit_id_every`] searches, and by default a superseded id is refused
//! (404), so a client that does not carry the newest id breaks, as it may on a real cluster.
//!
//! A scroll keeps the sorted matches of its first search and a cursor.

use crate::error::EsError;
use crate::ids::{context_id, parse_context_id};
use crate::search::{Matches, Presentation};
use crate::store::ShardSnapshot;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How point-in-time ids behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextPolicy {
    /// The id changes after every this many searches (`None`: never).
    pub rotate_pit_id_every: Option<u64>,
    /// Whether a superseded id is refused with 404 (a real cluster may keep accepting it).
    pub reject_stale_pit_ids: bool,
    /// `search.max_keep_alive` (default 24 hours).
    pub max_keep_alive: Duration,
}

impl Default for ContextPolicy {
    fn default() -> Self {
        ContextPolicy {
            rotate_pit_id_every: Some(3),
            reject_stale_pit_ids: true,
            max_keep_alive: Duration::from_secs(24 * 3600),
        }
    }
}

/// An open point in time.
#[derive(Debug)]
pub(crate) struct Pit {
    pub number: u64,
    pub shards: Vec<ShardSnapshot>,
    pub created_millis: i64,
    generation: AtomicU64,
    searches: AtomicU64,
    lease: Mutex<Lease>,
    cache: Mutex<Vec<(String, Arc<Matches>)>>,
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    keep_alive: Duration,
    expires: Instant,
}

impl Lease {
    fn new(keep_alive: Duration) -> Lease {
        Lease {
            keep_alive,
            expires: Instant::now() + keep_alive,
        }
    }
}

/// Cached query evaluations per point in time.
const PIT_CACHE: usize = 4;

impl Pit {
    /// The current id.
    pub fn id(&self) -> String {
        context_id("pit", self.number, self.generation.load(Ordering::SeqCst))
    }

    /// The keep-alive in milliseconds (OpenSearch lists it).
    pub fn keep_alive_millis(&self) -> u128 {
        self.lease.lock().keep_alive.as_millis()
    }

    /// The cached matches of `key`, or evaluates them with `run`.
    pub fn matches(
        &self,
        key: String,
        run: impl FnOnce() -> Result<Matches, EsError>,
    ) -> Result<Arc<Matches>, EsError> {
        if let Some((_, m)) = self.cache.lock().iter().find(|(k, _)| *k == key) {
            return Ok(m.clone());
        }
        let m = Arc::new(run()?);
        let mut cache = self.cache.lock();
        if cache.len() >= PIT_CACHE {
            cache.remove(0);
        }
        cache.push((key, m.clone()));
        Ok(m)
    }
}

/// An open scroll.
#[derive(Debug)]
pub(crate) struct Scroll {
    pub number: u64,
    pub matches: Arc<Matches>,
    pub presentation: Presentation,
    pub size: usize,
    cursor: Mutex<usize>,
    lease: Mutex<Lease>,
}

impl Scroll {
    /// The id (constant for the scroll's life).
    pub fn id(&self) -> String {
        context_id("scroll", self.number, 0)
    }

    /// Takes the next `size` hits' range.
    pub fn advance(&self) -> std::ops::Range<usize> {
        let mut cursor = self.cursor.lock();
        let start = (*cursor).min(self.matches.hits.len());
        let end = (start + self.size).min(self.matches.hits.len());
        *cursor = end;
        start..end
    }
}

#[derive(Debug, Default)]
struct Registry {
    pits: HashMap<u64, Arc<Pit>>,
    scrolls: HashMap<u64, Arc<Scroll>>,
}

/// All open contexts.
#[derive(Debug)]
pub(crate) struct Contexts {
    policy: ContextPolicy,
    next: AtomicU64,
    registry: Mutex<Registry>,
}

impl Contexts {
    /// No contexts yet.
    pub fn new(policy: ContextPolicy) -> Contexts {
        Contexts {
            policy,
            next: AtomicU64::new(1),
            registry: Mutex::new(Registry::default()),
        }
    }

    /// Refuses keep-alives above `search.max_keep_alive`.
    pub fn check_keep_alive(&self, keep_alive: Duration) -> Result<(), EsError> {
        if keep_alive > self.policy.max_keep_alive {
            return Err(EsError::illegal_argument(format!(
                "Keep alive for request ({}s) is too large. It must be less than ({}s). This limit can be set by changing the [search.max_keep_alive] cluster level setting.",
                keep_alive.as_secs(),
                self.policy.max_keep_alive.as_secs()
            )));
        }
        Ok(())
    }

    fn sweep(reg: &mut Registry) {
        let now = Instant::now();
        reg.pits.retain(|_, p| p.lease.lock().expires > now);
        reg.scrolls.retain(|_, s| s.lease.lock().expires > now);
    }

    /// Opens a point in time over `shards`.
    pub fn open_pit(&self, shards: Vec<ShardSnapshot>, keep_alive: Duration) -> Arc<Pit> {
        let pit = Arc::new(Pit {
            number: self.next.fetch_add(1, Ordering::SeqCst),
            shards,
            created_millis: chrono::Utc::now().timestamp_millis(),
            generation: AtomicU64::new(0),
            searches: AtomicU64::new(0),
            lease: Mutex::new(Lease::new(keep_alive)),
            cache: Mutex::new(Vec::new()),
        });
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        reg.pits.insert(pit.number, pit.clone());
        pit
    }

    /// The point in time of `id`, its keep-alive extended; 404 when unknown, expired, closed or
    /// (by default) superseded.
    pub fn use_pit(&self, id: &str, keep_alive: Option<Duration>) -> Result<Arc<Pit>, EsError> {
        let Some((number, generation)) = parse_context_id("pit", id) else {
            return Err(EsError::illegal_argument(format!("invalid id: [{id}]")));
        };
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        let missing = || EsError::search_context_missing(&number.to_string());
        let pit = reg.pits.get(&number).cloned().ok_or_else(missing)?;
        if self.policy.reject_stale_pit_ids && generation != pit.generation.load(Ordering::SeqCst) {
            return Err(missing());
        }
        if let Some(k) = keep_alive {
            *pit.lease.lock() = Lease::new(k);
        }
        Ok(pit)
    }

    /// Counts a search through `pit` and returns the id to answer with (rotated every Nth).
    pub fn after_search(&self, pit: &Pit) -> String {
        let n = pit.searches.fetch_add(1, Ordering::SeqCst) + 1;
        if self
            .policy
            .rotate_pit_id_every
            .is_some_and(|every| every > 0 && n.is_multiple_of(every))
        {
            pit.generation.fetch_add(1, Ordering::SeqCst);
        }
        pit.id()
    }

    /// Closes the point in time of `id` (any generation); its shard count if it was open.
    pub fn close_pit(&self, id: &str) -> Option<usize> {
        let (number, _) = parse_context_id("pit", id)?;
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        reg.pits.remove(&number).map(|p| p.shards.len())
    }

    /// Closes every point in time; their ids.
    pub fn close_all_pits(&self) -> Vec<String> {
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        reg.pits.drain().map(|(_, p)| p.id()).collect()
    }

    /// The open points in time.
    pub fn list_pits(&self) -> Vec<Arc<Pit>> {
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        let mut pits: Vec<Arc<Pit>> = reg.pits.values().cloned().collect();
        pits.sort_by_key(|p| p.number);
        pits
    }

    /// Opens a scroll over already evaluated matches.
    pub fn open_scroll(
        &self,
        matches: Arc<Matches>,
        presentation: Presentation,
        size: usize,
        keep_alive: Duration,
    ) -> Arc<Scroll> {
        let scroll = Arc::new(Scroll {
            number: self.next.fetch_add(1, Ordering::SeqCst),
            matches,
            presentation,
            size,
            cursor: Mutex::new(0),
            lease: Mutex::new(Lease::new(keep_alive)),
        });
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        reg.scrolls.insert(scroll.number, scroll.clone());
        scroll
    }

    /// The scroll of `id`, its keep-alive extended; 404 when unknown or expired.
    pub fn use_scroll(
        &self,
        id: &str,
        keep_alive: Option<Duration>,
    ) -> Result<Arc<Scroll>, EsError> {
        let Some((number, _)) = parse_context_id("scroll", id) else {
            return Err(EsError::illegal_argument("Cannot parse scroll id"));
        };
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        let scroll = reg
            .scrolls
            .get(&number)
            .cloned()
            .ok_or_else(|| EsError::search_context_missing(&number.to_string()))?;
        if let Some(k) = keep_alive {
            *scroll.lease.lock() = Lease::new(k);
        }
        Ok(scroll)
    }

    /// Clears scrolls by id (`_all`: every one); how many were freed.
    pub fn clear_scrolls(&self, ids: &[String]) -> usize {
        let mut reg = self.registry.lock();
        Self::sweep(&mut reg);
        if ids.iter().any(|i| i == "_all") {
            let n = reg.scrolls.len();
            reg.scrolls.clear();
            return n;
        }
        ids.iter()
            .filter_map(|id| parse_context_id("scroll", id))
            .filter(|(n, _)| reg.scrolls.remove(n).is_some())
            .count()
    }

    /// Expires the point in time or scroll named by `id` now (fault injection).
    pub fn expire(&self, id: &str) {
        let mut reg = self.registry.lock();
        if let Some((n, _)) = parse_context_id("pit", id) {
            reg.pits.remove(&n);
        }
        if let Some((n, _)) = parse_context_id("scroll", id) {
            reg.scrolls.remove(&n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contexts(rotate: Option<u64>) -> Contexts {
        Contexts::new(ContextPolicy {
            rotate_pit_id_every: rotate,
            ..ContextPolicy::default()
        })
    }

    #[test]
    fn ids_rotate_and_stale_ones_are_refused() {
        let c = contexts(Some(2));
        let pit = c.open_pit(Vec::new(), Duration::from_secs(60));
        let first = pit.id();
        assert_eq!(c.after_search(&pit), first);
        let second = c.after_search(&pit);
        assert_ne!(second, first);
        assert_eq!(c.use_pit(&first, None).unwrap_err().status, 404);
        assert!(c.use_pit(&second, None).is_ok());
        assert!(c.close_pit(&first).is_some());
        assert_eq!(c.use_pit(&second, None).unwrap_err().status, 404);
    }

    #[test]
    fn keep_alive_is_enforced() {
        let c = contexts(None);
        let pit = c.open_pit(Vec::new(), Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(40));
        let e = c.use_pit(&pit.id(), None).unwrap_err();
        assert_eq!(
            e.to_json()["error"]["root_cause"][0]["type"],
            "search_context_missing_exception"
        );
        assert!(c.check_keep_alive(Duration::from_secs(90_000)).is_err());
    }
}
