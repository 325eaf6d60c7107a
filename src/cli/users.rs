//! `user create|list|show|set-password|delete` and `sessions list|revoke`, on the flows of
//! `crate::flows::users` (the ones sign-up, reset-password and delete-user use).

use std::io::Read;

use clap::{ArgGroup, Args, Subcommand};
use serde_json::{json, Value};

use super::{operator_state, Failure, Out, Outcome};
use crate::auth::crypto::iso;
use crate::config::Settings;
use crate::flows::operator::{self as users, NewPasswordUser};
use crate::state::AppState;
use crate::store::json::user_json;
use crate::store::{Session, User};

/// Users read per page when going through all of them.
const PAGE: u64 = 500;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user with an email and a password (read from standard input).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Mark the email as verified.
        #[arg(long)]
        email_verified: bool,
    },
    /// List users, oldest first.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show a user (by id or email), with its accounts and active sessions.
    Show { user: String },
    /// Set a user's password (read from standard input).
    SetPassword {
        user: String,
        /// Also end every session of the user.
        #[arg(long)]
        revoke_sessions: bool,
    },
    /// Delete a user with its accounts and sessions.
    Delete { user: String },
    /// Ban a user (admin plugin): every session ends and sign-in is refused until unbanned or
    /// the ban expires.
    Ban {
        user: String,
        #[arg(long)]
        reason: Option<String>,
        /// Seconds until the ban ends (default: plugins.admin.default_ban_expires_in, else never).
        #[arg(long)]
        expires_in: Option<i64>,
    },
    /// Lift a user's ban (admin plugin).
    Unban { user: String },
}

#[derive(Args)]
#[command(group(ArgGroup::new("whose").required(true).args(["user", "all"])))]
pub struct Whose {
    /// One user's sessions (id or email).
    #[arg(long)]
    user: Option<String>,
    /// Every user's sessions.
    #[arg(long)]
    all: bool,
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// List active sessions (tokens are never shown).
    List(Whose),
    /// End sessions.
    Revoke(Whose),
}

/// The password: standard input up to its end, without the final line break.
fn read_password() -> Result<String, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure::Run(format!("reading the password from standard input: {e}")))?;
    let password = text
        .strip_suffix('\n')
        .map(|p| p.strip_suffix('\r').unwrap_or(p))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err(Failure::Run(
            "no password on standard input (e.g. `printf '%s' \"$PASSWORD\" | better-auth-rs user create ...`)".into(),
        ));
    }
    Ok(password.to_owned())
}

/// Bans live in the admin plugin's columns.
fn require_admin(state: &AppState) -> Result<(), Failure> {
    if state.settings.plugins.admin.enabled {
        Ok(())
    } else {
        Err(Failure::Run(
            "plugins.admin.enabled: bans need the admin plugin (its user columns banned, banReason, banExpires)".into(),
        ))
    }
}

async fn find(state: &AppState, id_or_email: &str) -> Result<User, Failure> {
    users::find(state, id_or_email)
        .await?
        .ok_or_else(|| Failure::Run(format!("user not found: {id_or_email}")))
}

/// A session as the operator sees it: no token.
fn session_value(s: &Session) -> Value {
    json!({
        "id": s.id,
        "userId": s.user_id,
        "createdAt": iso(&s.created_at),
        "updatedAt": iso(&s.updated_at),
        "expiresAt": iso(&s.expires_at),
        "ipAddress": s.ip_address,
        "userAgent": s.user_agent,
    })
}

fn session_line(s: &Session) -> String {
    format!(
        "{}  user {}  created {}  expires {}  ip {}  {}",
        s.id,
        s.user_id,
        iso(&s.created_at),
        iso(&s.expires_at),
        s.ip_address.as_deref().unwrap_or("-"),
        s.user_agent.as_deref().unwrap_or("-"),
    )
}

fn user_line(u: &User) -> String {
    format!(
        "{}  {}  {:?}  verified={}  created {}",
        u.id,
        u.email,
        u.name,
        u.email_verified,
        iso(&u.created_at)
    )
}

async fn active_sessions(state: &AppState, user: &User) -> Result<Vec<Session>, Failure> {
    let now = state.clock.now();
    let mut sessions = state.store.list_sessions(&user.id).await?;
    sessions.retain(|s| s.expires_at > now);
    Ok(sessions)
}

/// Every user, page by page.
async fn every_user(state: &AppState) -> Result<Vec<User>, Failure> {
    let mut all = Vec::new();
    loop {
        let (page, _) = users::list(state, PAGE, all.len() as u64).await?;
        let last = (page.len() as u64) < PAGE;
        all.extend(page);
        if last {
            return Ok(all);
        }
    }
}

