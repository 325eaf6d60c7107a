//! The plugin seam. Each optional feature lives in one folder under `src/plugins/` whose
//! `mod.rs` declares, in one place, what it adds to the core: its configuration section (a type
//! in the folder, read by `config` under `[plugins.<id>]`), its schema (tables created, and
//! `user` columns added, only while it is on), its routes, its OpenAPI operations, and its hooks
//! into the core flows.
//!
//! Better Auth's own plugins are the model (`packages/better-auth/src/plugins/<name>/index.ts`:
//! one object with `endpoints`, `schema`, `hooks`). The core knows only the [`Plugin`] trait and
//! calls its hooks at fixed points; a plugin's handlers reach their plugin through
//! [`Plugins::get`].
//!
//! The trait is generic over the state its hooks receive (`S` is always
//! `crate::state::AppState`): the state holds the plugins, and the seam does not need to know
//! the state's type, so neither module depends on the other.

use std::any::Any;
use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpResponse};
use anyhow::Context;
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use indexmap::IndexMap;
use serde_json::Value;

use crate::auth::cookies::RequestCookies;
use crate::auth::fields::AdditionalField;
use crate::clock::Clock;
use crate::config::Settings;
use crate::error::ApiError;
use crate::openapi::builder::Op;
use crate::rate_limit::Rule;
pub use crate::store::schema::Table;
use crate::store::{Session, Store, User};

/// What a plugin adds to the schema.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Tables of its own, created when missing while the plugin is on; never dropped.
    pub tables: Vec<Table>,
    /// Columns on `user`: added when missing, then read, written and returned like
    /// `[user.additional_fields]`.
    pub user_fields: IndexMap<String, AdditionalField>,
    /// Columns on `session`: added when missing, read and written with every session and
    /// returned in its JSON (`activeOrganizationId`); set with `Store::update_session_extra`.
    pub session_fields: IndexMap<String, AdditionalField>,
}

/// How the core finds a plugin: whether the settings turn it on, what it adds to the schema
/// (needed before the store opens), and how to build it once the store is ready. Each plugin's
/// `mod.rs` declares its `KIND`; `crate::plugins::KINDS` lists them.
pub struct Kind<S: 'static> {
    /// As in `[plugins.<id>]`.
    pub id: &'static str,
    pub enabled: fn(&Settings) -> bool,
    pub schema: fn(&Settings) -> Schema,
    #[allow(clippy::type_complexity)]
    pub build: for<'a> fn(Build<'a>) -> BoxFuture<'a, anyhow::Result<Arc<dyn Plugin<S>>>>,
}

/// What a plugin may use while it is built.
#[derive(Clone, Copy)]
pub struct Build<'a> {
    pub settings: &'a Settings,
    pub store: &'a Store,
    pub clock: &'a Clock,
}

/// A password sign-in that has passed every check and is about to create its session.
pub struct SignIn<'a> {
    pub user: &'a User,
    /// The sign-in's `rememberMe: false`.
    pub dont_remember: bool,
    /// The request's cookies (two-factor reads its trust-device cookie); empty where the
    /// sign-in method does not pass them.
    pub cookies: &'a RequestCookies,
}

/// What an after-sign-in hook decided.
pub enum AfterSignIn {
    /// Create the session and answer as usual.
    Continue,
    /// The same, with these cookies added to the answer (two-factor's renewed trust-device
    /// cookie).
    ContinueWith(Vec<actix_web::cookie::Cookie<'static>>),
    /// Answer this instead; no session is created (two-factor's `twoFactorRedirect`).
    Respond(HttpResponse),
}

/// One optional feature, built when enabled. Every hook has a default that changes nothing, so
/// a plugin implements only what it adds.
#[async_trait]
pub trait Plugin<S: Send + Sync + 'static>: Any + Send + Sync {
    /// The id, as in `[plugins.<id>]`.
    fn id(&self) -> &'static str;

    /// Whether [`Plugin::on_session`] does anything: the session lookup, the hottest path,
    /// skips the hook loop when no plugin has one.
    fn has_session_hook(&self) -> bool {
        false
    }

    /// Mounts its routes under the base path.
    fn routes(&self, _cfg: &mut web::ServiceConfig) {}

    /// Its rate-limit rules (Better Auth's plugin `rateLimit`): by exact path, or for every path
    /// under a prefix that ends with `/`; above the built-in special rules and below
    /// `[[rate_limit.rules]]`.
    fn rate_limit(&self) -> Vec<(&'static str, Rule)> {
        Vec::new()
    }

    /// Its operations in the OpenAPI document.
    fn openapi(&self, _settings: &Settings) -> Vec<Op> {
        Vec::new()
    }

    /// Before any route under the base path (and `/api/validate-session`) runs; may rewrite the
    /// request's headers (the bearer plugin turns `Authorization` into the session cookie).
    fn on_request(&self, _state: &S, _headers: &mut HeaderMap) {}

    /// Whether [`Plugin::authenticate`] does anything (it is skipped otherwise).
    fn authenticates(&self) -> bool {
        false
    }

