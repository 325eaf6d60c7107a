//! `[plugins.username]`: Better Auth's `username()` options
//! (`packages/better-auth/src/plugins/username/index.ts`).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsernameSettings {
    pub enabled: bool,
    /// `minUsernameLength`.
    pub min_username_length: usize,
    /// `maxUsernameLength`.
    pub max_username_length: usize,
    /// `usernameNormalization`: `true` lower-cases usernames before they are stored and looked
    /// up (Better Auth's default); `false` keeps them as given.
    pub username_normalization: bool,
    /// `displayUsername`: whether the `displayUsername` column exists and is filled.
    pub display_username: bool,
    /// `immutableUsername`: update-user may set a username once, never change it.
    pub immutable_username: bool,
    /// `validationOrder.username`: `pre-normalization` (default) checks the username as given,
    /// `post-normalization` after it was normalised.
    pub validation_order: ValidationOrder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValidationOrder {
    PreNormalization,
    PostNormalization,
}

impl Default for UsernameSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            min_username_length: 3,
            max_username_length: 30,
            username_normalization: true,
            display_username: true,
            immutable_username: false,
            validation_order: ValidationOrder::PreNormalization,
        }
    }
}

impl UsernameSettings {
    /// Every problem, naming the setting.
    pub fn validate(&self, errors: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        if self.min_username_length == 0 || self.min_username_length > self.max_username_length {
            errors.push(
                "plugins.username.min_username_length: must be at least 1 and at most \
                 max_username_length"
                    .into(),
            );
        }
    }
}
