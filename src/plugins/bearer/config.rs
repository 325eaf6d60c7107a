//! `[plugins.bearer]`: Better Auth's `bearer()` plugin options
//! (`packages/better-auth/src/plugins/bearer/index.ts`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BearerSettings {
    /// On by default: the official client sends `Authorization: Bearer` when configured to.
    pub enabled: bool,
    /// Refuse unsigned tokens (Better Auth's `requireSignature`).
    pub require_signature: bool,
}

impl Default for BearerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            require_signature: false,
        }
    }
}
