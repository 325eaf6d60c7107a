//! The `redis` storage: Better Auth's secondary-storage counting (docs/compatibility.md §13.5),
//! shared by every process on the same Redis.
//!
//! `count = increment(key, ttl = window)`: the counter is created with the window as its TTL and
//! never extended, so the window is fixed from the first request; `count ≤ max` is allowed, and a
//! refusal says to retry after the whole window, as Better Auth does. Keys are Better Auth's:
//! `<prefix><ip>|<path>`, under the one prefix of the secondary storage (`[redis] key_prefix`,
//! `better-auth:` by default like its Redis storage), on the connection the sessions use.

use std::sync::Arc;

use anyhow::Context;
use redis::Script;

use super::{Rule, Verdict};
use crate::store::redis::RedisStorage;

/// INCR and the TTL in one atomic step. A counter found without a TTL (written by something
/// else) gets one, so no key outlives its window.
const INCREMENT: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('TTL', KEYS[1]) == -1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
";

pub struct RedisCounters {
    redis: Arc<RedisStorage>,
    script: Script,
}

impl RedisCounters {
    pub fn new(redis: Arc<RedisStorage>) -> Self {
        Self {
            redis,
            script: Script::new(INCREMENT),
        }
    }

    pub async fn consume(&self, key: &str, rule: Rule) -> anyhow::Result<Verdict> {
        let mut conn = self
            .redis
            .connection()
            .await
            .context("connecting to Redis")?;
        let count: u64 = self
            .redis
            .counted(
                self.script
                    .key(self.redis.key(key))
                    .arg(rule.window)
                    .invoke_async(&mut conn)
                    .await,
            )
            .context("counting in Redis")?;
        Ok(if count <= rule.max {
            Verdict::Allowed
        } else {
            Verdict::Limited {
                retry_after: rule.window,
            }
        })
    }
}
