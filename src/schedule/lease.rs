//! Per-rule leases in the state index, so several `eshunt run` processes share the rules
//! safely: a process runs a rule only while it holds the rule's lease; leases expire unless
//! renewed, and an expired one is taken over. Every change is a conditional write
//! (`if_seq_no`/`if_primary_term`), so two processes can never both believe they hold a lease
//! they wrote concurrently. (Expiry compares wall clocks: keep hosts in sync, e.g. with NTP,
//! well within the lease TTL.)

use crate::es::EsError;
use crate::state::records::Lease;
use crate::state::{StateStore, Version};
use chrono::{DateTime, TimeDelta, Utc};

/// Leases of one process.
#[derive(Clone)]
pub struct Leases {
    store: StateStore,
    instance: String,
    ttl: TimeDelta,
}

/// The outcome of trying to hold a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holding {
    /// This process holds it, at this version, until `expires_at`.
    Held {
        /// The lease document's version (for the next renewal).
        version: Version,
        /// When it lapses without renewal.
        expires_at: DateTime<Utc>,
    },
    /// Another process holds it.
    Elsewhere {
        /// The holder.
        instance: String,
        /// When its lease lapses.
        expires_at: DateTime<Utc>,
    },
}

impl Leases {
    /// Leases held as `instance`, lasting `ttl` from each renewal.
    pub fn new(store: StateStore, instance: &str, ttl: TimeDelta) -> Leases {
        Leases {
            store,
            instance: instance.to_string(),
            ttl,
        }
    }

    /// This process's name.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Takes or renews the lease of `rule_id` at `now`. `held` is the version of the lease this
    /// process last wrote (`None` if it holds none): renewing it is a conditional write, so a
    /// lease taken over meanwhile is reported as held elsewhere.
    pub async fn hold(
        &self,
        rule_id: &str,
        held: Option<Version>,
        now: DateTime<Utc>,
    ) -> Result<Holding, EsError> {
        let id = Lease::id(rule_id);
        let lease = self.lease(rule_id, now);
        if let Some(version) = held {
            if let Ok(version) = self.store.update(&id, &lease, version).await? {
                return Ok(self.held(version, &lease));
            }
        }
        let current = self.store.get::<Lease>(&id).await?;
        let written = match &current {
            None => self.store.create(&id, &lease).await?,
            Some(c) if c.value.instance == self.instance || c.value.expires_at <= now => {
                self.store.update(&id, &lease, c.version).await?
            }
            Some(c) => {
                return Ok(Holding::Elsewhere {
                    instance: c.value.instance.clone(),
                    expires_at: c.value.expires_at,
                })
            }
        };
        match written {
            Ok(version) => Ok(self.held(version, &lease)),
            Err(_) => {
                let winner = self.store.get::<Lease>(&id).await?;
                Ok(Holding::Elsewhere {
                    instance: winner
                        .as_ref()
                        .map_or_else(|| "?".into(), |w| w.value.instance.clone()),
                    expires_at: winner.map_or(now, |w| w.value.expires_at),
                })
            }
        }
    }

    /// Gives a held lease up (it expires now), so another process can take the rule at once.
    pub async fn release(
        &self,
        rule_id: &str,
        held: Version,
        now: DateTime<Utc>,
    ) -> Result<(), EsError> {
        let mut lease = self.lease(rule_id, now);
        lease.expires_at = now;
        let _ = self.store.update(&Lease::id(rule_id), &lease, held).await?;
        Ok(())
    }

    fn lease(&self, rule_id: &str, now: DateTime<Utc>) -> Lease {
        Lease {
            kind: "lease".into(),
            rule_id: rule_id.to_string(),
            instance: self.instance.clone(),
            expires_at: now + self.ttl,
            renewed_at: now,
        }
    }

    fn held(&self, version: Version, lease: &Lease) -> Holding {
        Holding::Held {
            version,
            expires_at: lease.expires_at,
        }
    }
}
