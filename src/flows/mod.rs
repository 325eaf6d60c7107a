//! Flows: the steps several routes share, as plain async functions over `AppState` that call
//! `auth` (pure decisions) and `store` (the database) and return domain results or `ApiError`.
//! Handlers parse the request, call a flow, and shape the answer.

pub mod session;
