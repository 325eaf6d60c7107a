//! `[plugins.multi_session]`: Better Auth's `multiSession()` options
//! (`packages/better-auth/src/plugins/multi-session/index.ts`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultiSessionSettings {
    pub enabled: bool,
    /// Better Auth's `maximumSessions`: how many accounts one browser keeps signed in.
    pub maximum_sessions: usize,
}

impl Default for MultiSessionSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            maximum_sessions: 5,
        }
    }
}

impl MultiSessionSettings {
    pub fn validate(&self, errors: &mut Vec<String>) {
        if self.enabled && self.maximum_sessions == 0 {
            errors.push("plugins.multi_session.maximum_sessions must be at least 1".into());
        }
    }
}