    /// After the request hooks, before the route: a session the request itself proves (the API
    /// key plugin's `x-api-key`), which then stands for the caller's session on every route
    /// that reads one; an error answers the request instead (Better Auth's `hooks.before`
    /// setting `ctx.context.session`).
    /// `ip` is the client's address as sessions record it.
    async fn authenticate(
        &self,
        _state: &S,
        _headers: &HeaderMap,
        _ip: Option<&str>,
    ) -> Result<Option<(Session, User)>, ApiError> {
        Ok(None)
    }

    /// After the route answered; may add response headers.
    fn on_response(&self, _state: &S, _headers: &mut HeaderMap) {}

    /// Whether [`Plugin::after_response`] does anything: the middleware skips it (and reading
    /// the request's cookies for it) otherwise.
    fn watches_responses(&self) -> bool {
        false
    }

    /// After the route answered, with its path under the base path, the request's cookies as
    /// sent and the response's headers (Better Auth's `hooks.after`): acts on what the route
    /// did, and may add headers. The anonymous plugin removes the anonymous user once a sign-in gave the browser
    /// another user's session.
    async fn after_response(
        &self,
        _state: &S,
        _path: &str,
        _request: &crate::auth::cookies::RequestCookies,
        _response: &mut HeaderMap,
    ) {
    }

    /// After get-session found a session: headers for its answer (the JWT plugin's
    /// `set-auth-jwt`). `user` is the user's JSON as the body carries it.
    async fn get_session_headers(
        &self,
        _state: &S,
        _user: &Value,
        _headers: &mut HeaderMap,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// After a sign-in's credentials were checked, before its session is created.
    async fn after_sign_in(
        &self,
        _state: &S,
        _sign_in: &SignIn<'_>,
    ) -> Result<AfterSignIn, ApiError> {
        Ok(AfterSignIn::Continue)
    }

    /// Before a new session is stored, for any sign-in method; may set the plugin's session
    /// columns, and an error refuses the session (Better Auth's `databaseHooks.session.create
    /// .before`: the admin plugin refuses banned users).
    async fn before_session_create(
        &self,
        _state: &S,
        _session: &mut Session,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// Each time a session is read for a request; an error refuses it.
    async fn on_session(
        &self,
        _state: &S,
        _session: &Session,
        _user: &User,
    ) -> Result<(), ApiError> {
        Ok(())
    }

    /// Whether the caller's `list-sessions` shows this session (the admin plugin hides the
    /// sessions an admin made by impersonating the user).
    fn listed(&self, _session: &Session) -> bool {
        true
    }

    /// Before a new user is stored; may set the plugin's own columns (`user.extra`).
    async fn on_user_create(&self, _state: &S, _user: &mut User) -> Result<(), ApiError> {
        Ok(())
    }

    /// Before update-user stores the signed-in `user`'s new values; may check or rewrite the
    /// custom fields of `extra` (Better Auth's `hooks.before` on `/update-user` and
    /// `databaseHooks.user.update.before`: the username plugin's checks and normalisation).
    async fn on_user_update(
        &self,
        _state: &S,
        _user: &User,
        _extra: &mut serde_json::Map<String, Value>,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}

/// The enabled plugins, in a fixed order.
pub struct Plugins<S: 'static> {
    list: Vec<Arc<dyn Plugin<S>>>,
    /// Whether any plugin has a session hook: the session lookup skips the loop otherwise.
    session_hooks: bool,
}

impl<S> Clone for Plugins<S> {
    fn clone(&self) -> Self {
        Self {
            list: self.list.clone(),
            session_hooks: self.session_hooks,
        }
    }
}

impl<S> Default for Plugins<S> {
    fn default() -> Self {
        Self {
            list: Vec::new(),
            session_hooks: false,
        }
    }
}

impl<S: Send + Sync + 'static> std::fmt::Debug for Plugins<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|p| p.id()))
            .finish()
    }
}

impl<S: Send + Sync + 'static> Plugins<S> {
    /// The schema additions of the plugins `settings` turns on, before any of them is built
    /// (the store needs them to open).
    pub fn schema(kinds: &[Kind<S>], settings: &Settings) -> Schema {
        let mut out = Schema::default();
        for kind in kinds.iter().filter(|k| (k.enabled)(settings)) {
            let s = (kind.schema)(settings);
            out.tables.extend(s.tables);
            out.user_fields.extend(s.user_fields);
            out.session_fields.extend(s.session_fields);
        }
        out
    }

    /// Builds the enabled plugins (the JWT plugin loads its keys here).
    pub async fn load(kinds: &[Kind<S>], build: Build<'_>) -> anyhow::Result<Self> {
        let mut list: Vec<Arc<dyn Plugin<S>>> = Vec::new();
        for kind in kinds.iter().filter(|k| (k.enabled)(build.settings)) {
            let plugin = (kind.build)(build)
                .await
                .with_context(|| format!("preparing the {} plugin", kind.id))?;
            list.push(plugin);
        }
        Ok(Self {
            session_hooks: list.iter().any(|p| p.has_session_hook()),
            list,
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Plugin<S>>> {
        self.list.iter()
    }

    /// The enabled plugin of type `P`.
    pub fn get<P: Plugin<S>>(&self) -> Option<&P> {
        self.list
            .iter()
            .find_map(|p| (p.as_ref() as &dyn Any).downcast_ref::<P>())
    }

    pub fn has_session_hooks(&self) -> bool {
        self.session_hooks
    }
}
