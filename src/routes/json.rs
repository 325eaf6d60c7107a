//! Wire shape of Account (endpoints.md §0.3); users and sessions are shaped in `store::json`.

use serde_json::Value;

use crate::auth::crypto::iso;
use crate::store::Account;

/// An account as listed to its owner (endpoints.md §0.3): no secrets, `scope` as `scopes`.
pub fn account_json(a: &Account) -> Value {
    let scopes: Vec<Value> = a
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_owned()))
        .collect();
    serde_json::json!({
        "id": a.id,
        "providerId": a.provider_id,
        "accountId": a.account_id,
        "userId": a.user_id,
        "createdAt": iso(&a.created_at),
        "updatedAt": iso(&a.updated_at),
        "scopes": scopes,
    })
}
