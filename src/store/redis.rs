//! The process's one Redis connection: Better Auth's `secondaryStorage` is one store under one
//! key prefix, and so is this. Sessions and verification values (`secondary.rs`) and the
//! rate-limit counters (`rate_limit/redis.rs`) share the handle built once at startup.
//!
//! It connects on first use, so the service starts while Redis is down; from then on the
//! connection manager reconnects by itself. A command waits at most a second for its answer.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, RedisResult};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

pub struct RedisStorage {
    client: Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
}

impl std::fmt::Debug for RedisStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStorage")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStorage {
    /// A handle on `url` (not connected yet); every key gets `prefix` in front.
    pub fn open(url: &SecretString, prefix: &str) -> RedisResult<Self> {
        Ok(Self {
            client: Client::open(url.expose_secret())?,
            connection: OnceCell::new(),
            prefix: prefix.to_owned(),
        })
    }

    /// `key` as stored: with the prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The shared multiplexed connection, opened on first use (a failed attempt is retried by
    /// the next call).
    pub async fn connection(&self) -> RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
    }

    /// The storage's `get(key)`.
    pub async fn get(&self, key: &str) -> RedisResult<Option<String>> {
        self.connection().await?.get(self.key(key)).await
    }

    /// The storage's `set(key, value, ttlSeconds)`.
    pub async fn set(&self, key: &str, value: &str, ttl: u64) -> RedisResult<()> {
        self.connection()
            .await?
            .set_ex(self.key(key), value, ttl)
            .await
    }

    /// The storage's `delete(key)`.
    pub async fn delete(&self, key: &str) -> RedisResult<()> {
        self.connection().await?.del(self.key(key)).await
    }

    /// The storage's `getAndDelete(key)`: one atomic GETDEL, so of concurrent callers exactly
    /// one gets the value (Redis 6.2 or later, as the official storage needs too).
    pub async fn get_and_delete(&self, key: &str) -> RedisResult<Option<String>> {
        self.connection().await?.get_del(self.key(key)).await
    }
}
