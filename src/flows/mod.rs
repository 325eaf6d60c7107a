//! Flows: the steps several routes share, as plain async functions over `AppState` that call
//! `auth` (pure decisions) and `store` (the database) and return domain results or `ApiError`.
//! Handlers parse the request, call a flow, and shape the answer.

pub mod credentials;
pub mod email_change;
pub mod email_verification;
pub mod keys;
pub mod mail;
pub mod oauth;
pub mod oauth_callback;
pub mod operator;
pub mod password_reset;
pub mod passwordless;
pub mod session;
pub mod sign_in;
pub mod sign_up;
pub mod users;
