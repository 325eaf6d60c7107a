pub use super::account::Entity as Account;
pub use super::jwks::Entity as Jwks;
pub use super::rate_limit::Entity as RateLimit;
pub use super::session::Entity as Session;
pub use super::user::Entity as User;
pub use super::verification::Entity as Verification;
