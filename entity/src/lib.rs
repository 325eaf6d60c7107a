//! SeaORM entities for Better Auth's tables, with Better Auth's exact table and column names
//! (docs/compatibility.md §14.1). The `user` table may carry extra columns declared in
//! configuration; those are read and written by `store::users` with dynamic column names.

pub mod account;
pub mod jwks;
pub mod prelude;
pub mod rate_limit;
pub mod session;
pub mod user;
pub mod verification;
