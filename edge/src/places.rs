//! The coordinator's capacity places: one per job admitted and not yet settled, counted against
//! the service's and each key's capacity (`QUEUE_CAPACITY`, `KEY_CAPACITY`).
//!
//! A submission takes its places first (all or none), then stores and queues its jobs, then
//! confirms the places. A stored job gives its place back when it is settled (see
//! `process::settle`), whatever happens to its runs. A place never confirmed belongs to a
//! submission whose Worker died, or failed, before its jobs were stored: no job exists to give
//! it back, so it is reclaimed once it is older than the grace (`ADMISSION_GRACE_SECONDS`) —
//! far longer than a submission takes. A confirmation never takes a place again (it could come
//! after the job was settled and keep the place for good): a submission slower than the grace
//! leaves its jobs uncounted, letting a few more in for a while.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::auth::same_hash;

/// One job's place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    pub key_hash: String,
    /// When it was taken, in milliseconds since the epoch.
    pub since_ms: u64,
    /// Whether the job was stored (the submission confirmed it).
    pub confirmed: bool,
}

/// Why a submission was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// The service's capacity.
    Global,
    /// The key's capacity.
    Key,
}

impl Full {
    pub fn as_str(self) -> &'static str {
        match self {
            Full::Global => "global",
            Full::Key => "key",
        }
    }
}

/// Every place taken, by job id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Places(BTreeMap<String, Place>);

impl Places {
    /// Places of stored jobs (job id → key hash), confirmed, taken at `now_ms`.
    pub fn from_held(held: BTreeMap<String, String>, now_ms: u64) -> Self {
        Places(
            held.into_iter()
                .map(|(id, key_hash)| (id, Place { key_hash, since_ms: now_ms, confirmed: true }))
                .collect(),
        )
    }

    /// Drops unconfirmed places taken more than `grace_ms` before `now_ms`; their job ids.
    pub fn reclaim(&mut self, now_ms: u64, grace_ms: u64) -> Vec<String> {
        let stale: Vec<String> = self
            .0
            .iter()
            .filter(|(_, p)| !p.confirmed && p.since_ms.saturating_add(grace_ms) < now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &stale {
            self.0.remove(id);
        }
        stale
    }

    /// Takes a place for each of `job_ids` if all fit in both capacities, else none.
    pub fn admit(
        &mut self,
        job_ids: &[String],
        key_hash: &str,
        now_ms: u64,
        global_capacity: u32,
        key_capacity: u32,
    ) -> Result<(), Full> {
        let asked = job_ids.len();
        let per_key = self.0.values().filter(|p| same_hash(&p.key_hash, key_hash)).count();
        if self.0.len() + asked > global_capacity as usize {
            return Err(Full::Global);
        }
        if per_key + asked > key_capacity as usize {
            return Err(Full::Key);
        }
        for id in job_ids {
            let place = Place { key_hash: key_hash.to_string(), since_ms: now_ms, confirmed: false };
            self.0.insert(id.clone(), place);
        }
        Ok(())
    }

    /// Marks the places of stored jobs confirmed (those not held any more are skipped).
    pub fn confirm(&mut self, job_ids: &[String]) {
        for id in job_ids {
            if let Some(place) = self.0.get_mut(id) {
                place.confirmed = true;
            }
        }
    }

    /// Gives back the places of `job_ids` (those not held are skipped).
    pub fn release(&mut self, job_ids: &[String]) {
        for id in job_ids {
            self.0.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: u64 = 60_000;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn admits_all_or_none_within_both_capacities() {
        let mut p = Places::default();
        assert_eq!(p.admit(&ids(&["a", "b"]), "k1", 0, 3, 2), Ok(()));
        assert_eq!(p.admit(&ids(&["c"]), "k1", 0, 3, 2), Err(Full::Key));
        assert_eq!(p.admit(&ids(&["c", "d"]), "k2", 0, 3, 2), Err(Full::Global));
        assert_eq!(p.0.len(), 2, "a refused submission takes nothing");
        assert_eq!(p.admit(&ids(&["c"]), "k2", 0, 3, 2), Ok(()));
        p.release(&ids(&["a", "unknown"]));
        assert_eq!(p.admit(&ids(&["d"]), "k1", 0, 3, 2), Ok(()));
        assert_eq!(p.0.len(), 3);
    }

    #[test]
    fn unconfirmed_places_are_reclaimed_after_the_grace_and_confirmed_ones_never() {
        let mut p = Places::default();
        p.admit(&ids(&["stored", "lost"]), "k", 1_000, 10, 10).unwrap();
        p.confirm(&ids(&["stored"]));
        assert!(p.reclaim(1_000 + GRACE, GRACE).is_empty(), "not before the grace has passed");
        assert_eq!(p.reclaim(1_001 + GRACE, GRACE), ids(&["lost"]));
        assert!(p.reclaim(u64::MAX, GRACE).is_empty(), "a stored job's place waits for its settling");
        assert_eq!(p.0.len(), 1);
    }

    #[test]
    fn a_confirmation_after_a_release_takes_nothing() {
        let mut p = Places::default();
        p.admit(&ids(&["slow"]), "k", 0, 1, 1).unwrap();
        p.release(&ids(&["slow"]));
        p.confirm(&ids(&["slow"]));
        assert_eq!(p.admit(&ids(&["next"]), "k", 1, 1, 1), Ok(()));
    }

    #[test]
    fn places_kept_before_confirmations_count_as_confirmed() {
        let held = [("a".to_string(), "k".to_string())].into_iter().collect();
        let mut p = Places::from_held(held, 0);
        assert!(p.reclaim(u64::MAX, GRACE).is_empty());
        assert_eq!(p.admit(&ids(&["b"]), "k", 1, 10, 1), Err(Full::Key));
    }

    #[test]
    fn the_stored_form_round_trips() {
        let mut p = Places::default();
        p.admit(&ids(&["job_0123456789abcdef"]), "hash", 5, 1, 1).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"job_0123456789abcdef":{"keyHash":"hash","sinceMs":5,"confirmed":false}}"#);
        assert_eq!(serde_json::from_str::<Places>(&json).unwrap(), p);
    }
}
