//! The process's one Redis connection: Better Auth's `secondaryStorage` is one store under one
//! key prefix, and so is this. Sessions and verification values (`secondary.rs`) and the
//! rate-limit counters (`rate_limit/redis.rs`) share the handle built once at startup.
//!
//! It connects on first use, so the service starts while Redis is down; from then on the
//! connection manager reconnects by itself. A command waits at most a second for its answer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, RedisResult};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

pub struct RedisStorage {
    client: Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    /// Commands (and connection attempts) that failed, since start: a metric.
    errors: AtomicU64,
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
            errors: AtomicU64::new(0),
        })
    }

    /// `key` as stored: with the prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Failed commands and connection attempts since start.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Passes `result` on, counting it when it is an error.
    pub fn counted<T>(&self, result: RedisResult<T>) -> RedisResult<T> {
        if result.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Connects now and sends a PING, waiting at most `wait`: whether Redis answers.
    pub async fn ping(&self, wait: Duration) -> RedisResult<()> {
        let attempt = async {
            let mut conn = self.connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await?;
            Ok(())
        };
        match tokio::time::timeout(wait, attempt).await {
            Ok(r) => self.counted(r),
            Err(_) => self.counted(Err(redis::RedisError::from((
                redis::ErrorKind::IoError,
                "timed out",
            )))),
        }
    }

    /// The shared multiplexed connection, opened on first use (a failed attempt is retried by
    /// the next call).
    pub async fn connection(&self) -> RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(1);
        let conn = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned();
        self.counted(conn)
    }

    /// The storage's `get(key)`.
    pub async fn get(&self, key: &str) -> RedisResult<Option<String>> {
        let r = self.connection().await?.get(self.key(key)).await;
        self.counted(r)
    }

    /// The storage's `set(key, value, ttlSeconds)`.
    pub async fn set(&self, key: &str, value: &str, ttl: u64) -> RedisResult<()> {
        let r = self
            .connection()
            .await?
            .set_ex(self.key(key), value, ttl)
            .await;
        self.counted(r)
    }

    /// The storage's `delete(key)`.
    pub async fn delete(&self, key: &str) -> RedisResult<()> {
        let r = self.connection().await?.del(self.key(key)).await;
        self.counted(r)
    }

    /// The storage's `getAndDelete(key)`: one atomic GETDEL, so of concurrent callers exactly
    /// one gets the value (Redis 6.2 or later, as the official storage needs too).
    pub async fn get_and_delete(&self, key: &str) -> RedisResult<Option<String>> {
        let r = self.connection().await?.get_del(self.key(key)).await;
        self.counted(r)
    }
}
