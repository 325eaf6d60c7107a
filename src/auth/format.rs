//! How the service writes what a Node Better Auth sharing the database must read
//! (`[storage] format`, docs/migrating-from-node.md).

use serde::Deserialize;

/// `[storage] format` as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormatSetting {
    /// `better-auth` for a database whose tables Better Auth created, `native` otherwise.
    #[default]
    Auto,
    BetterAuth,
    Native,
}

/// The format in force, resolved at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorageFormat {
    /// Everything written is readable by Better Auth 1.7.25: scrypt password hashes in its
    /// `salt:key` form, JWKS private keys sealed with its `symmetricEncrypt`.
    BetterAuth,
    /// argon2id password hashes, AES-256-GCM sealed private keys.
    #[default]
    Native,
}

impl StorageFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::BetterAuth => "better-auth",
            Self::Native => "native",
        }
    }
}

impl std::fmt::Display for StorageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
