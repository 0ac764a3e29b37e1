//! API keys: `X-API-Key` checked against SHA-256 hashes, plans with permissions.
//!
//! Keys live in the `KEYS` namespace as `key:<sha256 hex>` → [`KeyRecord`] (written by
//! `scripts/keys`). In development, vars name keys directly (`DEV_API_KEY`, `DEV_FREE_API_KEY`,
//! `DEV_REVOKED_API_KEY`); those are compared by hash in constant time. Keys are never logged.

use converso_core::ErrorCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use worker::{Env, Request};

use crate::config::{self, KEYS};
use crate::envelope::ApiError;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
}

/// Routes that need a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Extract,
    Batch,
    BatchStatus,
    Status,
    Download,
    Redeliver,
}

impl Plan {
    pub fn allows(self, e: Endpoint) -> bool {
        match self {
            Plan::Pro => true,
            Plan::Free => matches!(e, Endpoint::Extract | Endpoint::Status | Endpoint::Download),
        }
    }

    pub fn max_batch(self) -> usize {
        match self {
            Plan::Free => 0,
            Plan::Pro => 10,
        }
    }

    pub fn max_source_bytes(self) -> u64 {
        match self {
            Plan::Free => 500_000_000,
            Plan::Pro => 5_000_000_000,
        }
    }

    pub fn allows_priority(self, priority: &str) -> bool {
        self == Plan::Pro || priority != "high"
    }
}

/// A stored key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRecord {
    pub name: String,
    pub plan: Plan,
    #[serde(default)]
    pub revoked: bool,
    /// HMAC secret for this key's webhook signatures.
    pub webhook_secret: String,
    #[serde(default)]
    pub created_at: String,
}

/// The caller behind a valid key.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key_hash: String,
    pub plan: Plan,
    pub webhook_secret: String,
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether two key hashes are equal, in time independent of where they differ. Every comparison
/// of keys or key hashes goes through here.
pub fn same_hash(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, message).details("send a valid key in the X-API-Key header")
}

/// The development keys from vars, as (hash, record).
fn dev_keys(env: &Env) -> Vec<(String, KeyRecord)> {
    let secret = config::text(env, "DEV_WEBHOOK_SECRET").unwrap_or_else(|| "dev-webhook-secret".into());
    [
        ("DEV_API_KEY", Plan::Pro, false),
        ("DEV_FREE_API_KEY", Plan::Free, false),
        ("DEV_REVOKED_API_KEY", Plan::Pro, true),
    ]
    .into_iter()
    .filter_map(|(var, plan, revoked)| {
        let key = config::text(env, var)?;
        let record = KeyRecord {
            name: var.to_lowercase(),
            plan,
            revoked,
            webhook_secret: secret.clone(),
            created_at: String::new(),
        };
        Some((sha256_hex(key.as_bytes()), record))
    })
    .collect()
}

/// The caller for the request's key, if it may use `endpoint`.
pub async fn require_key(req: &Request, env: &Env, endpoint: Endpoint) -> Result<Caller, ApiError> {
    let key = req
        .headers()
        .get("X-API-Key")?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| unauthorized("an API key is required"))?;
    let hash = sha256_hex(key.as_bytes());
    let mut found = None;
    for (h, record) in dev_keys(env) {
        if same_hash(&h, &hash) {
            found = Some(record);
        }
    }
    if found.is_none() {
        if let Ok(kv) = env.kv(KEYS) {
            found = kv.get(&format!("key:{hash}")).json::<KeyRecord>().await.ok().flatten();
        }
    }
    let record = found.ok_or_else(|| unauthorized("the API key is not valid"))?;
    if record.revoked {
        return Err(unauthorized("the API key has been revoked"));
    }
    if !record.plan.allows(endpoint) {
        return Err(ApiError::new(ErrorCode::Forbidden, "this API key may not use this endpoint")
            .details(format!("the {:?} plan does not include {endpoint:?}", record.plan).to_lowercase()));
    }
    Ok(Caller { key_hash: hash, plan: record.plan, webhook_secret: record.webhook_secret })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_compare_whole() {
        let h = sha256_hex(b"ck_live_example");
        assert!(same_hash(&h, &sha256_hex(b"ck_live_example")));
        let mut first = h.clone().into_bytes();
        first[0] ^= 1;
        let mut last = h.clone().into_bytes();
        last[63] ^= 1;
        for other in [first, last] {
            assert!(!same_hash(&h, &String::from_utf8(other).unwrap_or_default()));
        }
        assert!(!same_hash(&h, &h[..63]));
        assert!(!same_hash(&h, ""));
    }
}
