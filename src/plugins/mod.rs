//! The plugins of this build, each in its own folder (the seam is `crate::plugin`).

pub mod admin;
pub mod anonymous;
pub mod api_key;
pub mod bearer;
pub mod email_otp;
pub mod generic_oauth;
pub mod jwt;
pub mod last_login_method;
pub mod magic_link;
pub mod multi_session;
pub mod organization;
pub mod passkey;
pub mod two_factor;
pub mod username;

use crate::plugin::Kind;
use crate::state::AppState;

/// Every plugin of this build, in the order their hooks run.
pub const KINDS: &[Kind<AppState>] = &[
    jwt::KIND,
    bearer::KIND,
    admin::KIND,
    two_factor::KIND,
    api_key::KIND,
    passkey::KIND,
    organization::KIND,
    username::KIND,
    email_otp::KIND,
    magic_link::KIND,
    anonymous::KIND,
    last_login_method::KIND,
    multi_session::KIND,
];