pub async fn user(settings: Settings, action: UserCommand, out: &Out) -> Outcome {
    let state = operator_state(settings).await?;
    let fields = state.store.user_fields().clone();
    match action {
        UserCommand::Create {
            email,
            name,
            email_verified,
        } => {
            let password = read_password()?;
            let user = users::create_with_password(
                &state,
                NewPasswordUser {
                    name,
                    email,
                    password,
                    email_verified,
                },
            )
            .await?;
            out.print(json!({ "user": user_json(&user, &fields) }), || {
                format!("created user {} <{}>", user.id, user.email)
            });
        }
        UserCommand::List { limit, offset } => {
            let (page, total) = users::list(&state, limit, offset).await?;
            let list: Vec<Value> = page.iter().map(|u| user_json(u, &fields)).collect();
            out.print(
                json!({ "users": list, "total": total, "limit": limit, "offset": offset }),
                || {
                    let mut lines: Vec<String> = page.iter().map(user_line).collect();
                    lines.push(format!("{} of {total} users", page.len()));
                    lines.join("\n")
                },
            );
        }
        UserCommand::Show { user } => {
            let user = find(&state, &user).await?;
            let accounts = state.store.list_accounts(&user.id).await?;
            let sessions = active_sessions(&state, &user).await?;
            let providers: Vec<&str> = accounts.iter().map(|a| a.provider_id.as_str()).collect();
            out.print(
                json!({
                    "user": user_json(&user, &fields),
                    "accounts": providers,
                    "activeSessions": sessions.len(),
                }),
                || {
                    format!(
                        "{}\naccounts: {}\nactive sessions: {}",
                        user_line(&user),
                        providers.join(", "),
                        sessions.len()
                    )
                },
            );
        }
        UserCommand::SetPassword {
            user,
            revoke_sessions,
        } => {
            let user = find(&state, &user).await?;
            let password = read_password()?;
            users::set_password(&state, &user, password, revoke_sessions).await?;
            out.print(
                json!({ "userId": user.id, "passwordSet": true, "sessionsRevoked": revoke_sessions }),
                || {
                    let revoked = if revoke_sessions {
                        "; every session ended"
                    } else {
                        ""
                    };
                    format!("password set for {} <{}>{revoked}", user.id, user.email)
                },
            );
        }
        UserCommand::Ban {
            user,
            reason,
            expires_in,
        } => {
            require_admin(&state)?;
            let user = find(&state, &user).await?;
            let banned = users::ban(&state, &user, reason, expires_in.map(|s| s as f64)).await?;
            out.print(json!({ "user": user_json(&banned, &fields) }), || {
                format!(
                    "banned user {} <{}>; every session ended",
                    user.id, user.email
                )
            });
        }
        UserCommand::Unban { user } => {
            require_admin(&state)?;
            let user = find(&state, &user).await?;
            let unbanned = users::unban(&state, &user).await?;
            out.print(json!({ "user": user_json(&unbanned, &fields) }), || {
                format!("unbanned user {} <{}>", user.id, user.email)
            });
        }
        UserCommand::Delete { user } => {
            let user = find(&state, &user).await?;
            users::delete(&state, &user).await?;
            out.print(json!({ "deleted": user.id }), || {
                format!("deleted user {} <{}>", user.id, user.email)
            });
        }
    }
    Ok(())
}

pub async fn sessions(settings: Settings, action: SessionsCommand, out: &Out) -> Outcome {
    let state = operator_state(settings).await?;
    let (whose, revoke) = match action {
        SessionsCommand::List(w) => (w, false),
        SessionsCommand::Revoke(w) => (w, true),
    };
    let targets = match &whose.user {
        Some(u) => vec![find(&state, u).await?],
        None => every_user(&state).await?,
    };
    if revoke {
        let mut revoked = 0;
        for user in &targets {
            revoked += users::revoke_sessions(&state, user).await?;
        }
        out.print(
            json!({ "revoked": revoked, "users": targets.len() }),
            || format!("ended {revoked} session(s) of {} user(s)", targets.len()),
        );
        return Ok(());
    }
    let mut sessions = Vec::new();
    for user in &targets {
        sessions.extend(active_sessions(&state, user).await?);
    }
    out.print(
        json!({ "sessions": sessions.iter().map(session_value).collect::<Vec<_>>() }),
        || {
            let mut lines: Vec<String> = sessions.iter().map(session_line).collect();
            lines.push(format!("{} active session(s)", sessions.len()));
            lines.join("\n")
        },
    );
    Ok(())
}
