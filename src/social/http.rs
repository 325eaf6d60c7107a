//! Requests to providers: bounded in time (`account.provider_timeout`) and in size, never
//! following redirects (Better Auth's `fetchRefusingRedirects`).

use std::time::Duration;

use serde_json::Value;

/// Largest answer read from a provider (token, user info, JWKS, discovery).
pub const MAX_BODY: usize = 1024 * 1024;

/// Why a provider request gave nothing usable. Never holds a token or the body.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("provider unreachable or too slow: {0}")]
    Transport(String),
    #[error("provider answered HTTP {0}")]
    Status(u16),
    #[error("provider answer larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("provider answer is not JSON")]
    NotJson,
}

#[derive(Clone, Debug)]
pub struct Http {
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("better-auth")
            .build()?;
        Ok(Self { client, timeout })
    }

    /// The same client with connections of its own, for one HTTP worker thread. A pooled
    /// connection is driven by the runtime that opened it: with one client for all workers,
    /// a provider call over a connection another worker (or start-up) opened woke that thread
    /// and waited on it, as one shared database pool did (`Store::for_worker`).
    pub fn for_worker(&self) -> anyhow::Result<Self> {
        Self::new(self.timeout)
    }

    async fn json(&self, req: reqwest::RequestBuilder) -> Result<Value, FetchError> {
        let body = self.bytes(req.header("accept", "application/json")).await?;
        serde_json::from_slice(&body).map_err(|_| FetchError::NotJson)
    }

    /// The body of a successful answer, at most [`MAX_BODY`] bytes.
    async fn bytes(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>, FetchError> {
        let mut res = req
            .send()
            .await
            .map_err(|e| FetchError::Transport(e.without_url().to_string()))?;
        let status = res.status();
        if res.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(FetchError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| FetchError::Transport(e.without_url().to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        Ok(body)
    }

    /// GET of a binary answer (a profile photo) with `Authorization: Bearer <token>`.
    pub async fn get_bytes(&self, url: &str, bearer: &str) -> Result<Vec<u8>, FetchError> {
        self.bytes(self.client.get(url).bearer_auth(bearer)).await
    }

    /// GET, with `Authorization: Bearer <token>` when given.
    pub async fn get(&self, url: &str, bearer: Option<&str>) -> Result<Value, FetchError> {
        let mut req = self.client.get(url);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        self.json(req).await
    }

    /// POST of a form, with HTTP Basic client credentials when given.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Value, FetchError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut req = self
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            req = req.basic_auth(id, Some(secret));
        }
        self.json(req).await
    }
}
