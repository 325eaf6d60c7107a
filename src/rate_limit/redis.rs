//! The `redis` storage: Better Auth's secondary-storage counting (rate-limit.md §5), shared by
//! every process on the same Redis.
//!
//! `count = increment(key, ttl = window)`: the counter is created with the window as its TTL and
//! never extended, so the window is fixed from the first request; `count ≤ max` is allowed, and a
//! refusal says to retry after the whole window, as Better Auth does. Keys are Better Auth's:
//! `<prefix><ip>|<path>`, the prefix `better-auth:` by default like its Redis storage.

use std::time::Duration;

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use super::{Rule, Verdict};

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
    client: Client,
    /// Connected on first use, so the service starts while Redis is down; the manager then
    /// reconnects by itself.
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    script: Script,
}

impl RedisCounters {
    pub fn new(url: &SecretString, prefix: &str) -> anyhow::Result<Self> {
        let client = Client::open(url.expose_secret()).context("REDIS_URL is not a Redis URL")?;
        Ok(Self {
            client,
            connection: OnceCell::new(),
            prefix: prefix.to_owned(),
            script: Script::new(INCREMENT),
        })
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
    }

    pub async fn consume(&self, key: &str, rule: Rule) -> anyhow::Result<Verdict> {
        let mut conn = self.connection().await.context("connecting to Redis")?;
        let count: u64 = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(rule.window)
            .invoke_async(&mut conn)
            .await
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
